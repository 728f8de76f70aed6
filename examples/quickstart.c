/* quickstart.c: the whole clquant device path in one small program: per-channel
 * (per-axis) s8 quantization of a float tensor, then back to float.
 * Build: cc quickstart.c $(pkg-config --cflags --libs clquant), or examples/CMakeLists.txt. */
#include <clquant/clquant.h>

#include <stdio.h>

#define ROWS 4 /* channels: one scale and zero point each (axis 0) */
#define COLS 6

/* Own helpers, so the program needs no libm (pkg-config --libs gives only -lclquant). */
static float abs_diff(float a, float b) { return a > b ? a - b : b - a; }

/* Every call returns a status; on failure print it with the context's message and clean up. */
#define CHECK(call)                                                                     \
    do {                                                                                \
        clq_status st_ = (call);                                                        \
        if (st_ != CLQ_SUCCESS) {                                                       \
            fprintf(stderr, "%s failed: %s: %s\n", #call, clq_status_string(st_),       \
                    ctx ? clq_context_error_message(ctx) : "");                         \
            goto done;                                                                  \
        }                                                                               \
    } while (0)

int main(void) {
    int rc = 1;
    clq_context *ctx = NULL;
    clq_buffer *x_buf = NULL, *q_buf = NULL, *y_buf = NULL;
    clq_buffer *min_buf = NULL, *max_buf = NULL, *scale_buf = NULL, *zp_buf = NULL;

    float x[ROWS * COLS], y[ROWS * COLS], scale[ROWS];
    for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)((i * 37) % 23 - 9) * 0.25f * (float)(i / COLS + 1);

    /* 1. A context on the default device: the first usable OpenCL device, else the CPU path.
     *    CLQ_BACKEND / CLQ_DEVICE / CLQ_CACHE_DIR in the environment override the defaults. */
    char why[512] = "";
    clq_context_options opt;
    clq_context_options_init(&opt);
    opt.backend = CLQ_BACKEND_AUTO;
    opt.error_buffer = why; /* creation failures are explained here: no context exists yet */
    opt.error_buffer_size = sizeof why;
    clq_status st = clq_context_create(&opt, &ctx);
    if (st != CLQ_SUCCESS) {
        fprintf(stderr, "clq_context_create failed: %s: %s\n", clq_status_string(st), why);
        return 1;
    }
    const char *fallback = clq_context_fallback_reason(ctx);
    printf("clquant %s on %s\n", clq_version_string(), clq_context_device_name(ctx));
    printf("fallback: %s\n", fallback[0] ? fallback : "none");

    /* 2. Buffers (device memory; host memory on the CPU path) and tensor views of them. */
    size_t shape[2] = {ROWS, COLS};
    clq_tensor xt, qt, yt;
    CHECK(clq_buffer_create(ctx, sizeof x, &x_buf));
    CHECK(clq_buffer_create(ctx, ROWS * COLS, &q_buf)); /* s8: one byte per element */
    CHECK(clq_buffer_create(ctx, sizeof y, &y_buf));
    CHECK(clq_buffer_write(x_buf, 0, sizeof x, x));
    CHECK(clq_tensor_init(&xt, CLQ_F32, 2, shape, x_buf));
    CHECK(clq_tensor_init(&qt, CLQ_S8, 2, shape, q_buf));
    CHECK(clq_tensor_init(&yt, CLQ_F32, 2, shape, y_buf));

    /* 3. Per-axis parameters: one (scale, zero point) per row, chosen on the device. */
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.granularity = CLQ_PER_AXIS;
    qp.axis = 0;
    qp.scheme = CLQ_AFFINE;
    size_t count = 0;
    CHECK(clq_qparams_count(&qp, 2, shape, &count)); /* == ROWS */
    CHECK(clq_buffer_create(ctx, count * sizeof(float), &min_buf));
    CHECK(clq_buffer_create(ctx, count * sizeof(float), &max_buf));
    CHECK(clq_buffer_create(ctx, count * sizeof(float), &scale_buf));
    CHECK(clq_buffer_create(ctx, count * sizeof(int32_t), &zp_buf)); /* zero points are int32 */
    qp.scale = scale_buf;
    qp.zero_point = zp_buf;
    CHECK(clq_minmax(ctx, &xt, &qp, min_buf, 0, max_buf, 0));
    CHECK(clq_qparams_from_minmax(ctx, min_buf, 0, max_buf, 0, count, &qp));
    /* The library made these values, so skip the read-back check of them. */
    qp.flags |= CLQ_QPARAMS_TRUSTED;

    /* 4. Quantize to s8 and back; everything so far stayed on the device. */
    CHECK(clq_quantize(ctx, &xt, &qp, &qt));
    CHECK(clq_dequantize(ctx, &qt, &qp, &yt));
    CHECK(clq_buffer_read(y_buf, 0, sizeof y, y)); /* blocking: waits for the ops before it */
    CHECK(clq_buffer_read(scale_buf, 0, sizeof scale, scale));

    /* 5. Round-to-nearest: each error is at most half of its row's scale. */
    float max_err = 0.0f;
    int ok = 1;
    for (int r = 0; r < ROWS; r++) {
        float row_err = 0.0f;
        for (int c = 0; c < COLS; c++) {
            float e = abs_diff(y[r * COLS + c], x[r * COLS + c]);
            if (e > row_err) row_err = e;
        }
        printf("row %d: scale %g, max abs error %g\n", r, (double)scale[r], (double)row_err);
        ok &= row_err <= scale[r] * 0.5f * 1.0001f;
        if (row_err > max_err) max_err = row_err;
    }
    printf("max abs error: %g (%s)\n", (double)max_err, ok ? "within scale/2" : "TOO LARGE");
    rc = ok ? 0 : 1;

done:
    clq_buffer_destroy(x_buf); /* destroy(NULL) does nothing */
    clq_buffer_destroy(q_buf);
    clq_buffer_destroy(y_buf);
    clq_buffer_destroy(min_buf);
    clq_buffer_destroy(max_buf);
    clq_buffer_destroy(scale_buf);
    clq_buffer_destroy(zp_buf);
    clq_context_destroy(ctx);
    return rc;
}
