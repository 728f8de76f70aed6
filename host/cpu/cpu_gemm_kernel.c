/* cpu_gemm_kernel.c: the portable C GEMM micro-kernel (rows x 4 dot products over K,
 * B in CLQ_CPU_GEMM_B_ROWS) and its tile function. */
#include <string.h>

#include "cpu_gemm_kernel.h"

#define NR CLQ_CPU_GEMM_ROWS_NR
#define MR 3

/* Every accumulator is a reduction over p with s16 x s16 products, the form GCC
 * turns into a widening multiply-add (pmaddwd: two products summed per int32 lane),
 * B widened once per vector and reused across the rows. Partial sums stay in
 * vector lanes until the end of the panel. Baseline x86-64 has 16 vector registers:
 * 3 x 4 accumulators with the operands. */
static inline __attribute__((always_inline)) void ukr_body(size_t kc, const int16_t *a,
                                                           const int8_t *b, size_t ldb,
                                                           int32_t *s, const int rows) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < NR; j++) s[i * NR + j] = 0;
    /* kc is a multiple of KALIGN: saying so drops the vectoriser's scalar tail */
    size_t kv = kc & ~(size_t)(CLQ_CPU_GEMM_KALIGN - 1);
    int32_t acc[MR][NR] = {{0}};
    for (size_t p = 0; p < kv; p++)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i * kc + p] * (int16_t)b[j * ldb + p];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < NR; j++) s[i * NR + j] = acc[i][j];
}

static void ukr1(size_t kc, const int16_t *a, const int8_t *b, size_t ldb, int32_t *s) {
    ukr_body(kc, a, b, ldb, s, 1);
}
static void ukr2(size_t kc, const int16_t *a, const int8_t *b, size_t ldb, int32_t *s) {
    ukr_body(kc, a, b, ldb, s, 2);
}
static void ukr3(size_t kc, const int16_t *a, const int8_t *b, size_t ldb, int32_t *s) {
    ukr_body(kc, a, b, ldb, s, 3);
}

static void portable_tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                          size_t cols, int32_t *c, int first) {
    static void (*const ukr[MR])(size_t, const int16_t *, const int8_t *, size_t, int32_t *) = {
        ukr1, ukr2, ukr3};
    int32_t s[MR * NR];
    for (size_t j0 = 0; j0 < cols; j0 += NR) {
        ukr[rows - 1](g->kc, a, g->b + (n0 + j0) * g->kp + g->k0, g->kp, s);
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < NR; j++) {
                int32_t *o = c + i * g->ldc + j0 + j;
                *o = first ? s[i * NR + j] : (int32_t)((uint32_t)*o + (uint32_t)s[i * NR + j]);
            }
    }
}

const clq_cpu_gemm_kernel clq__cpu_gemm_portable = {
    "portable", CLQ_CPU_GEMM_B_ROWS, MR, NR, 2, 4096, clq__cpu_gemm_pack_a_rows16, portable_tile, 0, 0, NULL, 0};
