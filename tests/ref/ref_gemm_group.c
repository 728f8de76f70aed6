/* ref_gemm_group.c: the GEMM reference for every weight format and activation granularity
 * (docs/NUMERICS.md, "Weight formats, per-token and per-group activations"): exact group
 * dots in int64 from the stored values, the f32 stages folding groups in ascending order
 * one rounding per step, and the group sums of A. */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

size_t ref_gemm_groups(size_t k, size_t g) { return g ? k / g + (k % g != 0) : 1; }

size_t ref_gemm_param(clq_granularity gran, size_t r, size_t j, size_t groups) {
    return gran == CLQ_PER_TENSOR ? 0 : gran == CLQ_PER_AXIS ? r : r * groups + j;
}

static int32_t mat_at(const ref_mat *x, size_t r, size_t c) {
    ptrdiff_t e = (ptrdiff_t)x->offset + (ptrdiff_t)r * x->rs + (ptrdiff_t)c * x->cs;
    return ref_load_q(x->dtype, x->data, (size_t)e);
}

/* The zero-point-corrected values of rows x k, as int32 [rows][k] (group j of k is
 * k / g, its parameter ref_gemm_param(gran, row, j, G)). */
static int32_t *corrected(const ref_mat *x, size_t rows, size_t k, size_t g, clq_granularity gran,
                          const int32_t *zp) {
    size_t G = ref_gemm_groups(k, g);
    int32_t *v = malloc(sizeof *v * (rows * k + 1));
    for (size_t r = 0; r < rows; r++)
        for (size_t p = 0; p < k; p++)
            v[r * k + p] = mat_at(x, r, p) - zp[ref_gemm_param(gran, r, g ? p / g : 0, G)];
    return v;
}

void ref_gemm_group_exact(size_t m, size_t n, size_t k, size_t g, const ref_mat *a, clq_granularity a_gran,
                          const int32_t *za, const ref_mat *b, clq_granularity b_gran, const int32_t *zb,
                          int64_t *d) {
    size_t G = ref_gemm_groups(k, g), len = g ? g : k;
    int32_t *ad = corrected(a, m, k, g, a_gran, za), *bd = corrected(b, n, k, g, b_gran, zb);
    for (size_t i = 0; i < m; i++)
        for (size_t c = 0; c < n; c++) {
            const int32_t *ar = ad + i * k, *br = bd + c * k;
            for (size_t j = 0; j < G; j++) {
                size_t k0 = j * len, k1 = k0 + len < k ? k0 + len : k;
                int64_t s = 0;
                for (size_t p = k0; p < k1; p++) s += (int64_t)ar[p] * br[p];
                d[(i * n + c) * G + j] = s;
            }
        }
    free(ad);
    free(bd);
}

void ref_gemm_group_sums(size_t rows, size_t k, size_t g, const ref_mat *a, int32_t *sums) {
    size_t G = ref_gemm_groups(k, g);
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < G; j++) sums[r * G + j] = 0;
        for (size_t p = 0; p < k; p++) sums[r * G + (g ? p / g : 0)] += mat_at(a, r, p);
    }
}

/* Each line one f32 operation (the build has -ffp-contract=off: no fma). */
float ref_gemm_group_f32(size_t groups, const int32_t *d, const float *sa, const float *sb, const float *bias,
                         int relu) {
    float y = 0.0f;
    for (size_t j = 0; j < groups; j++) {
        float s = sa[j] * sb[j];
        float t = (float)d[j] * s;
        y = j == 0 ? t : y + t;
    }
    if (bias) y = y + *bias;
    if (relu) y = y > 0.0f ? y : 0.0f;
    return y;
}

int32_t ref_gemm_group_requant(size_t groups, const int32_t *d, const float *sa, const float *sb, float sc,
                               int32_t zc, int qmin, int qmax) {
    float v = 0.0f;
    for (size_t j = 0; j < groups; j++) {
        float mult = (sa[j] * sb[j]) / sc;
        float t = (float)d[j] * mult;
        v = j == 0 ? t : v + t;
    }
    float lo = (float)(qmin - zc), hi = (float)(qmax - zc);
    v = v < lo ? lo : v > hi ? hi : v;
    return (int32_t)nearbyintf(v) + zc; /* default rounding mode: half to even */
}
