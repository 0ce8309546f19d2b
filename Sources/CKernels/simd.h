// Internal: hand-vectorized Q4_0 / Q4_1 / Q8_0 kernels (simd.c), called by kernels.c's dispatch.
#ifndef TAILOR_SIMD_H
#define TAILOR_SIMD_H
#include "include/CKernels.h"

void tk_matvec_q4_avx512(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                         const float *x, float *y, const float *xsum);
void tk_matvec_q8_0_avx512(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                           const float *x, float *y);
void tk_dequant_fast_avx512(int type, const uint8_t *src, float *dst, int64_t n);
void tk_matvec_q4_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                       const float *x, float *y, const float *xsum);
void tk_matvec_q8_0_avx2(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                         const float *x, float *y);
void tk_dequant_fast_avx2(int type, const uint8_t *src, float *dst, int64_t n);
#endif
