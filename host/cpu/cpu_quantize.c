/* cpu_quantize.c: the quantize op on the CPU (its settings, run by the generic
 * element-wise driver) and its portable C kernels; SIMD kernels are in
 * cpu_quantize_avx512.c and cpu_quantize_avx2.c (shared: cpu_quantize_simd.h). */
#include "cpu_convert.h"
#include "cpu_elementwise.h"

/* Elements [0, n) with one (scale, zp) into one byte each, or packed. */
static void qk_run(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t n, float scale,
                   int32_t zp) {
    float s = cfg->reciprocal ? 1.0f / scale : scale, zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    uint8_t *q = out;
    if (!cfg->packed) {
        for (size_t j = 0; j < n; j++)
            q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin,
                                     cfg->qmax, cfg->half_away, cfg->reciprocal);
        return;
    }
    for (size_t j = 0; j < n; j += 2) {
        unsigned lo = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin,
                                        cfg->qmax, cfg->half_away, cfg->reciprocal);
        unsigned hi = j + 1 < n ? clq__quantize_one(clq__load_float(cfg->xtype, x, j + 1), s, zpf,
                                                    cfg->qmin, cfg->qmax, cfg->half_away,
                                                    cfg->reciprocal)
                                : 0;
        q[j / 2] = (uint8_t)((lo & 15u) | (hi & 15u) << 4);
    }
}

static void qk_vec(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t n,
                   const float *scale, const int32_t *zp) {
    uint8_t *q = out;
    if (cfg->lanes) { /* division mode: scale[lanes + j], zero point scale[2 lanes + j] */
        for (size_t j = 0; j < n; j++)
            q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), scale[cfg->lanes + j],
                                     scale[2 * cfg->lanes + j], cfg->qmin, cfg->qmax,
                                     cfg->half_away, 0);
        return;
    }
    for (size_t j = 0; j < n; j++) {
        float s = cfg->reciprocal ? 1.0f / scale[j] : scale[j];
        float zpf = zp ? clq__zp_clamp(zp[j], cfg->zlo, cfg->zhi) : 0.0f;
        q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin, cfg->qmax,
                                 cfg->half_away, cfg->reciprocal);
    }
}

static void qk_blocks(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t block,
                      size_t nblk, const float *scale, const int32_t *zp) {
    size_t xs = clq__cpu_dtype_size(cfg->xtype), qb = cfg->packed ? block / 2 : block;
    for (size_t b = 0; b < nblk; b++)
        qk_run(cfg, (const char *)x + b * block * xs, (uint8_t *)out + b * qb, block, scale[b],
               zp ? zp[b] : 0);
}

static void qk_pack4(int stream, const uint8_t *src, uint8_t *dst, size_t n) {
    (void)stream;
    for (size_t k = 0; k < n / 2; k++)
        dst[k] = (uint8_t)((src[2 * k] & 15u) | (unsigned)(src[2 * k + 1] << 4));
}

const clq_cpu_ewkernels clq__cpu_qk_portable = {qk_run, qk_vec, qk_blocks, qk_pack4, NULL, 1, NULL};

/* Per axis on the last axis, every row's vec segment walks the same axis_len
 * parameters: in division mode the SIMD kernels then take their reciprocal fast
 * path per lane, on 1/scale made once here (cfg.lanes), instead of a division
 * per element. Worth it when the rows outnumber the reciprocals' cost. */
static int lanes_pay(const clq_cpu_state *st, const clq_quantize_op *op) {
    const clq_layout *l = &op->lay;
    return l->gran == CLQ_PER_AXIS && l->inner == 1 && !op->reciprocal && l->axis_len &&
           l->n / l->axis_len >= 16 && st->k.quantize != &clq__cpu_qk_portable;
}

/* Fills lanes (3 arrays of axis_len floats, see clq_cpu_ewcfg.lanes); 0 when a
 * parameter is outside what the fast path serves (the kernels then divide). */
static int lanes_fill(const clq_cpu_ewcfg *cfg, size_t len, const float *scale, const int32_t *zp,
                      float *lanes) {
    for (size_t p = 0; p < len; p++) {
        float zf = clq__zp_clamp(zp ? zp[p] : 0, cfg->zlo, cfg->zhi);
        if (!clq__q_fast_ok(scale[p], zf, cfg->qmin, cfg->qmax)) return 0;
        lanes[p] = 1.0f / scale[p];
        lanes[len + p] = scale[p];
        lanes[2 * len + p] = zf;
    }
    return 1;
}

void clq__cpu_quantize_job(const clq_cpu_state *st, const clq_quantize_op *op, clq_cpu_ew_job *j) {
    int four = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    *j = (clq_cpu_ew_job){st->k.quantize, {0}, &op->lay, clq__cpu_span_ptr(op->x),
                          clq__cpu_dtype_size(op->xtype), clq__cpu_span_ptr(op->q), four ? 0 : 1,
                          clq__cpu_span_ptr(op->scale), clq__cpu_span_ptr(op->zp)};
    j->cfg.xtype = op->xtype;
    j->cfg.qmin = (float)op->qmin;
    j->cfg.qmax = (float)op->qmax;
    j->cfg.half_away = op->rounding == CLQ_ROUND_HALF_AWAY;
    j->cfg.reciprocal = op->reciprocal != 0;
    j->cfg.is_unsigned = op->qtype == CLQ_U8 || op->qtype == CLQ_U4;
    int zlo, zhi; /* the zero points' clamp: the qtype's full range */
    clq__qrange(op->qtype, 0, &zlo, &zhi);
    j->cfg.zlo = zlo, j->cfg.zhi = zhi;
    j->cfg.stream = (four ? op->lay.n / 2 : op->lay.n) >= st->stream_min;
}

clq_status clq__cpu_quantize(clq_context *ctx, const clq_quantize_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    clq_buffer *lanes = NULL; /* kept in scratch, so the run pass cannot fail */
    if (lanes_pay(st, op)) {
        clq_status rc = clq__scratch(ctx, CLQ_SCRATCH_WORK, 3 * op->lay.axis_len * sizeof(float), &lanes);
        if (rc != CLQ_SUCCESS) return rc;
    }
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS;
    clq_cpu_ew_job j;
    clq__cpu_quantize_job(st, op, &j);
    if (lanes && lanes_fill(&j.cfg, op->lay.axis_len, j.scale, j.zp, lanes->host)) {
        j.cfg.lanes = op->lay.axis_len;
        j.scale = lanes->host;
        j.zp = NULL;
    }
    clq__cpu_ew_run(st->pool, &j);
    return CLQ_SUCCESS;
}
