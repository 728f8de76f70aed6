/* cpu_dequantize.c: the dequantize op on the CPU (chunking, layouts, 4-bit
 * unpacking) and its portable kernels; SIMD kernels are in cpu_dequantize_simd.c. */
#include "cpu_internal.h"
#include "cpu_walk.h"

static inline int32_t qval(int flags, uint8_t b) {
    return (flags & CLQ_CPU_DQ_UNSIGNED) ? b : (int8_t)b;
}

static void dk_run(int flags, const uint8_t *q, float *y, size_t n, float scale, int32_t zp) {
    zp = clq__cpu_dq_zp(flags, zp);
    for (size_t j = 0; j < n; j++) y[j] = (float)(qval(flags, q[j]) - zp) * scale;
}

static void dk_vec(int flags, const uint8_t *q, float *y, size_t n, const float *scale,
                   const int32_t *zp) {
    for (size_t j = 0; j < n; j++)
        y[j] = (float)(qval(flags, q[j]) - (zp ? clq__cpu_dq_zp(flags, zp[j]) : 0)) * scale[j];
}

static void dk_blocks(int flags, const uint8_t *q, float *y, size_t block, size_t nblk,
                      const float *scale, const int32_t *zp) {
    for (size_t b = 0; b < nblk; b++)
        dk_run(flags, q + b * block, y + b * block, block, scale[b], zp ? zp[b] : 0);
}

static void dk_unpack4(int is_signed, const uint8_t *src, uint8_t *dst, size_t n) {
    for (size_t e = 0; e < n; e++) {
        unsigned v = (e & 1) ? src[e / 2] >> 4 : src[e / 2] & 15u;
        dst[e] = (uint8_t)(is_signed ? (int)(v ^ 8u) - 8 : (int)v);
    }
}

const clq_cpu_dqkernels clq__cpu_dqk_portable = {dk_run, dk_vec, dk_blocks, dk_unpack4};

typedef struct dqjob {
    const clq_cpu_dqkernels *k;
    const clq_layout *lay;
    const uint8_t *q;
    float *y;
    int four, flags;
    const float *scale;
    const int32_t *zp;
} dqjob;

/* One chunk's view: where element e's input byte is (q itself, or the chunk's
 * unpacked 4-bit values). */
typedef struct dqchunk {
    const dqjob *job;
    const uint8_t *in;
    size_t in_e0;
} dqchunk;

static void seg_run(void *arg, size_t e, size_t len, size_t p) {
    const dqchunk *c = arg;
    const dqjob *j = c->job;
    j->k->run(j->flags, c->in + (e - c->in_e0), j->y + e, len, j->scale[p],
              j->zp ? j->zp[p] : 0);
}

static void seg_vec(void *arg, size_t e, size_t len, size_t p) {
    const dqchunk *c = arg;
    const dqjob *j = c->job;
    j->k->vec(j->flags, c->in + (e - c->in_e0), j->y + e, len, j->scale + p,
              j->zp ? j->zp + p : NULL);
}

static void seg_blocks(void *arg, size_t e, size_t nblocks, size_t p) {
    const dqchunk *c = arg;
    const dqjob *j = c->job;
    j->k->blocks(j->flags, c->in + (e - c->in_e0), j->y + e, j->lay->block, nblocks, j->scale + p,
                 j->zp ? j->zp + p : NULL);
}

static const clq_cpu_walker dqwalker = {seg_run, seg_vec, seg_blocks};

static void dq_chunk(void *arg, size_t chunk) {
    const dqjob *j = arg;
    size_t e0 = chunk * CLQ_CPU_CHUNK, e1 = e0 + CLQ_CPU_CHUNK;
    if (e1 > j->lay->n) e1 = j->lay->n;
    uint8_t staging[CLQ_CPU_CHUNK];
    dqchunk c = {j, j->q, 0};
    if (j->four) {
        /* chunks start at even elements, so byte e0/2 starts this chunk */
        j->k->unpack4(!(j->flags & CLQ_CPU_DQ_UNSIGNED), j->q + e0 / 2, staging, e1 - e0);
        c.in = staging;
        c.in_e0 = e0;
    }
    clq__cpu_walk(j->lay, e0, e1, &dqwalker, &c);
    if (j->flags & CLQ_CPU_DQ_STREAM) clq__cpu_store_fence();
}

clq_status clq__cpu_dequantize(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass) {
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS; /* nothing here can fail */
    clq_cpu_state *st = ctx->impl;
    if (op->lay.n == 0) return CLQ_SUCCESS;
    int four = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    /* unpacked s4 bytes are sign-extended, u4 ones are 0..15; FOUR gives the zero
     * points' range */
    int flags = op->qtype == CLQ_U8 || op->qtype == CLQ_U4 ? CLQ_CPU_DQ_UNSIGNED : 0;
    if (four) flags |= CLQ_CPU_DQ_FOUR;
    dqjob j = {st->k.dequantize,
               &op->lay,
               clq__cpu_span_ptr(op->q),
               clq__cpu_span_ptr(op->y),
               four,
               flags,
               clq__cpu_span_ptr(op->scale),
               clq__cpu_span_ptr(op->zp)};
    if (op->lay.n * sizeof(float) >= st->stream_min) j.flags |= CLQ_CPU_DQ_STREAM;
    clq__cpu_parallel(st->pool, clq__cpu_nchunks(op->lay.n, CLQ_CPU_CHUNK), dq_chunk, &j);
    return CLQ_SUCCESS;
}
