/* cpu_minmax.c: the min/max op on the CPU and its portable kernels. Work is split
 * so that each output pair has one owner (blocks, column ranges) or, when there
 * are few pairs, into slices with partial pairs merged at the end; min/max are
 * order-independent once -0.0/+0.0 ties are written as +0.0, so the split never
 * changes the bits. SIMD kernels are in cpu_minmax_simd.c. */
#include <math.h>
#include <stdlib.h>

#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_walk.h"

static void mk_run(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    for (size_t j = 0; j < n; j++) clq__minmax_one(clq__load_float(xt, x, j), mn, mx);
}

static void mk_vec(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    for (size_t j = 0; j < n; j++) clq__minmax_one(clq__load_float(xt, x, j), mn + j, mx + j);
}

static void mk_blocks(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn, float *mx) {
    size_t xs = clq__cpu_dtype_size(xt);
    for (size_t b = 0; b < nblk; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
        mk_run(xt, (const char *)x + b * block * xs, block, mn + b, mx + b);
    }
}

const clq_cpu_mmkernels clq__cpu_mmk_portable = {mk_run, mk_vec, mk_blocks};

typedef struct mmjob {
    const clq_cpu_mmkernels *k;
    const clq_layout *lay;
    clq_dtype xt;
    const char *x;
    size_t xs;
    float *mn, *mx;   /* outputs, nparams each */
    float *pmn, *pmx; /* slices: nslices * nparams partial pairs */
    size_t slice_len; /* slices: elements per slice */
    size_t per_chunk; /* columns (PER_AXIS) or blocks (PER_BLOCK) per chunk */
} mmjob;

static void init_pairs(float *mn, float *mx, size_t n) {
    for (size_t i = 0; i < n; i++) mn[i] = INFINITY, mx[i] = -INFINITY;
}

static void finish_pairs(float *mn, float *mx, size_t n) {
    for (size_t i = 0; i < n; i++) clq__minmax_finish(mn + i, mx + i);
}

/* ---- slices: element ranges walked with partial pairs -------------------- */

typedef struct slice {
    const mmjob *job;
    float *mn, *mx;
} slice;

static void seg_run(void *arg, size_t e, size_t len, size_t p) {
    const slice *s = arg;
    s->job->k->run(s->job->xt, s->job->x + e * s->job->xs, len, s->mn + p, s->mx + p);
}

static void seg_vec(void *arg, size_t e, size_t len, size_t p) {
    const slice *s = arg;
    s->job->k->vec(s->job->xt, s->job->x + e * s->job->xs, len, s->mn + p, s->mx + p);
}

static void seg_blocks(void *arg, size_t e, size_t nblocks, size_t p) {
    size_t B = ((const slice *)arg)->job->lay->block;
    for (size_t b = 0; b < nblocks; b++) seg_run(arg, e + b * B, B, p + b);
}

static const clq_cpu_walker mmwalker = {seg_run, seg_vec, seg_blocks};

static void slice_chunk(void *arg, size_t chunk) {
    const mmjob *j = arg;
    size_t np = j->lay->nparams, e0 = chunk * j->slice_len, e1 = e0 + j->slice_len;
    if (e1 > j->lay->n) e1 = j->lay->n;
    slice s = {j, j->pmn + chunk * np, j->pmx + chunk * np};
    init_pairs(s.mn, s.mx, np);
    clq__cpu_walk(j->lay, e0, e1, &mmwalker, &s);
}

/* ---- PER_AXIS by column ranges: each chunk owns columns [c0, c1) ---------- */

static void column_chunk(void *arg, size_t chunk) {
    const mmjob *j = arg;
    const clq_layout *l = j->lay;
    size_t c0 = chunk * j->per_chunk, c1 = c0 + j->per_chunk;
    if (c1 > l->axis_len) c1 = l->axis_len;
    init_pairs(j->mn + c0, j->mx + c0, c1 - c0);
    for (size_t o = 0; o < l->outer; o++) {
        const char *row = j->x + (o * l->axis_len) * l->inner * j->xs;
        if (l->inner == 1)
            j->k->vec(j->xt, row + c0 * j->xs, c1 - c0, j->mn + c0, j->mx + c0);
        else
            for (size_t c = c0; c < c1; c++)
                j->k->run(j->xt, row + c * l->inner * j->xs, l->inner, j->mn + c, j->mx + c);
    }
    finish_pairs(j->mn + c0, j->mx + c0, c1 - c0);
}

/* ---- PER_BLOCK by blocks: block g = o * nblocks + cb owns its inner pairs ---- */

static void block_chunk(void *arg, size_t chunk) {
    const mmjob *j = arg;
    const clq_layout *l = j->lay;
    size_t total = l->outer * l->nblocks, g0 = chunk * j->per_chunk, g1 = g0 + j->per_chunk;
    if (g1 > total) g1 = total;
    if (l->inner == 1) {
        size_t full = l->axis_len / l->block; /* full blocks per row */
        for (size_t g = g0; g < g1;) {
            size_t o = g / l->nblocks, cb = g % l->nblocks;
            size_t end = cb + (g1 - g) < l->nblocks ? cb + (g1 - g) : l->nblocks;
            const char *row = j->x + o * l->axis_len * j->xs;
            if (cb < full) {
                size_t nf = (end < full ? end : full) - cb;
                j->k->blocks(j->xt, row + cb * l->block * j->xs, l->block, nf, j->mn + g, j->mx + g);
                g += nf, cb += nf;
            }
            if (cb < end) { /* the short last block of the row */
                j->mn[g] = INFINITY, j->mx[g] = -INFINITY;
                j->k->run(j->xt, row + cb * l->block * j->xs, l->axis_len - cb * l->block, j->mn + g,
                          j->mx + g);
                g++;
            }
        }
    } else {
        for (size_t g = g0; g < g1; g++) {
            size_t o = g / l->nblocks, cb = g % l->nblocks, c1 = (cb + 1) * l->block;
            float *mn = j->mn + g * l->inner, *mx = j->mx + g * l->inner;
            init_pairs(mn, mx, l->inner);
            if (c1 > l->axis_len) c1 = l->axis_len;
            for (size_t c = cb * l->block; c < c1; c++)
                j->k->vec(j->xt, j->x + (o * l->axis_len + c) * l->inner * j->xs, l->inner, mn, mx);
        }
    }
    finish_pairs(j->mn + g0 * l->inner, j->mx + g0 * l->inner, (g1 - g0) * l->inner);
}

clq_status clq__cpu_minmax(clq_context *ctx, const clq_minmax_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    const clq_layout *l = &op->lay;
    size_t np = l->nparams, n = l->n;
    mmjob j = {st->k.minmax, l, op->xtype, clq__cpu_span_ptr(op->x), clq__cpu_dtype_size(op->xtype),
               clq__cpu_span_ptr(op->min), clq__cpu_span_ptr(op->max), NULL, NULL, 0, 0};
    if (n == 0) {
        if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS;
        for (size_t i = 0; i < np; i++) j.mn[i] = 0.0f, j.mx[i] = 0.0f;
        return CLQ_SUCCESS;
    }
    size_t nthreads = (size_t)clq__cpu_pool_threads(st->pool);
    if (l->gran == CLQ_PER_BLOCK && np > 64) {
        j.per_chunk = CLQ_CPU_CHUNK / (l->block * l->inner);
        if (j.per_chunk == 0) j.per_chunk = 1;
        if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS;
        clq__cpu_parallel(st->pool, clq__cpu_nchunks(l->outer * l->nblocks, j.per_chunk),
                          block_chunk, &j);
        return CLQ_SUCCESS;
    }
    if (l->gran == CLQ_PER_AXIS && np > 64) {
        j.per_chunk = CLQ_CPU_CHUNK / (l->outer * l->inner);
        if (j.per_chunk == 0) j.per_chunk = 1;
        /* column ranges only pay when each row segment they read is long */
        if (j.per_chunk * l->inner >= 256) {
            if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS;
            clq__cpu_parallel(st->pool, clq__cpu_nchunks(l->axis_len, j.per_chunk), column_chunk, &j);
            return CLQ_SUCCESS;
        }
    }
    /* few pairs (or many rows of a per-axis tensor): slices with partial pairs,
     * more slices when the partials are small */
    size_t nslices = clq__cpu_nchunks(n, CLQ_CPU_CHUNK), cap = np <= 64 ? 16 * nthreads : 2 * nthreads;
    if (nslices > cap) nslices = cap;
    j.slice_len = (n + nslices - 1) / nslices;
    nslices = clq__cpu_nchunks(n, j.slice_len);
    clq_buffer *part = NULL; /* kept in scratch, so the run pass cannot fail */
    clq_status rc = clq__scratch(ctx, CLQ_SCRATCH_PART_MIN, 2 * nslices * np * sizeof(float), &part);
    if (rc != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return rc;
    j.pmn = part->host;
    j.pmx = j.pmn + nslices * np;
    clq__cpu_parallel(st->pool, nslices, slice_chunk, &j);
    for (size_t p = 0; p < np; p++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t s = 0; s < nslices; s++) {
            if (j.pmn[s * np + p] < lo) lo = j.pmn[s * np + p];
            if (j.pmx[s * np + p] > hi) hi = j.pmx[s * np + p];
        }
        clq__minmax_finish(&lo, &hi);
        j.mn[p] = lo, j.mx[p] = hi;
    }
    return CLQ_SUCCESS;
}
