/* test_quantize.c: clq_quantize on every backend against tests/ref, bit for bit: every
 * qtype and input type, granularity, strided views, odd values, and the rounding modes
 * on inputs exactly between two levels. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const clq_dtype qtypes[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};

TC_BACKEND_TEST(quantize, shapes_every_qtype) {
    static const struct {
        int ndim;
        size_t shape[3];
    } shapes[] = {{1, {0}},  {3, {5, 0, 3}}, {0, {0}},       {1, {1}},          {1, {7}},
                  {1, {1031}}, {2, {23, 19}}, {2, {1, 1031}}, {3, {7, 13, 29}}};
    for (int t = 0; t < 4; t++)
        for (size_t s = 0; s < TC_SIMD_SHAPES; s++) {
            tc_case c = {.name = "shapes", .op = TC_QUANTIZE, .qtype = qtypes[t], .ndim = shapes[s].ndim,
                         .seed = 100 + 10 * s + t};
            memcpy(c.shape, shapes[s].shape, sizeof shapes[s].shape);
            tc_run(ctx, &c);
        }
}

TC_BACKEND_TEST(quantize, granularities) {
    static const tc_case base[] = {
        {.name = "axis0", .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "axis-1", .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = -1, .poffset = 2},
        {.name = "axis1 3d", .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_AXIS, .axis = 1},
        {.name = "block 37/8", .ndim = 2, .shape = {5, 37}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8},
        {.name = "block 37/8 axis0", .ndim = 2, .shape = {37, 6}, .gran = CLQ_PER_BLOCK, .axis = 0, .block = 8},
        {.name = "block 3d -2", .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_BLOCK, .axis = -2, .block = 5},
        {.name = "block 1d", .ndim = 1, .shape = {1031}, .gran = CLQ_PER_BLOCK, .axis = 0, .block = 32},
        {.name = "block 1", .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 1},
    };
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        for (int t = 0; t < 4; t++)
            for (int src = 0; src < 2; src++) {
                tc_case c = base[i];
                c.op = TC_QUANTIZE;
                c.qtype = qtypes[t];
                c.qsource = src ? TC_QP_RANDOM : TC_QP_REF;
                c.scheme = (t & 1) ? CLQ_AFFINE : CLQ_SYMMETRIC;
                c.seed = 1000 + 16 * i + 2 * t + src;
                tc_run(ctx, &c);
            }
}

TC_BACKEND_TEST(quantize, strided_views) {
    static const tc_case cases[] = {
        {.name = "transposed in", .ndim = 2, .shape = {19, 23}, .xstrided = 1, .xstrides = {1, 19},
         .gran = CLQ_PER_AXIS, .axis = 1},
        {.name = "row stride 28 in", .ndim = 2, .shape = {31, 23}, .xstrided = 1, .xstrides = {28, 1},
         .xoffset = 1, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8},
        {.name = "row stride 29 in, s4 out", .qtype = CLQ_S4, .ndim = 2, .shape = {31, 23}, .xstrided = 1,
         .xstrides = {29, 1}, .yoffset = 6},
        {.name = "broadcast in", .ndim = 2, .shape = {4, 23}, .xstrided = 1, .xstrides = {0, 1},
         .gran = CLQ_PER_AXIS, .axis = 0, .qsource = TC_QP_RANDOM},
        {.name = "strided out", .qtype = CLQ_S8, .ndim = 2, .shape = {23, 19}, .ystrided = 1,
         .ystrides = {29, 1}, .yoffset = 3, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "transposed out", .ndim = 2, .shape = {19, 23}, .ystrided = 1, .ystrides = {1, 19},
         .qsource = TC_QP_RANDOM},
        {.name = "both strided 3d", .qtype = CLQ_S8, .ndim = 3, .shape = {7, 13, 29}, .xstrided = 1,
         .xstrides = {29, 7 * 29, 1}, .ystrided = 1, .ystrides = {13 * 32, 32, 1}, .yoffset = 5,
         .gran = CLQ_PER_BLOCK, .axis = 2, .block = 4},
        {.name = "u4 out offset", .qtype = CLQ_U4, .ndim = 2, .shape = {7, 13}, .yoffset = 10,
         .gran = CLQ_PER_AXIS, .axis = -1, .qsource = TC_QP_RANDOM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_case c = cases[i];
        c.op = TC_QUANTIZE;
        tc_run(ctx, &c);
    }
}

TC_BACKEND_TEST(quantize, values) {
    static const tc_values kinds[] = {TC_NORMAL, TC_UNIFORM, TC_UNIFORM_POS, TC_UNIFORM_NEG, TC_CONSTANT,
                                      TC_ZERO,   TC_HUGE,    TC_TINY,        TC_DENORMAL,    TC_SPECIAL,
                                      TC_ALL_NAN};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (int src = 0; src < 2; src++) {
            char name[64];
            snprintf(name, sizeof name, "values %s", tc_values_name(kinds[k]));
            tc_case c = {.name = name, .op = TC_QUANTIZE, .qtype = (k & 1) ? CLQ_U8 : CLQ_S8, .ndim = 2,
                         .shape = {23, 19}, .values = kinds[k], .qsource = src ? TC_QP_RANDOM : TC_QP_REF,
                         .gran = src ? CLQ_PER_AXIS : CLQ_PER_TENSOR, .axis = 1};
            tc_run(ctx, &c);
        }
    /* extreme scales: denormal scales blow ordinary inputs up to saturation, huge ones
     * crush them to the zero point; denormal inputs with tiny scales land in range */
    static const tc_case extreme[] = {
        {.name = "tiny scales", .qsource = TC_QP_RANDOM, .scales = TC_SCALE_TINY, .values = TC_DENORMAL},
        {.name = "tiny scales normal x", .qsource = TC_QP_RANDOM, .scales = TC_SCALE_TINY},
        {.name = "huge scales", .qsource = TC_QP_RANDOM, .scales = TC_SCALE_HUGE, .values = TC_HUGE},
        {.name = "tiny x tiny scales s4", .qtype = CLQ_S4, .qsource = TC_QP_RANDOM, .scales = TC_SCALE_TINY,
         .values = TC_TINY},
        /* 1/scale overflows to +Inf for scales below 2^-128: zeros give NaN -> zero point */
        {.name = "reciprocal tiny scales", .qsource = TC_QP_RANDOM, .scales = TC_SCALE_TINY, .values = TC_DENORMAL,
         .qflags = CLQ_QPARAMS_RECIPROCAL},
        {.name = "reciprocal tiny scales zeros", .qtype = CLQ_S8, .qsource = TC_QP_RANDOM, .scales = TC_SCALE_TINY,
         .values = TC_ZERO, .qflags = CLQ_QPARAMS_RECIPROCAL},
    };
    for (size_t i = 0; i < sizeof extreme / sizeof extreme[0]; i++) {
        tc_case c = extreme[i];
        c.op = TC_QUANTIZE;
        c.ndim = 2;
        c.shape[0] = 23;
        c.shape[1] = 19;
        c.gran = CLQ_PER_AXIS;
        tc_run(ctx, &c);
    }
}

TC_BACKEND_TEST(quantize, half_input_types) {
    static const clq_dtype xt[] = {CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_DENORMAL, TC_HALFWAY};
    for (int x = 0; x < 2; x++)
        for (int t = 0; t < 4; t++)
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                tc_case c = {.name = "half inputs", .op = TC_QUANTIZE, .xtype = xt[x], .qtype = qtypes[t],
                             .ndim = 3, .shape = {7, 13, 29}, .values = kinds[k],
                             .qsource = kinds[k] == TC_HALFWAY ? TC_QP_RANDOM : TC_QP_REF,
                             .gran = (t & 1) ? CLQ_PER_AXIS : CLQ_PER_BLOCK, .axis = -1, .block = 8,
                             .xstrided = k == 1, .xstrides = {13 * 30, 30, 1},
                             .seed = 5000 + 100 * x + 10 * t + k};
                tc_run(ctx, &c);
            }
}

TC_BACKEND_TEST(quantize, flags_and_schemes) {
    for (int t = 0; t < 4; t++)
        for (unsigned f = 0; f < 8; f++) {
            /* f: bit 0 narrow range, bit 1 symmetric, bit 2 zero_point NULL / trusted */
            tc_case c = {.name = "flags", .op = TC_QUANTIZE, .qtype = qtypes[t], .ndim = 2, .shape = {23, 19},
                         .gran = CLQ_PER_AXIS, .axis = 0, .values = TC_SPECIAL,
                         .scheme = (f & 2) ? CLQ_SYMMETRIC : CLQ_AFFINE,
                         .qflags = (f & 1) ? CLQ_QPARAMS_NARROW_RANGE : 0, .seed = 7000 + 8 * t + f};
            if (f & 4) {
                if (qtypes[t] == CLQ_S8 || qtypes[t] == CLQ_S4) c.no_zero_point = 1;
                else c.qflags |= CLQ_QPARAMS_TRUSTED;
            }
            tc_run(ctx, &c);
            c.qsource = TC_QP_RANDOM;
            c.rounding = CLQ_ROUND_HALF_AWAY;
            tc_run(ctx, &c);
        }
}

/* x of type xt (n elements, as f32 values exact in xt) quantized by the backend,
 * np scale / zero point entries for granularity g of a rows x cols tensor. */
static void quantize_typed(clq_context *ctx, clq_dtype xt, const float *xf, size_t rows, size_t cols,
                           const ref_gran *g, const float *scale, const int32_t *zp, size_t np,
                           clq_dtype qt, clq_rounding rounding, unsigned flags, int32_t *q) {
    size_t shape[2] = {rows, cols}, n = rows * cols, es = ref_elem_size(xt);
    void *x = malloc(n * es);
    for (size_t i = 0; i < n; i++) ref_store_float(xt, x, i, xf[i]);
    size_t qbytes = ref_is_4bit(qt) ? (n + 1) / 2 : n;
    clq_buffer *xb = tc_buffer(ctx, n * es, x), *sb = tc_buffer(ctx, 4 * np, scale);
    clq_buffer *zb = tc_buffer(ctx, 4 * np, zp), *yb = tc_buffer(ctx, qbytes, NULL);
    clq_tensor xtn, ytn;
    clq_tensor_init(&xtn, xt, 2, shape, xb);
    clq_tensor_init(&ytn, qt, 2, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = qt;
    qp.granularity = g->gran;
    qp.axis = g->axis;
    qp.block_size = g->block_size;
    qp.rounding = rounding;
    qp.flags = flags;
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_quantize(ctx, &xtn, &qp, &ytn));
    uint8_t *h = malloc(qbytes);
    tc_read(yb, qbytes, h);
    for (size_t i = 0; i < n; i++) q[i] = ref_load_q(qt, h, i);
    free(h);
    free(x);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
}

/* Halfway inputs: the four (rounding, division form) variants must each match the
 * reference, and the variants must really differ on these inputs. */
static void quantize_host(clq_context *ctx, const float *x, size_t rows, size_t cols, const float *scale,
                          const int32_t *zp, clq_rounding rounding, unsigned flags, int32_t *q) {
    ref_gran g = {CLQ_PER_AXIS, 0, 0};
    quantize_typed(ctx, CLQ_F32, x, rows, cols, &g, scale, zp, rows, CLQ_S8, rounding, flags, q);
}

TC_BACKEND_TEST(quantize, halfway_rounding_modes) {
    enum { R = 16, C = 509 };
    static const float scales[R] = {0.1f,  0.37f, 1.0f / 3.0f, 0.05f, 0.0123f, 2.5f,  0.7f,  0.3f,
                                    0.01f, 1.1f,  0.2f,        0.9f,  0.0625f, 0.15f, 0.45f, 1.0f / 7.0f};
    float *x = malloc(sizeof(float) * R * C);
    int32_t zp[R], *want = malloc(4 * R * C), *got = malloc(4 * R * C);
    int32_t *variants[4];
    tc_rng rng;
    tc_rng_seed(&rng, 4242);
    for (int r = 0; r < R; r++) {
        zp[r] = tc_rng_int(&rng, -20, 20);
        for (int c = 0; c < C; c++) {
            int k = tc_rng_int(&rng, -128 - zp[r], 127 - zp[r]);
            x[r * C + c] = ((float)k + 0.5f) * scales[r];
        }
    }
    ref_view v = {2, {R, C}, {C, 1}, 0};
    ref_gran g = {CLQ_PER_AXIS, 0, 0};
    for (int m = 0; m < 4; m++) {
        clq_rounding rnd = (m & 1) ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN;
        int recip = (m & 2) != 0;
        variants[m] = malloc(4 * R * C);
        ref_quantize(CLQ_F32, x, &v, &g, scales, zp, CLQ_S8, 0, rnd, recip, variants[m]);
        quantize_host(ctx, x, R, C, scales, zp, rnd, recip ? CLQ_QPARAMS_RECIPROCAL : 0, got);
        for (size_t i = 0; i < (size_t)R * C; i++)
            cr_assert_eq(got[i], variants[m][i],
                         "halfway s8 per axis, %s, %s, seed 4242, backend %s: element [%zu,%zu] x=%.9g (%a) "
                         "scale=%.9g zp=%d: expected %d got %d",
                         rnd == CLQ_ROUND_HALF_AWAY ? "half away" : "half even",
                         recip ? "reciprocal" : "division", clq_context_device_name(ctx), i / C, i % C,
                         x[i], x[i], scales[i / C], zp[i / C], variants[m][i], got[i]);
    }
    size_t even_away = 0, div_recip = 0;
    for (size_t i = 0; i < (size_t)R * C; i++) {
        even_away += variants[0][i] != variants[1][i];
        div_recip += variants[0][i] != variants[2][i];
    }
    cr_log_info("halfway inputs: %zu of %d differ between half-even and half-away, %zu between division "
                "and reciprocal", even_away, R * C, div_recip);
    cr_assert(even_away > (size_t)R * C / 10, "half-even and half-away differ on only %zu of %d halfway inputs",
              even_away, R * C);
    cr_assert(div_recip > 0, "division and reciprocal agree on all %d halfway inputs", R * C);
    for (int m = 0; m < 4; m++) free(variants[m]);
    free(x);
    free(want);
    free(got);
}

TC_BACKEND_TEST(quantize, halfway_every_qtype) {
    for (int t = 0; t < 4; t++)
        for (int m = 0; m < 4; m++) {
            tc_case c = {.name = "halfway", .op = TC_QUANTIZE, .qtype = qtypes[t], .ndim = 2, .shape = {29, 37},
                         .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8, .values = TC_HALFWAY,
                         .qsource = TC_QP_RANDOM, .rounding = (m & 1) ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN,
                         .qflags = (m & 2) ? CLQ_QPARAMS_RECIPROCAL : 0, .seed = 9000 + 4 * t + m};
            tc_run(ctx, &c);
        }
}

/* Sizes spanning many work-groups and threads, with tails everywhere. */
TC_BACKEND_TEST(quantize, medium_sizes) {
    static const tc_case cases[] = {
        {.name = "262147 per tensor", .qtype = CLQ_U8, .ndim = 2, .shape = {1, 262147}},
        {.name = "3x100003 axis0", .qtype = CLQ_S8, .ndim = 2, .shape = {3, 100003}, .gran = CLQ_PER_AXIS,
         .qsource = TC_QP_RANDOM},
        {.name = "64x1031 block32 s4", .qtype = CLQ_S4, .ndim = 2, .shape = {64, 1031}, .gran = CLQ_PER_BLOCK,
         .axis = 1, .block = 32, .scheme = CLQ_SYMMETRIC},
        {.name = "1031x64 block16 axis0 u4", .qtype = CLQ_U4, .ndim = 2, .shape = {1031, 64},
         .gran = CLQ_PER_BLOCK, .axis = 0, .block = 16},
        {.name = "517x300 padded rows axis1", .qtype = CLQ_U8, .ndim = 2, .shape = {517, 300}, .xstrided = 1,
         .xstrides = {301, 1}, .gran = CLQ_PER_AXIS, .axis = 1},
        {.name = "f16 65537", .xtype = CLQ_F16, .qtype = CLQ_S8, .ndim = 1, .shape = {65537}},
        {.name = "bf16 65537 u4", .xtype = CLQ_BF16, .qtype = CLQ_U4, .ndim = 1, .shape = {65537},
         .gran = CLQ_PER_BLOCK, .block = 128},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_case c = cases[i];
        c.op = TC_QUANTIZE;
        tc_run(ctx, &c);
    }
}

/* Rows of whole blocks, 16 and more of them: the OpenCL kernel takes a grouped
 * path there (16 blocks at a time, parameters broadcast once per block), and the
 * CPU its per-block loop; tiny scales make 1/scale overflow so both must fall
 * back to the division. */
TC_BACKEND_TEST(quantize, whole_block_groups) {
    static const size_t blocks[] = {16, 32, 64};
    static const clq_dtype xtypes[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const struct {
        tc_values values;
        tc_scales scales;
        clq_rounding rounding;
        unsigned flags;
    } modes[] = {{TC_NORMAL, TC_SCALE_NORMAL, CLQ_ROUND_HALF_EVEN, 0},
                 {TC_HALFWAY, TC_SCALE_NORMAL, CLQ_ROUND_HALF_EVEN, CLQ_QPARAMS_RECIPROCAL},
                 {TC_HALFWAY, TC_SCALE_NORMAL, CLQ_ROUND_HALF_AWAY, 0},
                 {TC_NORMAL, TC_SCALE_TINY, CLQ_ROUND_HALF_EVEN, 0}};
    for (size_t b = 0; b < 3; b++)
        for (size_t x = 0; x < 3; x++)
            for (int t = 0; t < 4; t++)
                for (size_t m = 0; m < 4; m++) {
                    tc_case c = {.name = "whole block groups", .op = TC_QUANTIZE, .xtype = xtypes[x],
                                 .qtype = qtypes[t], .ndim = 2, .shape = {64, 1024},
                                 .gran = CLQ_PER_BLOCK, .axis = 1, .block = blocks[b],
                                 .values = modes[m].values, .qsource = TC_QP_RANDOM,
                                 .scales = modes[m].scales, .rounding = modes[m].rounding,
                                 .qflags = modes[m].flags,
                                 .seed = 12000 + 64 * b + 16 * x + 4 * (size_t)t + m};
                    tc_run(ctx, &c);
                }
}

/* Shapes that reach every loop of the SIMD kernel sets (64-element runs and their
 * tails, packed 4-bit runs of even length, per-element parameters, blocks of 32 in
 * pairs with an odd one left and a short block per row), every input type and
 * rounding mode, with halfway inputs so the reciprocal fast path falls back. */
TC_BACKEND_TEST(quantize, simd_paths) {
    static const clq_dtype xtypes[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    for (size_t s = 0; s < TC_SIMD_SHAPES; s++)
        for (size_t x = 0; x < 3; x++)
            for (int t = 0; t < 4; t++)
                for (int m = 0; m < 3; m++) {
                    tc_case c = tc_simd_shapes[s];
                    c.op = TC_QUANTIZE;
                    c.xtype = xtypes[x];
                    c.qtype = qtypes[t];
                    c.values = m ? TC_HALFWAY : TC_NORMAL;
                    c.qsource = TC_QP_RANDOM;
                    c.rounding = m == 2 ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN;
                    c.qflags = m == 1 ? CLQ_QPARAMS_RECIPROCAL : 0;
                    c.seed = 15000 + 64 * s + 16 * x + 4 * (size_t)t + (size_t)m;
                    tc_run(ctx, &c);
                }
}

/* Inputs whose quotient x / scale rounds onto a half-integer without being one
 * (or lands just beside it): the SIMD kernels' reciprocal fast path must send
 * them to the division. Per parameter, an anchor a of 3 significant bits (exact
 * in f16 and bf16 times any odd m < 32) and a half-integer h give scale =
 * RN(a / h); elements a * m (and a neighbour in the input type) then sit within
 * a few ulps of the tie h * m. Covers one scale per tensor, per lane on the last
 * axis (enough rows for the CPU's per-lane reciprocals) and per block of 32. */
TC_BACKEND_TEST(quantize, rounded_ties) {
    size_t rt_exact = 0, rt_recip = 0;
    static const clq_dtype xtypes[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const clq_dtype qts[] = {CLQ_S8, CLQ_U8, CLQ_S4};
    static const struct {
        size_t rows, cols;
        ref_gran g;
    } grans[] = {{16, 160, {CLQ_PER_TENSOR, 0, 0}},
                 {40, 136, {CLQ_PER_AXIS, 1, 0}},
                 {8, 1024, {CLQ_PER_BLOCK, 1, 32}}};
    for (size_t gi = 0; gi < 3; gi++)
        for (size_t xi = 0; xi < 3; xi++)
            for (size_t ti = 0; ti < 3; ti++)
                for (int away = 0; away < 2; away++) {
                    size_t rows = grans[gi].rows, cols = grans[gi].cols, n = rows * cols;
                    size_t shape[2] = {rows, cols};
                    const ref_gran *g = &grans[gi].g;
                    size_t np = ref_param_count(g, 2, shape);
                    clq_dtype xt = xtypes[xi], qt = qts[ti];
                    clq_rounding rnd = away ? CLQ_ROUND_HALF_AWAY : CLQ_ROUND_HALF_EVEN;
                    int qmin, qmax;
                    ref_qrange(qt, 0, &qmin, &qmax);
                    tc_rng rng;
                    tc_rng_seed(&rng, 31000 + 100 * gi + 10 * xi + 2 * ti + (size_t)away);
                    float *scale = malloc(4 * np), *a = malloc(4 * np), *hh = malloc(4 * np);
                    int32_t *zp = malloc(4 * np), *want = malloc(4 * n), *got = malloc(4 * n);
                    float *x = malloc(4 * n);
                    /* redrawn until the case holds what it is about (one scale
                     * of s4's short range can miss every rounded tie) */
                    size_t idx[2], rounded = 0, exact0 = rt_exact, recip0 = rt_recip;
                    for (int tries = 0; tries < 50 && rounded <= n / 50; tries++) {
                        rt_exact = exact0, rt_recip = recip0;
                        for (size_t p = 0; p < np; p++) {
                            /* an exact a / h (h = 0.5, or 7 / 3.5 ...) makes exact ties only:
                             * a quarter of the parameters, none when there is one */
                            int want_exact = np > 1 && tc_rng_int(&rng, 0, 3) == 0;
                            do {
                                a[p] = ldexpf((float)tc_rng_int(&rng, 4, 7), tc_rng_int(&rng, -12, 2));
                                hh[p] = (float)tc_rng_int(&rng, 0, 3) + 0.5f;
                                scale[p] = a[p] / hh[p];
                            } while ((fmaf(scale[p], hh[p], -a[p]) == 0.0f) != want_exact);
                            zp[p] = tc_rng_int(&rng, qmin, qmax);
                        }
                        rounded = 0;
                        for (size_t i = 0; i < n; i++) {
                            idx[0] = i / cols, idx[1] = i % cols;
                            size_t p = ref_param_index(g, 2, shape, idx);
                            /* odd m with h m + zp inside [qmin - 1, qmax + 1], |m| < 32 */
                            int lo = (int)ceilf((float)(qmin - zp[p] - 1) / hh[p]);
                            int hi = (int)floorf((float)(qmax - zp[p] + 1) / hh[p]);
                            lo = lo < -31 ? -31 : lo, hi = hi > 31 ? 31 : hi;
                            int m = tc_rng_int(&rng, lo, hi);
                            if (m % 2 == 0) m += m < hi ? 1 : -1;
                            float v = a[p] * (float)m;
                            if (tc_rng_int(&rng, 0, 3) == 0) /* one step of the input type further out */
                                v = xt == CLQ_F32   ? nextafterf(v, v < 0 ? -INFINITY : INFINITY)
                                    : xt == CLQ_F16 ? ref_f16_to_f32((uint16_t)(ref_f32_to_f16(v) + 1))
                                                    : ref_bf16_to_f32((uint16_t)(ref_f32_to_bf16(v) + 1));
                            x[i] = v;
                            float qd = v / scale[p], qr = v * (1.0f / scale[p]);
                            if (qd - floorf(qd) == 0.5f) {
                                if (fmaf(-qd, scale[p], v) == 0.0f) rt_exact++;
                                else rounded++;
                            }
                            rt_recip += rintf(qd) != rintf(qr) || roundf(qd) != roundf(qr);
                        }
                    }
                    ref_view vw = {2, {rows, cols}, {(ptrdiff_t)cols, 1}, 0};
                    ref_quantize(CLQ_F32, x, &vw, g, scale, zp, qt, 0, rnd, 0, want);
                    quantize_typed(ctx, xt, x, rows, cols, g, scale, zp, np, qt, rnd, 0, got);
                    for (size_t i = 0; i < n; i++) {
                        idx[0] = i / cols, idx[1] = i % cols;
                        size_t p = ref_param_index(g, 2, shape, idx);
                        cr_assert_eq(got[i], want[i],
                                     "rounded ties, %s, x %s, q %s, %s, backend %s: element [%zu,%zu] "
                                     "x=%a scale=%a zp=%d x/scale=%.9g: expected %d got %d",
                                     tc_gran_name(g->gran), xt == CLQ_F32 ? "f32" : xt == CLQ_F16 ? "f16" : "bf16",
                                     qt == CLQ_S8 ? "s8" : qt == CLQ_U8 ? "u8" : "s4",
                                     away ? "half away" : "half even", clq_context_device_name(ctx), idx[0],
                                     idx[1], x[i], scale[p], zp[p], x[i] / scale[p], want[i], got[i]);
                    }
                    /* the case must hold what it is about */
                    cr_assert(rounded > n / 50, "only %zu of %zu quotients round onto a tie", rounded, n);
                    free(scale), free(a), free(hh), free(zp), free(want), free(got), free(x);
                }
    cr_assert(rt_exact > 0 && rt_recip > 0, "%zu exact ties, %zu reciprocal differences", rt_exact,
              rt_recip);
}
