/* cpu_quantize.c: the quantize op on the CPU (chunking, layouts, 4-bit packing)
 * and its portable C kernels; SIMD kernels are in cpu_quantize_simd.c. */
#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_walk.h"

static void qk_run(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n, float scale,
                   int32_t zp) {
    float s = cfg->reciprocal ? 1.0f / scale : scale, zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    for (size_t j = 0; j < n; j++)
        q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin, cfg->qmax,
                                 cfg->half_away, cfg->reciprocal);
}

static void qk_vec(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                   const float *scale, const int32_t *zp) {
    for (size_t j = 0; j < n; j++) {
        float s = cfg->reciprocal ? 1.0f / scale[j] : scale[j];
        float zpf = zp ? clq__zp_clamp(zp[j], cfg->zlo, cfg->zhi) : 0.0f;
        q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin, cfg->qmax,
                                 cfg->half_away, cfg->reciprocal);
    }
}

static void qk_blocks(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t block,
                      size_t nblk, const float *scale, const int32_t *zp) {
    size_t xs = clq__cpu_dtype_size(cfg->xtype);
    for (size_t b = 0; b < nblk; b++)
        qk_run(cfg, (const char *)x + b * block * xs, q + b * block, block, scale[b],
               zp ? zp[b] : 0);
}

static void qk_pack4(int stream, const uint8_t *src, uint8_t *dst, size_t n) {
    (void)stream;
    for (size_t k = 0; k < n / 2; k++)
        dst[k] = (uint8_t)((src[2 * k] & 15u) | (unsigned)(src[2 * k + 1] << 4));
}

const clq_cpu_qkernels clq__cpu_qk_portable = {qk_run, qk_vec, qk_blocks, qk_pack4, 0};

typedef struct qjob {
    const clq_cpu_qkernels *k;
    clq_cpu_qcfg cfg;
    const clq_layout *lay;
    const char *x;
    size_t xsize;
    uint8_t *q;
    int four;
    const float *scale;
    const int32_t *zp;
} qjob;

/* One chunk's view: where element e's output byte goes (q itself, or the
 * chunk's staging array for 4-bit types, or its byte e/2 when the kernels
 * pack 4-bit values themselves). */
typedef struct qchunk {
    const qjob *job;
    uint8_t *out;
    size_t out_e0;
} qchunk;

static inline uint8_t *qout(const qchunk *c, size_t e) {
    return c->job->cfg.packed ? c->out + e / 2 : c->out + (e - c->out_e0);
}

static void seg_run(void *arg, size_t e, size_t len, size_t p) {
    const qchunk *c = arg;
    const qjob *j = c->job;
    j->k->run(&j->cfg, j->x + e * j->xsize, qout(c, e), len, j->scale[p],
              j->zp ? j->zp[p] : 0);
}

static void seg_vec(void *arg, size_t e, size_t len, size_t p) {
    const qchunk *c = arg;
    const qjob *j = c->job;
    j->k->vec(&j->cfg, j->x + e * j->xsize, c->out + (e - c->out_e0), len, j->scale + p,
              j->zp ? j->zp + p : NULL);
}

static void seg_blocks(void *arg, size_t e, size_t nblocks, size_t p) {
    const qchunk *c = arg;
    const qjob *j = c->job;
    j->k->blocks(&j->cfg, j->x + e * j->xsize, qout(c, e), j->lay->block, nblocks, j->scale + p,
                 j->zp ? j->zp + p : NULL);
}

static const clq_cpu_walker qwalker = {seg_run, seg_vec, seg_blocks};

static void q_chunk(void *arg, size_t chunk) {
    const qjob *j = arg;
    size_t e0 = chunk * CLQ_CPU_CHUNK, e1 = e0 + CLQ_CPU_CHUNK;
    if (e1 > j->lay->n) e1 = j->lay->n;
    uint8_t staging[CLQ_CPU_CHUNK];
    int stage = j->four && !j->cfg.packed;
    qchunk c = {j, stage ? staging : j->q, stage ? e0 : 0};
    clq__cpu_walk(j->lay, e0, e1, &qwalker, &c);
    if (stage) {
        size_t m = e1 - e0;
        j->k->pack4(j->cfg.stream, staging, j->q + e0 / 2, m & ~(size_t)1);
        if (m & 1) j->q[(e1 - 1) / 2] = staging[m - 1] & 15u;
    }
    if (j->cfg.stream) clq__cpu_store_fence();
}

/* Whether every run/blocks segment the walker emits starts at an even element
 * and only the tensor's last one can be odd (so kernels may pack 4-bit
 * output in place), and no vec segment is emitted. */
static int even_segments(const clq_layout *l) {
    if (l->gran == CLQ_PER_TENSOR) return 1;
    if (l->gran == CLQ_PER_AXIS) return l->inner > 1 && l->inner % 2 == 0;
    return l->inner == 1 && l->block % 2 == 0 && l->axis_len % 2 == 0;
}

clq_status clq__cpu_quantize(clq_context *ctx, const clq_quantize_op *op, clq_pass pass) {
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS; /* nothing here can fail */
    clq_cpu_state *st = ctx->impl;
    if (op->lay.n == 0) return CLQ_SUCCESS;
    int zlo, zhi; /* the zero points' clamp: the qtype's full range */
    clq__qrange(op->qtype, 0, &zlo, &zhi);
    qjob j = {st->k.quantize,
              {op->xtype, (float)op->qmin, (float)op->qmax, op->rounding == CLQ_ROUND_HALF_AWAY,
               op->reciprocal != 0,
               (op->qtype == CLQ_S4 || op->qtype == CLQ_U4 ? op->lay.n / 2 : op->lay.n) >=
                   st->stream_min,
               0, (float)zlo, (float)zhi},
              &op->lay,
              clq__cpu_span_ptr(op->x),
              clq__cpu_dtype_size(op->xtype),
              clq__cpu_span_ptr(op->q),
              op->qtype == CLQ_S4 || op->qtype == CLQ_U4,
              clq__cpu_span_ptr(op->scale),
              clq__cpu_span_ptr(op->zp)};
    j.cfg.packed = j.four && j.k->packed_ok && even_segments(&op->lay);
    clq__cpu_parallel(st->pool, clq__cpu_nchunks(op->lay.n, CLQ_CPU_CHUNK), q_chunk, &j);
    return CLQ_SUCCESS;
}
