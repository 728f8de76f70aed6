/* cpu_elementwise.c: the one driver of the CPU path's element-wise ops: maps
 * (quantize, dequantize: job split into chunks, the layout walk, 4-bit staging,
 * parameterised by a clq_cpu_ewkernels set) and reductions (min/max, row sums: the
 * same walk over chunks of owned params or slices, parameterised by clq_cpu_red_ops). */
#include "cpu_elementwise.h"

#include "cpu_walk.h"

/* One chunk's view of the job: where element e's input and output are. A 4-bit
 * side is either read/written packed by the kernels (cfg.packed: byte e / 2), or
 * staged one value per byte in this chunk's array (from element stage_e0). */
typedef struct ew_chunk {
    const clq_cpu_ew_job *job;
    uint8_t *stage;
    size_t stage_e0;
    const char *in_span; /* clq__cpu_ew_span: element stage_e0's input and output */
    char *out_span;
} ew_chunk;

static inline const void *in_at(const ew_chunk *c, size_t e) {
    const clq_cpu_ew_job *j = c->job;
    if (c->in_span) return c->in_span + (e - c->stage_e0) * j->in_size;
    if (j->in_size) return j->in + e * j->in_size;
    return j->cfg.packed ? (const void *)(j->in + e / 2) : (const void *)(c->stage + (e - c->stage_e0));
}

static inline void *out_at(const ew_chunk *c, size_t e) {
    const clq_cpu_ew_job *j = c->job;
    if (c->out_span) return c->out_span + (e - c->stage_e0) * j->out_size;
    if (j->out_size) return j->out + e * j->out_size;
    return j->cfg.packed ? (void *)(j->out + e / 2) : (void *)(c->stage + (e - c->stage_e0));
}

static void seg_run(void *arg, size_t e, size_t len, size_t p) {
    const ew_chunk *c = arg;
    const clq_cpu_ew_job *j = c->job;
    j->k->run(&j->cfg, in_at(c, e), out_at(c, e), len, j->scale[p], j->zp ? j->zp[p] : 0);
}

/* vec segments never see packed data (clq__cpu_ew_even_segments) */
static void seg_vec(void *arg, size_t e, size_t len, size_t p) {
    const ew_chunk *c = arg;
    const clq_cpu_ew_job *j = c->job;
    j->k->vec(&j->cfg, in_at(c, e), out_at(c, e), len, j->scale + p, j->zp ? j->zp + p : NULL);
}

static void seg_blocks(void *arg, size_t e, size_t nblocks, size_t p) {
    const ew_chunk *c = arg;
    const clq_cpu_ew_job *j = c->job;
    j->k->blocks(&j->cfg, in_at(c, e), out_at(c, e), j->lay->block, nblocks, j->scale + p,
                 j->zp ? j->zp + p : NULL);
}

static void seg_rows(void *arg, size_t e, size_t len, size_t nrows, size_t p) {
    const ew_chunk *c = arg;
    const clq_cpu_ew_job *j = c->job;
    j->k->rows(&j->cfg, in_at(c, e), out_at(c, e), len, nrows, j->scale + p, j->zp ? j->zp + p : NULL);
}

static const clq_cpu_walker ew_walker = {seg_run, seg_vec, seg_blocks, NULL};
static const clq_cpu_walker ew_walker_rows = {seg_run, seg_vec, seg_blocks, seg_rows};

static void ew_chunk_fn(void *arg, size_t chunk) {
    const clq_cpu_ew_job *j = arg;
    size_t e0 = chunk * CLQ_CPU_CHUNK, e1 = e0 + CLQ_CPU_CHUNK;
    if (e1 > j->lay->n) e1 = j->lay->n;
    uint8_t stage[CLQ_CPU_CHUNK];
    ew_chunk c = {j, stage, e0, NULL, NULL};
    /* chunks start at even elements, so byte e0 / 2 starts this chunk */
    if (!j->in_size && !j->cfg.packed)
        j->k->unpack4(!j->cfg.is_unsigned, (const uint8_t *)j->in + e0 / 2, stage, e1 - e0);
    clq__cpu_walk(j->lay, e0, e1, j->k->rows ? &ew_walker_rows : &ew_walker, &c);
    if (!j->out_size && !j->cfg.packed) {
        size_t m = e1 - e0;
        uint8_t *q = (uint8_t *)j->out;
        j->k->pack4(j->cfg.stream, stage, q + e0 / 2, m & ~(size_t)1);
        if (m & 1) q[(e1 - 1) / 2] = stage[m - 1] & 15u;
    }
    if (j->cfg.stream) clq__cpu_store_fence();
}

void clq__cpu_ew_span(const clq_cpu_ew_job *j, size_t e0, size_t e1, const void *in, void *out) {
    ew_chunk c = {j, NULL, e0, in, out};
    clq__cpu_walk(j->lay, e0, e1, j->k->rows ? &ew_walker_rows : &ew_walker, &c);
}

int clq__cpu_ew_even_segments(const clq_layout *l) {
    if (l->gran == CLQ_PER_TENSOR) return 1;
    if (l->gran == CLQ_PER_AXIS) return l->inner > 1 && l->inner % 2 == 0;
    return l->inner == 1 && l->block % 2 == 0 && l->axis_len % 2 == 0;
}

void clq__cpu_ew_run(clq_cpu_pool *pool, clq_cpu_ew_job *j) {
    if (j->lay->n == 0) return;
    int four = !j->in_size || !j->out_size;
    j->cfg.packed = four && j->k->packed_ok && clq__cpu_ew_even_segments(j->lay);
    clq__cpu_parallel(pool, clq__cpu_nchunks(j->lay->n, CLQ_CPU_CHUNK), ew_chunk_fn, j);
}

/* ---- reductions ------------------------------------------------------------ */

typedef struct red_seg {
    const clq_cpu_red_job *job;
    const clq_cpu_acc *acc;
} red_seg;

static inline const void *red_x(const clq_cpu_red_job *j, size_t e) {
    if (j->row_len) e = e / j->row_len * j->row_ld + e % j->row_len;
    return j->x + e * j->xs;
}

static void red_run(void *arg, size_t e, size_t len, size_t p) {
    const red_seg *s = arg;
    s->job->ops->run(s->job, red_x(s->job, e), len, s->acc, p);
}

static void red_vec(void *arg, size_t e, size_t len, size_t p) {
    const red_seg *s = arg;
    s->job->ops->vec(s->job, red_x(s->job, e), len, s->acc, p);
}

static void red_rows(void *arg, size_t e, size_t len, size_t nrows, size_t p) {
    const red_seg *s = arg;
    s->job->ops->rows(s->job, red_x(s->job, e), len, nrows, s->acc, p);
}

static void red_blocks(void *arg, size_t e, size_t nblocks, size_t p) {
    const red_seg *s = arg;
    s->job->ops->blocks(s->job, red_x(s->job, e), s->job->lay->block, nblocks, s->acc, p);
}

static const clq_cpu_walker red_walker = {red_run, red_vec, red_blocks, NULL};
static const clq_cpu_walker red_walker_rows = {red_run, red_vec, red_blocks, red_rows};

/* Owner chunks whose every segment covers its params wholly (PER_BLOCK with inner
 * 1, where a run is one short block; PER_AXIS with outer 1): init and finish per
 * segment, so the params of whole blocks are written once, by the blocks kernel. */
static void whole_run(void *arg, size_t e, size_t len, size_t p) {
    const red_seg *s = arg;
    s->job->ops->init(s->job, s->acc, p, 1);
    red_run(arg, e, len, p);
    s->job->ops->finish(s->job, s->acc, p, 1);
}

static void whole_vec(void *arg, size_t e, size_t len, size_t p) {
    const red_seg *s = arg;
    s->job->ops->init(s->job, s->acc, p, len);
    red_vec(arg, e, len, p);
    s->job->ops->finish(s->job, s->acc, p, len);
}

static const clq_cpu_walker red_walker_whole = {whole_run, whole_vec, red_blocks, NULL};

typedef struct red_split {
    const clq_cpu_red_job *job;
    size_t per;        /* owner: units per chunk; slices: elements per slice */
    size_t units, ppu; /* owner: units (blocks, or params along the axis), params per unit */
    clq_cpu_acc part;  /* slices: nslices * nparams partials per array */
} red_split;

static void red_walk(const clq_cpu_red_job *j, const clq_cpu_acc *acc, size_t e0, size_t e1) {
    red_seg s = {j, acc};
    clq__cpu_walk(j->lay, e0, e1, j->ops->rows ? &red_walker_rows : &red_walker, &s);
}

/* PER_BLOCK: the first element of block g (of outer * nblocks); g may be the end. */
static size_t block_start(const clq_layout *l, size_t g) {
    return ((g / l->nblocks) * l->axis_len + (g % l->nblocks) * l->block) * l->inner;
}

/* Units [u0, u1) own params [u0 * ppu, u1 * ppu): for PER_BLOCK one element
 * range, for PER_AXIS one range per outer index. */
static void owner_chunk(void *arg, size_t chunk) {
    const red_split *sp = arg;
    const clq_cpu_red_job *j = sp->job;
    const clq_layout *l = j->lay;
    size_t u0 = chunk * sp->per, u1 = u0 + sp->per;
    if (u1 > sp->units) u1 = sp->units;
    if (l->gran == CLQ_PER_TENSOR || (l->gran == CLQ_PER_BLOCK && l->inner == 1) ||
        (l->gran == CLQ_PER_AXIS && l->outer == 1)) {
        size_t e0 = 0, e1 = l->n;
        if (l->gran == CLQ_PER_BLOCK)
            e0 = block_start(l, u0), e1 = block_start(l, u1);
        else if (l->gran == CLQ_PER_AXIS)
            e0 = u0 * l->inner, e1 = u1 * l->inner;
        red_seg s = {j, &j->out};
        clq__cpu_walk(l, e0, e1, &red_walker_whole, &s);
        if (j->stream) clq__cpu_store_fence();
        return;
    }
    j->ops->init(j, &j->out, u0 * sp->ppu, (u1 - u0) * sp->ppu);
    if (l->gran == CLQ_PER_BLOCK)
        red_walk(j, &j->out, block_start(l, u0), block_start(l, u1));
    else
        for (size_t o = 0; o < l->outer; o++)
            red_walk(j, &j->out, (o * l->axis_len + u0) * l->inner, (o * l->axis_len + u1) * l->inner);
    j->ops->finish(j, &j->out, u0 * sp->ppu, (u1 - u0) * sp->ppu);
}

static clq_cpu_acc part_at(const red_split *sp, size_t slice) {
    size_t off = slice * sp->job->lay->nparams * sizeof(uint32_t);
    clq_cpu_acc a = {{(char *)sp->part.v[0] + off, sp->part.v[1] ? (char *)sp->part.v[1] + off : NULL}};
    return a;
}

static void slice_chunk(void *arg, size_t chunk) {
    const red_split *sp = arg;
    const clq_cpu_red_job *j = sp->job;
    size_t e0 = chunk * sp->per, e1 = e0 + sp->per;
    if (e1 > j->lay->n) e1 = j->lay->n;
    clq_cpu_acc a = part_at(sp, chunk);
    j->ops->init(j, &a, 0, j->lay->nparams);
    red_walk(j, &a, e0, e1);
}

clq_status clq__cpu_red_run(clq_context *ctx, clq_cpu_red_job *j, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    const clq_layout *l = j->lay;
    size_t np = l->nparams, n = l->n;
    if (n == 0) { /* every param untouched */
        if (pass == CLQ_PASS_RUN && np) {
            j->ops->init(j, &j->out, 0, np);
            j->ops->finish(j, &j->out, 0, np);
        }
        return CLQ_SUCCESS;
    }
    red_split sp = {j, 0, 0, 1, {{NULL, NULL}}};
    size_t chunk = CLQ_CPU_CHUNK * sizeof(float) / j->xs; /* 64 KiB of input */
    /* owners while there are many params (or no merge); PER_AXIS only when each
     * row segment a chunk reads is long */
    int owner = !j->ops->merge;
    if (l->gran == CLQ_PER_BLOCK) {
        sp.units = l->outer * l->nblocks, sp.ppu = l->inner;
        sp.per = chunk / (l->block * l->inner);
        owner |= np > 64;
    } else if (l->gran == CLQ_PER_AXIS) {
        sp.units = l->axis_len;
        sp.per = chunk / (l->outer * l->inner);
        owner |= np > 64 && sp.per * l->inner >= 256;
    } else {
        sp.units = 1, sp.per = 1;
    }
    if (sp.per == 0) sp.per = 1;
    if (owner) {
        if (pass == CLQ_PASS_RUN)
            clq__cpu_parallel(st->pool, clq__cpu_nchunks(sp.units, sp.per), owner_chunk, &sp);
        return CLQ_SUCCESS;
    }
    /* slices, more of them when the partials are small */
    size_t nthreads = (size_t)clq__cpu_pool_threads(st->pool);
    size_t nslices = clq__cpu_nchunks(n, chunk), cap = np <= 64 ? 16 * nthreads : 2 * nthreads;
    if (nslices > cap) nslices = cap;
    sp.per = (n + nslices - 1) / nslices;
    nslices = clq__cpu_nchunks(n, sp.per);
    size_t bytes = nslices * np * sizeof(uint32_t);
    clq_buffer *part = NULL;
    clq_status rc = clq__scratch(ctx, CLQ_SCRATCH_PART_MIN, (size_t)j->ops->narrays * bytes, &part);
    if (rc != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return rc;
    sp.part.v[0] = part->host;
    sp.part.v[1] = j->ops->narrays > 1 ? (char *)part->host + bytes : NULL;
    clq_cpu_red_job sj = *j; /* partials are merged at once: cached stores */
    sj.stream = 0;
    sp.job = &sj;
    clq__cpu_parallel(st->pool, nslices, slice_chunk, &sp);
    j->ops->init(j, &j->out, 0, np);
    for (size_t s = 0; s < nslices; s++) {
        clq_cpu_acc a = part_at(&sp, s);
        j->ops->merge(j, &j->out, &a, np);
    }
    j->ops->finish(j, &j->out, 0, np);
    return CLQ_SUCCESS;
}
