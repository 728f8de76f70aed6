/* test_hostile.c: arguments a hostile or careless caller can pass through the public
 * API that once reached undefined behaviour (found with UBSan/ASan builds): extreme
 * strides, empty tensors at absurd offsets, TRUSTED parameters far out of range, an
 * options struct from an older caller, absurd thread counts, reserved dtype codes.
 * Each must give a documented status or a documented result, the same bytes on every
 * backend, and never a sanitizer report (scripts/test.sh runs this suite under
 * ASan + UBSan with every report fatal). */
#include "common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <clquant/clquant_cl.h>

/* ---- strides and empty tensors ------------------------------------------ */

/* A stride of PTRDIFF_MIN: its extent cannot be negated in ptrdiff_t. */
TC_BACKEND_TEST(hostile, stride_ptrdiff_min) {
    float xs[4] = {1, 2, 3, 4};
    clq_buffer *xb = tc_buffer(ctx, sizeof xs, xs), *yb = tc_buffer(ctx, 4, NULL);
    float s = 0.5f;
    int32_t z = 0;
    clq_buffer *sb = tc_buffer(ctx, 4, &s), *zb = tc_buffer(ctx, 4, &z);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scale = sb;
    qp.zero_point = zb;
    size_t shape[2] = {2, 2};
    size_t offsets[3] = {0, 3, (size_t)1 << 63};
    for (int o = 0; o < 3; o++) {
        for (int d = 0; d < 2; d++) {
            clq_tensor x, y;
            clq_tensor_init(&x, CLQ_F32, 2, shape, xb);
            clq_tensor_init(&y, CLQ_S8, 2, shape, yb);
            x.strides[d] = PTRDIFF_MIN;
            x.offset = offsets[o];
            clq_status st = clq_quantize(ctx, &x, &qp, &y);
            cr_assert(st == CLQ_ERROR_OUT_OF_BOUNDS || st == CLQ_ERROR_OVERFLOW,
                      "x->strides[%d] = PTRDIFF_MIN, offset %zu: got %s (%s)", d, offsets[o],
                      clq_status_string(st), clq_context_error_message(ctx));
            tc_assert_untouched(yb, 4, "quantize with x->strides = PTRDIFF_MIN");
            /* the same stride on the output */
            clq_tensor_init(&x, CLQ_F32, 2, shape, xb);
            y.strides[d] = PTRDIFF_MIN;
            y.offset = offsets[o];
            st = clq_quantize(ctx, &x, &qp, &y);
            cr_assert(st == CLQ_ERROR_OUT_OF_BOUNDS || st == CLQ_ERROR_OVERFLOW,
                      "y->strides[%d] = PTRDIFF_MIN, offset %zu: got %s (%s)", d, offsets[o],
                      clq_status_string(st), clq_context_error_message(ctx));
            tc_assert_untouched(yb, 4, "quantize with y->strides = PTRDIFF_MIN");
        }
    }
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
}

/* An empty tensor (a 0 in its shape) touches no element, so any offset and any
 * strides are valid for it: nothing may compute an address from them. */
static void empty_view(clq_tensor *t, clq_dtype dt, int ndim, const size_t *shape, clq_buffer *b,
                       int how) {
    clq_tensor_init(t, dt, ndim, shape, b);
    if (how == 0) return;
    t->offset = how == 1 ? SIZE_MAX / 3 : (SIZE_MAX >> 1) + 7;
    if (how == 2)
        for (int d = 0; d < ndim; d++) t->strides[d] = d & 1 ? PTRDIFF_MIN + 1 : PTRDIFF_MAX;
}

TC_BACKEND_TEST(hostile, empty_tensors_far_away) {
    clq_buffer *xb = tc_buffer(ctx, 64, NULL), *yb = tc_buffer(ctx, 64, NULL);
    clq_buffer *sb = tc_buffer(ctx, 64, NULL), *zb = tc_buffer(ctx, 64, NULL);
    clq_buffer *mnb = tc_buffer(ctx, 64, NULL), *mxb = tc_buffer(ctx, 64, NULL);
    clq_buffer *rsb = tc_buffer(ctx, 64, NULL);
    const size_t rows_k0[2] = {3, 0}, zero_rows[3] = {0, 5, 2};
    for (int how = 0; how < 3; how++) {
        clq_tensor x, y;
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_U8;
        qp.scale = sb;
        qp.zero_point = zb;
        /* rows of length 0: the row sums are 0, x and y are never touched */
        empty_view(&x, CLQ_F32, 2, rows_k0, xb, how);
        empty_view(&y, CLQ_U8, 2, rows_k0, yb, how);
        TC_OK(ctx, clq_quantize_dynamic_rowsums(ctx, &x, &qp, &y, rsb, 0));
        int32_t rs[3];
        tc_read(rsb, sizeof rs, rs);
        for (int i = 0; i < 3; i++) cr_assert_eq(rs[i], 0, "how %d: rowsums[%d] = %d", how, i, rs[i]);
        float s;
        int32_t z;
        tc_read(sb, 4, &s);
        tc_read(zb, 4, &z);
        cr_assert(s == 1.0f && z == 0, "how %d: empty x gave scale %g zero point %d", how, s, z);
        qp.flags = CLQ_QPARAMS_TRUSTED;
        TC_OK(ctx, clq_quantize_rowsums(ctx, &x, &qp, &y, rsb, 0));
        TC_OK(ctx, clq_quantize(ctx, &x, &qp, &y));
        clq_tensor dq;
        empty_view(&dq, CLQ_F32, 2, rows_k0, xb, how);
        TC_OK(ctx, clq_dequantize(ctx, &y, &qp, &dq));
        /* per axis over the empty axis's neighbour: 5 granules of nothing */
        clq_qparams pa = qp;
        pa.granularity = CLQ_PER_AXIS;
        pa.axis = 1;
        pa.flags = 0;
        empty_view(&x, CLQ_F32, 3, zero_rows, xb, how);
        empty_view(&y, CLQ_U8, 3, zero_rows, yb, how);
        TC_OK(ctx, clq_minmax(ctx, &x, &pa, mnb, 0, mxb, 0));
        float mn[5], mx[5];
        tc_read(mnb, sizeof mn, mn);
        tc_read(mxb, sizeof mx, mx);
        for (int i = 0; i < 5; i++)
            cr_assert(mn[i] == 0.0f && mx[i] == 0.0f, "how %d: granule %d: [%g, %g]", how, i, mn[i],
                      mx[i]);
        TC_OK(ctx, clq_quantize_dynamic(ctx, &x, &pa, &y));
        pa.flags = CLQ_QPARAMS_TRUSTED;
        TC_OK(ctx, clq_quantize(ctx, &x, &pa, &y));
    }
    tc_assert_untouched(xb, 64, "x of empty tensors");
    tc_assert_untouched(yb, 64, "y of empty tensors");
    clq_buffer *bufs[] = {xb, yb, sb, zb, mnb, mxb, rsb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
}

/* K = 0: A [M, 0] and B [N, 0] far away; C is the stage applied to 0. */
/* K = 0: packs b (s8, zero points 0), runs the GEMM into s32 c and checks its
 * count values are all 0. */
static void gemm_gives_zeros(clq_context *ctx, const clq_tensor *a, const clq_tensor *b,
                             const clq_tensor *c, size_t count, int how) {
    clq_qparams bq, aq;
    clq_qparams_init(&bq);
    bq.qtype = CLQ_S8;
    clq_qparams_init(&aq);
    aq.qtype = CLQ_S8;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, b, &bq, 0, &w));
    TC_OK(ctx, clq_gemm(ctx, a, &aq, w, NULL, c));
    int32_t *out = malloc(count * sizeof *out);
    tc_read(c->buffer, count * sizeof *out, out);
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(out[i], 0, "case %d: C[%zu] = %d", how, i, out[i]);
    free(out);
    clq_weights_destroy(w);
}

TC_BACKEND_TEST(hostile, gemm_k0_far_away) {
    clq_buffer *ab = tc_buffer(ctx, 16, NULL), *bb = tc_buffer(ctx, 16, NULL);
    clq_buffer *cb = tc_buffer(ctx, 4 * 6, NULL);
    for (int how = 0; how < 3; how++) {
        const size_t ashape[2] = {2, 0}, bshape[2] = {3, 0}, cshape[2] = {2, 3};
        clq_tensor a, b, c;
        empty_view(&a, CLQ_S8, 2, ashape, ab, how);
        empty_view(&b, CLQ_S8, 2, bshape, bb, how);
        clq_tensor_init(&c, CLQ_S32, 2, cshape, cb);
        gemm_gives_zeros(ctx, &a, &b, &c, 6, how);
    }
    clq_buffer_destroy(ab);
    clq_buffer_destroy(bb);
    clq_buffer_destroy(cb);
}

/* An empty A of rank 3 with strides near 2^62 (found by fuzz_api: the row-stride
 * test multiplied them, a signed overflow under UBSan); weights so wide that their
 * column sums cannot be addressed; row sums that overrun are refused even when M or
 * N is 0 and nothing would read them. */
TC_BACKEND_TEST(hostile, gemm_empty_a_huge_strides_and_sizes) {
    clq_buffer *ab = tc_buffer(ctx, 16, NULL), *bb = tc_buffer(ctx, 16, NULL);
    clq_buffer *cb = tc_buffer(ctx, 4 * 48 * 3, NULL), *rb = tc_buffer(ctx, 8, NULL);
    const size_t ashape[3] = {3, 16, 0}, bshape[2] = {3, 0}, cshape[3] = {3, 16, 3};
    clq_tensor a, b, c;
    clq_tensor_init(&a, CLQ_S8, 3, ashape, ab);
    a.strides[0] = (ptrdiff_t)1 << 62, a.strides[1] = -((ptrdiff_t)1 << 62), a.strides[2] = 1;
    clq_tensor_init(&b, CLQ_S8, 2, bshape, bb);
    clq_tensor_init(&c, CLQ_S32, 3, cshape, cb);
    gemm_gives_zeros(ctx, &a, &b, &c, 48 * 3, 0);
    clq_qparams bq, aq;
    clq_qparams_init(&bq);
    bq.qtype = CLQ_S8;
    clq_qparams_init(&aq);
    aq.qtype = CLQ_S8;

    /* row sums of 48 rows in an 8-byte buffer, with N = 0 (nothing computed) */
    clq_packed_weights *w0 = NULL;
    const size_t b0shape[2] = {0, 0}, c0shape[3] = {3, 16, 0};
    clq_tensor b0, c0;
    clq_tensor_init(&b0, CLQ_S8, 2, b0shape, bb);
    clq_tensor_init(&c0, CLQ_S32, 3, c0shape, cb);
    TC_OK(ctx, clq_weights_pack(ctx, &b0, &bq, 0, &w0));
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    o.a_rowsums = rb;
    clq_status st = clq_gemm(ctx, &a, &aq, w0, &o, &c0);
    cr_assert(st == CLQ_ERROR_OUT_OF_BOUNDS && tc_names(clq_context_error_message(ctx), "options->a_rowsums"),
              "overrunning row sums with N = 0: %s (%s)", clq_status_string(st),
              clq_context_error_message(ctx));

    /* [2^62, 0] weights: 2^62 int32 column sums wrap size_t */
    const size_t bhuge[2] = {(size_t)1 << 62, 0};
    clq_tensor bh;
    clq_tensor_init(&bh, CLQ_S8, 2, bhuge, bb);
    clq_packed_weights *wh = NULL;
    st = clq_weights_pack(ctx, &bh, &bq, 0, &wh);
    cr_assert(st == CLQ_ERROR_OVERFLOW && wh == NULL, "[2^62, 0] weights: %s (%s)",
              clq_status_string(st), clq_context_error_message(ctx));
    clq_weights_destroy(w0);
    clq_buffer_destroy(ab);
    clq_buffer_destroy(bb);
    clq_buffer_destroy(cb);
    clq_buffer_destroy(rb);
}

/* ---- TRUSTED parameters out of range ------------------------------------- */

/* Every backend and CPU kernel set present: [0..2] the CPU path with CLQ_CPU_ISA
 * portable / avx2 / what the CPU has, [3] OpenCL. */
enum { N_IMPL = 4 };
static const char *impl_name[N_IMPL] = {"cpu portable", "cpu avx2", "cpu native", "opencl"};

static void open_all(clq_context *ctxs[N_IMPL]) {
    const char *isa[3] = {"portable", "avx2", ""};
    for (int i = 0; i < 3; i++) {
        setenv("CLQ_CPU_ISA", isa[i], 1);
        ctxs[i] = tc_context(CLQ_BACKEND_CPU);
    }
    unsetenv("CLQ_CPU_ISA");
    ctxs[3] = tc_context(CLQ_BACKEND_OPENCL);
}

static void close_all(clq_context *ctxs[N_IMPL]) {
    for (int i = 0; i < N_IMPL; i++) clq_context_destroy(ctxs[i]);
}

/* The documented TRUSTED rule: a zero point is first clamped to its type's full range. */
static int32_t zclamp(clq_dtype t, int64_t z) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    return (int32_t)(z < lo ? lo : z > hi ? hi : z);
}

static const int32_t wild_zp[] = {INT32_MAX, INT32_MIN, 1000, -1000, 256, -129, 16, -9, 3};
enum { N_WILD = sizeof wild_zp / sizeof wild_zp[0] };

/* x holds ordinary values, ties, huge values, +-Inf and NaN. */
static void hostile_x(float *x, size_t n) {
    tc_rng r;
    tc_rng_seed(&r, 77);
    for (size_t i = 0; i < n; i++) {
        switch (i % 9) {
        case 0: x[i] = NAN; break;
        case 1: x[i] = INFINITY; break;
        case 2: x[i] = -INFINITY; break;
        case 3: x[i] = (i & 16) ? 3e38f : -3e38f; break;
        case 4: x[i] = (float)(int)(i % 23) - 11.5f; break;
        default: x[i] = tc_rng_range(&r, -300.0f, 300.0f); break;
        }
    }
}

typedef struct qshape {
    const char *name;
    int ndim;
    size_t shape[2];
    clq_granularity gran;
    int axis;
    size_t block;
} qshape;

/* per tensor (one run), per axis on the last axis (per-element parameters), per block
 * of 32 (the AVX-512 block kernel) and of 5, with lengths that leave vector tails. */
static const qshape qshapes[] = {
    {"per_tensor", 1, {77, 0}, CLQ_PER_TENSOR, 0, 0},
    {"per_axis_last", 2, {5, 37}, CLQ_PER_AXIS, 1, 0},
    {"per_axis_first", 2, {9, 35}, CLQ_PER_AXIS, 0, 0},
    {"per_block32", 2, {3, 96}, CLQ_PER_BLOCK, 1, 32},
    {"per_block5", 2, {4, 23}, CLQ_PER_BLOCK, 1, 5},
};

/* Variants 0-2: ordinary scales; 3-4: scales TRUSTED lets through as well (0,
 * negative, NaN, +-Inf, denormal, huge, tiny), which the formulas take as they are. */
static const float wild_scale[] = {0.0f,   -0.5f, NAN,   INFINITY, -INFINITY,
                                   1e-40f, 3e38f, 1e-30f, -0.0f};
enum { N_VARIANTS = 5 };

static void fill_params(size_t np, int variant, float *s, int32_t *z) {
    for (size_t p = 0; p < np; p++) {
        size_t w = (p + (size_t)variant) % (sizeof wild_scale / sizeof wild_scale[0]);
        s[p] = variant < 3 ? 0.25f + 0.125f * (float)(p % 5) : wild_scale[w];
        z[p] = wild_zp[(p + (size_t)variant) % N_WILD];
    }
}

/* quantize and dequantize with zero points anywhere in int32 (and bad scales): every
 * implementation gives the reference's bytes for the clamped zero points. */
Test(hostile, trusted_zero_points_out_of_range) {
    clq_context *ctxs[N_IMPL];
    open_all(ctxs);
    const clq_dtype qtypes[4] = {CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4};
    for (size_t si = 0; si < sizeof qshapes / sizeof qshapes[0]; si++) {
        const qshape *sh = &qshapes[si];
        size_t n = sh->shape[0] * (sh->ndim > 1 ? sh->shape[1] : 1);
        float *x = malloc(n * 4), *dq = malloc(n * 4), *ydq = malloc(n * 4);
        int32_t *want = malloc(n * 4);
        uint8_t *qin = malloc(n), *got = malloc(n), *wantb = malloc(n);
        hostile_x(x, n);
        for (size_t i = 0; i < n; i++) qin[i] = (uint8_t)(i * 37 + 11);
        for (int t = 0; t < 4; t++) {
            clq_dtype qt = qtypes[t];
            int four = qt == CLQ_S4 || qt == CLQ_U4;
            size_t qbytes = four ? (n + 1) / 2 : n;
            for (int narrow = 0; narrow < 2; narrow++) {
                for (int variant = 0; variant < N_VARIANTS; variant++) {
                    clq_qparams qp;
                    clq_qparams_init(&qp);
                    qp.qtype = qt;
                    qp.granularity = sh->gran;
                    qp.axis = sh->axis;
                    qp.block_size = sh->block;
                    qp.flags = CLQ_QPARAMS_TRUSTED | (narrow ? CLQ_QPARAMS_NARROW_RANGE : 0);
                    size_t np = 0;
                    cr_assert_eq(clq_qparams_count(&qp, sh->ndim, sh->shape, &np), CLQ_SUCCESS);
                    float *s = malloc(np * 4);
                    int32_t *z = malloc(np * 4), *zc = malloc(np * 4);
                    fill_params(np, variant, s, z);
                    for (size_t p = 0; p < np; p++) zc[p] = zclamp(qt, z[p]);
                    /* the reference: quantize with the clamped zero points */
                    ref_view v = {sh->ndim, {sh->shape[0], sh->shape[1]}, {0, 0}, 0};
                    ref_contiguous_strides(sh->ndim, sh->shape, v.strides);
                    ref_gran g = {sh->gran, sh->axis, sh->block};
                    ref_quantize(CLQ_F32, x, &v, &g, s, zc, qt, narrow, CLQ_ROUND_HALF_EVEN, 0,
                                 want);
                    memset(wantb, 0, qbytes);
                    for (size_t i = 0; i < n; i++) ref_store_q(qt, wantb, i, want[i]);
                    /* ... and dequantize stored bytes with them */
                    uint8_t *qsrc = qin;
                    for (size_t i = 0; i < n; i++) {
                        size_t idx[2];
                        ref_unravel(sh->ndim, sh->shape, i, idx);
                        size_t p = ref_param_index(&g, sh->ndim, sh->shape, idx);
                        ydq[i] = ref_dequantize_one(ref_load_q(qt, qsrc, i), s[p], zc[p]);
                    }
                    for (int k = 0; k < N_IMPL; k++) {
                        clq_context *ctx = ctxs[k];
                        clq_buffer *xb = tc_buffer(ctx, n * 4, x), *yb = tc_buffer(ctx, qbytes, NULL);
                        clq_buffer *sb = tc_buffer(ctx, np * 4, s), *zb = tc_buffer(ctx, np * 4, z);
                        clq_buffer *qb = tc_buffer(ctx, qbytes, qsrc), *db = tc_buffer(ctx, n * 4, NULL);
                        clq_tensor xt, yt, qtt, dt;
                        clq_tensor_init(&xt, CLQ_F32, sh->ndim, sh->shape, xb);
                        clq_tensor_init(&yt, qt, sh->ndim, sh->shape, yb);
                        clq_tensor_init(&qtt, qt, sh->ndim, sh->shape, qb);
                        clq_tensor_init(&dt, CLQ_F32, sh->ndim, sh->shape, db);
                        qp.scale = sb;
                        qp.zero_point = zb;
                        TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
                        tc_read(yb, qbytes, got);
                        for (size_t i = 0; i < qbytes; i++)
                            cr_assert(got[i] == wantb[i],
                                      "%s quantize %s %s%s variant %d: byte %zu is 0x%02x, "
                                      "expected 0x%02x",
                                      impl_name[k], sh->name, clq_dtype_name(qt),
                                      narrow ? " narrow" : "", variant, i, got[i], wantb[i]);
                        TC_OK(ctx, clq_dequantize(ctx, &qtt, &qp, &dt));
                        tc_read(db, n * 4, dq);
                        for (size_t i = 0; i < n; i++)
                            cr_assert(ref_f32_bits(dq[i]) == ref_f32_bits(ydq[i]),
                                      "%s dequantize %s %s variant %d: element %zu is %a, "
                                      "expected %a",
                                      impl_name[k], sh->name, clq_dtype_name(qt), variant, i,
                                      (double)dq[i], (double)ydq[i]);
                        clq_buffer *bufs[] = {xb, yb, sb, zb, qb, db};
                        for (size_t b = 0; b < 6; b++) clq_buffer_destroy(bufs[b]);
                    }
                    free(s);
                    free(z);
                    free(zc);
                }
            }
        }
        free(x);
        free(dq);
        free(ydq);
        free(want);
        free(qin);
        free(got);
        free(wantb);
    }
    close_all(ctxs);
}

/* GEMM with TRUSTED A and C parameters out of range: za and zc clamped to their
 * types' ranges, shifts to [-31, 30], a NaN product (from a scale of 0 or NaN) taken
 * as 0 (q = zc). Every implementation gives the same bytes as this reference. */
enum { GM = 5, GN = 6, GK = 37 };

typedef struct gtrust {
    const char *name;
    clq_dtype at, ct;
    int32_t za, zc;
    int fixed;
    int32_t mult[GN], shift[GN];
    int mult_pc;
    float sa, sc;
} gtrust;

static const gtrust gtrusts[] = {
    {"zc_int32_min_float", CLQ_S8, CLQ_S8, 3, INT32_MIN, 0, {0}, {0}, 0, 0.5f, 0.25f},
    {"zc_int32_max_float", CLQ_U8, CLQ_U8, 128, INT32_MAX, 0, {0}, {0}, 0, 0.5f, 0.25f},
    {"zc_int32_min_fixed", CLQ_S8, CLQ_U8, 0, INT32_MIN, 1, {1 << 30}, {-3}, 0, 0, 0},
    {"za_int32_min", CLQ_S8, CLQ_S32, INT32_MIN, 0, 0, {0}, {0}, 0, 0, 0},
    {"za_int32_max_u8", CLQ_U8, CLQ_F32, INT32_MAX, 0, 0, {0}, {0}, 0, 0.5f, 0},
    {"shift_40", CLQ_S8, CLQ_S8, 0, 2, 1, {1 << 30}, {40}, 0, 0, 0},
    {"shift_minus_40", CLQ_S8, CLQ_S8, 0, -2, 1, {1 << 30}, {-40}, 0, 0, 0},
    {"shifts_per_channel",
     CLQ_U8,
     CLQ_S8,
     100,
     1000,
     1,
     {1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30, 1 << 30},
     {40, -40, 31, -32, INT32_MAX, INT32_MIN},
     1,
     0,
     0},
    {"negative_multipliers",
     CLQ_S8,
     CLQ_U8,
     -5,
     7,
     1,
     {-1, INT32_MIN, -(1 << 30), 5, INT32_MIN, -12345678},
     {0, 1, -5, 30, -31, 7},
     1,
     0,
     0},
    {"scale_zero", CLQ_S8, CLQ_S8, 1, 5, 0, {0}, {0}, 0, 0.5f, 0.0f},
    {"scale_nan", CLQ_U8, CLQ_U8, 130, 200, 0, {0}, {0}, 0, 0.5f, NAN},
    {"sa_nan", CLQ_S8, CLQ_U8, 0, 9, 0, {0}, {0}, 0, NAN, 1.0f},
};

static int32_t stage_want(const gtrust *g, int32_t c, float sb, int qmin, int qmax, size_t col) {
    int32_t zc = zclamp(g->ct, g->zc);
    if (g->fixed) {
        int32_t sh = g->shift[g->mult_pc ? col : 0];
        sh = sh < -31 ? -31 : sh > 30 ? 30 : sh;
        return ref_gemm_requant_fixed(c, g->mult[g->mult_pc ? col : 0], sh, zc, qmin, qmax);
    }
    float v = (float)c * ((g->sa * sb) / g->sc);
    if (v != v) return zc;
    return ref_gemm_requant_float(c, g->sa, sb, g->sc, zc, qmin, qmax);
}

Test(hostile, trusted_gemm_params_out_of_range) {
    clq_context *ctxs[N_IMPL];
    open_all(ctxs);
    tc_rng r;
    tc_rng_seed(&r, 4242);
    for (size_t gi = 0; gi < sizeof gtrusts / sizeof gtrusts[0]; gi++) {
        const gtrust *g = &gtrusts[gi];
        int8_t a[GM * GK], b[GN * GK];
        for (int i = 0; i < GM * GK; i++) a[i] = (int8_t)tc_rng_int(&r, -128, 127);
        for (int i = 0; i < GN * GK; i++) b[i] = (int8_t)tc_rng_int(&r, -128, 127);
        float sb[GN];
        for (int i = 0; i < GN; i++) sb[i] = 0.125f * (float)(i + 1);
        /* the exact C for the clamped za, then the stage */
        ref_mat am = {g->at, a, 0, GK, 1}, bm = {CLQ_S8, b, 0, GK, 1};
        int32_t zb = 0;
        int64_t c64[GM * GN];
        ref_gemm_exact(GM, GN, GK, &am, zclamp(g->at, g->za), &bm, &zb, 0, c64);
        int qmin = 0, qmax = 0;
        if (g->ct == CLQ_S8 || g->ct == CLQ_U8) ref_qrange(g->ct, 0, &qmin, &qmax);
        uint8_t want[GM * GN * 4];
        for (size_t i = 0; i < GM * GN; i++) {
            int32_t c = (int32_t)c64[i];
            size_t col = i % GN;
            if (g->ct == CLQ_S32) memcpy(want + 4 * i, &c, 4);
            else if (g->ct == CLQ_F32) {
                float y = ref_gemm_f32(c, g->sa, sb[col], NULL, 0);
                memcpy(want + 4 * i, &y, 4);
            } else
                want[i] = (uint8_t)stage_want(g, c, sb[col], qmin, qmax, col);
        }
        size_t cbytes = GM * GN * (g->ct == CLQ_S32 || g->ct == CLQ_F32 ? 4 : 1);
        for (int k = 0; k < N_IMPL; k++) {
            clq_context *ctx = ctxs[k];
            const size_t ash[2] = {GM, GK}, bsh[2] = {GN, GK}, csh[2] = {GM, GN};
            clq_buffer *ab = tc_buffer(ctx, sizeof a, a), *bb = tc_buffer(ctx, sizeof b, b);
            clq_buffer *cb = tc_buffer(ctx, cbytes, NULL), *sbb = tc_buffer(ctx, sizeof sb, sb);
            clq_buffer *sab = tc_buffer(ctx, 4, &g->sa), *zab = tc_buffer(ctx, 4, &g->za);
            clq_buffer *scb = tc_buffer(ctx, 4, &g->sc), *zcb = tc_buffer(ctx, 4, &g->zc);
            clq_buffer *mb = tc_buffer(ctx, sizeof g->mult, g->mult);
            clq_buffer *shb = tc_buffer(ctx, sizeof g->shift, g->shift);
            clq_tensor at, bt, ct;
            clq_tensor_init(&at, g->at, 2, ash, ab);
            clq_tensor_init(&bt, CLQ_S8, 2, bsh, bb);
            clq_tensor_init(&ct, g->ct, 2, csh, cb);
            clq_qparams bq, aq, cq;
            clq_qparams_init(&bq);
            bq.qtype = CLQ_S8;
            bq.granularity = CLQ_PER_AXIS;
            bq.axis = 0;
            bq.scale = sbb;
            clq_qparams_init(&aq);
            aq.qtype = g->at;
            aq.flags = CLQ_QPARAMS_TRUSTED;
            aq.scale = sab;
            aq.zero_point = zab;
            clq_qparams_init(&cq);
            cq.qtype = g->ct;
            cq.flags = CLQ_QPARAMS_TRUSTED;
            cq.scale = scb;
            cq.zero_point = zcb;
            clq_gemm_options o;
            clq_gemm_options_init(&o);
            if (g->ct == CLQ_S8 || g->ct == CLQ_U8) o.c_qparams = &cq;
            if (g->fixed) {
                o.flags = CLQ_GEMM_FIXED_POINT;
                o.multiplier = mb;
                o.shift = shb;
                o.multiplier_per_channel = g->mult_pc;
            }
            clq_packed_weights *w = NULL;
            TC_OK(ctx, clq_weights_pack(ctx, &bt, &bq, 0, &w));
            TC_OK(ctx, clq_gemm(ctx, &at, &aq, w, &o, &ct));
            uint8_t got[GM * GN * 4];
            tc_read(cb, cbytes, got);
            for (size_t i = 0; i < cbytes; i++)
                cr_assert(got[i] == want[i], "%s gemm %s: C byte %zu is 0x%02x, expected 0x%02x",
                          impl_name[k], g->name, i, got[i], want[i]);
            clq_weights_destroy(w);
            clq_buffer *bufs[] = {ab, bb, cb, sbb, sab, zab, scb, zcb, mb, shb};
            for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
        }
    }
    close_all(ctxs);
}

/* ---- context options ----------------------------------------------------- */

/* An older caller's options end before error_buffer: the library must not read (or
 * write through) the fields its struct does not have. Heap copies of exactly the
 * caller's size let ASan see any read past them. */
static clq_context_options *short_options(size_t size) {
    clq_context_options full;
    clq_context_options_init(&full);
    full.backend = CLQ_BACKEND_CPU;
    full.flags = CLQ_CONTEXT_IGNORE_ENV;
    full.cache_dir = "off";
    full.struct_size = size;
    static char msg[64];
    full.error_buffer = msg; /* seen only by a struct that covers error_buffer */
    full.error_buffer_size = sizeof msg;
    clq_context_options *o = malloc(size);
    cr_assert(o);
    memcpy(o, &full, size);
    return o;
}

Test(hostile, options_older_struct_size) {
    const size_t eb = offsetof(clq_context_options, error_buffer);
    const size_t ebs = offsetof(clq_context_options, error_buffer_size);
    /* without the error buffer fields: a valid older caller, and one with a bad value */
    size_t sizes[2] = {eb, ebs};
    for (int i = 0; i < 2; i++) {
        clq_context_options *o = short_options(sizes[i]);
        clq_context *ctx = NULL;
        cr_assert_eq(clq_context_create(o, &ctx), CLQ_SUCCESS, "struct_size %zu", sizes[i]);
        clq_context_destroy(ctx);
        o->cpu_threads = -1;
        ctx = NULL;
        cr_assert_eq(clq_context_create(o, &ctx), CLQ_ERROR_INVALID_ARGUMENT);
        cr_assert_null(ctx);
        cr_assert_eq(clq_context_create(o, NULL), CLQ_ERROR_INVALID_ARGUMENT);
        cr_assert_eq(clq_context_create_from_cl(NULL, NULL, o, &ctx), CLQ_ERROR_INVALID_ARGUMENT);
        free(o);
    }
    /* smaller than any field past struct_size: refused before any of them is read */
    size_t tiny[2] = {sizeof(size_t), offsetof(clq_context_options, platform_index)};
    for (int i = 0; i < 2; i++) {
        clq_context_options *o = short_options(tiny[i]);
        clq_context *ctx = NULL;
        cr_assert_eq(clq_context_create(o, &ctx), CLQ_ERROR_INVALID_ARGUMENT, "struct_size %zu",
                     tiny[i]);
        cr_assert_null(ctx);
        cr_assert_eq(clq_context_create_from_cl(NULL, NULL, o, &ctx), CLQ_ERROR_INVALID_ARGUMENT);
        free(o);
    }
    /* the full struct still gets its message */
    clq_context_options o;
    clq_context_options_init(&o);
    char msg[128] = "";
    o.backend = CLQ_BACKEND_CPU;
    o.cpu_threads = -1;
    o.error_buffer = msg;
    o.error_buffer_size = sizeof msg;
    clq_context *ctx = NULL;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert(tc_names(msg, "cpu_threads"), "message: \"%s\"", msg);
}

/* cpu_threads far above the machine: capped at 4 per online core (at most 1024). */
Test(hostile, cpu_threads_capped) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    int asks[3] = {2000, 1 << 20, (int)(4 * cores < 1024 ? 4 * cores : 1024)};
    for (int i = 0; i < 3; i++) {
        clq_context_options o;
        clq_context_options_init(&o);
        o.backend = CLQ_BACKEND_CPU;
        o.flags = CLQ_CONTEXT_IGNORE_ENV;
        o.cache_dir = "off";
        o.cpu_threads = asks[i];
        clq_context *ctx = tc_context_opts(&o);
        const char *name = clq_context_device_name(ctx);
        const char *comma = strchr(name, ',');
        cr_assert(comma, "device name \"%s\"", name);
        long got = strtol(comma + 1, NULL, 10);
        long cap = 4 * cores < 1024 ? 4 * cores : 1024;
        cr_assert(got >= 1 && got <= cap && got == (asks[i] < cap ? asks[i] : cap),
                  "cpu_threads %d on %ld cores: \"%s\"", asks[i], cores, name);
        /* and it still computes */
        float xs[3] = {1, -2, 3};
        clq_buffer *xb = tc_buffer(ctx, sizeof xs, xs), *mn = tc_buffer(ctx, 4, NULL),
                   *mx = tc_buffer(ctx, 4, NULL);
        size_t shape[1] = {3};
        clq_tensor x;
        clq_tensor_init(&x, CLQ_F32, 1, shape, xb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_S8;
        TC_OK(ctx, clq_minmax(ctx, &x, &qp, mn, 0, mx, 0));
        float a, b;
        tc_read(mn, 4, &a);
        tc_read(mx, 4, &b);
        cr_assert(a == -2.0f && b == 3.0f);
        clq_buffer_destroy(xb);
        clq_buffer_destroy(mn);
        clq_buffer_destroy(mx);
        clq_context_destroy(ctx);
    }
}

/* ---- dtype codes reserved for s16 / u16 ---------------------------------- */

TC_BACKEND_TEST(hostile, reserved_dtype_codes) {
    float xs[4] = {1, 2, 3, 4};
    clq_buffer *xb = tc_buffer(ctx, sizeof xs, xs), *yb = tc_buffer(ctx, 8, NULL);
    float s = 1.0f;
    clq_buffer *sb = tc_buffer(ctx, 4, &s);
    size_t shape[1] = {4};
    const int reserved[2] = {9, 10};
    for (int i = 0; i < 2; i++) {
        clq_dtype code = (clq_dtype)reserved[i];
        clq_tensor x, y;
        clq_tensor_init(&x, CLQ_F32, 1, shape, xb);
        clq_tensor_init(&y, code, 1, shape, yb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = code;
        qp.scale = sb;
        clq_status st = clq_quantize(ctx, &x, &qp, &y);
        cr_assert_eq(st, CLQ_ERROR_UNSUPPORTED, "dtype %d: %s (%s)", reserved[i],
                     clq_status_string(st), clq_context_error_message(ctx));
        /* a supported y, the reserved code only as qp->qtype */
        clq_tensor_init(&y, CLQ_S8, 1, shape, yb);
        st = clq_quantize(ctx, &x, &qp, &y);
        cr_assert_eq(st, CLQ_ERROR_UNSUPPORTED, "qtype %d: %s (%s)", reserved[i],
                     clq_status_string(st), clq_context_error_message(ctx));
        size_t bytes = 0;
        clq_tensor_init(&y, code, 1, shape, yb);
        cr_assert_eq(clq_tensor_bytes(&y, &bytes), CLQ_ERROR_UNSUPPORTED);
        tc_assert_untouched(yb, 8, "quantize to a reserved dtype");
    }
    /* codes nothing reserves stay invalid */
    const int invalid[3] = {0, 11, -1};
    for (int i = 0; i < 3; i++) {
        clq_tensor x, y;
        clq_tensor_init(&x, CLQ_F32, 1, shape, xb);
        clq_tensor_init(&y, (clq_dtype)invalid[i], 1, shape, yb);
        clq_qparams qp;
        clq_qparams_init(&qp);
        qp.qtype = CLQ_S8;
        qp.scale = sb;
        cr_assert_eq(clq_quantize(ctx, &x, &qp, &y), CLQ_ERROR_INVALID_ARGUMENT, "dtype %d",
                     invalid[i]);
        qp.qtype = (clq_dtype)invalid[i];
        clq_tensor_init(&y, CLQ_S8, 1, shape, yb);
        cr_assert_eq(clq_quantize(ctx, &x, &qp, &y), CLQ_ERROR_INVALID_ARGUMENT, "qtype %d",
                     invalid[i]);
    }
    tc_assert_untouched(yb, 8, "quantize to an invalid dtype");
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
}
