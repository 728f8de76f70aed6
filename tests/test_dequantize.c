/* test_dequantize.c: clq_dequantize on every backend against tests/ref (f32 bit for bit),
 * and quantize -> dequantize round trips on the device. */
#include "common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const clq_dtype qtypes[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};

TC_BACKEND_TEST(dequantize, shapes_and_granularities) {
    static const tc_case base[] = {
        {.name = "empty", .ndim = 1, .shape = {0}},
        {.name = "scalar", .ndim = 0},
        {.name = "one", .ndim = 1, .shape = {1}},
        {.name = "odd 7", .ndim = 1, .shape = {7}},
        {.name = "1031", .ndim = 1, .shape = {1031}, .gran = CLQ_PER_BLOCK, .block = 32},
        {.name = "23x19 axis0", .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "1x1031 axis-1", .ndim = 2, .shape = {1, 1031}, .gran = CLQ_PER_AXIS, .axis = -1, .poffset = 5},
        {.name = "7x13x29 block", .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 5},
        {.name = "5x37 block 8", .ndim = 2, .shape = {5, 37}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8},
        {.name = "zp NULL", .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = 1, .no_zero_point = 1},
        {.name = "y strided", .ndim = 2, .shape = {23, 19}, .ystrided = 1, .ystrides = {28, 1}, .yoffset = 3},
        {.name = "y transposed", .ndim = 2, .shape = {19, 23}, .ystrided = 1, .ystrides = {1, 19},
         .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "q offset", .ndim = 2, .shape = {11, 13}, .xoffset = 4, .gran = CLQ_PER_AXIS, .axis = 1},
    };
    tc_run_grid(ctx, TC_DEQUANTIZE, base, sizeof base / sizeof base[0], qtypes, 4, NULL, 0, 300);
}

TC_BACKEND_TEST(dequantize, strided_8bit_inputs_and_scales) {
    static const tc_case cases[] = {
        {.name = "q transposed", .qtype = CLQ_S8, .ndim = 2, .shape = {19, 23}, .xstrided = 1, .xstrides = {1, 19}},
        {.name = "q row stride 29", .qtype = CLQ_U8, .ndim = 2, .shape = {31, 23}, .xstrided = 1,
         .xstrides = {29, 1}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8},
        {.name = "q broadcast", .qtype = CLQ_S8, .ndim = 2, .shape = {4, 23}, .xstrided = 1, .xstrides = {0, 1},
         .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "tiny scales", .qtype = CLQ_S8, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS,
         .scales = TC_SCALE_TINY},
        {.name = "huge scales", .qtype = CLQ_U8, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS,
         .scales = TC_SCALE_HUGE},
        {.name = "tiny scales s4", .qtype = CLQ_S4, .ndim = 1, .shape = {101}, .scales = TC_SCALE_TINY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_case c = cases[i];
        c.op = TC_DEQUANTIZE;
        tc_run(ctx, &c);
    }
}

/* quantize then dequantize on the device: bit-exact with the reference chain, and
 * within half a step of x wherever x lies inside the representable range. */
TC_BACKEND_TEST(dequantize, round_trip) {
    enum { R = 13, C = 67 };
    size_t shape[2] = {R, C}, n = R * C;
    for (int t = 0; t < 4; t++) {
        clq_dtype qt = qtypes[t];
        float *x = malloc(4 * n), s[R], *y = malloc(4 * n);
        int32_t z[R], *q = malloc(4 * n);
        tc_rng rng;
        tc_rng_seed(&rng, 600 + t);
        for (size_t i = 0; i < n; i++) x[i] = tc_value(&rng, TC_NORMAL);
        ref_view v = {2, {R, C}, {C, 1}, 0};
        ref_gran g = {CLQ_PER_AXIS, 0, 0};
        float mn[R], mx[R];
        ref_minmax(CLQ_F32, x, &v, &g, mn, mx);
        for (int r = 0; r < R; r++) ref_qparams(mn[r], mx[r], CLQ_AFFINE, qt, 0, &s[r], &z[r]);
        ref_quantize(CLQ_F32, x, &v, &g, s, z, qt, 0, CLQ_ROUND_HALF_EVEN, 0, q);

        size_t qbytes = ref_is_4bit(qt) ? (n + 1) / 2 : n;
        clq_buffer *xb = tc_buffer(ctx, 4 * n, x), *sb = tc_buffer(ctx, sizeof s, s);
        clq_buffer *zb = tc_buffer(ctx, sizeof z, z), *qb = tc_buffer(ctx, qbytes, NULL);
        clq_buffer *yb = tc_buffer(ctx, 4 * n, NULL);
        clq_tensor xt, qtt, yt;
        clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
        clq_tensor_init(&qtt, qt, 2, shape, qb);
        clq_tensor_init(&yt, CLQ_F32, 2, shape, yb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = qt;
        qp.granularity = CLQ_PER_AXIS;
        qp.scale = sb;
        qp.zero_point = zb;
        TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &qtt));
        TC_OK(ctx, clq_dequantize(ctx, &qtt, &qp, &yt));
        tc_read(yb, 4 * n, y);
        int qmin, qmax;
        ref_qrange(qt, 0, &qmin, &qmax);
        for (size_t i = 0; i < n; i++) {
            size_t r = i / C;
            float want = ref_dequantize_one(q[i], s[r], z[r]);
            cr_assert(ref_f32_bits(want) == ref_f32_bits(y[i]),
                      "round trip %s seed %d backend %s: [%zu,%zu] x=%.9g: expected %.9g (%a) got %.9g (%a)",
                      clq_dtype_name(qt), 600 + t, clq_context_device_name(ctx), r, i % C, x[i], want, want,
                      y[i], y[i]);
            /* the affine range covers [min, max]; a few ulp of slack for the f32 steps */
            cr_assert(fabsf(y[i] - x[i]) <= 0.5f * s[r] * 1.0001f + 1e-6f,
                      "round trip %s: [%zu,%zu] |%.9g - %.9g| > scale/2 = %.9g", clq_dtype_name(qt), r, i % C,
                      y[i], x[i], 0.5f * s[r]);
        }
        clq_buffer_destroy(xb);
        clq_buffer_destroy(sb);
        clq_buffer_destroy(zb);
        clq_buffer_destroy(qb);
        clq_buffer_destroy(yb);
        free(x);
        free(y);
        free(q);
    }
}

TC_BACKEND_TEST(dequantize, medium_sizes) {
    static const tc_case cases[] = {
        {.name = "262147 u8", .qtype = CLQ_U8, .ndim = 1, .shape = {262147}},
        {.name = "3x100003 axis0 s8", .qtype = CLQ_S8, .ndim = 2, .shape = {3, 100003}, .gran = CLQ_PER_AXIS},
        {.name = "64x1031 block32 s4", .qtype = CLQ_S4, .ndim = 2, .shape = {64, 1031}, .gran = CLQ_PER_BLOCK,
         .axis = 1, .block = 32},
        {.name = "1031x64 block16 axis0 u4", .qtype = CLQ_U4, .ndim = 2, .shape = {1031, 64},
         .gran = CLQ_PER_BLOCK, .axis = 0, .block = 16, .ystrided = 1, .ystrides = {65, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_case c = cases[i];
        c.op = TC_DEQUANTIZE;
        tc_run(ctx, &c);
    }
}

/* Shapes that reach every loop of the SIMD kernel sets (see test_quantize
 * simd_paths): packed 4-bit input read in registers, 64-element runs and tails,
 * per-element parameters, blocks of 32. */
TC_BACKEND_TEST(dequantize, simd_paths) {
    for (size_t s = 0; s < TC_SIMD_SHAPES; s++)
        for (int t = 0; t < 4; t++)
            for (int z = 0; z < 2; z++) {
                tc_case c = tc_simd_shapes[s];
                c.op = TC_DEQUANTIZE;
                c.qtype = qtypes[t];
                c.no_zero_point = z;
                c.seed = 16000 + 8 * s + 2 * (size_t)t + (size_t)z;
                tc_run(ctx, &c);
            }
}

/* Per axis on the last axis over many rows: the SIMD kernels take whole rows four
 * at a time with each strip's scales and zero points loaded once (streamed when
 * the rows start 64-byte aligned), then single rows, column tails, and rows a
 * chunk boundary cuts. */
TC_BACKEND_TEST(dequantize, last_axis_rows) {
    static const tc_case base[] = {
        {.name = "133x96 axis-1", .ndim = 2, .shape = {133, 96}, .gran = CLQ_PER_AXIS, .axis = -1},
        {.name = "70x203 axis-1", .ndim = 2, .shape = {70, 203}, .gran = CLQ_PER_AXIS, .axis = -1},
        {.name = "33x1000 axis-1", .ndim = 2, .shape = {33, 1000}, .gran = CLQ_PER_AXIS, .axis = -1},
        {.name = "9x4096 axis-1 zp NULL", .ndim = 2, .shape = {9, 4096}, .gran = CLQ_PER_AXIS, .axis = -1,
         .no_zero_point = 1},
    };
    tc_run_grid(ctx, TC_DEQUANTIZE, base, sizeof base / sizeof base[0], qtypes, 4, NULL, 0, 17000);
}
