/* test_dynamic.c: clq_quantize_dynamic (min/max -> qparams -> quantize on the device) on
 * every backend against tests/ref: u8 affine per tensor is ONNX DynamicQuantizeLinear. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

/* The three examples of the ONNX DynamicQuantizeLinear operator page: the scale and
 * zero point follow from the definition by hand; y is checked against tests/ref. */
TC_BACKEND_TEST(dynamic, onnx_examples) {
    static const float ex1[] = {0.0f, 2.0f, -3.0f, -2.5f, 1.34f, 0.5f};
    static const float ex2[] = {1.0f, 2.1f, 1.3f, 2.5f, 3.34f, 4.0f, 1.5f, 2.6f, 3.9f, 4.0f, 3.0f, 2.345f};
    static const float ex3[] = {-1.0f, -2.1f, -1.3f, -2.5f, -3.34f, -4.0f};
    static const struct {
        const float *x;
        size_t n;
        float scale;
        int32_t zp;
    } ex[] = {{ex1, 6, 5.0f / 255.0f, 153}, {ex2, 12, 4.0f / 255.0f, 0}, {ex3, 6, 4.0f / 255.0f, 255}};
    for (int e = 0; e < 3; e++) {
        size_t n = ex[e].n, shape[1] = {n};
        clq_buffer *xb = tc_buffer(ctx, 4 * n, ex[e].x), *sb = tc_buffer(ctx, 4, NULL);
        clq_buffer *zb = tc_buffer(ctx, 4, NULL), *yb = tc_buffer(ctx, n, NULL);
        clq_tensor xt, yt;
        clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
        clq_tensor_init(&yt, CLQ_U8, 1, shape, yb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_U8;
        qp.scale = sb;
        qp.zero_point = zb;
        TC_OK(ctx, clq_quantize_dynamic(ctx, &xt, &qp, &yt));
        float s;
        int32_t z;
        uint8_t y[12];
        tc_read(sb, 4, &s);
        tc_read(zb, 4, &z);
        tc_read(yb, n, y);
        cr_assert(ref_f32_bits(s) == ref_f32_bits(ex[e].scale) && z == ex[e].zp,
                  "ONNX example %d: expected scale %.9g zp %d, got %.9g zp %d", e + 1, ex[e].scale, ex[e].zp, s, z);
        for (size_t i = 0; i < n; i++) {
            int32_t want = ref_quantize_one(ex[e].x[i], ex[e].scale, ex[e].zp, 0, 255, CLQ_ROUND_HALF_EVEN, 0);
            cr_assert_eq(y[i], want, "ONNX example %d, element %zu (x=%.9g): expected %d got %d", e + 1, i,
                         ex[e].x[i], want, y[i]);
        }
        clq_buffer_destroy(xb);
        clq_buffer_destroy(sb);
        clq_buffer_destroy(zb);
        clq_buffer_destroy(yb);
    }
}

TC_BACKEND_TEST(dynamic, u8_affine_per_tensor) {
    static const tc_case cases[] = {
        {.name = "empty", .ndim = 2, .shape = {5, 0}},
        {.name = "scalar", .ndim = 0},
        {.name = "one", .ndim = 1, .shape = {1}},
        {.name = "1031", .ndim = 1, .shape = {1031}},
        {.name = "23x19", .ndim = 2, .shape = {23, 19}, .values = TC_UNIFORM},
        {.name = "7x13x29 pos", .ndim = 3, .shape = {7, 13, 29}, .values = TC_UNIFORM_POS},
        {.name = "neg", .ndim = 2, .shape = {23, 19}, .values = TC_UNIFORM_NEG},
        {.name = "constant", .ndim = 2, .shape = {23, 19}, .values = TC_CONSTANT},
        {.name = "zero", .ndim = 2, .shape = {23, 19}, .values = TC_ZERO},
        {.name = "all nan", .ndim = 1, .shape = {33}, .values = TC_ALL_NAN},
        {.name = "special", .ndim = 2, .shape = {23, 19}, .values = TC_SPECIAL},
        {.name = "huge", .ndim = 2, .shape = {23, 19}, .values = TC_HUGE},
        {.name = "tiny", .ndim = 2, .shape = {23, 19}, .values = TC_TINY},
        {.name = "denormal", .ndim = 2, .shape = {23, 19}, .values = TC_DENORMAL},
        {.name = "transposed", .ndim = 2, .shape = {19, 23}, .xstrided = 1, .xstrides = {1, 19}},
        {.name = "row stride 29", .ndim = 2, .shape = {31, 23}, .xstrided = 1, .xstrides = {29, 1}, .xoffset = 2,
         .poffset = 3},
        {.name = "y strided", .ndim = 2, .shape = {23, 19}, .ystrided = 1, .ystrides = {28, 1}, .yoffset = 1},
        {.name = "f16", .xtype = CLQ_F16, .ndim = 2, .shape = {23, 19}},
        {.name = "bf16 special", .xtype = CLQ_BF16, .ndim = 2, .shape = {23, 19}, .values = TC_SPECIAL},
        {.name = "half away", .ndim = 2, .shape = {23, 19}, .rounding = CLQ_ROUND_HALF_AWAY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_case c = cases[i];
        c.op = TC_DYNAMIC;
        c.qtype = CLQ_U8;
        tc_run(ctx, &c);
    }
}

TC_BACKEND_TEST(dynamic, signed_4bit_and_granularities) {
    static const clq_dtype qtypes[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};
    static const tc_case base[] = {
        {.name = "per tensor", .ndim = 2, .shape = {23, 19}},
        {.name = "axis0", .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "axis-1 3d", .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_AXIS, .axis = -1, .poffset = 1},
        {.name = "block 37/8", .ndim = 2, .shape = {5, 37}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8},
        {.name = "block axis0 transposed", .ndim = 2, .shape = {19, 23}, .xstrided = 1, .xstrides = {1, 19},
         .gran = CLQ_PER_BLOCK, .axis = 0, .block = 4, .values = TC_SPECIAL},
    };
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        for (int t = 0; t < 4; t++)
            for (int f = 0; f < 4; f++) {
                tc_case c = base[i];
                c.op = TC_DYNAMIC;
                c.qtype = qtypes[t];
                c.scheme = (f & 1) ? CLQ_SYMMETRIC : CLQ_AFFINE;
                c.qflags = (f & 2) ? CLQ_QPARAMS_NARROW_RANGE : 0;
                c.seed = 800 + 16 * i + 4 * t + f;
                tc_run(ctx, &c);
            }
    /* signed symmetric needs no zero point buffer */
    tc_case c = {.name = "s8 symmetric zp NULL", .op = TC_DYNAMIC, .qtype = CLQ_S8, .scheme = CLQ_SYMMETRIC,
                 .no_zero_point = 1, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS};
    tc_run(ctx, &c);
}

/* Over 64 MiB of input, once per backend. */
TC_BACKEND_TEST(dynamic, large_17m) {
    tc_case c = {.name = "17M f32", .op = TC_DYNAMIC, .qtype = CLQ_U8, .ndim = 2, .shape = {17, 1000003},
                 .values = TC_UNIFORM};
    tc_run(ctx, &c);
}
