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
TC_BACKEND_TEST(hostile, gemm_k0_far_away) {
    clq_buffer *ab = tc_buffer(ctx, 16, NULL), *bb = tc_buffer(ctx, 16, NULL);
    clq_buffer *cb = tc_buffer(ctx, 4 * 6, NULL);
    for (int how = 0; how < 3; how++) {
        const size_t ashape[2] = {2, 0}, bshape[2] = {3, 0}, cshape[2] = {2, 3};
        clq_tensor a, b, c;
        empty_view(&a, CLQ_S8, 2, ashape, ab, how);
        empty_view(&b, CLQ_S8, 2, bshape, bb, how);
        clq_tensor_init(&c, CLQ_S32, 2, cshape, cb);
        clq_qparams bq, aq;
        clq_qparams_init(&bq);
        bq.qtype = CLQ_S8;
        clq_qparams_init(&aq);
        aq.qtype = CLQ_S8;
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &b, &bq, 0, &w));
        TC_OK(ctx, clq_gemm(ctx, &a, &aq, w, NULL, &c));
        int32_t out[6];
        tc_read(cb, sizeof out, out);
        for (int i = 0; i < 6; i++) cr_assert_eq(out[i], 0, "how %d: C[%d] = %d", how, i, out[i]);
        clq_weights_destroy(w);
    }
    clq_buffer_destroy(ab);
    clq_buffer_destroy(bb);
    clq_buffer_destroy(cb);
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
