/* cpu_gemm_pack.c: the GEMM panel packers of the CPU path: A panels in each kernel's
 * format, and one K4 panel of B (cpu_gemm_kernel.h states the formats). */
#include <string.h>

#include "cpu_gemm_kernel.h"

#define K4 CLQ_CPU_GEMM_K4_NR

/* Valid columns of this K panel. */
static size_t kvalid(size_t k0, size_t kc, size_t K) {
    size_t kv = K > k0 ? K - k0 : 0;
    return kv < kc ? kv : kc;
}

void clq__cpu_gemm_pack_a_rows16(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                                 size_t kc, size_t K, int mr, void *dst) {
    size_t kv = kvalid(k0, kc, K), rp = (rows + (size_t)mr - 1) / (size_t)mr * (size_t)mr;
    uint8_t flip = a_u8 ? 0x80 : 0;
    for (size_t r = 0; r < rp; r++) {
        int16_t *d = (int16_t *)dst + r * kc;
        size_t n = r < rows ? kv : 0;
        const uint8_t *src = a + r * lda + k0;
        for (size_t p = 0; p < n; p++) d[p] = (int8_t)(src[p] ^ flip);
        for (size_t p = n; p < kc; p++) d[p] = 0;
    }
}

void clq__cpu_gemm_pack_a_rowsu8(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                                 size_t kc, size_t K, int mr, void *dst) {
    size_t kv = kvalid(k0, kc, K), rp = (rows + (size_t)mr - 1) / (size_t)mr * (size_t)mr;
    uint8_t flip = a_u8 ? 0 : 0x80; /* u8 domain: a' + 128 */
    for (size_t r = 0; r < rp; r++) {
        uint8_t *d = (uint8_t *)dst + r * kc;
        size_t n = r < rows ? kv : 0;
        const uint8_t *src = a + r * lda + k0;
        for (size_t p = 0; p < n; p++) d[p] = src[p] ^ flip;
        memset(d + n, 0, kc - n);
    }
}

/* [kc / 4][mr][4] bytes per group: row i's k-quad q at q * mr * 4 + i * 4. */
static inline __attribute__((always_inline)) void pack_k4_bytes(const uint8_t *a, size_t lda,
                                                                 uint8_t flip, size_t rows,
                                                                 size_t k0, size_t kc, size_t K,
                                                                 size_t mr, uint8_t *dst) {
    size_t kv = kvalid(k0, kc, K), groups = (rows + mr - 1) / mr;
    for (size_t g = 0; g < groups; g++) {
        uint8_t *d = dst + g * mr * kc;
        size_t live = rows - g * mr < mr ? rows - g * mr : mr;
        /* Padding (rows past M, K past kv) zeroed in one pass: byte stores of it cost
         * more than the whole GEMM at M = 1 (5 padded rows of 4096). */
        if (live < mr || kv < kc) memset(d, 0, mr * kc);
        for (size_t i = 0; i < live; i++) {
            const uint8_t *src = a + (g * mr + i) * lda + k0;
            size_t p = 0;
            for (; p + 4 <= kv; p += 4) {
                uint32_t w;
                memcpy(&w, src + p, 4);
                w ^= flip * 0x01010101u;
                memcpy(d + p * mr + i * 4, &w, 4);
            }
            for (; p < kv; p++) d[(p / 4) * mr * 4 + i * 4 + p % 4] = src[p] ^ flip;
        }
    }
}

void clq__cpu_gemm_pack_a_k4u8(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                               size_t kc, size_t K, int mr, void *dst) {
    pack_k4_bytes(a, lda, a_u8 ? 0 : 0x80, rows, k0, kc, K, (size_t)mr, dst);
}

void clq__cpu_gemm_pack_a_k4s8(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                               size_t kc, size_t K, int mr, void *dst) {
    pack_k4_bytes(a, lda, a_u8 ? 0x80 : 0, rows, k0, kc, K, (size_t)mr, dst);
}

void clq__cpu_gemm_pack_a_k4s16(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                                size_t kc, size_t K, int mr, void *dst) {
    size_t kv = kvalid(k0, kc, K), m = (size_t)mr, groups = (rows + m - 1) / m;
    uint8_t flip = a_u8 ? 0x80 : 0;
    for (size_t g = 0; g < groups; g++) {
        int16_t *d = (int16_t *)dst + g * m * kc;
        for (size_t i = 0; i < m; i++) {
            size_t r = g * m + i;
            size_t n = r < rows ? kv : 0;
            const uint8_t *src = a + r * lda + k0;
            for (size_t p = 0; p < kc; p++)
                d[(p / 4) * m * 4 + i * 4 + p % 4] = p < n ? (int8_t)(src[p] ^ flip) : 0;
        }
    }
}

size_t clq__cpu_gemm_count_min_k4(const uint8_t *b, uint8_t flip, size_t n, size_t k, size_t p,
                                  size_t limit) {
    size_t count = 0;
    uint8_t m = 0x80 ^ flip;
    for (size_t col = p * K4; col < p * K4 + K4 && col < n; col++) {
        const uint8_t *s = b + col * k, *end = s + k;
        while (s < end && (s = memchr(s, m, (size_t)(end - s))) != NULL) {
            if (++count > limit) return count;
            s++;
        }
    }
    return count;
}

void clq__cpu_gemm_pack_k4_panel(const uint8_t *b, uint8_t flip, size_t n, size_t k, size_t kp,
                                 size_t p, int8_t *dst, int32_t *corr, uint8_t *has_min,
                                 int32_t *colsum, uint32_t *fix) {
    uint8_t min = 0;
    uint32_t flip4 = flip * 0x01010101u;
    for (size_t j = 0; j < K4; j++) {
        size_t col = p * K4 + j;
        size_t kv = col < n ? k : 0;
        const uint8_t *s = b + col * k;
        uint32_t sum = 0; /* wraps mod 2^32, as the contract says */
        uint8_t lo = 0;
        for (size_t q = 0; q < kv; q++) {
            int8_t v = (int8_t)(s[q] ^ flip);
            sum += (uint32_t)(int32_t)v;
            lo |= v == -128;
        }
        min |= lo;
        size_t q = 0;
        for (; q + 4 <= kv; q += 4) {
            uint32_t w;
            memcpy(&w, s + q, 4);
            w ^= flip4;
            memcpy(dst + q * K4 + j * 4, &w, 4);
        }
        for (; q < kp; q++) dst[(q / 4) * K4 * 4 + j * 4 + q % 4] = q < kv ? (int8_t)(s[q] ^ flip) : 0;
        corr[col] = (int32_t)(0u - 128u * sum);
        if (col < n && colsum) colsum[col] = (int32_t)sum;
    }
    if (fix && min) {
        /* quad by quad (64 bytes), k before column within one: the entries come out
         * ascending */
        for (size_t q4 = 0; q4 < kp; q4 += 4) {
            int8_t *blk = dst + q4 * K4;
            if (!memchr(blk, 0x80, 4 * K4)) continue;
            for (size_t r = 0; r < 4; r++)
                for (size_t j = 0; j < K4; j++)
                    if (blk[j * 4 + r] == -128) {
                        blk[j * 4 + r] = -127;
                        *fix++ = (uint32_t)((q4 + r) << 4 | j);
                    }
        }
        min = 0;
    }
    has_min[p] = min;
}
