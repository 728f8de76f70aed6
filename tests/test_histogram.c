/* test_histogram.c: the calibration histogram on every backend against tests/ref: the
 * device op's counts bit for bit (f32/f16/bf16, tails, NaN, +-Inf, edges, hi), the host
 * state's growth over batches (calib_hist.c), the four range searches on fixed data with
 * known answers, and the state's serialisation. Reaches the op and calib_hist.h
 * directly, so it links the static library (tests/CMakeLists.txt). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_hist.h"
#include "cl_internal.h"
#include "common.h"

/* ---- inputs ---- */

/* n values of type t from f32 (converted with round to nearest even). */
static void *make_input(clq_dtype t, const float *v, size_t n) {
    size_t es = t == CLQ_F32 ? 4 : 2;
    unsigned char *p = malloc(n * es + 1);
    for (size_t i = 0; i < n; i++) ref_store_float(t, p, i, v[i]);
    return p;
}

static clq_buffer *upload(clq_context *ctx, const void *host, size_t bytes) {
    clq_buffer *b = NULL;
    TC_OK(ctx, clq_buffer_create(ctx, bytes ? bytes : 1, &b));
    if (bytes) TC_OK(ctx, clq_buffer_write(b, 0, bytes, host));
    return b;
}

/* Values with every kind of special: normals at several scales, NaN, +-Inf, -0,
 * subnormals, values on the bin edges of [lo, hi) with nbins bins, lo and hi themselves,
 * and tails on both sides. */
static void fill_values(tc_rng *r, float *v, size_t n, float lo, float hi, size_t nbins) {
    double w = ((double)hi - (double)lo) / (double)nbins;
    for (size_t i = 0; i < n; i++) {
        int k = tc_rng_int(r, 0, 15);
        size_t e = (size_t)tc_rng_int(r, 0, (int)(nbins < 100000 ? nbins : 100000));
        switch (k) {
        case 0: v[i] = NAN; break;
        case 1: v[i] = tc_rng_int(r, 0, 1) ? INFINITY : -INFINITY; break;
        case 2: v[i] = (float)((double)lo + w * (double)e); break;
        case 3: v[i] = tc_rng_int(r, 0, 1) ? hi : lo; break;
        case 4: v[i] = tc_rng_int(r, 0, 1) ? -0.0f : 1e-40f * (float)tc_rng_int(r, -5, 5); break;
        case 5: v[i] = hi + (hi - lo) * tc_rng_range(r, 0.0f, 3.0f); break;
        case 6: v[i] = lo - (hi - lo) * tc_rng_range(r, 0.0f, 3.0f); break;
        case 7: v[i] = nextafterf((float)((double)lo + w * (double)e), -INFINITY); break;
        default: v[i] = tc_rng_range(r, lo, hi); break;
        }
    }
}

/* The device op over x (n values of t at element offset off) against ref_hist_count. */
static void check_op(clq_context *ctx, clq_dtype t, const float *v, size_t n, size_t off,
                     int absolute, float lo, float hi, size_t nbins, const char *what) {
    size_t es = t == CLQ_F32 ? 4 : 2;
    float *pad = calloc(n + off + 1, sizeof *pad);
    memcpy(pad + off, v, n * sizeof *v);
    void *host = make_input(t, pad, n + off);
    clq_buffer *xb = upload(ctx, host, (n + off) * es);
    uint32_t *got = malloc((nbins + 2) * sizeof *got), *want = malloc(nbins * sizeof *want);
    for (size_t b = 0; b < nbins + 2; b++) got[b] = 0xdeadbeefu;
    clq_buffer *cb = upload(ctx, got, (nbins + 2) * 4);
    float inv = ref_hist_inv_width(nbins, lo, hi);
    clq_histogram_op op = {t, {xb, off * es}, n, absolute, lo, inv, nbins, {cb, 4}};
    TC_OK(ctx, ctx->ops->histogram(ctx, &op, CLQ_PASS_PREPARE));
    TC_OK(ctx, ctx->ops->histogram(ctx, &op, CLQ_PASS_RUN));
    TC_OK(ctx, clq_buffer_read(cb, 0, (nbins + 2) * 4, got));
    ref_hist_count(t, (const char *)host + off * es, n, absolute, lo, inv, nbins, want);
    cr_assert_eq(got[0], 0xdeadbeefu, "%s: counts[-1] written", what);
    cr_assert_eq(got[nbins + 1], 0xdeadbeefu, "%s: counts[nbins] written (%u; %zu bins, n %zu)", what, got[nbins + 1], nbins, n);
    for (size_t b = 0; b < nbins; b++)
        cr_assert_eq(got[b + 1], want[b], "%s (%s, n %zu, %zu bins, [%g, %g], abs %d): bin %zu: %u, want %u",
                     what, clq_dtype_name(t), n, nbins, (double)lo, (double)hi, absolute, b,
                     got[b + 1], want[b]);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(cb);
    free(pad), free(host), free(got), free(want);
}

TC_BACKEND_TEST(histogram, op_counts) {
    static const clq_dtype types[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const struct {
        size_t n, off, nbins;
        int absolute;
        float lo, hi;
    } cases[] = {
        {0, 0, 2048, 1, 0.0f, 1.0f},          {1, 0, 2048, 1, 0.0f, 1.0f},
        {37, 3, 2048, 0, -1.5f, 2.25f},       {1000, 1, 7, 0, -3.0f, 5.0f},
        {5000, 0, 1, 1, 0.0f, 4.0f},          {100003, 0, 2048, 1, 0.0f, 3.0f},
        {20011, 5, 4096, 0, -0.75f, 0.5f},    {30000, 0, 9001, 1, 0.0f, 1e-3f},
        {3000, 0, 2048, 0, 2.0f, 2.0f},       {4000, 2, 2048, 1, 0.0f, 1e-37f},
        {2001, 0, 8191, 0, -1.0f, 1.0f},      {2003, 0, 8192, 1, 0.0f, 1.0f},
        {(1 << 19) + 77, 0, 2048, 0, -8.0f, 8.0f},
    };
    tc_rng r;
    tc_rng_seed(&r, 11);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t k = 0; k < 3; k++) {
            if (cases[c].n > 200000 && k > 0) continue; /* one large case */
            float *v = malloc((cases[c].n + 1) * sizeof *v);
            fill_values(&r, v, cases[c].n, cases[c].lo, cases[c].hi, cases[c].nbins);
            char what[64];
            snprintf(what, sizeof what, "case %zu", c);
            check_op(ctx, types[k], v, cases[c].n, cases[c].off, cases[c].absolute, cases[c].lo,
                     cases[c].hi, cases[c].nbins, what);
            free(v);
        }
}

/* OpenCL work groups of 64 items (the GPU rows' size) on this device: the local-atomics
 * path (CLQ_HIST_LOCAL), which POCL's one-item groups never take. */
static void local_64(clq_cl_tuning *t) { t->local_size = 64; }

Test(histogram, op_counts_local_atomics_opencl) {
    clq__cl_tuning_test_hook = local_64;
    clq_context *ctx = tc_context(CLQ_BACKEND_OPENCL);
    clq__cl_tuning_test_hook = NULL;
    cr_assert_eq(clq_cl(ctx)->tuning.local_size, 64);
    static const struct {
        clq_dtype t;
        size_t n, off, nbins;
        int absolute;
        float lo, hi;
    } cases[] = {{CLQ_F32, 100003, 0, 2048, 1, 0.0f, 3.0f}, {CLQ_F16, 20011, 5, 4096, 0, -0.75f, 0.5f},
                 {CLQ_BF16, 5000, 1, 7, 0, -3.0f, 5.0f},   {CLQ_F32, 3001, 0, 8191, 1, 0.0f, 1.0f},
                 {CLQ_F32, 63, 0, 2048, 0, -1.0f, 1.0f}};
    tc_rng r;
    tc_rng_seed(&r, 12);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float *v = malloc(cases[c].n * sizeof *v);
        fill_values(&r, v, cases[c].n, cases[c].lo, cases[c].hi, cases[c].nbins);
        check_op(ctx, cases[c].t, v, cases[c].n, cases[c].off, cases[c].absolute, cases[c].lo, cases[c].hi,
                 cases[c].nbins, "local atomics");
        free(v);
    }
    clq_context_destroy(ctx);
}

/* ---- the state: batches through clq__hist_add against ref_hist_add ---- */

static void hist_add(clq_context *ctx, clq_hist *h, clq_dtype t, const float *v, size_t n) {
    void *host = make_input(t, v, n);
    size_t es = t == CLQ_F32 ? 4 : 2;
    clq_buffer *xb = upload(ctx, host, n * es);
    float mn = INFINITY, mx = -INFINITY; /* the calibrator's min/max step: NaN skipped */
    for (size_t i = 0; i < n; i++) {
        float x = ref_load_float(t, host, i);
        if (x < mn) mn = x;
        if (x > mx) mx = x;
    }
    if (!(mn <= mx)) mn = mx = 0.0f;
    clq_span x = {xb, 0};
    TC_OK(ctx, clq__hist_add(ctx, h, t, x, n, mn, mx, CLQ_PASS_PREPARE));
    TC_OK(ctx, clq__hist_add(ctx, h, t, x, n, mn, mx, CLQ_PASS_RUN));
    clq_buffer_destroy(xb);
    free(host);
}

static void same_state(const clq_hist *h, const ref_hist *rh, const char *what) {
    cr_assert_eq(h->empty, rh->empty, "%s: empty %d, want %d", what, h->empty, rh->empty);
    cr_assert(h->lo == rh->lo && h->hi == rh->hi, "%s: range [%a, %a], want [%a, %a]", what,
              (double)h->lo, (double)h->hi, (double)rh->lo, (double)rh->hi);
    for (size_t b = 0; b < h->nbins; b++)
        cr_assert_eq(h->counts[b], rh->counts[b], "%s: bin %zu: %llu, want %llu", what, b,
                     (unsigned long long)h->counts[b], (unsigned long long)rh->counts[b]);
}

/* Ten batches whose range grows (up, down, both, from zero width) vs the reference. */
TC_BACKEND_TEST(histogram, growth) {
    static const struct {
        int absolute;
        size_t nbins;
        float first_lo, first_hi; /* the first batch's values; later ones wander */
    } cases[] = {{1, 2048, -0.5f, 0.5f}, {0, 2048, 0.25f, 0.5f}, {0, 7, -1.0f, 1.0f},
                 {1, 2048, 0.0f, 0.0f},  {0, 1000, 3.0f, 3.0f}};
    tc_rng r;
    tc_rng_seed(&r, 5);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        clq_hist h;
        ref_hist rh;
        cr_assert_eq(clq__hist_init(&h, cases[c].nbins, cases[c].absolute), CLQ_SUCCESS);
        ref_hist_init(&rh, cases[c].nbins, cases[c].absolute);
        for (int batch = 0; batch < 10; batch++) {
            size_t n = 3000 + (size_t)batch * 17;
            float *v = malloc(n * sizeof *v);
            float lo = cases[c].first_lo, hi = cases[c].first_hi, grow = (float)(1 << batch);
            for (size_t i = 0; i < n; i++) {
                float u = tc_rng_range(&r, 0.0f, 1.0f);
                v[i] = batch == 0 ? lo + (hi - lo) * u
                       : batch % 3 == 1 ? hi + (hi - lo + 1.0f) * grow * u
                       : batch % 3 == 2 ? lo - (hi - lo + 1.0f) * grow * u
                                        : (u - 0.5f) * 3.0f * grow;
                if (i % 97 == 0) v[i] = NAN;
            }
            clq_dtype t = batch % 3 == 0 ? CLQ_F32 : batch % 3 == 1 ? CLQ_F16 : CLQ_BF16;
            hist_add(ctx, &h, t, v, n);
            void *host = make_input(t, v, n);
            ref_hist_add(&rh, t, host, n);
            free(host);
            char what[64];
            snprintf(what, sizeof what, "case %zu batch %d", c, batch);
            same_state(&h, &rh, what);
            free(v);
        }
        clq__hist_free(&h);
        ref_hist_free(&rh);
    }
}

/* One batch against the same values in ten whose range doubles: dyadic values, so
 * every edge is exact and the merged bins are the one-batch bins. */
TC_BACKEND_TEST(histogram, one_vs_ten) {
    enum { NB = 2048, PER = 4096 };
    float *v = malloc(10 * PER * sizeof *v);
    tc_rng r;
    tc_rng_seed(&r, 9);
    for (int b = 0; b < 10; b++)
        for (int i = 0; i < PER; i++) {
            /* batch b in [0, 2^(b-9) * 8]: multiples of 2^-20 of the final range */
            float top = ldexpf(8.0f, b - 9);
            int k = tc_rng_int(&r, 0, 1 << 20);
            v[b * PER + i] = top * ldexpf((float)k, -20) * (tc_rng_int(&r, 0, 1) ? 1.0f : -1.0f);
            if (i == 0) v[b * PER + i] = top;
        }
    clq_hist one, ten;
    cr_assert_eq(clq__hist_init(&one, NB, 1), CLQ_SUCCESS);
    cr_assert_eq(clq__hist_init(&ten, NB, 1), CLQ_SUCCESS);
    hist_add(ctx, &one, CLQ_F32, v, 10 * PER);
    for (int b = 0; b < 10; b++) hist_add(ctx, &ten, CLQ_F32, v + b * PER, PER);
    cr_assert(one.lo == ten.lo && one.hi == ten.hi && one.hi == 8.0f, "ranges [%g, %g] / [%g, %g]",
              (double)one.lo, (double)one.hi, (double)ten.lo, (double)ten.hi);
    /* batch b's first value, its top 2^(b-6), set its range's hi: it was counted in
     * that range's last bin, which the merges carry to bin 2^(b+2) - 1 of the final
     * range; one batch puts it on its edge, in bin 2^(b+2). Everything else agrees. */
    for (int b = 0; b < 9; b++) one.counts[4 << b]--, one.counts[(4 << b) - 1]++;
    for (size_t b = 0; b < NB; b++)
        cr_assert_eq(one.counts[b], ten.counts[b], "bin %zu: one batch %llu, ten %llu", b,
                     (unsigned long long)one.counts[b], (unsigned long long)ten.counts[b]);
    clq__hist_free(&one);
    clq__hist_free(&ten);
    free(v);
}

/* A batch of NaN only, and an empty one, change nothing (also before the first). */
TC_BACKEND_TEST(histogram, nan_batches) {
    clq_hist h;
    cr_assert_eq(clq__hist_init(&h, 64, 0), CLQ_SUCCESS);
    float nan[5] = {NAN, NAN, NAN, NAN, NAN}, one[3] = {1.0f, 2.0f, NAN};
    hist_add(ctx, &h, CLQ_F32, nan, 5);
    cr_assert(h.empty && h.lo == 0.0f && h.hi == 0.0f);
    hist_add(ctx, &h, CLQ_F32, one, 3);
    cr_assert(!h.empty && h.lo == 1.0f && h.hi == 2.0f && h.counts[0] == 1 && h.counts[63] == 1);
    hist_add(ctx, &h, CLQ_F32, nan, 5); /* its min/max step says [0, 0]: no growth */
    cr_assert(h.lo == 1.0f && h.hi == 2.0f);
    float lo, hi;
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_L2, 0, 8, CLQ_AFFINE, &lo, &hi));
    clq__hist_free(&h);
}

/* ---- searches: fixed data, known answers, and the reference's bits ---- */

static void build(clq_context *ctx, clq_hist *h, ref_hist *rh, int absolute, const float *v,
                  size_t n) {
    cr_assert_eq(clq__hist_init(h, 2048, absolute), CLQ_SUCCESS);
    ref_hist_init(rh, 2048, absolute);
    for (size_t e = 0; e < n; e += n / 4) { /* four batches: growth on the way */
        size_t m = n - e < n / 4 ? n - e : n / 4;
        hist_add(ctx, h, CLQ_F32, v + e, m);
        ref_hist_add(rh, CLQ_F32, v + e, m);
    }
    same_state(h, rh, "search state");
}

TC_BACKEND_TEST(histogram, searches) {
    enum { N = 1 << 17 };
    float *uni = malloc(N * sizeof *uni), *gau = malloc(N * sizeof *gau);
    tc_rng r;
    tc_rng_seed(&r, 3);
    for (size_t i = 0; i < N; i++) {
        uni[i] = tc_rng_range(&r, -1.0f, 1.0f) * (i < N / 4 ? 0.5f : 1.0f); /* grows once */
        gau[i] = tc_rng_normal(&r);
    }
    clq_hist h;
    ref_hist rh;
    float lo, hi;

    /* PERCENTILE of |uniform(-1, 1)| (a quarter of it from (-0.5, 0.5)): the 99.999th is
     * 1 - 1e-5 (a bin edge near it), the 50th 0.4 (cdf 1.25 x below 0.5) */
    build(ctx, &h, &rh, 1, uni, N);
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_PERCENTILE, 99.999, 8, CLQ_SYMMETRIC, &lo, &hi));
    cr_assert(hi == ref_hist_percentile(&rh, 99.999) && lo == -hi, "percentile %a, ref %a",
              (double)hi, (double)ref_hist_percentile(&rh, 99.999));
    cr_assert(fabsf(hi - 1.0f) < 2.0f * h.hi / 2048, "percentile 99.999 of |U(-1,1)|: %g", (double)hi);
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_PERCENTILE, 50.0, 8, CLQ_SYMMETRIC, &lo, &hi));
    cr_assert(hi == ref_hist_percentile(&rh, 50.0) && fabsf(hi - 0.4f) < 0.01f, "median %g", (double)hi);
    /* MSE of uniform data without outliers: the whole range (amax near 1) */
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_MSE, 0, 8, CLQ_SYMMETRIC, &lo, &hi));
    cr_assert(hi == ref_hist_mse(&rh, 8), "mse %a, ref %a", (double)hi, (double)ref_hist_mse(&rh, 8));
    cr_assert(hi > 0.95f && hi < 1.01f, "mse amax of |U(-1,1)|: %g", (double)hi);
    clq__hist_free(&h);
    ref_hist_free(&rh);

    /* |N(0, 1)|: MSE and ENTROPY clip the tail (TensorRT's 8-bit answers lie near 3-5
     * sigma); 4 bits clip harder than 8 */
    build(ctx, &h, &rh, 1, gau, N);
    float m8, m4, e8, e4;
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_MSE, 0, 8, CLQ_SYMMETRIC, &lo, &m8));
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_MSE, 0, 4, CLQ_SYMMETRIC, &lo, &m4));
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_ENTROPY, 0, 8, CLQ_SYMMETRIC, &lo, &e8));
    TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_ENTROPY, 0, 4, CLQ_SYMMETRIC, &lo, &e4));
    cr_assert(m8 == ref_hist_mse(&rh, 8) && m4 == ref_hist_mse(&rh, 4), "mse %a %a", (double)m8, (double)m4);
    cr_assert(e8 == ref_hist_entropy(&rh, 8) && e4 == ref_hist_entropy(&rh, 4), "entropy %a / %a, %a / %a",
              (double)e8, (double)ref_hist_entropy(&rh, 8), (double)e4, (double)ref_hist_entropy(&rh, 4));
    cr_assert(m8 > 2.5f && m8 < h.hi && m4 < m8 && m4 > 1.0f, "mse of |N(0,1)|: 8-bit %g, 4-bit %g", (double)m8,
              (double)m4);
    cr_assert(e8 > 2.0f && e8 < h.hi && e4 <= e8, "entropy of |N(0,1)|: 8-bit %g, 4-bit %g", (double)e8,
              (double)e4);
    clq__hist_free(&h);
    ref_hist_free(&rh);

    /* L2 on [min, max]: uniform(-1, 1) keeps (nearly) all of it. With 4 outliers at each
     * of +-50 the greedy search takes one bin off the top, then its next move jumps r
     * from the outliers' bin to the body's (csum has nothing between), clipping 4 values
     * by ~49, and stops: [-50, 50 - one bin], as PyTorch's loop does. */
    float rlo, rhi;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (size_t i = 0; i < 8; i++) uni[i * 1000] = i % 2 ? 50.0f : -50.0f;
        build(ctx, &h, &rh, 0, uni, N);
        TC_OK(ctx, clq__hist_range(&h, CLQ_CALIB_L2, 0, 8, CLQ_AFFINE, &lo, &hi));
        ref_hist_l2(&rh, 8, &rlo, &rhi);
        cr_assert(lo == rlo && hi == rhi, "l2 [%a, %a], ref [%a, %a]", (double)lo, (double)hi,
                  (double)rlo, (double)rhi);
        if (pass == 0)
            cr_assert(lo <= -0.98f && hi >= 0.98f && lo >= h.lo && hi <= h.hi, "l2 of U(-1,1): [%g, %g]",
                      (double)lo, (double)hi);
        else
            cr_assert(lo == -50.0f && hi == 50.0f - 100.0f / 2048,
                      "l2 of U(-1,1) + outliers: [%g, %g]", (double)lo, (double)hi);
        clq__hist_free(&h);
        ref_hist_free(&rh);
    }
    free(uni);
    free(gau);
}

/* ---- serialisation ---- */

Test(histogram, state_roundtrip) {
    clq_context *ctx = tc_context(CLQ_BACKEND_CPU);
    clq_hist h, g;
    cr_assert_eq(clq__hist_init(&h, 5, 0), CLQ_SUCCESS);
    h.empty = 0, h.lo = -1.5f, h.hi = 2.0f;
    for (size_t b = 0; b < 5; b++) h.counts[b] = ((uint64_t)1 << 40) + b;
    size_t n = clq__hist_state_size(&h);
    cr_assert_eq(n, 20 + 40);
    unsigned char *s = malloc(n), *bad = malloc(n + 8);
    clq__hist_state_write(&h, s);
    cr_assert_eq(s[0], 5);
    cr_assert_eq(s[20 + 5], 1); /* counts[0] = 2^40: byte 5 */
    TC_OK(ctx, clq__hist_state_read(ctx, &g, s, n));
    cr_assert(g.nbins == 5 && !g.absolute && !g.empty && g.lo == -1.5f && g.hi == 2.0f);
    cr_assert(!memcmp(g.counts, h.counts, 5 * sizeof *g.counts));
    clq__hist_free(&g);
    struct {
        size_t at, bytes;
        unsigned char v;
        const char *msg;
    } cases[] = {{0, n, 0, "nbins"},     {0, n - 1, 5, "bytes"},    {8, n, 4, "flags"},
                 {15, n, 0x7f, "range"}, {19, n, 0xff, "range"},    {8, n, 2, "empty"},
                 {0, 10, 5, "header"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(bad, s, n);
        bad[cases[c].at] = cases[c].v;
        if (cases[c].at == 15) bad[14] = 0x80, bad[13] = 0x01; /* lo NaN */
        cr_assert_eq(clq__hist_state_read(ctx, &g, bad, cases[c].bytes), CLQ_ERROR_INVALID_ARGUMENT,
                     "case %zu (%s) accepted", c, cases[c].msg);
        cr_assert(g.counts == NULL);
        cr_assert(strstr(clq_context_error_message(ctx), "histogram state"), "%s",
                  clq_context_error_message(ctx));
    }
    free(s), free(bad);
    clq__hist_free(&h);
    clq_context_destroy(ctx);
}
