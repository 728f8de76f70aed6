/* test_gemm_bounds.c: the int32 bound on K (the largest K exact, one more refused, the
 * bound's values), row sums from clq_quantize[_dynamic]_rowsums, clq_quantize_multiplier. */
#include "gemm_case.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the K bound ---- */
/* The largest K accepted is exact with the values that make |C| largest; one more is refused. */
TC_BACKEND_TEST(gemm, largest_k) {
    static const struct {
        gcase c;
        size_t kmax;
        int64_t cval;
    } cases[] = {
        {{.name = "s8 -128 x s8 -128", .k = 131071, .a_vals = V_LO, .b_vals = V_LO}, 131071, 131071LL * 16384},
        {{.name = "u8 255-0 x u8 0-255", .at = CLQ_U8, .bt = CLQ_U8, .k = 33025, .a_vals = V_HI, .b_vals = V_LO,
          .zb_mode = ZB_TENSOR, .zb = 255},
         33025, -33025LL * 65025},
        {{.name = "s8 x s8 per channel", .k = 65793, .a_vals = V_LO, .b_vals = V_HI, .zb_mode = ZB_CHANNEL}, 65793,
         -65793LL * 128 * 255},
        {{.name = "u8 za 128 x s8", .at = CLQ_U8, .za = 128, .k = 131071, .a_vals = V_LO, .b_vals = V_LO}, 131071,
         131071LL * 16384},
    };
    static const gstage st[] = {
        {CLQ_S32, 0, 0, 0, 0}, {CLQ_F32, 0, 1, 0, 0}, {CLQ_U8, 0, 0, 0, 0}, {CLQ_S8, FIXED, 0, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase c = cases[i].c;
        c.m = 1;
        c.n = cases[i].c.zb_mode == ZB_CHANNEL ? 2 : 1;
        c.seed = 5000 + i;
        c.off = 1;
        grun *r = malloc(sizeof *r);
        gc_setup(r, ctx, &c);
        c = r->c; /* with the defaults filled in */
        size_t kmax = clq_gemm_max_k(c.at, c.za, r->w);
        cr_assert(kmax == cases[i].kmax, "%s: clq_gemm_max_k %zu, expected %zu", r->desc, kmax, cases[i].kmax);
        cr_assert(r->c32[0] == cases[i].cval, "%s: test setup: C = %d, meant %" PRId64, r->desc, r->c32[0],
                  cases[i].cval);
        for (size_t s = 0; s < sizeof st / sizeof st[0]; s++) gc_run_stage(r, &st[s]);

        /* K + 1: the same weights' K is fixed, so pack a K + 1 matrix */
        size_t k1 = kmax + 1, ashape[2] = {1, k1}, bshape[2] = {c.n, k1}, cshape[2] = {1, c.n};
        uint8_t *ones = malloc(k1 * c.n);
        memset(ones, 1, k1 * c.n);
        clq_buffer *ab = tc_buffer(ctx, k1, ones), *bb = tc_buffer(ctx, k1 * c.n, ones), *cb = tc_buffer(ctx, 64, NULL);
        clq_tensor at, bt, ct;
        clq_tensor_init(&at, c.at, 2, ashape, ab);
        clq_tensor_init(&bt, c.bt, 2, bshape, bb);
        clq_tensor_init(&ct, CLQ_S32, 2, cshape, cb);
        ct.offset = 4;
        clq_packed_weights *w1 = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt, &r->bqp, 0, &w1));
        cr_assert(clq_gemm_max_k(c.at, c.za, w1) == kmax, "%s: max K of the K+1 weights", r->desc);
        clq_status s = clq_gemm(ctx, &at, &r->aqp, w1, NULL, &ct);
        const char *msg = clq_context_error_message(ctx);
        cr_assert(s == CLQ_ERROR_OVERFLOW, "%s: K = %zu: expected CLQ_ERROR_OVERFLOW, got %s (%s)", r->desc, k1,
                  clq_status_string(s), msg);
        char kstr[32], k1str[32];
        snprintf(kstr, sizeof kstr, "%zu", kmax);
        snprintf(k1str, sizeof k1str, "%zu", k1);
        cr_assert(strstr(msg, kstr) || strstr(msg, k1str), "%s: the message \"%s\" gives neither K nor the bound",
                  r->desc, msg);
        tc_assert_untouched(cb, 64, "C of a refused K");
        clq_weights_destroy(w1);
        clq_buffer_destroy(ab);
        clq_buffer_destroy(bb);
        clq_buffer_destroy(cb);
        free(ones);
        gc_teardown(r);
        free(r);
    }
}

/* clq_gemm_max_k against the formula's values worked out by hand. */
TC_BACKEND_TEST(gemm, max_k_values) {
    static const struct {
        clq_dtype at;
        int32_t za;
        clq_dtype bt;
        int32_t zb[3];
        size_t nzb, want;
    } cases[] = {
        {CLQ_S8, 0, CLQ_S8, {0}, 1, 131071},           /* 128 * 128 */
        {CLQ_S8, -128, CLQ_S8, {0}, 1, 65793},         /* 255 * 128 */
        {CLQ_S8, 127, CLQ_U8, {0}, 1, 33025},          /* 255 * 255 */
        {CLQ_U8, 128, CLQ_U8, {128}, 1, 131071},       /* 128 * 128 */
        {CLQ_U8, 3, CLQ_S8, {0, 5, -1}, 3, 64073},     /* 252 * 133 */
        {CLQ_U8, 0, CLQ_U8, {1, 254, 128}, 3, 33155},  /* 255 * 254 */
        {CLQ_S8, -5, CLQ_S8, {-128, 0, 127}, 3, 63799}, /* 132 * 255 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].nzb, shape[2] = {n, 4};
        uint8_t bytes[12] = {0};
        clq_buffer *bb = tc_buffer(ctx, sizeof bytes, bytes), *zb = tc_buffer(ctx, 12, cases[i].zb);
        clq_tensor bt;
        clq_tensor_init(&bt, cases[i].bt, 2, shape, bb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = cases[i].bt;
        qp.zero_point = zb;
        if (n > 1) qp.granularity = CLQ_PER_AXIS;
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt, &qp, 0, &w));
        size_t got = clq_gemm_max_k(cases[i].at, cases[i].za, w);
        cr_expect(got == cases[i].want, "case %zu (A %s za %d, B %s): clq_gemm_max_k %zu, expected %zu", i,
                  clq_dtype_name(cases[i].at), cases[i].za, clq_dtype_name(cases[i].bt), got, cases[i].want);
        cr_expect(got == ref_gemm_max_k(cases[i].at, cases[i].za, cases[i].bt, cases[i].zb, n), "case %zu: ref", i);
        clq_weights_destroy(w);
        clq_buffer_destroy(bb);
        clq_buffer_destroy(zb);
    }
}

/* ---- row sums from clq_quantize_rowsums / clq_quantize_dynamic_rowsums (the activation path) ---- */
static void gemm_s32(clq_context *ctx, const clq_tensor *a, const clq_qparams *aqp, clq_packed_weights *w,
                     clq_buffer *rs, const int32_t *expect, size_t rows, size_t n, const char *what) {
    size_t bytes = 4 * (rows * n + 8), cshape[2] = {rows, n};
    clq_buffer *cb = tc_buffer(ctx, bytes, NULL);
    clq_tensor ct;
    clq_tensor_init(&ct, CLQ_S32, 2, cshape, cb);
    ct.offset = 3;
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    o.a_rowsums = rs;
    o.a_rowsums_offset = 2;
    TC_OK(ctx, clq_gemm(ctx, a, aqp, w, &o, &ct));
    int32_t *got = malloc(bytes);
    tc_read(cb, bytes, got);
    for (size_t i = 0; i < rows * n; i++)
        cr_assert(got[3 + i] == expect[i], "%s: C[%zu][%zu] expected %d, got %d", what, i / n, i % n, expect[i],
                  got[3 + i]);
    free(got);
    clq_buffer_destroy(cb);
}

TC_BACKEND_TEST(gemm, rowsums_from_quantize) {
    static const struct {
        clq_dtype qt;
        int32_t zp;
        size_t batch, m, k;
        int dyn; /* clq_quantize_dynamic_rowsums: the parameters come from x */
    } cases[] = {{CLQ_U8, 128, 0, 23, 37, 0}, {CLQ_S8, -3, 0, 7, 64, 0},  {CLQ_U8, 3, 2, 5, 19, 0},
                 {CLQ_S8, 0, 0, 1, 1, 0},     {CLQ_S8, 127, 2, 16, 256, 0}, {CLQ_U8, 0, 0, 23, 37, 1},
                 {CLQ_S8, 0, 2, 16, 64, 1}};
    const size_t N = 13;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_rng rng;
        tc_rng_seed(&rng, 6000 + i);
        size_t B = cases[i].batch ? cases[i].batch : 1, rows = B * cases[i].m, K = cases[i].k, n = rows * K;
        size_t shape[3] = {B, cases[i].m, K}, *sh = cases[i].batch ? shape : shape + 1;
        int nd = cases[i].batch ? 3 : 2, qmin, qmax;
        ref_qrange(cases[i].qt, 0, &qmin, &qmax);
        float *x = malloc(4 * n), scale = 0.05f;
        int32_t zp = cases[i].zp;
        for (size_t e = 0; e < n; e++) x[e] = 3.0f * tc_rng_normal(&rng);
        clq_buffer *xb = tc_buffer(ctx, 4 * n, x), *yb = tc_buffer(ctx, n + 8, NULL);
        clq_buffer *sb = tc_buffer(ctx, 4, &scale), *zb = tc_buffer(ctx, 4, &zp);
        clq_buffer *rsb = tc_buffer(ctx, 4 * (rows + 4), NULL);
        clq_tensor xt, yt;
        clq_tensor_init(&xt, CLQ_F32, nd, sh, xb);
        clq_tensor_init(&yt, cases[i].qt, nd, sh, yb);
        yt.offset = 5;
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = cases[i].qt;
        qp.scale = sb;
        qp.zero_point = zb;
        if (cases[i].dyn) {
            TC_OK(ctx, clq_quantize_dynamic_rowsums(ctx, &xt, &qp, &yt, rsb, 2));
            tc_read(sb, 4, &scale);
            tc_read(zb, 4, &zp);
            ref_view v = {nd, {0}, {0}, 0};
            memcpy(v.shape, sh, sizeof(size_t) * (size_t)nd);
            ref_contiguous_strides(nd, v.shape, v.strides);
            ref_gran g = {CLQ_PER_TENSOR, 0, 0};
            float mn, mx, ws;
            int32_t wz;
            ref_minmax(CLQ_F32, x, &v, &g, &mn, &mx);
            ref_qparams(mn, mx, CLQ_AFFINE, cases[i].qt, 0, &ws, &wz);
            cr_assert(ref_f32_bits(ws) == ref_f32_bits(scale) && wz == zp,
                      "case %zu: dynamic parameters %a/%d, expected %a/%d", i, scale, zp, ws, wz);
            qp.flags = CLQ_QPARAMS_TRUSTED; /* made on the device, as an engine would pass them */
        } else {
            TC_OK(ctx, clq_quantize_rowsums(ctx, &xt, &qp, &yt, rsb, 2));
        }

        uint8_t *y = malloc(n + 8);
        int32_t *rs = malloc(4 * (rows + 4)), *want = calloc(rows + 4, 4);
        tc_read(yb, n + 8, y);
        tc_read(rsb, 4 * (rows + 4), rs);
        memset(want, TC_SENTINEL, 4 * (rows + 4));
        for (size_t r = 0; r < rows; r++) {
            want[2 + r] = 0;
            for (size_t k = 0; k < K; k++) want[2 + r] += ref_load_q(cases[i].qt, y, 5 + r * K + k);
        }
        for (size_t e = 0; e < n; e++) {
            int32_t q = ref_quantize_one(x[e], scale, zp, qmin, qmax, CLQ_ROUND_HALF_EVEN, 0);
            cr_assert(ref_load_q(cases[i].qt, y, 5 + e) == q, "case %zu: y[%zu] = %d, expected %d", i, e,
                      ref_load_q(cases[i].qt, y, 5 + e), q);
        }
        for (size_t r = 0; r < rows + 4; r++)
            cr_assert(rs[r] == want[r], "case %zu: rowsums element %zu (row %td): expected %d, got %d", i, r,
                      (ptrdiff_t)r - 2, want[r], rs[r]);

        /* weights with non-zero zero points, so the row sums matter */
        size_t bshape[2] = {N, K};
        uint8_t *b = malloc(N * K);
        int32_t zbv[13];
        for (size_t e = 0; e < N * K; e++) b[e] = (uint8_t)tc_rng_u64(&rng);
        for (size_t j = 0; j < N; j++) zbv[j] = tc_rng_int(&rng, -128, 127);
        clq_buffer *bb = tc_buffer(ctx, N * K, b), *zbb = tc_buffer(ctx, sizeof zbv, zbv);
        clq_tensor bt;
        clq_tensor_init(&bt, CLQ_S8, 2, bshape, bb);
        clq_qparams bqp;
        clq_qparams_init(&bqp);
        bqp.qtype = CLQ_S8;
        bqp.granularity = CLQ_PER_AXIS;
        bqp.zero_point = zbb;
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt, &bqp, 0, &w));
        ref_mat am = {cases[i].qt, y, 5, (ptrdiff_t)K, 1}, bm = {CLQ_S8, b, 0, (ptrdiff_t)K, 1};
        int64_t *c64 = malloc(8 * rows * N);
        int32_t *c32 = malloc(4 * rows * N);
        ref_gemm_exact(rows, N, K, &am, zp, &bm, zbv, 1, c64);
        for (size_t e = 0; e < rows * N; e++) c32[e] = (int32_t)c64[e];
        /* A seen as [rows, K]: a batched y is the same memory */
        size_t a2[2] = {rows, K};
        clq_tensor a2t;
        clq_tensor_init(&a2t, cases[i].qt, 2, a2, yb);
        a2t.offset = 5;
        char what[64];
        snprintf(what, sizeof what, "case %zu with row sums", i);
        gemm_s32(ctx, &a2t, &qp, w, rsb, c32, rows, N, what);
        snprintf(what, sizeof what, "case %zu without row sums", i);
        gemm_s32(ctx, &a2t, &qp, w, NULL, c32, rows, N, what);
        clq_weights_destroy(w);
        clq_buffer *bufs[] = {xb, yb, sb, zb, rsb, bb, zbb};
        for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) clq_buffer_destroy(bufs[k]);
        free(x), free(y), free(rs), free(want), free(b), free(c64), free(c32);
    }
}

/* Group sums for A per tensor (static) or per row (dynamic) against group-quantized
 * u4 weights with zero points: the sums are the reference's, and clq_gemm gives the
 * same bits with them as when it computes its own. */
TC_BACKEND_TEST(gemm, groupsums_for_grouped_weights) {
    const size_t R = 7, K = 80, N = 13, G = 32, NG = 3;
    for (int dyn = 0; dyn < 2; dyn++) {
        tc_rng rng;
        tc_rng_seed(&rng, 6100 + (uint64_t)dyn);
        float x[7 * 80], scale[7] = {0.05f}, bsc[13 * 3];
        int32_t zp[7] = {3}, bzp[13 * 3], rs[7 * 3 + 2];
        uint8_t b[13 * 40], y[7 * 80];
        for (size_t e = 0; e < R * K; e++) x[e] = 3.0f * tc_rng_normal(&rng);
        for (size_t e = 0; e < N * K / 2; e++) b[e] = (uint8_t)tc_rng_u64(&rng);
        for (size_t e = 0; e < N * NG; e++) {
            bsc[e] = 0.01f + 0.001f * (float)tc_rng_int(&rng, 0, 50);
            bzp[e] = tc_rng_int(&rng, 0, 15);
        }
        size_t xs[2] = {R, K}, bs[2] = {N, K}, cs[2] = {R, N};
        clq_buffer *xb = tc_buffer(ctx, sizeof x, x), *yb = tc_buffer(ctx, sizeof y, NULL);
        clq_buffer *sb = tc_buffer(ctx, sizeof scale, scale), *zb = tc_buffer(ctx, sizeof zp, zp);
        clq_buffer *rsb = tc_buffer(ctx, sizeof rs, NULL), *bb = tc_buffer(ctx, sizeof b, b);
        clq_buffer *bsb = tc_buffer(ctx, sizeof bsc, bsc), *bzb = tc_buffer(ctx, sizeof bzp, bzp);
        clq_buffer *c1 = tc_buffer(ctx, 4 * R * N, NULL), *c2 = tc_buffer(ctx, 4 * R * N, NULL);
        clq_tensor xt, yt, bt, ct1, ct2;
        clq_tensor_init(&xt, CLQ_F32, 2, xs, xb);
        clq_tensor_init(&yt, CLQ_U8, 2, xs, yb);
        clq_tensor_init(&bt, CLQ_U4, 2, bs, bb);
        clq_tensor_init(&ct1, CLQ_F32, 2, cs, c1);
        clq_tensor_init(&ct2, CLQ_F32, 2, cs, c2);
        clq_qparams qp, bqp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_U8;
        qp.scale = sb;
        qp.zero_point = zb;
        if (dyn) { /* per row: blocks of K along the last axis */
            qp.granularity = CLQ_PER_BLOCK;
            qp.axis = 1;
            qp.block_size = K;
            TC_OK(ctx, clq_quantize_dynamic_groupsums(ctx, &xt, &qp, &yt, G, rsb, 1));
            qp.flags = CLQ_QPARAMS_TRUSTED;
        } else {
            TC_OK(ctx, clq_quantize_groupsums(ctx, &xt, &qp, &yt, G, rsb, 1));
        }
        tc_read(yb, sizeof y, y);
        tc_read(rsb, sizeof rs, rs);
        for (size_t r = 0; r < R; r++)
            for (size_t j = 0; j < NG; j++) {
                int32_t want = 0;
                for (size_t k = j * G; k < K && k < (j + 1) * G; k++) want += y[r * K + k];
                cr_assert(rs[1 + r * NG + j] == want, "%s: group sum [%zu][%zu] = %d, expected %d",
                          dyn ? "dynamic" : "static", r, j, rs[1 + r * NG + j], want);
            }
        int32_t sent;
        memset(&sent, TC_SENTINEL, 4);
        cr_assert(rs[0] == sent && rs[1 + R * NG] == sent, "group sums written outside their range");

        clq_qparams_init(&bqp);
        bqp.qtype = CLQ_U4;
        bqp.granularity = CLQ_PER_BLOCK;
        bqp.axis = 1;
        bqp.block_size = G;
        bqp.scale = bsb;
        bqp.zero_point = bzb;
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt, &bqp, 0, &w));
        clq_gemm_options o;
        clq_gemm_options_init(&o);
        TC_OK(ctx, clq_gemm(ctx, &yt, &qp, w, &o, &ct1));
        o.a_rowsums = rsb;
        o.a_rowsums_offset = 1;
        TC_OK(ctx, clq_gemm(ctx, &yt, &qp, w, &o, &ct2));
        uint32_t g1[7 * 13], g2[7 * 13];
        tc_read(c1, sizeof g1, g1);
        tc_read(c2, sizeof g2, g2);
        for (size_t e = 0; e < R * N; e++)
            cr_assert(g1[e] == g2[e], "%s: C[%zu][%zu] %08x without group sums, %08x with them",
                      dyn ? "dynamic" : "static", e / N, e % N, g1[e], g2[e]);
        clq_weights_destroy(w);
        clq_buffer *bufs[] = {xb, yb, sb, zb, rsb, bb, bsb, bzb, c1, c2};
        for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) clq_buffer_destroy(bufs[k]);
    }
}

/* ---- clq_quantize_multiplier against TFLite's QuantizeMultiplier ---- */
/* An empty last axis with one parameter per index of it: no parameters at all, but
 * every row exists and its sum (0) is written, by both row-sum calls. */
TC_BACKEND_TEST(gemm, rowsums_empty_rows) {
    size_t shape[2] = {3, 0};
    float one = 1.0f;
    int32_t zero = 0;
    clq_buffer *xb = tc_buffer(ctx, 4, &one), *yb = tc_buffer(ctx, 4, NULL);
    clq_buffer *sb = tc_buffer(ctx, 4, &one), *zb = tc_buffer(ctx, 4, &zero);
    for (int dyn = 0; dyn < 2; dyn++) {
        int32_t init[5] = {111, 222, 333, 444, 555}, got[5];
        clq_buffer *rsb = tc_buffer(ctx, sizeof init, init);
        clq_tensor xt, yt;
        clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
        clq_tensor_init(&yt, CLQ_U8, 2, shape, yb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_U8;
        qp.granularity = CLQ_PER_AXIS;
        qp.axis = 1;
        qp.scale = sb;
        qp.zero_point = zb;
        if (dyn) TC_OK(ctx, clq_quantize_dynamic_rowsums(ctx, &xt, &qp, &yt, rsb, 1));
        else TC_OK(ctx, clq_quantize_rowsums(ctx, &xt, &qp, &yt, rsb, 1));
        tc_read(rsb, sizeof got, got);
        cr_assert(got[0] == 111 && got[1] == 0 && got[2] == 0 && got[3] == 0 && got[4] == 555,
                  "%s: row sums %d %d %d %d %d, expected 111 0 0 0 555",
                  dyn ? "dynamic" : "static", got[0], got[1], got[2], got[3], got[4]);
        clq_buffer_destroy(rsb);
    }
    clq_buffer *bufs[] = {xb, yb, sb, zb};
    for (size_t i = 0; i < 4; i++) clq_buffer_destroy(bufs[i]);
}

/* sa * sb[n] beyond f32 would make the f32 stage infinite (NaN for C = 0): refused. */
TC_BACKEND_TEST(gemm, f32_scale_overflow) {
    size_t bshape[2] = {2, 3}, ashape[2] = {1, 3}, cshape[2] = {1, 2};
    int8_t b[6] = {1, 2, 3, 4, 5, 6}, a[3] = {1, 0, -1};
    float sb = 1e30f, sa = 1e10f, c[2] = {-1.0f, -2.0f};
    clq_buffer *bb = tc_buffer(ctx, 6, b), *ab = tc_buffer(ctx, 3, a), *cb = tc_buffer(ctx, 8, c);
    clq_buffer *sbb = tc_buffer(ctx, 4, &sb), *sab = tc_buffer(ctx, 4, &sa);
    clq_tensor bt, at, ct;
    clq_tensor_init(&bt, CLQ_S8, 2, bshape, bb);
    clq_tensor_init(&at, CLQ_S8, 2, ashape, ab);
    clq_tensor_init(&ct, CLQ_F32, 2, cshape, cb);
    clq_qparams bq, aq;
    clq_qparams_init(&bq);
    bq.scale = sbb;
    clq_qparams_init(&aq);
    aq.scale = sab;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &bt, &bq, 0, &w));
    clq_status st = clq_gemm(ctx, &at, &aq, w, NULL, &ct);
    cr_assert(st == CLQ_ERROR_INVALID_QPARAMS, "expected CLQ_ERROR_INVALID_QPARAMS, got %s",
              clq_status_string(st));
    cr_assert(tc_names(clq_context_error_message(ctx), "scale"), "message: %s",
              clq_context_error_message(ctx));
    float got[2];
    tc_read(cb, 8, got);
    cr_assert(got[0] == -1.0f && got[1] == -2.0f, "C was written: %g %g", got[0], got[1]);
    sa = 1e-10f; /* 1e20: finite */
    TC_OK(ctx, clq_buffer_write(sab, 0, 4, &sa));
    TC_OK(ctx, clq_gemm(ctx, &at, &aq, w, NULL, &ct));
    clq_weights_destroy(w);
    clq_buffer *bufs[] = {bb, ab, cb, sbb, sab};
    for (size_t i = 0; i < 5; i++) clq_buffer_destroy(bufs[i]);
}

Test(gemm, quantize_multiplier) {
    static const double reals[] = {0.0, -0.0, 1.0, 0.5, 0.25, 0.75, 1.5, 2.0, 1e-3, 3.14159e-5, 0.3, 1.0 / 3.0,
                                   1.0 - 0x1p-33, 1.0 - 0x1p-31, 0.5 - 0x1p-34, 0x1p-31, 0x1p-32, 0x1.8p-32,
                                   0x1p-33, 0x1.fffffffffp-33, 1e-10, 1e-12, 12345.678, 1e6, 0x1.fffffffp29,
                                   0x1.fffffffp-1,
                                   0x1.00000001p0, 0x1.000000018p0, 0.0078125, 2.3283064365386963e-10};
    tc_rng rng;
    tc_rng_seed(&rng, 7000);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0] + 2000; i++) {
        double real = i < sizeof reals / sizeof reals[0] ? reals[i] : exp(tc_rng_range(&rng, -25.0f, 14.0f));
        int32_t m = -1, wm;
        int s = -99, ws;
        ref_quantize_multiplier(real, &wm, &ws);
        clq_status st = clq_quantize_multiplier(real, &m, &s);
        cr_assert(st == CLQ_SUCCESS, "clq_quantize_multiplier(%a): %s", real, clq_status_string(st));
        cr_expect(m == wm && s == ws, "clq_quantize_multiplier(%a = %.17g): expected (%d, %d), got (%d, %d)", real,
                  real, wm, ws, m, s);
    }
    /* shifts above 30 are refused (docs/NUMERICS.md): reals from 2^30 up */
    static const double bad[] = {-1.0, -1e-30, NAN, INFINITY, -INFINITY, 0x1p30, 0x1.ffffffffp29, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t m = 12345;
        int s = 67;
        clq_status st = clq_quantize_multiplier(bad[i], &m, &s);
        cr_expect(st == CLQ_ERROR_INVALID_ARGUMENT, "clq_quantize_multiplier(%g): %s", bad[i], clq_status_string(st));
        cr_expect(m == 12345 && s == 67, "clq_quantize_multiplier(%g) wrote its outputs on failure", bad[i]);
    }
    int32_t m;
    int s;
    cr_expect(clq_quantize_multiplier(0.5, NULL, &s) == CLQ_ERROR_INVALID_ARGUMENT, "NULL multiplier");
    cr_expect(clq_quantize_multiplier(0.5, &m, NULL) == CLQ_ERROR_INVALID_ARGUMENT, "NULL shift");
}

