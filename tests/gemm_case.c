/* gemm_case.c: the GEMM suites' case runner (gemm_case.h): inputs from a seed, the
 * library call for each output stage, and a byte-exact check of C's buffer. */
#include "gemm_case.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    case V_SMALL: return tc_rng_int(&r->rng, -8, 8) + (t == CLQ_U8 ? 128 : 0);
    default: return tc_rng_int(&r->rng, lo, hi);
    }
}

/* V_PANELS at element i of rows of ld elements (row 0 at off). */
static int32_t gen_panel_value(grun *r, clq_dtype t, size_t i, size_t ld) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    size_t row = i >= r->c.off && ld ? (i - r->c.off) / ld : 0;
    size_t col = i >= r->c.off && ld ? (i - r->c.off) % ld : 0;
    int with_min = (row / 16) & 1;
    if (with_min && col == row % (r->c.k ? r->c.k : 1)) return lo;
    return (tc_rng_u64(&r->rng) & 1) ? hi : with_min ? lo : lo + 1;
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
    if (c->batch) {
        size_t len = strlen(r->desc);
        snprintf(r->desc + len, sizeof r->desc - len, " batch=%zu", c->batch);
    }
}

/* A, B, their parameters, the packed weights and the exact C. */
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
    r->nc = c->zb_mode == ZB_CHANNEL || c->zb_mode == ZB_CHANNEL_SAME ? N : 1;
    describe(r);

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
    r->bt.strides[0] = (ptrdiff_t)r->ldb;

    /* parameters */
    int lo, hi;
    ref_qrange(c->bt, 0, &lo, &hi);
    r->sb = malloc(4 * (r->nc + 1));
    r->zb = calloc(r->nc + 1, 4);
    r->sa = c->pow2 ? 0.125f : tc_rng_logscale(&r->rng, 1e-3f, 1.0f);
    r->sb[0] = 1.0f; /* read by the stages even when N = 0 */
    for (size_t j = 0; j < r->nc; j++) {
        r->sb[j] = c->pow2 ? ldexpf(1.0f, -2 - (int)(j % 4)) : tc_rng_logscale(&r->rng, 1e-3f, 1.0f);
        if (c->zb_mode == ZB_TENSOR || c->zb_mode == ZB_CHANNEL_SAME) r->zb[j] = c->zb;
        else if (c->zb_mode == ZB_CHANNEL) r->zb[j] = j == 0 ? lo : j == 1 ? hi : tc_rng_int(&r->rng, lo, hi);
    }
    clq_qparams_init(&r->aqp);
    r->aqp.qtype = c->at;
    if (c->trusted) r->aqp.flags = CLQ_QPARAMS_TRUSTED;
    if (!c->no_scales) r->sab = param_buf(r, &r->sa, 1);
    if (!c->za_null) r->zab = param_buf(r, &c->za, 1);
    r->aqp.scale = r->sab;
    r->aqp.scale_offset = c->off;
    r->aqp.zero_point = r->zab;
    r->aqp.zero_point_offset = c->off;
    clq_qparams_init(&r->bqp);
    r->bqp.qtype = c->bt;
    if (r->nc > 1 || c->zb_mode == ZB_CHANNEL || c->zb_mode == ZB_CHANNEL_SAME) {
        r->bqp.granularity = CLQ_PER_AXIS;
        r->bqp.axis = c->transposed ? 1 : 0;
    }
    if (!c->no_scales) r->sbb = param_buf(r, r->sb, r->nc);
    if (c->zb_mode != ZB_NULL) r->zbb = param_buf(r, r->zb, r->nc);
    r->bqp.scale = r->sbb;
    r->bqp.scale_offset = c->off;
    r->bqp.zero_point = r->zbb;
    r->bqp.zero_point_offset = c->off;
    TC_OK(ctx, clq_weights_pack(ctx, &r->bt, &r->bqp, c->transposed ? CLQ_WEIGHTS_TRANSPOSED : 0, &r->w));
    cr_assert(clq_weights_n(r->w) == N && clq_weights_k(r->w) == K, "%s\n  clq_weights_n/k: %zu/%zu", r->desc,
              clq_weights_n(r->w), clq_weights_k(r->w));
    size_t kmax = clq_gemm_max_k(c->at, c->za, r->w), kref = ref_gemm_max_k(c->at, c->za, c->bt, r->zb, r->nc);
    cr_expect(kmax == kref, "%s\n  clq_gemm_max_k: expected %zu, got %zu", r->desc, kref, kmax);
    cr_assert(K <= kref, "%s: the test asks for K beyond the bound %zu", r->desc, kref);

    if (c->rowsums) {
        int32_t *rs = calloc(r->rows + 1, 4);
        for (size_t i = 0; i < r->rows; i++)
            for (size_t p = 0; p < K; p++)
                rs[i] += ref_load_q(c->at, ah,
                                    (size_t)((ptrdiff_t)c->off + (ptrdiff_t)i * am.rs + (ptrdiff_t)p * am.cs));
        r->rsb = param_buf(r, rs, r->rows);
        free(rs);
    }

    int64_t *c64 = malloc(8 * (r->rows * N + 1));
    r->c32 = malloc(4 * (r->rows * N + 1));
    ref_gemm_exact(r->rows, N, K, &am, c->za, &bm, r->zb, r->nc > 1, c64);
    for (size_t i = 0; i < r->rows * N; i++) {
        cr_assert(c64[i] >= INT32_MIN && c64[i] <= INT32_MAX, "%s: exact C[%zu] = %" PRId64 " overflows int32",
                  r->desc, i, c64[i]);
        r->c32[i] = (int32_t)c64[i];
        int64_t a = llabs(c64[i]);
        if (a > r->cmax) r->cmax = a;
    }
    free(c64);
    free(ah);
    free(bh);
}

void gc_teardown(grun *r) {
    clq_weights_destroy(r->w);
    clq_buffer *bufs[] = {r->ab, r->bb, r->sab, r->zab, r->sbb, r->zbb, r->rsb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    free(r->sb);
    free(r->zb);
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
    size_t N = c->n, M = c->m, rows = r->rows, es = ref_elem_size(st->ct);
    int quant = st->ct == CLQ_S8 || st->ct == CLQ_U8, fixed = quant && (st->flags & FIXED);
    int qmin = 0, qmax = 0;
    if (quant) ref_qrange(st->ct, st->narrow, &qmin, &qmax);
    cr_assert(!c->no_scales || st->ct == CLQ_S32 || fixed, "%s: stage needs scales", r->desc);
    float sat = c->sat > 0 ? c->sat : 1.0f, sc = 1.0f;
    double cm = r->cmax ? (double)r->cmax : 1.0;
    float *bias = calloc(N + 1, 4);
    size_t nm = st->mult_pc ? N : 1;
    int32_t *mult = calloc(nm + 1, 4), *shift = calloc(nm + 1, 4), zc = 0;
    int *ishift = calloc(nm + 1, sizeof(int));
    for (size_t j = 0; j < N; j++) bias[j] = 10.0f * tc_rng_normal(&r->rng);
    if (quant) zc = c->zc_given ? c->zc : tc_rng_int(&r->rng, qmin, qmax);
    if (quant && !fixed)
        sc = c->pow2 ? ldexpf(r->sa * r->sb[0], tc_rng_int(&r->rng, 0, 5))
                     : (float)(r->sa * r->sb[0] * cm / (100.0 * sat) * tc_rng_range(&r->rng, 0.5f, 2.0f));
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
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < N; j++) {
            int32_t acc = r->c32[i * N + j];
            size_t e = c->off + i * r->ldc + j, jc = r->nc > 1 ? j : 0;
            if (st->ct == CLQ_S32) memcpy(img + 4 * e, &acc, 4);
            else if (st->ct == CLQ_F32)
                ref_store_float(CLQ_F32, img, e, ref_gemm_f32(acc, r->sa, r->sb[jc], st->bias ? &bias[j] : NULL,
                                                              (st->flags & RELU) != 0));
            else {
                int32_t q = fixed ? ref_gemm_requant_fixed(acc, mult[st->mult_pc ? j : 0], shift[st->mult_pc ? j : 0],
                                                           zc, qmin, qmax)
                                  : ref_gemm_requant_float(acc, r->sa, r->sb[jc], sc, zc, qmin, qmax);
                hits.qmin += q == qmin;
                hits.qmax += q == qmax;
                ref_store_q(st->ct, img, e, q);
            }
        }

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
    for (size_t i = 0; i < nst; i++) gc_run_stage(r, &stages[i]);
    gc_teardown(r);
    free(r);
}
