/* bench_calib.c: `clquant-bench --ops histogram`: the calibration histogram over the
 * bench's f32 tensor (f16 / bf16 too), the device op alone and one batch added to a
 * histogram state (op, read back, merge: what a histogram calibrator pays per batch),
 * and clq_calibrator_observe (min/max pass + histogram), each against the same-run
 * copy peer. The op is internal (host/calib_hist.h, until the
 * calibrator's public observe exists), so clquant-bench links the static library. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_hist.h"

#define HIST_MAX_RUNS 64
#define HIST_FILL 262144

typedef struct hist_row {
    const char *what;
    clq_dtype t;
    int absolute;
    int add; /* 1: clq__hist_add on a state; 2: clq_calibrator_observe (PERCENTILE or L2);
                0: the op alone */
} hist_row;

static const hist_row rows[] = {
    {"op", CLQ_F32, 1, 0},      {"op", CLQ_F32, 0, 0},      {"op", CLQ_F16, 1, 0},
    {"op", CLQ_BF16, 1, 0},     {"add", CLQ_F32, 1, 1},     {"add", CLQ_F32, 0, 1},
    {"observe", CLQ_F32, 1, 2}, {"observe", CLQ_F32, 0, 2},
};
#define NROWS (sizeof rows / sizeof rows[0])

static clq_buffer *make(clq_context *ctx, size_t bytes) {
    clq_buffer *b = NULL;
    bench_check(ctx, clq_buffer_create(ctx, bytes, &b), "clq_buffer_create (histogram bench)");
    return b;
}

/* Gaussian-like values (sum of four uniforms), scale 1: a narrow distribution, most
 * elements in a few hundred of the 2048 bins, the increments' worst case. */
static void fill(clq_context *ctx, clq_buffer *x32, clq_buffer *x16, clq_buffer *xbf, size_t n) {
    float *f = malloc(HIST_FILL * sizeof *f);
    uint16_t *h = malloc(HIST_FILL * sizeof *h), *b = malloc(HIST_FILL * sizeof *b);
    if (!f || !h || !b) bench_die("out of host memory filling the histogram bench");
    uint32_t s = 0x9e3779b9u;
    for (size_t base = 0; base < n; base += HIST_FILL) {
        size_t len = n - base < HIST_FILL ? n - base : HIST_FILL;
        for (size_t i = 0; i < len; i++) {
            float u = 0;
            for (int k = 0; k < 4; k++) u += (float)(bench_random(&s) >> 8) * (1.0f / 16777216.0f);
            f[i] = (u - 2.0f) * 1.7f;
            uint32_t bits;
            memcpy(&bits, &f[i], sizeof bits);
            b[i] = (uint16_t)(bits >> 16);
            /* f16 by truncating the mantissa: exactness is not what is measured here */
            uint32_t e = (bits >> 23) & 0xff;
            h[i] = (uint16_t)(((bits >> 16) & 0x8000u) |
                              (e < 113 ? 0 : (((e - 112) << 10) | ((bits >> 13) & 0x3ffu))));
        }
        bench_check(ctx, clq_buffer_write(x32, base * 4, len * 4, f), "clq_buffer_write");
        bench_check(ctx, clq_buffer_write(x16, base * 2, len * 2, h), "clq_buffer_write");
        bench_check(ctx, clq_buffer_write(xbf, base * 2, len * 2, b), "clq_buffer_write");
    }
    free(f), free(h), free(b);
}

typedef struct hist_case {
    clq_context *ctx;
    const hist_row *r;
    clq_histogram_op op;
    clq_hist state;
    clq_calibrator *cal;
    clq_tensor x;
} hist_case;

static void once(hist_case *c) {
    clq_status st;
    if (c->r->add == 2) {
        st = clq_calibrator_observe(c->cal, &c->x);
    } else if (c->r->add) {
        st = clq__hist_add(c->ctx, &c->state, c->op.xtype, c->op.x, c->op.n, c->op.absolute ? 0.0f : -7.0f,
                           7.0f, CLQ_PASS_PREPARE);
        if (st == CLQ_SUCCESS)
            st = clq__hist_add(c->ctx, &c->state, c->op.xtype, c->op.x, c->op.n,
                               c->op.absolute ? 0.0f : -7.0f, 7.0f, CLQ_PASS_RUN);
    } else {
        st = c->ctx->ops->histogram(c->ctx, &c->op, CLQ_PASS_PREPARE);
        if (st == CLQ_SUCCESS) st = c->ctx->ops->histogram(c->ctx, &c->op, CLQ_PASS_RUN);
    }
    bench_check(c->ctx, st, c->r->add == 2 ? "clq_calibrator_observe" : c->r->add ? "clq__hist_add" : "histogram op");
    bench_check(c->ctx, clq_context_finish(c->ctx), "clq_context_finish");
}

int bench_calib_section(clq_context *ctx, size_t size_mib, int runs) {
    enum { NB = 2048 };
    size_t n = size_mib * ((size_t)1 << 20) / 4;
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    char load0[32], load1[32];
    bench_loadavg(load0, sizeof load0);
    if (runs > HIST_MAX_RUNS) runs = HIST_MAX_RUNS;
    printf("\n## histogram (calibration)\n\n");
    printf("- %zu MiB f32 tensor = %zu elements (f16/bf16 rows: the same count), values ~ N(0, 1.2) "
           "as a sum of four uniforms, %d bins over [0, 7] (|x|) or [-7, 7]\n", size_mib, n, NB);
    printf("- op: the backend's histogram op (uint32 counts on the device); add: clq__hist_add on a "
           "state whose range already fits (op + read back + merge into the uint64 state); observe: "
           "clq_calibrator_observe (PERCENTILE for |x|, L2 for x; the batch's min/max pass, then the "
           "histogram: the tensor is read twice, and bytes count it once)\n");
    printf("- timing: median of %d runs after 1 warm-up, op and peer copy alternating; GB/s = input "
           "bytes read + counts written / s; peer copies half of that (read + written match)\n", runs);
    fprintf(stderr, "[setup] histogram bench: allocating and filling %zu MiB ...\n", size_mib);
    clq_buffer *x32 = make(ctx, n * 4), *y = make(ctx, n * 4), *x16 = make(ctx, n * 2),
               *xbf = make(ctx, n * 2), *counts = make(ctx, NB * 4);
    fill(ctx, x32, x16, xbf, n);
    bench_peer *peer = bench_peer_create(ctx, x32, y, n * 4, threads);
    printf("- peer: %s\n\n", bench_peer_describe(peer));
    printf("| histogram | dtype | |x| | time | GB/s | peer GB/s | ratio | goal | result |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    int pass = 0, miss = 0;
    for (size_t i = 0; i < NROWS; i++) {
        const hist_row *r = &rows[i];
        hist_case c = {ctx, r, {0}, {0}, NULL, {0}};
        clq_buffer *x = r->t == CLQ_F32 ? x32 : r->t == CLQ_F16 ? x16 : xbf;
        float lo = r->absolute ? 0.0f : -7.0f;
        c.op = (clq_histogram_op){r->t, {x, 0}, n, r->absolute, lo, (float)NB / (7.0f - lo), NB, {counts, 0}};
        if (r->add == 1 && clq__hist_init(&c.state, NB, r->absolute) != CLQ_SUCCESS)
            bench_die("clq__hist_init");
        if (r->add == 2) {
            clq_calibrator_options co;
            clq_calibrator_options_init(&co);
            co.method = r->absolute ? CLQ_CALIB_PERCENTILE : CLQ_CALIB_L2;
            co.bins = NB;
            bench_check(ctx, clq_calibrator_create(ctx, &co, &c.cal), "clq_calibrator_create");
            size_t shape[1] = {n};
            bench_check(ctx, clq_tensor_init(&c.x, CLQ_F32, 1, shape, x32), "clq_tensor_init");
        }
        size_t bytes = n * (r->t == CLQ_F32 ? 4 : 2) + NB * 4, copy = (bytes / 2) & ~(size_t)15;
        double t[HIST_MAX_RUNS], tp[HIST_MAX_RUNS];
        once(&c);
        bench_peer_once(peer, copy);
        for (int k = 0; k < runs; k++) {
            double t0 = bench_now();
            once(&c);
            t[k] = bench_now() - t0;
            tp[k] = bench_peer_once(peer, copy);
        }
        double sec = bench_median(t, runs), psec = bench_median(tp, runs);
        double gbs = (double)bytes / sec * 1e-9, pgbs = 2.0 * (double)copy / psec * 1e-9;
        /* the goal is the f32 tensor's op; half-width inputs cost the same increments per
         * element for half the bytes, and observe reads the tensor twice: reported only */
        int goal = r->t == CLQ_F32 && r->add < 2, ok = gbs / pgbs >= 0.5;
        pass += goal && ok, miss += goal && !ok;
        printf("| %s | %s | %s | %.2f ms | %.2f GB/s | %.2f GB/s | %.3fx | %s | %s |\n", r->what,
               clq_dtype_name(r->t), r->absolute ? "yes" : "no", sec * 1e3, gbs, pgbs, gbs / pgbs,
               goal ? ">= 0.50x copy" : "-", !goal ? "-" : ok ? "PASS" : "MISS");
        if (r->add == 1) clq__hist_free(&c.state);
        clq_calibrator_destroy(c.cal);
    }
    printf("\nhistogram goals: %d PASS, %d MISS (1-min load average before: %s, after: %s)\n", pass, miss,
           load0, bench_loadavg(load1, sizeof load1));
    bench_peer_destroy(peer);
    clq_buffer_destroy(x32), clq_buffer_destroy(y), clq_buffer_destroy(x16), clq_buffer_destroy(xbf);
    clq_buffer_destroy(counts);
    return 0;
}
