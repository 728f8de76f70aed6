/* test_gemm_formats.c: clq_gemm for every weight format (s8, u8, s4, u4 per tensor, per
 * channel and per group of g along K) against every granularity of A (per tensor, per row
 * in both spellings, per group) and each stage they allow, bit for bit against tests/ref
 * (ref_gemm_group.c); the group sums of clq_quantize[_dynamic]_rowsums feeding clq_gemm. */
#include "cl_internal.h"
#include "gemm_case.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const clq_dtype wtypes[] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};
static const clq_dtype atypes[] = {CLQ_S8, CLQ_U8};
static const size_t ms[] = {1, 2, 7, 16, 33};

/* A's zero point for a case of type t: typical, either end of the range, or 0 */
static int32_t pick_za(clq_dtype t, uint64_t i) {
    static const int32_t s8[] = {-5, -128, 127, 0}, u8[] = {131, 0, 255, 128};
    return (t == CLQ_U8 ? u8 : s8)[i % 4];
}

/* zb per tensor (or every zb of a group set) for weights of type t: typical or an end */
static int32_t pick_zb(clq_dtype t, uint64_t i) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    int32_t mid = (lo + hi) / 2 + 1;
    return i % 3 == 0 ? mid : i % 3 == 1 ? lo : hi;
}

static void run_case(clq_context *ctx, const gcase *c) {
    if (c->group) gc_run_case(ctx, c, gc_group_stages, N_GROUP_STAGES);
    else gc_run_case(ctx, c, gc_all_stages, N_STAGES);
}

/* ---- every weight type x format x granularity of A, every stage allowed ----
 * Formats: per tensor, per channel, groups of 16, 32 and 128; K alternately a multiple of
 * g and not (the last group partial; odd K for the 4-bit types); M over the issue's. */
TC_BACKEND_TEST(gemm_formats, every_format) {
    static const size_t fmt_group[] = {0, 0, 16, 32, 128};
    uint64_t seed = 100;
    for (int t = 0; t < 4; t++)
        for (int f = 0; f < 5; f++)
            for (int ag = A_TENSOR; ag <= A_GROUP; ag++, seed++) {
                size_t g = fmt_group[f];
                if (ag == A_GROUP && !g) continue;
                gcase c = {.name = "every format", .at = atypes[seed & 1], .bt = wtypes[t], .group = g,
                           .a_gran = ag, .m = ms[seed % 5], .n = 19 + 2 * (seed % 4), .off = 2 * (seed % 3),
                           .seed = seed};
                c.k = g ? (seed & 2 ? 2 * g : 3 * g + 5) : 37 + 2 * (seed % 3);
                c.za = pick_za(c.at, seed >> 1);
                c.za_null = ag == A_TENSOR && c.za == 0;
                /* zero points: none, one for all, per channel (or group) random with both ends */
                int z = (int)(seed % 3);
                if (f == 0) c.zb_mode = z == 0 ? ZB_NULL : ZB_TENSOR;
                else c.zb_mode = z == 0 ? ZB_NULL : z == 1 ? ZB_CHANNEL_SAME : ZB_CHANNEL;
                c.zb = pick_zb(c.bt, seed / 3);
                run_case(ctx, &c);
            }
}

/* ---- zero points at the ends of their ranges with values at either end (the correction
 * terms and every group's dot at their largest), per channel and per group ---- */
TC_BACKEND_TEST(gemm_formats, zero_points_at_range_ends) {
    static const size_t fmt_group[] = {0, 32};
    uint64_t seed = 400;
    for (int t = 0; t < 4; t++)
        for (int f = 0; f < 2; f++)
            for (int ag = A_ROW_BLOCK; ag <= A_GROUP; ag++)
                for (int e = 0; e < 2; e++, seed++) {
                    size_t g = fmt_group[f];
                    if (ag == A_GROUP && !g) continue;
                    gcase c = {.name = "zero points at the ends", .at = atypes[(seed >> 1) & 1], .bt = wtypes[t],
                               .group = g, .a_gran = ag, .m = ms[seed % 5], .n = 17, .k = g ? 3 * g + 7 : 129,
                               .a_vals = V_EDGE, .b_vals = V_EDGE, .seed = seed};
                    int lo, hi;
                    ref_qrange(c.at, 0, &lo, &hi);
                    /* e = 0: each set random with both ends in it; e = 1: every one at one end */
                    c.zb_mode = e ? ZB_TENSOR : ZB_CHANNEL;
                    c.zb = pick_zb(c.bt, 1 + (seed >> 2) % 2);
                    c.za_same = e;
                    c.za = seed & 4 ? lo : hi;
                    gstage st[2] = {gc_group_stages[seed % 4], gc_group_stages[4 + (seed >> 3) % 2]};
                    gc_run_case(ctx, &c, st, 2);
                }
}

/* ---- shapes: M over the against N and K of 1, primes, and groups that do and
 * do not divide K (odd K for 4-bit weights) ---- */
TC_BACKEND_TEST(gemm_formats, shapes) {
    static const struct {
        size_t n, k, g;
    } nk[] = {{1, 1, 0},   {13, 15, 0},  {1, 17, 16},  {3, 16, 16},   {17, 33, 16},
              {5, 63, 32}, {31, 129, 32}, {65, 47, 16}, {9, 255, 128}, {3, 1029, 256},
              {7, 41, 64} /* g > K: one group of K */};
    uint64_t seed = 700;
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof nk / sizeof nk[0]; j++, seed++) {
            gcase c = {.name = "shapes", .at = atypes[seed & 1], .bt = wtypes[(seed >> 1) % 4], .m = ms[i],
                       .n = nk[j].n, .k = nk[j].k, .group = nk[j].g, .off = 2 * (seed % 2), .seed = seed};
            c.a_gran = c.group ? (int)(seed % 4) : (int)(seed % 3);
            if (nk[j].g > nk[j].k) c.a_gran = A_GROUP; /* A per block of the weights' g > K too */
            c.za = pick_za(c.at, seed);
            c.zb_mode = c.group ? ZB_CHANNEL : seed % 2 ? ZB_CHANNEL : ZB_TENSOR;
            c.zb = pick_zb(c.bt, seed);
            gstage st[2] = {gc_group_stages[seed % 4], gc_group_stages[4 + (seed >> 2) % 2]};
            if (!c.group && seed % 3 == 0) st[0] = gc_all_stages[0]; /* s32 where it is defined */
            if (!c.group && seed % 5 == 0) st[1] = gc_all_stages[7 + seed % 4]; /* fixed point */
            gc_run_case(ctx, &c, st, 2);
        }
}

/* ---- the CPU path's group kernels (run per kernel set by the CLQ_CPU_ISA variants):
 * values and zero points at the ends of their ranges (every correction term and pair of
 * products at its largest), column counts that fill 16- and 64-column panels or leave a
 * remainder, M of the small-M path and beyond it, several groups and a partial one ---- */
TC_BACKEND_TEST(gemm_formats, kernel_paths) {
    static const size_t mn[][2] = {{1, 131}, {4, 64}, {16, 80}, {17, 33}, {40, 130}};
    static const size_t gs[] = {0, 32, 128};
    uint64_t seed = 1900;
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < sizeof mn / sizeof mn[0]; i++)
            for (size_t j = 0; j < sizeof gs / sizeof gs[0]; j++, seed++) {
                size_t g = gs[j];
                gcase c = {.name = "kernel paths", .at = atypes[seed & 1], .bt = wtypes[t], .m = mn[i][0],
                           .n = mn[i][1], .k = g ? 2 * g + 48 + (seed & 1) : 257, .group = g, .a_vals = V_EDGE,
                           .b_vals = V_EDGE, .zb_mode = seed & 2 ? ZB_CHANNEL : ZB_TENSOR, .off = 2 * (seed % 2),
                           .seed = seed};
                c.a_gran = g ? (int)(seed % 4) : (int)(seed % 3);
                int lo, hi;
                ref_qrange(c.at, 0, &lo, &hi);
                c.za = seed & 4 ? lo : hi;
                c.za_same = (seed & 8) != 0;
                c.zb = pick_zb(c.bt, 1 + ((seed >> 4) & 1));
                gstage st[2] = {gc_group_stages[seed % 4], gc_group_stages[4 + (seed >> 2) % 2]};
                if (!g && seed % 3 == 0) st[0] = gc_all_stages[0];
                gc_run_case(ctx, &c, st, 2);
            }
}

/* ---- OpenCL panels of an odd number of accumulators (3 of 8 columns on 16-wide x86,
 * 5 of 4 on 8-wide): the 4-bit tile's half unit (gemm_tile.cl, tile_quads4) next to its
 * whole ones, both tile shapes, with and without groups ---- */
static void nr_odd(clq_cl_tuning *t) { t->gemm_nr = t->vec >= 16 ? 24 : 20; }

Test(gemm_formats, odd_accumulator_count_opencl) {
    clq__cl_tuning_test_hook = nr_odd;
    clq_context *ctx = tc_context(CLQ_BACKEND_OPENCL);
    clq__cl_tuning_test_hook = NULL;
    unsigned nr = clq_cl(ctx)->tuning.gemm_nr;
    cr_assert(nr == 24 || nr == 20, "gemm_nr = %u", nr);
    static const size_t mm[] = {1, 7, 16};
    static const size_t gs[] = {0, 32};
    uint64_t seed = 2600;
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
        for (size_t j = 0; j < sizeof gs / sizeof gs[0]; j++, seed++) {
            size_t g = gs[j];
            gcase c = {.name = "odd accumulators", .at = atypes[seed & 1], .bt = seed & 2 ? CLQ_U4 : CLQ_S4,
                       .m = mm[i], .n = 2 * nr + 7, .k = g ? 3 * g + 16 + (seed & 1) : 203, .group = g,
                       .a_vals = V_EDGE, .b_vals = V_EDGE, .zb_mode = ZB_CHANNEL, .seed = seed};
            c.a_gran = g ? A_GROUP : A_ROW_BLOCK;
            c.zb = pick_zb(c.bt, seed);
            gstage st[2] = {gc_group_stages[seed % 4], gc_group_stages[4 + seed % 2]};
            gc_run_case(ctx, &c, st, 2);
        }
    clq_context_destroy(ctx);
}

/* ---- the CPU path's thread split of the group driver: thread counts that divide nothing
 * evenly give the same bits, small M and large ---- */
Test(gemm_formats, thread_split_cpu) {
    static const int threads[] = {1, 3, 5};
    static const size_t ms2[] = {1, 16, 70};
    for (int t = 0; t < 3; t++) {
        clq_context_options o;
        clq_context_options_init(&o);
        o.backend = CLQ_BACKEND_CPU;
        o.cache_dir = getenv("CLQ_CACHE_DIR");
        o.cpu_threads = threads[t];
        clq_context *ctx = tc_context_opts(&o);
        for (size_t i = 0; i < sizeof ms2 / sizeof ms2[0]; i++) {
            gcase c = {.name = "thread split", .at = CLQ_U8, .bt = i & 1 ? CLQ_S4 : CLQ_U4, .m = ms2[i], .n = 700,
                       .k = 300, .group = 32, .a_gran = i == 1 ? A_ROW_BLOCK : A_GROUP, .zb_mode = ZB_CHANNEL,
                       .seed = 2000 + 10 * (uint64_t)t + i};
            gstage st[2] = {gc_group_stages[1], gc_group_stages[5]};
            gc_run_case(ctx, &c, st, 2);
        }
        clq_context_destroy(ctx);
    }
}

/* ---- layouts and options through the new paths: batched 3-D A per row and per group,
 * strided and column-major A, strided C, 8-bit group weights given as [K, N] (params
 * [G][N]) or with a row stride, caller-provided sums per row and per group, TRUSTED
 * parameters, per-row A without scales (s32, fixed point), empty shapes ---- */
TC_BACKEND_TEST(gemm_formats, layouts) {
    static const gcase cases[] = {
        {.name = "batched A per row", .at = CLQ_U8, .bt = CLQ_U4, .batch = 3, .m = 7, .n = 19, .k = 77,
         .a_gran = A_ROW_BLOCK, .zb_mode = ZB_CHANNEL, .off = 2},
        {.name = "batched A per group", .bt = CLQ_S4, .batch = 2, .m = 5, .n = 13, .k = 71, .group = 16,
         .a_gran = A_GROUP, .zb_mode = ZB_CHANNEL},
        {.name = "batched A per tensor, weight groups", .at = CLQ_U8, .bt = CLQ_U8, .batch = 2, .m = 16, .n = 9,
         .k = 100, .group = 32, .za = 250, .zb_mode = ZB_CHANNEL, .a_pad = 3, .c_pad = 1},
        {.name = "A per row strided", .bt = CLQ_U4, .m = 33, .n = 17, .k = 45, .a_gran = A_ROW_AXIS, .a_pad = 7,
         .c_pad = 4, .zb_mode = ZB_TENSOR, .zb = 8},
        {.name = "A per row column-major", .at = CLQ_U8, .m = 19, .n = 23, .k = 37, .a_gran = A_ROW_AXIS,
         .a_colmajor = 1, .zb_mode = ZB_CHANNEL},
        {.name = "A per group column-major", .at = CLQ_U8, .bt = CLQ_S4, .m = 7, .n = 11, .k = 64, .group = 16,
         .a_gran = A_GROUP, .a_colmajor = 1, .zb_mode = ZB_CHANNEL, .off = 4},
        {.name = "group weights [K,N]", .bt = CLQ_S8, .m = 7, .n = 21, .k = 80, .group = 32, .transposed = 1,
         .a_gran = A_GROUP, .zb_mode = ZB_CHANNEL, .off = 1},
        {.name = "group weights [K,N] padded", .at = CLQ_U8, .bt = CLQ_U8, .m = 16, .n = 5, .k = 131, .group = 16,
         .transposed = 1, .b_pad = 3, .a_gran = A_ROW_BLOCK, .zb_mode = ZB_CHANNEL, .off = 3},
        {.name = "group weights row stride", .bt = CLQ_U8, .m = 2, .n = 31, .k = 96, .group = 32, .b_pad = 5,
         .a_gran = A_TENSOR, .za = 3, .zb_mode = ZB_CHANNEL, .off = 1},
        {.name = "group sums given", .at = CLQ_U8, .bt = CLQ_U4, .m = 23, .n = 19, .k = 150, .group = 32,
         .a_gran = A_GROUP, .zb_mode = ZB_CHANNEL, .rowsums = 1, .off = 2},
        {.name = "group sums given, A per tensor", .bt = CLQ_S4, .batch = 2, .m = 3, .n = 7, .k = 48, .group = 16,
         .za = -7, .zb_mode = ZB_CHANNEL, .rowsums = 1},
        {.name = "row sums given, A per row", .at = CLQ_U8, .bt = CLQ_U8, .m = 17, .n = 9, .k = 41,
         .a_gran = A_ROW_BLOCK, .zb_mode = ZB_CHANNEL, .rowsums = 1},
        {.name = "trusted per group", .at = CLQ_U8, .bt = CLQ_U4, .m = 9, .n = 11, .k = 64, .group = 16,
         .a_gran = A_GROUP, .zb_mode = ZB_CHANNEL, .trusted = 1, .off = 2},
        {.name = "trusted per row", .bt = CLQ_S4, .m = 9, .n = 11, .k = 65, .a_gran = A_ROW_AXIS,
         .zb_mode = ZB_CHANNEL, .trusted = 1},
        {.name = "za NULL per row", .at = CLQ_S8, .bt = CLQ_U4, .m = 4, .n = 7, .k = 33, .a_gran = A_ROW_BLOCK,
         .za_null = 1, .zb_mode = ZB_CHANNEL},
    };
    static const gstage st_g[] = {{CLQ_F32, RELU, 1, 0, 0}, {CLQ_U8, 0, 0, 0, 0}, {CLQ_S8, 0, 0, 0, 0}};
    static const gstage st[] = {
        {CLQ_S32, 0, 0, 0, 0}, {CLQ_F32, RELU, 1, 0, 0}, {CLQ_U8, 0, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}};
    /* TRUSTED C qparams are not read back: u8 narrow range ([1, 255]) must still run */
    static const gstage st_tr[] = {{CLQ_F32, RELU, 1, 0, 0}, {CLQ_U8, 0, 0, 0, 1}, {CLQ_S8, 0, 0, 0, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase c = cases[i];
        c.seed = 1000 + i;
        if (c.trusted) gc_run_case(ctx, &c, st_tr, 3);
        else if (c.group) gc_run_case(ctx, &c, st_g, 3);
        else gc_run_case(ctx, &c, st, 4);
    }
    static const gcase ns[] = {
        {.name = "no scales, A per row", .at = CLQ_U8, .bt = CLQ_U4, .m = 23, .n = 19, .k = 37,
         .a_gran = A_ROW_AXIS, .zb_mode = ZB_CHANNEL, .no_scales = 1},
        {.name = "no scales, batched A per row", .bt = CLQ_S8, .batch = 2, .m = 3, .n = 5, .k = 30,
         .a_gran = A_ROW_BLOCK, .zb_mode = ZB_TENSOR, .zb = -128, .no_scales = 1, .null_options = 1},
    };
    static const gstage st_ns[] = {{CLQ_S32, 0, 0, 0, 0}, {CLQ_U8, FIXED, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        gcase c = ns[i];
        c.seed = 1100 + i;
        gc_run_case(ctx, &c, st_ns, 3);
    }
}

/* ---- K = 0 with groups (G = 0: y = +0, then the bias), M = 0 and N = 0 ---- */
TC_BACKEND_TEST(gemm_formats, empty) {
    static const gcase cases[] = {
        {.name = "K=0 groups", .bt = CLQ_U4, .m = 5, .n = 7, .k = 0, .group = 32, .zb_mode = ZB_CHANNEL},
        {.name = "K=0 groups, A per group", .at = CLQ_U8, .bt = CLQ_S8, .m = 3, .n = 5, .k = 0, .group = 16,
         .a_gran = A_GROUP, .zb_mode = ZB_CHANNEL},
        {.name = "K=0 A per row", .at = CLQ_U8, .bt = CLQ_S4, .m = 3, .n = 5, .k = 0, .a_gran = A_ROW_BLOCK,
         .zb_mode = ZB_CHANNEL},
        {.name = "M=0 groups", .bt = CLQ_U4, .m = 0, .n = 7, .k = 64, .group = 32, .a_gran = A_GROUP,
         .zb_mode = ZB_CHANNEL},
        {.name = "N=0 groups", .bt = CLQ_S4, .m = 5, .n = 0, .k = 64, .group = 16, .a_gran = A_ROW_BLOCK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase c = cases[i];
        c.seed = 1200 + i;
        c.off = 2;
        run_case(ctx, &c);
    }
}

/* ---- requantization through the groups: multipliers large enough that outputs reach both
 * ends of the range (clamped), and power-of-two scales that put sums of group terms
 * exactly between two levels (round half to even) ---- */
TC_BACKEND_TEST(gemm_formats, requantization) {
    static const gstage st[] = {{CLQ_S8, 0, 0, 0, 0}, {CLQ_U8, 0, 0, 0, 0}, {CLQ_S8, 0, 0, 0, 1}};
    uint64_t seed = 1700;
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < sizeof st / sizeof st[0]; i++, seed++) {
            gcase c = {.name = "group saturation", .at = atypes[t & 1], .bt = wtypes[t], .m = 23, .n = 19,
                       .k = 77, .group = 32, .a_gran = t & 1 ? A_GROUP : A_ROW_BLOCK, .zb_mode = ZB_CHANNEL,
                       .off = 2, .sat = 30.0f, .zc_given = 1, .zc = st[i].ct == CLQ_U8 ? 128 : 0, .seed = seed};
            grun *r = malloc(sizeof *r);
            gc_setup(r, ctx, &c);
            if (r->w) {
                ghits h = gc_run_stage(r, &st[i]);
                cr_expect(h.qmin > 0 && h.qmax > 0, "%s: the case reaches qmin %zu and qmax %zu times", r->desc,
                          h.qmin, h.qmax);
            }
            gc_teardown(r);
            free(r);
        }
    for (int i = 0; i < 8; i++) {
        /* values near the zero points keep each group's dot within a few hundred */
        gcase c = {.name = "group ties", .at = atypes[i & 1], .bt = wtypes[(i >> 1) & 3], .m = 16, .n = 9,
                   .k = 16 * (2 + i % 3) + 1, .group = 16, .a_gran = i & 4 ? A_GROUP : A_TENSOR,
                   .za = i & 1 ? 128 : 0, .za_same = 1, .zb_mode = ZB_TENSOR, .pow2 = 1, .a_vals = V_SMALL,
                   .b_vals = V_SMALL, .off = 2, .seed = 1800 + (uint64_t)i};
        c.zb = pick_zb(c.bt, 0);
        gc_run_case(ctx, &c, st, sizeof st / sizeof st[0]);
    }
}

/* ---- the groups' f32 order: ascending j, one rounding per step, no fma ----
 * One output, G = 4 groups of 16: d_0 = 16 at scale 2^20 (y = 2^24), then three groups of
 * d_j = 3 at scale sb_j = RN(1/3) (each product rounds to 1.0, half an ulp of 2^24): in
 * ascending order every addition ties to 2^24; an fma (2^24 + 1.00000003) gives 2^24 + 2,
 * the groups summed first (3 + 2^24) 2^24 + 4, double precision 2^24 + 4. */
TC_BACKEND_TEST(gemm_formats, group_order) {
    enum { KK = 64, NN = 3 };
    int8_t a[KK] = {0}, b[NN * KK];
    for (int g = 0; g < 4; g++) a[16 * g] = g ? 3 : 16;
    memset(b, 0, sizeof b);
    float sb[NN * 4], sa = 1.0f, third = 1.0f / 3.0f;
    for (int n = 0; n < NN; n++)
        for (int g = 0; g < 4; g++) {
            b[n * KK + 16 * g] = 1;
            sb[n * 4 + g] = g ? third : 0x1p20f;
        }
    size_t ash[2] = {1, KK}, bsh[2] = {NN, KK}, csh[2] = {1, NN};
    clq_buffer *ab = tc_buffer(ctx, sizeof a, a), *bb = tc_buffer(ctx, sizeof b, b);
    clq_buffer *sab = tc_buffer(ctx, 4, &sa), *sbb = tc_buffer(ctx, sizeof sb, sb), *cb = tc_buffer(ctx, 4 * NN, NULL);
    clq_tensor at, bt, ct;
    clq_tensor_init(&at, CLQ_S8, 2, ash, ab);
    clq_tensor_init(&bt, CLQ_S8, 2, bsh, bb);
    clq_tensor_init(&ct, CLQ_F32, 2, csh, cb);
    clq_qparams aqp, bqp;
    clq_qparams_init(&aqp);
    aqp.scale = sab;
    clq_qparams_init(&bqp);
    bqp.granularity = CLQ_PER_BLOCK;
    bqp.axis = 1;
    bqp.block_size = 16;
    bqp.scale = sbb;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &bt, &bqp, 0, &w));
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    TC_OK(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &ct));
    float got[NN], want = 0x1p24f;
    int32_t d[4] = {16, 3, 3, 3};
    float saj[4] = {1, 1, 1, 1};
    cr_assert(ref_f32_bits(ref_gemm_group_f32(4, d, saj, sb, NULL, 0)) == ref_f32_bits(want),
              "the reference folds the groups otherwise: %a", ref_gemm_group_f32(4, d, saj, sb, NULL, 0));
    tc_read(cb, sizeof got, got);
    for (int n = 0; n < NN; n++)
        cr_expect(ref_f32_bits(got[n]) == ref_f32_bits(want),
                  "C[0][%d] = %a (%.1f), expected 2^24: %s", n, got[n], got[n],
                  got[n] == 0x1p24f + 2 ? "an fma folded the groups"
                  : got[n] == 0x1p24f + 4 ? "the groups were not added in ascending order, one rounding each"
                                          : "another order");
    clq_weights_destroy(w);
    clq_buffer *bufs[] = {ab, bb, sab, sbb, cb};
    for (size_t i = 0; i < 5; i++) clq_buffer_destroy(bufs[i]);
}

/* ---- the bound on the group length: the largest group accepted is exact with the values
 * that make its dot largest (8-bit: 255 x 255 x 33024, two groups; 4-bit: 255 x 15 x
 * 561424, one group), and one past the 4-bit bound is refused ---- */
TC_BACKEND_TEST(gemm_formats, largest_group) {
    static const struct {
        gcase c;
        size_t kmax;
    } cases[] = {
        {{.name = "s8 x s8 at the ends, g 33024", .at = CLQ_S8, .bt = CLQ_S8, .k = 33040, .group = 33024, .za = 127,
          .a_vals = V_LO, .zb_mode = ZB_TENSOR, .zb = -128, .b_vals = V_HI},
         33025},
        {{.name = "u8 x u4 at the ends", .at = CLQ_U8, .bt = CLQ_U4, .k = 561424, .group = 561424, .za = 255,
          .a_vals = V_LO, .zb_mode = ZB_TENSOR, .zb = 0, .b_vals = V_HI},
         561433},
        {{.name = "s8 x s4 at the ends, A per group", .at = CLQ_S8, .bt = CLQ_S4, .k = 561424, .group = 561424,
          .a_gran = A_GROUP, .za_same = 1, .za = 127, .a_vals = V_LO, .zb_mode = ZB_TENSOR, .zb = 7, .b_vals = V_LO},
         561433},
    };
    static const gstage st[] = {{CLQ_F32, 0, 1, 0, 0}, {CLQ_S8, 0, 0, 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase c = cases[i].c;
        c.m = c.n = 1;
        c.seed = 1600 + i;
        grun *r = malloc(sizeof *r);
        gc_setup(r, ctx, &c);
        if (r->w) {
            size_t kmax = clq_gemm_max_k(c.at, c.za, r->w);
            cr_expect(kmax == cases[i].kmax, "%s: clq_gemm_max_k %zu, expected %zu", r->desc, kmax, cases[i].kmax);
            int64_t dev = (int64_t)c.group * 255 * (ref_is_4bit(c.bt) ? 15 : 255);
            cr_assert(llabs(r->c32[0]) == dev, "%s: test setup: d_0 = %d, meant +-%lld", r->desc, r->c32[0],
                      (long long)dev);
            for (size_t s = 0; s < sizeof st / sizeof st[0]; s++) gc_run_stage(r, &st[s]);
        }
        gc_teardown(r);
        free(r);
    }
    /* a group one multiple of 16 past the 4-bit bound */
    size_t k = 561440, ash[2] = {1, k}, csh[2] = {1, 1};
    int32_t za = 255, zb = 0;
    float one = 1.0f;
    clq_buffer *ab = tc_buffer(ctx, k, NULL), *bb = tc_buffer(ctx, k / 2, NULL), *cb = tc_buffer(ctx, 16, NULL);
    clq_buffer *zab = tc_buffer(ctx, 4, &za), *zbb = tc_buffer(ctx, 4, &zb), *sb = tc_buffer(ctx, 4, &one);
    clq_tensor at, bt, ct;
    clq_tensor_init(&at, CLQ_U8, 2, ash, ab);
    clq_tensor_init(&bt, CLQ_U4, 2, ash, bb);
    clq_tensor_init(&ct, CLQ_F32, 2, csh, cb);
    ct.offset = 1;
    clq_qparams aqp, bqp;
    clq_qparams_init(&aqp);
    aqp.qtype = CLQ_U8;
    aqp.scale = sb;
    aqp.zero_point = zab;
    clq_qparams_init(&bqp);
    bqp.qtype = CLQ_U4;
    bqp.granularity = CLQ_PER_BLOCK;
    bqp.axis = 1;
    bqp.block_size = k;
    bqp.scale = sb;
    bqp.zero_point = zbb;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &bt, &bqp, 0, &w));
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    clq_status s = clq_gemm(ctx, &at, &aqp, w, &o, &ct);
    cr_expect(s == CLQ_ERROR_OVERFLOW && tc_names(clq_context_error_message(ctx), "group"),
              "a group of %zu u4 against u8 A at zero point 255: %s (%s)", k, clq_status_string(s),
              clq_context_error_message(ctx));
    tc_assert_untouched(cb, 16, "C of a refused group length");
    clq_weights_destroy(w);
    clq_buffer *bufs[] = {ab, bb, cb, zab, zbb, sb};
    for (size_t i = 0; i < 6; i++) clq_buffer_destroy(bufs[i]);
}

/* ---- one LLM-sized case per backend: 16 x 4096 x 4096, u4 in groups of 32, A per group
 * (as ggml's Q4_0 x Q8_0) and per row. Named so that the CPU level and OpenCL variant
 * runs (filters "*_cpu", "*_opencl") skip it: it runs once per backend. ---- */
static void llm_shape(clq_context *ctx) {
    gcase c = {.name = "LLM shape", .at = CLQ_S8, .bt = CLQ_U4, .m = 16, .n = 4096, .k = 4096, .group = 32,
               .a_gran = A_GROUP, .zb_mode = ZB_CHANNEL, .off = 2, .seed = 1300};
    static const gstage st[] = {{CLQ_F32, 0, 1, 0, 0}, {CLQ_S8, 0, 0, 0, 0}};
    gc_run_case(ctx, &c, st, 2);
}
Test(gemm_formats, llm_shape_cpu_once) { tc_with_backend(CLQ_BACKEND_CPU, llm_shape); }
Test(gemm_formats, llm_shape_opencl_once) { tc_with_backend(CLQ_BACKEND_OPENCL, llm_shape); }

/* ---- the reference against itself: one group is the int8 GEMM's reference (so per-tensor
 * A, per-channel 8-bit weights and g = K give the bits of before), group dots add up to
 * the dot over K, and the group sums are the row sums of each group ---- */
Test(gemm_formats, reference) {
    tc_rng rng;
    tc_rng_seed(&rng, 1400);
    enum { RM = 5, RN = 7, RK = 83, RG = 16 };
    int8_t a[RM * RK], b[RN * RK];
    for (size_t i = 0; i < sizeof a; i++) a[i] = (int8_t)tc_rng_int(&rng, -128, 127);
    for (size_t i = 0; i < sizeof b; i++) b[i] = (int8_t)tc_rng_int(&rng, -128, 127);
    int32_t za = -9, zb[RN];
    for (int n = 0; n < RN; n++) zb[n] = tc_rng_int(&rng, -128, 127);
    ref_mat am = {CLQ_S8, a, 0, RK, 1}, bm = {CLQ_S8, b, 0, RK, 1};
    int64_t c[RM * RN], dk[RM * RN], dg[RM * RN * 6];
    ref_gemm_exact(RM, RN, RK, &am, za, &bm, zb, 1, c);
    ref_gemm_group_exact(RM, RN, RK, 0, &am, CLQ_PER_TENSOR, &za, &bm, CLQ_PER_AXIS, zb, dk);
    /* groups of 16 with every group's zero point that of its channel */
    int32_t zbg[RN * 6];
    for (int n = 0; n < RN * 6; n++) zbg[n] = zb[n / 6];
    cr_assert(ref_gemm_groups(RK, RG) == 6 && ref_gemm_groups(0, RG) == 0 && ref_gemm_groups(RK, 0) == 1);
    ref_gemm_group_exact(RM, RN, RK, RG, &am, CLQ_PER_TENSOR, &za, &bm, CLQ_PER_BLOCK, zbg, dg);
    for (int i = 0; i < RM * RN; i++) {
        int64_t s = 0;
        for (int j = 0; j < 6; j++) s += dg[i * 6 + j];
        cr_assert(dk[i] == c[i] && s == c[i], "output %d: int8 reference %lld, one group %lld, groups %lld", i,
                  (long long)c[i], (long long)dk[i], (long long)s);
    }
    int32_t sums[RM * 6], whole[RM];
    ref_gemm_group_sums(RM, RK, RG, &am, sums);
    ref_gemm_group_sums(RM, RK, 0, &am, whole);
    for (int r = 0; r < RM; r++) {
        int32_t s = 0, t = 0;
        for (int k = 0; k < RK; k++) s += a[r * RK + k];
        for (int j = 0; j < 6; j++) t += sums[r * 6 + j];
        int32_t g5 = 0;
        for (int k = 80; k < RK; k++) g5 += a[r * RK + k];
        cr_assert(whole[r] == s && t == s && sums[r * 6 + 5] == g5, "row %d: sums %d / %d / last group %d vs %d", r,
                  whole[r], t, sums[r * 6 + 5], g5);
    }
    /* one group: the f32 and float-multiplier stages of the int8 GEMM, bit for bit */
    for (int i = 0; i < 2000; i++) {
        int32_t d = 2 * tc_rng_int(&rng, -1000000000, 1000000000) / (1 << (i % 24));
        float sa = tc_rng_logscale(&rng, 1e-4f, 1.0f), sb = tc_rng_logscale(&rng, 1e-4f, 1.0f);
        float bias = tc_rng_normal(&rng) * 100.0f, sc = tc_rng_logscale(&rng, 1e-3f, 1e3f);
        int32_t zc = tc_rng_int(&rng, -128, 127);
        int relu = i & 1;
        float f1 = ref_gemm_f32(d, sa, sb, i & 2 ? &bias : NULL, relu);
        float f2 = ref_gemm_group_f32(1, &d, &sa, &sb, i & 2 ? &bias : NULL, relu);
        int32_t q1 = ref_gemm_requant_float(d, sa, sb, sc, zc, -128, 127);
        int32_t q2 = ref_gemm_group_requant(1, &d, &sa, &sb, sc, zc, -128, 127);
        cr_assert(ref_f32_bits(f1) == ref_f32_bits(f2) && q1 == q2, "d %d sa %a sb %a: f32 %a / %a, q %d / %d", d,
                  sa, sb, f1, f2, q1, q2);
    }
    /* the group stage against the dequantized product in double (tests/ref's parameter
     * layout of ONNX blocked quantization: per block of 16 along K of u4 weights [N, K],
     * of s8 A [M, K]), 4-bit values read in nibbles: within the f32 roundings */
    {
        enum { DM = 3, DN = 5, DK = 71, DG = 16, NG = 5 };
        int8_t da[DM * DK];
        uint8_t db[(DN * DK + 1) / 2] = {0};
        float sa[DM * NG], sb[DN * NG];
        int32_t za2[DM * NG], zb2[DN * NG];
        for (int e = 0; e < DM * DK; e++) da[e] = (int8_t)tc_rng_int(&rng, -128, 127);
        for (int e = 0; e < DN * DK; e++) ref_store_q(CLQ_U4, db, (size_t)e, tc_rng_int(&rng, 0, 15));
        for (int p = 0; p < DM * NG; p++) sa[p] = tc_rng_logscale(&rng, 0.01f, 1.0f), za2[p] = tc_rng_int(&rng, -128, 127);
        for (int p = 0; p < DN * NG; p++) sb[p] = tc_rng_logscale(&rng, 0.01f, 1.0f), zb2[p] = tc_rng_int(&rng, 0, 15);
        ref_mat dam = {CLQ_S8, da, 0, DK, 1}, dbm = {CLQ_U4, db, 0, DK, 1};
        int64_t dd[DM * DN * NG];
        ref_gemm_group_exact(DM, DN, DK, DG, &dam, CLQ_PER_BLOCK, za2, &dbm, CLQ_PER_BLOCK, zb2, dd);
        ref_gran rg = {CLQ_PER_BLOCK, 1, DG};
        size_t ash[2] = {DM, DK}, bsh[2] = {DN, DK};
        for (size_t i = 0; i < DM; i++)
            for (size_t n = 0; n < DN; n++) {
                double y = 0.0;
                for (size_t k = 0; k < DK; k++) {
                    size_t ia[2] = {i, k}, ib[2] = {n, k};
                    size_t pa = ref_param_index(&rg, 2, ash, ia), pb = ref_param_index(&rg, 2, bsh, ib);
                    y += (double)ref_dequantize_one(da[i * DK + k], sa[pa], za2[pa]) *
                         ref_dequantize_one(ref_load_q(CLQ_U4, db, n * DK + k), sb[pb], zb2[pb]);
                }
                int32_t dj[NG];
                float saj[NG], sbj[NG];
                for (size_t j = 0; j < NG; j++) {
                    dj[j] = (int32_t)dd[(i * DN + n) * NG + j];
                    saj[j] = sa[i * NG + j];
                    sbj[j] = sb[n * NG + j];
                }
                float f = ref_gemm_group_f32(NG, dj, saj, sbj, NULL, 0);
                double mag = 0.0;
                for (size_t j = 0; j < NG; j++) mag += fabs((double)dj[j] * saj[j] * sbj[j]);
                cr_assert(fabs(f - y) <= 1e-5 * mag + 1e-30, "C[%zu][%zu]: group stage %a, dequantized %a", i, n,
                          f, y);
            }
    }
    /* no groups at all (K = 0 with groups): +0, then the bias */
    float bias = -2.5f;
    cr_assert(ref_f32_bits(ref_gemm_group_f32(0, NULL, NULL, NULL, NULL, 0)) == 0 &&
              ref_gemm_group_f32(0, NULL, NULL, NULL, &bias, 0) == bias &&
              ref_gemm_group_requant(0, NULL, NULL, NULL, 1.0f, 3, -128, 127) == 3);
}

/* ---- group sums from clq_quantize_rowsums / clq_quantize_dynamic_rowsums (qparams per
 * block along the last axis, the last block partial) checked against the reference, then
 * given to clq_gemm against grouped weights with A per group (the same parameters), and
 * whole-row sums (block K) for A per row ---- */
TC_BACKEND_TEST(gemm_formats, group_sums_from_quantize) {
    static const struct {
        clq_dtype qt, bt;
        size_t batch, m, k, block, g; /* block: A's qparams; g: the weights' groups (0: per channel) */
        int dyn;
    } cases[] = {{CLQ_U8, CLQ_U4, 0, 7, 100, 32, 32, 0}, {CLQ_S8, CLQ_S4, 2, 5, 64, 16, 16, 0},
                 {CLQ_U8, CLQ_U8, 0, 16, 77, 77, 0, 0},  {CLQ_S8, CLQ_U4, 0, 3, 130, 32, 32, 1},
                 {CLQ_U8, CLQ_S8, 2, 4, 96, 16, 16, 1},   {CLQ_U8, CLQ_U4, 0, 9, 45, 45, 0, 1}};
    const size_t N = 11;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_rng rng;
        tc_rng_seed(&rng, 1500 + i);
        size_t B = cases[i].batch ? cases[i].batch : 1, rows = B * cases[i].m, K = cases[i].k, n = rows * K;
        size_t blk = cases[i].block, G = ref_gemm_groups(K, blk < K ? blk : 0), np = rows * ref_gemm_groups(K, blk);
        size_t shape[3] = {B, cases[i].m, K}, *sh = cases[i].batch ? shape : shape + 1;
        int nd = cases[i].batch ? 3 : 2, qmin, qmax;
        clq_dtype qt = cases[i].qt;
        ref_qrange(qt, 0, &qmin, &qmax);
        float *x = malloc(4 * n), *scale = malloc(4 * np);
        int32_t *zp = malloc(4 * np);
        for (size_t e = 0; e < n; e++) x[e] = 3.0f * tc_rng_normal(&rng) + (float)(e % K) * 0.01f;
        for (size_t p = 0; p < np; p++)
            scale[p] = tc_rng_logscale(&rng, 0.01f, 0.1f), zp[p] = tc_rng_int(&rng, qmin / 2, qmax / 2);
        clq_buffer *xb = tc_buffer(ctx, 4 * n, x), *yb = tc_buffer(ctx, n + 8, NULL);
        clq_buffer *sb = tc_buffer(ctx, 4 * np, scale), *zb = tc_buffer(ctx, 4 * np, zp);
        clq_buffer *rsb = tc_buffer(ctx, 4 * (rows * G + 4), NULL);
        clq_tensor xt, yt;
        clq_tensor_init(&xt, CLQ_F32, nd, sh, xb);
        clq_tensor_init(&yt, qt, nd, sh, yb);
        yt.offset = 6;
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = qt;
        qp.granularity = CLQ_PER_BLOCK;
        qp.axis = nd - 1;
        qp.block_size = blk;
        qp.scale = sb;
        qp.zero_point = zb;
        ref_view v = {nd, {0}, {0}, 0};
        memcpy(v.shape, sh, sizeof(size_t) * (size_t)nd);
        ref_contiguous_strides(nd, v.shape, v.strides);
        ref_gran rg = {CLQ_PER_BLOCK, nd - 1, blk};
        if (cases[i].dyn) {
            TC_OK(ctx, clq_quantize_dynamic_rowsums(ctx, &xt, &qp, &yt, rsb, 2));
            float *mn = malloc(4 * np), *mx = malloc(4 * np), *gs = malloc(4 * np);
            int32_t *gz = malloc(4 * np);
            tc_read(sb, 4 * np, scale);
            tc_read(zb, 4 * np, zp);
            ref_minmax(CLQ_F32, x, &v, &rg, mn, mx);
            for (size_t p = 0; p < np; p++) {
                ref_qparams(mn[p], mx[p], CLQ_AFFINE, qt, 0, &gs[p], &gz[p]);
                cr_assert(ref_f32_bits(gs[p]) == ref_f32_bits(scale[p]) && gz[p] == zp[p],
                          "case %zu: dynamic parameters [%zu] %a/%d, expected %a/%d", i, p, scale[p], zp[p], gs[p],
                          gz[p]);
            }
            free(mn), free(mx), free(gs), free(gz);
            qp.flags = CLQ_QPARAMS_TRUSTED; /* made on the device, as an engine would pass them */
        } else {
            TC_OK(ctx, clq_quantize_rowsums(ctx, &xt, &qp, &yt, rsb, 2));
        }
        uint8_t *y = malloc(n + 8);
        int32_t *q = malloc(4 * (n + 1)), *rs = malloc(4 * (rows * G + 4)), *want = malloc(4 * (rows * G + 4));
        tc_read(yb, n + 8, y);
        tc_read(rsb, 4 * (rows * G + 4), rs);
        ref_quantize(CLQ_F32, x, &v, &rg, scale, zp, qt, 0, CLQ_ROUND_HALF_EVEN, 0, q);
        for (size_t e = 0; e < n; e++)
            cr_assert(ref_load_q(qt, y, 6 + e) == q[e], "case %zu: y[%zu] = %d, expected %d", i, e,
                      ref_load_q(qt, y, 6 + e), q[e]);
        memset(want, TC_SENTINEL, 4 * (rows * G + 4));
        ref_mat am = {qt, y, 6, (ptrdiff_t)K, 1};
        ref_gemm_group_sums(rows, K, blk < K ? blk : 0, &am, want + 2);
        for (size_t r = 0; r < rows * G + 4; r++)
            cr_assert(rs[r] == want[r], "case %zu: sums element %zu (row %zd, group %zd): expected %d, got %d", i, r,
                      ((ptrdiff_t)r - 2) / (ptrdiff_t)G, ((ptrdiff_t)r - 2) % (ptrdiff_t)G, want[r], rs[r]);

        /* weights with random zero points, so that the sums matter; f32 output */
        size_t g = cases[i].g, GW = ref_gemm_groups(K, g), nw = g ? N * GW : N, bshape[2] = {N, K};
        clq_dtype bt = cases[i].bt;
        int blo, bhi;
        ref_qrange(bt, 0, &blo, &bhi);
        uint8_t *bh = calloc(N * K + 2, 1);
        float *sbv = malloc(4 * nw);
        int32_t *zbv = malloc(4 * nw);
        for (size_t e = 0; e < N * K; e++) ref_store_q(bt, bh, e, tc_rng_int(&rng, blo, bhi));
        for (size_t j = 0; j < nw; j++) zbv[j] = tc_rng_int(&rng, blo, bhi), sbv[j] = tc_rng_logscale(&rng, 0.01f, 1.0f);
        clq_buffer *bb = tc_buffer(ctx, N * K + 2, bh), *zbb = tc_buffer(ctx, 4 * nw, zbv);
        clq_buffer *sbb = tc_buffer(ctx, 4 * nw, sbv), *cb = tc_buffer(ctx, 4 * (rows * N + 8), NULL);
        clq_tensor bt_, ct;
        clq_tensor_init(&bt_, bt, 2, bshape, bb);
        clq_qparams bqp;
        clq_qparams_init(&bqp);
        bqp.qtype = bt;
        bqp.granularity = g ? CLQ_PER_BLOCK : CLQ_PER_AXIS;
        bqp.axis = g ? 1 : 0;
        bqp.block_size = g;
        bqp.zero_point = zbb;
        bqp.scale = sbb;
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt_, &bqp, 0, &w));
        size_t a2[2] = {rows, K}, csh[2] = {rows, N};
        clq_tensor a2t;
        clq_tensor_init(&a2t, qt, 2, a2, yb); /* a batched y is the same memory */
        a2t.offset = 6;
        clq_qparams aqp = qp; /* per block of g (or of K: per row) on the last axis of [rows, K] */
        aqp.axis = 1;
        clq_tensor_init(&ct, CLQ_F32, 2, csh, cb);
        ct.offset = 3;
        clq_granularity agr = blk < K ? CLQ_PER_BLOCK : CLQ_PER_AXIS;
        ref_mat bm = {bt, bh, 0, (ptrdiff_t)K, 1};
        int64_t *d64 = malloc(8 * rows * N * GW);
        ref_gemm_group_exact(rows, N, K, g, &am, agr, zp, &bm, g ? CLQ_PER_BLOCK : CLQ_PER_AXIS, zbv, d64);
        float *cexp = malloc(4 * rows * N), *got = malloc(4 * (rows * N + 8));
        int32_t *dj = malloc(4 * GW);
        float *saj = malloc(4 * GW), *sbj = malloc(4 * GW);
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < N; c++) {
                for (size_t j = 0; j < GW; j++) {
                    dj[j] = (int32_t)d64[(r * N + c) * GW + j];
                    saj[j] = scale[ref_gemm_param(agr, r, j, GW)];
                    sbj[j] = sbv[ref_gemm_param(g ? CLQ_PER_BLOCK : CLQ_PER_AXIS, c, j, GW)];
                }
                cexp[r * N + c] = ref_gemm_group_f32(GW, dj, saj, sbj, NULL, 0);
            }
        for (int given = 0; given < 2; given++) {
            clq_gemm_options o;
            clq_gemm_options_init(&o);
            if (given) o.a_rowsums = rsb, o.a_rowsums_offset = 2;
            TC_OK(ctx, clq_gemm(ctx, &a2t, &aqp, w, &o, &ct));
            tc_read(cb, 4 * (rows * N + 8), got);
            for (size_t e = 0; e < rows * N + 8; e++) {
                uint32_t want_bits = e >= 3 && e < 3 + rows * N ? ref_f32_bits(cexp[e - 3]) : 0xA5A5A5A5u;
                cr_assert(ref_f32_bits(got[e]) == want_bits,
                          "case %zu (%s sums): C buffer element %zu (row-major C element %td) = %a, "
                          "expected 0x%08x", i, given ? "with the" : "without", e, (ptrdiff_t)e - 3, got[e],
                          want_bits);
            }
        }
        clq_weights_destroy(w);
        clq_buffer *bufs[] = {xb, yb, sb, zb, rsb, bb, zbb, sbb, cb};
        for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) clq_buffer_destroy(bufs[k]);
        free(x), free(scale), free(zp), free(y), free(q), free(rs), free(want), free(bh), free(sbv), free(zbv);
        free(d64), free(cexp), free(got), free(dj), free(saj), free(sbj);
    }
}
