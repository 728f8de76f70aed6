/* test_overlap.c: an output that shares bytes with another argument of the same call
 * is refused on every backend (INVALID_ARGUMENT, both names in the message, every
 * byte of the buffer as it was); neighbouring regions of one buffer still work. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

enum { N = 64, BYTES = 4096 };

/* A buffer of BYTES holding a recognisable pattern, and a copy to compare with. */
typedef struct arena {
    clq_buffer *buf;
    unsigned char init[BYTES];
} arena;

static void arena_init(clq_context *ctx, arena *a) {
    for (int i = 0; i < BYTES; i++) a->init[i] = (unsigned char)(i * 37 + 11);
    /* floats in the first KiB stay finite and small: bytes 0x3e/0x3f in the high byte */
    for (int i = 3; i < 1024; i += 4) a->init[i] = 0x3e;
    a->buf = tc_buffer(ctx, BYTES, a->init);
}

static void expect_refused(clq_context *ctx, clq_status st, const arena *a, const char *n1,
                           const char *n2, const char *what) {
    const char *msg = clq_context_error_message(ctx);
    cr_assert(st == CLQ_ERROR_INVALID_ARGUMENT, "%s: expected INVALID_ARGUMENT, got %s (%s)", what,
              clq_status_string(st), msg);
    cr_assert(tc_names(msg, n1) && tc_names(msg, n2) && strstr(msg, "overlap"),
              "%s: the message should name %s and %s: \"%s\"", what, n1, n2, msg);
    unsigned char now[BYTES];
    tc_read(a->buf, BYTES, now);
    cr_assert(memcmp(now, a->init, BYTES) == 0, "%s: the buffer was written", what);
}

static void qp_in(clq_qparams *qp, clq_dtype qt, clq_buffer *b, size_t soff, size_t zoff) {
    clq_qparams_init(qp);
    qp->qtype = qt;
    qp->scale = b;
    qp->scale_offset = soff;
    qp->zero_point = b;
    qp->zero_point_offset = zoff;
}

TC_BACKEND_TEST(overlap, quantize_dynamic_y_and_params) {
    arena a;
    arena_init(ctx, &a);
    size_t shape[1] = {N};
    clq_tensor x, y;
    clq_tensor_init(&x, CLQ_F32, 1, shape, a.buf); /* bytes [0, 256) */
    clq_tensor_init(&y, CLQ_U8, 1, shape, a.buf);
    y.offset = 1024; /* bytes [1024, 1088) */
    clq_qparams qp;
    qp_in(&qp, CLQ_U8, a.buf, 1024 / 4 + 4, 2048 / 4); /* scale inside y */
    expect_refused(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y), &a, "y", "qp->scale",
                   "dynamic: scale inside y");
    qp_in(&qp, CLQ_U8, a.buf, 2048 / 4, 1024 / 4 + 15); /* zero point inside y */
    expect_refused(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y), &a, "y", "qp->zero_point",
                   "dynamic: zero point inside y");
    qp_in(&qp, CLQ_U8, a.buf, 2048 / 4, 2048 / 4); /* scale and zero point on one word */
    expect_refused(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y), &a, "qp->scale", "qp->zero_point",
                   "dynamic: scale = zero point");
    qp_in(&qp, CLQ_U8, a.buf, 60, 2048 / 4); /* scale inside x */
    expect_refused(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y), &a, "qp->scale", "x",
                   "dynamic: scale inside x");
    y.offset = 200; /* y over the tail of x */
    qp_in(&qp, CLQ_U8, a.buf, 2048 / 4, 2048 / 4 + 1);
    expect_refused(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y), &a, "y", "x", "dynamic: y over x");
    /* side by side in one buffer: accepted */
    y.offset = 256;
    TC_OK(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y));
    clq_buffer_destroy(a.buf);
}

TC_BACKEND_TEST(overlap, quantize_and_rowsums) {
    arena a;
    arena_init(ctx, &a);
    float one = 0.5f;
    int32_t zero = 0;
    clq_buffer *sb = tc_buffer(ctx, 4, &one), *zb = tc_buffer(ctx, 4, &zero);
    size_t shape[2] = {4, 16};
    clq_tensor x, y;
    clq_tensor_init(&x, CLQ_F32, 2, shape, a.buf); /* bytes [0, 256) */
    clq_tensor_init(&y, CLQ_S8, 2, shape, a.buf);
    y.offset = 1024;
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scale = sb;
    qp.zero_point = zb;
    expect_refused(ctx, clq_quantize_rowsums(ctx, &x, &qp, &y, a.buf, 1024 / 4 + 2), &a, "rowsums",
                   "y", "rowsums inside y");
    expect_refused(ctx, clq_quantize_rowsums(ctx, &x, &qp, &y, a.buf, 10), &a, "rowsums", "x",
                   "rowsums inside x");
    qp.scale = a.buf;
    qp.scale_offset = 1024 / 4 + 1;
    expect_refused(ctx, clq_quantize(ctx, &x, &qp, &y), &a, "y", "qp->scale",
                   "static quantize: y over its scale");
    qp.scale = sb;
    qp.scale_offset = 0;
    y.offset = 128; /* y over x */
    expect_refused(ctx, clq_quantize(ctx, &x, &qp, &y), &a, "y", "x", "static quantize: y over x");
    y.offset = 1024;
    TC_OK(ctx, clq_quantize_rowsums(ctx, &x, &qp, &y, a.buf, 2048 / 4));
    clq_buffer_destroy(a.buf);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
}

TC_BACKEND_TEST(overlap, dequantize_minmax_qparams) {
    arena a;
    arena_init(ctx, &a);
    float one = 0.5f;
    clq_buffer *sb = tc_buffer(ctx, 4, &one);
    size_t shape[1] = {N};
    clq_tensor q, y, x;
    clq_tensor_init(&q, CLQ_S8, 1, shape, a.buf);
    q.offset = 3000;
    clq_tensor_init(&y, CLQ_F32, 1, shape, a.buf);
    y.offset = 3000 / 4 - 8; /* bytes [2968, 3224) cover q */
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scheme = CLQ_SYMMETRIC;
    qp.scale = sb;
    expect_refused(ctx, clq_dequantize(ctx, &q, &qp, &y), &a, "y", "q", "dequantize: y over q");

    clq_tensor_init(&x, CLQ_F32, 1, shape, a.buf); /* bytes [0, 256) */
    clq_qparams mq;
    clq_qparams_init(&mq);
    expect_refused(ctx, clq_minmax(ctx, &x, &mq, a.buf, 5, a.buf, 600), &a, "min_out", "x",
                   "minmax: min inside x");
    expect_refused(ctx, clq_minmax(ctx, &x, &mq, a.buf, 600, a.buf, 600), &a, "min_out", "max_out",
                   "minmax: min = max");

    clq_qparams pq;
    qp_in(&pq, CLQ_U8, a.buf, 100, 700);
    expect_refused(ctx, clq_qparams_from_minmax(ctx, a.buf, 100, a.buf, 101, 1, &pq), &a,
                   "qp->scale", "min_in", "qparams: scale on min");
    qp_in(&pq, CLQ_U8, a.buf, 700, 101);
    expect_refused(ctx, clq_qparams_from_minmax(ctx, a.buf, 100, a.buf, 101, 1, &pq), &a,
                   "qp->zero_point", "max_in", "qparams: zero point on max");
    clq_buffer_destroy(a.buf);
    clq_buffer_destroy(sb);
}

TC_BACKEND_TEST(overlap, gemm_c_and_inputs) {
    enum { M = 3, K = 8, NN = 4 };
    int8_t bw[NN * K];
    for (int i = 0; i < NN * K; i++) bw[i] = (int8_t)(i * 5 - 60);
    float sbv = 0.25f, sav = 0.5f;
    int32_t zbv = 1;
    clq_buffer *bb = tc_buffer(ctx, sizeof bw, bw), *sbb = tc_buffer(ctx, 4, &sbv),
               *zbb = tc_buffer(ctx, 4, &zbv);
    size_t bsh[2] = {NN, K}, ash[2] = {M, K}, csh[2] = {M, NN};
    clq_tensor b, at, c;
    clq_tensor_init(&b, CLQ_S8, 2, bsh, bb);
    clq_qparams bqp;
    clq_qparams_init(&bqp);
    bqp.qtype = CLQ_S8;
    bqp.scale = sbb;
    bqp.zero_point = zbb;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &b, &bqp, 0, &w));

    arena a;
    arena_init(ctx, &a);
    clq_buffer *sab = tc_buffer(ctx, 4, &sav);
    clq_tensor_init(&at, CLQ_S8, 2, ash, a.buf);
    at.offset = 3072; /* bytes [3072, 3096) */
    clq_tensor_init(&c, CLQ_F32, 2, csh, a.buf); /* bytes [0, 48) */
    clq_qparams aqp;
    clq_qparams_init(&aqp);
    aqp.qtype = CLQ_S8;
    aqp.scheme = CLQ_SYMMETRIC;
    aqp.scale = sab;
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    o.bias = a.buf;
    o.bias_offset = 8; /* bytes [32, 48): inside C */
    expect_refused(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &c), &a, "c", "options->bias", "bias in C");
    o.bias_offset = 512;
    o.a_rowsums = a.buf;
    o.a_rowsums_offset = 2; /* bytes [8, 20): inside C */
    expect_refused(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &c), &a, "c", "options->a_rowsums",
                   "row sums in C");
    o.a_rowsums = NULL;
    c.offset = 3072 / 4 - 4; /* bytes [3056, 3104) cover A */
    expect_refused(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &c), &a, "c", "a", "C over A");
    c.offset = 0;
    aqp.scale = a.buf;
    aqp.scale_offset = 4; /* bytes [16, 20): inside C */
    expect_refused(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &c), &a, "c", "a_qp->scale",
                   "A's scale in C");
    aqp.scale = sab;
    aqp.scale_offset = 0;
    TC_OK(ctx, clq_gemm(ctx, &at, &aqp, w, &o, &c));
    clq_weights_destroy(w);
    clq_buffer_destroy(a.buf);
    clq_buffer_destroy(sab);
    clq_buffer_destroy(bb);
    clq_buffer_destroy(sbb);
    clq_buffer_destroy(zbb);
}

/* Two wraps of one host array are two buffers over the same bytes. */
TC_BACKEND_TEST(overlap, wrapped_host_aliases) {
    float *mem = aligned_alloc(64, 2 * BYTES);
    for (int i = 0; i < 2 * BYTES / 4; i++) mem[i] = (float)(i % 50) * 0.125f;
    clq_buffer *whole = NULL, *tail = NULL;
    TC_OK(ctx, clq_buffer_wrap_host(ctx, mem, 2 * BYTES, &whole));
    TC_OK(ctx, clq_buffer_wrap_host(ctx, (char *)mem + BYTES, BYTES, &tail));
    size_t shape[1] = {N};
    clq_tensor x, y;
    clq_tensor_init(&x, CLQ_F32, 1, shape, whole);
    x.offset = BYTES / 4 + 8; /* bytes [BYTES + 32, BYTES + 288) of mem */
    clq_tensor_init(&y, CLQ_S8, 1, shape, tail);
    y.offset = 100; /* bytes [BYTES + 100, BYTES + 164) of mem */
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scheme = CLQ_SYMMETRIC;
    clq_buffer *sb = tc_buffer(ctx, 4, NULL);
    qp.scale = sb;
    clq_status st = clq_quantize_dynamic(ctx, &x, &qp, &y);
    const char *msg = clq_context_error_message(ctx);
    cr_assert(st == CLQ_ERROR_INVALID_ARGUMENT && tc_names(msg, "y") && tc_names(msg, "x") &&
                  strstr(msg, "host memory"),
              "two wraps of one array: expected INVALID_ARGUMENT naming x and y, got %s (%s)",
              clq_status_string(st), msg);
    y.offset = 512; /* disjoint */
    TC_OK(ctx, clq_quantize_dynamic(ctx, &x, &qp, &y));
    TC_OK(ctx, clq_context_finish(ctx));
    clq_buffer_destroy(whole);
    clq_buffer_destroy(tail);
    clq_buffer_destroy(sb);
    free(mem);
}
