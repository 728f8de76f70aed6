/* test_gemm_errors.c: bad arguments to clq_weights_pack, clq_gemm and clq_quantize_rowsums
 * on every backend, the weight formats and A's granularities included: each returns its
 * status, names the argument in the context's message, and leaves every output (C, row
 * sums, the weights handle) untouched. */
#include "common.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

enum { M = 5, K = 8, N = 3, CB = 4 * M * N + 64 };

typedef struct fixture {
    clq_context *ctx, *other;
    clq_buffer *ab, *sab, *zab, *bb, *sbb, *zbb, *biasb, *scb, *zcb, *multb, *shiftb, *rsb, *xb;
    clq_buffer *c32b, *c8b, *cfb, *rsout, *foreign;
    clq_tensor a, b, c32, c8, cf, x;
    clq_qparams aqp, bqp, cqp;
    clq_packed_weights *w, *w_noscale, *w_other;
    clq_gemm_options o8, of; /* valid options: u8 float multiplier, f32 with bias */
} fixture;

static void setup(fixture *f, clq_context *ctx) {
    memset(f, 0, sizeof *f);
    f->ctx = ctx;
    f->other = tc_context(CLQ_BACKEND_CPU);
    int8_t a[M * K], b[N * K];
    float x[M * K];
    for (int i = 0; i < M * K; i++) a[i] = (int8_t)(i * 7 - 100), x[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < N * K; i++) b[i] = (int8_t)(50 - i * 3);
    float sa = 0.02f, sb[N] = {0.01f, 0.02f, 0.03f}, bias[N] = {1, 2, 3}, sc = 0.5f;
    int32_t za = -3, zb[N] = {1, -2, 3}, zc = 7, mult[N] = {1 << 30, 1 << 30, 1 << 30}, shift[N] = {-8, -8, -8};
    static const int32_t zeros[M * K];
    f->ab = tc_buffer(ctx, sizeof a, a);
    f->xb = tc_buffer(ctx, sizeof x, x);
    f->sab = tc_buffer(ctx, 4, &sa);
    f->zab = tc_buffer(ctx, 4, &za);
    f->bb = tc_buffer(ctx, sizeof b, b);
    f->sbb = tc_buffer(ctx, sizeof sb, sb);
    f->zbb = tc_buffer(ctx, sizeof zb, zb);
    f->biasb = tc_buffer(ctx, sizeof bias, bias);
    f->scb = tc_buffer(ctx, 4, &sc);
    f->zcb = tc_buffer(ctx, 4, &zc);
    f->multb = tc_buffer(ctx, sizeof mult, mult);
    f->shiftb = tc_buffer(ctx, sizeof shift, shift);
    f->rsb = tc_buffer(ctx, 4 * M, zeros);
    f->c32b = tc_buffer(ctx, CB, NULL);
    f->c8b = tc_buffer(ctx, CB, NULL);
    f->cfb = tc_buffer(ctx, CB, NULL);
    f->rsout = tc_buffer(ctx, 4 * M + 16, NULL);
    f->foreign = tc_buffer(f->other, sizeof zeros, zeros);
    size_t ash[2] = {M, K}, bsh[2] = {N, K}, csh[2] = {M, N};
    clq_tensor_init(&f->a, CLQ_S8, 2, ash, f->ab);
    clq_tensor_init(&f->x, CLQ_F32, 2, ash, f->xb);
    clq_tensor_init(&f->b, CLQ_S8, 2, bsh, f->bb);
    clq_tensor_init(&f->c32, CLQ_S32, 2, csh, f->c32b);
    clq_tensor_init(&f->c8, CLQ_U8, 2, csh, f->c8b);
    clq_tensor_init(&f->cf, CLQ_F32, 2, csh, f->cfb);
    clq_qparams_init(&f->aqp);
    f->aqp.qtype = CLQ_S8;
    f->aqp.scale = f->sab;
    f->aqp.zero_point = f->zab;
    clq_qparams_init(&f->bqp);
    f->bqp.qtype = CLQ_S8;
    f->bqp.granularity = CLQ_PER_AXIS;
    f->bqp.scale = f->sbb;
    f->bqp.zero_point = f->zbb;
    clq_qparams_init(&f->cqp);
    f->cqp.qtype = CLQ_U8;
    f->cqp.scale = f->scb;
    f->cqp.zero_point = f->zcb;
    TC_OK(ctx, clq_weights_pack(ctx, &f->b, &f->bqp, 0, &f->w));
    clq_qparams q = f->bqp;
    q.scale = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &f->b, &q, 0, &f->w_noscale));
    clq_buffer *ob = tc_buffer(f->other, sizeof b, b);
    clq_tensor obt = f->b;
    obt.buffer = ob;
    clq_qparams oq;
    clq_qparams_init(&oq);
    TC_OK(f->other, clq_weights_pack(f->other, &obt, &oq, 0, &f->w_other));
    clq_buffer_destroy(ob);
    clq_gemm_options_init(&f->o8);
    f->o8.c_qparams = &f->cqp;
    clq_gemm_options_init(&f->of);
    f->of.bias = f->biasb;
    f->of.flags = CLQ_GEMM_RELU;
    /* the fixture is valid: each stage runs */
    TC_OK(ctx, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &f->c32));
    TC_OK(ctx, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->o8, &f->c8));
    TC_OK(ctx, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->of, &f->cf));
    TC_OK(ctx, clq_context_finish(ctx));
    clq_buffer *outs[] = {f->c32b, f->c8b, f->cfb};
    unsigned char s[CB];
    memset(s, TC_SENTINEL, sizeof s);
    for (int i = 0; i < 3; i++) TC_OK(ctx, clq_buffer_write(outs[i], 0, CB, s));
}

static void teardown(fixture *f) {
    clq_weights_destroy(f->w);
    clq_weights_destroy(f->w_noscale);
    clq_weights_destroy(f->w_other);
    clq_buffer *bufs[] = {f->ab, f->sab, f->zab, f->bb, f->sbb, f->zbb, f->biasb, f->scb, f->zcb, f->multb, f->shiftb,
                          f->rsb, f->xb, f->c32b, f->c8b, f->cfb, f->rsout, f->foreign};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    clq_context_destroy(f->other);
}

static void expect(fixture *f, clq_status got, clq_status want, const char *word, const char *what) {
    const char *msg = clq_context_error_message(f->ctx);
    cr_assert(got == want, "%s [%s]: expected %s, got %s (message: \"%s\")", what, clq_context_device_name(f->ctx),
              clq_status_string(want), clq_status_string(got), msg);
    if (word) cr_expect(tc_names(msg, word), "%s: the message \"%s\" does not name \"%s\"", what, msg, word);
    clq_status st = clq_context_finish(f->ctx);
    cr_assert(st == CLQ_SUCCESS, "%s: clq_context_finish: %s", what, clq_status_string(st));
    tc_assert_untouched(f->c32b, CB, what);
    tc_assert_untouched(f->c8b, CB, what);
    tc_assert_untouched(f->cfb, CB, what);
    tc_assert_untouched(f->rsout, 4 * M + 16, what);
}
#define EXPECT(f, call, want, word) expect(f, (call), want, word, #call)

/* A failed pack leaves *out as it was. */
static void expect_pack(fixture *f, const clq_tensor *b, const clq_qparams *qp, unsigned flags, clq_status want,
                        const char *word, const char *what) {
    clq_packed_weights *w = (clq_packed_weights *)f; /* any recognisable non-NULL value */
    clq_status st = clq_weights_pack(f->ctx, b, qp, flags, &w);
    cr_assert(w == (clq_packed_weights *)f, "%s: *out written by a failed pack", what);
    expect(f, st, want, word, what);
}

TC_BACKEND_TEST(gemm_errors, null_pointers) {
    fixture F, *f = &F;
    setup(f, ctx);
    cr_assert_eq(clq_gemm(NULL, &f->a, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT);
    EXPECT(f, clq_gemm(ctx, NULL, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a");
    EXPECT(f, clq_gemm(ctx, &f->a, NULL, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a_qp");
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, NULL, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "w");
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, NULL), CLQ_ERROR_INVALID_ARGUMENT, "c");
    clq_tensor t = f->a;
    t.buffer = NULL;
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a");
    t = f->c8;
    t.buffer = NULL;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->o8, &t), CLQ_ERROR_INVALID_ARGUMENT, "c");
    /* s8/u8 output without options, hence without c_qparams */
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "c_qparams");
    t = f->c8;
    t.dtype = CLQ_S8;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->of, &t), CLQ_ERROR_INVALID_ARGUMENT, "bias");
    clq_gemm_options none;
    clq_gemm_options_init(&none);
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &none, &t), CLQ_ERROR_INVALID_ARGUMENT, "c_qparams");
    clq_gemm_options o = f->o8;
    o.flags = CLQ_GEMM_FIXED_POINT;
    o.shift = f->shiftb;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "multiplier");
    o.multiplier = f->multb;
    o.shift = NULL;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "shift");

    clq_packed_weights *w = NULL;
    cr_assert_eq(clq_weights_pack(NULL, &f->b, &f->bqp, 0, &w), CLQ_ERROR_INVALID_ARGUMENT);
    expect_pack(f, NULL, &f->bqp, 0, CLQ_ERROR_INVALID_ARGUMENT, "b", "pack b NULL");
    expect_pack(f, &f->b, NULL, 0, CLQ_ERROR_INVALID_ARGUMENT, "qp", "pack qp NULL");
    EXPECT(f, clq_weights_pack(ctx, &f->b, &f->bqp, 0, NULL), CLQ_ERROR_INVALID_ARGUMENT, "out");
    clq_weights_destroy(NULL);

    cr_assert_eq(clq_quantize_rowsums(NULL, &f->x, &f->aqp, &f->a, f->rsout, 0), CLQ_ERROR_INVALID_ARGUMENT);
    EXPECT(f, clq_quantize_rowsums(ctx, &f->x, &f->aqp, &f->a, NULL, 0), CLQ_ERROR_INVALID_ARGUMENT, "rowsums");
    teardown(f);
}

TC_BACKEND_TEST(gemm_errors, dtypes_and_shapes) {
    fixture F, *f = &F;
    setup(f, ctx);
    clq_tensor t = f->a;
    t.dtype = CLQ_F32;
    t.buffer = f->xb;
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a");
    t.dtype = CLQ_S4;
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a");
    t = f->c8;
    t.dtype = CLQ_S4;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->o8, &t), CLQ_ERROR_INVALID_ARGUMENT, "c");
    t.dtype = CLQ_F16;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &t), CLQ_ERROR_INVALID_ARGUMENT, "c");
    clq_qparams q = f->aqp;
    q.qtype = CLQ_U8; /* A is s8 */
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a_qp");
    clq_qparams cq = f->cqp;
    cq.qtype = CLQ_S8; /* C is u8 */
    clq_gemm_options o = f->o8;
    o.c_qparams = &cq;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "c_qparams");

    /* K of A against the weights' K; C's M and N; ranks */
    t = f->a;
    t.shape[1] = K - 1;
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a");
    t = f->c32;
    t.shape[1] = N - 1;
    t.strides[0] = N;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &t), CLQ_ERROR_INVALID_ARGUMENT, "c");
    t = f->c32;
    t.shape[0] = M - 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &t), CLQ_ERROR_INVALID_ARGUMENT, "c");
    size_t c3[3] = {1, M, N}, a1[1] = {K};
    clq_tensor_init(&t, CLQ_S32, 3, c3, f->c32b);
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &t), CLQ_ERROR_INVALID_ARGUMENT, "c");
    clq_tensor_init(&t, CLQ_S8, 1, a1, f->ab);
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a");

    /* weights: dtype, rank, per-axis on K instead of N */
    t = f->b;
    t.dtype = CLQ_F32;
    t.buffer = f->xb;
    expect_pack(f, &t, &f->bqp, 0, CLQ_ERROR_INVALID_ARGUMENT, "b", "pack b f32");
    t.dtype = CLQ_S32;
    expect_pack(f, &t, &f->bqp, 0, CLQ_ERROR_INVALID_ARGUMENT, "b", "pack b s32");
    clq_tensor_init(&t, CLQ_S8, 1, a1, f->bb);
    expect_pack(f, &t, &f->bqp, 0, CLQ_ERROR_INVALID_ARGUMENT, "b", "pack b 1-d");
    q = f->bqp;
    q.axis = 1;
    expect_pack(f, &f->b, &q, 0, CLQ_ERROR_INVALID_ARGUMENT, "axis", "pack per-axis on K");
    expect_pack(f, &f->b, &f->bqp, CLQ_WEIGHTS_TRANSPOSED, CLQ_ERROR_INVALID_ARGUMENT, "axis",
                "pack transposed, per-axis on axis 0");
    q = f->bqp;
    q.qtype = CLQ_U8;
    expect_pack(f, &f->b, &q, 0, CLQ_ERROR_INVALID_ARGUMENT, "qp", "pack qtype u8 for s8 b");
    expect_pack(f, &f->b, &f->bqp, 0x100u, CLQ_ERROR_INVALID_ARGUMENT, "flags", "pack unknown flag");

    /* option fields that do not apply, unknown flags, an old struct */
    o = f->of;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "bias");
    o = f->o8;
    o.flags = 0x80u;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "flags");
    o = f->o8;
    o.struct_size = 0;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "struct_size");

    /* row sums want an 8-bit y (s4 is fine for clq_quantize) */
    size_t xsh[2] = {M, K};
    clq_tensor_init(&t, CLQ_S4, 2, xsh, f->c8b);
    q = f->aqp;
    q.qtype = CLQ_S4;
    EXPECT(f, clq_quantize_rowsums(ctx, &f->x, &q, &t, f->rsout, 0), CLQ_ERROR_INVALID_ARGUMENT, "y");
    teardown(f);
}

TC_BACKEND_TEST(gemm_errors, qparams) {
    fixture F, *f = &F;
    setup(f, ctx);
    clq_qparams q = f->aqp;
    /* per row, but the fixture's arrays hold one value */
    q.granularity = CLQ_PER_AXIS;
    q.axis = 0;
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, NULL, &f->c32), CLQ_ERROR_OUT_OF_BOUNDS, "a_qp->zero_point");
    /* per axis along K, and per block of neither K nor a weight group */
    q.axis = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a_qp->axis");
    q.granularity = CLQ_PER_BLOCK;
    q.axis = 1;
    q.block_size = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "block_size");
    q.axis = 0;
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "a_qp->axis");

    /* A's zero point out of s8's range, then its scale, when a stage needs it */
    int32_t bad_za[] = {128, -129}, za = -3;
    for (int i = 0; i < 2; i++) {
        TC_OK(ctx, clq_buffer_write(f->zab, 0, 4, &bad_za[i]));
        EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_INVALID_QPARAMS, "zero_point");
    }
    TC_OK(ctx, clq_buffer_write(f->zab, 0, 4, &za));
    static const float bad_s[] = {0.0f, -1.0f, NAN, INFINITY};
    float sa = 0.02f, sc = 0.5f;
    for (int i = 0; i < 4; i++) {
        TC_OK(ctx, clq_buffer_write(f->sab, 0, 4, &bad_s[i]));
        EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->of, &f->cf), CLQ_ERROR_INVALID_QPARAMS, "scale");
        TC_OK(ctx, clq_buffer_write(f->scb, 0, 4, &bad_s[i]));
        TC_OK(ctx, clq_buffer_write(f->sab, 0, 4, &sa));
        EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->o8, &f->c8), CLQ_ERROR_INVALID_QPARAMS, "scale");
        TC_OK(ctx, clq_buffer_write(f->scb, 0, 4, &sc));
    }
    /* every scale valid, but (sa * sb[n]) / sc overflows f32 */
    float huge = 3e38f, tiny = 1e-3f;
    TC_OK(ctx, clq_buffer_write(f->sab, 0, 4, &huge));
    TC_OK(ctx, clq_buffer_write(f->scb, 0, 4, &tiny));
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->o8, &f->c8), CLQ_ERROR_INVALID_QPARAMS, "scale");
    TC_OK(ctx, clq_buffer_write(f->sab, 0, 4, &sa));
    TC_OK(ctx, clq_buffer_write(f->scb, 0, 4, &sc));
    int32_t bad_zc = 256, zc = 7;
    TC_OK(ctx, clq_buffer_write(f->zcb, 0, 4, &bad_zc));
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &f->o8, &f->c8), CLQ_ERROR_INVALID_QPARAMS, "zero_point");
    TC_OK(ctx, clq_buffer_write(f->zcb, 0, 4, &zc));

    /* scales missing for the stages that need them */
    q = f->aqp;
    q.scale = NULL;
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, &f->of, &f->cf), CLQ_ERROR_INVALID_ARGUMENT, "scale");
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, &f->o8, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "scale");
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w_noscale, &f->of, &f->cf), CLQ_ERROR_INVALID_ARGUMENT, "w");
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w_noscale, &f->o8, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "w");
    clq_qparams cq = f->cqp;
    cq.scale = NULL;
    clq_gemm_options o = f->o8;
    o.c_qparams = &cq;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "scale");
    o = f->o8;
    o.c_qparams = NULL;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "c_qparams");

    /* fixed point: shifts outside [-31, 30], negative multipliers */
    o = f->o8;
    o.flags = CLQ_GEMM_FIXED_POINT;
    o.multiplier = f->multb;
    o.shift = f->shiftb;
    int32_t bad_shift[] = {31, -32, 100}, shift = -8, bad_mult = -5, mult = 1 << 30;
    for (int i = 0; i < 3; i++) {
        TC_OK(ctx, clq_buffer_write(f->shiftb, 0, 4, &bad_shift[i]));
        EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_QPARAMS, "shift");
    }
    TC_OK(ctx, clq_buffer_write(f->shiftb, 0, 4, &shift));
    TC_OK(ctx, clq_buffer_write(f->multb, 8, 4, &bad_mult));
    o.multiplier_per_channel = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_INVALID_QPARAMS, "multiplier");
    TC_OK(ctx, clq_buffer_write(f->multb, 8, 4, &mult));

    /* weights' zero points and scales, checked at pack */
    static const struct {
        clq_dtype t;
        int32_t z;
    } bad_zb[] = {{CLQ_S8, 128}, {CLQ_S8, -129}, {CLQ_U8, 256}, {CLQ_U8, -1}};
    for (int i = 0; i < 4; i++) {
        int32_t zb[N] = {0, bad_zb[i].z, 0};
        clq_buffer *zbb = tc_buffer(ctx, sizeof zb, zb);
        clq_tensor t = f->b;
        t.dtype = bad_zb[i].t;
        q = f->bqp;
        q.qtype = bad_zb[i].t;
        q.zero_point = zbb;
        expect_pack(f, &t, &q, 0, CLQ_ERROR_INVALID_QPARAMS, "zero_point", "pack zb out of range");
        clq_buffer_destroy(zbb);
    }
    float sb[N] = {0.1f, 0.0f, 0.2f};
    clq_buffer *sbb = tc_buffer(ctx, sizeof sb, sb);
    q = f->bqp;
    q.scale = sbb;
    expect_pack(f, &f->b, &q, 0, CLQ_ERROR_INVALID_QPARAMS, "scale", "pack scale 0");
    clq_buffer_destroy(sbb);
    teardown(f);
}

TC_BACKEND_TEST(gemm_errors, contexts_and_bounds) {
    fixture F, *f = &F;
    setup(f, ctx);
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w_other, NULL, &f->c32), CLQ_ERROR_CONTEXT_MISMATCH, "w");
    clq_tensor t = f->a;
    t.buffer = f->foreign;
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_CONTEXT_MISMATCH, "a");
    clq_gemm_options o = f->of;
    o.bias = f->foreign;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->cf), CLQ_ERROR_CONTEXT_MISMATCH, "bias");
    t = f->b;
    t.buffer = f->foreign;
    expect_pack(f, &t, &f->bqp, 0, CLQ_ERROR_CONTEXT_MISMATCH, "b", "pack b of another context");

    /* out of bounds: A, C, B, and each parameter array one element short */
    t = f->a;
    t.offset = 1;
    EXPECT(f, clq_gemm(ctx, &t, &f->aqp, f->w, NULL, &f->c32), CLQ_ERROR_OUT_OF_BOUNDS, "a");
    t = f->c32;
    t.offset = CB / 4 - M * N + 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &t), CLQ_ERROR_OUT_OF_BOUNDS, "c");
    t = f->c32;
    t.strides[0] = 100;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, NULL, &t), CLQ_ERROR_OUT_OF_BOUNDS, "c");
    t = f->b;
    t.offset = 2;
    expect_pack(f, &t, &f->bqp, 0, CLQ_ERROR_OUT_OF_BOUNDS, "b", "pack b past its buffer");
    clq_qparams q = f->bqp;
    q.zero_point_offset = 1;
    expect_pack(f, &f->b, &q, 0, CLQ_ERROR_OUT_OF_BOUNDS, "zero_point", "pack zb past its buffer");
    q = f->aqp;
    q.scale_offset = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &q, f->w, &f->of, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "scale");
    o = f->of;
    o.bias_offset = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "bias");
    o = f->o8;
    o.flags = CLQ_GEMM_FIXED_POINT;
    o.multiplier = f->multb;
    o.shift = f->shiftb;
    o.multiplier_per_channel = 1;
    o.shift_offset = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->c8), CLQ_ERROR_OUT_OF_BOUNDS, "shift");
    o = f->of;
    o.a_rowsums = f->rsb;
    o.a_rowsums_offset = 1;
    EXPECT(f, clq_gemm(ctx, &f->a, &f->aqp, f->w, &o, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "a_rowsums");
    EXPECT(f, clq_quantize_rowsums(ctx, &f->x, &f->aqp, &f->a, f->rsout, 5), CLQ_ERROR_OUT_OF_BOUNDS, "rowsums");

    /* a TRUSTED A zero point is not read: the bound assumes the worst one (|a - za| <= 255);
     * B s8 with zero point 0 (|b - zb| <= 128): 65793 then, 131071 for za = 0 */
    size_t kbad = 65794, ash[2] = {1, kbad}, bsh[2] = {1, kbad}, csh[2] = {1, 1};
    clq_buffer *ab = tc_buffer(ctx, kbad, NULL), *bb = tc_buffer(ctx, kbad, NULL);
    clq_tensor at, bt, ct;
    clq_tensor_init(&at, CLQ_S8, 2, ash, ab);
    clq_tensor_init(&bt, CLQ_S8, 2, bsh, bb);
    clq_tensor_init(&ct, CLQ_S32, 2, csh, f->c32b);
    clq_qparams_init(&q);
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &bt, &q, 0, &w));
    cr_assert(clq_gemm_max_k(CLQ_S8, -128, w) == kbad - 1 && clq_gemm_max_k(CLQ_S8, 0, w) == 131071,
              "clq_gemm_max_k: %zu and %zu", clq_gemm_max_k(CLQ_S8, -128, w), clq_gemm_max_k(CLQ_S8, 0, w));
    q = f->aqp;
    q.zero_point = NULL; /* za = 0 */
    TC_OK(ctx, clq_gemm(ctx, &at, &q, w, NULL, &ct));
    TC_OK(ctx, clq_context_finish(ctx));
    unsigned char s[CB];
    memset(s, TC_SENTINEL, sizeof s);
    TC_OK(ctx, clq_buffer_write(f->c32b, 0, CB, s));
    q = f->aqp;
    q.flags = CLQ_QPARAMS_TRUSTED;
    EXPECT(f, clq_gemm(ctx, &at, &q, w, NULL, &ct), CLQ_ERROR_OVERFLOW, "K");
    clq_weights_destroy(w);
    clq_buffer_destroy(ab);
    clq_buffer_destroy(bb);
    teardown(f);
}

/* ---- weight formats and A's granularities (issue 10) ---- */
enum { GK = 48, GG = 16, GN = 3 * N }; /* K of three groups of 16; GN: a per-group array of N x 3 */

typedef struct gfix {
    clq_buffer *ab, *bb, *sb, *zb, *sb_short, *zb_short, *z4[4], *sa, *za;
    clq_tensor a, b8, b4s, b4u;
    clq_qparams bq, aq;
} gfix;

static void gsetup(gfix *g, fixture *f) {
    memset(g, 0, sizeof *g);
    int8_t a[M * GK], b[N * GK];
    for (int i = 0; i < M * GK; i++) a[i] = (int8_t)(i * 5 - 90);
    for (int i = 0; i < N * GK; i++) b[i] = (int8_t)(i * 3 - 60);
    float sb[GN], sa[M * 3];
    int32_t zb[GN], za[M * 3];
    for (int i = 0; i < GN; i++) sb[i] = 0.01f * (float)(i + 1), zb[i] = i % 3 - 1;
    for (int i = 0; i < M * 3; i++) sa[i] = 0.02f, za[i] = i % 5 - 2;
    /* 4-bit zero points one past the ends of the range, each in an array of an otherwise good one */
    static const int32_t bad4[4] = {8, -9, 16, -1};
    g->ab = tc_buffer(f->ctx, sizeof a, a);
    g->bb = tc_buffer(f->ctx, sizeof b, b);
    g->sb = tc_buffer(f->ctx, sizeof sb, sb);
    g->zb = tc_buffer(f->ctx, sizeof zb, zb);
    g->sb_short = tc_buffer(f->ctx, sizeof sb - 4, sb);
    g->zb_short = tc_buffer(f->ctx, sizeof zb - 4, zb);
    for (int i = 0; i < 4; i++) {
        int32_t z[GN];
        for (int j = 0; j < GN; j++) z[j] = i < 2 ? 0 : 8;
        z[GN - 1] = bad4[i];
        g->z4[i] = tc_buffer(f->ctx, sizeof z, z);
    }
    g->sa = tc_buffer(f->ctx, sizeof sa, sa);
    g->za = tc_buffer(f->ctx, sizeof za, za);
    size_t ash[2] = {M, GK}, bsh[2] = {N, GK};
    clq_tensor_init(&g->a, CLQ_S8, 2, ash, g->ab);
    clq_tensor_init(&g->b8, CLQ_S8, 2, bsh, g->bb);
    clq_tensor_init(&g->b4s, CLQ_S4, 2, bsh, g->bb);
    clq_tensor_init(&g->b4u, CLQ_U4, 2, bsh, g->bb);
    clq_qparams_init(&g->bq);
    g->bq.qtype = CLQ_S8;
    g->bq.granularity = CLQ_PER_BLOCK;
    g->bq.axis = 1;
    g->bq.block_size = GG;
    g->bq.scale = g->sb;
    g->bq.zero_point = g->zb;
    clq_qparams_init(&g->aq);
    g->aq.qtype = CLQ_S8;
    g->aq.granularity = CLQ_PER_BLOCK;
    g->aq.axis = 1;
    g->aq.block_size = GG;
    g->aq.scale = g->sa;
    g->aq.zero_point = g->za;
}

static void gteardown(gfix *g) {
    clq_buffer *bufs[] = {g->ab, g->bb, g->sb, g->zb, g->sb_short, g->zb_short, g->z4[0], g->z4[1], g->z4[2],
                          g->z4[3], g->sa, g->za};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
}

/* What clq_weights_pack refuses of the new formats (checked before the backend packs). */
TC_BACKEND_TEST(gemm_errors, formats_pack) {
    fixture F, *f = &F;
    setup(f, ctx);
    gfix G, *g = &G;
    gsetup(g, f);
    clq_qparams q = g->bq;
    static const size_t bad_g[] = {24, 8, 1, 40};
    for (int i = 0; i < 4; i++) {
        q.block_size = bad_g[i];
        expect_pack(f, &g->b8, &q, 0, CLQ_ERROR_INVALID_ARGUMENT, "block_size", "pack group not a multiple of 16");
    }
    /* blocks along N: B as [48, 3], blocks of 16 on axis 0 */
    q = g->bq;
    q.axis = 0;
    clq_tensor bn = g->b8;
    bn.shape[0] = GK, bn.shape[1] = N;
    bn.strides[0] = N;
    expect_pack(f, &bn, &q, 0, CLQ_ERROR_INVALID_ARGUMENT, "axis", "pack per-block along N");
    q = g->bq;
    q.scale = NULL;
    expect_pack(f, &g->b8, &q, 0, CLQ_ERROR_INVALID_ARGUMENT, "scale", "pack group weights without scales");
    q = g->bq;
    q.zero_point = g->zb_short;
    expect_pack(f, &g->b8, &q, 0, CLQ_ERROR_OUT_OF_BOUNDS, "qp->zero_point", "pack group zero points one short");
    q.zero_point = g->zb;
    q.zero_point_offset = 1;
    expect_pack(f, &g->b8, &q, 0, CLQ_ERROR_OUT_OF_BOUNDS, "qp->zero_point", "pack group zero points at offset 1");
    q = g->bq;
    q.scale = g->sb_short;
    expect_pack(f, &g->b8, &q, 0, CLQ_ERROR_OUT_OF_BOUNDS, "qp->scale", "pack group scales one short");
    /* per-channel counts for group weights: N values where N x 3 are wanted */
    q = g->bq;
    q.scale = f->sbb;
    expect_pack(f, &g->b8, &q, 0, CLQ_ERROR_OUT_OF_BOUNDS, "qp->scale", "pack group scales per channel");
    /* 4-bit zero points out of range, per group, per channel and per tensor */
    for (int i = 0; i < 4; i++) {
        const clq_tensor *bt = i < 2 ? &g->b4s : &g->b4u;
        q = g->bq;
        q.qtype = bt->dtype;
        q.zero_point = g->z4[i];
        expect_pack(f, bt, &q, 0, CLQ_ERROR_INVALID_QPARAMS, "zero_point", "pack 4-bit group zero point out of range");
        q.granularity = CLQ_PER_TENSOR;
        q.zero_point_offset = GN - 1;
        q.scale = NULL;
        expect_pack(f, bt, &q, 0, CLQ_ERROR_INVALID_QPARAMS, "zero_point", "pack 4-bit zero point out of range");
    }
    /* 4-bit weights are [N, K] only */
    q = g->bq;
    q.qtype = CLQ_U4;
    q.axis = 0;
    clq_tensor t = g->b4u;
    t.shape[0] = GK, t.shape[1] = N;
    t.strides[0] = N, t.strides[1] = 1;
    expect_pack(f, &t, &q, CLQ_WEIGHTS_TRANSPOSED, CLQ_ERROR_UNSUPPORTED, "CLQ_WEIGHTS_TRANSPOSED",
                "pack 4-bit weights transposed");
    q.granularity = CLQ_PER_TENSOR;
    q.zero_point = NULL;
    expect_pack(f, &t, &q, CLQ_WEIGHTS_TRANSPOSED, CLQ_ERROR_UNSUPPORTED, "CLQ_WEIGHTS_TRANSPOSED",
                "pack 4-bit weights per tensor transposed");
    /* A per group against per-channel weights (K = GK) */
    clq_qparams bq = f->bqp;
    clq_packed_weights *wc = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &g->b8, &bq, 0, &wc));
    EXPECT(f, clq_gemm(ctx, &g->a, &g->aq, wc, &f->of, &f->cf), CLQ_ERROR_INVALID_ARGUMENT, "block_size");
    clq_weights_destroy(wc);
    gteardown(g);
    teardown(f);
}

/* What clq_gemm refuses with group-quantized weights (these need the backends to pack
 * the format first). */
TC_BACKEND_TEST(gemm_errors, formats_gemm) {
    fixture F, *f = &F;
    setup(f, ctx);
    gfix G, *g = &G;
    gsetup(g, f);
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &g->b8, &g->bq, 0, &w));
    cr_assert(clq_weights_group_size(w) == GG && clq_weights_dtype(w) == CLQ_S8);
    /* the valid call first: f32 with A per group */
    TC_OK(ctx, clq_gemm(ctx, &g->a, &g->aq, w, &f->of, &f->cf));
    TC_OK(ctx, clq_context_finish(ctx));
    unsigned char s[CB];
    memset(s, TC_SENTINEL, sizeof s);
    TC_OK(ctx, clq_buffer_write(f->cfb, 0, CB, s));

    /* no single int32 C per output: s32 and fixed point */
    EXPECT(f, clq_gemm(ctx, &g->a, &g->aq, w, NULL, &f->c32), CLQ_ERROR_INVALID_ARGUMENT, "c->dtype");
    clq_gemm_options o = f->o8;
    o.flags = CLQ_GEMM_FIXED_POINT;
    o.multiplier = f->multb;
    o.shift = f->shiftb;
    EXPECT(f, clq_gemm(ctx, &g->a, &g->aq, w, &o, &f->c8), CLQ_ERROR_INVALID_ARGUMENT, "CLQ_GEMM_FIXED_POINT");
    /* A's block neither K nor g */
    clq_qparams q = g->aq;
    q.block_size = 32;
    EXPECT(f, clq_gemm(ctx, &g->a, &q, w, &f->of, &f->cf), CLQ_ERROR_INVALID_ARGUMENT, "block_size");
    q.block_size = 8;
    EXPECT(f, clq_gemm(ctx, &g->a, &q, w, &f->of, &f->cf), CLQ_ERROR_INVALID_ARGUMENT, "block_size");
    /* A's per-group arrays one short ([M][3] wanted) */
    q = g->aq;
    q.zero_point_offset = 1;
    EXPECT(f, clq_gemm(ctx, &g->a, &q, w, &f->of, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "a_qp->zero_point");
    q = g->aq;
    q.scale_offset = 1;
    EXPECT(f, clq_gemm(ctx, &g->a, &q, w, &f->of, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "a_qp->scale");
    /* per row (block K) wants M zero points: an array of one is short */
    q = g->aq;
    q.block_size = GK;
    q.zero_point = f->zab;
    EXPECT(f, clq_gemm(ctx, &g->a, &q, w, &f->of, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "a_qp->zero_point");
    /* caller's group sums: [M][3] wanted, M given */
    o = f->of;
    o.a_rowsums = f->rsb;
    EXPECT(f, clq_gemm(ctx, &g->a, &g->aq, w, &o, &f->cf), CLQ_ERROR_OUT_OF_BOUNDS, "a_rowsums");
    /* A's zero point out of range in one group */
    int32_t bad = 128, good = 2;
    TC_OK(ctx, clq_buffer_write(g->za, 4 * 7, 4, &bad));
    EXPECT(f, clq_gemm(ctx, &g->a, &g->aq, w, &f->of, &f->cf), CLQ_ERROR_INVALID_QPARAMS, "zero_point");
    TC_OK(ctx, clq_buffer_write(g->za, 4 * 7, 4, &good));
    clq_weights_destroy(w);

    /* the bound on the group length: 8-bit zero points at the ends of the range give
     * floor((2^31 - 1) / 255^2) = 33025; a group of 33040 is refused, M = N = 1 */
    size_t gl = 33040, ash[2] = {1, gl}, csh[2] = {1, 1};
    clq_buffer *ab = tc_buffer(ctx, gl, NULL), *bb = tc_buffer(ctx, gl, NULL);
    int32_t za = -128, zb = 127;
    float one = 1.0f;
    clq_buffer *zab = tc_buffer(ctx, 4, &za), *zbb = tc_buffer(ctx, 4, &zb), *sb = tc_buffer(ctx, 4, &one);
    clq_tensor at, bt, ct;
    clq_tensor_init(&at, CLQ_S8, 2, ash, ab);
    clq_tensor_init(&bt, CLQ_S8, 2, ash, bb);
    clq_tensor_init(&ct, CLQ_F32, 2, csh, f->cfb);
    q = g->bq;
    q.block_size = gl;
    q.scale = sb;
    q.zero_point = zbb;
    TC_OK(ctx, clq_weights_pack(ctx, &bt, &q, 0, &w));
    cr_assert(clq_gemm_max_k(CLQ_S8, -128, w) == 33025, "clq_gemm_max_k: %zu", clq_gemm_max_k(CLQ_S8, -128, w));
    clq_qparams aq = f->aqp;
    aq.zero_point = zab;
    aq.scale = sb;
    EXPECT(f, clq_gemm(ctx, &at, &aq, w, &f->of, &ct), CLQ_ERROR_OVERFLOW, "group");
    cr_expect(strstr(clq_context_error_message(ctx), "33025") != NULL, "the message \"%s\" gives no bound",
              clq_context_error_message(ctx));
    clq_weights_destroy(w);
    clq_buffer *bufs[] = {ab, bb, zab, zbb, sb};
    for (size_t i = 0; i < 5; i++) clq_buffer_destroy(bufs[i]);
    gteardown(g);
    teardown(f);
}

/* clq_quantize_rowsums per block along the last axis: one sum per row and block. */
TC_BACKEND_TEST(gemm_errors, formats_rowsums) {
    fixture F, *f = &F;
    setup(f, ctx);
    clq_qparams q = f->aqp;
    q.granularity = CLQ_PER_BLOCK;
    q.axis = 1;
    q.block_size = 2; /* [M][4] sums of the [M, 8] x, scales and zero points per block */
    float sc[M * 4];
    int32_t zp[M * 4];
    for (int i = 0; i < M * 4; i++) sc[i] = 0.1f, zp[i] = 0;
    clq_buffer *sb = tc_buffer(ctx, sizeof sc, sc), *zb = tc_buffer(ctx, sizeof zp, zp);
    clq_buffer *yb = tc_buffer(ctx, M * K, NULL);
    q.scale = sb;
    q.zero_point = zb;
    clq_tensor y = f->a;
    y.buffer = yb;
    /* rsout holds M + 4 values: M x 4 do not fit */
    EXPECT(f, clq_quantize_rowsums(ctx, &f->x, &q, &y, f->rsout, 0), CLQ_ERROR_OUT_OF_BOUNDS, "rowsums");
    EXPECT(f, clq_quantize_dynamic_rowsums(ctx, &f->x, &q, &y, f->rsout, 0), CLQ_ERROR_OUT_OF_BOUNDS, "rowsums");
    tc_assert_untouched(yb, M * K, "y of a refused quantize");
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
    teardown(f);
}
