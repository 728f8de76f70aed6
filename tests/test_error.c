/* test_error.c: clq_tensor_error and clq_quantization_error on every backend against
 * tests/ref, bit for bit (the documented chunk and lane order), the f32 sums within the
 * stated bound of plain double sums, CPU thread counts and the two backends against
 * each other, and bad input (status, message, out untouched). */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const clq_dtype qtypes[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};

/* One call: x (and y, or qparams), its statistics granularity. */
typedef struct ecase {
    const char *name;
    clq_dtype xtype, ytype; /* ytype 0: quantization mode */
    int ndim;
    size_t shape[3];
    clq_granularity sgran;
    int saxis;
    /* quantization mode */
    clq_dtype qtype;
    clq_granularity qgran;
    int qaxis;
    size_t block;
    clq_rounding rounding;
    unsigned qflags;
    tc_values values;
    int xstrided; /* x a transposed view of a 2-D tensor (shape [a, b] over [b, a] memory) */
    uint64_t seed;
} ecase;

static int same_double(double a, double b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static void assert_same(const ecase *c, const char *what, size_t g, const clq_error_stats *want,
                        const clq_error_stats *got) {
    const double *w = &want->mse, *h = &got->mse;
    static const char *names[] = {"mse", "max_abs", "mean_abs", "snr_db", "cosine"};
    cr_assert_eq(got->count, want->count, "%s (%s, seed %llu) granule %zu: count %llu, expected %llu",
                 c->name, what, (unsigned long long)c->seed, g, (unsigned long long)got->count,
                 (unsigned long long)want->count);
    for (int i = 0; i < 5; i++)
        cr_assert(same_double(w[i], h[i]), "%s (%s, seed %llu) granule %zu: %s = %.17g (%a), expected %.17g (%a)",
                  c->name, what, (unsigned long long)c->seed, g, names[i], h[i], h[i], w[i], w[i]);
}

static size_t ngran_of(const ecase *c) {
    if (c->sgran != CLQ_PER_AXIS) return 1;
    return c->shape[c->saxis < 0 ? c->saxis + c->ndim : c->saxis];
}

/* Device tensor of type t holding the n values v (stored row-major, or transposed). */
static clq_buffer *upload_values(clq_context *ctx, const ecase *c, clq_dtype t, const float *v,
                                 size_t n, clq_tensor *out) {
    size_t es = ref_elem_size(t);
    char *h = malloc(n * es + 1);
    for (size_t i = 0; i < n; i++) {
        size_t at = i;
        if (c->xstrided) at = (i % c->shape[1]) * c->shape[0] + i / c->shape[1];
        ref_store_float(t, h, at, v[i]);
    }
    clq_buffer *b = tc_buffer(ctx, n * es, h);
    free(h);
    TC_OK(ctx, clq_tensor_init(out, t, c->ndim, c->shape, b));
    if (c->xstrided) {
        out->strides[0] = 1;
        out->strides[1] = (ptrdiff_t)c->shape[0];
    }
    return b;
}

/* Values exactly representable in t. */
static void make_values(tc_rng *r, clq_dtype t, tc_values kind, float *v, size_t n) {
    char tmp[4];
    for (size_t i = 0; i < n; i++) {
        ref_store_float(t, tmp, 0, tc_value(r, kind));
        v[i] = ref_load_float(t, tmp, 0);
    }
}

/* Runs c on ctx; writes the statistics to got (ngran of them) when given. */
static void run_case(clq_context *ctx, const ecase *c, clq_error_stats *got_out) {
    size_t n = ref_numel(c->ndim, c->shape), ng = ngran_of(c);
    tc_rng r;
    tc_rng_seed(&r, c->seed ? c->seed : 7);
    float *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
    clq_dtype xt = c->xtype ? c->xtype : CLQ_F32;
    if (c->values != TC_HALFWAY) make_values(&r, xt, c->values, x, n); /* else below */
    clq_error_options o;
    clq_error_options_init(&o);
    o.granularity = c->sgran;
    o.axis = c->saxis;
    clq_error_stats *got = calloc(ng + 1, sizeof *got), *want = calloc(ng + 1, sizeof *want);
    clq_tensor xtn, ytn;
    clq_buffer *xb = NULL, *yb = NULL, *sb = NULL, *zb = NULL;
    if (c->ytype) {
        xb = upload_values(ctx, c, xt, x, n, &xtn);
        /* y: x plus a small error, and the value kind's specials of its own */
        for (size_t i = 0; i < n; i++) {
            float d = tc_value(&r, c->values == TC_SPECIAL ? TC_SPECIAL : TC_NORMAL) * 0.01f;
            char tmp[4];
            ref_store_float(c->ytype, tmp, 0, x[i] + d);
            y[i] = ref_load_float(c->ytype, tmp, 0);
        }
        yb = upload_values(ctx, c, c->ytype, y, n, &ytn);
        TC_OK(ctx, clq_tensor_error(ctx, &xtn, &ytn, &o, got, ng));
    } else {
        ref_gran g = {c->qgran, c->qaxis, c->block};
        size_t np = ref_param_count(&g, c->ndim, c->shape);
        float *scale = malloc((np + 1) * sizeof *scale);
        int32_t *zp = malloc((np + 1) * sizeof *zp), *q = malloc((n + 1) * sizeof *q);
        int qmin, qmax, narrow = (c->qflags & CLQ_QPARAMS_NARROW_RANGE) != 0;
        ref_qrange(c->qtype, narrow, &qmin, &qmax);
        for (size_t p = 0; p < np; p++) {
            scale[p] = c->values == TC_HALFWAY && p % 2 ? 0.1f : tc_rng_logscale(&r, 0.005f, 0.5f);
            zp[p] = tc_rng_int(&r, qmin, qmax);
        }
        if (c->values == TC_HALFWAY) /* (k + 0.5) * scale, and in f32 one ulp beside it */
            for (size_t i = 0, idx[CLQ_MAX_DIMS]; i < n; i++) {
                ref_unravel(c->ndim, c->shape, i, idx);
                size_t p = ref_param_index(&g, c->ndim, c->shape, idx);
                float v = ((float)tc_rng_int(&r, qmin - zp[p] - 2, qmax - zp[p] + 1) + 0.5f) * scale[p];
                int d = xt == CLQ_F32 ? tc_rng_int(&r, 0, 3) : 0;
                if (d >= 2) v = ref_bits_f32(ref_f32_bits(v) + (d == 2 ? UINT32_MAX : 1u));
                char tmp[4];
                ref_store_float(xt, tmp, 0, v);
                x[i] = ref_load_float(xt, tmp, 0);
            }
        xb = upload_values(ctx, c, xt, x, n, &xtn);
        sb = tc_buffer(ctx, 4 * np, scale);
        zb = tc_buffer(ctx, 4 * np, zp);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = c->qtype;
        qp.granularity = c->qgran;
        qp.axis = c->qaxis;
        qp.block_size = c->block;
        qp.rounding = c->rounding;
        qp.flags = c->qflags;
        qp.scale = sb;
        qp.zero_point = zb;
        TC_OK(ctx, clq_quantization_error(ctx, &xtn, &qp, &o, got, ng));
        ref_view v = {c->ndim, {0}, {0}, 0};
        memcpy(v.shape, c->shape, sizeof c->shape);
        ref_contiguous_strides(c->ndim, c->shape, v.strides);
        ref_quantize(CLQ_F32, x, &v, &g, scale, zp, c->qtype, narrow, c->rounding,
                     (c->qflags & CLQ_QPARAMS_RECIPROCAL) != 0, q);
        size_t idx[CLQ_MAX_DIMS];
        for (size_t i = 0; i < n; i++) {
            ref_unravel(c->ndim, c->shape, i, idx);
            size_t p = ref_param_index(&g, c->ndim, c->shape, idx);
            y[i] = ref_dequantize_one(q[i], scale[p], zp[p]);
        }
        free(scale);
        free(zp);
        free(q);
    }
    ref_error_sums *ch = calloc(ng + 1, sizeof *ch), *pl = calloc(ng + 1, sizeof *pl);
    ref_error_sums *ab = calloc(ng + 1, sizeof *ab);
    ref_error_stats(c->ndim, c->shape, x, y, c->sgran, c->saxis, want, ch, pl, ab);
    char what[96];
    snprintf(what, sizeof what, "%s, %s", clq_context_device_name(ctx), tc_values_name(c->values));
    for (size_t g = 0; g < ng; g++) {
        assert_same(c, what, g, &want[g], &got[g]);
        /* the documented order against plain double sums of the same f32 terms */
        for (int s = 0; s < 6; s++) {
            if (s == 2 || !isfinite(pl[g].s[s])) continue;
            if (isinf(ch[g].s[s])) { /* an f32 chunk sum overflowed: only near FLT_MAX */
                cr_assert(ab[g].s[s] >= 0x1p127, "%s granule %zu sum %d: Inf from %g", c->name, g, s,
                          ab[g].s[s]);
                continue;
            }
            double d = fabs(ch[g].s[s] - pl[g].s[s]), bound = ref_error_bound(ab[g].s[s]);
            cr_assert(d <= bound, "%s granule %zu sum %d: chunked %.17g vs double %.17g, off %g > %g",
                      c->name, g, s, ch[g].s[s], pl[g].s[s], d, bound);
        }
    }
    if (got_out) memcpy(got_out, got, ng * sizeof *got);
    free(ch);
    free(pl);
    free(ab);
    free(got);
    free(want);
    free(x);
    free(y);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
}

/* Each case per tensor and per axis 0, 1 (when 2-d or more) and -1. */
static void run_granularities(clq_context *ctx, ecase c) {
    run_case(ctx, &c, NULL);
    c.sgran = CLQ_PER_AXIS;
    int axes[] = {0, 1, -1};
    for (int a = 0; a < 3; a++) {
        if (c.ndim == 0 || (axes[a] == 1 && c.ndim < 2)) continue;
        c.saxis = axes[a];
        c.seed += 1;
        run_case(ctx, &c, NULL);
    }
}

TC_BACKEND_TEST(error, tensor_shapes) {
    static const struct {
        int ndim;
        size_t shape[3];
    } shapes[] = {{1, {0}},      {3, {5, 0, 3}}, {0, {0}},     {1, {7}},        {2, {23, 19}},
                  {3, {7, 13, 29}}, {2, {3, 5000}}, {2, {5000, 3}}, {1, {20011}}, {2, {70, 130}}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        ecase c = {.name = "tensor shapes", .xtype = CLQ_F32, .ytype = CLQ_F32, .ndim = shapes[s].ndim,
                   .seed = 10 + 10 * s};
        memcpy(c.shape, shapes[s].shape, sizeof c.shape);
        run_granularities(ctx, c);
    }
}

TC_BACKEND_TEST(error, tensor_types_and_values) {
    static const clq_dtype t[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_ALL_NAN, TC_ZERO, TC_HUGE, TC_DENORMAL};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                ecase c = {.name = "tensor types", .xtype = t[a], .ytype = t[b], .ndim = 2,
                           .shape = {37, 61}, .values = kinds[k], .seed = 100 + 30 * a + 10 * b + k};
                run_granularities(ctx, c);
            }
}

TC_BACKEND_TEST(error, tensor_vs_itself) {
    size_t shape[2] = {33, 257}, n = 33 * 257;
    float *v = malloc(n * sizeof *v);
    tc_rng r;
    tc_rng_seed(&r, 5);
    for (size_t i = 0; i < n; i++) v[i] = tc_value(&r, TC_NORMAL);
    clq_buffer *b = tc_buffer(ctx, n * 4, v);
    clq_tensor x;
    TC_OK(ctx, clq_tensor_init(&x, CLQ_F32, 2, shape, b));
    clq_error_stats s;
    TC_OK(ctx, clq_tensor_error(ctx, &x, &x, NULL, &s, 1));
    cr_assert_eq(s.count, n);
    cr_assert(s.mse == 0.0 && s.max_abs == 0.0 && s.mean_abs == 0.0, "mse %g max %g mean %g", s.mse,
              s.max_abs, s.mean_abs);
    cr_assert(isinf(s.snr_db) && s.snr_db > 0, "snr %g", s.snr_db);
    cr_assert(s.cosine == 1.0, "cosine %.17g", s.cosine);
    clq_error_stats rows[33];
    clq_error_options o;
    clq_error_options_init(&o);
    o.granularity = CLQ_PER_AXIS;
    TC_OK(ctx, clq_tensor_error(ctx, &x, &x, &o, rows, 33));
    for (int i = 0; i < 33; i++) cr_assert(rows[i].cosine == 1.0 && rows[i].count == 257);
    clq_buffer_destroy(b);
    free(v);
}

TC_BACKEND_TEST(error, tensor_strided) {
    ecase c = {.name = "transposed x and y", .xtype = CLQ_F32, .ytype = CLQ_F16, .ndim = 2,
               .shape = {23, 45}, .xstrided = 1, .seed = 300};
    run_granularities(ctx, c);
    c.xtype = CLQ_BF16;
    c.values = TC_SPECIAL;
    c.name = "transposed, quantization";
    c.ytype = 0;
    c.qtype = CLQ_U8;
    c.qgran = CLQ_PER_AXIS;
    c.qaxis = 1;
    run_granularities(ctx, c);
}

/* Inputs on ties and near them: the fast quantize paths' fallbacks (CPU Q_FAST, OpenCL
 * quantv_fast) per tensor, per axis and per block, every rounding form. */
TC_BACKEND_TEST(error, quantization_halfway) {
    for (int t = 0; t < 4; t++)
        for (int m = 0; m < 4; m++) {
            ecase c = {.name = "halfway", .xtype = CLQ_F32, .ndim = 2, .shape = {17, 515},
                       .qtype = qtypes[t], .qgran = (clq_granularity)(m % 3), .qaxis = 1, .block = 32,
                       .values = TC_HALFWAY, .rounding = (m & 1) ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN,
                       .qflags = (m & 2) ? CLQ_QPARAMS_RECIPROCAL : 0, .seed = 4000 + 4 * t + m};
            run_case(ctx, &c, NULL);
        }
}

TC_BACKEND_TEST(error, quantization_every_qtype) {
    static const struct {
        clq_granularity g;
        int axis;
        size_t block;
    } qg[] = {{CLQ_PER_TENSOR, 0, 0}, {CLQ_PER_AXIS, 0, 0},  {CLQ_PER_AXIS, -1, 0},
              {CLQ_PER_BLOCK, 1, 8},  {CLQ_PER_BLOCK, 0, 5}, {CLQ_PER_BLOCK, -1, 32}};
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < sizeof qg / sizeof qg[0]; i++) {
            ecase c = {.name = "quantization", .xtype = CLQ_F32, .ndim = 2, .shape = {29, 67},
                       .qtype = qtypes[t], .qgran = qg[i].g, .qaxis = qg[i].axis, .block = qg[i].block,
                       .seed = 1000 + 10 * t + i};
            run_granularities(ctx, c);
        }
}

TC_BACKEND_TEST(error, quantization_modes_and_inputs) {
    static const clq_dtype xt[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_HUGE, TC_ALL_NAN, TC_HALFWAY};
    for (int x = 0; x < 3; x++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            for (int m = 0; m < 4; m++) {
                ecase c = {.name = "quantization modes", .xtype = xt[x], .ndim = 3, .shape = {5, 11, 48},
                           .qtype = qtypes[(x + m) % 4], .qgran = m < 2 ? CLQ_PER_AXIS : CLQ_PER_BLOCK,
                           .qaxis = m < 2 ? 1 : 2, .block = 16, .values = kinds[k],
                           .rounding = (m & 1) ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN,
                           .qflags = (m & 2 ? CLQ_QPARAMS_RECIPROCAL : 0) |
                                     (m == 3 ? CLQ_QPARAMS_NARROW_RANGE : 0),
                           .seed = 2000 + 100 * x + 10 * k + m};
                run_granularities(ctx, c);
            }
}

/* Layouts whose rows of 16 share one parameter (the CPU path's fused kernels take them,
 * cpu_error.c fused_ok): per tensor, per axis with inner a multiple of 16, blocks along
 * the last axis (16 and 32: AVX-512 only; 128 and more: AVX2 too; a partial last block
 * too), several chunks per granule;
 * every qtype, rounding, reciprocal and narrow mode, input type and value kind. */
TC_BACKEND_TEST(error, quantization_row_layouts) {
    static const struct {
        int ndim;
        size_t shape[3];
        clq_granularity g;
        int axis;
        size_t block;
    } lay[] = {{2, {3, 4800}, CLQ_PER_TENSOR, 0, 0}, {2, {5, 4800}, CLQ_PER_AXIS, 0, 0},
               {3, {2, 3, 1056}, CLQ_PER_AXIS, 1, 0}, {2, {6, 400}, CLQ_PER_BLOCK, 1, 128},
               {2, {4, 1024}, CLQ_PER_BLOCK, -1, 256}, {2, {6, 512}, CLQ_PER_BLOCK, -1, 32},
               {3, {2, 3, 1040}, CLQ_PER_BLOCK, 2, 16}};
    static const clq_dtype xt[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_HALFWAY, TC_HUGE};
    for (size_t l = 0; l < sizeof lay / sizeof lay[0]; l++)
        for (int m = 0; m < 4; m++) {
            ecase c = {.name = "row layouts", .xtype = xt[(l + m) % 3], .ndim = lay[l].ndim,
                       .qtype = qtypes[(l + m) % 4], .qgran = lay[l].g, .qaxis = lay[l].axis,
                       .block = lay[l].block, .values = kinds[(l + 3 * m) % 4],
                       .rounding = (m & 1) ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN,
                       .qflags = (m & 2 ? CLQ_QPARAMS_RECIPROCAL : 0) |
                                 (m == 3 ? CLQ_QPARAMS_NARROW_RANGE : 0),
                       .seed = 5000 + 10 * l + m};
            memcpy(c.shape, lay[l].shape, sizeof c.shape);
            run_granularities(ctx, c);
        }
}

/* Several chunks per granule, and a long granule per axis (the CPU tasks and the work
 * items both cut at chunk bounds). */
TC_BACKEND_TEST(error, many_chunks) {
    ecase a = {.name = "many chunks tensor", .xtype = CLQ_F32, .ytype = CLQ_BF16, .ndim = 2,
               .shape = {9, 40009}, .values = TC_NORMAL, .seed = 3000};
    run_granularities(ctx, a);
    ecase q = {.name = "many chunks quantization", .xtype = CLQ_F16, .ndim = 2, .shape = {40009, 9},
               .qtype = CLQ_S4, .qgran = CLQ_PER_BLOCK, .qaxis = 0, .block = 64, .seed = 3100};
    run_granularities(ctx, q);
    /* blocks along the last axis: chunks (4096 positions) that start inside a block,
     * a partial block at each row's end (1000 = 20 x 48 + 40), rows crossing chunks */
    ecase b = {.name = "many chunks, last-axis blocks", .xtype = CLQ_F32, .ndim = 2,
               .shape = {37, 1000}, .qtype = CLQ_U4, .qgran = CLQ_PER_BLOCK, .qaxis = -1,
               .block = 48, .values = TC_HALFWAY, .seed = 3200};
    run_granularities(ctx, b);
}

static clq_context *cpu_context_threads(int threads) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_CPU;
    o.flags |= CLQ_CONTEXT_IGNORE_ENV;
    o.cpu_threads = threads;
    return tc_context_opts(&o);
}

/* The bits do not depend on the CPU thread count, nor on the backend. */
Test(error, threads_and_backends) {
    static const ecase cases[] = {
        {.name = "x-backend tensor", .xtype = CLQ_F32, .ytype = CLQ_F32, .ndim = 2, .shape = {61, 3001},
         .sgran = CLQ_PER_AXIS, .saxis = -1, .seed = 41},
        {.name = "x-backend quantization", .xtype = CLQ_F32, .ndim = 2, .shape = {61, 3001},
         .qtype = CLQ_U8, .qgran = CLQ_PER_AXIS, .qaxis = 0, .seed = 42},
        {.name = "x-backend per tensor", .xtype = CLQ_F16, .ndim = 1, .shape = {150001},
         .qtype = CLQ_S8, .seed = 43},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t ng = ngran_of(&cases[i]);
        clq_error_stats *a = calloc(ng, sizeof *a), *b = calloc(ng, sizeof *b);
        clq_context *c1 = cpu_context_threads(1);
        run_case(c1, &cases[i], a);
        clq_context_destroy(c1);
        clq_context *c3 = cpu_context_threads(3);
        run_case(c3, &cases[i], b);
        clq_context_destroy(c3);
        for (size_t g = 0; g < ng; g++) assert_same(&cases[i], "1 vs 3 threads", g, &a[g], &b[g]);
        clq_context_options o;
        clq_context_options_init(&o);
        o.backend = CLQ_BACKEND_OPENCL;
        o.flags |= CLQ_CONTEXT_IGNORE_ENV;
        o.cache_dir = getenv("CLQ_CACHE_DIR");
        clq_context *cl = NULL;
        if (clq_context_create(&o, &cl) == CLQ_SUCCESS) {
            run_case(cl, &cases[i], b);
            clq_context_destroy(cl);
            for (size_t g = 0; g < ng; g++) assert_same(&cases[i], "cpu vs opencl", g, &a[g], &b[g]);
        }
        free(a);
        free(b);
    }
}

/* ---- bad input ------------------------------------------------------------ */

typedef struct bad_env {
    clq_context *ctx;
    clq_buffer *xb, *sb, *zb, *bad_sb;
    clq_tensor x, y, yq;
    clq_qparams qp;
    clq_error_options o;
    clq_error_stats out[8];
} bad_env;

static void bad_setup(clq_context *ctx, bad_env *e) {
    memset(e, 0, sizeof *e);
    e->ctx = ctx;
    size_t shape[2] = {4, 8};
    float v[32], s[8] = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f}, bad[1] = {-1.0f};
    int32_t z[8] = {0};
    for (int i = 0; i < 32; i++) v[i] = (float)i * 0.25f;
    e->xb = tc_buffer(ctx, sizeof v, v);
    e->sb = tc_buffer(ctx, sizeof s, s);
    e->zb = tc_buffer(ctx, sizeof z, z);
    e->bad_sb = tc_buffer(ctx, sizeof bad, bad);
    TC_OK(ctx, clq_tensor_init(&e->x, CLQ_F32, 2, shape, e->xb));
    TC_OK(ctx, clq_tensor_init(&e->y, CLQ_F32, 2, shape, e->xb));
    TC_OK(ctx, clq_tensor_init(&e->yq, CLQ_S8, 2, shape, e->xb));
    clq_qparams_init(&e->qp);
    e->qp.scale = e->sb;
    e->qp.zero_point = e->zb;
    clq_error_options_init(&e->o);
    memset(e->out, TC_SENTINEL, sizeof e->out);
}

static void bad_teardown(bad_env *e) {
    unsigned char s[sizeof e->out];
    memset(s, TC_SENTINEL, sizeof s);
    cr_assert(memcmp(s, e->out, sizeof s) == 0, "out was written by a failing call");
    clq_buffer_destroy(e->xb);
    clq_buffer_destroy(e->sb);
    clq_buffer_destroy(e->zb);
    clq_buffer_destroy(e->bad_sb);
}

static void expect(bad_env *e, clq_status st, clq_status want, const char *word) {
    const char *msg = clq_context_error_message(e->ctx);
    cr_assert_eq(st, want, "expected %s, got %s (%s)", clq_status_string(want), clq_status_string(st), msg);
    cr_assert(tc_contains(msg, word), "message \"%s\" does not name %s", msg, word);
}

TC_BACKEND_TEST(error, bad_input) {
    bad_env e;
    bad_setup(ctx, &e);
    clq_error_stats *o = e.out;
    expect(&e, clq_tensor_error(ctx, NULL, &e.y, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "x");
    expect(&e, clq_tensor_error(ctx, &e.x, NULL, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "y");
    expect(&e, clq_tensor_error(ctx, &e.x, &e.yq, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "y->dtype");
    expect(&e, clq_tensor_error(ctx, &e.x, &e.y, NULL, o, 2), CLQ_ERROR_INVALID_ARGUMENT, "count");
    expect(&e, clq_tensor_error(ctx, &e.x, &e.y, NULL, NULL, 1), CLQ_ERROR_INVALID_ARGUMENT, "out");
    clq_tensor y3 = e.y;
    y3.shape[1] = 7;
    expect(&e, clq_tensor_error(ctx, &e.x, &y3, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "y->shape[1]");
    e.o.granularity = CLQ_PER_AXIS;
    e.o.axis = 2;
    expect(&e, clq_tensor_error(ctx, &e.x, &e.y, &e.o, o, 8), CLQ_ERROR_INVALID_ARGUMENT, "options->axis");
    e.o.axis = -1;
    expect(&e, clq_tensor_error(ctx, &e.x, &e.y, &e.o, o, 4), CLQ_ERROR_INVALID_ARGUMENT, "count");
    e.o.granularity = CLQ_PER_BLOCK;
    expect(&e, clq_tensor_error(ctx, &e.x, &e.y, &e.o, o, 1), CLQ_ERROR_INVALID_ARGUMENT,
           "options->granularity");
    e.o.struct_size = 0;
    expect(&e, clq_tensor_error(ctx, &e.x, &e.y, &e.o, o, 1), CLQ_ERROR_INVALID_ARGUMENT,
           "options->struct_size");
    expect(&e, clq_quantization_error(ctx, &e.yq, &e.qp, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "x->dtype");
    expect(&e, clq_quantization_error(ctx, &e.x, NULL, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "qp");
    e.qp.granularity = CLQ_PER_AXIS;
    e.qp.axis = 1;
    e.qp.scale_offset = 1; /* 8 scales from 1: one past the buffer */
    expect(&e, clq_quantization_error(ctx, &e.x, &e.qp, NULL, o, 1), CLQ_ERROR_OUT_OF_BOUNDS, "qp->scale");
    e.qp.granularity = CLQ_PER_TENSOR;
    e.qp.scale_offset = 0;
    e.qp.scale = e.bad_sb;
    expect(&e, clq_quantization_error(ctx, &e.x, &e.qp, NULL, o, 1), CLQ_ERROR_INVALID_QPARAMS, "qp->scale[0]");
    e.qp.scale = e.sb;
    e.qp.qtype = CLQ_F32;
    expect(&e, clq_quantization_error(ctx, &e.x, &e.qp, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT, "qp->qtype");
    cr_assert_eq(clq_tensor_error(NULL, &e.x, &e.y, NULL, o, 1), CLQ_ERROR_INVALID_ARGUMENT);
    bad_teardown(&e);
}
