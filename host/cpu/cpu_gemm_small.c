/* cpu_gemm_small.c: the small-M int8 GEMM (M <= 16, the token-by-token case): B streamed
 * once from memory, N split evenly over the threads, the epilogue fused per 64 columns;
 * and its vpdpbusd tiles (AVX-512 VNNI, AVX-VNNI). */
#include "cpu_gemm_small.h"

#include <string.h>

#include "cpu_gemm_stage.h"
#include "cpu_internal.h"

#define NR CLQ_CPU_GEMM_SMALL_NR
#define P16 CLQ_CPU_GEMM_K4_NR
/* B smaller than this runs on the calling thread: waking the pool costs more. */
#define SMALL_SERIAL_B ((size_t)128 << 10)

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

typedef struct small_job {
    const clq_cpu_gemm_small *ks;
    clq_cpu_gemm_epi_fn epi_rows;
    clq_cpu_gemm_epi epi;
    clq_cpu_gemm_call call; /* b, corr, has_min, kp */
    const char *apack;      /* [kblocks][groups][mr or M rows][kc] as pack_a writes it */
    size_t m, n, np, kc, astride, kblock_bytes, parts;
} small_job;

/* Part t of parts: the K4 panels [t P / parts, (t + 1) P / parts), every row, all of K.
 * A static even split: a late worker leaves its part to the caller, who takes the next
 * unclaimed part from the pool's counter. */
static void small_part(void *arg, size_t t) {
    const small_job *j = arg;
    const clq_cpu_gemm_small *ks = j->ks;
    size_t panels = j->np / P16, mr = (size_t)ks->mr, kp = j->call.kp;
    size_t c0 = t * panels / j->parts * P16, c1 = (t + 1) * panels / j->parts * P16;
    _Alignas(64) int32_t acc[CLQ_CPU_GEMM_SMALL_M * NR];
    _Alignas(64) uint32_t colterm[NR], zb[NR];
    _Alignas(64) float f[NR];
    _Alignas(64) int32_t mult[NR], shift[NR];
    clq_cpu_gemm_cols cols = {colterm, zb, f, mult, shift};
    clq_cpu_gemm_call g = j->call;
    g.ldc = NR;
    for (size_t n0 = c0; n0 < c1; n0 += NR) {
        size_t cw = c1 - n0 < NR ? c1 - n0 : NR;
        size_t kb = 0;
        for (size_t k0 = 0; k0 < kp || k0 == 0; k0 += j->kc, kb++) {
            g.k0 = k0;
            g.kc = kp - k0 < j->kc ? kp - k0 : j->kc;
            const char *ap = j->apack + kb * j->kblock_bytes;
            size_t gbytes = j->astride * g.kc * (size_t)ks->a_esize;
            for (size_t i0 = 0; i0 < j->m; i0 += mr) {
                size_t r = j->m - i0 < mr ? j->m - i0 : mr;
                ks->tile(&g, ap + (i0 / mr) * gbytes, j->astride, n0, r, cw, acc + i0 * NR,
                         k0 == 0);
            }
            if (kp == 0) break;
        }
        size_t valid = (n0 + cw < j->n ? n0 + cw : j->n) - n0;
        clq__cpu_gemm_epi_cols(&j->epi, n0, valid, &cols);
        j->epi_rows(&j->epi, &cols, acc, NR, 0, j->m, n0, valid);
    }
}

clq_status clq__cpu_gemm_small(clq_context *ctx, const clq_gemm_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    const clq_cpu_gemm_small *ks = st->k.gemm_small;
    const clq_packed_weights *w = op->w;
    small_job j;
    memset(&j, 0, sizeof j);
    j.ks = ks;
    j.epi_rows = st->k.gemm_epi;
    j.m = op->m;
    j.n = op->n;
    size_t kp = w->layout[2], np = w->layout[3], mr = (size_t)ks->mr;
    j.np = np;
    const int8_t *b = w->data->host;
    j.call.b = b;
    j.call.kp = kp;
    j.call.corr = (const int32_t *)(const void *)(b + np * kp);
    j.call.has_min = (const uint8_t *)(b + np * kp + np * 4);
    /* rows that fit one pass take all of K and are packed without padding rows */
    j.kc = j.m <= mr || kp <= ks->kc ? kp : ks->kc;
    if (j.kc == 0) j.kc = CLQ_CPU_GEMM_KALIGN;
    j.astride = j.m <= mr ? j.m : mr;
    size_t groups = (j.m + mr - 1) / mr;
    j.kblock_bytes = round_up(groups * j.astride * j.kc * (size_t)ks->a_esize, 64);
    size_t kblocks = kp ? (kp + j.kc - 1) / j.kc : 0;
    clq_buffer *ws = NULL;
    clq_status rc = clq__scratch(ctx, CLQ_SCRATCH_WORK, kblocks ? kblocks * j.kblock_bytes : 64, &ws);
    if (rc != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return rc;
    clq__cpu_gemm_epi_init(op, &j.epi);
    const uint8_t *a = clq__cpu_span_ptr(op->a);
    for (size_t kb = 0; kb < kblocks; kb++) {
        size_t k0 = kb * j.kc, kc = kp - k0 < j.kc ? kp - k0 : j.kc;
        ks->pack_a(a, op->lda, op->atype == CLQ_U8, j.m, k0, kc, op->k, (int)j.astride,
                   ws->host + kb * j.kblock_bytes);
    }
    j.apack = ws->host;
    size_t threads = (size_t)clq__cpu_pool_threads(st->pool), panels = np / P16;
    j.parts = np * kp < SMALL_SERIAL_B ? 1 : threads < panels ? threads : panels;
    clq__cpu_parallel(st->pool, j.parts, small_part, &j);
    return CLQ_SUCCESS;
}

/* ---- the vpdpbusd tiles -------------------------------------------------- */

#if CLQ_CPU_X86
#define T_ZVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define T_YVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define INL static inline __attribute__((always_inline))

/* vpdpbusd multiplies u8 by s8: A is packed as a' + 128 (clq__cpu_gemm_pack_a_k4u8), so
 * the sum gains 128 cs'[n], which starting from corr[n] = -128 cs'[n] removes. The
 * instruction is written out: GCC 12 copies the accumulator around the intrinsic. */
#define DPBUSD512(acc, a, b) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b))
#define DPBUSD256(acc, a, b) __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b))

/* Accumulators are named variables (an array of vectors would live on the stack); R and
 * V are constants per instantiation, so the unused names vanish. */
#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define PAN4(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)

/* AVX-512 (32 zmm): up to 6 rows x 4 panels of 16 columns, 24 accumulators: per k-quad
 * 4 B loads and 6 broadcasts feed 24 vpdpbusd. More rows per pass (up to all 16, with
 * fewer panels: 8 x 3, 12 x 2, 16 x 1) read B once but need a broadcast per 3, 2 or 1
 * vpdpbusd, and measured slower than 6 x 4 passes over a 512-long K panel of B kept in
 * L1 (one thread, M = 16: 0.67-0.79 ms a call against 0.82-1.0 ms for 16 x 1). */
#define ZMR 6

T_ZVNNI INL void z_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t astride, size_t n0,
                        int32_t *c, int first, const int R, const int V) {
    size_t ps = P16 * g->kp, ldc = g->ldc, as = astride * 4;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * P16;
#define Z_INIT(i, v)                                                                    \
    __m512i c##i##_##v = _mm512_setzero_si512();                                        \
    if (R > i && V > v)                                                                 \
        c##i##_##v = first ? _mm512_loadu_si512(g->corr + n0 + 16 * v)                  \
                           : _mm512_loadu_si512(c + i * ldc + 16 * v);
#define Z_INIT_ROW(i) PAN4(Z_INIT, i)
    ROWS6(Z_INIT_ROW)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as) {
        const int8_t *bq = b + q * 64;
        __m512i b0 = _mm512_loadu_si512(bq);
        __m512i b1 = V > 1 ? _mm512_loadu_si512(bq + ps) : b0;
        __m512i b2 = V > 2 ? _mm512_loadu_si512(bq + 2 * ps) : b0;
        __m512i b3 = V > 3 ? _mm512_loadu_si512(bq + 3 * ps) : b0;
#define Z_DP(i, v) \
    if (V > v) DPBUSD512(c##i##_##v, av, b##v);
#define Z_ROW(i)                              \
    if (R > i) {                              \
        int32_t w;                            \
        memcpy(&w, a + i * 4, 4);             \
        __m512i av = _mm512_set1_epi32(w);    \
        PAN4(Z_DP, i)                         \
    }
        ROWS6(Z_ROW)
    }
#define Z_STORE(i, v) \
    if (R > i && V > v) _mm512_storeu_si512(c + i * ldc + 16 * v, c##i##_##v);
#define Z_STORE_ROW(i) PAN4(Z_STORE, i)
    ROWS6(Z_STORE_ROW)
}

#define ZCASE(R, V)                                                    \
    case (R) * 8 + (V):                                                \
        z_body(g, a, astride, n0, c, first, R, V);                     \
        break;
#define ZCASES(R) ZCASE(R, 1) ZCASE(R, 2) ZCASE(R, 3) ZCASE(R, 4)

T_ZVNNI static void z_tile(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                           size_t rows, size_t cols, int32_t *c, int first) {
    size_t nv = (cols + 15) / 16;
    switch (rows * 8 + nv) {
        ZCASES(1) ZCASES(2) ZCASES(3) ZCASES(4) ZCASES(5) ZCASES(6)
    default:
        break;
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avx512vnni = {
    "avx512-vnni", ZMR, 512, 1, clq__cpu_gemm_pack_a_k4u8, z_tile};

/* AVX-VNNI (16 ymm): R rows x one panel (two ymm halves), R <= 6: 12 accumulators, two
 * B vectors and a broadcast. More rows take further passes over a K panel of B that
 * stays in L1. */
#define YMR 6

T_YVNNI INL void y_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t astride, size_t n0,
                        int32_t *c, int first, const int R) {
    size_t ldc = g->ldc, as = astride * 4;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * P16;
#define Y_INIT(i, h)                                                                       \
    __m256i c##i##h = _mm256_setzero_si256();                                              \
    if (R > i)                                                                             \
        c##i##h = first ? _mm256_loadu_si256((const __m256i *)(g->corr + n0 + 8 * h))      \
                        : _mm256_loadu_si256((const __m256i *)(c + i * ldc + 8 * h));
#define Y_INIT_ROW(i) Y_INIT(i, 0) Y_INIT(i, 1)
    ROWS6(Y_INIT_ROW)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + q * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + q * 64 + 32));
#define Y_ROW(i)                              \
    if (R > i) {                              \
        int32_t w;                            \
        memcpy(&w, a + i * 4, 4);             \
        __m256i av = _mm256_set1_epi32(w);    \
        DPBUSD256(c##i##0, av, b0);           \
        DPBUSD256(c##i##1, av, b1);           \
    }
        ROWS6(Y_ROW)
    }
#define Y_STORE(i, h) \
    if (R > i) _mm256_storeu_si256((__m256i *)(c + i * ldc + 8 * h), c##i##h);
#define Y_STORE_ROW(i) Y_STORE(i, 0) Y_STORE(i, 1)
    ROWS6(Y_STORE_ROW)
}

T_YVNNI static void y_tile(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                           size_t rows, size_t cols, int32_t *c, int first) {
    for (size_t j = 0; j < cols; j += 16) {
        switch (rows) {
        case 1: y_body(g, a, astride, n0 + j, c + j, first, 1); break;
        case 2: y_body(g, a, astride, n0 + j, c + j, first, 2); break;
        case 3: y_body(g, a, astride, n0 + j, c + j, first, 3); break;
        case 4: y_body(g, a, astride, n0 + j, c + j, first, 4); break;
        case 5: y_body(g, a, astride, n0 + j, c + j, first, 5); break;
        default: y_body(g, a, astride, n0 + j, c + j, first, 6); break;
        }
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avxvnni = {
    "avx2-vnni", YMR, 512, 1, clq__cpu_gemm_pack_a_k4u8, y_tile};
#endif
