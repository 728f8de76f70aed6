/* ref_error.c: the error statistics of docs/NUMERICS.md ("Error metrics") written from
 * the contract: elements visited in row-major order, each granule's positions counted
 * as they come, per-lane f32 sums per chunk, folded, then summed in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

enum { CHUNK = 4096, LANES = 16, NS = 6 };

/* The f32 terms of one element (e = y - x and the products, each rounded once). */
static int terms(float x, float y, float t[NS]) {
    float e = y - x;
    if (isnan(e)) return 0;
    t[0] = e * e;
    t[1] = fabsf(e);
    t[2] = fabsf(e);
    t[3] = x * x;
    t[4] = y * y;
    t[5] = x * y;
    return 1;
}

static float fold(const float *a) {
    float t[LANES];
    memcpy(t, a, sizeof t);
    for (int h = LANES / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++) t[l] = t[l] + t[l + h];
    return t[0];
}

void ref_error_finish(const ref_error_sums *s, clq_error_stats *out) {
    double e2 = s->s[0], x2 = s->s[3], y2 = s->s[4];
    out->count = s->count;
    out->mse = s->count ? e2 / (double)s->count : 0.0;
    out->mean_abs = s->count ? s->s[1] / (double)s->count : 0.0;
    out->max_abs = s->s[2];
    if (e2 == 0.0) out->snr_db = INFINITY;
    else if (x2 == 0.0) out->snr_db = -INFINITY;
    else out->snr_db = 10.0 * log10(x2 / e2);
    if (x2 == 0.0 && y2 == 0.0) out->cosine = 1.0;
    else if (x2 == 0.0 || y2 == 0.0) out->cosine = 0.0;
    else {
        double c = s->s[5] / sqrt(x2 * y2);
        out->cosine = isnan(c) ? c : fmin(1.0, fmax(-1.0, c));
    }
}

double ref_error_bound(double abs_sum) { return 260.0 * 0x1p-24 * abs_sum * (1.0 + 1e-3); }

void ref_error_stats(int ndim, const size_t *shape, const float *x, const float *y,
                     clq_granularity gran, int axis, clq_error_stats *out, ref_error_sums *chunked,
                     ref_error_sums *plain, ref_error_sums *abs_terms) {
    size_t n = ref_numel(ndim, shape), ax = 0, ngran = 1;
    if (gran == CLQ_PER_AXIS) {
        ax = (size_t)(axis < 0 ? axis + ndim : axis);
        ngran = shape[ax];
    }
    size_t per = ngran ? n / ngran : 0, nch = (per + CHUNK - 1) / CHUNK;
    /* lanes[g][k][stat][lane], counts[g][k][lane] */
    float *lanes = calloc(ngran * nch * NS * LANES + 1, sizeof *lanes);
    uint64_t *cnt = calloc(ngran * nch * LANES + 1, sizeof *cnt);
    size_t *pos = calloc(ngran + 1, sizeof *pos);
    ref_error_sums *pl = calloc(ngran + 1, sizeof *pl), *ab = calloc(ngran + 1, sizeof *ab);
    size_t idx[CLQ_MAX_DIMS];
    for (size_t i = 0; i < n; i++) {
        ref_unravel(ndim, shape, i, idx);
        size_t g = gran == CLQ_PER_AXIS ? idx[ax] : 0, p = pos[g]++;
        float t[NS];
        if (!terms(x[i], y[i], t)) continue;
        size_t k = p / CHUNK, l = p % LANES;
        float *L = lanes + (g * nch + k) * NS * LANES;
        for (int s = 0; s < NS; s++) {
            float *a = L + s * LANES + l;
            *a = s == 2 ? (t[s] > *a ? t[s] : *a) : *a + t[s];
            if (s == 2) {
                if ((double)t[s] > pl[g].s[s]) pl[g].s[s] = t[s];
            } else {
                pl[g].s[s] += (double)t[s];
                ab[g].s[s] += fabs((double)t[s]);
            }
        }
        cnt[(g * nch + k) * LANES + l]++;
        pl[g].count++;
    }
    for (size_t g = 0; g < ngran; g++) {
        ref_error_sums c;
        memset(&c, 0, sizeof c);
        for (size_t k = 0; k < nch; k++) {
            const float *L = lanes + (g * nch + k) * NS * LANES;
            for (int s = 0; s < NS; s++) {
                if (s == 2) {
                    float m = 0.0f;
                    for (int l = 0; l < LANES; l++) m = L[s * LANES + l] > m ? L[s * LANES + l] : m;
                    c.s[s] = (double)m > c.s[s] ? (double)m : c.s[s];
                } else {
                    c.s[s] += (double)fold(L + s * LANES);
                }
            }
            for (int l = 0; l < LANES; l++) c.count += cnt[(g * nch + k) * LANES + l];
        }
        if (chunked) chunked[g] = c;
        if (out) ref_error_finish(&c, &out[g]);
        if (plain) plain[g] = pl[g];
        if (abs_terms) abs_terms[g] = ab[g];
    }
    free(lanes);
    free(cnt);
    free(pos);
    free(pl);
    free(ab);
}
