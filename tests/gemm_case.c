/* gemm_case.c: the GEMM suites' case runner (gemm_case.h): inputs from a seed (every
 * weight format and granularity of A), the library call for each output stage, and a
 * byte-exact check of C's buffer. */
#include "gemm_case.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const gstage gc_group_stages[N_GROUP_STAGES] = {
    {CLQ_F32, 0, 0, 0, 0}, {CLQ_F32, 0, 1, 0, 0}, {CLQ_F32, RELU, 0, 0, 0},
    {CLQ_F32, RELU, 1, 0, 0}, {CLQ_S8, 0, 0, 0, 0}, {CLQ_U8, 0, 0, 0, 0},
};

const gstage gc_all_stages[N_STAGES] = {
    {CLQ_S32, 0, 0, 0, 0}, {CLQ_F32, 0, 0, 0, 0},     {CLQ_F32, 0, 1, 0, 0},     {CLQ_F32, RELU, 0, 0, 0},
    {CLQ_F32, RELU, 1, 0, 0}, {CLQ_S8, 0, 0, 0, 0},   {CLQ_U8, 0, 0, 0, 0},      {CLQ_S8, FIXED, 0, 0, 0},
    {CLQ_U8, FIXED, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}, {CLQ_U8, FIXED, 0, 1, 0},
};

static clq_buffer *param_buf(grun *r, const void *vals, size_t count) {
    size_t bytes = 4 * (r->c.off + count + 4);
    uint8_t *img = malloc(bytes);
    memset(img, TC_SENTINEL, bytes);
    if (count) memcpy(img + 4 * r->c.off, vals, 4 * count);
    clq_buffer *b = tc_buffer(r->ctx, bytes, img);
    free(img);
    return b;
}

static int32_t gen_value(grun *r, clq_dtype t, int kind) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    switch (kind) {
    case V_LO: return lo;
    case V_HI: return hi;
    case V_EDGE: return (tc_rng_u64(&r->rng) & 1) ? hi : lo;
    case V_SMALL: /* 4-bit: the whole range is within 8 of its middle */
        return ref_is_4bit(t) ? tc_rng_int(&r->rng, lo, hi) : tc_rng_int(&r->rng, -8, 8) + (t == CLQ_U8 ? 128 : 0);
    default: return tc_rng_int(&r->rng, lo, hi);
    }
}

/* V_PANELS at element i of rows of ld elements (row 0 at off). */
static int32_t gen_panel_value(grun *r, clq_dtype t, size_t i, size_t ld) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    size_t row = i >= r->c.off && ld ? (i - r->c.off) / ld : 0;
    size_t col = i >= r->c.off && ld ? (i - r->c.off) % ld : 0;
    int kind = (int)((row / 16) % 3); /* 0: no qmin; 1: dense; 2: sparse */
    if (kind && col == row % (r->c.k ? r->c.k : 1)) return lo;
    if (kind == 2 && (col + 5 * row) % 83 == 0) return lo;
    return (tc_rng_u64(&r->rng) & 1) ? hi : kind == 1 ? lo : lo + 1;
}

/* Random stored values over [0, extent) (the padding included, so reads of it show);
 * ld: the row length V_PANELS counts rows by. */
static clq_buffer *gen_matrix(grun *r, clq_dtype t, size_t extent, int kind, size_t ld,
                              uint8_t **host) {
    uint8_t *h = malloc(extent + 1);
    for (size_t i = 0; i < extent; i++)
        ref_store_q(t, h, i, kind == V_PANELS ? gen_panel_value(r, t, i, ld) : gen_value(r, t, kind));
    clq_buffer *b = tc_buffer(r->ctx, extent + 1, h);
    *host = h;
    return b;
}

static const char *a_gran_name(int g) {
    return g == A_ROW_AXIS ? "per row (axis 0)" : g == A_ROW_BLOCK ? "per row (block K)"
           : g == A_GROUP  ? "per group" : "per tensor";
}

static void describe(grun *r) {
    const gcase *c = &r->c;
    snprintf(r->desc, sizeof r->desc,
             "case '%s' A=%s[%s%zux%zu] lda=%zu%s B=%s[%zux%zu]%s ldb=%zu ldc=%zu za=%d%s zb=%s:%d off=%zu "
             "vals=%d/%d%s%s%s seed=%" PRIu64,
             c->name, clq_dtype_name(c->at), c->batch ? "batch x " : "", c->m, c->k, r->lda,
             c->a_colmajor ? " (column-major view)" : "", clq_dtype_name(c->bt), c->n, c->k,
             c->transposed ? " given as [K,N]" : "", r->ldb, r->ldc, c->za, c->za_null ? " (NULL)" : "",
             c->zb_mode == ZB_NULL ? "null" : c->zb_mode == ZB_TENSOR ? "tensor"
             : c->zb_mode == ZB_CHANNEL ? "channel" : "channel-same",
             c->zb, c->off, c->a_vals, c->b_vals, c->rowsums ? " rowsums" : "", c->no_scales ? " no-scales" : "",
             c->trusted ? " trusted" : "",
             c->seed);
    size_t len = strlen(r->desc);
    if (c->batch) snprintf(r->desc + len, sizeof r->desc - len, " batch=%zu", c->batch);
    len = strlen(r->desc);
    if (c->group) snprintf(r->desc + len, sizeof r->desc - len, " B in groups of %zu (G=%zu)", c->group, r->groups);
    len = strlen(r->desc);
    if (c->a_gran != A_TENSOR)
        snprintf(r->desc + len, sizeof r->desc - len, " A %s%s", a_gran_name(c->a_gran),
                 c->za_same ? " (zero points equal)" : "");
}

/* One zero point of a per-row / per-group set: the first two at the ends of the range. */
static int32_t gen_zero_point(grun *r, clq_dtype t, size_t i) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    return i == 0 ? lo : i == 1 ? hi : tc_rng_int(&r->rng, lo, hi);
}

/* B's parameter array as the caller lays it out: [N][G], or [G][N] for weight groups of
 * B given as [K, N] (ONNX blocked quantization's layout). */
static clq_buffer *b_param_buf(grun *r, const void *vals) {
    if (!r->c.group || !r->c.transposed || r->nc <= 1) return param_buf(r, vals, r->nc);
    size_t N = r->c.n, G = r->groups;
    uint32_t *t = malloc(4 * r->nc);
    const uint32_t *v = vals;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < G; j++) t[j * N + n] = v[n * G + j];
    clq_buffer *b = param_buf(r, t, r->nc);
    free(t);
    return b;
}

/* A's parameters after B's (the per-tensor draws keep the order the int8 suites were
 * seeded with): per row / group zero points and the scales beyond sa[0]. */
static void a_params(grun *r) {
    const gcase *c = &r->c;
    for (size_t i = 0; i < r->na; i++) {
        if (i) r->sa[i] = c->pow2 ? 0.125f : tc_rng_logscale(&r->rng, 1e-3f, 1.0f);
        r->za[i] = c->za_null ? 0 : c->a_gran == A_TENSOR || c->za_same ? c->za : gen_zero_point(r, c->at, i);
    }
    clq_qparams_init(&r->aqp);
    r->aqp.qtype = c->at;
    if (c->trusted) r->aqp.flags = CLQ_QPARAMS_TRUSTED;
    if (c->a_gran == A_ROW_AXIS) {
        cr_assert(!c->batch, "%s: per-axis A is 2-D", r->desc);
        r->aqp.granularity = CLQ_PER_AXIS;
        r->aqp.axis = 0;
    } else if (c->a_gran != A_TENSOR) {
        r->aqp.granularity = CLQ_PER_BLOCK;
        r->aqp.axis = -1;
        r->aqp.block_size = c->a_gran == A_GROUP ? c->group : c->k ? c->k : 1;
    }
    if (!c->no_scales) r->sab = param_buf(r, r->sa, r->na);
    if (!c->za_null) r->zab = param_buf(r, r->za, r->na);
    r->aqp.scale = r->sab;
    r->aqp.scale_offset = c->off;
    r->aqp.zero_point = r->zab;
    r->aqp.zero_point_offset = c->off;
}

/* The exact group dots, checked to fit int32, their largest magnitude, and the largest
 * output magnitude in f32 terms (for the requantization scales). */
static void exact(grun *r, const ref_mat *am, const ref_mat *bm) {
    const gcase *c = &r->c;
    size_t N = c->n, G = r->groups, nd = r->rows * N * G;
    int64_t *d64 = malloc(8 * (nd + 1));
    r->c32 = malloc(4 * (nd + 1));
    ref_gemm_group_exact(r->rows, N, c->k, c->group, am, r->agran, r->za, bm, r->bgran, r->zb, d64);
    for (size_t i = 0; i < nd; i++) {
        if (d64[i] < INT32_MIN || d64[i] > INT32_MAX)
            cr_assert_fail("%s: exact d[%zu] = %" PRId64 " (output %zu, group %zu) overflows int32", r->desc, i,
                           d64[i], i / (G ? G : 1), i % (G ? G : 1));
        r->c32[i] = (int32_t)d64[i];
        int64_t a = llabs(d64[i]);
        if (a > r->cmax) r->cmax = a;
    }
    for (size_t o = 0; !c->no_scales && o < r->rows * N; o++) {
        double y = 0.0;
        for (size_t j = 0; j < G; j++)
            y += (double)r->c32[o * G + j] * r->sa[ref_gemm_param(r->agran, o / N, j, G)] *
                 r->sb[ref_gemm_param(r->bgran, o % N, j, G)];
        if (fabs(y) > r->ymax) r->ymax = fabs(y);
    }
    free(d64);
}

/* A, B, their parameters, the packed weights and the exact group dots. */
void gc_setup(grun *r, clq_context *ctx, const gcase *c) {
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->c = *c;
    if (!r->c.at) r->c.at = CLQ_S8;
    if (!r->c.bt) r->c.bt = CLQ_S8;
    c = &r->c;
    tc_rng_seed(&r->rng, c->seed);
    size_t M = c->m, N = c->n, K = c->k, B = c->batch ? c->batch : 1;
    r->rows = B * M;
    r->lda = c->a_colmajor ? M : K + c->a_pad;
    r->ldb = (c->transposed ? N : K) + c->b_pad;
    r->ldc = N + c->c_pad;
    r->groups = ref_gemm_groups(K, c->group);
    r->nc = c->group ? N * r->groups : c->zb_mode == ZB_CHANNEL || c->zb_mode == ZB_CHANNEL_SAME ? N : 1;
    r->na = c->a_gran == A_TENSOR ? 1 : c->a_gran == A_GROUP ? r->rows * r->groups : r->rows;
    r->agran = c->a_gran == A_TENSOR ? CLQ_PER_TENSOR : c->a_gran == A_GROUP ? CLQ_PER_BLOCK : CLQ_PER_AXIS;
    r->bgran = c->group ? CLQ_PER_BLOCK : r->nc > 1 ? CLQ_PER_AXIS : CLQ_PER_TENSOR;
    describe(r);
    cr_assert(c->a_gran != A_GROUP || c->group, "%s: A per group needs weight groups", r->desc);
    cr_assert(!ref_is_4bit(c->bt) || (!c->transposed && !c->b_pad && c->off % 2 == 0),
              "%s: 4-bit weights are contiguous [N, K] at an even offset", r->desc);

    /* A */
    size_t ashape[3] = {B, M, K};
    ref_mat am = {c->at, NULL, c->off, (ptrdiff_t)r->lda, 1};
    if (c->a_colmajor) am.rs = 1, am.cs = (ptrdiff_t)M;
    size_t aext = c->off;
    if (r->rows && K) aext += (size_t)((ptrdiff_t)(r->rows - 1) * am.rs + (ptrdiff_t)(K - 1) * am.cs) + 1;
    uint8_t *ah, *bh;
    r->ab = gen_matrix(r, c->at, aext + 3, c->a_vals, 0, &ah);
    am.data = ah;
    TC_OK(ctx, clq_tensor_init(&r->at, c->at, c->batch ? 3 : 2, c->batch ? ashape : ashape + 1, r->ab));
    r->at.offset = c->off;
    int ad = r->at.ndim;
    r->at.strides[ad - 1] = am.cs;
    r->at.strides[ad - 2] = am.rs;
    if (c->batch) r->at.strides[0] = (ptrdiff_t)(M * r->lda);

    /* B, [N, K] or [K, N] */
    size_t bshape[2] = {c->transposed ? K : N, c->transposed ? N : K};
    ref_mat bm = {c->bt, NULL, c->off, (ptrdiff_t)r->ldb, 1};
    if (c->transposed) bm.rs = 1, bm.cs = (ptrdiff_t)r->ldb;
    size_t bext = c->off + (bshape[0] && bshape[1] ? (bshape[0] - 1) * r->ldb + bshape[1] : 0);
    cr_assert(c->b_vals != V_PANELS || !c->transposed, "V_PANELS needs B as [N, K]");
    r->bb = gen_matrix(r, c->bt, bext + 3, c->b_vals, r->ldb, &bh);
    bm.data = bh;
    TC_OK(ctx, clq_tensor_init(&r->bt, c->bt, 2, bshape, r->bb));
    r->bt.offset = c->off;
    if (!ref_is_4bit(c->bt)) r->bt.strides[0] = (ptrdiff_t)r->ldb;

    /* parameters */
    int lo, hi;
    ref_qrange(c->bt, 0, &lo, &hi);
    r->sb = malloc(4 * (r->nc + 1));
    r->zb = calloc(r->nc + 1, 4);
    r->sa = malloc(4 * (r->na + 1));
    r->za = calloc(r->na + 1, 4);
    r->sa[0] = c->pow2 ? 0.125f : tc_rng_logscale(&r->rng, 1e-3f, 1.0f);
    r->sb[0] = 1.0f; /* read by the stages even when N = 0 */
    for (size_t j = 0; j < r->nc; j++) {
        r->sb[j] = c->pow2 ? ldexpf(1.0f, -2 - (int)(j % 4)) : tc_rng_logscale(&r->rng, 1e-3f, 1.0f);
        if (c->zb_mode == ZB_TENSOR || c->zb_mode == ZB_CHANNEL_SAME) r->zb[j] = c->zb;
        else if (c->zb_mode == ZB_CHANNEL) r->zb[j] = j == 0 ? lo : j == 1 ? hi : tc_rng_int(&r->rng, lo, hi);
    }
    a_params(r);
    clq_qparams_init(&r->bqp);
    r->bqp.qtype = c->bt;
    if (c->group) {
        r->bqp.granularity = CLQ_PER_BLOCK;
        r->bqp.axis = c->transposed ? 0 : 1;
        r->bqp.block_size = c->group;
    } else if (r->nc > 1 || c->zb_mode == ZB_CHANNEL || c->zb_mode == ZB_CHANNEL_SAME) {
        r->bqp.granularity = CLQ_PER_AXIS;
        r->bqp.axis = c->transposed ? 1 : 0;
    }
    if (!c->no_scales) r->sbb = b_param_buf(r, r->sb);
    if (c->zb_mode != ZB_NULL) r->zbb = b_param_buf(r, r->zb);
    r->bqp.scale = r->sbb;
    r->bqp.scale_offset = c->off;
    r->bqp.zero_point = r->zbb;
    r->bqp.zero_point_offset = c->off;
    /* a refused format fails the case, not the test: the next case still runs */
    clq_status ps = clq_weights_pack(ctx, &r->bt, &r->bqp, c->transposed ? CLQ_WEIGHTS_TRANSPOSED : 0, &r->w);
    if (ps != CLQ_SUCCESS) {
        cr_expect_fail("%s\n  clq_weights_pack: %s: %s", r->desc, clq_status_string(ps),
                       clq_context_error_message(ctx));
        r->w = NULL;
        free(ah);
        free(bh);
        return;
    }
    cr_assert(clq_weights_n(r->w) == N && clq_weights_k(r->w) == K, "%s\n  clq_weights_n/k: %zu/%zu", r->desc,
              clq_weights_n(r->w), clq_weights_k(r->w));
    cr_assert(clq_weights_dtype(r->w) == c->bt && clq_weights_group_size(r->w) == c->group,
              "%s\n  clq_weights_dtype/group_size: %s/%zu", r->desc, clq_dtype_name(clq_weights_dtype(r->w)),
              clq_weights_group_size(r->w));
    size_t kmax = clq_gemm_max_k(c->at, c->za, r->w), kref = ref_gemm_max_k(c->at, c->za, c->bt, r->zb, r->nc);
    cr_expect(kmax == kref, "%s\n  clq_gemm_max_k: expected %zu, got %zu", r->desc, kref, kmax);
    /* the bound holds for the group length, with the worst of A's zero points (the one
     * furthest from an end of A's range; TRUSTED: the worst of the type) */
    size_t len = c->group && c->group < K ? c->group : K;
    int alo, ahi;
    ref_qrange(c->at, 0, &alo, &ahi);
    int32_t zw = r->na ? r->za[0] : c->za;
    for (size_t i = 0; i < r->na; i++) {
        int32_t z = r->za[i];
        if ((z - alo > ahi - z ? z - alo : ahi - z) > (zw - alo > ahi - zw ? zw - alo : ahi - zw)) zw = z;
    }
    if (c->trusted) zw = ahi;
    size_t kb = ref_gemm_max_k(c->at, zw, c->bt, r->zb, r->nc);
    cr_assert(len <= kb, "%s: the test asks for a %s of %zu beyond the bound %zu", r->desc, c->group ? "group" : "K",
              len, kb);

    if (c->rowsums) {
        int32_t *rs = calloc(r->rows * r->groups + 1, 4);
        ref_gemm_group_sums(r->rows, K, c->group, &am, rs);
        r->rsb = param_buf(r, rs, r->rows * r->groups);
        free(rs);
    }
    exact(r, &am, &bm);
    free(ah);
    free(bh);
}

void gc_teardown(grun *r) {
    clq_weights_destroy(r->w);
    clq_buffer *bufs[] = {r->ab, r->bb, r->sab, r->zab, r->sbb, r->zbb, r->rsb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    free(r->sb);
    free(r->zb);
    free(r->sa);
    free(r->za);
    free(r->c32);
}

static void stage_name(const gstage *st, char *buf, size_t size) {
    snprintf(buf, size, "%s%s%s%s%s%s", clq_dtype_name(st->ct), st->narrow ? " narrow" : "", st->bias ? " +bias" : "",
             st->flags & RELU ? " relu" : "",
             st->flags & FIXED ? " fixed-point" : st->ct == CLQ_S8 || st->ct == CLQ_U8 ? " float-multiplier" : "",
             st->flags & FIXED ? (st->mult_pc ? " per-channel" : " per-tensor") : "");
}

/* Compares C's buffer image: the view's elements and the sentinel bytes around and between rows. */
static void check_c(grun *r, const char *stage, clq_dtype ct, const uint8_t *expect, const uint8_t *got,
                    size_t bytes) {
    size_t bad = 0, first = 0, es = ref_elem_size(ct);
    for (size_t b = 0; b < bytes; b++)
        if (expect[b] != got[b]) {
            if (!bad) first = b;
            bad++;
        }
    if (!bad) return;
    size_t e = first / es;
    char ex[64], ac[64], where[128];
    if (ct == CLQ_F32) {
        float fe = ref_load_float(ct, expect, e), fg = ref_load_float(ct, got, e);
        snprintf(ex, sizeof ex, "%.9g (0x%08x)", fe, ref_f32_bits(fe));
        snprintf(ac, sizeof ac, "%.9g (0x%08x)", fg, ref_f32_bits(fg));
    } else if (ct == CLQ_S32) {
        int32_t ie, ig;
        memcpy(&ie, expect + 4 * e, 4);
        memcpy(&ig, got + 4 * e, 4);
        snprintf(ex, sizeof ex, "%d", ie);
        snprintf(ac, sizeof ac, "%d", ig);
    } else {
        snprintf(ex, sizeof ex, "%d", ref_load_q(ct, expect, e));
        snprintf(ac, sizeof ac, "%d", ref_load_q(ct, got, e));
    }
    size_t rel = e - (e >= r->c.off ? r->c.off : e), row = rel / r->ldc, col = rel % r->ldc;
    size_t M = r->c.m ? r->c.m : 1;
    if (e >= r->c.off && row < r->rows && col < r->c.n)
        snprintf(where, sizeof where, "element [%zu,%zu,%zu] (batch, m, n; buffer element %zu)", row / M, row % M,
                 col, e);
    else snprintf(where, sizeof where, "buffer element %zu outside the view (sentinel)", e);
    cr_expect_fail("%s\n  stage %s: first bad %s: expected %s, got %s; %zu bad bytes of %zu", r->desc, stage, where,
                   ex, ac, bad, bytes);
}

/* Runs one output stage on the packed weights and checks every byte of C's buffer. */
ghits gc_run_stage(grun *r, const gstage *st) {
    const gcase *c = &r->c;
    cr_assert(r->w, "%s: the weights were not packed", r->desc);
    size_t N = c->n, M = c->m, rows = r->rows, es = ref_elem_size(st->ct);
    int quant = st->ct == CLQ_S8 || st->ct == CLQ_U8, fixed = quant && (st->flags & FIXED);
    int qmin = 0, qmax = 0;
    if (quant) ref_qrange(st->ct, st->narrow, &qmin, &qmax);
    cr_assert(!c->no_scales || st->ct == CLQ_S32 || fixed, "%s: stage needs scales", r->desc);
    cr_assert(!c->group || (st->ct != CLQ_S32 && !fixed), "%s: no s32 or fixed point with weight groups", r->desc);
    float sat = c->sat > 0 ? c->sat : 1.0f, sc = 1.0f;
    double cm = r->cmax ? (double)r->cmax : 1.0;
    float *bias = calloc(N + 1, 4);
    size_t nm = st->mult_pc ? N : 1;
    int32_t *mult = calloc(nm + 1, 4), *shift = calloc(nm + 1, 4), zc = 0;
    int *ishift = calloc(nm + 1, sizeof(int));
    for (size_t j = 0; j < N; j++) bias[j] = 10.0f * tc_rng_normal(&r->rng);
    if (quant) zc = c->zc_given ? c->zc : tc_rng_int(&r->rng, qmin, qmax);
    /* the int8 GEMM's cases (A per tensor, no groups) keep the scale they were seeded with;
     * the others put the largest output near 100 / sat levels */
    int plain = !c->group && c->a_gran == A_TENSOR;
    double ym = r->ymax > 0.0 ? r->ymax : 1.0;
    if (quant && !fixed)
        sc = c->pow2 ? ldexpf(r->sa[0] * r->sb[0], tc_rng_int(&r->rng, 0, 5))
             : plain ? (float)(r->sa[0] * r->sb[0] * cm / (100.0 * sat) * tc_rng_range(&r->rng, 0.5f, 2.0f))
                     : (float)(ym / (100.0 * sat) * tc_rng_range(&r->rng, 0.5f, 2.0f));
    for (size_t j = 0; fixed && j < nm; j++) {
        /* pow2: multiplier 2^30, so SaturatingRoundingDoublingHighMul halves exactly or ties,
         * and RoundingDivideByPOT sees every remainder */
        if (c->pow2) mult[j] = 1 << 30, ishift[j] = tc_rng_int(&r->rng, -6, 1);
        else ref_quantize_multiplier(100.0 * sat / cm * tc_rng_range(&r->rng, 0.5f, 2.0f), &mult[j], &ishift[j]);
        shift[j] = ishift[j];
    }

    /* the expected image of C's buffer: sentinel bytes but for the view */
    size_t celems = c->off + (rows && N ? (rows - 1) * r->ldc + N : 0) + 16, bytes = celems * es;
    uint8_t *img = malloc(bytes), *got = malloc(bytes);
    memset(img, TC_SENTINEL, bytes);
    ghits hits = {0, 0};
    size_t G = r->groups;
    float *saj = malloc(4 * (G + 1)), *sbj = malloc(4 * (G + 1));
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < N; j++) {
            const int32_t *d = r->c32 + (i * N + j) * G;
            int32_t acc = G ? d[0] : 0; /* C when there is one group */
            size_t e = c->off + i * r->ldc + j, jc = r->nc > 1 ? j : 0;
            for (size_t g = 0; g < G; g++) {
                saj[g] = r->sa[ref_gemm_param(r->agran, i, g, G)];
                sbj[g] = r->sb[ref_gemm_param(r->bgran, j, g, G)];
            }
            const float *bj = st->bias ? &bias[j] : NULL;
            int relu = (st->flags & RELU) != 0;
            if (st->ct == CLQ_S32) memcpy(img + 4 * e, &acc, 4);
            else if (st->ct == CLQ_F32)
                ref_store_float(CLQ_F32, img, e,
                                plain ? ref_gemm_f32(acc, r->sa[0], r->sb[jc], bj, relu)
                                      : ref_gemm_group_f32(G, d, saj, sbj, bj, relu));
            else {
                int32_t q = fixed ? ref_gemm_requant_fixed(acc, mult[st->mult_pc ? j : 0], shift[st->mult_pc ? j : 0],
                                                           zc, qmin, qmax)
                            : plain ? ref_gemm_requant_float(acc, r->sa[0], r->sb[jc], sc, zc, qmin, qmax)
                                    : ref_gemm_group_requant(G, d, saj, sbj, sc, zc, qmin, qmax);
                hits.qmin += q == qmin;
                hits.qmax += q == qmax;
                ref_store_q(st->ct, img, e, q);
            }
        }
    free(saj);
    free(sbj);

    clq_buffer *cb = tc_buffer(r->ctx, bytes, NULL), *biasb = NULL, *multb = NULL, *shiftb = NULL, *scb = NULL,
               *zcb = NULL;
    clq_tensor ctens;
    size_t cshape[3] = {c->batch ? c->batch : 1, M, N};
    TC_OK(r->ctx, clq_tensor_init(&ctens, st->ct, c->batch ? 3 : 2, c->batch ? cshape : cshape + 1, cb));
    ctens.offset = c->off;
    /* an empty C keeps clq_tensor_init's strides: a zero stride would be a broadcast */
    if (r->ldc) ctens.strides[ctens.ndim - 2] = (ptrdiff_t)r->ldc;
    if (c->batch && M && r->ldc) ctens.strides[0] = (ptrdiff_t)(M * r->ldc);
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    o.flags = st->flags;
    if (st->bias) {
        biasb = param_buf(r, bias, N);
        o.bias = biasb;
        o.bias_offset = c->off;
    }
    clq_qparams cqp;
    clq_qparams_init(&cqp);
    if (quant) {
        cqp.qtype = st->ct;
        cqp.flags = (st->narrow ? CLQ_QPARAMS_NARROW_RANGE : 0) | (c->trusted ? CLQ_QPARAMS_TRUSTED : 0);
        if (!fixed) cqp.scale = scb = param_buf(r, &sc, 1);
        cqp.zero_point = zcb = param_buf(r, &zc, 1);
        cqp.scale_offset = cqp.zero_point_offset = c->off;
        o.c_qparams = &cqp;
    }
    if (fixed) {
        o.multiplier = multb = param_buf(r, mult, nm);
        o.shift = shiftb = param_buf(r, shift, nm);
        o.multiplier_offset = o.shift_offset = c->off;
        o.multiplier_per_channel = st->mult_pc;
    }
    if (c->rowsums) {
        o.a_rowsums = r->rsb;
        o.a_rowsums_offset = c->off;
    }
    char sname[96];
    stage_name(st, sname, sizeof sname);
    size_t len = strlen(sname);
    if (quant && !fixed) snprintf(sname + len, sizeof sname - len, " sc=%a zc=%d", sc, zc);
    if (fixed) snprintf(sname + len, sizeof sname - len, " mult[0]=%d shift[0]=%d zc=%d", mult[0], shift[0], zc);
    const clq_gemm_options *op = st->ct == CLQ_S32 && c->null_options ? NULL : &o;
    clq_status s = clq_gemm(r->ctx, &r->at, &r->aqp, r->w, op, &ctens);
    cr_expect(s == CLQ_SUCCESS, "%s\n  stage %s: clq_gemm: %s: %s", r->desc, sname, clq_status_string(s),
              clq_context_error_message(r->ctx));
    tc_read(cb, bytes, got);
    if (s == CLQ_SUCCESS) check_c(r, sname, st->ct, img, got, bytes);
    clq_buffer *bufs[] = {cb, biasb, multb, shiftb, scb, zcb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    free(img);
    free(got);
    free(bias);
    free(mult);
    free(shift);
    free(ishift);
    return hits;
}

void gc_run_case(clq_context *ctx, const gcase *c, const gstage *stages, size_t nst) {
    grun *r = malloc(sizeof *r);
    gc_setup(r, ctx, c);
    for (size_t i = 0; r->w && i < nst; i++) gc_run_stage(r, &stages[i]);
    gc_teardown(r);
    free(r);
}
