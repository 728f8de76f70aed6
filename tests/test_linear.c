/* test_linear.c: clq_linear on every backend: each weight scheme x activation type x
 * granularity gives the bits of the same chain of public calls (clq_quantize_dynamic,
 * clq_weights_pack, clq_quantize[_dynamic]_groupsums, clq_gemm) and stays within the bound of
 * docs/NUMERICS.md ("Quantized linear layer") of the f32 layer (tests/ref); f16 / bf16 x,
 * batch dims, strided x, static qparams (clq_calibrator, clq_qparams_from_minmax), ggml Q4_0
 * weights, the memory report, bad input. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "ref/ref_ggml.h"

typedef struct lin_case {
    const char *name;
    clq_linear_scheme scheme;
    size_t g;              /* 4-bit schemes: 0 means 32 */
    clq_dtype act;         /* 0: u8 */
    clq_linear_activations gran;
    clq_dtype xtype;       /* 0: f32 */
    clq_dtype wtype;       /* 0: f32 */
    int ndim;              /* 0: 2 ([5, K]) */
    size_t shape[3];       /* x's shape, last = K */
    int strided;           /* x's last dim at stride 2, offset 3 */
    int no_bias;
    int static_qp;         /* static activation qparams of x: 1 clq_calibrator, 2 min/max */
    size_t n;              /* 0: 19 */
} lin_case;

#define LIN_K 80 /* groups of 32: 32 + 32 + 16; of 64: 64 + 16; of 128: one of 80 */

typedef struct lin_data {
    size_t m, n, k, rows_x;
    float *x;    /* [m][k], as the layer sees it (f16 / bf16 values widened) */
    float *w;    /* [n][k], likewise */
    float *bias; /* [n] or NULL */
    clq_tensor xt, wt;
    clq_buffer *xb, *wb, *bb;
} lin_data;

static size_t case_g(const lin_case *c) { return c->g ? c->g : 32; }
static int scheme_grouped(clq_linear_scheme s) {
    return s == CLQ_LINEAR_S4_GROUP || s == CLQ_LINEAR_U4_GROUP;
}

/* A float tensor of this shape holding vals (stored as dtype, read back widened into vals). */
static clq_buffer *float_tensor(clq_context *ctx, clq_dtype dt, int ndim, const size_t *shape,
                                int strided, float *vals, size_t count, clq_tensor *t) {
    size_t es = ref_elem_size(dt), off = strided ? 3 : 0, step = strided ? 2 : 1;
    size_t elems = off + count * step + 1;
    unsigned char *h = malloc(elems * es);
    memset(h, TC_SENTINEL, elems * es);
    for (size_t i = 0; i < count; i++) {
        ref_store_float(dt, h, off + i * step, vals[i]);
        vals[i] = ref_load_float(dt, h, off + i * step);
    }
    clq_buffer *b = tc_buffer(ctx, elems * es, h);
    free(h);
    clq_tensor_init(t, dt, ndim, shape, b);
    if (strided) {
        ptrdiff_t s = 2;
        for (int d = ndim - 1; d >= 0; d--) t->strides[d] = s, s *= (ptrdiff_t)shape[d];
        t->offset = off;
    }
    return b;
}

static void make_data(clq_context *ctx, const lin_case *c, uint64_t seed, lin_data *d) {
    memset(d, 0, sizeof *d);
    int ndim = c->ndim ? c->ndim : 2;
    size_t shape[3] = {5, LIN_K, 0};
    if (c->ndim) memcpy(shape, c->shape, sizeof shape);
    d->k = shape[ndim - 1];
    d->n = c->n ? c->n : 19;
    d->m = 1;
    for (int i = 0; i < ndim - 1; i++) d->m *= shape[i];
    tc_rng r;
    tc_rng_seed(&r, seed);
    d->x = malloc(d->m * d->k * sizeof *d->x + 4);
    d->w = malloc(d->n * d->k * sizeof *d->w);
    for (size_t i = 0; i < d->m * d->k; i++) /* rows of different ranges, some all > 0 */
        d->x[i] = (i / d->k) % 3 == 2 ? tc_rng_range(&r, 0.5f, 3.0f)
                                       : tc_rng_normal(&r) * (float)(1 + (i / d->k) % 4);
    for (size_t i = 0; i < d->n * d->k; i++)
        d->w[i] = tc_rng_normal(&r) * 0.05f * (float)(1 + (i / d->k) % 3 + (i % d->k) / 40);
    d->xb = float_tensor(ctx, c->xtype ? c->xtype : CLQ_F32, ndim, shape, c->strided, d->x,
                         d->m * d->k, &d->xt);
    size_t wshape[2] = {d->n, d->k};
    d->wb = float_tensor(ctx, c->wtype ? c->wtype : CLQ_F32, 2, wshape, 0, d->w, d->n * d->k,
                         &d->wt);
    if (!c->no_bias) {
        d->bias = malloc(d->n * sizeof *d->bias);
        for (size_t j = 0; j < d->n; j++) d->bias[j] = tc_rng_range(&r, -1.0f, 1.0f);
        d->bb = tc_buffer(ctx, d->n * 4, d->bias);
    }
}

static void free_data(lin_data *d) {
    free(d->x), free(d->w), free(d->bias);
    clq_buffer_destroy(d->xb), clq_buffer_destroy(d->wb), clq_buffer_destroy(d->bb);
}

/* The weights' and activations' qparams as docs/API.md states the layer chooses them. */
static void weight_qp(const lin_case *c, size_t k, clq_qparams *qp) {
    clq_qparams_init(qp);
    clq_linear_scheme s = c->scheme;
    qp->scheme = s == CLQ_LINEAR_U4_GROUP ? CLQ_AFFINE : CLQ_SYMMETRIC;
    qp->qtype = s == CLQ_LINEAR_S4_GROUP ? CLQ_S4 : s == CLQ_LINEAR_U4_GROUP ? CLQ_U4 : CLQ_S8;
    qp->granularity = s == CLQ_LINEAR_S8_CHANNEL ? CLQ_PER_AXIS
                      : s == CLQ_LINEAR_S8_TENSOR ? CLQ_PER_TENSOR
                                                  : CLQ_PER_BLOCK;
    qp->axis = s == CLQ_LINEAR_S8_CHANNEL ? 0 : 1;
    qp->block_size = case_g(c) < k ? case_g(c) : k;
}

static void act_qp(const lin_case *c, size_t k, clq_qparams *qp) {
    clq_qparams_init(qp);
    qp->qtype = c->act ? c->act : CLQ_U8;
    qp->scheme = qp->qtype == CLQ_U8 ? CLQ_AFFINE : CLQ_SYMMETRIC;
    if (c->gran == CLQ_LINEAR_PER_TOKEN) {
        qp->granularity = CLQ_PER_BLOCK;
        qp->axis = -1;
        qp->block_size = k;
    }
}

/* Static activation qparams of x: from a min/max calibrator that observed x (static_qp
 * 1), or from x's min/max and the formula (static_qp 2). */
static void static_qparams(clq_context *ctx, const lin_case *c, const lin_data *d, clq_qparams *qp) {
    act_qp(c, d->k, qp);
    qp->scale = tc_buffer(ctx, 4, NULL);
    qp->zero_point = tc_buffer(ctx, 4, NULL);
    if (qp->qtype == CLQ_S8) { /* symmetric signed: zero point 0 */
        int32_t z = 0;
        TC_OK(ctx, clq_buffer_write(qp->zero_point, 0, 4, &z));
    }
    if (c->static_qp == 1) {
        clq_calibrator *cal = NULL;
        TC_OK(ctx, clq_calibrator_create(ctx, NULL, &cal));
        TC_OK(ctx, clq_calibrator_observe(cal, &d->xt));
        TC_OK(ctx, clq_calibrator_qparams(cal, qp));
        clq_calibrator_destroy(cal);
        return;
    }
    clq_buffer *mn = tc_buffer(ctx, 4, NULL), *mx = tc_buffer(ctx, 4, NULL);
    TC_OK(ctx, clq_minmax(ctx, &d->xt, qp, mn, 0, mx, 0));
    TC_OK(ctx, clq_qparams_from_minmax(ctx, mn, 0, mx, 0, 1, qp));
    clq_buffer_destroy(mn), clq_buffer_destroy(mx);
}

/* The layer's computation through the public lower-level calls. */
static void manual_forward(clq_context *ctx, const lin_case *c, const lin_data *d,
                           const clq_qparams *sqp, const clq_tensor *y) {
    clq_qparams wq;
    weight_qp(c, d->k, &wq);
    size_t nw = 0, wbytes = 0, shape[2] = {d->n, d->k};
    TC_OK(ctx, clq_qparams_count(&wq, 2, shape, &nw));
    clq_tensor wqt;
    clq_tensor_init(&wqt, wq.qtype, 2, shape, NULL);
    TC_OK(ctx, clq_tensor_bytes(&wqt, &wbytes));
    wqt.buffer = tc_buffer(ctx, wbytes, NULL);
    wq.scale = tc_buffer(ctx, nw * 4, NULL);
    if (wq.scheme == CLQ_AFFINE) wq.zero_point = tc_buffer(ctx, nw * 4, NULL);
    TC_OK(ctx, clq_quantize_dynamic(ctx, &d->wt, &wq, &wqt));
    wq.block_size = case_g(c);
    clq_packed_weights *pw = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &wqt, &wq, 0, &pw));

    clq_qparams aq;
    if (sqp) aq = *sqp;
    else act_qp(c, d->k, &aq);
    size_t na = c->gran == CLQ_LINEAR_PER_TOKEN ? d->m : 1;
    clq_buffer *as = NULL, *az = NULL;
    if (!sqp) {
        aq.scale = as = tc_buffer(ctx, na * 4, NULL);
        if (aq.qtype == CLQ_U8) aq.zero_point = az = tc_buffer(ctx, na * 4, NULL);
    }
    clq_tensor at = d->xt;
    clq_tensor_init(&at, aq.qtype, d->xt.ndim, d->xt.shape, tc_buffer(ctx, d->m * d->k, NULL));
    /* row sums (per row and weight group for grouped weights), as the GEMM takes them */
    size_t g = scheme_grouped(c->scheme) && case_g(c) < d->k ? case_g(c) : 0;
    size_t nsums = g ? d->m * ((d->k + g - 1) / g) : d->m;
    clq_buffer *rs = tc_buffer(ctx, nsums * 4, NULL);
    if (sqp) TC_OK(ctx, clq_quantize_groupsums(ctx, &d->xt, &aq, &at, g, rs, 0));
    else TC_OK(ctx, clq_quantize_dynamic_groupsums(ctx, &d->xt, &aq, &at, g, rs, 0));
    aq.flags |= CLQ_QPARAMS_TRUSTED;
    clq_gemm_options go;
    clq_gemm_options_init(&go);
    go.bias = d->bb;
    go.a_rowsums = rs;
    clq_tensor a2 = at, y2 = *y;
    if (at.ndim == 1) { /* clq_gemm takes rows */
        a2.ndim = y2.ndim = 2;
        a2.shape[0] = y2.shape[0] = 1;
        a2.shape[1] = d->k, y2.shape[1] = d->n;
        a2.strides[0] = (ptrdiff_t)d->k, a2.strides[1] = 1;
        y2.strides[0] = (ptrdiff_t)d->n, y2.strides[1] = 1;
    }
    TC_OK(ctx, clq_gemm(ctx, &a2, &aq, pw, &go, &y2));
    clq_weights_destroy(pw);
    clq_buffer_destroy(wqt.buffer), clq_buffer_destroy(wq.scale), clq_buffer_destroy(wq.zero_point);
    clq_buffer_destroy(as), clq_buffer_destroy(az), clq_buffer_destroy(at.buffer);
    clq_buffer_destroy(rs);
}

/* |y - y_f32| <= sum_k (|x_k| eb_k + |w_k| ea + ea eb_k) + f32 slack, with ea = da / 2 and
 * eb_k = db_k / 2 the largest quantization errors (each widened by the f32 rounding of x / s),
 * the slack (G + 4) 2^-24 sum_k (|x_k| + ea)(|w_k| + eb_k) + 2^-24 |b| for G groups
 * folded in f32 (docs/NUMERICS.md, "Quantized linear layer"). da of x's row, db of w's granule. */
static double lin_bound(size_t k, const float *x, const float *w, double da, const double *db,
                        size_t groups, float bias) {
    double q = 0.0, mag = 0.0;
    for (size_t c = 0; c < k; c++) {
        double ax = fabs((double)x[c]), aw = fabs((double)w[c]);
        double ea = da / 2 * (1 + 0x1p-20) + ax * 0x1p-22;
        double eb = db[c] / 2 * (1 + 0x1p-20) + aw * 0x1p-22;
        q += ax * eb + aw * ea + ea * eb;
        mag += (ax + ea) * (aw + eb);
    }
    return q + (double)(groups + 4) * 0x1p-24 * mag + 0x1p-24 * fabs((double)bias) + 1e-30;
}

/* Scales of the reference quantization: x's per row (index m) and w's per element. */
static void ref_scales(const lin_case *c, const lin_data *d, const clq_qparams *sqp_host_scale,
                       float static_scale, double *da, double *db) {
    clq_qparams wq, aq;
    weight_qp(c, d->k, &wq);
    act_qp(c, d->k, &aq);
    size_t wshape[2] = {d->n, d->k}, xshape[2] = {d->m, d->k};
    ref_gran wg = {wq.granularity, wq.axis, wq.block_size};
    ref_gran ag = {aq.granularity, aq.axis, aq.block_size};
    ref_view wv = {2, {d->n, d->k}, {(ptrdiff_t)d->k, 1}, 0};
    ref_view xv = {2, {d->m, d->k}, {(ptrdiff_t)d->k, 1}, 0};
    size_t nw = ref_param_count(&wg, 2, wshape), na = ref_param_count(&ag, 2, xshape);
    float *mn = malloc((nw + na) * sizeof *mn), *mx = malloc((nw + na) * sizeof *mx);
    ref_minmax(CLQ_F32, d->w, &wv, &wg, mn, mx);
    for (size_t e = 0; e < d->n * d->k; e++) {
        size_t idx[2] = {e / d->k, e % d->k};
        size_t p = ref_param_index(&wg, 2, wshape, idx);
        float s;
        int32_t z;
        ref_qparams(mn[p], mx[p], wq.scheme, wq.qtype, 0, &s, &z);
        db[e] = s;
    }
    ref_minmax(CLQ_F32, d->x, &xv, &ag, mn, mx);
    for (size_t m = 0; m < d->m; m++) {
        float s;
        int32_t z;
        ref_qparams(mn[na > 1 ? m : 0], mx[na > 1 ? m : 0], aq.scheme, aq.qtype, 0, &s, &z);
        da[m] = sqp_host_scale ? static_scale : s;
    }
    free(mn), free(mx);
}

static void check_bound(const lin_case *c, const lin_data *d, const float *y, const double *da,
                        const double *db, size_t groups) {
    double *yr = malloc(d->m * d->n * sizeof *yr);
    ref_linear_f64(d->m, d->n, d->k, d->x, d->w, d->bias, yr);
    for (size_t m = 0; m < d->m; m++)
        for (size_t j = 0; j < d->n; j++) {
            double b = lin_bound(d->k, d->x + m * d->k, d->w + j * d->k, da[m], db + j * d->k,
                                 groups, d->bias ? d->bias[j] : 0.0f);
            double e = fabs((double)y[m * d->n + j] - yr[m * d->n + j]);
            cr_assert(e <= b, "%s: y[%zu][%zu] = %.9g, f32 layer %.9g: error %.3g > bound %.3g",
                      c->name, m, j, (double)y[m * d->n + j], yr[m * d->n + j], e, b);
        }
    free(yr);
}

/* One case: the layer against the public chain (bits) and the f32 layer (bound). */
static void run_case(clq_context *ctx, const lin_case *c, uint64_t seed) {
    lin_data d;
    make_data(ctx, c, seed, &d);
    clq_qparams sqp;
    float s_host = 0.0f;
    if (c->static_qp) {
        static_qparams(ctx, c, &d, &sqp);
        tc_read(sqp.scale, 4, &s_host);
    }
    clq_linear_options o;
    clq_linear_options_init(&o);
    o.scheme = c->scheme;
    o.group_size = case_g(c);
    o.act_type = c->act ? c->act : CLQ_U8;
    o.act_granularity = c->gran;
    o.act_qparams = c->static_qp ? &sqp : NULL;
    o.bias = d.bb;
    clq_linear *L = NULL;
    TC_OK(ctx, clq_linear_create(ctx, &d.wt, &o, &L));
    size_t ny = d.m * d.n;
    clq_tensor y1, y2;
    size_t ys[CLQ_MAX_DIMS];
    memcpy(ys, d.xt.shape, sizeof ys);
    ys[d.xt.ndim - 1] = d.n;
    clq_tensor_init(&y1, CLQ_F32, d.xt.ndim, ys, tc_buffer(ctx, ny * 4, NULL));
    y2 = y1;
    y2.buffer = tc_buffer(ctx, ny * 4, NULL);
    TC_OK(ctx, clq_linear_forward(L, &d.xt, &y1));
    manual_forward(ctx, c, &d, c->static_qp ? &sqp : NULL, &y2);
    float *h1 = malloc(ny * 4), *h2 = malloc(ny * 4);
    tc_read(y1.buffer, ny * 4, h1);
    tc_read(y2.buffer, ny * 4, h2);
    for (size_t i = 0; i < ny; i++)
        cr_assert(memcmp(h1 + i, h2 + i, 4) == 0,
                  "%s: y[%zu] = %.9g (0x%08x) but the public chain gives %.9g (0x%08x)", c->name,
                  i, (double)h1[i], ref_f32_bits(h1[i]), (double)h2[i], ref_f32_bits(h2[i]));
    double *da = malloc(d.m * sizeof *da), *db = malloc(d.n * d.k * sizeof *db);
    ref_scales(c, &d, c->static_qp ? &sqp : NULL, s_host, da, db);
    size_t groups = scheme_grouped(c->scheme) ? (d.k + case_g(c) - 1) / case_g(c) : 1;
    check_bound(c, &d, h1, da, db, groups);
    /* a second forward (buffers kept) gives the same bits */
    TC_OK(ctx, clq_linear_forward(L, &d.xt, &y2));
    tc_read(y2.buffer, ny * 4, h2);
    cr_assert(memcmp(h1, h2, ny * 4) == 0, "%s: a second forward differs", c->name);
    clq_linear_destroy(L);
    if (c->static_qp) clq_buffer_destroy(sqp.scale), clq_buffer_destroy(sqp.zero_point);
    free(h1), free(h2), free(da), free(db);
    clq_buffer_destroy(y1.buffer), clq_buffer_destroy(y2.buffer);
    free_data(&d);
}

TC_BACKEND_TEST(linear, schemes) {
    static const clq_linear_scheme schemes[] = {CLQ_LINEAR_S8_CHANNEL, CLQ_LINEAR_S8_TENSOR,
                                                CLQ_LINEAR_S4_GROUP, CLQ_LINEAR_U4_GROUP};
    static const char *names[] = {"s8-channel", "s8-tensor", "s4-g32", "u4-g32"};
    static const clq_dtype acts[] = {CLQ_U8, CLQ_S8};
    for (int s = 0; s < 4; s++)
        for (int a = 0; a < 2; a++)
            for (int g = 0; g < 2; g++) {
                char name[96];
                snprintf(name, sizeof name, "%s %s per %s", names[s], clq_dtype_name(acts[a]),
                         g ? "token" : "tensor");
                lin_case c = {.name = name, .scheme = schemes[s], .act = acts[a],
                              .gran = g ? CLQ_LINEAR_PER_TOKEN : CLQ_LINEAR_PER_TENSOR};
                run_case(ctx, &c, 100 + (uint64_t)(s * 4 + a * 2 + g));
            }
}

TC_BACKEND_TEST(linear, group_sizes) {
    for (int s = 0; s < 2; s++)
        for (size_t g = 64; g <= 128; g *= 2) {
            lin_case c = {.name = s ? "u4 group" : "s4 group",
                          .scheme = s ? CLQ_LINEAR_U4_GROUP : CLQ_LINEAR_S4_GROUP, .g = g,
                          .act = s ? CLQ_U8 : CLQ_S8, .gran = CLQ_LINEAR_PER_TOKEN};
            run_case(ctx, &c, 200 + g + (uint64_t)s);
        }
}

TC_BACKEND_TEST(linear, inputs) {
    lin_case cases[] = {
        {.name = "f16 x", .xtype = CLQ_F16, .gran = CLQ_LINEAR_PER_TOKEN},
        {.name = "bf16 x u4", .xtype = CLQ_BF16, .scheme = CLQ_LINEAR_U4_GROUP},
        {.name = "f16 weights", .wtype = CLQ_F16, .scheme = CLQ_LINEAR_S4_GROUP, .act = CLQ_S8},
        {.name = "bf16 weights", .wtype = CLQ_BF16},
        {.name = "batch [2,3,K]", .ndim = 3, .shape = {2, 3, LIN_K}, .gran = CLQ_LINEAR_PER_TOKEN},
        {.name = "batch [2,3,K] u4", .ndim = 3, .shape = {2, 3, LIN_K},
         .scheme = CLQ_LINEAR_U4_GROUP},
        {.name = "strided x", .strided = 1, .gran = CLQ_LINEAR_PER_TOKEN, .act = CLQ_S8},
        {.name = "strided bf16 batch u4", .strided = 1, .xtype = CLQ_BF16, .ndim = 3,
         .shape = {2, 3, LIN_K}, .scheme = CLQ_LINEAR_U4_GROUP, .gran = CLQ_LINEAR_PER_TOKEN},
        {.name = "1-D x", .ndim = 1, .shape = {LIN_K}, .gran = CLQ_LINEAR_PER_TOKEN},
        {.name = "no bias", .no_bias = 1, .scheme = CLQ_LINEAR_S8_TENSOR},
        {.name = "one row, odd K", .ndim = 2, .shape = {1, 37}, .scheme = CLQ_LINEAR_S4_GROUP,
         .n = 33},
        {.name = "tall, N = 1", .ndim = 2, .shape = {70, 48}, .n = 1, .act = CLQ_S8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(ctx, &cases[i], 300 + i);
}

TC_BACKEND_TEST(linear, static_qparams) {
    lin_case cases[] = {
        {.name = "static u8 s8-channel", .static_qp = 1},
        {.name = "static s8 s8-channel", .static_qp = 1, .act = CLQ_S8},
        {.name = "static u8 u4 (qparams_from_minmax)", .static_qp = 2,
         .scheme = CLQ_LINEAR_U4_GROUP},
        {.name = "static s8 s4 batch", .static_qp = 1, .act = CLQ_S8, .scheme = CLQ_LINEAR_S4_GROUP,
         .ndim = 3, .shape = {2, 3, LIN_K}},
        {.name = "static u8 u4 strided (qparams_from_minmax)", .static_qp = 2,
         .scheme = CLQ_LINEAR_U4_GROUP, .strided = 1, .gran = CLQ_LINEAR_PER_TENSOR},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(ctx, &cases[i], 400 + i);
}

/* ggml Q4_0 rows (n x k) made by ggml's reference quantizer. */
static unsigned char *q4_0_rows(size_t n, size_t k, uint64_t seed, float *deq) {
    size_t rb = k / 32 * REF_GGML_Q4_0_BYTES;
    unsigned char *blocks = malloc(n * rb);
    float *row = malloc(k * sizeof *row);
    tc_rng r;
    tc_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < k; j++) row[j] = tc_rng_normal(&r) * 0.05f;
        ref_ggml_quantize_row_q4_0(row, blocks + i * rb, k);
        ref_ggml_dequantize_row_q4_0(blocks + i * rb, deq + i * k, k);
    }
    free(row);
    return blocks;
}

TC_BACKEND_TEST(linear, create_packed_q4_0) {
    const size_t n = 21, k = 96, m = 4;
    float *wd = malloc(n * k * sizeof *wd);
    unsigned char *blocks = q4_0_rows(n, k, 77, wd);
    clq_weights_import_desc desc;
    clq_weights_import_desc_init(&desc);
    desc.layout = CLQ_LAYOUT_GGML_Q4_0, desc.n = n, desc.k = k;
    desc.data = blocks, desc.data_bytes = n * (k / 32) * REF_GGML_Q4_0_BYTES;
    clq_packed_weights *w1 = NULL, *w2 = NULL;
    TC_OK(ctx, clq_weights_import(ctx, &desc, &w1));
    TC_OK(ctx, clq_weights_import(ctx, &desc, &w2));
    lin_case c = {.name = "Q4_0", .ndim = 2, .shape = {m, k}, .n = n};
    lin_data d;
    make_data(ctx, &c, 78, &d);
    for (int a = 0; a < 2; a++) {
        clq_linear_options o;
        clq_linear_options_init(&o);
        o.act_type = a ? CLQ_S8 : CLQ_U8;
        o.act_granularity = a ? CLQ_LINEAR_PER_TOKEN : CLQ_LINEAR_PER_TENSOR;
        o.bias = d.bb;
        clq_linear *L = NULL;
        TC_OK(ctx, clq_linear_create_packed(ctx, a ? w2 : w1, &o, &L));
        size_t ys[2] = {m, n};
        clq_tensor y1, y2;
        clq_tensor_init(&y1, CLQ_F32, 2, ys, tc_buffer(ctx, m * n * 4, NULL));
        clq_tensor_init(&y2, CLQ_F32, 2, ys, tc_buffer(ctx, m * n * 4, NULL));
        TC_OK(ctx, clq_linear_forward(L, &d.xt, &y1));
        /* the public chain on a third import of the same blocks */
        clq_packed_weights *w3 = NULL;
        TC_OK(ctx, clq_weights_import(ctx, &desc, &w3));
        lin_case ca = {.act = o.act_type, .gran = o.act_granularity};
        clq_qparams aq;
        act_qp(&ca, k, &aq);
        size_t na = a ? m : 1;
        aq.scale = tc_buffer(ctx, na * 4, NULL);
        aq.zero_point = a ? NULL : tc_buffer(ctx, na * 4, NULL);
        clq_tensor at;
        clq_tensor_init(&at, aq.qtype, 2, d.xt.shape, tc_buffer(ctx, m * k, NULL));
        TC_OK(ctx, clq_quantize_dynamic(ctx, &d.xt, &aq, &at));
        aq.flags |= CLQ_QPARAMS_TRUSTED;
        clq_gemm_options go;
        clq_gemm_options_init(&go);
        go.bias = d.bb;
        TC_OK(ctx, clq_gemm(ctx, &at, &aq, w3, &go, &y2));
        float h1[4 * 21], h2[4 * 21];
        tc_read(y1.buffer, sizeof h1, h1);
        tc_read(y2.buffer, sizeof h2, h2);
        cr_assert(memcmp(h1, h2, sizeof h1) == 0, "Q4_0 %s: the layer differs from clq_gemm",
                  clq_dtype_name(o.act_type));
        /* against the f32 layer of ggml's dequantized weights: only x's error (db = 0) */
        memcpy(d.w, wd, n * k * sizeof *wd);
        double da[4], *db = calloc(n * k, sizeof *db);
        for (size_t r = 0; r < m; r++) {
            float lo = 0, hi = 0, s;
            int32_t z;
            for (size_t j = 0; j < (a ? k : m * k); j++) {
                float v = d.x[(a ? r * k : 0) + j];
                lo = v < lo ? v : lo, hi = v > hi ? v : hi;
            }
            ref_qparams(lo, hi, aq.scheme, aq.qtype, 0, &s, &z);
            da[r] = s;
        }
        check_bound(&c, &d, h1, da, db, k / 32);
        free(db);
        clq_weights_destroy(w3);
        clq_linear_destroy(L);
        clq_buffer_destroy(y1.buffer), clq_buffer_destroy(y2.buffer);
        clq_buffer_destroy(aq.scale), clq_buffer_destroy(aq.zero_point), clq_buffer_destroy(at.buffer);
    }
    free_data(&d);
    free(blocks), free(wd);
}

/* float / quantized bytes by their formulas; packed bytes grow with the call buffers. */
TC_BACKEND_TEST(linear, memory) {
    struct {
        clq_linear_scheme s;
        size_t g;
        clq_dtype wt;
        int bias;
    } cases[] = {{CLQ_LINEAR_S8_CHANNEL, 32, CLQ_F32, 1}, {CLQ_LINEAR_S8_TENSOR, 32, CLQ_F16, 0},
                 {CLQ_LINEAR_S4_GROUP, 32, CLQ_F32, 1}, {CLQ_LINEAR_U4_GROUP, 64, CLQ_BF16, 1},
                 {CLQ_LINEAR_U4_GROUP, 128, CLQ_F32, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lin_case c = {.name = "memory", .scheme = cases[i].s, .g = cases[i].g,
                      .wtype = cases[i].wt, .no_bias = !cases[i].bias, .ndim = 2,
                      .shape = {3, 200}, .n = 7};
        lin_data d;
        make_data(ctx, &c, 500 + i, &d);
        clq_linear_options o;
        clq_linear_options_init(&o);
        o.scheme = c.scheme, o.group_size = c.g, o.bias = d.bb;
        clq_linear *L = NULL;
        TC_OK(ctx, clq_linear_create(ctx, &d.wt, &o, &L));
        size_t n = 7, k = 200, es = ref_elem_size(c.wtype), bias = cases[i].bias ? n * 4 : 0;
        size_t G = (k + c.g - 1) / c.g, bits = scheme_grouped(c.scheme) ? 4 : 8;
        size_t scales = c.scheme == CLQ_LINEAR_S8_CHANNEL ? n
                        : c.scheme == CLQ_LINEAR_S8_TENSOR ? 1 : n * G;
        size_t zps = c.scheme == CLQ_LINEAR_U4_GROUP ? n * ((G * 4 + 7) / 8) : 0;
        clq_linear_memory mem;
        memset(&mem, 0xff, sizeof mem);
        mem.struct_size = sizeof mem;
        TC_OK(ctx, clq_linear_get_memory(L, &mem));
        cr_assert_eq(mem.struct_size, sizeof mem);
        cr_assert_eq(mem.float_bytes, n * k * es + bias, "float_bytes %zu", mem.float_bytes);
        cr_assert_eq(mem.quantized_bytes, n * k * bits / 8 + scales * 4 + zps + bias,
                     "scheme %d: quantized_bytes %zu", (int)c.scheme, mem.quantized_bytes);
        cr_assert(mem.packed_bytes >= n * k * bits / 8 + bias,
                  "packed_bytes %zu below the values", mem.packed_bytes);
        size_t before = mem.packed_bytes;
        size_t ys[2] = {3, n};
        clq_tensor y;
        clq_tensor_init(&y, CLQ_F32, 2, ys, tc_buffer(ctx, 3 * n * 4, NULL));
        TC_OK(ctx, clq_linear_forward(L, &d.xt, &y));
        TC_OK(ctx, clq_linear_get_memory(L, &mem));
        /* the quantized x (3 x 200 bytes) and its qparams are kept */
        cr_assert(mem.packed_bytes >= before + 3 * k + 4, "packed_bytes %zu after a call (%zu)",
                  mem.packed_bytes, before);
        mem.struct_size = sizeof mem - 1;
        cr_assert_eq(clq_linear_get_memory(L, &mem), CLQ_ERROR_INVALID_ARGUMENT);
        cr_assert(tc_names(clq_context_error_message(ctx), "struct_size"));
        clq_linear_destroy(L);
        clq_buffer_destroy(y.buffer);
        free_data(&d);
    }
}

/* Each bad call returns its status, names the argument, and leaves y untouched. */
#define EXPECT_BAD(call, status, word)                                                   \
    do {                                                                                 \
        clq_status st_ = (call);                                                         \
        cr_assert_eq(st_, status, "%s: %s (%s)", #call, clq_status_string(st_),         \
                     clq_context_error_message(ctx));                                     \
        cr_assert(tc_contains(clq_context_error_message(ctx), word), "%s: message '%s'", \
                  #call, clq_context_error_message(ctx));                                 \
        tc_assert_untouched(yb, ybytes, #call);                                          \
    } while (0)

TC_BACKEND_TEST(linear, bad_input) {
    lin_case c = {.name = "bad", .ndim = 2, .shape = {4, 64}, .n = 8};
    lin_data d;
    make_data(ctx, &c, 600, &d);
    size_t ybytes = 4 * 8 * 4;
    clq_buffer *yb = tc_buffer(ctx, ybytes, NULL);
    size_t ys[2] = {4, 8};
    clq_tensor y;
    clq_tensor_init(&y, CLQ_F32, 2, ys, yb);
    clq_linear_options o;
    clq_linear_options_init(&o);
    o.bias = d.bb;
    clq_linear *L = NULL, *L2 = NULL;

    /* creation */
    clq_linear_options b = o;
    b.struct_size = 8;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT, "struct_size");
    b = o, b.scheme = (clq_linear_scheme)9;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT, "scheme = 9");
    b = o, b.scheme = CLQ_LINEAR_S4_GROUP, b.group_size = 48;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT,
               "group_size = 48");
    b = o, b.act_type = CLQ_S4;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT, "act_type = s4");
    b = o, b.act_granularity = (clq_linear_activations)5;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT,
               "act_granularity = 5");
    clq_qparams sq;
    static_qparams(ctx, &c, &d, &sq);
    b = o, b.act_qparams = &sq, b.act_granularity = CLQ_LINEAR_PER_TOKEN;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT, "per tensor");
    clq_qparams sq2 = sq;
    sq2.granularity = CLQ_PER_AXIS, sq2.axis = 0;
    b = o, b.act_qparams = &sq2;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT, "granularity");
    b = o, b.act_qparams = &sq, b.act_type = CLQ_S8;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_ARGUMENT,
               "act_qparams->qtype = u8");
    float bad_scale = -1.0f;
    clq_buffer *bs = tc_buffer(ctx, 4, &bad_scale);
    sq2 = sq, sq2.scale = bs;
    b = o, b.act_qparams = &sq2;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_INVALID_QPARAMS, "scale[0] = -1");
    b = o, b.bias = bs;
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &b, &L2), CLQ_ERROR_OUT_OF_BOUNDS, "bias");
    clq_tensor wbad = d.wt;
    wbad.dtype = CLQ_S8;
    EXPECT_BAD(clq_linear_create(ctx, &wbad, &o, &L2), CLQ_ERROR_INVALID_ARGUMENT, "weight->dtype");
    wbad = d.wt, wbad.ndim = 1, wbad.shape[0] = 8 * 64, wbad.strides[0] = 1;
    EXPECT_BAD(clq_linear_create(ctx, &wbad, &o, &L2), CLQ_ERROR_INVALID_ARGUMENT, "weight->ndim");
    EXPECT_BAD(clq_linear_create(ctx, &d.wt, &o, NULL), CLQ_ERROR_INVALID_ARGUMENT, "out");
    cr_assert_null(L2);
    EXPECT_BAD(clq_linear_create_packed(ctx, NULL, &o, &L2), CLQ_ERROR_INVALID_ARGUMENT, "weights");

    /* forward */
    TC_OK(ctx, clq_linear_create(ctx, &d.wt, &o, &L));
    cr_assert_eq(clq_linear_forward(NULL, &d.xt, &y), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(clq_linear_get_memory(L, NULL), CLQ_ERROR_INVALID_ARGUMENT);
    EXPECT_BAD(clq_linear_forward(L, NULL, &y), CLQ_ERROR_INVALID_ARGUMENT, "x");
    EXPECT_BAD(clq_linear_forward(L, &d.xt, NULL), CLQ_ERROR_INVALID_ARGUMENT, "y");
    clq_tensor x2 = d.xt;
    x2.shape[1] = 63;
    EXPECT_BAD(clq_linear_forward(L, &x2, &y), CLQ_ERROR_INVALID_ARGUMENT, "x->shape[1] = 63");
    x2 = d.xt, x2.dtype = CLQ_U8;
    EXPECT_BAD(clq_linear_forward(L, &x2, &y), CLQ_ERROR_INVALID_ARGUMENT, "x->dtype = u8");
    clq_tensor y2 = y;
    y2.shape[1] = 7, y2.strides[0] = 7;
    EXPECT_BAD(clq_linear_forward(L, &d.xt, &y2), CLQ_ERROR_INVALID_ARGUMENT, "N = 8");
    y2 = y, y2.shape[0] = 2, y2.shape[1] = 16, y2.strides[0] = 16;
    EXPECT_BAD(clq_linear_forward(L, &d.xt, &y2), CLQ_ERROR_INVALID_ARGUMENT, "y->shape[0] = 2");
    y2 = y, y2.dtype = CLQ_S32;
    EXPECT_BAD(clq_linear_forward(L, &d.xt, &y2), CLQ_ERROR_INVALID_ARGUMENT, "y->dtype = s32");
    y2 = y, y2.ndim = 3, y2.shape[0] = 1, y2.shape[1] = 4, y2.shape[2] = 8;
    y2.strides[0] = 32, y2.strides[1] = 8, y2.strides[2] = 1;
    EXPECT_BAD(clq_linear_forward(L, &d.xt, &y2), CLQ_ERROR_INVALID_ARGUMENT, "y->ndim = 3");
    y2 = y, y2.offset = 1;
    EXPECT_BAD(clq_linear_forward(L, &d.xt, &y2), CLQ_ERROR_OUT_OF_BOUNDS, "y");
    clq_buffer *xy = tc_buffer(ctx, 4 * 64 * 4, NULL); /* y inside x's buffer */
    clq_tensor xo = d.xt, yo = y;
    xo.buffer = yo.buffer = xy;
    EXPECT_BAD(clq_linear_forward(L, &xo, &yo), CLQ_ERROR_INVALID_ARGUMENT, "x");
    tc_assert_untouched(yb, ybytes, "y after the bad calls");
    clq_linear_destroy(L);
    clq_linear_destroy(NULL);
    clq_buffer_destroy(xy), clq_buffer_destroy(bs), clq_buffer_destroy(yb);
    clq_buffer_destroy(sq.scale), clq_buffer_destroy(sq.zero_point);
    free_data(&d);
}
