/* cpu_gemm_group_kernel.c: the portable C kernel of the group-format GEMM (one panel of
 * 16 columns, up to 4 rows): per group the exact int32 dot of a' and bu, the correction
 * with the group sums, then the fold of cpu_gemm_group.h. */
#include <string.h>

#include "cpu_gemm_group.h"

#define MR 4
#define P CLQ_CPU_GG_P

/* The 64 bu values of k-quad q of a panel, K4 order. */
static void quad_values(const clq_cpu_gg_args *g, const uint8_t *panel, size_t q, uint8_t *v) {
    if (g->bits == 8) {
        memcpy(v, panel + q * 64, 64);
        return;
    }
    const uint8_t *o = panel + (q / 2) * 64;
    int sh = (int)(q & 1) * 4;
    for (int x = 0; x < 64; x++) v[x] = (uint8_t)((o[x] >> sh) & 15);
}

/* d_j of row i (m = m0 + i), column c of panel p, from its dot acc. */
static inline uint32_t group_d(const clq_cpu_gg_args *g, size_t p, size_t j, size_t c, size_t m,
                               uint32_t acc) {
    size_t t = (p * g->ngroups + j) * P + c;
    uint32_t zbu = g->zbu ? g->zbu[t] : (uint32_t)g->zbu_c;
    uint32_t d = acc - zbu * (uint32_t)g->rs[m * g->ngroups + j];
    if (g->xc) d += (uint32_t)g->za[m * g->za_m + j * g->za_j] * (uint32_t)g->xc[t];
    return d;
}

static void portable_tile(const clq_cpu_gg_args *g, const int8_t *a, size_t m0, size_t rows,
                          size_t n0, size_t cols, void *out, size_t ldo) {
    (void)cols; /* one panel */
    size_t p = n0 / P;
    const uint8_t *panel = g->b + p * g->pstride;
    for (size_t j = 0; j < g->ngroups; j++) {
        size_t q0 = j * g->gq, q1 = q0 + g->gq < g->kq ? q0 + g->gq : g->kq;
        int32_t acc[MR][P];
        memset(acc, 0, sizeof acc);
        for (size_t q = q0; q < q1; q++) {
            uint8_t v[64];
            quad_values(g, panel, q, v);
            const int8_t *aq = a + q * MR * 4;
            for (size_t i = 0; i < rows; i++)
                for (int x = 0; x < 64; x++) acc[i][x / 4] += aq[i * 4 + x % 4] * v[x];
        }
        for (size_t i = 0; i < rows; i++) {
            size_t m = m0 + i;
            for (size_t c = 0; c < P; c++) {
                uint32_t d = group_d(g, p, j, c, m, (uint32_t)acc[i][c]);
                if (g->mode == CLQ_CPU_GG_INT) {
                    ((int32_t *)out)[i * ldo + c] = (int32_t)d;
                    continue;
                }
                float s = clq__cpu_gg_mult(g, g->sa[m * g->sa_m + j * g->sa_j],
                                           g->sb[(p * g->ngroups + j) * P + c]);
                float *y = (float *)out + i * ldo + c;
                float f = (float)(int32_t)d * s;
                *y = j == 0 ? f : *y + f;
            }
        }
    }
}

const clq_cpu_gemm_group clq__cpu_gemm_group_portable = {"portable", MR, P, portable_tile};
