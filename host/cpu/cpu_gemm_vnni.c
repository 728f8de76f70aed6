/* cpu_gemm_vnni.c: the vpdpbusd GEMM micro-kernels (AVX-512 VNNI on zmm, AVX-VNNI on
 * ymm): outer products of u8-domain A quads and K4 B panels, exact in int32; one loop
 * per set serves the general tiles and the small-M ones (cpu_gemm_small.h). */
#include "cpu_gemm_kernel.h"
#include "cpu_gemm_small.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define T_ZVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define T_YVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define INL static inline __attribute__((always_inline))

/* vpdpbusd multiplies u8 by s8: A is packed as a' + 128 (clq__cpu_gemm_pack_a_k4u8),
 * so the sum gains 128 cs'[n], which starting from corr[n] = -128 cs'[n] removes. */

/* GCC 12 copies the accumulator around each vpdpbusd intrinsic and spills the tile
 * (measured: half the cycles in moves); the instruction itself keeps it in place. */
#define DPBUSD512(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))
#define DPBUSD256(acc, a, b) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b))

/* AVX-512: 6 rows x 4 panels = 24 zmm accumulators, 4 B vectors and one broadcast.
 * Per k-quad 10 loads feed 24 vpdpbusd. */
#define ZMR 6
#define ZNV 4

/* The accumulators are named variables, not an array: GCC keeps an array of vectors
 * on the stack as well (a store per update); R and NV are constants in each
 * instantiation, so the unused ones vanish. */
#define Z_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define Z_TILE(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)

/* The quad q of row i is at a + q * as_q + i * as_i: packed A (as_q = ZMR * 4, as_i =
 * 4), u8 A in place (4, g->lda), or the small-M packing (astride * 4, 4). PF: issue
 * g->pf spread over the K loop (the general driver's lists). */
T_ZVNNI INL void z_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t as_i,
                        size_t n0, int32_t *c, int first, const int R, const int NV,
                        const int PF) {
    size_t ps = CLQ_CPU_GEMM_K4_NR * g->kp, ldc = g->ldc;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
#define Z_INIT(i, v)                                                                       \
    __m512i c##i##v = _mm512_setzero_si512();                                              \
    if (R > i && NV > v)                                                                   \
        c##i##v = first ? _mm512_loadu_si512(g->corr + n0 + 16 * v)                        \
                        : _mm512_loadu_si512(c + i * ldc + 16 * v);
#define Z_INIT_ROW(i) Z_TILE(Z_INIT, i)
    Z_ROWS(Z_INIT_ROW)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++) {
        const int8_t *bq = b + q * 64;
        /* one prefetch of each list every 4 k-quads (64 slots a list at kc = 1024) */
        if (PF && (q & 3) == 0) {
            size_t l = q >> 2;
            if (l < g->npf_c) _mm_prefetch(g->pf[l], _MM_HINT_T0);
            if (l < g->npf_b) _mm_prefetch(g->pf[CLQ_CPU_GEMM_PF_MAX + l], _MM_HINT_T1);
        }
        __m512i b0 = _mm512_loadu_si512(bq);
        __m512i b1 = NV > 1 ? _mm512_loadu_si512(bq + ps) : b0;
        __m512i b2 = NV > 2 ? _mm512_loadu_si512(bq + 2 * ps) : b0;
        __m512i b3 = NV > 3 ? _mm512_loadu_si512(bq + 3 * ps) : b0;
#define Z_DP(i, v) \
    if (NV > v) DPBUSD512(c##i##v, av, b##v);
#define Z_ROW(i)                                   \
    if (R > i) {                                   \
        int32_t w;                                 \
        memcpy(&w, a + q * as_q + i * as_i, 4);    \
        __m512i av = _mm512_set1_epi32(w);         \
        Z_TILE(Z_DP, i)                            \
    }
        Z_ROWS(Z_ROW)
    }
#define Z_STORE(i, v) \
    if (R > i && NV > v) _mm512_storeu_si512(c + i * ldc + 16 * v, c##i##v);
#define Z_STORE_ROW(i) Z_TILE(Z_STORE, i)
    Z_ROWS(Z_STORE_ROW)
}

/* R and NV constant per case; the callers' strides and PF reach z_body as constants. */
#define ZCASE(R, NV)                                                  \
    case R * 8 + NV:                                                  \
        z_body(g, a, as_q, as_i, n0, c, first, R, NV, PF);            \
        break;
#define ZROW(R) ZCASE(R, 1) ZCASE(R, 2) ZCASE(R, 3) ZCASE(R, 4)

T_ZVNNI INL void z_cases(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t as_i,
                         size_t n0, size_t rows, size_t cols, int32_t *c, int first,
                         const int PF) {
    size_t nv = (cols + 15) / 16;
    switch (rows * 8 + nv) {
        ZROW(1) ZROW(2) ZROW(3) ZROW(4) ZROW(5) ZROW(6)
    default:
        break;
    }
}

T_ZVNNI static void z_tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                           size_t cols, int32_t *c, int first) {
    if (g->lda) z_cases(g, a, 4, g->lda, n0, rows, cols, c, first, 1);
    else z_cases(g, a, ZMR * 4, 4, n0, rows, cols, c, first, 1);
}

/* K panels of 1024: the 64 KiB B tile streams from L2 as fast as the kernel takes it,
 * and every tile's accumulators make half as many trips through memory as at 512
 * (measured, one thread: 2-5% at 1024^3 and 128x4096x4096). */
const clq_cpu_gemm_kernel clq__cpu_gemm_avx512vnni = {
    "avx512-vnni", CLQ_CPU_GEMM_B_K4_AVX512VNNI, ZMR, ZNV * 16, 1, 1024,
    clq__cpu_gemm_pack_a_k4u8, z_tile, 1, 1, NULL, 0};

/* Small M, up to 6 rows: the general tile's 6 x 4 loop over all of K, B read once. */
T_ZVNNI static void z_small6(const clq_cpu_gemm_call *g, const void *a, size_t astride,
                             size_t n0, size_t rows, size_t cols, int32_t *c, int first) {
    z_cases(g, a, astride * 4, 4, n0, rows, cols, c, first, 0);
}

/* Small M, 7 to 16 rows: every row x two panels (up to 12 rows: 24 accumulators) or one
 * panel, all of K in one pass, so B is read once, as one or two streams, prefetched 8
 * KiB ahead (the panels of a call lie end to end). Passes of 6 x 4 over 512-long K panels
 * (each read from memory once, then from L1) were as fast or slower with B in L3 and
 * much slower with B in DRAM, where only their first pass kept the memory busy: M = 16
 * took 0.45-0.52 ms a call there, this 0.31-0.39; M = 10 0.37-0.53 against 0.25-0.28 (2
 * threads, Zen 5, docs/BENCHMARKS.md). Without the prefetch, or at 1 KiB, one stream
 * was slower still (M = 16: 0.52-0.57 ms). */
#define Z16_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define Z16_PF_BYTES 8192

T_ZVNNI INL void z16_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t n0,
                          int32_t *c, int first, const int R, const int NP) {
    size_t ldc = g->ldc, ps = CLQ_CPU_GEMM_K4_NR * g->kp;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
#define Z16_INIT(i)                                                                        \
    __m512i c##i = _mm512_setzero_si512(), d##i = c##i;                                    \
    if (R > i) c##i = first ? _mm512_loadu_si512(g->corr + n0) : _mm512_loadu_si512(c + i * ldc); \
    if (R > i && NP > 1)                                                                   \
        d##i = first ? _mm512_loadu_si512(g->corr + n0 + 16) : _mm512_loadu_si512(c + i * ldc + 16);
    Z16_ROWS(Z16_INIT)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++) {
        /* an address only: past B's end it is never dereferenced */
        const char *pf = (const char *)((uintptr_t)(b + q * 64) + Z16_PF_BYTES);
        _mm_prefetch(pf, _MM_HINT_T0);
        if (NP > 1) _mm_prefetch(pf + ps, _MM_HINT_T0);
        __m512i b0 = _mm512_loadu_si512(b + q * 64);
        __m512i b1 = NP > 1 ? _mm512_loadu_si512(b + ps + q * 64) : b0;
#define Z16_DP(i)                                   \
    if (R > i) {                                    \
        int32_t w;                                  \
        memcpy(&w, a + q * as_q + i * 4, 4);        \
        __m512i av = _mm512_set1_epi32(w);          \
        DPBUSD512(c##i, av, b0);                    \
        if (NP > 1) DPBUSD512(d##i, av, b1);        \
    }
        Z16_ROWS(Z16_DP)
    }
#define Z16_STORE(i)                                                \
    if (R > i) _mm512_storeu_si512(c + i * ldc, c##i);              \
    if (R > i && NP > 1) _mm512_storeu_si512(c + i * ldc + 16, d##i);
    Z16_ROWS(Z16_STORE)
}

T_ZVNNI static void z_small(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                            size_t rows, size_t cols, int32_t *c, int first) {
    if (rows <= ZMR) {
        z_small6(g, a, astride, n0, rows, cols, c, first);
        return;
    }
    size_t as_q = astride * 4;
    for (size_t j = 0; j < cols; j += 16) {
        int two = rows <= 12 && cols - j > 16;
        switch (rows * 2 + two) {
#define Z16_CASE(R)                                                        \
    case 2 * R: z16_body(g, a, as_q, n0 + j, c + j, first, R, 1); break;   \
    case 2 * R + 1: z16_body(g, a, as_q, n0 + j, c + j, first, R, 2); break;
            Z16_CASE(7) Z16_CASE(8) Z16_CASE(9) Z16_CASE(10) Z16_CASE(11) Z16_CASE(12)
        case 26: z16_body(g, a, as_q, n0 + j, c + j, first, 13, 1); break;
        case 28: z16_body(g, a, as_q, n0 + j, c + j, first, 14, 1); break;
        case 30: z16_body(g, a, as_q, n0 + j, c + j, first, 15, 1); break;
        default: z16_body(g, a, as_q, n0 + j, c + j, first, 16, 1); break;
        }
        j += two ? 16 : 0;
    }
}

/* mr 16: every small M takes one pass over all of K (the K panel field goes unused). */
const clq_cpu_gemm_small clq__cpu_gemm_small_avx512vnni = {
    "avx512-vnni", 16, 512, 1, clq__cpu_gemm_pack_a_k4u8, z_small, NULL};

/* AVX-VNNI: 16 ymm registers: 6 rows x one panel (two ymm halves) = 12 accumulators. */
#define YMR 6

/* A addressed as in z_body. */
T_YVNNI INL void y_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t as_i,
                        size_t n0, int32_t *c, int first, const int R) {
    size_t ldc = g->ldc;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
#define Y_INIT(i, h)                                                                          \
    __m256i c##i##h = _mm256_setzero_si256();                                                 \
    if (R > i)                                                                                \
        c##i##h = first ? _mm256_loadu_si256((const __m256i *)(g->corr + n0 + 8 * h))         \
                        : _mm256_loadu_si256((const __m256i *)(c + i * ldc + 8 * h));
#define Y_INIT_ROW(i) Y_INIT(i, 0) Y_INIT(i, 1)
    Z_ROWS(Y_INIT_ROW)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + q * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + q * 64 + 32));
#define Y_ROW(i)                                   \
    if (R > i) {                                   \
        int32_t w;                                 \
        memcpy(&w, a + q * as_q + i * as_i, 4);    \
        __m256i av = _mm256_set1_epi32(w);         \
        DPBUSD256(c##i##0, av, b0);                \
        DPBUSD256(c##i##1, av, b1);                \
    }
        Z_ROWS(Y_ROW)
    }
#define Y_STORE(i, h) \
    if (R > i) _mm256_storeu_si256((__m256i *)(c + i * ldc + 8 * h), c##i##h);
#define Y_STORE_ROW(i) Y_STORE(i, 0) Y_STORE(i, 1)
    Z_ROWS(Y_STORE_ROW)
}

T_YVNNI static void y_tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                           size_t cols, int32_t *c, int first) {
    (void)cols; /* one panel */
#define YCASE(R)                                                     \
    case R:                                                          \
        if (g->lda) y_body(g, a, 4, g->lda, n0, c, first, R);        \
        else y_body(g, a, YMR * 4, 4, n0, c, first, R);              \
        break;
    switch (rows) {
        YCASE(1) YCASE(2) YCASE(3) YCASE(4) YCASE(5)
    default:
        if (g->lda) y_body(g, a, 4, g->lda, n0, c, first, 6);
        else y_body(g, a, YMR * 4, 4, n0, c, first, 6);
        break;
    }
}

const clq_cpu_gemm_kernel clq__cpu_gemm_avxvnni = {
    "avx2-vnni", CLQ_CPU_GEMM_B_K4_AVXVNNI, YMR, 16, 1, 512, clq__cpu_gemm_pack_a_k4u8, y_tile, 1, 0, NULL, 0};

/* Small M: the same 6 x 16 tile, panel by panel; more rows take further passes over a K
 * panel of B that stays in L1. */
T_YVNNI static void y_small(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                            size_t rows, size_t cols, int32_t *c, int first) {
    size_t as_q = astride * 4;
    for (size_t j = 0; j < cols; j += 16) {
        switch (rows) {
        case 1: y_body(g, a, as_q, 4, n0 + j, c + j, first, 1); break;
        case 2: y_body(g, a, as_q, 4, n0 + j, c + j, first, 2); break;
        case 3: y_body(g, a, as_q, 4, n0 + j, c + j, first, 3); break;
        case 4: y_body(g, a, as_q, 4, n0 + j, c + j, first, 4); break;
        case 5: y_body(g, a, as_q, 4, n0 + j, c + j, first, 5); break;
        default: y_body(g, a, as_q, 4, n0 + j, c + j, first, 6); break;
        }
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avxvnni = {
    "avx2-vnni", YMR, 512, 1, clq__cpu_gemm_pack_a_k4u8, y_small, NULL};

#endif
