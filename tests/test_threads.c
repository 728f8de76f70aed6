/* test_threads.c: one context shared by several threads (every call is serialised
 * by the context's lock), and separate contexts used side by side. Each thread
 * checks its own results against tests/ref and counts mismatches; the main
 * thread asserts (Criterion's asserts belong to the test's own thread). */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, ITERS = 16, ROWS = 211, COLS = 307 };

typedef struct worker {
    clq_context *ctx;
    int id;
    atomic_int *bad;   /* wrong results */
    atomic_int *fails; /* calls that returned an error */
    char msg[256];     /* the first error message seen */
} worker;

/* Dynamic u8 quantization of a transposed (strided) view, so that the input is
 * staged through scratch and min/max goes through scratch too: the parts a
 * second thread would race on without the lock. */
static void dynamic_round(worker *w, tc_rng *r) {
    size_t n = ROWS * COLS, shape[2] = {COLS, ROWS};
    float *x = malloc(n * sizeof *x);
    uint8_t *y = malloc(n);
    for (size_t i = 0; i < n; i++) x[i] = tc_rng_range(r, -5.0f - (float)w->id, 3.0f + (float)w->id);
    clq_buffer *xb = NULL, *yb = NULL, *sb = NULL, *zb = NULL;
    clq_status st = clq_buffer_create(w->ctx, n * 4, &xb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(w->ctx, n, &yb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(w->ctx, 4, &sb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(w->ctx, 4, &zb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(xb, 0, n * 4, x);
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
    xt.strides[0] = 1, xt.strides[1] = COLS; /* x is [ROWS][COLS] read as [COLS][ROWS] */
    clq_tensor_init(&yt, CLQ_U8, 2, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_U8;
    qp.scale = sb;
    qp.zero_point = zb;
    if (st == CLQ_SUCCESS) st = clq_quantize_dynamic(w->ctx, &xt, &qp, &yt);
    float s = 0.0f;
    int32_t z = 0;
    if (st == CLQ_SUCCESS) st = clq_buffer_read(sb, 0, 4, &s);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(zb, 0, 4, &z);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(yb, 0, n, y);
    if (st != CLQ_SUCCESS) {
        if (atomic_fetch_add(w->fails, 1) == 0)
            snprintf(w->msg, sizeof w->msg, "%s: %s", clq_status_string(st),
                     clq_context_error_message(w->ctx));
    } else {
        float mn = x[0], mx = x[0];
        for (size_t i = 1; i < n; i++) mn = x[i] < mn ? x[i] : mn, mx = x[i] > mx ? x[i] : mx;
        float rs;
        int32_t rz;
        ref_qparams(mn, mx, CLQ_AFFINE, CLQ_U8, 0, &rs, &rz);
        int wrong = ref_f32_bits(rs) != ref_f32_bits(s) || rz != z;
        for (size_t c = 0; c < COLS && !wrong; c++)
            for (size_t rr = 0; rr < ROWS && !wrong; rr++)
                wrong = y[c * ROWS + rr] !=
                        ref_quantize_one(x[rr * COLS + c], rs, rz, 0, 255, CLQ_ROUND_HALF_EVEN, 0);
        if (wrong) atomic_fetch_add(w->bad, 1);
    }
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    free(x);
    free(y);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    tc_rng r;
    tc_rng_seed(&r, 1000u + (uint64_t)w->id);
    for (int i = 0; i < ITERS; i++) dynamic_round(w, &r);
    return NULL;
}

/* Runs THREADS workers on the given contexts (one shared, or one each). */
static void run_workers(clq_context **ctxs, const char *what) {
    atomic_int bad = 0, fails = 0;
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){ctxs[i], i, &bad, &fails, ""};
        cr_assert(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    const char *msg = "";
    for (int i = 0; i < THREADS; i++)
        if (w[i].msg[0]) msg = w[i].msg;
    cr_assert(atomic_load(&fails) == 0, "%s: %d of %d calls failed (%s)", what, atomic_load(&fails),
              THREADS * ITERS, msg);
    cr_assert(atomic_load(&bad) == 0, "%s: %d of %d results differ from tests/ref", what,
              atomic_load(&bad), THREADS * ITERS);
}

TC_BACKEND_TEST(threads, one_context_shared) {
    clq_context *ctxs[THREADS];
    for (int i = 0; i < THREADS; i++) ctxs[i] = ctx;
    run_workers(ctxs, "one context, 4 threads");
}

TC_BACKEND_TEST(threads, separate_contexts) {
    clq_context *ctxs[THREADS];
    ctxs[0] = ctx;
    for (int i = 1; i < THREADS; i++) ctxs[i] = tc_context(clq_context_backend(ctx));
    run_workers(ctxs, "4 contexts, 4 threads");
    for (int i = 1; i < THREADS; i++) clq_context_destroy(ctxs[i]);
}
