// Kernel bodies, included once per ISA by kernels.c with SUF(name) giving the per-ISA name and a
// `#pragma clang attribute` giving the target features. Block layouts and arithmetic follow ggml
// (ggml-common.h, ggml-quants.c `dequantize_row_*`) and gguf-py `quants.py`.
//
// Block formats (bits per weight in brackets):
//   Q4_0 [4.5]:  f16 d; u8 qs[16]            x = (q - 8) * d; elements 0..15 low nibbles, 16..31 high
//   Q4_1 [5.0]:  f16 d, m; u8 qs[16]         x = q * d + m;   same nibble order
//   Q8_0 [8.5]:  f16 d; i8 qs[32]            x = q * d
//   Q4_K [4.5]:  f16 d, dmin; u8 scales[12]; u8 qs[128]  (8 sub-blocks of 32, 6-bit scale and min)
//   Q5_K [5.5]:  f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
//   Q6_K [6.5625]: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d

static inline __attribute__((always_inline)) void SUF(deq_q4_0)(const uint8_t *b, float *y) {
    const float d = tk_h2f(rd16(b));
    const uint8_t *qs = b + 2;
    TK_NOVEC
    for (int j = 0; j < 16; j++) {
        y[j] = ((int)(qs[j] & 0x0F) - 8) * d;
        y[j + 16] = ((int)(qs[j] >> 4) - 8) * d;
    }
}

static inline __attribute__((always_inline)) void SUF(deq_q4_1)(const uint8_t *b, float *y) {
    const float d = tk_h2f(rd16(b));
    const float m = tk_h2f(rd16(b + 2));
    const uint8_t *qs = b + 4;
    TK_NOVEC
    for (int j = 0; j < 16; j++) {
        y[j] = (qs[j] & 0x0F) * d + m;
        y[j + 16] = (qs[j] >> 4) * d + m;
    }
}

static inline __attribute__((always_inline)) void SUF(deq_q8_0)(const uint8_t *b, float *y) {
    const float d = tk_h2f(rd16(b));
    const int8_t *qs = (const int8_t *)(b + 2);
    TK_NOVEC
    for (int j = 0; j < 32; j++) y[j] = qs[j] * d;
}

static inline __attribute__((always_inline)) void SUF(deq_q4_k)(const uint8_t *b, float *y) {
    const float d = tk_h2f(rd16(b));
    const float dmin = tk_h2f(rd16(b + 2));
    const uint8_t *scales = b + 4;
    const uint8_t *q = b + 16;
    int is = 0;
    for (int j = 0; j < 256; j += 64) {
        uint8_t sc, m;
        get_scale_min_k4(is + 0, scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        get_scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = dmin * m;
        TK_NOVEC
        for (int l = 0; l < 32; ++l) y[l] = d1 * (q[l] & 0xF) - m1;
        TK_NOVEC
        for (int l = 0; l < 32; ++l) y[32 + l] = d2 * (q[l] >> 4) - m2;
        y += 64;
        q += 32;
        is += 2;
    }
}

static inline __attribute__((always_inline)) void SUF(deq_q5_k)(const uint8_t *b, float *y) {
    const float d = tk_h2f(rd16(b));
    const float dmin = tk_h2f(rd16(b + 2));
    const uint8_t *scales = b + 4;
    const uint8_t *qh = b + 16;
    const uint8_t *ql = b + 48;
    int is = 0;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < 256; j += 64) {
        uint8_t sc, m;
        get_scale_min_k4(is + 0, scales, &sc, &m);
        const float d1 = d * sc, m1 = dmin * m;
        get_scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * sc, m2 = dmin * m;
        TK_NOVEC
        for (int l = 0; l < 32; ++l) y[l] = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
        TK_NOVEC
        for (int l = 0; l < 32; ++l) y[32 + l] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        y += 64;
        ql += 32;
        is += 2;
        u1 <<= 2;
        u2 <<= 2;
    }
}

static inline __attribute__((always_inline)) void SUF(deq_q6_k)(const uint8_t *b, float *y) {
    const uint8_t *ql = b;
    const uint8_t *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = tk_h2f(rd16(b + 208));
    for (int n = 0; n < 256; n += 128) {
        TK_NOVEC
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = (int)((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = (int)((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l + 0] = d * sc[is + 0] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

static inline __attribute__((always_inline)) void SUF(deq_f16)(const uint8_t *b, float *y) {
    TK_NOVEC
    for (int j = 0; j < 32; j++) y[j] = tk_h2f(rd16(b + 2 * j));
}

static inline __attribute__((always_inline)) void SUF(deq_bf16)(const uint8_t *b, float *y) {
    TK_NOVEC
    for (int j = 0; j < 32; j++) {
        uint32_t u = (uint32_t)rd16(b + 2 * j) << 16;
        float f;
        memcpy(&f, &u, 4);
        y[j] = f;
    }
}

static inline __attribute__((always_inline)) void SUF(deq_f32)(const uint8_t *b, float *y) { memcpy(y, b, 32 * sizeof(float)); }

// F16/BF16/F32 are processed in pseudo-blocks of 32 elements so every type shares one loop shape.
#define TK_DEFINE_ROW(NAME, QK, BYTES)                                                                   \
    static void SUF(row_##NAME)(const uint8_t *src, float *dst, int64_t n) {                             \
        for (int64_t b = 0; b < n / (QK); b++) SUF(deq_##NAME)(src + b * (BYTES), dst + b * (QK));      \
    }                                                                                                    \
    static float SUF(dot_##NAME)(const uint8_t *row, const float *x, int64_t n) {                        \
        float acc[32] = {0};                                                                             \
        float tmp[QK];                                                                                   \
        for (int64_t b = 0; b < n / (QK); b++) {                                                         \
            SUF(deq_##NAME)(row + b * (BYTES), tmp);                                                     \
            const float *xb = x + b * (QK);                                                              \
            for (int c = 0; c < (QK); c += 32) {                                                         \
                TK_NOVEC                                                                                 \
                for (int j = 0; j < 32; j++) acc[j] += tmp[c + j] * xb[c + j];                           \
            }                                                                                            \
        }                                                                                                \
        float s = 0;                                                                                     \
        for (int j = 0; j < 32; j++) s += acc[j];                                                        \
        return s;                                                                                        \
    }

TK_DEFINE_ROW(q4_0, 32, 18)
TK_DEFINE_ROW(q4_1, 32, 20)
TK_DEFINE_ROW(q8_0, 32, 34)
TK_DEFINE_ROW(q4_k, 256, 144)
TK_DEFINE_ROW(q5_k, 256, 176)
TK_DEFINE_ROW(q6_k, 256, 210)
TK_DEFINE_ROW(f16, 32, 64)
TK_DEFINE_ROW(bf16, 32, 64)
TK_DEFINE_ROW(f32, 32, 128)

static void SUF(dequantize_row)(int type, const uint8_t *src, float *dst, int64_t n) {
    switch (type) {
    case TK_Q4_0: SUF(row_q4_0)(src, dst, n); break;
    case TK_Q4_1: SUF(row_q4_1)(src, dst, n); break;
    case TK_Q8_0: SUF(row_q8_0)(src, dst, n); break;
    case TK_Q4_K: SUF(row_q4_k)(src, dst, n); break;
    case TK_Q5_K: SUF(row_q5_k)(src, dst, n); break;
    case TK_Q6_K: SUF(row_q6_k)(src, dst, n); break;
    case TK_F16: SUF(row_f16)(src, dst, n); break;
    case TK_BF16: SUF(row_bf16)(src, dst, n); break;
    case TK_F32: SUF(row_f32)(src, dst, n); break;
    default: break;
    }
}

static void SUF(matvec)(int type, const uint8_t *w, size_t row_bytes, int64_t r0, int64_t r1, int64_t n,
                        const float *x, float *y) {
#define TK_MV(NAME)                                                                                      \
    for (int64_t r = r0; r < r1; r++) y[r] = SUF(dot_##NAME)(w + (size_t)r * row_bytes, x, n);          \
    break;
    switch (type) {
    case TK_Q4_0: TK_MV(q4_0)
    case TK_Q4_1: TK_MV(q4_1)
    case TK_Q8_0: TK_MV(q8_0)
    case TK_Q4_K: TK_MV(q4_k)
    case TK_Q5_K: TK_MV(q5_k)
    case TK_Q6_K: TK_MV(q6_k)
    case TK_F16: TK_MV(f16)
    case TK_BF16: TK_MV(bf16)
    case TK_F32: TK_MV(f32)
    default: break;
    }
#undef TK_MV
}

#undef TK_DEFINE_ROW
