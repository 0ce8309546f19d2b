// Hand-vectorized kernels for the block types small models ship with (Q4_0, Q4_1, Q8_0), AVX2 and
// AVX-512. The dot products use  Σ_j x_j (q_j d + m) = d Σ_j q_j x_j + m Σ_j x_j  per block, with the
// per-block sums of x computed once per call; the dequantizers compute q*d (+ m) with separate multiply
// and add (no FMA) so they stay bit-identical to ggml and gguf-py.
#include "simd.h"

#include <immintrin.h>
#include <string.h>

// Exact half -> float with the F16C instruction (every AVX2/AVX-512 CPU has it).
__attribute__((target("f16c"), always_inline)) static inline float h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// ---------------------------------------------------------------- AVX-512

__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))) static inline float hsum512(__m512 v) {
    return _mm512_reduce_add_ps(v);
}

__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))) static inline void
nibbles512(const uint8_t *qs, __m512 *lo, __m512 *hi) {
    const __m128i v = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    *lo = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(v, m4)));
    *hi = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(v, 4), m4)));
}

__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))) void
tk_matvec_q4_avx512(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                    const float *x, float *y, const float *xsum) {
    const int64_t nb = n / 32;
    const int bb = type == TK_Q4_1 ? 20 : 18;
    const int qoff = type == TK_Q4_1 ? 4 : 2;
    float xs8 = 0;  // Q4_0: Σ_b d_b (Σ q x - 8 Σ x) → subtract 8 Σ x per block
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        __m512 acc = _mm512_setzero_ps();
        float macc = 0;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bb;
            __m512 lo, hi;
            nibbles512(blk + qoff, &lo, &hi);
            __m512 t = _mm512_mul_ps(lo, _mm512_loadu_ps(x + 32 * b));
            t = _mm512_fmadd_ps(hi, _mm512_loadu_ps(x + 32 * b + 16), t);
            const float d = h2f(blk);
            acc = _mm512_fmadd_ps(_mm512_set1_ps(d), t, acc);
            macc += (type == TK_Q4_1 ? h2f(blk + 2) : -8.0f * d) * xsum[b];
        }
        y[r] = hsum512(acc) + macc;
    }
    (void)xs8;
}

__attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c"))) void
tk_matvec_q8_0_avx512(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n, const float *x,
                      float *y) {
    const int64_t nb = n / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 34;
            const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
            const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
            __m512 t = _mm512_mul_ps(q0, _mm512_loadu_ps(x + 32 * b));
            t = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + 32 * b + 16), t);
            acc = _mm512_fmadd_ps(_mm512_set1_ps(h2f(blk)), t, acc);
        }
        y[r] = hsum512(acc);
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,f16c"))) void
tk_dequant_fast_avx512(int type, const uint8_t *src, float *dst, int64_t n) {
    const int64_t nb = n / 32;
    for (int64_t b = 0; b < nb; b++) {
        float *o = dst + 32 * b;
        if (type == TK_Q8_0) {
            const uint8_t *blk = src + b * 34;
            const __m512 d = _mm512_set1_ps(h2f(blk));
            _mm512_storeu_ps(o, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2)))), d));
            _mm512_storeu_ps(o + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18)))), d));
        } else if (type == TK_Q4_1) {
            const uint8_t *blk = src + b * 20;
            const __m512 d = _mm512_set1_ps(h2f(blk)), m = _mm512_set1_ps(h2f(blk + 2));
            __m512 lo, hi;
            nibbles512(blk + 4, &lo, &hi);
            _mm512_storeu_ps(o, _mm512_add_ps(_mm512_mul_ps(lo, d), m));
            _mm512_storeu_ps(o + 16, _mm512_add_ps(_mm512_mul_ps(hi, d), m));
        } else {  // Q4_0: (q - 8) * d
            const uint8_t *blk = src + b * 18;
            const __m512 d = _mm512_set1_ps(h2f(blk)), eight = _mm512_set1_ps(8.0f);
            __m512 lo, hi;
            nibbles512(blk + 2, &lo, &hi);
            _mm512_storeu_ps(o, _mm512_mul_ps(_mm512_sub_ps(lo, eight), d));
            _mm512_storeu_ps(o + 16, _mm512_mul_ps(_mm512_sub_ps(hi, eight), d));
        }
    }
}

// ---------------------------------------------------------------- AVX2

__attribute__((target("avx2,fma,f16c"))) static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Four groups of 8 values of a 32-block: elements 0-7, 8-15 (low nibbles), 16-23, 24-31 (high nibbles).
__attribute__((target("avx2,fma,f16c"))) static inline void nibbles256(const uint8_t *qs, __m256 q[4]) {
    const __m128i v = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(v, m4), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
    q[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));
    q[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));
    q[2] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));
    q[3] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));
}

__attribute__((target("avx2,fma,f16c"))) static inline void bytes256(const uint8_t *qs, __m256 q[4]) {
    const __m128i a = _mm_loadu_si128((const __m128i *)qs), b = _mm_loadu_si128((const __m128i *)(qs + 16));
    q[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a));
    q[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)));
    q[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
    q[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
}

__attribute__((target("avx2,fma,f16c"))) void
tk_matvec_q4_avx2(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                  const float *x, float *y, const float *xsum) {
    const int64_t nb = n / 32;
    const int bb = type == TK_Q4_1 ? 20 : 18;
    const int qoff = type == TK_Q4_1 ? 4 : 2;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        float macc = 0;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * bb;
            __m256 q[4];
            nibbles256(blk + qoff, q);
            const float *xb = x + 32 * b;
            __m256 t = _mm256_mul_ps(q[0], _mm256_loadu_ps(xb));
            t = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(xb + 8), t);
            t = _mm256_fmadd_ps(q[2], _mm256_loadu_ps(xb + 16), t);
            t = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(xb + 24), t);
            const float d = h2f(blk);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), t, acc);
            macc += (type == TK_Q4_1 ? h2f(blk + 2) : -8.0f * d) * xsum[b];
        }
        y[r] = hsum256(acc) + macc;
    }
}

__attribute__((target("avx2,fma,f16c"))) void
tk_matvec_q8_0_avx2(const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n, const float *x,
                    float *y) {
    const int64_t nb = n / 32;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * 34;
            __m256 q[4];
            bytes256(blk + 2, q);
            const float *xb = x + 32 * b;
            __m256 t = _mm256_mul_ps(q[0], _mm256_loadu_ps(xb));
            t = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(xb + 8), t);
            t = _mm256_fmadd_ps(q[2], _mm256_loadu_ps(xb + 16), t);
            t = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(xb + 24), t);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(blk)), t, acc);
        }
        y[r] = hsum256(acc);
    }
}

__attribute__((target("avx2,f16c"))) void tk_dequant_fast_avx2(int type, const uint8_t *src, float *dst, int64_t n) {
    const int64_t nb = n / 32;
    for (int64_t b = 0; b < nb; b++) {
        float *o = dst + 32 * b;
        __m256 q[4];
        if (type == TK_Q8_0) {
            const uint8_t *blk = src + b * 34;
            const __m256 d = _mm256_set1_ps(h2f(blk));
            bytes256(blk + 2, q);
            for (int i = 0; i < 4; i++) _mm256_storeu_ps(o + 8 * i, _mm256_mul_ps(q[i], d));
        } else if (type == TK_Q4_1) {
            const uint8_t *blk = src + b * 20;
            const __m256 d = _mm256_set1_ps(h2f(blk)), m = _mm256_set1_ps(h2f(blk + 2));
            nibbles256(blk + 4, q);
            for (int i = 0; i < 4; i++) _mm256_storeu_ps(o + 8 * i, _mm256_add_ps(_mm256_mul_ps(q[i], d), m));
        } else {
            const uint8_t *blk = src + b * 18;
            const __m256 d = _mm256_set1_ps(h2f(blk)), eight = _mm256_set1_ps(8.0f);
            nibbles256(blk + 2, q);
            for (int i = 0; i < 4; i++) _mm256_storeu_ps(o + 8 * i, _mm256_mul_ps(_mm256_sub_ps(q[i], eight), d));
        }
    }
}
