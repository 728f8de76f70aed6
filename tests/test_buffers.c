/* test_buffers.c: buffer life cycle and what a buffer may wrap: clq_buffer_destroy waits
 * for the ops that use the caller's host memory, clq_weights_pack is done reading its
 * weights when it returns, clq_buffer_wrap_cl refuses what the ops cannot use (images,
 * read-only outputs, write-only inputs) and takes sub-buffers, clq_buffer_wrap_host
 * refuses impossible ranges, and device_index on its own picks a device. */
#include "common.h"

#include <clquant/clquant_cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Elements of the large tensors: 64 MiB of f32, so that an op is still running on the
 * device when the call that enqueued it returns. */
#define BIG ((size_t)16 << 20)
/* The weights: N x K s8, 64 MiB. */
#define WN ((size_t)4096)
#define WK ((size_t)16384)

static const float S = 0.1f;
static const int32_t Z = 3;

/* Pages of their own: munmap makes any late access fault, deterministically. */
static void *map_pages(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(p != MAP_FAILED, "mmap(%zu bytes) failed", bytes);
    return p;
}
static void unmap_pages(void *p, size_t bytes) { cr_assert_eq(munmap(p, bytes), 0); }

static float xval(size_t i) { return (float)((i * 37) % 251) * 0.1f - 12.0f; }
static int8_t bval(size_t n, size_t k) { return (int8_t)((int)((n * 31 + k * 7) % 255) - 127); }

static void fill_x(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = xval(i);
}

/* Per-tensor s8 parameters S, Z in two small buffers. */
static clq_qparams s8_params(clq_context *ctx, clq_buffer **sb, clq_buffer **zb) {
    *sb = tc_buffer(ctx, 4, &S);
    *zb = tc_buffer(ctx, 4, &Z);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scale = *sb;
    qp.zero_point = *zb;
    return qp;
}

/* y[i] (n s8 values) against the reference of xval(i), checked from the last element
 * down: a check that starts while the op still runs fails at once. */
static void check_q(const int8_t *y, size_t n, const char *what) {
    int8_t want[251];
    for (size_t i = 0; i < 251; i++)
        want[i] = (int8_t)ref_quantize_one(xval(i), S, Z, -128, 127, CLQ_ROUND_HALF_EVEN, 0);
    for (size_t j = n; j-- > 0;)
        if (y[j] != want[j % 251])
            cr_assert_fail("%s: element %zu: expected %d got %d", what, j, want[j % 251], y[j]);
}

/* y = quantize(x), enqueued reps times: the parameters are TRUSTED, so nothing is read
 * back and the calls return with every kernel still queued. */
static void quantize_1d(clq_context *ctx, clq_buffer *xb, size_t xoff, clq_buffer *yb,
                        size_t yoff, size_t n, int reps) {
    clq_buffer *sb, *zb;
    clq_qparams qp = s8_params(ctx, &sb, &zb);
    qp.flags |= CLQ_QPARAMS_TRUSTED;
    size_t shape[1] = {n};
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, yb);
    xt.offset = xoff;
    yt.offset = yoff;
    for (int r = 0; r < reps; r++) TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
}

/* ---- item 6: what clq_buffer_wrap_cl accepts ---- */

static clq_context *cl_ctx(cl_context *clc, cl_command_queue *q, cl_device_id *dev) {
    clq_context *ctx = tc_context(CLQ_BACKEND_OPENCL);
    TC_OK(ctx, clq_context_get_cl(ctx, clc, q, dev));
    return ctx;
}

Test(buffers, wrap_cl_refuses_images) {
    cl_context clc;
    cl_command_queue q;
    cl_device_id dev;
    clq_context *ctx = cl_ctx(&clc, &q, &dev);
    cl_bool images = CL_FALSE;
    cr_assert_eq(clGetDeviceInfo(dev, CL_DEVICE_IMAGE_SUPPORT, sizeof images, &images, NULL),
                 CL_SUCCESS);
    if (!images) {
        clq_context_destroy(ctx);
        cr_skip_test("the device has no image support");
    }
    cl_image_format fmt = {CL_RGBA, CL_UNSIGNED_INT8};
    cl_image_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.image_type = CL_MEM_OBJECT_IMAGE2D;
    desc.image_width = 16;
    desc.image_height = 16;
    cl_int err;
    cl_mem im = clCreateImage(clc, CL_MEM_READ_WRITE, &fmt, &desc, NULL, &err);
    cr_assert_eq(err, CL_SUCCESS, "clCreateImage: %d", err);
    clq_buffer *b = NULL;
    cr_assert_eq(clq_buffer_wrap_cl(ctx, im, &b), CLQ_ERROR_INVALID_ARGUMENT,
                 "a 2-D image was wrapped as a buffer");
    cr_assert(b == NULL);
    const char *msg = clq_context_error_message(ctx);
    cr_assert(tc_contains(msg, "IMAGE2D") && tc_contains(msg, "buffer"), "message \"%s\"", msg);
    clReleaseMemObject(im);
    clq_context_destroy(ctx);
}

static cl_mem cl_buffer(cl_context clc, cl_mem_flags flags, size_t bytes, const void *init) {
    cl_int err;
    cl_mem m = clCreateBuffer(clc, flags | (init ? CL_MEM_COPY_HOST_PTR : 0), bytes, (void *)init,
                              &err);
    cr_assert_eq(err, CL_SUCCESS, "clCreateBuffer(%zu): %d", bytes, err);
    return m;
}

static clq_buffer *wrap(clq_context *ctx, cl_mem m) {
    clq_buffer *b = NULL;
    TC_OK(ctx, clq_buffer_wrap_cl(ctx, m, &b));
    clReleaseMemObject(m); /* the clq_buffer holds its own reference */
    return b;
}

static void cl_read(cl_command_queue q, clq_buffer *b, size_t off, size_t bytes, void *dst) {
    cl_mem m;
    cr_assert_eq(clq_buffer_get_cl(b, &m), CLQ_SUCCESS);
    cr_assert_eq(clEnqueueReadBuffer(q, m, CL_TRUE, off, bytes, dst, 0, NULL, NULL), CL_SUCCESS);
}

Test(buffers, wrap_cl_access_flags) {
    cl_context clc;
    cl_command_queue q;
    cl_device_id dev;
    clq_context *ctx = cl_ctx(&clc, &q, &dev);
    enum { N = 1031 };
    float x[N];
    int8_t y[N], sent[N];
    fill_x(x, N);
    memset(sent, TC_SENTINEL, N);
    size_t shape[1] = {N};
    clq_buffer *sb, *zb;
    clq_qparams qp = s8_params(ctx, &sb, &zb);
    clq_tensor xt, yt;

    /* a read-only cl_mem cannot be an output: refused, nothing written */
    clq_buffer *xb = tc_buffer(ctx, sizeof x, x);
    clq_buffer *ro = wrap(ctx, cl_buffer(clc, CL_MEM_READ_ONLY, N, sent));
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, ro);
    cr_assert_eq(clq_quantize(ctx, &xt, &qp, &yt), CLQ_ERROR_INVALID_ARGUMENT,
                 "a CL_MEM_READ_ONLY buffer was accepted as quantize's output");
    const char *msg = clq_context_error_message(ctx);
    cr_assert(tc_names(msg, "y") && tc_contains(msg, "CL_MEM_READ_ONLY"), "message \"%s\"", msg);
    TC_OK(ctx, clq_context_finish(ctx));
    cl_read(q, ro, 0, N, y);
    cr_assert_arr_eq(y, sent, N, "the refused output was written");
    /* dequantize's output too (another op, same check) */
    int8_t qv[N];
    memset(qv, 7, N);
    clq_buffer *qb = tc_buffer(ctx, N, qv);
    clq_buffer *rof = wrap(ctx, cl_buffer(clc, CL_MEM_READ_ONLY, sizeof x, NULL));
    clq_tensor qt, ft;
    clq_tensor_init(&qt, CLQ_S8, 1, shape, qb);
    clq_tensor_init(&ft, CLQ_F32, 1, shape, rof);
    cr_assert_eq(clq_dequantize(ctx, &qt, &qp, &ft), CLQ_ERROR_INVALID_ARGUMENT);

    /* a read-only cl_mem is a fine input */
    clq_buffer *xro = wrap(ctx, cl_buffer(clc, CL_MEM_READ_ONLY, sizeof x, x));
    clq_buffer *yb = tc_buffer(ctx, N, NULL);
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xro);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, yb);
    TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
    tc_read(yb, N, y);
    check_q(y, N, "read-only input");

    /* a write-only cl_mem cannot be an input, and is a fine output */
    clq_buffer *wo = wrap(ctx, cl_buffer(clc, CL_MEM_WRITE_ONLY, sizeof x, NULL));
    clq_buffer *y2 = tc_buffer(ctx, N, NULL);
    clq_tensor_init(&xt, CLQ_F32, 1, shape, wo);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, y2);
    cr_assert_eq(clq_quantize(ctx, &xt, &qp, &yt), CLQ_ERROR_INVALID_ARGUMENT,
                 "a CL_MEM_WRITE_ONLY buffer was accepted as quantize's input");
    msg = clq_context_error_message(ctx);
    cr_assert(tc_names(msg, "x") && tc_contains(msg, "CL_MEM_WRITE_ONLY"), "message \"%s\"", msg);
    tc_assert_untouched(y2, N, "y");
    clq_buffer *wy = wrap(ctx, cl_buffer(clc, CL_MEM_WRITE_ONLY, N, NULL));
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, wy);
    TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
    cl_read(q, wy, 0, N, y);
    check_q(y, N, "write-only output");

    clq_buffer *all[] = {sb, zb, xb, ro, qb, rof, xro, yb, wo, y2, wy};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clq_buffer_destroy(all[i]);
    clq_context_destroy(ctx);
}

/* The access flags hold for every argument, not only tensors: parameters, min/max,
 * row sums and the GEMM's bias. */
Test(buffers, wrap_cl_access_flags_arrays) {
    cl_context clc;
    cl_command_queue q;
    cl_device_id dev;
    clq_context *ctx = cl_ctx(&clc, &q, &dev);
    enum { N = 64 };
    float x[N];
    fill_x(x, N);
    unsigned char sent[256];
    memset(sent, TC_SENTINEL, sizeof sent);
    size_t shape[2] = {4, N / 4};
    clq_buffer *xb = tc_buffer(ctx, sizeof x, x), *yb = tc_buffer(ctx, N, NULL);
    clq_buffer *ro = wrap(ctx, cl_buffer(clc, CL_MEM_READ_ONLY, sizeof sent, sent));
    clq_buffer *wo = wrap(ctx, cl_buffer(clc, CL_MEM_WRITE_ONLY, sizeof sent, NULL));
    clq_buffer *okb = tc_buffer(ctx, sizeof sent, NULL);
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
    clq_tensor_init(&yt, CLQ_S8, 2, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scale = ro; /* dynamic: the scale is an output */
    qp.zero_point = okb;
    struct {
        clq_status st;
        const char *name, *flag;
    } r[6];
    r[0].st = clq_quantize_dynamic(ctx, &xt, &qp, &yt);
    r[0].name = "qp->scale", r[0].flag = "CL_MEM_READ_ONLY";
    qp.scale = wo; /* ... and then read by the quantize kernel */
    r[1].st = clq_quantize_dynamic(ctx, &xt, &qp, &yt);
    r[1].name = "qp->scale", r[1].flag = "CL_MEM_WRITE_ONLY";
    qp.scale = okb;
    qp.zero_point = okb;
    qp.zero_point_offset = 8;
    r[2].st = clq_quantize_rowsums(ctx, &xt, &qp, &yt, ro, 0);
    r[2].name = "rowsums", r[2].flag = "CL_MEM_READ_ONLY";
    clq_qparams mq;
    clq_qparams_init(&mq);
    r[3].st = clq_minmax(ctx, &xt, &mq, okb, 0, ro, 0);
    r[3].name = "max_out", r[3].flag = "CL_MEM_READ_ONLY";
    r[4].st = clq_qparams_from_minmax(ctx, wo, 0, okb, 0, 1, &qp);
    r[4].name = "min_in", r[4].flag = "CL_MEM_WRITE_ONLY";
    qp.scale = wo; /* a static quantize reads its scale */
    qp.flags = CLQ_QPARAMS_TRUSTED;
    r[5].st = clq_quantize(ctx, &xt, &qp, &yt);
    r[5].name = "qp->scale", r[5].flag = "CL_MEM_WRITE_ONLY";
    for (int i = 0; i < 6; i++)
        cr_assert(r[i].st == CLQ_ERROR_INVALID_ARGUMENT, "case %d (%s %s): got %s", i, r[i].name,
                  r[i].flag, clq_status_string(r[i].st));
    const char *msg = clq_context_error_message(ctx);
    cr_assert(tc_names(msg, "qp->scale") && tc_contains(msg, "CL_MEM_WRITE_ONLY"), "\"%s\"", msg);
    TC_OK(ctx, clq_context_finish(ctx));
    unsigned char now[sizeof sent];
    cl_read(q, ro, 0, sizeof now, now);
    cr_assert_arr_eq(now, sent, sizeof now, "a refused read-only argument was written");
    tc_assert_untouched(yb, N, "y");
    clq_buffer *all[] = {xb, yb, ro, wo, okb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clq_buffer_destroy(all[i]);
    clq_context_destroy(ctx);
}

/* Sub-buffers are buffers: as input and as output, at the sub-buffer's origin. */
Test(buffers, wrap_cl_sub_buffer) {
    cl_context clc;
    cl_command_queue q;
    cl_device_id dev;
    clq_context *ctx = cl_ctx(&clc, &q, &dev);
    cl_uint align_bits = 0;
    cr_assert_eq(clGetDeviceInfo(dev, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                                 NULL),
                 CL_SUCCESS);
    size_t align = align_bits / 8 ? align_bits / 8 : 1;
    enum { N = 1031 };
    float x[N];
    int8_t y[N];
    fill_x(x, N);
    cl_int err;
    cl_mem xp = cl_buffer(clc, CL_MEM_READ_WRITE, align + sizeof x + 64, NULL);
    cr_assert_eq(clEnqueueWriteBuffer(q, xp, CL_TRUE, align, sizeof x, x, 0, NULL, NULL), CL_SUCCESS);
    cl_buffer_region xr = {align, sizeof x};
    cl_mem xs = clCreateSubBuffer(xp, 0, CL_BUFFER_CREATE_TYPE_REGION, &xr, &err);
    cr_assert_eq(err, CL_SUCCESS, "clCreateSubBuffer: %d", err);
    uint8_t *sent = malloc(2 * align + N);
    memset(sent, TC_SENTINEL, 2 * align + N);
    cl_mem yp = cl_buffer(clc, CL_MEM_READ_WRITE, 2 * align + N, sent);
    cl_buffer_region yr = {align, N};
    cl_mem ys = clCreateSubBuffer(yp, 0, CL_BUFFER_CREATE_TYPE_REGION, &yr, &err);
    cr_assert_eq(err, CL_SUCCESS, "clCreateSubBuffer: %d", err);
    clq_buffer *xb = wrap(ctx, xs), *yb = wrap(ctx, ys);
    cr_assert_eq(clq_buffer_size(xb), sizeof x);
    cr_assert_eq(clq_buffer_size(yb), (size_t)N);
    quantize_1d(ctx, xb, 0, yb, 0, N, 1);
    uint8_t *got = malloc(2 * align + N);
    cr_assert_eq(clEnqueueReadBuffer(q, yp, CL_TRUE, 0, 2 * align + N, got, 0, NULL, NULL),
                 CL_SUCCESS);
    for (size_t i = 0; i < align; i++)
        cr_assert(got[i] == TC_SENTINEL && got[align + N + i] == TC_SENTINEL,
                  "a byte of the parent outside the sub-buffer was written (near %zu)", i);
    memcpy(y, got + align, N);
    check_q(y, N, "sub-buffers");
    /* a sub-buffer of a read-only parent is read-only */
    cl_mem rp = cl_buffer(clc, CL_MEM_READ_ONLY, 2 * align + N, sent);
    cl_mem rs = clCreateSubBuffer(rp, 0, CL_BUFFER_CREATE_TYPE_REGION, &yr, &err);
    cr_assert_eq(err, CL_SUCCESS);
    clReleaseMemObject(rp);
    clq_buffer *rb = wrap(ctx, rs);
    clq_buffer *sb, *zb;
    clq_qparams qp = s8_params(ctx, &sb, &zb);
    size_t shape[1] = {N};
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, rb);
    cr_assert_eq(clq_quantize(ctx, &xt, &qp, &yt), CLQ_ERROR_INVALID_ARGUMENT,
                 "a sub-buffer of a CL_MEM_READ_ONLY buffer was accepted as an output");
    free(sent);
    free(got);
    clReleaseMemObject(xp);
    clReleaseMemObject(yp);
    clq_buffer *all[] = {xb, yb, rb, sb, zb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clq_buffer_destroy(all[i]);
    clq_context_destroy(ctx);
}

/* ---- item 5: destroy gives the caller's memory back ---- */

/* The caller frees its input right after destroying the buffer that wraps it. */
TC_BACKEND_TEST(buffers, destroy_waits_for_input) {
    float *x = map_pages(4 * BIG);
    fill_x(x, BIG);
    clq_buffer *xb, *yb = tc_buffer(ctx, BIG, NULL);
    TC_OK(ctx, clq_buffer_wrap_host(ctx, x, 4 * BIG, &xb));
    quantize_1d(ctx, xb, 0, yb, 0, BIG, 3);
    clq_buffer_destroy(xb);
    unmap_pages(x, 4 * BIG); /* a read after this faults */
    TC_OK(ctx, clq_context_finish(ctx));
    int8_t *y = malloc(BIG);
    tc_read(yb, BIG, y);
    check_q(y, BIG, "input freed after destroy");
    free(y);
    clq_buffer_destroy(yb);
}

/* Whether the device works on host memory in place, so that wrapped host memory holds
 * an op's results as soon as it completes (CL_MEM_USE_HOST_PTR may use a device copy). */
static int shares_host_memory(clq_context *ctx) {
    if (clq_context_backend(ctx) == CLQ_BACKEND_CPU) return 1;
    cl_device_id dev;
    TC_OK(ctx, clq_context_get_cl(ctx, NULL, NULL, &dev));
    cl_bool unified = CL_FALSE;
    cr_assert_eq(clGetDeviceInfo(dev, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL),
                 CL_SUCCESS);
    return unified == CL_TRUE;
}

/* The caller reads, then frees, its output right after destroying the buffer. */
TC_BACKEND_TEST(buffers, destroy_waits_for_output) {
    float *xh = malloc(4 * BIG);
    fill_x(xh, BIG);
    clq_buffer *xb = tc_buffer(ctx, 4 * BIG, xh);
    free(xh);
    size_t bytes = BIG + 64;
    for (int round = 0; round < 2; round++) {
        int8_t *y = map_pages(bytes);
        memset(y, TC_SENTINEL, bytes);
        clq_buffer *yb;
        TC_OK(ctx, clq_buffer_wrap_host(ctx, y, bytes, &yb));
        quantize_1d(ctx, xb, 0, yb, 32, BIG, 3);
        clq_buffer_destroy(yb);
        /* round 0 looks at the memory first (where the device works in place), round 1
         * frees it at once: a write after this faults */
        if (round == 0 && shares_host_memory(ctx)) {
            check_q(y + 32, BIG, "output read after destroy");
            for (size_t i = 0; i < 32; i++)
                cr_assert(y[i] == (int8_t)TC_SENTINEL && y[32 + BIG + i] == (int8_t)TC_SENTINEL,
                          "sentinel byte near %zu written", i);
        }
        unmap_pages(y, bytes);
    }
    TC_OK(ctx, clq_context_finish(ctx));
    clq_buffer_destroy(xb);
}

/* C[n] = sum_k bval(n, k): A is one row of ones with zero point 0. */
static void check_gemm_ones(clq_context *ctx, const clq_packed_weights *w, const char *what) {
    int8_t *ones = malloc(WK);
    memset(ones, 1, WK);
    clq_buffer *ab = tc_buffer(ctx, WK, ones), *cb = tc_buffer(ctx, 4 * WN, NULL);
    free(ones);
    size_t ashape[2] = {1, WK}, cshape[2] = {1, WN};
    clq_tensor at, ct;
    clq_tensor_init(&at, CLQ_S8, 2, ashape, ab);
    clq_tensor_init(&ct, CLQ_S32, 2, cshape, cb);
    clq_qparams aq;
    clq_qparams_init(&aq);
    aq.qtype = CLQ_S8;
    TC_OK(ctx, clq_gemm(ctx, &at, &aq, w, NULL, &ct));
    int32_t *c = malloc(4 * WN);
    tc_read(cb, 4 * WN, c);
    for (size_t n = 0; n < WN; n++) {
        int32_t want = 0;
        for (size_t k = 0; k < WK; k++) want += bval(n, k);
        cr_assert_eq(c[n], want, "%s: C[0][%zu]: expected %d got %d", what, n, want, c[n]);
    }
    free(c);
    clq_buffer_destroy(ab);
    clq_buffer_destroy(cb);
}

/* docs/API.md: after clq_weights_pack "the caller's W may now go". */
TC_BACKEND_TEST(buffers, pack_done_with_weights) {
    int8_t *b = map_pages(WN * WK);
    size_t shape[2] = {WN, WK};
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    for (int round = 0; round < 2; round++) {
        for (size_t n = 0; n < WN; n++)
            for (size_t k = 0; k < WK; k++) b[n * WK + k] = bval(n, k);
        clq_buffer *bb;
        TC_OK(ctx, clq_buffer_wrap_host(ctx, b, WN * WK, &bb));
        clq_tensor bt;
        clq_tensor_init(&bt, CLQ_S8, 2, shape, bb);
        clq_packed_weights *w = NULL;
        TC_OK(ctx, clq_weights_pack(ctx, &bt, &qp, 0, &w));
        if (round == 0) {
            /* the memory is reused while still wrapped: pack must be done reading it */
            memset(b, 0x55, WN * WK);
            clq_buffer_destroy(bb);
        } else {
            clq_buffer_destroy(bb);
            unmap_pages(b, WN * WK); /* a read after this faults */
        }
        check_gemm_ones(ctx, w, round == 0 ? "weights overwritten after pack"
                                           : "weights freed after pack and destroy");
        clq_weights_destroy(w);
    }
}

/* A caller's cl_mem on its host memory (CL_MEM_USE_HOST_PTR), whose last reference is
 * the clq_buffer's: destroy waits as for clq_buffer_wrap_host. A sub-buffer of it too. */
Test(buffers, wrap_cl_host_ptr_destroy) {
    cl_context clc;
    cl_command_queue q;
    cl_device_id dev;
    clq_context *ctx = cl_ctx(&clc, &q, &dev);
    for (int sub = 0; sub < 2; sub++) {
        float *x = map_pages(4 * BIG);
        fill_x(x, BIG);
        cl_int err;
        cl_mem m = clCreateBuffer(clc, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, 4 * BIG, x, &err);
        cr_assert_eq(err, CL_SUCCESS);
        if (sub) {
            cl_buffer_region r = {0, 4 * BIG};
            cl_mem s = clCreateSubBuffer(m, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &err);
            cr_assert_eq(err, CL_SUCCESS);
            clReleaseMemObject(m);
            m = s;
        }
        clq_buffer *xb = wrap(ctx, m), *yb = tc_buffer(ctx, BIG, NULL);
        quantize_1d(ctx, xb, 0, yb, 0, BIG, 3);
        clq_buffer_destroy(xb);
        unmap_pages(x, 4 * BIG);
        TC_OK(ctx, clq_context_finish(ctx));
        int8_t *y = malloc(BIG);
        tc_read(yb, BIG, y);
        check_q(y, BIG, sub ? "USE_HOST_PTR sub-buffer freed after destroy"
                            : "USE_HOST_PTR cl_mem freed after destroy");
        free(y);
        clq_buffer_destroy(yb);
    }
    clq_context_destroy(ctx);
}

/* ---- item 9: what can be checked of a host range, and device_index alone ---- */

TC_BACKEND_TEST(buffers, wrap_host_impossible_ranges) {
    static uint64_t mem[8];
    clq_buffer *b = NULL;
    cr_assert_eq(clq_buffer_wrap_host(ctx, mem, SIZE_MAX, &b), CLQ_ERROR_INVALID_ARGUMENT,
                 "SIZE_MAX bytes were accepted");
    cr_assert(b == NULL);
    const char *msg = clq_context_error_message(ctx);
    cr_assert(tc_names(msg, "bytes") && tc_contains(msg, "PTRDIFF_MAX"), "message \"%s\"", msg);
    cr_assert_eq(clq_buffer_wrap_host(ctx, mem, (size_t)PTRDIFF_MAX + 1, &b),
                 CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert(b == NULL);
    /* a range that runs past the end of the address space (never dereferenced) */
    void *top = (void *)(UINTPTR_MAX - 15);
    cr_assert_eq(clq_buffer_wrap_host(ctx, top, 64, &b), CLQ_ERROR_INVALID_ARGUMENT,
                 "a range that wraps the address space was accepted");
    cr_assert(b == NULL);
    msg = clq_context_error_message(ctx);
    cr_assert(tc_contains(msg, "address space"), "message \"%s\"", msg);
    /* what can be true is accepted: the size is the caller's promise */
    TC_OK(ctx, clq_buffer_wrap_host(ctx, mem, sizeof mem, &b));
    cr_assert_eq(clq_buffer_size(b), sizeof mem);
    clq_buffer_destroy(b);
}

/* Every OpenCL device in platform order, as the library enumerates them. */
static cl_uint all_devices(cl_device_id *devs, cl_uint max) {
    cl_platform_id plats[16];
    cl_uint np = 0, total = 0;
    if (clGetPlatformIDs(16, plats, &np) != CL_SUCCESS) np = 0;
    if (np > 16) np = 16;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 32, devs + total, &nd) != CL_SUCCESS) nd = 0;
        if (nd > 32) nd = 32;
        total += nd;
        if (total + 32 > max) break;
    }
    return total;
}

Test(buffers, device_index_alone) {
    cl_device_id devs[16 * 32 + 32];
    cl_uint total = all_devices(devs, sizeof devs / sizeof devs[0]);
    if (total == 0) tc_skip_or_fail_no_opencl(CLQ_ERROR_NO_DEVICE, "no OpenCL device");
    unsetenv("CLQ_DEVICE");
    char why[512];
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_OPENCL;
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    o.cache_dir = getenv("CLQ_CACHE_DIR");
    o.error_buffer = why;
    o.error_buffer_size = sizeof why;
    /* device_index counts the devices of all platforms in order */
    for (cl_uint i = 0; i < total; i++) {
        o.device_index = (int)i;
        clq_context *ctx = NULL;
        why[0] = 0;
        clq_status st = clq_context_create(&o, &ctx);
        if (st == CLQ_ERROR_NO_DEVICE) { /* that device is not usable: the reason says so */
            cr_assert(why[0] != 0);
            continue;
        }
        cr_assert(st == CLQ_SUCCESS, "device_index %u: %s: %s", i, clq_status_string(st), why);
        cl_device_id d;
        TC_OK(ctx, clq_context_get_cl(ctx, NULL, NULL, &d));
        cr_assert(d == devs[i], "device_index %u alone did not pick device %u of all platforms", i, i);
        clq_context_destroy(ctx);
    }
    o.device_index = (int)total;
    clq_context *ctx = NULL;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_NO_DEVICE,
                 "device_index %u alone (of %u devices) was ignored", total, total);
    cr_assert(ctx == NULL);
    cr_assert(tc_contains(why, "device_index") && tc_contains(why, "out of range"), "reason \"%s\"",
              why);
}
