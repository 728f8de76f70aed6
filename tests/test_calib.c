/* test_calib.c: the calibrator's min/max methods on every backend against tests/ref's
 * observers, bit for bit: growing ranges, split batches, channels, views, types, NaN /
 * Inf / empty batches, the qparams of both profiles, save / load, and bad input. */
#include "common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One batch: f32 values uploaded as xtype (offset xoff elements), seen through v. */
typedef struct batch {
    clq_dtype xtype;
    ref_view v;
    const float *vals; /* ref_view_extent(v) values */
} batch;

static void *convert(const batch *b, size_t n) {
    size_t es = ref_elem_size(b->xtype);
    unsigned char *h = malloc(n * es + 1);
    for (size_t i = 0; i < n; i++) ref_store_float(b->xtype, h, i, b->vals[i]);
    return h;
}

/* Feeds b to the calibrator and the reference; both accept it or both refuse it. */
static clq_status feed(clq_context *ctx, clq_calibrator *cal, ref_observer *ro, const batch *b) {
    size_t ext = ref_view_extent(&b->v);
    void *h = convert(b, ext);
    clq_buffer *buf = tc_buffer(ctx, ext * ref_elem_size(b->xtype), h);
    clq_tensor t;
    clq_tensor_init(&t, b->xtype, b->v.ndim, b->v.shape, buf);
    memcpy(t.strides, b->v.strides, sizeof t.strides);
    t.offset = b->v.offset;
    clq_status st = clq_calibrator_observe(cal, &t);
    int rr = ro ? ref_observer_batch(ro, b->xtype, h, &b->v) : 0;
    if (ro)
        cr_assert((st == CLQ_SUCCESS) == (rr == 0), "observe: %s (%s), reference %d",
                  clq_status_string(st), clq_context_error_message(ctx), rr);
    clq_buffer_destroy(buf);
    free(h);
    return st;
}

static batch contiguous(clq_dtype t, int ndim, const size_t *shape, const float *vals) {
    batch b = {t, {ndim, {0}, {0}, 0}, vals};
    memcpy(b.v.shape, shape, sizeof(size_t) * (size_t)ndim);
    ref_contiguous_strides(ndim, shape, b.v.strides);
    return b;
}

static void check_range(clq_context *ctx, clq_calibrator *cal, const ref_observer *ro, const char *what) {
    size_t n = clq_calibrator_channels(cal);
    cr_assert_eq(n, ro->channels, "%s: channels %zu, reference %zu", what, n, ro->channels);
    cr_assert_eq(clq_calibrator_batches(cal), ro->batches, "%s: batches", what);
    float *mn = malloc(4 * n + 4), *mx = malloc(4 * n + 4);
    TC_OK(ctx, clq_calibrator_range(cal, mn, mx, n));
    for (size_t c = 0; c < n; c++) {
        float emn = ro->seen[c] ? ro->mn[c] : 0.0f, emx = ro->seen[c] ? ro->mx[c] : 0.0f;
        cr_assert(ref_f32_bits(mn[c]) == ref_f32_bits(emn) && ref_f32_bits(mx[c]) == ref_f32_bits(emx),
                  "%s (%s): channel %zu: range [%a, %a], reference [%a, %a]", what,
                  clq_context_device_name(ctx), c, mn[c], mx[c], emn, emx);
    }
    free(mn);
    free(mx);
}

/* Every qtype x scheme x narrow x profile, written at an offset between sentinels and
 * compared with the reference formula on the reference range. */
static void check_qparams(clq_context *ctx, clq_calibrator *cal, const ref_observer *ro, const char *what) {
    static const clq_dtype types[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};
    size_t n = ro->channels, off = 3, bytes = 4 * (n + off + 2);
    for (int t = 0; t < 4; t++)
        for (int scheme = 0; scheme < 2; scheme++)
            for (unsigned f = 0; f < 4; f++) {
                unsigned flags = (f & 1 ? CLQ_QPARAMS_NARROW_RANGE : 0) | (f & 2 ? CLQ_QPARAMS_PROFILE_PYTORCH : 0);
                clq_buffer *sb = tc_buffer(ctx, bytes, NULL), *zb = tc_buffer(ctx, bytes, NULL);
                clq_qparams qp;
                clq_qparams_init(&qp);
                qp.qtype = types[t];
                qp.scheme = (clq_scheme)scheme;
                qp.flags = flags;
                qp.granularity = ro->per_axis ? CLQ_PER_AXIS : CLQ_PER_TENSOR;
                qp.scale = sb;
                qp.scale_offset = off;
                qp.zero_point = zb;
                qp.zero_point_offset = off;
                TC_OK(ctx, clq_calibrator_qparams(cal, &qp));
                unsigned char *s = malloc(bytes), *z = malloc(bytes);
                tc_read(sb, bytes, s);
                tc_read(zb, bytes, z);
                for (size_t b = 0; b < bytes; b++)
                    if (b / 4 < off || b / 4 >= off + n)
                        cr_assert(s[b] == TC_SENTINEL && z[b] == TC_SENTINEL, "%s: byte %zu outside written", what, b);
                for (size_t c = 0; c < n; c++) {
                    float es, gs;
                    int32_t ez, gz;
                    ref_qparams_profile(ro->seen[c] ? ro->mn[c] : 0.0f, ro->seen[c] ? ro->mx[c] : 0.0f,
                                        (clq_scheme)scheme, types[t], flags, &es, &ez);
                    memcpy(&gs, s + 4 * (off + c), 4);
                    memcpy(&gz, z + 4 * (off + c), 4);
                    cr_assert(ref_f32_bits(gs) == ref_f32_bits(es) && gz == ez,
                              "%s (%s): %s scheme %d flags 0x%x channel %zu: scale %a zp %d, reference %a %d",
                              what, clq_context_device_name(ctx), clq_dtype_name(types[t]), scheme, flags, c, gs,
                              gz, es, ez);
                }
                free(s);
                free(z);
                clq_buffer_destroy(sb);
                clq_buffer_destroy(zb);
            }
}

static clq_calibrator *make(clq_context *ctx, clq_calib_method m, clq_granularity g, int axis, double c) {
    clq_calibrator_options o;
    clq_calibrator_options_init(&o);
    o.method = m;
    o.granularity = g;
    o.axis = axis;
    o.averaging_constant = c;
    clq_calibrator *cal = NULL;
    TC_OK(ctx, clq_calibrator_create(ctx, &o, &cal));
    return cal;
}

/* Ten batches whose ranges grow (and shrink) around a drifting centre. */
static float *growing(size_t per, size_t nb, uint64_t seed) {
    float *v = malloc(sizeof(float) * per * nb);
    tc_rng r;
    tc_rng_seed(&r, seed);
    for (size_t b = 0; b < nb; b++)
        for (size_t i = 0; i < per; i++)
            v[b * per + i] = (float)(b % 3 + 1) * (float)(b + 1) * tc_rng_normal(&r) + 0.25f * (float)b;
    return v;
}

TC_BACKEND_TEST(calib, minmax_split_equals_one_batch) {
    enum { PER = 97, NB = 10 };
    float *v = growing(PER, NB, 11);
    size_t all = PER * NB, per = PER;
    for (int m = CLQ_CALIB_MINMAX; m <= CLQ_CALIB_MOVING_AVERAGE; m++) {
        clq_calibrator *one = make(ctx, (clq_calib_method)m, CLQ_PER_TENSOR, 0, 0.25);
        clq_calibrator *ten = make(ctx, (clq_calib_method)m, CLQ_PER_TENSOR, 0, 0.25);
        ref_observer r1, r10;
        ref_observer_init(&r1, (clq_calib_method)m, 0, 0, 0.25);
        ref_observer_init(&r10, (clq_calib_method)m, 0, 0, 0.25);
        batch b = contiguous(CLQ_F32, 1, &all, v);
        TC_OK(ctx, feed(ctx, one, &r1, &b));
        for (size_t k = 0; k < NB; k++) {
            batch bk = contiguous(CLQ_F32, 1, &per, v + k * PER);
            TC_OK(ctx, feed(ctx, ten, &r10, &bk));
            check_range(ctx, ten, &r10, m == CLQ_CALIB_MINMAX ? "minmax growing" : "moving growing");
        }
        check_range(ctx, one, &r1, "one batch");
        float a0, a1, b0, b1;
        TC_OK(ctx, clq_calibrator_range(one, &a0, &a1, 1));
        TC_OK(ctx, clq_calibrator_range(ten, &b0, &b1, 1));
        if (m == CLQ_CALIB_MINMAX)
            cr_assert(a0 == b0 && a1 == b1, "minmax: one batch [%a, %a], ten [%a, %a]", a0, a1, b0, b1);
        else /* by definition: the average weighs the later batches */
            cr_assert(a0 != b0 || a1 != b1, "moving average: ten batches gave one batch's range");
        check_qparams(ctx, ten, &r10, "split");
        ref_observer_free(&r1);
        ref_observer_free(&r10);
        clq_calibrator_destroy(one);
        clq_calibrator_destroy(ten);
    }
    free(v);
}

TC_BACKEND_TEST(calib, per_channel_axes) {
    static const int axes[] = {0, 1, -1};
    size_t shape[3] = {4, 5, 6}, n = 120;
    float *v = growing(n, 4, 12);
    for (int m = CLQ_CALIB_MINMAX; m <= CLQ_CALIB_MOVING_AVERAGE; m++)
        for (int a = 0; a < 3; a++) {
            clq_calibrator *cal = make(ctx, (clq_calib_method)m, CLQ_PER_AXIS, axes[a], 0.01);
            cr_assert_eq(clq_calibrator_channels(cal), 0);
            ref_observer ro;
            ref_observer_init(&ro, (clq_calib_method)m, 1, axes[a], 0.01);
            for (int k = 0; k < 4; k++) {
                batch b = contiguous(CLQ_F32, 3, shape, v + k * n);
                TC_OK(ctx, feed(ctx, cal, &ro, &b));
                check_range(ctx, cal, &ro, "per channel");
            }
            check_qparams(ctx, cal, &ro, "per channel");
            ref_observer_free(&ro);
            clq_calibrator_destroy(cal);
        }
    free(v);
}

TC_BACKEND_TEST(calib, strided_and_half_types) {
    static const clq_dtype types[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    float *v = growing(19 * 23 + 40, 3, 13);
    for (int t = 0; t < 3; t++) {
        clq_calibrator *cal = make(ctx, CLQ_CALIB_MOVING_AVERAGE, CLQ_PER_AXIS, 1, 0.5);
        ref_observer ro;
        ref_observer_init(&ro, CLQ_CALIB_MOVING_AVERAGE, 1, 1, 0.5);
        for (int k = 0; k < 3; k++) {
            /* a transposed 19 x 23 view at offset 7, then a row-strided one */
            batch b = {types[t], {2, {19, 23}, {1, 19}, 7}, v + k * 450};
            if (k == 1) b.v = (ref_view){2, {17, 23}, {25, 1}, 3};
            TC_OK(ctx, feed(ctx, cal, &ro, &b));
            check_range(ctx, cal, &ro, clq_dtype_name(types[t]));
        }
        check_qparams(ctx, cal, &ro, "strided");
        ref_observer_free(&ro);
        clq_calibrator_destroy(cal);
    }
    free(v);
}

TC_BACKEND_TEST(calib, nan_inf_empty_batches) {
    size_t shape[2] = {3, 8}, empty[2] = {0, 8};
    float v[24], nan[24], inf[24];
    for (int i = 0; i < 24; i++) {
        v[i] = (float)(i - 9) * 0.5f;
        nan[i] = i % 8 == 5 ? NAN : (float)i; /* column 5 all NaN */
        inf[i] = i == 13 ? -INFINITY : 1.0f;
    }
    for (int g = 0; g < 2; g++) {
        clq_granularity gran = g ? CLQ_PER_AXIS : CLQ_PER_TENSOR;
        clq_calibrator *cal = make(ctx, CLQ_CALIB_MOVING_AVERAGE, gran, 1, 0.5);
        ref_observer ro;
        ref_observer_init(&ro, CLQ_CALIB_MOVING_AVERAGE, g, 1, 0.5);
        batch e = contiguous(CLQ_F32, 2, empty, v);
        TC_OK(ctx, feed(ctx, cal, &ro, &e)); /* counts, changes nothing */
        check_range(ctx, cal, &ro, "empty first");
        /* all NaN (ALL values), then a column of NaN next to zeros */
        float alln[24];
        tc_rng r;
        tc_rng_seed(&r, 5);
        for (int i = 0; i < 24; i++) alln[i] = tc_value(&r, TC_ALL_NAN);
        batch an = contiguous(CLQ_F32, 2, shape, alln);
        TC_OK(ctx, feed(ctx, cal, &ro, &an));
        check_range(ctx, cal, &ro, "all NaN");
        batch b = contiguous(CLQ_F32, 2, shape, v);
        TC_OK(ctx, feed(ctx, cal, &ro, &b));
        batch bn = contiguous(CLQ_F16, 2, shape, nan);
        TC_OK(ctx, feed(ctx, cal, &ro, &bn));
        check_range(ctx, cal, &ro, "NaN column");
        float z[24] = {0};
        z[3] = -0.0f;
        batch bz = contiguous(CLQ_BF16, 2, shape, z);
        TC_OK(ctx, feed(ctx, cal, &ro, &bz));
        check_range(ctx, cal, &ro, "zeros");
        inf[13] = -INFINITY;
        batch bi = contiguous(CLQ_F32, 2, shape, inf);
        clq_status st = feed(ctx, cal, &ro, &bi);
        cr_assert_eq(st, CLQ_ERROR_INVALID_ARGUMENT);
        cr_assert(tc_names(clq_context_error_message(ctx), "x"), "message: %s", clq_context_error_message(ctx));
        inf[13] = 1.0f;
        inf[2] = INFINITY;
        cr_assert_eq(feed(ctx, cal, &ro, &bi), CLQ_ERROR_INVALID_ARGUMENT);
        check_range(ctx, cal, &ro, "after Inf");
        check_qparams(ctx, cal, &ro, "NaN / Inf / empty");
        inf[2] = 1.0f;
        ref_observer_free(&ro);
        clq_calibrator_destroy(cal);
    }
}

/* clq_quantize_dynamic with the PyTorch profile: its parameters are the formula's. */
TC_BACKEND_TEST(calib, dynamic_profile) {
    size_t shape[2] = {6, 33}, n = 6 * 33;
    float *v = growing(n, 1, 14);
    v[7] = 0.0f;
    for (int t = 0; t < 2; t++)
        for (int scheme = 0; scheme < 2; scheme++) {
            clq_dtype qt = t ? CLQ_U8 : CLQ_S4;
            clq_buffer *xb = tc_buffer(ctx, 4 * n, v), *yb = tc_buffer(ctx, n, NULL);
            clq_buffer *sb = tc_buffer(ctx, 24, NULL), *zb = tc_buffer(ctx, 24, NULL);
            clq_tensor x, y;
            clq_tensor_init(&x, CLQ_F32, 2, shape, xb);
            clq_tensor_init(&y, qt, 2, shape, yb);
            clq_qparams qp;
            clq_qparams_init(&qp);
            qp.qtype = qt;
            qp.scheme = (clq_scheme)scheme;
            qp.granularity = CLQ_PER_AXIS;
            qp.flags = CLQ_QPARAMS_PROFILE_PYTORCH;
            qp.scale = sb;
            qp.zero_point = zb;
            TC_OK(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y));
            float mn[6], mx[6], s[6];
            int32_t z[6];
            ref_view rv = {2, {6, 33}, {33, 1}, 0};
            ref_gran g = {CLQ_PER_AXIS, 0, 0};
            ref_minmax(CLQ_F32, v, &rv, &g, mn, mx);
            tc_read(sb, 24, s);
            tc_read(zb, 24, z);
            for (int c = 0; c < 6; c++) {
                float es;
                int32_t ez;
                ref_qparams_pytorch(mn[c], mx[c], (clq_scheme)scheme, qt, 0, &es, &ez);
                cr_assert(ref_f32_bits(es) == ref_f32_bits(s[c]) && ez == z[c],
                          "dynamic %s scheme %d row %d: %a %d, reference %a %d", clq_dtype_name(qt), scheme, c,
                          s[c], z[c], es, ez);
            }
            clq_buffer_destroy(xb);
            clq_buffer_destroy(yb);
            clq_buffer_destroy(sb);
            clq_buffer_destroy(zb);
        }
    free(v);
}

static unsigned char *save_state(clq_context *ctx, clq_calibrator *cal, size_t *bytes) {
    TC_OK(ctx, clq_calibrator_state_size(cal, bytes));
    unsigned char *p = malloc(*bytes);
    TC_OK(ctx, clq_calibrator_save(cal, p, *bytes));
    return p;
}

TC_BACKEND_TEST(calib, save_and_resume) {
    size_t shape[2] = {5, 9}, n = 45;
    float *v = growing(n, 8, 15);
    for (int m = CLQ_CALIB_MINMAX; m <= CLQ_CALIB_MOVING_AVERAGE; m++)
        for (int g = 0; g < 2; g++) {
            clq_granularity gran = g ? CLQ_PER_AXIS : CLQ_PER_TENSOR;
            clq_calibrator *whole = make(ctx, (clq_calib_method)m, gran, -1, 0.125);
            clq_calibrator *part = make(ctx, (clq_calib_method)m, gran, -1, 0.125);
            ref_observer ro;
            ref_observer_init(&ro, (clq_calib_method)m, g, -1, 0.125);
            size_t bytes;
            unsigned char *p = save_state(ctx, part, &bytes); /* before any batch */
            clq_calibrator *fresh = NULL;
            TC_OK(ctx, clq_calibrator_load(ctx, p, bytes, &fresh));
            cr_assert_eq(clq_calibrator_channels(fresh), g ? 0u : 1u);
            clq_calibrator_destroy(fresh);
            free(p);
            for (int k = 0; k < 8; k++) {
                batch b = contiguous(CLQ_F32, 2, shape, v + k * n);
                TC_OK(ctx, feed(ctx, whole, &ro, &b));
                if (k == 3) {
                    p = save_state(ctx, part, &bytes);
                    clq_calibrator_destroy(part);
                    part = NULL;
                    TC_OK(ctx, clq_calibrator_load(ctx, p, bytes, &part));
                    free(p);
                }
                TC_OK(ctx, feed(ctx, part, NULL, &b));
            }
            check_range(ctx, part, &ro, "resumed");
            check_qparams(ctx, part, &ro, "resumed");
            ref_observer_free(&ro);
            clq_calibrator_destroy(whole);
            clq_calibrator_destroy(part);
        }
    free(v);
}

/* Each corruption is refused, naming its field, and gives no calibrator. */
TC_BACKEND_TEST(calib, load_validates) {
    size_t shape[2] = {2, 3};
    float v[6] = {-1, 2, 3, -4, 5, 6};
    clq_calibrator *cal = make(ctx, CLQ_CALIB_MINMAX, CLQ_PER_AXIS, 0, 0.01);
    batch b = contiguous(CLQ_F32, 2, shape, v);
    TC_OK(ctx, feed(ctx, cal, NULL, &b));
    size_t bytes;
    unsigned char *good = save_state(ctx, cal, &bytes);
    cr_assert_eq(bytes, 60u + 2 * 9);
    static const struct {
        size_t at;
        unsigned char val;
        const char *word;
    } bad[] = {
        {0, 'X', "magic"},       {6, 2, "version"},       {8, 9, "method"},
        {12, 2, "granularity"},  {16, 40, "axis"},        {27, 0x7f, "averaging_constant"},
        {29, 0, "bins"},         {43, 0xff, "percentile"}, {52, 0, "channels"},
        {60, 2, "seen"},         {65, 0xff, "min"},       {73, 0x7f, "max"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *p = malloc(bytes);
        memcpy(p, good, bytes);
        p[bad[i].at] = bad[i].val;
        if (bad[i].at == 73) p[72] = 0x80, p[71] = 0, p[70] = 0; /* max[0] = +Inf */
        clq_calibrator *out = (clq_calibrator *)(uintptr_t)1;
        clq_status st = clq_calibrator_load(ctx, p, bytes, &out);
        cr_assert_eq(st, CLQ_ERROR_INVALID_ARGUMENT, "corruption %zu (%s): %s", i, bad[i].word, clq_status_string(st));
        cr_assert(tc_names(clq_context_error_message(ctx), bad[i].word), "corruption %zu: message \"%s\" lacks %s", i,
                  clq_context_error_message(ctx), bad[i].word);
        cr_assert(out == (clq_calibrator *)(uintptr_t)1, "a refused state gave a calibrator");
        free(p);
    }
    clq_calibrator *out = NULL;
    cr_assert_eq(clq_calibrator_load(ctx, good, bytes - 1, &out), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert(tc_names(clq_context_error_message(ctx), "bytes"));
    cr_assert_eq(clq_calibrator_load(ctx, good, 10, &out), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(clq_calibrator_save(cal, good, bytes - 1), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert(tc_names(clq_context_error_message(ctx), "bytes"));
    free(good);
    clq_calibrator_destroy(cal);
}

static void expect(clq_context *ctx, clq_status got, clq_status want, const char *word, const char *what) {
    cr_assert_eq(got, want, "%s: %s, expected %s (%s)", what, clq_status_string(got), clq_status_string(want),
                 clq_context_error_message(ctx));
    cr_assert(tc_names(clq_context_error_message(ctx), word), "%s: message \"%s\" does not name %s", what,
              clq_context_error_message(ctx), word);
}

TC_BACKEND_TEST(calib, bad_input) {
    clq_calibrator *cal = NULL;
    clq_calibrator_options o;
    static const struct {
        int field;
        double val;
        clq_status st;
        const char *word;
    } opts[] = {
        {0, 0, CLQ_ERROR_INVALID_ARGUMENT, "method"},       {0, 7, CLQ_ERROR_INVALID_ARGUMENT, "method"},
        {1, 2, CLQ_ERROR_INVALID_ARGUMENT, "granularity"},  {2, 8, CLQ_ERROR_INVALID_ARGUMENT, "axis"},
        {3, 0, CLQ_ERROR_INVALID_ARGUMENT, "averaging_constant"},
        {3, 1.5, CLQ_ERROR_INVALID_ARGUMENT, "averaging_constant"},
        {3, NAN, CLQ_ERROR_INVALID_ARGUMENT, "averaging_constant"},
        {4, 15, CLQ_ERROR_INVALID_ARGUMENT, "bins"},        {4, 1e9, CLQ_ERROR_INVALID_ARGUMENT, "bins"},
        {5, 0, CLQ_ERROR_INVALID_ARGUMENT, "percentile"},   {5, 100.5, CLQ_ERROR_INVALID_ARGUMENT, "percentile"},
        {6, 0, CLQ_ERROR_INVALID_ARGUMENT, "struct_size"},  {7, 0, CLQ_ERROR_UNSUPPORTED, "granularity"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        clq_calibrator_options_init(&o);
        o.granularity = CLQ_PER_AXIS;
        switch (opts[i].field) {
        case 0: o.method = (clq_calib_method)(int)opts[i].val; break;
        case 1: o.granularity = (clq_granularity)(int)opts[i].val; break;
        case 2: o.axis = (int)opts[i].val; break;
        case 3: o.averaging_constant = opts[i].val; break;
        case 4: o.bins = (size_t)opts[i].val; break;
        case 5: o.percentile = opts[i].val; break;
        case 6: o.struct_size = 0; break;
        case 7: o.method = CLQ_CALIB_MSE; break;
        }
        cal = (clq_calibrator *)(uintptr_t)1;
        expect(ctx, clq_calibrator_create(ctx, &o, &cal), opts[i].st, opts[i].word, "options");
        cr_assert(cal == (clq_calibrator *)(uintptr_t)1, "options %zu: out written", i);
    }
    clq_calibrator_options_init(&o);
    o.granularity = CLQ_PER_AXIS;
    o.axis = 2;
    TC_OK(ctx, clq_calibrator_create(ctx, &o, &cal));
    size_t s2[2] = {3, 4}, s3[3] = {3, 4, 5}, s3b[3] = {3, 4, 6}, s0[3] = {3, 4, 0};
    float v[72] = {0};
    clq_buffer *xb = tc_buffer(ctx, sizeof v, v);
    clq_tensor x;
    clq_tensor_init(&x, CLQ_F32, 2, s2, xb);
    expect(ctx, clq_calibrator_observe(cal, &x), CLQ_ERROR_INVALID_ARGUMENT, "axis", "axis 2 of 2-d");
    expect(ctx, clq_calibrator_observe(cal, NULL), CLQ_ERROR_INVALID_ARGUMENT, "x", "NULL x");
    clq_tensor_init(&x, CLQ_S8, 3, s3, xb);
    expect(ctx, clq_calibrator_observe(cal, &x), CLQ_ERROR_INVALID_ARGUMENT, "x", "s8 x");
    clq_tensor_init(&x, CLQ_F32, 3, s0, xb);
    expect(ctx, clq_calibrator_observe(cal, &x), CLQ_ERROR_INVALID_ARGUMENT, "x", "0 channels");
    cr_assert_eq(clq_calibrator_batches(cal), 0u);
    cr_assert_eq(clq_calibrator_channels(cal), 0u);
    clq_qparams qp;
    clq_qparams_init(&qp);
    clq_buffer *sb = tc_buffer(ctx, 64, NULL), *zb = tc_buffer(ctx, 64, NULL);
    qp.scale = sb;
    qp.zero_point = zb;
    qp.granularity = CLQ_PER_AXIS;
    expect(ctx, clq_calibrator_qparams(cal, &qp), CLQ_ERROR_INVALID_ARGUMENT, "cal", "no batch yet");
    clq_tensor_init(&x, CLQ_F32, 3, s3, xb);
    TC_OK(ctx, clq_calibrator_observe(cal, &x));
    clq_tensor_init(&x, CLQ_F32, 3, s3b, xb);
    expect(ctx, clq_calibrator_observe(cal, &x), CLQ_ERROR_INVALID_ARGUMENT, "x", "channel mismatch");
    float r[8];
    expect(ctx, clq_calibrator_range(cal, r, r, 4), CLQ_ERROR_INVALID_ARGUMENT, "count", "range count");
    expect(ctx, clq_calibrator_range(cal, NULL, r, 5), CLQ_ERROR_INVALID_ARGUMENT, "min", "range NULL");
    qp.granularity = CLQ_PER_TENSOR;
    expect(ctx, clq_calibrator_qparams(cal, &qp), CLQ_ERROR_INVALID_ARGUMENT, "granularity", "granularity");
    qp.granularity = CLQ_PER_AXIS;
    qp.qtype = CLQ_F32;
    expect(ctx, clq_calibrator_qparams(cal, &qp), CLQ_ERROR_INVALID_ARGUMENT, "qtype", "qtype");
    qp.qtype = CLQ_U8;
    qp.flags = 0x100;
    expect(ctx, clq_calibrator_qparams(cal, &qp), CLQ_ERROR_INVALID_ARGUMENT, "flags", "flags");
    qp.flags = 0;
    qp.zero_point = NULL;
    expect(ctx, clq_calibrator_qparams(cal, &qp), CLQ_ERROR_INVALID_ARGUMENT, "zero_point", "no zero point");
    qp.zero_point = zb;
    qp.scale_offset = 14;
    expect(ctx, clq_calibrator_qparams(cal, &qp), CLQ_ERROR_OUT_OF_BOUNDS, "scale", "scale too short");
    tc_assert_untouched(sb, 64, "qp->scale");
    tc_assert_untouched(zb, 64, "qp->zero_point");
    cr_assert_eq(clq_calibrator_batches(cal), 1u);
    cr_assert_eq(clq_calibrator_observe(NULL, &x), CLQ_ERROR_INVALID_ARGUMENT);
    clq_calibrator_destroy(NULL);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_calibrator_destroy(cal);
}

/* The histogram methods through the object (their searches are test_calib_hist's):
 * qparams are the formula's of clq_calibrator_range (8-bit, the scheme the range uses),
 * and a state saved midway and resumed gives the same range. */
TC_BACKEND_TEST(calib, histogram_methods_wired) {
    static const clq_calib_method methods[] = {CLQ_CALIB_PERCENTILE, CLQ_CALIB_MSE, CLQ_CALIB_ENTROPY,
                                               CLQ_CALIB_L2};
    size_t n = 400;
    float *v = growing(n, 4, 16);
    for (int m = 0; m < 4; m++) {
        clq_calibrator_options o;
        clq_calibrator_options_init(&o);
        o.method = methods[m];
        o.bins = 256;
        o.percentile = 99.0;
        clq_calibrator *cal = NULL, *part = NULL;
        TC_OK(ctx, clq_calibrator_create(ctx, &o, &cal));
        TC_OK(ctx, clq_calibrator_create(ctx, &o, &part));
        for (int k = 0; k < 4; k++) {
            batch b = contiguous(k == 2 ? CLQ_F16 : CLQ_F32, 1, &n, v + k * n);
            TC_OK(ctx, feed(ctx, cal, NULL, &b));
            if (k == 2) {
                size_t bytes;
                unsigned char *p = save_state(ctx, part, &bytes);
                clq_calibrator_destroy(part);
                part = NULL;
                TC_OK(ctx, clq_calibrator_load(ctx, p, bytes, &part));
                free(p);
            }
            TC_OK(ctx, feed(ctx, part, NULL, &b));
        }
        float lo, hi, plo, phi;
        TC_OK(ctx, clq_calibrator_range(cal, &lo, &hi, 1));
        TC_OK(ctx, clq_calibrator_range(part, &plo, &phi, 1));
        cr_assert(ref_f32_bits(lo) == ref_f32_bits(plo) && ref_f32_bits(hi) == ref_f32_bits(phi),
                  "method %d: resumed range [%a, %a], one run [%a, %a]", (int)methods[m], plo, phi, lo, hi);
        cr_assert(lo <= hi && hi > 0.0f, "method %d: range [%g, %g]", (int)methods[m], lo, hi);
        /* the range as a one-channel reference state, against the qparams the object writes */
        ref_observer ro;
        ref_observer_init(&ro, CLQ_CALIB_MINMAX, 0, 0, 0.01);
        ro.mn = malloc(4);
        ro.mx = malloc(4);
        ro.seen = malloc(1);
        ro.mn[0] = lo;
        ro.mx[0] = hi;
        ro.seen[0] = 1;
        clq_qparams qp;
        clq_qparams_init(&qp);
        clq_buffer *sb = tc_buffer(ctx, 4, NULL), *zb = tc_buffer(ctx, 4, NULL);
        qp.qtype = methods[m] == CLQ_CALIB_L2 ? CLQ_U8 : CLQ_S8;
        qp.scheme = methods[m] == CLQ_CALIB_L2 ? CLQ_AFFINE : CLQ_SYMMETRIC;
        qp.scale = sb;
        qp.zero_point = zb;
        for (unsigned f = 0; f < 2; f++) {
            qp.flags = f ? CLQ_QPARAMS_PROFILE_PYTORCH : 0;
            TC_OK(ctx, clq_calibrator_qparams(cal, &qp));
            float s, es;
            int32_t z, ez;
            tc_read(sb, 4, &s);
            tc_read(zb, 4, &z);
            ref_qparams_profile(lo, hi, qp.scheme, qp.qtype, qp.flags, &es, &ez);
            cr_assert(ref_f32_bits(s) == ref_f32_bits(es) && z == ez, "method %d flags %u: %a %d, range gives %a %d",
                      (int)methods[m], f, s, z, es, ez);
        }
        ref_observer_free(&ro);
        clq_buffer_destroy(sb);
        clq_buffer_destroy(zb);
        clq_calibrator_destroy(cal);
        clq_calibrator_destroy(part);
    }
    free(v);
}
