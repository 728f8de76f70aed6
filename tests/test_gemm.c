/* test_gemm.c: clq_gemm on every backend against tests/ref/ref_gemm.c, bit for bit: every
 * A/B type and zero point, per-tensor and per-channel B, each output stage, shapes that fit
 * no tile, strided/batched/transposed layouts, empty shapes, saturation, rounding ties and
 * the float multiplier's order of operations. */
#include "gemm_case.h"

#include <math.h>

/* ---- every type, zero point and stage ---- */
static const int32_t za_s8[] = {0, -5, -128, 127}, za_u8[] = {0, 3, 128, 255};
static const int32_t zb_s8[] = {3, -128, 127}, zb_u8[] = {128, 0, 255};
static const clq_dtype qt[] = {CLQ_S8, CLQ_U8};

/* zb choice z of 6: NULL, three per tensor (typical, both extremes), per channel random
 * (channels 0 and 1 at the extremes), per channel all typical */
static void set_zb(gcase *c, int z) {
    const int32_t *v = c->bt == CLQ_S8 ? zb_s8 : zb_u8;
    c->zb_mode = z == 0 ? ZB_NULL : z <= 3 ? ZB_TENSOR : z == 4 ? ZB_CHANNEL : ZB_CHANNEL_SAME;
    c->zb = z >= 1 && z <= 3 ? v[z - 1] : z == 5 ? v[0] : 0;
}

TC_BACKEND_TEST(gemm, every_type_zero_point_stage) {
    uint64_t seed = 1;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int za = 0; za < 4; za++)
                for (int z = 0; z < 6; z++, seed++) {
                    gcase c = {.name = "combinations", .at = qt[a], .bt = qt[b], .m = 23, .n = 19, .k = 37,
                               .za = (a ? za_u8 : za_s8)[za], .off = 1 + seed % 5, .seed = seed};
                    c.za_null = c.za == 0 && (seed & 1);
                    set_zb(&c, z);
                    gc_run_case(ctx, &c, gc_all_stages, N_STAGES);
                }
}

/* ---- shapes: every M of the issue against N, K of 1, primes, powers of two ---- */
TC_BACKEND_TEST(gemm, shapes) {
    static const size_t ms[] = {1, 2, 3, 7, 16, 33, 64, 127};
    static const size_t nk[][2] = {{1, 1},   {1, 64},   {13, 1},   {2, 3},  {17, 31},
                                   {64, 64}, {67, 131}, {128, 97}, {5, 257}};
    uint64_t seed = 1000;
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof nk / sizeof nk[0]; j++, seed++) {
            gcase c = {.name = "shapes", .at = qt[seed & 1], .bt = qt[(seed >> 1) & 1], .m = ms[i], .n = nk[j][0],
                       .k = nk[j][1], .off = seed % 3, .seed = seed, .null_options = (int)(seed % 3 == 0)};
            c.za = (c.at == CLQ_S8 ? za_s8 : za_u8)[seed % 4];
            set_zb(&c, (int)(seed % 6));
            gstage st[2] = {gc_all_stages[0], gc_all_stages[1 + seed % (N_STAGES - 1)]};
            gc_run_case(ctx, &c, st, 2);
        }
}

TC_BACKEND_TEST(gemm, large) {
    gcase c = {.name = "large", .at = CLQ_U8, .bt = CLQ_S8, .m = 512, .n = 768, .k = 3072, .za = 131,
               .zb_mode = ZB_CHANNEL, .off = 3, .seed = 7};
    gstage st[3] = {{CLQ_S32, 0, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}, {CLQ_F32, RELU, 1, 0, 0}};
    gc_run_case(ctx, &c, st, 3);
}

/* ---- the CPU kernels' paths (run per kernel set by the CLQ_CPU_ISA variants): K4
 * panels of 16 columns without, with many and with few -128 weights (the AVX2 fixups),
 * with A and B at the ends of their range (every pair of products at its largest: an
 * int16-saturating form is caught); K remainders of the K quad, of KALIGN and of the
 * 512-long K panel, and K past 4096 (several panels of the longest K panel); M and N
 * remainders of every register tile (rows 1..16, columns 16..64); M of 1..16 take
 * the small-M path (all of K in one panel) ---- */
TC_BACKEND_TEST(gemm, kernel_paths) {
    static const size_t ks[] = {1, 3, 5, 64, 65, 511, 513, 1100, 4200};
    static const size_t mn[][2] = {{1, 17}, {2, 16}, {5, 33}, {6, 64}, {7, 65},
                                   {13, 31}, {16, 48}, {17, 80}, {33, 15}};
    uint64_t seed = 9000;
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        for (size_t j = 0; j < sizeof mn / sizeof mn[0]; j++, seed++) {
            gcase c = {.name = "kernel paths", .at = qt[seed & 1], .bt = qt[(seed >> 1) & 1],
                       .m = mn[j][0], .n = mn[j][1], .k = ks[i], .a_vals = V_EDGE,
                       .b_vals = V_PANELS, .off = seed % 3, .seed = seed};
            /* za and zb at either end too (the correction terms at their largest) */
            c.za = c.at == CLQ_U8 ? (seed & 4 ? 255 : 0) : (seed & 4 ? 127 : -128);
            c.zb_mode = seed & 8 ? ZB_CHANNEL : ZB_TENSOR;
            c.zb = c.bt == CLQ_U8 ? (seed & 16 ? 255 : 0) : (seed & 16 ? 127 : -128);
            gstage st[2] = {gc_all_stages[0], gc_all_stages[1 + seed % (N_STAGES - 1)]};
            gc_run_case(ctx, &c, st, 2);
        }
}

/* ---- the CPU path's small-M driver (cpu_gemm_small.c), which takes every M <= 16 on
 * the K4 levels: each M of 1..16 against every output stage, zero points per tensor
 * and per channel, panels with and without a -128 weight; N = 131 ends in a partial
 * panel and splits unevenly over the threads; K = 1037 takes several K panels where
 * M exceeds a tile's rows (and a B large enough to wake the pool), K = 37 one ---- */
TC_BACKEND_TEST(gemm, small_m) {
    static const size_t ks[] = {37, 1037};
    uint64_t seed = 9700;
    for (size_t m = 1; m <= 16; m++)
        for (size_t i = 0; i < 2; i++, seed++) {
            gcase c = {.name = "small M", .at = qt[seed & 1], .bt = qt[(seed >> 1) & 1], .m = m,
                       .n = 131, .k = ks[i], .a_vals = V_EDGE, .b_vals = V_PANELS,
                       .off = seed % 3, .seed = seed};
            c.za = (c.at == CLQ_U8 ? za_u8 : za_s8)[(seed >> 2) % 4];
            c.zb_mode = m & 1 ? ZB_CHANNEL : ZB_TENSOR;
            c.zb = c.bt == CLQ_U8 ? (seed & 8 ? 255 : 0) : (seed & 8 ? 127 : -128);
            gc_run_case(ctx, &c, gc_all_stages, N_STAGES);
        }
}

/* ---- the CPU path's thread split: small M splits N across threads, larger M splits
 * blocks; thread counts that divide nothing evenly give the same bits ---- */
Test(gemm, thread_split_cpu) {
    static const int threads[] = {1, 3, 5};
    static const size_t ms[] = {1, 4, 16, 200};
    for (int t = 0; t < 3; t++) {
        clq_context_options o;
        clq_context_options_init(&o);
        o.backend = CLQ_BACKEND_CPU;
        o.cache_dir = getenv("CLQ_CACHE_DIR");
        o.cpu_threads = threads[t];
        clq_context *ctx = tc_context_opts(&o);
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
            gcase c = {.name = "thread split", .at = CLQ_U8, .bt = CLQ_S8, .m = ms[i], .n = 1000,
                       .k = 700, .za = 129, .zb_mode = ZB_CHANNEL, .b_vals = V_PANELS,
                       .seed = 9500 + 10 * (uint64_t)t + i};
            gstage st[2] = {gc_all_stages[0], gc_all_stages[9]};
            gc_run_case(ctx, &c, st, 2);
        }
        clq_context_destroy(ctx);
    }
}

/* ---- layouts: B as [K, N], strided and batched A, strided B and C, offsets ---- */
TC_BACKEND_TEST(gemm, layouts) {
    static const gcase cases[] = {
        {.name = "B [K,N]", .m = 23, .n = 19, .k = 37, .transposed = 1, .zb_mode = ZB_CHANNEL},
        {.name = "B [K,N] u8 per tensor", .bt = CLQ_U8, .m = 7, .n = 64, .k = 33, .transposed = 1,
         .zb_mode = ZB_TENSOR, .zb = 200},
        {.name = "B [K,N] padded", .at = CLQ_U8, .za = 128, .m = 16, .n = 5, .k = 131, .transposed = 1, .b_pad = 3,
         .zb_mode = ZB_CHANNEL, .off = 5},
        {.name = "A row stride", .m = 33, .n = 17, .k = 29, .a_pad = 7, .za = -5, .zb_mode = ZB_TENSOR, .zb = 3},
        {.name = "A row stride u8", .at = CLQ_U8, .bt = CLQ_U8, .za = 255, .m = 3, .n = 64, .k = 64, .a_pad = 64,
         .zb_mode = ZB_CHANNEL, .off = 2},
        /* K a multiple of 64: the VNNI kernels read u8 A in place, except at rows 4 KiB apart */
        {.name = "A u8 in place, padded rows", .at = CLQ_U8, .m = 40, .n = 70, .k = 1088, .a_pad = 32, .za = 7,
         .zb_mode = ZB_CHANNEL, .off = 1},
        {.name = "A u8 rows 4 KiB apart", .at = CLQ_U8, .m = 8, .n = 20, .k = 4032, .a_pad = 64, .za = 250,
         .zb_mode = ZB_TENSOR, .zb = -3},
        {.name = "A batched", .batch = 2, .m = 7, .n = 19, .k = 37, .za = 3, .zb_mode = ZB_CHANNEL},
        {.name = "A batched strided", .at = CLQ_U8, .batch = 2, .m = 33, .n = 13, .k = 23, .a_pad = 2, .c_pad = 3,
         .za = 128, .zb_mode = ZB_TENSOR, .zb = -7, .off = 4},
        {.name = "A batched rowsums", .at = CLQ_U8, .batch = 2, .m = 16, .n = 9, .k = 40, .za = 3,
         .zb_mode = ZB_CHANNEL, .rowsums = 1},
        {.name = "A column-major view", .m = 19, .n = 23, .k = 37, .a_colmajor = 1, .za = 1, .zb_mode = ZB_CHANNEL},
        {.name = "B row stride", .bt = CLQ_U8, .m = 5, .n = 31, .k = 17, .b_pad = 9, .zb_mode = ZB_CHANNEL, .off = 1},
        {.name = "C row stride", .m = 23, .n = 19, .k = 37, .c_pad = 5, .off = 3, .zb_mode = ZB_TENSOR, .zb = 1},
        {.name = "all strided", .at = CLQ_U8, .bt = CLQ_U8, .batch = 2, .m = 3, .n = 7, .k = 11, .a_pad = 1,
         .b_pad = 2, .c_pad = 3, .transposed = 1, .za = 9, .zb_mode = ZB_CHANNEL, .off = 6},
        {.name = "rowsums given", .m = 23, .n = 19, .k = 37, .za = -128, .zb_mode = ZB_CHANNEL, .rowsums = 1},
        {.name = "no scales", .m = 23, .n = 19, .k = 37, .za = 5, .zb_mode = ZB_CHANNEL, .no_scales = 1},
        {.name = "trusted", .at = CLQ_U8, .bt = CLQ_U8, .m = 23, .n = 19, .k = 37, .za = 17, .zb_mode = ZB_CHANNEL,
         .trusted = 1, .off = 2},
    };
    static const gstage st[] = {
        {CLQ_S32, 0, 0, 0, 0}, {CLQ_F32, RELU, 1, 0, 0}, {CLQ_U8, 0, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}};
    static const gstage st_ns[] = {{CLQ_S32, 0, 0, 0, 0}, {CLQ_U8, FIXED, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}};
    /* TRUSTED C qparams are not read back: u8 narrow range ([1, 255]) must still run. */
    static const gstage st_tr[] = {{CLQ_S32, 0, 0, 0, 0}, {CLQ_F32, RELU, 1, 0, 0}, {CLQ_U8, 0, 0, 0, 1},
                                   {CLQ_U8, FIXED, 0, 1, 1}, {CLQ_S8, 0, 0, 0, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase c = cases[i];
        c.seed = 2000 + i;
        if (c.no_scales) gc_run_case(ctx, &c, st_ns, 3);
        else if (c.trusted) gc_run_case(ctx, &c, st_tr, 5);
        else gc_run_case(ctx, &c, st, 4);
    }
}

/* ---- row sums of A (the zb correction term): the SIMD kernels' 64- and
 * 32-byte loops and tails, u8 and s8 (biased to u8 in the kernels), values at
 * either end of the range, dense and strided rows ---- */
TC_BACKEND_TEST(gemm, row_sums) {
    static const size_t ks[] = {1, 31, 63, 64, 65, 129, 1031};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
            for (int v = 0; v < 2; v++) {
                gcase c = {.name = "row sums", .at = t ? CLQ_U8 : CLQ_S8, .m = i % 2 ? 70 : 5, .n = 3,
                           .k = ks[i], .a_pad = v ? 3 : 0, .za = t ? 130 : -3, .zb_mode = ZB_CHANNEL,
                           .a_vals = v ? V_EDGE : V_RANDOM, .seed = 3500 + 16 * (uint64_t)t + 2 * i + v};
                gc_run_case(ctx, &c, gc_all_stages, 1);
            }
}

/* ---- K = 0 gives the stage of 0; M = 0 and N = 0 write nothing ---- */
TC_BACKEND_TEST(gemm, empty) {
    static const gcase cases[] = {
        {.name = "K=0", .m = 5, .n = 7, .k = 0, .za = 3, .zb_mode = ZB_CHANNEL},
        {.name = "K=0 u8", .at = CLQ_U8, .bt = CLQ_U8, .m = 1, .n = 1, .k = 0, .za = 255, .zb_mode = ZB_TENSOR,
         .zb = 9},
        {.name = "M=0", .m = 0, .n = 7, .k = 9, .za = 3, .zb_mode = ZB_CHANNEL},
        {.name = "N=0", .m = 5, .n = 0, .k = 9, .za = 3, .zb_mode = ZB_TENSOR, .zb = 4},
        {.name = "M=N=K=0", .m = 0, .n = 0, .k = 0},
        {.name = "batched M=0", .batch = 2, .m = 0, .n = 7, .k = 9, .zb_mode = ZB_CHANNEL},
        {.name = "K=0 rowsums", .m = 3, .n = 4, .k = 0, .zb_mode = ZB_CHANNEL, .rowsums = 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcase c = cases[i];
        c.seed = 3000 + i;
        c.off = 2;
        gc_run_case(ctx, &c, gc_all_stages, N_STAGES);
    }
}

/* ---- saturation: multipliers large enough that outputs reach both ends of the range ---- */
TC_BACKEND_TEST(gemm, saturation) {
    static const gstage st[] = {{CLQ_S8, 0, 0, 0, 0},     {CLQ_U8, 0, 0, 0, 0},     {CLQ_S8, FIXED, 0, 0, 0},
                                {CLQ_U8, FIXED, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}, {CLQ_U8, FIXED, 0, 1, 0},
                                {CLQ_S8, 0, 0, 0, 1},     {CLQ_U8, FIXED, 0, 1, 1}};
    static const float sats[] = {10.0f, 50.0f, 1e4f};
    for (int s = 0; s < 3; s++)
        for (int ab = 0; ab < 2; ab++)
            for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
                gcase c = {.name = "saturation", .at = qt[ab], .bt = CLQ_S8, .m = 23, .n = 19, .k = 37,
                           .za = ab ? 128 : 0, .zb_mode = ZB_CHANNEL_SAME, .off = 1, .sat = sats[s], .zc_given = 1,
                           .zc = st[i].ct == CLQ_U8 ? 128 : 0, .seed = 4000 + 100 * s + 10 * ab + i};
                grun *r = malloc(sizeof *r);
                gc_setup(r, ctx, &c);
                ghits h = gc_run_stage(r, &st[i]);
                cr_assert(h.qmin > 0 && h.qmax > 0, "%s: the case reaches qmin %zu and qmax %zu times", r->desc,
                          h.qmin, h.qmax);
                gc_teardown(r);
                free(r);
            }
}

/* ---- ties: power-of-two multipliers put many values exactly between two levels ---- */
TC_BACKEND_TEST(gemm, requantization_ties) {
    static const gstage st[] = {{CLQ_S8, 0, 0, 0, 0},     {CLQ_U8, 0, 0, 0, 0},     {CLQ_S8, FIXED, 0, 0, 0},
                                {CLQ_U8, FIXED, 0, 0, 0}, {CLQ_S8, FIXED, 0, 1, 0}, {CLQ_U8, FIXED, 0, 1, 0}};
    for (int i = 0; i < 8; i++) {
        /* small K and values near the zero points keep C within a few hundred */
        gcase c = {.name = "ties", .at = qt[i & 1], .bt = qt[(i >> 1) & 1], .m = 33, .n = 8, .k = 1 + 2 * (i >> 2),
                   .za = (i & 1) ? 128 : 0, .zb_mode = ZB_CHANNEL_SAME, .zb = (i & 2) ? 128 : 0, .off = 1, .pow2 = 1,
                   .a_vals = V_SMALL, .b_vals = V_SMALL, .seed = 8000 + i};
        for (int rep = 0; rep < 4; rep++) {
            c.seed += 100;
            gc_run_case(ctx, &c, st, sizeof st / sizeof st[0]);
        }
    }
}

/* ---- the float multiplier's order of operations ----
 * mult = (sa * sb) / sc and v = (float)C * mult, each rounded to f32, decide near-ties.
 * Row i of A gives C_i for every channel (B's rows are all [1, 127], K = 2, so any
 * C = a0 + 127 a1 is reachable); channel i's scale sb[i] is searched, ulp by ulp, for one
 * where another order (sa * (sb / sc), a reciprocal of sc, double precision, C * sa * sb / sc,
 * (sa / sc) * sb) would round C_i to another level. The rest of the matrix checks as usual. */
enum { NO = 48 };

static float alt_v(int alt, int32_t c, float sa, float sb, float sc) {
    switch (alt) {
    case 0: return (float)c * (sa * (sb / sc));
    case 1: return (float)c * (sa * sb * (1.0f / sc));
    case 2: return (float)((double)c * ((double)sa * sb / sc));
    case 3: return (float)c * sa * sb / sc;
    default: return (float)c * ((sa / sc) * sb);
    }
}

/* Whether some other order gives C another level than the contract's. */
static int orders_differ(int32_t c, float sa, float sb, float sc, int qmin, int qmax, int32_t zc) {
    int32_t want = ref_gemm_requant_float(c, sa, sb, sc, zc, qmin, qmax);
    for (int alt = 0; alt < 5; alt++) {
        float v = alt_v(alt, c, sa, sb, sc), lo = (float)(qmin - zc), hi = (float)(qmax - zc);
        v = v < lo ? lo : v > hi ? hi : v;
        if ((int32_t)nearbyintf(v) + zc != want) return 1;
    }
    return 0;
}

TC_BACKEND_TEST(gemm, float_multiplier_order) {
    for (int t = 0; t < 2; t++) {
        clq_dtype ctype = t ? CLQ_U8 : CLQ_S8;
        int qmin, qmax, found = 0;
        ref_qrange(ctype, 0, &qmin, &qmax);
        int32_t zc = t ? 128 : 0, cs[NO];
        tc_rng rng;
        tc_rng_seed(&rng, 9000 + t);
        float sa = tc_rng_logscale(&rng, 1e-3f, 1.0f), sc = tc_rng_logscale(&rng, 1e-3f, 1.0f), sb[NO];
        int8_t ah[2 * NO], bh[2 * NO];
        for (int i = 0; i < NO; i++) {
            cs[i] = tc_rng_int(&rng, 2000, 16000) * ((i & 1) ? -1 : 1);
            double m = tc_rng_range(&rng, 0.005f, 0.007f), target = (floor(cs[i] * m) + 0.5) / cs[i];
            sb[i] = (float)(target * sc / sa);
            float up = sb[i], down = sb[i]; /* ulp by ulp, alternately above and below */
            for (int u = 0; u < 400 && !orders_differ(cs[i], sa, sb[i], sc, qmin, qmax, zc); u++)
                sb[i] = (u & 1) ? (down = nextafterf(down, 0.0f)) : (up = nextafterf(up, 1.0f));
            found += orders_differ(cs[i], sa, sb[i], sc, qmin, qmax, zc);
            int a1 = (int)lrint(cs[i] / 127.0);
            ah[2 * i] = (int8_t)(cs[i] - 127 * a1);
            ah[2 * i + 1] = (int8_t)a1;
            bh[2 * i] = 1;
            bh[2 * i + 1] = 127;
        }
        cr_assert(found >= NO / 2, "%s: only %d of %d channels tell the orders apart", clq_dtype_name(ctype), found,
                  NO);

        size_t sh[2] = {NO, 2}, csh[2] = {NO, NO};
        clq_buffer *ab = tc_buffer(ctx, sizeof ah, ah), *bb = tc_buffer(ctx, sizeof bh, bh);
        clq_buffer *sab = tc_buffer(ctx, 4, &sa), *sbb = tc_buffer(ctx, sizeof sb, sb), *scb = tc_buffer(ctx, 4, &sc);
        clq_buffer *zcb = tc_buffer(ctx, 4, &zc), *cb = tc_buffer(ctx, 4 * NO * NO, NULL);
        clq_tensor at, bt, ct;
        clq_tensor_init(&at, CLQ_S8, 2, sh, ab);
        clq_tensor_init(&bt, CLQ_S8, 2, sh, bb);
        clq_qparams aqp, bqp, cqp;
        clq_qparams_init(&aqp);
        aqp.scale = sab;
        bqp = aqp;
        bqp.scale = sbb;
        bqp.granularity = CLQ_PER_AXIS;
        clq_qparams_init(&cqp);
        cqp.qtype = ctype;
        cqp.scale = scb;
        cqp.zero_point = zcb;
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt, &bqp, 0, &w));
        clq_gemm_options o;
        clq_gemm_options_init(&o);
        o.c_qparams = &cqp;
        clq_tensor_init(&ct, ctype, 2, csh, cb);
        TC_OK(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &ct));
        uint8_t got[NO * NO];
        tc_read(cb, sizeof got, got);
        for (int i = 0; i < NO; i++)
            for (int n = 0; n < NO; n++) {
                int32_t want = ref_gemm_requant_float(cs[i], sa, sb[n], sc, zc, qmin, qmax);
                int32_t g = ref_load_q(ctype, got, (size_t)(i * NO + n));
                cr_expect(g == want, "%s: C[%d][%d] = %d (sa %a sb %a sc %a): got %d, expected %d%s",
                          clq_dtype_name(ctype), i, n, cs[i], sa, sb[n], sc, g, want,
                          i == n ? " (a value that tells the orders apart)" : "");
            }
        /* the same matrix in f32: s = sa * sb, (float)C * s, + bias */
        clq_gemm_options_init(&o);
        float bias[NO], fgot[NO * NO];
        for (int n = 0; n < NO; n++) bias[n] = tc_rng_range(&rng, -3.0f, 3.0f);
        clq_buffer *biasb = tc_buffer(ctx, sizeof bias, bias);
        o.bias = biasb;
        clq_tensor_init(&ct, CLQ_F32, 2, csh, cb);
        TC_OK(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &ct));
        tc_read(cb, sizeof fgot, fgot);
        for (int i = 0; i < NO; i++)
            for (int n = 0; n < NO; n++) {
                float want = ref_gemm_f32(cs[i], sa, sb[n], &bias[n], 0);
                cr_expect(ref_f32_bits(fgot[i * NO + n]) == ref_f32_bits(want),
                          "f32: C[%d][%d] = %d: got %a, expected %a", i, n, cs[i], fgot[i * NO + n], want);
            }
        clq_weights_destroy(w);
        clq_buffer *bufs[] = {ab, bb, sab, sbb, scb, zcb, cb, biasb};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    }
}
