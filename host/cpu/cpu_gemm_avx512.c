/* cpu_gemm_avx512.c: the AVX-512BW GEMM micro-kernel (no VNNI): vpmaddwd of s16 A
 * quads by sign-extended K4 B panels, exact for every s8 value; its loop serves the
 * general tile and the small-M one (cpu_gemm_small.h). */
#include "cpu_gemm_kernel.h"
#include "cpu_gemm_small.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define INL static inline __attribute__((always_inline))
#define MR 6
#define NV 2

/* An A quad as four s16 (packed so, clq__cpu_gemm_pack_a_k4s16) broadcast per 64-bit
 * lane; a half panel (8 columns x 4 k) widened to s16; vpmaddwd gives (column, pair)
 * lanes, added pairwise at the end. 6 rows x 2 panels x 2 halves = 24 accumulators,
 * 4 widened B vectors and one broadcast. */
#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* (column, pair) lanes of one half panel pair-summed into 16 columns, added to o
 * unless first. */
T512 INL void fold_store(int32_t *o, __m512i lo, __m512i hi, int first) {
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
    __m512i x = _mm512_add_epi32(_mm512_permutex2var_epi32(lo, ev, hi),
                                 _mm512_permutex2var_epi32(lo, od, hi));
    if (!first) x = _mm512_add_epi32(x, _mm512_loadu_si512(o));
    _mm512_storeu_si512(o, x);
}

/* Named accumulators (cRVH: row, panel, half), not arrays: GCC would keep an array of
 * vectors on the stack. The quad q of row i is at a + q * as_q + i * 4 (s16 elements;
 * as_q: MR * 4 packed for the general tile, astride * 4 for the small-M one). */
T512 INL void body(const clq_cpu_gemm_call *g, const int16_t *a, size_t as_q, size_t n0,
                   int32_t *c, int first, const int R, const int V) {
    size_t ps = CLQ_CPU_GEMM_K4_NR * g->kp, ldc = g->ldc;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
#define INIT(i) __m512i c##i##00, c##i##01, c##i##10, c##i##11; \
    c##i##00 = c##i##01 = c##i##10 = c##i##11 = _mm512_setzero_si512();
    ROWS6(INIT)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++) {
        const int8_t *bq = b + q * 64;
        __m512i b00 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)bq));
        __m512i b01 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(bq + 32)));
        __m512i b10 = b00, b11 = b01;
        if (V > 1) {
            b10 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(bq + ps)));
            b11 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(bq + ps + 32)));
        }
#define MAC(acc, va, bv) acc = _mm512_add_epi32(acc, _mm512_madd_epi16(va, bv))
#define ROW(i)                                      \
    if (R > i) {                                    \
        int64_t w;                                  \
        memcpy(&w, a + q * as_q + i * 4, 8);        \
        __m512i va = _mm512_set1_epi64(w);          \
        MAC(c##i##00, va, b00);                     \
        MAC(c##i##01, va, b01);                     \
        if (V > 1) {                                \
            MAC(c##i##10, va, b10);                 \
            MAC(c##i##11, va, b11);                 \
        }                                           \
    }
        ROWS6(ROW)
#undef ROW
    }
#define STORE(i)                                                          \
    if (R > i) {                                                          \
        fold_store(c + i * ldc, c##i##00, c##i##01, first);               \
        if (V > 1) fold_store(c + i * ldc + 16, c##i##10, c##i##11, first); \
    }
    ROWS6(STORE)
}

#define CASE(R, V)                           \
    case R * 4 + V:                          \
        body(g, a, as_q, n0, c, first, R, V);\
        break;
#define ROW(R) CASE(R, 1) CASE(R, 2)

T512 static void tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                      size_t cols, int32_t *c, int first) {
    size_t nv = (cols + 15) / 16, as_q = MR * 4;
    switch (rows * 4 + nv) {
        ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6)
    default:
        break;
    }
}

const clq_cpu_gemm_kernel clq__cpu_gemm_avx512bw = {
    "avx512", CLQ_CPU_GEMM_B_K4_AVX512BW, MR, NV * 16, 2, 512, clq__cpu_gemm_pack_a_k4s16, tile, 0, 0, NULL, 0};

/* Small M: the same 6 x 32 tile, 32 columns at a time (6 rows per pass, as the vpdpbusd
 * tile: more rows with fewer panels need more broadcasts per multiply-add). */
T512 static void small_tile(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                            size_t rows, size_t cols, int32_t *c, int first) {
    size_t as_q = astride * 4;
    for (size_t j = 0; j < cols; j += 32) {
        size_t nv = cols - j > 16 ? 2 : 1;
        switch (rows * 4 + nv) {
            ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6)
        default:
            break;
        }
        n0 += 32;
        c += 32;
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avx512bw = {
    "avx512", MR, 512, 2, clq__cpu_gemm_pack_a_k4s16, small_tile, NULL};

#endif
