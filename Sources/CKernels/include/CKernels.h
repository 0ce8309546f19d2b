// Hot quantized kernels for Tailor (ARCHITECTURE.md §2): dequantization of GGML block types and fused
// quantized-row · float-vector dot products for single-token (T = 1) forward passes.
// Each entry point takes an explicit ISA so tests can run the scalar, AVX2 and AVX-512 paths side by side;
// TK_ISA_BEST picks the best the running CPU supports.
#ifndef TAILOR_CKERNELS_H
#define TAILOR_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// GGML tensor type ids (ggml.h `enum ggml_type`); only those Tailor computes with.
enum tk_type {
    TK_F32 = 0,
    TK_F16 = 1,
    TK_Q4_0 = 2,
    TK_Q4_1 = 3,
    TK_Q8_0 = 8,
    TK_Q4_K = 12,
    TK_Q5_K = 13,
    TK_Q6_K = 14,
    TK_BF16 = 30,
};

enum tk_isa { TK_ISA_SCALAR = 0, TK_ISA_AVX2 = 1, TK_ISA_AVX512 = 2, TK_ISA_BEST = -1 };

/// The best ISA this CPU supports (AVX-512F+BW+VL, else AVX2+FMA+F16C, else scalar).
int tk_best_isa(void);
/// Whether `isa` can run on this CPU.
int tk_isa_supported(int isa);

/// Elements per block and bytes per block for `type`; 0 when the type is not supported.
int64_t tk_block_elements(int type);
int64_t tk_block_bytes(int type);

/// Dequantizes `n` elements (a multiple of the block size) from `src` into `dst`.
/// Exact: the same arithmetic, in the same order, as ggml's `dequantize_row_*` (no FMA contraction).
void tk_dequantize_row(int type, const void *src, float *dst, int64_t n, int isa);

/// Dequantizes rows [row_begin, row_end) of a row-major quantized matrix with `n` columns whose rows are
/// `row_bytes` apart, into `dst` (row-major, `n` floats per row, first row at dst).
void tk_dequantize_rows(int type, const void *src, size_t row_bytes, int64_t row_begin, int64_t row_end,
                        int64_t n, float *dst, int isa);

/// y[r] = dot(row r of W, x) for r in [row_begin, row_end); W is row-major quantized with `n` columns.
void tk_matvec(int type, const void *w, size_t row_bytes, int64_t row_begin, int64_t row_end, int64_t n,
               const float *x, float *y, int isa);

/// A task of a parallel loop: called once per index with the caller's context.
typedef void (*tk_task_fn)(void *ctx, int64_t index);

/// Runs fn(ctx, i) for i in [0, n) on a persistent pool of `threads - 1` workers plus the caller and
/// returns when all are done. Nested or concurrent calls run serially on the calling thread. The pool is
/// created on first use with `threads - 1` workers.
void tk_parallel_for(int64_t n, int threads, tk_task_fn fn, void *ctx);

/// a = silu(g) · u = g / (1 + e^-g) · u, elementwise (SwiGLU forward).
void tk_silu_mul(const float *g, const float *u, float *a, int64_t n);
/// dg = da · u · σ(g) (1 + g (1 − σ(g))), du = da · g σ(g) (SwiGLU backward).
void tk_swiglu_backward(const float *da, const float *g, const float *u, float *dg, float *du, int64_t n);
/// Σ_i exp(z_i − shift), accumulated in double.
double tk_exp_sum(const float *z, float shift, int64_t n);
/// z_i = exp(z_i − shift) · scale, in place.
void tk_exp_scale(float *z, float shift, float scale, int64_t n);

/// IEEE half -> float, exact (subnormals, infinities and NaN included).
float tk_fp16_to_fp32(uint16_t h);

/// Streaming SHA-256 (FIPS 180-4). Fill with `tk_sha256_init`, feed with `tk_sha256_update`, read the
/// 32-byte digest with `tk_sha256_final` (which consumes the context).
typedef struct {
    uint32_t state[8];
    uint64_t length;     // bytes fed so far
    uint8_t buffer[64];  // a partial block
    size_t buffered;
    int accelerated;     // 1: SHA-NI block function
} tk_sha256_ctx;

/// Whether this CPU has the x86 SHA extensions.
int tk_sha256_accelerated(void);
/// Starts a hash; `accelerated` = 1 uses SHA-NI when the CPU has it, 0 forces the plain C path (tests).
void tk_sha256_init(tk_sha256_ctx *ctx, int accelerated);
void tk_sha256_update(tk_sha256_ctx *ctx, const void *data, size_t n);
void tk_sha256_final(tk_sha256_ctx *ctx, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif
#endif
