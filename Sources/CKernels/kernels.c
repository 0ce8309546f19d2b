// Runtime-dispatched quantized kernels; see include/CKernels.h and impl/kernels_impl.h.
#include "CKernels.h"
#include "simd.h"

#include <stdlib.h>

#include <string.h>

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

float tk_fp16_to_fp32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) {
                mant <<= 1;
                exp--;
            }
            mant &= 0x3FF;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float tk_h2f(uint16_t h) { return tk_fp16_to_fp32(h); }

static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

#define SUF3(n, s) n##_##s
#define SUF2(n, s) SUF3(n, s)
#define SUF(n) SUF2(n, TK_SUFFIX)

// Scalar: plain C with vectorization disabled, the reference the SIMD paths are tested against.
#define TK_SUFFIX scalar
#define TK_NOVEC _Pragma("clang loop vectorize(disable) interleave(disable)")
#include "impl/kernels_impl.h"
#undef TK_NOVEC
#undef TK_SUFFIX

#define TK_NOVEC
#define TK_SUFFIX avx2
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "impl/kernels_impl.h"
#pragma clang attribute pop
#undef TK_SUFFIX

#define TK_SUFFIX avx512
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))), \
                             apply_to = function)
#include "impl/kernels_impl.h"
#pragma clang attribute pop
#undef TK_SUFFIX

int tk_isa_supported(int isa) {
    switch (isa) {
    case TK_ISA_SCALAR: return 1;
    case TK_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("f16c");
    case TK_ISA_AVX512:
        return tk_isa_supported(TK_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    default: return 0;
    }
}

int tk_best_isa(void) {
    static int best = -1;
    if (best < 0) {
        best = tk_isa_supported(TK_ISA_AVX512) ? TK_ISA_AVX512
               : tk_isa_supported(TK_ISA_AVX2) ? TK_ISA_AVX2
                                                : TK_ISA_SCALAR;
    }
    return best;
}

static int resolve(int isa) {
    if (isa < 0 || !tk_isa_supported(isa)) return tk_best_isa();
    return isa;
}

int64_t tk_block_elements(int type) {
    switch (type) {
    case TK_F32: case TK_F16: case TK_BF16: return 1;
    case TK_Q4_0: case TK_Q4_1: case TK_Q8_0: return 32;
    case TK_Q4_K: case TK_Q5_K: case TK_Q6_K: return 256;
    default: return 0;
    }
}

int64_t tk_block_bytes(int type) {
    switch (type) {
    case TK_F32: return 4;
    case TK_F16: case TK_BF16: return 2;
    case TK_Q4_0: return 18;
    case TK_Q4_1: return 20;
    case TK_Q8_0: return 34;
    case TK_Q4_K: return 144;
    case TK_Q5_K: return 176;
    case TK_Q6_K: return 210;
    default: return 0;
    }
}

// Float types are handled in pseudo-blocks of 32; rows whose length is not a multiple of 32 fall back
// to a per-element tail here.
static int64_t tail_start(int type, int64_t n) {
    if (type == TK_F32 || type == TK_F16 || type == TK_BF16) return n - n % 32;
    return n;
}

static float elem(int type, const uint8_t *src, int64_t i) {
    switch (type) {
    case TK_F32: { float f; memcpy(&f, src + 4 * i, 4); return f; }
    case TK_F16: return tk_h2f(rd16(src + 2 * i));
    case TK_BF16: { uint32_t u = (uint32_t)rd16(src + 2 * i) << 16; float f; memcpy(&f, &u, 4); return f; }
    default: return 0;
    }
}

void tk_dequantize_row(int type, const void *src, float *dst, int64_t n, int isa) {
    const uint8_t *s = (const uint8_t *)src;
    const int64_t full = tail_start(type, n);
    const int fast = type == TK_Q4_0 || type == TK_Q4_1 || type == TK_Q8_0;
    switch (resolve(isa)) {
    case TK_ISA_AVX512:
        if (fast) tk_dequant_fast_avx512(type, s, dst, full); else dequantize_row_avx512(type, s, dst, full);
        break;
    case TK_ISA_AVX2:
        if (fast) tk_dequant_fast_avx2(type, s, dst, full); else dequantize_row_avx2(type, s, dst, full);
        break;
    default: dequantize_row_scalar(type, s, dst, full); break;
    }
    for (int64_t i = full; i < n; i++) dst[i] = elem(type, s, i);
}

void tk_dequantize_rows(int type, const void *src, size_t row_bytes, int64_t row_begin, int64_t row_end,
                        int64_t n, float *dst, int isa) {
    const uint8_t *s = (const uint8_t *)src;
    for (int64_t r = row_begin; r < row_end; r++)
        tk_dequantize_row(type, s + (size_t)r * row_bytes, dst + (r - row_begin) * n, n, isa);
}

void tk_matvec(int type, const void *w, size_t row_bytes, int64_t row_begin, int64_t row_end, int64_t n,
               const float *x, float *y, int isa) {
    const uint8_t *s = (const uint8_t *)w;
    const int64_t full = tail_start(type, n);
    const int level = resolve(isa);
    if (level != TK_ISA_SCALAR && (type == TK_Q4_0 || type == TK_Q4_1)) {
        // Per-block sums of x, shared by every row (the m / -8 d term of each block).
        float stack[1024];
        const int64_t nb = n / 32;
        float *xsum = nb <= 1024 ? stack : (float *)malloc((size_t)nb * sizeof(float));
        if (!xsum) return;
        for (int64_t b = 0; b < nb; b++) {
            float t = 0;
            for (int j = 0; j < 32; j++) t += x[32 * b + j];
            xsum[b] = t;
        }
        if (level == TK_ISA_AVX512) tk_matvec_q4_avx512(type, s, row_bytes, row_begin, row_end, n, x, y, xsum);
        else tk_matvec_q4_avx2(type, s, row_bytes, row_begin, row_end, n, x, y, xsum);
        if (xsum != stack) free(xsum);
        return;
    }
    if (level != TK_ISA_SCALAR && type == TK_Q8_0) {
        if (level == TK_ISA_AVX512) tk_matvec_q8_0_avx512(s, row_bytes, row_begin, row_end, n, x, y);
        else tk_matvec_q8_0_avx2(s, row_bytes, row_begin, row_end, n, x, y);
        return;
    }
    switch (level) {
    case TK_ISA_AVX512: matvec_avx512(type, s, row_bytes, row_begin, row_end, full, x, y); break;
    case TK_ISA_AVX2: matvec_avx2(type, s, row_bytes, row_begin, row_end, full, x, y); break;
    default: matvec_scalar(type, s, row_bytes, row_begin, row_end, full, x, y); break;
    }
    if (full < n) {
        for (int64_t r = row_begin; r < row_end; r++) {
            const uint8_t *row = s + (size_t)r * row_bytes;
            float t = 0;
            for (int64_t i = full; i < n; i++) t += elem(type, row, i) * x[i];
            y[r] += t;
        }
    }
}
