/* test_minmax.c: clq_minmax on every backend against tests/ref, bit for bit, over
 * shapes (empty, scalar, primes, tails), strided views, every granularity and odd values. */
#include "common.h"

#include <stdio.h>

static void run_all(clq_context *ctx, const tc_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) tc_run(ctx, &cases[i]);
}
#define RUN(ctx, cases) run_all(ctx, cases, sizeof cases / sizeof cases[0])

TC_BACKEND_TEST(minmax, shapes_per_tensor) {
    static const tc_case cases[] = {
        {.name = "empty", .op = TC_MINMAX, .ndim = 1, .shape = {0}},
        {.name = "empty 5x0x3", .op = TC_MINMAX, .ndim = 3, .shape = {5, 0, 3}},
        {.name = "scalar", .op = TC_MINMAX, .ndim = 0},
        {.name = "one", .op = TC_MINMAX, .ndim = 1, .shape = {1}},
        {.name = "prime 7", .op = TC_MINMAX, .ndim = 1, .shape = {7}},
        {.name = "1x1031", .op = TC_MINMAX, .ndim = 2, .shape = {1, 1031}},
        {.name = "23x19", .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .values = TC_UNIFORM},
        {.name = "7x13x29", .op = TC_MINMAX, .ndim = 3, .shape = {7, 13, 29}},
        {.name = "100003", .op = TC_MINMAX, .ndim = 1, .shape = {100003}, .values = TC_UNIFORM},
        {.name = "offset 5", .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .xoffset = 5, .poffset = 3},
    };
    RUN(ctx, cases);
}

TC_BACKEND_TEST(minmax, strided_views) {
    static const tc_case cases[] = {
        {.name = "transposed 19x23", .op = TC_MINMAX, .ndim = 2, .shape = {19, 23}, .xstrided = 1,
         .xstrides = {1, 19}, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "row stride 28", .op = TC_MINMAX, .ndim = 2, .shape = {31, 23}, .xstrided = 1,
         .xstrides = {28, 1}, .gran = CLQ_PER_AXIS, .axis = 1},
        {.name = "row stride 29 blocks", .op = TC_MINMAX, .ndim = 2, .shape = {31, 23}, .xstrided = 1,
         .xstrides = {29, 1}, .xoffset = 3, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 8},
        {.name = "broadcast rows", .op = TC_MINMAX, .ndim = 2, .shape = {4, 23}, .xstrided = 1,
         .xstrides = {0, 1}, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "broadcast cols", .op = TC_MINMAX, .ndim = 2, .shape = {5, 17}, .xstrided = 1,
         .xstrides = {1, 0}},
        {.name = "3d permuted", .op = TC_MINMAX, .ndim = 3, .shape = {13, 7, 29}, .xstrided = 1,
         .xstrides = {29, 13 * 29, 1}, .gran = CLQ_PER_BLOCK, .axis = 0, .block = 4},
    };
    RUN(ctx, cases);
}

TC_BACKEND_TEST(minmax, granularities) {
    static const tc_case cases[] = {
        {.name = "axis0", .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = 0},
        {.name = "axis1", .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_AXIS, .axis = 1},
        {.name = "axis-1", .op = TC_MINMAX, .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_AXIS, .axis = -1},
        {.name = "axis-2", .op = TC_MINMAX, .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_AXIS, .axis = -2,
         .poffset = 1},
        {.name = "axis0 1x1031", .op = TC_MINMAX, .ndim = 2, .shape = {1, 1031}, .gran = CLQ_PER_AXIS},
        {.name = "axis1 1x1031", .op = TC_MINMAX, .ndim = 2, .shape = {1, 1031}, .gran = CLQ_PER_AXIS, .axis = 1},
        {.name = "block 37/8", .op = TC_MINMAX, .ndim = 2, .shape = {5, 37}, .gran = CLQ_PER_BLOCK, .axis = 1,
         .block = 8},
        {.name = "block 37/8 axis0", .op = TC_MINMAX, .ndim = 2, .shape = {37, 6}, .gran = CLQ_PER_BLOCK,
         .axis = 0, .block = 8},
        {.name = "block 3d mid", .op = TC_MINMAX, .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_BLOCK,
         .axis = -2, .block = 5},
        {.name = "block 3d last", .op = TC_MINMAX, .ndim = 3, .shape = {7, 13, 29}, .gran = CLQ_PER_BLOCK,
         .axis = 2, .block = 4},
        {.name = "block = axis", .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_BLOCK,
         .axis = 1, .block = 19},
        {.name = "block 1", .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .gran = CLQ_PER_BLOCK, .axis = 0,
         .block = 1},
        {.name = "block 1d 1031/32", .op = TC_MINMAX, .ndim = 1, .shape = {1031}, .gran = CLQ_PER_BLOCK,
         .block = 32},
        {.name = "per axis empty", .op = TC_MINMAX, .ndim = 2, .shape = {4, 0}, .gran = CLQ_PER_AXIS},
        {.name = "per block empty axis", .op = TC_MINMAX, .ndim = 2, .shape = {0, 4}, .gran = CLQ_PER_BLOCK,
         .block = 1},
    };
    RUN(ctx, cases);
}

TC_BACKEND_TEST(minmax, values) {
    static const tc_values kinds[] = {TC_NORMAL,   TC_UNIFORM_POS, TC_UNIFORM_NEG, TC_CONSTANT,
                                      TC_ZERO,     TC_HUGE,        TC_TINY,        TC_DENORMAL,
                                      TC_SPECIAL,  TC_ALL_NAN};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char name[64];
        snprintf(name, sizeof name, "values %s", tc_values_name(kinds[k]));
        tc_case c = {.name = name, .op = TC_MINMAX, .ndim = 2, .shape = {23, 19}, .values = kinds[k]};
        tc_run(ctx, &c);
        c.gran = CLQ_PER_AXIS;
        c.axis = 1;
        tc_run(ctx, &c);
        c.gran = CLQ_PER_BLOCK;
        c.axis = 0;
        c.block = 8;
        tc_run(ctx, &c);
    }
}

TC_BACKEND_TEST(minmax, half_types) {
    static const clq_dtype types[] = {CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_DENORMAL, TC_HUGE, TC_ZERO};
    for (int t = 0; t < 2; t++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char name[64];
            snprintf(name, sizeof name, "%s %s", clq_dtype_name(types[t]), tc_values_name(kinds[k]));
            tc_case c = {.name = name, .op = TC_MINMAX, .xtype = types[t], .ndim = 3, .shape = {7, 13, 29},
                         .values = kinds[k]};
            tc_run(ctx, &c);
            c.gran = CLQ_PER_AXIS;
            c.axis = -1;
            tc_run(ctx, &c);
            c.gran = CLQ_PER_BLOCK;
            c.axis = 1;
            c.block = 4;
            c.xstrided = 1;
            c.xstrides[0] = 13 * 31;
            c.xstrides[1] = 31;
            c.xstrides[2] = 1;
            tc_run(ctx, &c);
        }
}

/* Full blocks along the contiguous last axis: the OpenCL kernel folds CLQ_VEC (8 on
 * AVX2, 16 on AVX-512) of them at a time through a shuffle tree (block 32 unrolled,
 * other multiples of the width in a loop; block 8 takes that path only when 8-wide),
 * then the tail blocks one by one. 37 rows of 4-8 blocks: groups and tails. */
TC_BACKEND_TEST(minmax, vector_blocks) {
    static const clq_dtype types[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_ALL_NAN, TC_ZERO, TC_DENORMAL};
    static const int blocks[] = {32, 8, 16, 64};
    for (int t = 0; t < 3; t++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            for (int b = 0; b < 4; b++) {
                char name[80];
                snprintf(name, sizeof name, "%s %s block %d", clq_dtype_name(types[t]),
                         tc_values_name(kinds[k]), blocks[b]);
                tc_case c = {.name = name, .op = TC_MINMAX, .xtype = types[t], .ndim = 2,
                             .shape = {37, 256}, .values = kinds[k], .gran = CLQ_PER_BLOCK,
                             .axis = 1, .block = blocks[b]};
                tc_run(ctx, &c);
            }
}

TC_BACKEND_TEST(minmax, medium_sizes) {
    static const tc_case cases[] = {
        {.name = "262147 per tensor", .op = TC_MINMAX, .ndim = 1, .shape = {262147}, .values = TC_SPECIAL},
        {.name = "3x100003 axis0", .op = TC_MINMAX, .ndim = 2, .shape = {3, 100003}, .gran = CLQ_PER_AXIS},
        {.name = "100003x3 axis1", .op = TC_MINMAX, .ndim = 2, .shape = {100003, 3}, .gran = CLQ_PER_AXIS,
         .axis = 1},
        {.name = "257x1031 block64 axis0", .op = TC_MINMAX, .ndim = 2, .shape = {257, 1031}, .gran = CLQ_PER_BLOCK,
         .block = 64},
        {.name = "f16 3x65537 axis-1", .op = TC_MINMAX, .xtype = CLQ_F16, .ndim = 2, .shape = {3, 65537},
         .gran = CLQ_PER_AXIS, .axis = -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) tc_run(ctx, &cases[i]);
}

/* Shapes that reach the SIMD kernels' block-of-32 and per-element loops (the block
 * rows have more than 64 pairs, so each block's pair has one owner) for every input type, with NaN,
 * infinities and signed zeros among the values. */
TC_BACKEND_TEST(minmax, simd_paths) {
    static const clq_dtype xtypes[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_ALL_NAN};
    tc_run_grid(ctx, TC_MINMAX, tc_simd_shapes, TC_SIMD_SHAPES, xtypes, 3, kinds, 3, 17000);
}

/* Pairs along the rows on OpenCL (minmax_cols): per axis on the last axis and per
 * block on a strided axis, with strips of 4 vectors and a partial last strip, groups
 * of rows split into parts (more rows than one part takes: folded by minmax_finish)
 * or not, and partial last blocks; every input type, with NaN, infinities and signed
 * zeros. */
TC_BACKEND_TEST(minmax, column_layouts) {
    static const clq_dtype xtypes[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_ALL_NAN};
    static const tc_case base[] = {
        /* parts of 256 or 512 rows */
        {.name = "1100x131 axis1", .ndim = 2, .shape = {1100, 131}, .gran = CLQ_PER_AXIS, .axis = 1},
        /* one part, whole strips only */
        {.name = "40x64 axis1", .ndim = 2, .shape = {40, 64}, .gran = CLQ_PER_AXIS, .axis = 1},
        /* a 600-row block in parts, a 500-row tail */
        {.name = "1100x70 block 600 axis0", .ndim = 2, .shape = {1100, 70}, .gran = CLQ_PER_BLOCK,
         .block = 600},
        /* one part per block */
        {.name = "77x200 block 32 axis0", .ndim = 2, .shape = {77, 200}, .gran = CLQ_PER_BLOCK,
         .block = 32},
    };
    tc_run_grid(ctx, TC_MINMAX, base, sizeof base / sizeof base[0], xtypes, 3, kinds, 3, 23000);
}

/* Per axis on the last axis over many rows (slices of whole rows): the SIMD
 * kernels fold four rows at a time into each strip of pairs, then single rows
 * and column tails, with NaN, infinities and signed zeros among the values. */
TC_BACKEND_TEST(minmax, last_axis_rows) {
    static const tc_case base[] = {
        {.name = "133x96 axis-1", .ndim = 2, .shape = {133, 96}, .gran = CLQ_PER_AXIS, .axis = -1},
        {.name = "70x203 axis-1", .ndim = 2, .shape = {70, 203}, .gran = CLQ_PER_AXIS, .axis = -1},
        {.name = "41x40 axis-1", .ndim = 2, .shape = {41, 40}, .gran = CLQ_PER_AXIS, .axis = -1},
    };
    static const clq_dtype xtypes[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
    static const tc_values kinds[] = {TC_NORMAL, TC_SPECIAL, TC_ZERO};
    tc_run_grid(ctx, TC_MINMAX, base, sizeof base / sizeof base[0], xtypes, 3, kinds, 3, 18000);
}
