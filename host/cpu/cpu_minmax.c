/* cpu_minmax.c: the min/max op on the CPU, a reduction on the generic driver
 * (cpu_elementwise.h: each pair has one owner, or slices' partial pairs are merged
 * at the end; min/max are order-independent once -0.0/+0.0 ties are written as
 * +0.0, so the split never changes the bits), and its portable kernels. SIMD
 * kernels are in cpu_minmax_simd.c. */
#include <math.h>

#include "cpu_convert.h"
#include "cpu_elementwise.h"

static void mk_run(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    for (size_t j = 0; j < n; j++) clq__minmax_one(clq__load_float(xt, x, j), mn, mx);
}

static void mk_vec(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    for (size_t j = 0; j < n; j++) clq__minmax_one(clq__load_float(xt, x, j), mn + j, mx + j);
}

static void mk_rows(clq_dtype xt, const void *x, size_t n, size_t nrows, float *mn, float *mx) {
    for (size_t r = 0; r < nrows; r++) mk_vec(xt, (const char *)x + r * n * clq__cpu_dtype_size(xt), n, mn, mx);
}

static void mk_blocks(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn, float *mx,
                      int stream) {
    (void)stream;
    size_t xs = clq__cpu_dtype_size(xt);
    for (size_t b = 0; b < nblk; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
        mk_run(xt, (const char *)x + b * block * xs, block, mn + b, mx + b);
        clq__minmax_finish(mn + b, mx + b);
    }
}

static void mk_finish(float *mn, float *mx, size_t n) {
    for (size_t i = 0; i < n; i++) clq__minmax_finish(mn + i, mx + i);
}

const clq_cpu_mmkernels clq__cpu_mmk_portable = {mk_run, mk_vec, mk_rows, mk_blocks, mk_finish};

/* ---- the driver's side: accumulator arrays v[0] = min, v[1] = max ---------- */

#define MMK(j) ((const clq_cpu_mmkernels *)(j)->k)
#define MN(a, p) ((float *)(a)->v[0] + (p))
#define MX(a, p) ((float *)(a)->v[1] + (p))

static void mm_run(const clq_cpu_red_job *j, const void *x, size_t n, const clq_cpu_acc *a, size_t p) {
    MMK(j)->run(j->xt, x, n, MN(a, p), MX(a, p));
}

static void mm_vec(const clq_cpu_red_job *j, const void *x, size_t n, const clq_cpu_acc *a, size_t p) {
    MMK(j)->vec(j->xt, x, n, MN(a, p), MX(a, p));
}

static void mm_rows(const clq_cpu_red_job *j, const void *x, size_t n, size_t nrows,
                    const clq_cpu_acc *a, size_t p) {
    MMK(j)->rows(j->xt, x, n, nrows, MN(a, p), MX(a, p));
}

static void mm_blocks(const clq_cpu_red_job *j, const void *x, size_t block, size_t nblk,
                      const clq_cpu_acc *a, size_t p) {
    MMK(j)->blocks(j->xt, x, block, nblk, MN(a, p), MX(a, p), j->stream);
}

static void mm_init(const clq_cpu_red_job *j, const clq_cpu_acc *a, size_t p, size_t n) {
    (void)j;
    for (size_t i = 0; i < n; i++) *MN(a, p + i) = INFINITY, *MX(a, p + i) = -INFINITY;
}

static void mm_finish(const clq_cpu_red_job *j, const clq_cpu_acc *a, size_t p, size_t n) {
    MMK(j)->finish(MN(a, p), MX(a, p), n);
}

/* partials hold no NaN (the kernels skip it), so plain compares merge them */
static void mm_merge(const clq_cpu_red_job *j, const clq_cpu_acc *d, const clq_cpu_acc *s, size_t np) {
    (void)j;
    for (size_t p = 0; p < np; p++) {
        if (*MN(s, p) < *MN(d, p)) *MN(d, p) = *MN(s, p);
        if (*MX(s, p) > *MX(d, p)) *MX(d, p) = *MX(s, p);
    }
}

static const clq_cpu_red_ops mm_ops = {mm_run, mm_vec, mm_rows, mm_blocks, mm_init, mm_finish,
                                       mm_merge, 2};

clq_status clq__cpu_minmax(clq_context *ctx, const clq_minmax_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    clq_cpu_red_job j = {&mm_ops, st->k.minmax, op->xtype, &op->lay, clq__cpu_span_ptr(op->x),
                         clq__cpu_dtype_size(op->xtype), 0, 0,
                         {{clq__cpu_span_ptr(op->min), clq__cpu_span_ptr(op->max)}},
                         2 * op->lay.nparams * sizeof(float) >= st->stream_min};
    return clq__cpu_red_run(ctx, &j, pass);
}
