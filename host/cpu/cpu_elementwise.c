/* cpu_elementwise.c: the one driver of the CPU path's element-wise map ops
 * (quantize, dequantize): job split into chunks, the layout walk, 4-bit staging,
 * all parameterised by a clq_cpu_ewkernels set. */
#include "cpu_elementwise.h"

#include "cpu_walk.h"

/* One chunk's view of the job: where element e's input and output are. A 4-bit
 * side is either read/written packed by the kernels (cfg.packed: byte e / 2), or
 * staged one value per byte in this chunk's array (from element stage_e0). */
typedef struct ew_chunk {
    const clq_cpu_ew_job *job;
    uint8_t *stage;
    size_t stage_e0;
} ew_chunk;

static inline const void *in_at(const ew_chunk *c, size_t e) {
    const clq_cpu_ew_job *j = c->job;
    if (j->in_size) return j->in + e * j->in_size;
    return j->cfg.packed ? (const void *)(j->in + e / 2) : (const void *)(c->stage + (e - c->stage_e0));
}

static inline void *out_at(const ew_chunk *c, size_t e) {
    const clq_cpu_ew_job *j = c->job;
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

static const clq_cpu_walker ew_walker = {seg_run, seg_vec, seg_blocks};

static void ew_chunk_fn(void *arg, size_t chunk) {
    const clq_cpu_ew_job *j = arg;
    size_t e0 = chunk * CLQ_CPU_CHUNK, e1 = e0 + CLQ_CPU_CHUNK;
    if (e1 > j->lay->n) e1 = j->lay->n;
    uint8_t stage[CLQ_CPU_CHUNK];
    ew_chunk c = {j, stage, e0};
    /* chunks start at even elements, so byte e0 / 2 starts this chunk */
    if (!j->in_size && !j->cfg.packed)
        j->k->unpack4(!j->cfg.is_unsigned, (const uint8_t *)j->in + e0 / 2, stage, e1 - e0);
    clq__cpu_walk(j->lay, e0, e1, &ew_walker, &c);
    if (!j->out_size && !j->cfg.packed) {
        size_t m = e1 - e0;
        uint8_t *q = (uint8_t *)j->out;
        j->k->pack4(j->cfg.stream, stage, q + e0 / 2, m & ~(size_t)1);
        if (m & 1) q[(e1 - 1) / 2] = stage[m - 1] & 15u;
    }
    if (j->cfg.stream) clq__cpu_store_fence();
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
