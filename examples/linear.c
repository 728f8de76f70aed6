/* linear.c: a quantized linear layer y = x W^T + b with clquant: W quantized per
 * output channel (s8, symmetric) and packed once; x quantized per call (u8,
 * ONNX DynamicQuantizeLinear) with its row sums; int8 GEMM to f32 with the bias.
 * Everything after the uploads stays on the device. Prints the error against f32. */
#include <clquant/clquant.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define M 8   /* tokens */
#define K 64  /* input features */
#define N 16  /* output features */

#define CHECK(call)                                                                     \
    do {                                                                                \
        clq_status st_ = (call);                                                        \
        if (st_ != CLQ_SUCCESS) {                                                       \
            fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #call,        \
                    clq_status_string(st_), ctx ? clq_context_error_message(ctx) : ""); \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

static clq_buffer *upload(clq_context *ctx, const void *data, size_t bytes) {
    clq_buffer *b = NULL;
    if (clq_buffer_create(ctx, bytes, &b) != CLQ_SUCCESS) return NULL;
    if (data && clq_buffer_write(b, 0, bytes, data) != CLQ_SUCCESS) {
        clq_buffer_destroy(b);
        return NULL;
    }
    return b;
}

int main(void) {
    static float x[M * K], w[N * K], bias[N], y[M * N];
    srand(1);
    for (int i = 0; i < M * K; i++) x[i] = (float)rand() / RAND_MAX * 4.0f - 1.0f;
    for (int i = 0; i < N * K; i++) w[i] = ((float)rand() / RAND_MAX - 0.5f) * (1 + i / K) / N;
    for (int n = 0; n < N; n++) bias[n] = 0.1f * (float)n;

    clq_context *ctx = NULL;
    CHECK(clq_context_create(NULL, &ctx));
    printf("device: %s\n", clq_context_device_name(ctx));
    clq_buffer *xb = upload(ctx, x, sizeof x), *wb = upload(ctx, w, sizeof w);
    clq_buffer *bb = upload(ctx, bias, sizeof bias), *yb = upload(ctx, NULL, sizeof y);
    clq_buffer *wq = upload(ctx, NULL, N * K), *wmin = upload(ctx, NULL, N * 4);
    clq_buffer *wmax = upload(ctx, NULL, N * 4), *wscale = upload(ctx, NULL, N * 4);
    clq_buffer *aq = upload(ctx, NULL, M * K), *ascale = upload(ctx, NULL, 4);
    clq_buffer *azp = upload(ctx, NULL, 4), *rowsums = upload(ctx, NULL, M * 4);
    if (!xb || !wb || !bb || !yb || !wq || !wmin || !wmax || !wscale || !aq || !ascale || !azp ||
        !rowsums) {
        fprintf(stderr, "buffer allocation failed\n");
        return 1;
    }

    /* Once: W -> s8 per output channel (axis 0), symmetric, then packed. */
    size_t wshape[2] = {N, K}, xshape[2] = {M, K}, yshape[2] = {M, N};
    clq_tensor wt, wqt, xt, at, yt;
    CHECK(clq_tensor_init(&wt, CLQ_F32, 2, wshape, wb));
    CHECK(clq_tensor_init(&wqt, CLQ_S8, 2, wshape, wq));
    clq_qparams wp;
    clq_qparams_init(&wp);
    wp.qtype = CLQ_S8;
    wp.granularity = CLQ_PER_AXIS;
    wp.axis = 0;
    wp.scheme = CLQ_SYMMETRIC;
    wp.scale = wscale;
    CHECK(clq_minmax(ctx, &wt, &wp, wmin, 0, wmax, 0));
    CHECK(clq_qparams_from_minmax(ctx, wmin, 0, wmax, 0, N, &wp));
    CHECK(clq_quantize(ctx, &wt, &wp, &wqt));
    clq_packed_weights *pw = NULL;
    CHECK(clq_weights_pack(ctx, &wqt, &wp, 0, &pw));

    /* Per call: x -> u8 + row sums, then the GEMM with the f32 stage and bias. */
    CHECK(clq_tensor_init(&xt, CLQ_F32, 2, xshape, xb));
    CHECK(clq_tensor_init(&at, CLQ_U8, 2, xshape, aq));
    CHECK(clq_tensor_init(&yt, CLQ_F32, 2, yshape, yb));
    clq_qparams ap;
    clq_qparams_init(&ap);
    ap.qtype = CLQ_U8;
    ap.scale = ascale;
    ap.zero_point = azp;
    CHECK(clq_quantize_dynamic_rowsums(ctx, &xt, &ap, &at, rowsums, 0));
    ap.flags |= CLQ_QPARAMS_TRUSTED; /* made on the device just now: no read-back */
    clq_gemm_options go;
    clq_gemm_options_init(&go);
    go.bias = bb;
    go.a_rowsums = rowsums;
    CHECK(clq_gemm(ctx, &at, &ap, pw, &go, &yt));
    CHECK(clq_buffer_read(yb, 0, sizeof y, y));

    double max_err = 0.0, max_ref = 0.0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double ref = bias[n];
            for (int k = 0; k < K; k++) ref += (double)x[m * K + k] * w[n * K + k];
            max_err = fmax(max_err, fabs(ref - y[m * N + n]));
            max_ref = fmax(max_ref, fabs(ref));
        }
    printf("y[0][0..3] = %.4f %.4f %.4f %.4f\n", y[0], y[1], y[2], y[3]);
    printf("max |y - y_f32| = %.5f (max |y_f32| = %.3f)\n", max_err, max_ref);

    clq_weights_destroy(pw);
    clq_buffer *all[] = {xb, wb, bb, yb, wq, wmin, wmax, wscale, aq, ascale, azp, rowsums};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clq_buffer_destroy(all[i]);
    clq_context_destroy(ctx);
    /* 8-bit activations and weights: a few percent of the output range at most. */
    return max_err <= 0.03 * max_ref ? 0 : 2;
}
