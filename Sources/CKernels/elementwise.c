// Vectorized elementwise kernels for training: SwiGLU forward/backward and the softmax pieces of the
// chunked cross-entropy. They spend their time in exp; libm's scalar expf was ~10 % of a training step.
// exp here is the Cephes single-precision polynomial (relative error < 2 ulp over the clamped range),
// AVX2+FMA when the CPU has it, libm otherwise and for tails.
#include "CKernels.h"

#include <immintrin.h>
#include <math.h>

__attribute__((target("avx2,fma"))) static inline __m256 exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365447505531f);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    // n = round(x / ln 2); r = x - n ln 2 (split in two for accuracy)
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    // × 2^n through the exponent bits
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static int have_avx2(void) {
    static int v = -1;
    if (v < 0) v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return v;
}

__attribute__((target("avx2,fma"))) static int64_t silu_mul_avx2(const float *g, const float *u, float *a, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 z = _mm256_loadu_ps(g + i);
        const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), z))));
        _mm256_storeu_ps(a + i, _mm256_mul_ps(_mm256_mul_ps(z, s), _mm256_loadu_ps(u + i)));
    }
    return i;
}

void tk_silu_mul(const float *g, const float *u, float *a, int64_t n) {
    int64_t i = have_avx2() ? silu_mul_avx2(g, u, a, n) : 0;
    for (; i < n; i++) a[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

__attribute__((target("avx2,fma"))) static int64_t swiglu_backward_avx2(const float *da, const float *g, const float *u, float *dg, float *du, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 z = _mm256_loadu_ps(g + i), d = _mm256_loadu_ps(da + i);
        const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), z))));
        // dg = da u σ (1 + z (1 − σ)); du = da z σ
        const __m256 t = _mm256_fmadd_ps(z, _mm256_sub_ps(one, s), one);
        _mm256_storeu_ps(dg + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(u + i)), s), t));
        _mm256_storeu_ps(du + i, _mm256_mul_ps(_mm256_mul_ps(d, z), s));
    }
    return i;
}

void tk_swiglu_backward(const float *da, const float *g, const float *u, float *dg, float *du, int64_t n) {
    int64_t i = have_avx2() ? swiglu_backward_avx2(da, g, u, dg, du, n) : 0;
    for (; i < n; i++) {
        const float z = g[i], s = 1.0f / (1.0f + expf(-z));
        dg[i] = da[i] * u[i] * s * (1.0f + z * (1.0f - s));
        du[i] = da[i] * z * s;
    }
}

__attribute__((target("avx2,fma"))) static int64_t exp_sum_avx2(const float *z, float shift, int64_t n, double *sum) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    const __m256 m = _mm256_set1_ps(shift);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(z + i), m));
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(acc0, acc1));
    *sum = t[0] + t[1] + t[2] + t[3];
    return i;
}

double tk_exp_sum(const float *z, float shift, int64_t n) {
    double s = 0;
    int64_t i = have_avx2() ? exp_sum_avx2(z, shift, n, &s) : 0;
    for (; i < n; i++) s += (double)expf(z[i] - shift);
    return s;
}

__attribute__((target("avx2,fma"))) static int64_t exp_scale_avx2(float *z, float shift, float scale, int64_t n) {
    const __m256 m = _mm256_set1_ps(shift), sc = _mm256_set1_ps(scale);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(z + i, _mm256_mul_ps(exp256(_mm256_sub_ps(_mm256_loadu_ps(z + i), m)), sc));
    return i;
}

void tk_exp_scale(float *z, float shift, float scale, int64_t n) {
    int64_t i = have_avx2() ? exp_scale_avx2(z, shift, scale, n) : 0;
    for (; i < n; i++) z[i] = expf(z[i] - shift) * scale;
}
