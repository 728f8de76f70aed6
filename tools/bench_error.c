/* bench_error.c: `clquant-bench --ops error`: clq_tensor_error and clq_quantization_error
 * on the working f32 tensor, each against the same-run peer copy of as many bytes (read
 * + written) as the call reads; goal 0.8x (issue 11). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERROR_GOAL 0.8
#define MAX_ERR_RUNS 64

typedef struct err_row {
    const char *what;
    int quant;             /* 0: x against y */
    clq_dtype qtype;
    clq_granularity qgran; /* quantization rows */
    int qaxis;
    size_t block;
    clq_scheme scheme;
    clq_granularity sgran; /* the statistics' */
} err_row;

/* The symmetric s4 blocks are the weights' case: each block's extreme lands on a tie
 * (amax / scale = 7.5). */
static const err_row rows[] = {
    {"tensor", 0, CLQ_S8, CLQ_PER_TENSOR, 0, 0, CLQ_AFFINE, CLQ_PER_TENSOR},
    {"tensor", 0, CLQ_S8, CLQ_PER_TENSOR, 0, 0, CLQ_AFFINE, CLQ_PER_AXIS},
    {"quantization", 1, CLQ_S8, CLQ_PER_TENSOR, 0, 0, CLQ_AFFINE, CLQ_PER_TENSOR},
    {"quantization", 1, CLQ_U8, CLQ_PER_AXIS, 0, 0, CLQ_AFFINE, CLQ_PER_TENSOR},
    {"quantization", 1, CLQ_S4, CLQ_PER_BLOCK, -1, 32, CLQ_AFFINE, CLQ_PER_TENSOR},
    {"quantization", 1, CLQ_S4, CLQ_PER_BLOCK, -1, 32, CLQ_SYMMETRIC, CLQ_PER_TENSOR},
    {"quantization", 1, CLQ_S8, CLQ_PER_AXIS, 0, 0, CLQ_AFFINE, CLQ_PER_AXIS},
};
#define NROWS (sizeof rows / sizeof rows[0])

typedef struct err_call {
    clq_context *ctx;
    const err_row *r;
    clq_tensor x, y;
    clq_qparams qp;
    clq_error_options o;
    clq_error_stats *out;
    size_t count;
} err_call;

static void call_once(err_call *c) {
    clq_status st = c->r->quant
                        ? clq_quantization_error(c->ctx, &c->x, &c->qp, &c->o, c->out, c->count)
                        : clq_tensor_error(c->ctx, &c->x, &c->y, &c->o, c->out, c->count);
    bench_check(c->ctx, st, c->r->quant ? "clq_quantization_error" : "clq_tensor_error");
}

void bench_error_section(clq_context *ctx, clq_buffer *x32, clq_buffer *y32, clq_buffer *q,
                         size_t nrows, size_t ncols, bench_peer *peer, size_t peer_max, int runs) {
    size_t shape[2] = {nrows, ncols}, n = nrows * ncols;
    if (runs > MAX_ERR_RUNS) runs = MAX_ERR_RUNS;
    printf("\n## error metrics (issue 11): bytes read per second against the peer copy of as many "
           "bytes (read + written)\n\n");
    printf("- y of the tensor rows: dequantize(quantize(x)) per tensor s8, made once beforehand\n");
    printf("- quantization rows read x and the parameters (CLQ_QPARAMS_TRUSTED), never write a tensor\n\n");
    printf("| call | qparams | stats | time | GB/s read | peer GB/s | ratio | goal | result |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    int pass = 0, miss = 0;
    for (size_t i = 0; i < NROWS; i++) {
        const err_row *r = &rows[i];
        err_call c;
        memset(&c, 0, sizeof c);
        c.ctx = ctx;
        c.r = r;
        bench_check(ctx, clq_tensor_init(&c.x, CLQ_F32, 2, shape, x32), "clq_tensor_init(x)");
        bench_check(ctx, clq_tensor_init(&c.y, CLQ_F32, 2, shape, y32), "clq_tensor_init(y)");
        clq_qparams_init(&c.qp);
        c.qp.qtype = r->qtype;
        c.qp.granularity = r->quant ? r->qgran : CLQ_PER_TENSOR;
        c.qp.axis = r->qaxis;
        c.qp.block_size = r->block;
        c.qp.scheme = r->scheme;
        size_t np = 0;
        bench_check(ctx, clq_qparams_count(&c.qp, 2, shape, &np), "clq_qparams_count");
        clq_buffer *mn = bench_upload(ctx, NULL, np * 4, "min"), *mx = bench_upload(ctx, NULL, np * 4, "max");
        c.qp.scale = bench_upload(ctx, NULL, np * 4, "scale");
        c.qp.zero_point = bench_upload(ctx, NULL, np * 4, "zero point");
        bench_check(ctx, clq_minmax(ctx, &c.x, &c.qp, mn, 0, mx, 0), "clq_minmax");
        bench_check(ctx, clq_qparams_from_minmax(ctx, mn, 0, mx, 0, np, &c.qp), "clq_qparams_from_minmax");
        if (!r->quant) { /* y: x through per-tensor s8, a realistic pair */
            clq_tensor qt;
            bench_check(ctx, clq_tensor_init(&qt, CLQ_S8, 2, shape, q), "clq_tensor_init(q)");
            bench_check(ctx, clq_quantize(ctx, &c.x, &c.qp, &qt), "clq_quantize");
            bench_check(ctx, clq_dequantize(ctx, &qt, &c.qp, &c.y), "clq_dequantize");
        }
        c.qp.flags = CLQ_QPARAMS_TRUSTED;
        bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
        clq_error_options_init(&c.o);
        c.o.granularity = r->sgran;
        c.count = r->sgran == CLQ_PER_AXIS ? nrows : 1;
        c.out = malloc(c.count * sizeof *c.out);
        if (!c.out) bench_die("out of host memory");
        size_t bytes = (r->quant ? 4 * n + 8 * np : 8 * n), copy = (bytes / 2) & ~(size_t)15;
        if (copy > peer_max) copy = peer_max & ~(size_t)15;
        double t[MAX_ERR_RUNS], tp[MAX_ERR_RUNS];
        call_once(&c);
        bench_peer_once(peer, copy);
        for (int k = 0; k < runs; k++) {
            double t0 = bench_now();
            call_once(&c);
            t[k] = bench_now() - t0;
            tp[k] = bench_peer_once(peer, copy);
        }
        double sec = bench_median(t, runs), psec = bench_median(tp, runs);
        double gbs = (double)bytes / sec * 1e-9, pgbs = 2.0 * (double)copy / psec * 1e-9;
        double ratio = gbs / pgbs;
        char qtext[48];
        if (!r->quant) snprintf(qtext, sizeof qtext, "- (f32 y)");
        else if (r->qgran == CLQ_PER_TENSOR) snprintf(qtext, sizeof qtext, "%s per tensor", clq_dtype_name(r->qtype));
        else if (r->qgran == CLQ_PER_AXIS) snprintf(qtext, sizeof qtext, "%s per axis %d", clq_dtype_name(r->qtype), r->qaxis);
        else snprintf(qtext, sizeof qtext, "%s per block %zu%s", clq_dtype_name(r->qtype), r->block,
                      r->scheme == CLQ_SYMMETRIC ? " symmetric" : "");
        int ok = ratio >= ERROR_GOAL;
        pass += ok;
        miss += !ok;
        printf("| %s | %s | %s | %.2f ms | %.2f | %.2f | %.3fx | >= %.1fx copy | %s |\n", r->what, qtext,
               r->sgran == CLQ_PER_AXIS ? "per axis 0" : "per tensor", sec * 1e3, gbs, pgbs, ratio,
               ERROR_GOAL, ok ? "PASS" : "MISS");
        fflush(stdout);
        free(c.out);
        clq_buffer_destroy(mn);
        clq_buffer_destroy(mx);
        clq_buffer_destroy(c.qp.scale);
        clq_buffer_destroy(c.qp.zero_point);
    }
    char load[32];
    printf("\nerror goals: %d PASS, %d MISS (1-min load average after: %s)\n", pass, miss,
           bench_loadavg(load, sizeof load));
}
