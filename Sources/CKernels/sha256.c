// SHA-256 (FIPS 180-4) for hashing model, data and adapter files (ARCHITECTURE.md §4: runs record the
// sha256 of their inputs; checkpoints carry one per file). Two block functions: plain C, and the x86 SHA
// extensions (SHA-NI: sha256rnds2 / sha256msg1 / sha256msg2), chosen at run time. The SHA-NI path is the
// usual formulation (Intel, "New Instructions Supporting the Secure Hash Algorithm on Intel Architecture
// Processors", 2013): state kept as ABEF / CDGH, four message words per register.
#include "CKernels.h"

#include <immintrin.h>
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

// FIPS 180-4 §6.2.2, one 64-byte block at a time.
static void blocks_scalar(uint32_t s[8], const uint8_t *p, size_t blocks) {
    for (; blocks > 0; blocks--, p += 64) {
        uint32_t w[64];
        for (int t = 0; t < 16; t++) w[t] = load_be32(p + 4 * t);
        for (int t = 16; t < 64; t++) {
            const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = w[t - 16] + s0 + w[t - 7] + s1;
        }
        uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
        for (int t = 0; t < 64; t++) {
            const uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
            const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        s[0] += a, s[1] += b, s[2] += c, s[3] += d, s[4] += e, s[5] += f, s[6] += g, s[7] += h;
    }
}

// Message words in groups of four, M_i = W[4i .. 4i+3]; for i >= 4
//   M_i = msg2(msg1(M_{i-4}, M_{i-3}) + [W[4i-7] .. W[4i-4]], M_{i-1}),
// where [W[4i-7] .. W[4i-4]] = alignr(M_{i-1}, M_{i-2}, 4 bytes). Each group runs four rounds as two
// sha256rnds2 (the second takes the upper two words of M_i + K).
__attribute__((target("sha,ssse3,sse4.1"))) static void blocks_shani(uint32_t s[8], const uint8_t *p,
                                                                      size_t blocks) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[0]), 0xB1);  // C D A B
    __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&s[4]), 0x1B);  // E F G H
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);                                       // A B E F
    st1 = _mm_blend_epi16(st1, tmp, 0xF0);                                            // C D G H
    for (; blocks > 0; blocks--, p += 64) {
        const __m128i save0 = st0, save1 = st1;
        __m128i m[4];
        for (int i = 0; i < 16; i++) {
            if (i < 4) {
                m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
            } else {
                const __m128i prev = m[(i + 3) & 3], prev2 = m[(i + 2) & 3];
                __m128i x = _mm_sha256msg1_epu32(m[i & 3], m[(i + 1) & 3]);
                x = _mm_add_epi32(x, _mm_alignr_epi8(prev, prev2, 4));
                m[i & 3] = _mm_sha256msg2_epu32(x, prev);
            }
            __m128i k = _mm_add_epi32(m[i & 3], _mm_loadu_si128((const __m128i *)&K[4 * i]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, k);
            k = _mm_shuffle_epi32(k, 0x0E);
            st0 = _mm_sha256rnds2_epu32(st0, st1, k);
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
    }
    tmp = _mm_shuffle_epi32(st0, 0x1B);      // F E B A
    st1 = _mm_shuffle_epi32(st1, 0xB1);      // D C H G
    st0 = _mm_blend_epi16(tmp, st1, 0xF0);   // D C B A
    st1 = _mm_alignr_epi8(st1, tmp, 8);      // H G F E
    _mm_storeu_si128((__m128i *)&s[0], st0);
    _mm_storeu_si128((__m128i *)&s[4], st1);
}

int tk_sha256_accelerated(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}

static void blocks(tk_sha256_ctx *c, const uint8_t *p, size_t n) {
    if (c->accelerated) {
        blocks_shani(c->state, p, n);
    } else {
        blocks_scalar(c->state, p, n);
    }
}

void tk_sha256_init(tk_sha256_ctx *c, int accelerated) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->state, h0, sizeof h0);
    c->length = 0;
    c->buffered = 0;
    c->accelerated = accelerated && tk_sha256_accelerated();
}

void tk_sha256_update(tk_sha256_ctx *c, const void *data, size_t n) {
    const uint8_t *p = data;
    c->length += n;
    if (c->buffered > 0) {
        const size_t take = n < 64 - c->buffered ? n : 64 - c->buffered;
        memcpy(c->buffer + c->buffered, p, take);
        c->buffered += take;
        p += take;
        n -= take;
        if (c->buffered < 64) return;
        blocks(c, c->buffer, 1);
        c->buffered = 0;
    }
    if (n >= 64) {
        blocks(c, p, n / 64);
        p += n / 64 * 64;
        n %= 64;
    }
    memcpy(c->buffer, p, n);
    c->buffered = n;
}

// Padding (FIPS 180-4 §5.1.1): 0x80, zeros to 56 mod 64, then the bit length as a big-endian u64.
void tk_sha256_final(tk_sha256_ctx *c, uint8_t digest[32]) {
    const uint64_t bits = c->length * 8;
    uint8_t pad[72] = {0x80};
    const size_t zeros = (c->buffered < 56 ? 56 : 120) - c->buffered;
    for (int i = 0; i < 8; i++) pad[zeros + i] = (uint8_t)(bits >> (56 - 8 * i));
    tk_sha256_update(c, pad, zeros + 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(c->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(c->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(c->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)c->state[i];
    }
}
