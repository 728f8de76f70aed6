/* cpu_gemm_small_avx2.c: the small-M GEMM tiles without VNNI (cpu_gemm_small.h): AVX-512BW
 * vpmaddwd, and AVX2's exact pair of forms (vpsignb + vpmaddubsw, or vpmaddwd). */
#include "cpu_gemm_small.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define T_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline))
#define P16 CLQ_CPU_GEMM_K4_NR

#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define ROWS4(X) X(0) X(1) X(2) X(3)

/* ---- AVX-512BW: an A quad as four s16 (clq__cpu_gemm_pack_a_k4s16) broadcast per
 * 64-bit lane against a half panel (8 columns x 4 k) widened to s16; vpmaddwd gives
 * (column, pair) lanes, added pairwise once K is done. Up to 6 rows x 2 panels x 2
 * halves = 24 accumulators (6 rows per pass, as the vpdpbusd tile: more rows with
 * fewer panels need more broadcasts per multiply-add). ---- */

/* (column, pair) lanes of one panel's two halves pair-summed into 16 columns, added
 * to o unless first. */
T512 INL void fold_store(int32_t *o, __m512i lo, __m512i hi, int first) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    __m512i x = _mm512_add_epi32(_mm512_permutex2var_epi32(lo, ev, hi),
                                 _mm512_permutex2var_epi32(lo, od, hi));
    if (!first) x = _mm512_add_epi32(x, _mm512_loadu_si512(o));
    _mm512_storeu_si512(o, x);
}

T512 INL void bw_body(const clq_cpu_gemm_call *g, const int16_t *a, size_t astride, size_t n0,
                      int32_t *c, int first, const int R, const int V) {
    size_t ps = P16 * g->kp, ldc = g->ldc, as = astride * 4;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * P16;
#define BW_INIT(i)                                        \
    __m512i c##i##_00 = _mm512_setzero_si512(), c##i##_01 = c##i##_00; \
    __m512i c##i##_10 = c##i##_00, c##i##_11 = c##i##_00;
    ROWS6(BW_INIT)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as) {
        const int8_t *bq = b + q * 64;
        __m512i b00 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)bq));
        __m512i b01 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(bq + 32)));
        __m512i b10 = b00, b11 = b01;
        if (V > 1) {
            b10 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(bq + ps)));
            b11 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(bq + ps + 32)));
        }
#define MAC512(acc, va, bv) acc = _mm512_add_epi32(acc, _mm512_madd_epi16(va, bv))
#define BW_ROW(i)                                   \
    if (R > i) {                                    \
        int64_t w;                                  \
        memcpy(&w, a + i * 4, 8);                   \
        __m512i va = _mm512_set1_epi64(w);          \
        MAC512(c##i##_00, va, b00);                 \
        MAC512(c##i##_01, va, b01);                 \
        if (V > 1) {                                \
            MAC512(c##i##_10, va, b10);             \
            MAC512(c##i##_11, va, b11);             \
        }                                           \
    }
        ROWS6(BW_ROW)
    }
#define BW_STORE(i)                                                              \
    if (R > i) {                                                                 \
        fold_store(c + i * ldc, c##i##_00, c##i##_01, first);                    \
        if (V > 1) fold_store(c + i * ldc + 16, c##i##_10, c##i##_11, first);   \
    }
    ROWS6(BW_STORE)
}

#define BWCASE(R, V)                                  \
    case (R) * 4 + (V):                               \
        bw_body(g, a, astride, n0, c, first, R, V);   \
        break;
#define BWCASES(R) BWCASE(R, 1) BWCASE(R, 2)

T512 static void bw_tile(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                         size_t rows, size_t cols, int32_t *c, int first) {
    for (size_t j = 0; j < cols; j += 32) {
        size_t v = cols - j > 16 ? 2 : 1;
        switch (rows * 4 + v) {
            BWCASES(1) BWCASES(2) BWCASES(3) BWCASES(4) BWCASES(5) BWCASES(6)
        default:
            break;
        }
        n0 += 32;
        c += 32;
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avx512bw = {
    "avx512", 6, 512, 2, clq__cpu_gemm_pack_a_k4s16, bw_tile};

/* ---- AVX2, exact (cpu_gemm_avx2.c states why): a panel without a -128 weight takes
 * vpsignb + vpmaddubsw (|a'| times b' signed by a', a pair within int16) and one
 * vpmaddwd by ones, 4 rows x 2 halves = 8 accumulators; a panel holding one takes
 * vpmaddwd of sign-extended quarter panels, 2 rows x 4 quarters. A is s8 domain
 * (clq__cpu_gemm_pack_a_k4s8). ---- */

T_AVX2 INL void s_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t astride, size_t n0,
                       int32_t *c, int first, const int R) {
    size_t ldc = g->ldc, as = astride * 4;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * P16;
    const __m256i ones = _mm256_set1_epi16(1);
#define S_INIT(i)                                                               \
    __m256i c##i##0 = _mm256_setzero_si256(), c##i##1 = _mm256_setzero_si256(); \
    if (R > i && !first) {                                                      \
        c##i##0 = _mm256_loadu_si256((const __m256i *)(c + i * ldc));           \
        c##i##1 = _mm256_loadu_si256((const __m256i *)(c + i * ldc + 8));       \
    }
    ROWS4(S_INIT)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + q * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + q * 64 + 32));
#define S_ROW(i)                                                                 \
    if (R > i) {                                                                 \
        int32_t w;                                                               \
        memcpy(&w, a + i * 4, 4);                                                \
        __m256i va = _mm256_set1_epi32(w), ua = _mm256_abs_epi8(va);             \
        __m256i t0 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b0, va));         \
        __m256i t1 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b1, va));         \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(t0, ones));        \
        c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(t1, ones));        \
    }
        ROWS4(S_ROW)
    }
#define S_STORE(i)                                                  \
    if (R > i) {                                                    \
        _mm256_storeu_si256((__m256i *)(c + i * ldc), c##i##0);     \
        _mm256_storeu_si256((__m256i *)(c + i * ldc + 8), c##i##1); \
    }
    ROWS4(S_STORE)
}

/* [c0 c1 c4 c5 | c2 c3 c6 c7] of a half from its two (column, pair) quarters, then in
 * column order, added to o unless first. */
T_AVX2 INL void w_store(int32_t *o, __m256i lo, __m256i hi, int first) {
    __m256i x = _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
    if (!first) x = _mm256_add_epi32(x, _mm256_loadu_si256((const __m256i *)o));
    _mm256_storeu_si256((__m256i *)o, x);
}

T_AVX2 INL void w_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t astride, size_t n0,
                       int32_t *c, int first, const int R) {
    size_t ldc = g->ldc, as = astride * 4;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * P16;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
    __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as) {
        const int8_t *bq = b + q * 64;
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bq));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bq + 16)));
        __m256i b2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bq + 32)));
        __m256i b3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bq + 48)));
#define MAC256(acc, va, bv) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, bv))
#define W_ROW(i)                                                   \
    if (R > i) {                                                   \
        int32_t w;                                                 \
        memcpy(&w, a + i * 4, 4);                                  \
        __m256i va = _mm256_cvtepi8_epi16(_mm_set1_epi32(w));      \
        MAC256(c##i##0, va, b0);                                   \
        MAC256(c##i##1, va, b1);                                   \
        MAC256(c##i##2, va, b2);                                   \
        MAC256(c##i##3, va, b3);                                   \
    }
        W_ROW(0) W_ROW(1)
    }
    w_store(c, c00, c01, first);
    w_store(c + 8, c02, c03, first);
    if (R > 1) {
        w_store(c + ldc, c10, c11, first);
        w_store(c + ldc + 8, c12, c13, first);
    }
}

T_AVX2 static void avx2_tile(const clq_cpu_gemm_call *g, const void *av, size_t astride,
                             size_t n0, size_t rows, size_t cols, int32_t *c, int first) {
    const uint8_t *a = av;
    for (size_t j = 0; j < cols; j += 16) {
        if (g->has_min[(n0 + j) / P16]) {
            for (size_t i0 = 0; i0 < rows; i0 += 2) /* row i0's quads sit 4 i0 bytes in */
                w_body(g, a + 4 * i0, astride, n0 + j, c + i0 * g->ldc + j, first,
                       rows - i0 >= 2 ? 2 : 1);
            continue;
        }
        switch (rows) {
        case 1: s_body(g, a, astride, n0 + j, c + j, first, 1); break;
        case 2: s_body(g, a, astride, n0 + j, c + j, first, 2); break;
        case 3: s_body(g, a, astride, n0 + j, c + j, first, 3); break;
        default: s_body(g, a, astride, n0 + j, c + j, first, 4); break;
        }
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avx2 = {
    "avx2", 4, 512, 1, clq__cpu_gemm_pack_a_k4s8, avx2_tile};

#endif
