/* cpu_dequantize.c: the dequantize op on the CPU (its settings, run by the generic
 * element-wise driver) and its portable kernels; SIMD kernels are in
 * cpu_dequantize_simd.c. */
#include "cpu_elementwise.h"

static inline int32_t qval(const clq_cpu_ewcfg *cfg, uint8_t b) {
    return cfg->is_unsigned ? b : (int8_t)b;
}

/* Value e of a segment: one byte each, or (packed) nibble e of the bytes. */
static inline int32_t qat(const clq_cpu_ewcfg *cfg, const uint8_t *q, size_t e) {
    if (!cfg->packed) return qval(cfg, q[e]);
    unsigned v = (e & 1) ? q[e / 2] >> 4 : q[e / 2] & 15u;
    return cfg->is_unsigned ? (int32_t)v : (int32_t)(v ^ 8u) - 8;
}

static void dk_run(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n, float scale,
                   int32_t zp) {
    const uint8_t *q = in;
    float *y = out;
    zp = clq__cpu_zp_clamp(cfg, zp);
    for (size_t j = 0; j < n; j++) y[j] = (float)(qat(cfg, q, j) - zp) * scale;
}

static void dk_vec(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                   const float *scale, const int32_t *zp) {
    const uint8_t *q = in;
    float *y = out;
    for (size_t j = 0; j < n; j++)
        y[j] = (float)(qval(cfg, q[j]) - (zp ? clq__cpu_zp_clamp(cfg, zp[j]) : 0)) * scale[j];
}

static void dk_blocks(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t block,
                      size_t nblk, const float *scale, const int32_t *zp) {
    size_t qb = cfg->packed ? block / 2 : block;
    for (size_t b = 0; b < nblk; b++)
        dk_run(cfg, (const uint8_t *)in + b * qb, (float *)out + b * block, block, scale[b],
               zp ? zp[b] : 0);
}

static void dk_unpack4(int is_signed, const uint8_t *src, uint8_t *dst, size_t n) {
    for (size_t e = 0; e < n; e++) {
        unsigned v = (e & 1) ? src[e / 2] >> 4 : src[e / 2] & 15u;
        dst[e] = (uint8_t)(is_signed ? (int)(v ^ 8u) - 8 : (int)v);
    }
}

const clq_cpu_ewkernels clq__cpu_dqk_portable = {dk_run, dk_vec, dk_blocks, NULL, dk_unpack4, 1, NULL};

void clq__cpu_dequantize_job(const clq_cpu_state *st, const clq_dequantize_op *op,
                             clq_cpu_ew_job *j) {
    int four = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    *j = (clq_cpu_ew_job){st->k.dequantize, {0}, &op->lay, clq__cpu_span_ptr(op->q), four ? 0 : 1,
                          clq__cpu_span_ptr(op->y), sizeof(float), clq__cpu_span_ptr(op->scale),
                          clq__cpu_span_ptr(op->zp)};
    j->cfg.is_unsigned = op->qtype == CLQ_U8 || op->qtype == CLQ_U4;
    int zlo, zhi; /* the zero points' clamp: the qtype's full range */
    clq__qrange(op->qtype, 0, &zlo, &zhi);
    j->cfg.zlo = zlo, j->cfg.zhi = zhi;
    j->cfg.stream = op->lay.n * sizeof(float) >= st->stream_min;
}

clq_status clq__cpu_dequantize(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass) {
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS; /* nothing here can fail */
    clq_cpu_ew_job j;
    clq__cpu_dequantize_job(ctx->impl, op, &j);
    clq__cpu_ew_run(((clq_cpu_state *)ctx->impl)->pool, &j);
    return CLQ_SUCCESS;
}
