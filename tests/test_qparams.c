/* test_qparams.c: clq_qparams_from_minmax and clq_qparams_count on every backend against
 * tests/ref, bit for bit, for every qtype, scheme, range flag and profile, over odd ranges. */
#include "common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Ranges that hit every branch of the contract: zero-wide, one-sided, NaN, Inf,
 * overflowing (hi - lo), denormal and FLT_MIN-floored, constant. */
static const float special_pairs[][2] = {
    {0.0f, 0.0f},           {-0.0f, 0.0f},         {1.0f, 2.0f},         {-2.0f, -1.0f},
    {-3.0f, 2.0f},          {-2.5f, 2.5f},         {NAN, 5.0f},          {-5.0f, NAN},
    {NAN, NAN},             {-INFINITY, INFINITY}, {-INFINITY, 1.0f},    {1.0f, INFINITY},
    {-FLT_MAX, FLT_MAX},    {-3e38f, 3e38f},       {0.0f, FLT_MAX},      {-FLT_MAX, 0.0f},
    {1e-40f, 2e-40f},       {-1e-38f, 1e-38f},     {-1e-45f, 0.0f},      {0.0f, 1e-45f},
    {-1e-36f, 3e-37f},      {2.75f, 2.75f},        {-1.5f, -1.5f},       {-127.5f, 127.5f},
    /* u8 scale exactly 1 and qmin - lo/scale halfway: rint gives 2, 0, -124 (s8) where round() would not */
    {-2.5f, 252.5f},        {-0.5f, 254.5f},       {-3.5f, 251.5f},      {-4.5f, 10.5f},
    {-128.0f, 127.0f},      {0.0f, 255.0f},        {-0.1f, 25.4f},       {-1e30f, 1e-30f},
};
#define NSPECIAL (sizeof special_pairs / sizeof special_pairs[0])

static void check_qparams(clq_context *ctx, clq_dtype qtype, clq_scheme scheme, unsigned flags, size_t moff,
                          size_t poff, uint64_t seed) {
    enum { NRANDOM = 37 };
    size_t n = NSPECIAL + NRANDOM;
    float mn[NSPECIAL + NRANDOM], mx[NSPECIAL + NRANDOM];
    tc_rng rng;
    tc_rng_seed(&rng, seed);
    for (size_t i = 0; i < NSPECIAL; i++) {
        mn[i] = special_pairs[i][0];
        mx[i] = special_pairs[i][1];
    }
    for (size_t i = NSPECIAL; i < n; i++) {
        float a = tc_rng_normal(&rng) * tc_rng_logscale(&rng, 1e-6f, 1e6f);
        float b = tc_rng_normal(&rng) * tc_rng_logscale(&rng, 1e-6f, 1e6f);
        mn[i] = fminf(a, b);
        mx[i] = fmaxf(a, b);
    }
    float *hbuf = malloc(4 * (moff + n));
    memset(hbuf, TC_SENTINEL, 4 * moff);
    memcpy(hbuf + moff, mn, sizeof mn);
    clq_buffer *mnb = tc_buffer(ctx, 4 * (moff + n), hbuf);
    memcpy(hbuf + moff, mx, sizeof mx);
    clq_buffer *mxb = tc_buffer(ctx, 4 * (moff + n), hbuf);
    size_t pbytes = 4 * (poff + n + 3);
    clq_buffer *sb = tc_buffer(ctx, pbytes, NULL), *zb = tc_buffer(ctx, pbytes, NULL);

    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = qtype;
    qp.scheme = scheme;
    qp.flags = flags;
    qp.granularity = CLQ_PER_AXIS;
    qp.scale = sb;
    qp.scale_offset = poff;
    qp.zero_point = zb;
    qp.zero_point_offset = poff;
    TC_OK(ctx, clq_qparams_from_minmax(ctx, mnb, moff, mxb, moff, n, &qp));

    uint8_t *sgot = malloc(pbytes), *zgot = malloc(pbytes);
    tc_read(sb, pbytes, sgot);
    tc_read(zb, pbytes, zgot);
    for (size_t b = 0; b < pbytes; b++) {
        size_t e = b / 4;
        if (e >= poff && e < poff + n) continue;
        cr_assert(sgot[b] == TC_SENTINEL && zgot[b] == TC_SENTINEL,
                  "qparams %s scheme=%d flags=%x: byte %zu outside the %zu outputs at offset %zu written",
                  clq_dtype_name(qtype), scheme, flags, b, n, poff);
    }
    for (size_t i = 0; i < n; i++) {
        float es, gs;
        int32_t ez, gz;
        ref_qparams_profile(mn[i], mx[i], scheme, qtype, flags, &es, &ez);
        memcpy(&gs, sgot + 4 * (poff + i), 4);
        memcpy(&gz, zgot + 4 * (poff + i), 4);
        cr_assert(ref_f32_bits(es) == ref_f32_bits(gs) && ez == gz,
                  "qparams %s %s flags=0x%x seed=%llu backend=%s: pair %zu [min %.9g (%a), max %.9g (%a)]: "
                  "expected scale %.9g (%a) zp %d, got scale %.9g (%a) zp %d",
                  clq_dtype_name(qtype), scheme == CLQ_AFFINE ? "affine" : "symmetric", flags,
                  (unsigned long long)seed, clq_context_device_name(ctx), i, mn[i], mn[i], mx[i], mx[i], es, es,
                  ez, gs, gs, gz);
    }
    clq_buffer_destroy(mnb);
    clq_buffer_destroy(mxb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    free(hbuf);
    free(sgot);
    free(zgot);
}

TC_BACKEND_TEST(qparams, every_type_scheme_range) {
    static const clq_dtype types[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};
    uint64_t seed = 1000;
    for (int t = 0; t < 4; t++)
        for (int scheme = 0; scheme < 2; scheme++)
            for (unsigned narrow = 0; narrow < 2; narrow++)
                for (unsigned torch = 0; torch < 2; torch++)
                    check_qparams(ctx, types[t], (clq_scheme)scheme,
                                  (narrow ? CLQ_QPARAMS_NARROW_RANGE : 0) |
                                      (torch ? CLQ_QPARAMS_PROFILE_PYTORCH : 0),
                                  (size_t)t, (size_t)(3 * narrow), seed++);
}

TC_BACKEND_TEST(qparams, zero_count) {
    clq_buffer *b = tc_buffer(ctx, 16, NULL), *sb = tc_buffer(ctx, 16, NULL), *zb = tc_buffer(ctx, 16, NULL);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_qparams_from_minmax(ctx, b, 0, b, 0, 0, &qp));
    tc_assert_untouched(sb, 16, "scale after count 0");
    tc_assert_untouched(zb, 16, "zero_point after count 0");
    clq_buffer_destroy(b);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
}

/* The engine flow: minmax -> qparams -> quantize (TRUSTED), all on the device,
 * against the reference chain. */
TC_BACKEND_TEST(qparams, device_chain) {
    enum { R = 23, C = 37 };
    size_t shape[2] = {R, C};
    float *x = malloc(sizeof(float) * R * C);
    tc_rng rng;
    tc_rng_seed(&rng, 77);
    for (size_t i = 0; i < R * C; i++) x[i] = tc_value(&rng, i % 11 == 0 ? TC_SPECIAL : TC_NORMAL);
    clq_buffer *xb = tc_buffer(ctx, sizeof(float) * R * C, x);
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S4;
    qp.granularity = CLQ_PER_BLOCK;
    qp.axis = 1;
    qp.block_size = 8;
    qp.scheme = CLQ_SYMMETRIC;
    qp.flags = CLQ_QPARAMS_TRUSTED | CLQ_QPARAMS_NARROW_RANGE;
    size_t np = 0;
    TC_OK(ctx, clq_qparams_count(&qp, 2, shape, &np));
    cr_assert_eq(np, (size_t)R * 5);
    clq_buffer *mnb = tc_buffer(ctx, 4 * np, NULL), *mxb = tc_buffer(ctx, 4 * np, NULL);
    clq_buffer *sb = tc_buffer(ctx, 4 * np, NULL), *zb = tc_buffer(ctx, 4 * np, NULL);
    size_t ybytes = (R * C + 1) / 2;
    clq_buffer *yb = tc_buffer(ctx, ybytes, NULL);
    clq_tensor_init(&yt, CLQ_S4, 2, shape, yb);
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_minmax(ctx, &xt, &qp, mnb, 0, mxb, 0));
    TC_OK(ctx, clq_qparams_from_minmax(ctx, mnb, 0, mxb, 0, np, &qp));
    TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));

    ref_view v = {2, {R, C}, {C, 1}, 0};
    ref_gran g = {CLQ_PER_BLOCK, 1, 8};
    float *mn = malloc(4 * np), *mx = malloc(4 * np), *s = malloc(4 * np);
    int32_t *z = malloc(4 * np), *q = malloc(4 * R * C);
    ref_minmax(CLQ_F32, x, &v, &g, mn, mx);
    for (size_t p = 0; p < np; p++) ref_qparams(mn[p], mx[p], CLQ_SYMMETRIC, CLQ_S4, 1, &s[p], &z[p]);
    ref_quantize(CLQ_F32, x, &v, &g, s, z, CLQ_S4, 1, CLQ_ROUND_HALF_EVEN, 0, q);
    uint8_t *got = malloc(ybytes), *want = calloc(ybytes, 1);
    for (size_t i = 0; i < R * C; i++) ref_store_q(CLQ_S4, want, i, q[i]);
    tc_read(yb, ybytes, got);
    for (size_t i = 0; i < R * C; i++)
        cr_assert_eq(ref_load_q(CLQ_S4, got, i), q[i], "device chain s4 per block: element [%zu,%zu]: expected %d got %d",
                     i / C, i % C, q[i], ref_load_q(CLQ_S4, got, i));
    cr_assert_eq(got[ybytes - 1] >> 4, 0, "odd count: high nibble of the last byte must be 0");
    clq_buffer_destroy(xb);
    clq_buffer_destroy(mnb);
    clq_buffer_destroy(mxb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
    free(x); free(mn); free(mx); free(s); free(z); free(q); free(got); free(want);
}

Test(qparams, count) {
    static const struct {
        clq_granularity g;
        int axis;
        size_t block;
        int ndim;
        size_t shape[3];
        size_t want;
    } cases[] = {
        {CLQ_PER_TENSOR, 0, 0, 0, {0}, 1},          {CLQ_PER_TENSOR, 0, 0, 2, {23, 19}, 1},
        {CLQ_PER_TENSOR, 0, 0, 1, {0}, 1},          {CLQ_PER_AXIS, 0, 0, 2, {23, 19}, 23},
        {CLQ_PER_AXIS, -1, 0, 2, {23, 19}, 19},     {CLQ_PER_AXIS, 1, 0, 3, {7, 13, 29}, 13},
        {CLQ_PER_BLOCK, 1, 8, 2, {5, 37}, 25},      {CLQ_PER_BLOCK, 0, 8, 2, {37, 6}, 30},
        {CLQ_PER_BLOCK, -2, 5, 3, {7, 13, 29}, 7 * 3 * 29},
        {CLQ_PER_BLOCK, 2, 29, 3, {7, 13, 29}, 91}, {CLQ_PER_BLOCK, 0, 1, 2, {0, 4}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_S8;
        qp.granularity = cases[i].g;
        qp.axis = cases[i].axis;
        qp.block_size = cases[i].block;
        size_t got = 12345;
        clq_status st = clq_qparams_count(&qp, cases[i].ndim, cases[i].shape, &got);
        cr_assert(st == CLQ_SUCCESS, "count case %zu: %s", i, clq_status_string(st));
        ref_gran g = {cases[i].g, cases[i].axis, cases[i].block};
        cr_assert_eq(ref_param_count(&g, cases[i].ndim, cases[i].shape), cases[i].want, "ref count case %zu", i);
        cr_assert_eq(got, cases[i].want, "clq_qparams_count case %zu: expected %zu got %zu", i, cases[i].want, got);
    }
}
