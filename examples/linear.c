/* linear.c: a quantized linear layer y = x W^T + b with clquant's clq_linear: W
 * quantized per output channel (s8, symmetric) and packed once at creation; each
 * forward quantizes x (u8, ONNX DynamicQuantizeLinear) and runs the int8 GEMM to f32
 * with the bias, all on the device. Prints the error against f32. */
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
    if (!xb || !wb || !bb || !yb) {
        fprintf(stderr, "buffer allocation failed\n");
        return 1;
    }

    /* Once: the layer quantizes W and copies the bias (W's buffer may go after). */
    size_t wshape[2] = {N, K}, xshape[2] = {M, K}, yshape[2] = {M, N};
    clq_tensor wt, xt, yt;
    CHECK(clq_tensor_init(&wt, CLQ_F32, 2, wshape, wb));
    clq_linear_options lo;
    clq_linear_options_init(&lo); /* s8 per channel, u8 per tensor, dynamic */
    lo.bias = bb;
    clq_linear *layer = NULL;
    CHECK(clq_linear_create(ctx, &wt, &lo, &layer));

    /* Per call: one forward, nothing read back until y. */
    CHECK(clq_tensor_init(&xt, CLQ_F32, 2, xshape, xb));
    CHECK(clq_tensor_init(&yt, CLQ_F32, 2, yshape, yb));
    CHECK(clq_linear_forward(layer, &xt, &yt));
    CHECK(clq_buffer_read(yb, 0, sizeof y, y));

    clq_linear_memory mem = {.struct_size = sizeof mem};
    CHECK(clq_linear_get_memory(layer, &mem));
    printf("weights: %zu bytes as f32, %zu quantized, %zu held by the backend\n",
           mem.float_bytes, mem.quantized_bytes, mem.packed_bytes);

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

    clq_linear_destroy(layer);
    clq_buffer *all[] = {xb, wb, bb, yb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) clq_buffer_destroy(all[i]);
    clq_context_destroy(ctx);
    /* 8-bit activations and weights: a few percent of the output range at most. */
    return max_err <= 0.03 * max_ref ? 0 : 2;
}
