/* bench_linear.c: `clquant-bench linear`: clq_linear_forward (x f32 -> y f32, weights
 * quantized once) at M in {1, 16, 128}, K = N = 4096, s8 per channel and s4 per group of
 * 32, against the f32 GEMM of the same shape on the same device (OpenBLAS SGEMM on the
 * CPU path, CLBlast SGEMM on OpenCL: bench_gemm_peer.c), medians of several runs. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIN_N 4096
#define LIN_K 4096
#define LIN_NM 3
static const size_t lin_m[LIN_NM] = {1, 16, 128};

typedef struct lin_scheme {
    const char *name;
    clq_linear_scheme scheme;
    size_t group;
} lin_scheme;
static const lin_scheme lin_schemes[] = {{"s8 per channel", CLQ_LINEAR_S8_CHANNEL, 32},
                                         {"s4 per group of 32", CLQ_LINEAR_S4_GROUP, 32}};
#define LIN_NS (sizeof lin_schemes / sizeof lin_schemes[0])

typedef struct lin_run {
    clq_context *ctx;
    clq_linear *layer;
    clq_tensor x, y;
} lin_run;

static double forward_once(void *arg) {
    lin_run *r = arg;
    double t0 = bench_now();
    bench_check(r->ctx, clq_linear_forward(r->layer, &r->x, &r->y), "clq_linear_forward");
    bench_check(r->ctx, clq_context_finish(r->ctx), "clq_context_finish");
    return bench_now() - t0;
}

static double peer_once(void *p) { return bench_gemm_peer_once(p); }

/* max over sampled entries of |y - y_f32| / sum_k |x_k w_nk|: a wrong answer is no result. */
static double sampled_error(clq_context *ctx, const lin_run *r, size_t m, const float *x,
                            const float *w) {
    float *y = malloc(m * LIN_N * sizeof *y);
    if (!y) bench_die("out of host memory reading y");
    bench_check(ctx, clq_buffer_read(r->y.buffer, 0, m * LIN_N * 4, y), "clq_buffer_read(y)");
    double worst = 0.0;
    uint32_t s = 777;
    for (int i = 0; i < 16; i++) {
        size_t row = bench_random(&s) % m, n = bench_random(&s) % LIN_N;
        double ref = 0.0, mag = 0.0;
        for (size_t k = 0; k < LIN_K; k++) {
            double p = (double)x[row * LIN_K + k] * w[n * LIN_K + k];
            ref += p, mag += fabs(p);
        }
        double e = fabs(y[row * LIN_N + n] - ref) / (mag > 0 ? mag : 1);
        if (!(e <= 1.0)) bench_die("clq_linear_forward gave y[%zu][%zu] = %g, f32 %g", row, n,
                                   (double)y[row * LIN_N + n], ref);
        if (e > worst) worst = e;
    }
    free(y);
    return worst;
}

static void usage(FILE *f) {
    fprintf(f, "usage: clquant-bench linear [--backend auto|opencl|cpu] [--runs N] [--quick]\n"
               "  forward of a 4096 x 4096 layer at M = 1, 16, 128 (u8 activations per tensor, "
               "dynamic) against the f32 GEMM peer of the backend\n");
}

int bench_linear_main(int argc, char **argv, char **self) {
    bench_gemm_args a;
    memset(&a, 0, sizeof a);
    a.backend = CLQ_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--backend") && v) {
            a.backend = bench_parse_backend(v), a.backend_arg = v, i++;
        } else if (!strcmp(s, "--runs") && v) {
            char *end;
            long r = strtol(v, &end, 10);
            if (*end || r < 1 || r > GEMM_MAX_RUNS)
                bench_die("--runs wants an integer in [1, %d], got '%s'", GEMM_MAX_RUNS, v);
            a.runs = (int)r, i++;
        } else if (!strcmp(s, "--quick")) {
            a.quick = 1;
        } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            bench_die("unknown argument '%s'", s);
        }
    }
    bench_gemm_peer_environment(self);
    bench_apply_backend_arg(a.backend_arg, 0);
    clq_context *ctx = bench_context_create(a.backend);
    int opencl = clq_context_backend(ctx) == CLQ_BACKEND_OPENCL;
    bench_gemm_peer_kind pk = opencl ? GEMM_PEER_CLBLAST : GEMM_PEER_OPENBLAS;
    char load_before[32], load_after[32];
    bench_loadavg(load_before, sizeof load_before);

    /* the operands: W ~ N(0, 1) / 64 (scaled per row), x ~ N(0, 1), host and device */
    size_t mmax = lin_m[LIN_NM - 1];
    float *w = malloc((size_t)LIN_N * LIN_K * sizeof *w), *x = malloc(mmax * LIN_K * sizeof *x);
    uint8_t *pa = malloc(mmax * LIN_K);
    int8_t *pb = malloc((size_t)LIN_N * LIN_K);
    if (!w || !x || !pa || !pb) bench_die("out of host memory for the operands");
    uint32_t s = 2024;
    for (size_t i = 0; i < (size_t)LIN_N * LIN_K; i++) {
        w[i] = ((float)(bench_random(&s) % 20001) / 10000.0f - 1.0f) * (1.0f + (float)(i / LIN_K % 7)) / 64;
        pb[i] = (int8_t)(bench_random(&s) % 255 - 127);
    }
    for (size_t i = 0; i < mmax * LIN_K; i++) {
        x[i] = (float)(bench_random(&s) % 20001) / 5000.0f - 2.0f;
        pa[i] = (uint8_t)(bench_random(&s) % 256);
    }
    clq_buffer *wb = bench_upload(ctx, w, (size_t)LIN_N * LIN_K * 4, "weight");
    clq_buffer *xb = bench_upload(ctx, x, mmax * LIN_K * 4, "x");
    clq_buffer *yb = bench_upload(ctx, NULL, mmax * LIN_N * 4, "y");
    size_t wshape[2] = {LIN_N, LIN_K};
    clq_tensor wt;
    bench_check(ctx, clq_tensor_init(&wt, CLQ_F32, 2, wshape, wb), "clq_tensor_init");

    double sec[LIN_NS][LIN_NM], peer_sec[LIN_NM], err[LIN_NS][LIN_NM];
    int runs[LIN_NS][LIN_NM], peer_runs[LIN_NM];
    clq_linear_memory mem[LIN_NS];
    char peer_desc[PEER_DESC_SIZE] = "";
    for (size_t si = 0; si < LIN_NS; si++) {
        clq_linear_options o;
        clq_linear_options_init(&o);
        o.scheme = lin_schemes[si].scheme, o.group_size = lin_schemes[si].group;
        lin_run r = {ctx, NULL, {0}, {0}};
        fprintf(stderr, "linear %s: quantizing and packing W ...\n", lin_schemes[si].name);
        bench_check(ctx, clq_linear_create(ctx, &wt, &o, &r.layer), "clq_linear_create");
        for (size_t mi = 0; mi < LIN_NM; mi++) {
            size_t xs[2] = {lin_m[mi], LIN_K}, ys[2] = {lin_m[mi], LIN_N};
            clq_tensor_init(&r.x, CLQ_F32, 2, xs, xb);
            clq_tensor_init(&r.y, CLQ_F32, 2, ys, yb);
            fprintf(stderr, "linear %s M = %zu: runs ...\n", lin_schemes[si].name, lin_m[mi]);
            sec[si][mi] = bench_gemm_median_of(&a, forward_once, &r, &runs[si][mi]);
            err[si][mi] = sampled_error(ctx, &r, lin_m[mi], x, w);
        }
        mem[si].struct_size = sizeof mem[si];
        bench_check(ctx, clq_linear_get_memory(r.layer, &mem[si]), "clq_linear_get_memory");
        clq_linear_destroy(r.layer);
        bench_gemm_settle();
    }
    for (size_t mi = 0; mi < LIN_NM; mi++) {
        peer_sec[mi] = 0.0, peer_runs[mi] = 0;
        if (!bench_gemm_peer_built(pk)) continue;
        bench_gemm_shape ps = {lin_m[mi], LIN_N, LIN_K, pa, 128, pb, 0};
        fprintf(stderr, "linear M = %zu: %s: set-up, check and runs ...\n", lin_m[mi],
                bench_gemm_peer_name(pk));
        bench_gemm_peer *p = bench_gemm_peer_create(pk, ctx, &ps);
        snprintf(peer_desc, sizeof peer_desc, "%s", bench_gemm_peer_describe(p));
        peer_sec[mi] = bench_gemm_median_of(&a, peer_once, p, &peer_runs[mi]);
        bench_gemm_peer_destroy(p);
        bench_gemm_settle();
    }
    bench_loadavg(load_after, sizeof load_after);

    bench_print_header(ctx, a.backend_arg);
    printf("- section: quantized linear layer, y = x W^T + b without bias, x f32 [M, %d], W f32 "
           "[%d, %d] quantized and packed once by clq_linear_create; activations u8 affine per "
           "tensor, dynamic (min/max, qparams, quantize, GEMM to f32: one clq_linear_forward)\n",
           LIN_K, LIN_N, LIN_K);
    bench_gemm_print_environment();
    printf("- timing: median of the runs column after a warm-up, wall clock around "
           "clq_linear_forward + clq_context_finish; the peer in its own block\n");
    if (peer_desc[0]) printf("- peer: %s, f32 [M, K] x [N, K]^T (same shape, f32 operands)\n", peer_desc);
    else printf("- peer: %s not found at build time\n", bench_gemm_peer_name(pk));
    printf("- speed-up: peer time / layer time (> 1: the quantized layer is faster); error: max over "
           "16 sampled outputs of |y - y_f32| / sum_k |x_k w_nk|\n");
    for (size_t si = 0; si < LIN_NS; si++)
        printf("- memory, %s: float %zu bytes, quantized %zu, held by the backend %zu (after the "
               "calls)\n", lin_schemes[si].name, mem[si].float_bytes, mem[si].quantized_bytes,
               mem[si].packed_bytes);
    printf("\n| M | weights | layer ms | runs | f32 GEMM ms | runs | speed-up | error |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t mi = 0; mi < LIN_NM; mi++)
        for (size_t si = 0; si < LIN_NS; si++) {
            printf("| %zu | %s | %.3f | %d | ", lin_m[mi], lin_schemes[si].name, sec[si][mi] * 1e3,
                   runs[si][mi]);
            if (peer_sec[mi] > 0)
                printf("%.3f | %d | %.2fx | %.1e |\n", peer_sec[mi] * 1e3, peer_runs[mi],
                       peer_sec[mi] / sec[si][mi], err[si][mi]);
            else
                printf("- | - | - | %.1e |\n", err[si][mi]);
        }
    printf("\n1-min load average before: %s, after: %s\n", load_before, load_after);
    clq_buffer_destroy(wb), clq_buffer_destroy(xb), clq_buffer_destroy(yb);
    free(w), free(x), free(pa), free(pb);
    clq_context_destroy(ctx);
    return 0;
}
