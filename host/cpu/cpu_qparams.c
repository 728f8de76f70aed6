/* cpu_qparams.c: scale and zero point from min/max arrays on the CPU, by the
 * formulas of docs/NUMERICS.md ("Choosing scale and zero point", "Profiles"). */
#include <float.h>
#include <math.h>

#include "cpu_internal.h"

typedef struct qpjob {
    const float *mn, *mx;
    float *scale;
    int32_t *zp;
    size_t count;
    int symmetric;
    int pytorch;
    int qmin, qmax;
    int32_t sym_zp;
} qpjob;

static float sanitize(float v) {
    if (v != v) return 0.0f;
    return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : v;
}

/* PyTorch's _calculate_qparams in f32: the scale floored at float32 eps (so an
 * all-zero range gives eps, not 1), the zero point rounded before it is clamped. */
static void qparams_pytorch(const qpjob *j, float lo, float hi, float *scale, int32_t *zp) {
    float span = (float)(j->qmax - j->qmin), s;
    if (j->symmetric) {
        s = fmaxf(fmaxf(-lo, hi) / (span / 2.0f), FLT_EPSILON);
        *scale = s;
        *zp = j->sym_zp;
        return;
    }
    s = (hi - lo) / span;
    if (s == INFINITY) s = hi / span - lo / span; /* hi - lo overflowed */
    s = fmaxf(s, FLT_EPSILON);
    /* |lo / s| <= qmax - qmin (+ rounding): the int conversion cannot overflow */
    int32_t z = j->qmin - (int32_t)rintf(lo / s);
    *scale = s;
    *zp = z < j->qmin ? j->qmin : z > j->qmax ? j->qmax : z;
}

static void qparams_one(const qpjob *j, float mn, float mx, float *scale, int32_t *zp) {
    float lo = fminf(sanitize(mn), 0.0f), hi = fmaxf(sanitize(mx), 0.0f);
    float span = (float)(j->qmax - j->qmin), qmin = (float)j->qmin, qmax = (float)j->qmax;
    float s;
    if (j->pytorch) {
        qparams_pytorch(j, lo, hi, scale, zp);
        return;
    }
    if (j->symmetric) {
        float amax = fmaxf(-lo, hi);
        s = amax == 0.0f ? 1.0f : amax / (span / 2.0f);
        *scale = fmaxf(s, FLT_MIN);
        *zp = j->sym_zp;
        return;
    }
    if (hi == lo) {
        *scale = 1.0f;
        *zp = j->qmin > 0 ? j->qmin : j->qmax < 0 ? j->qmax : 0;
        return;
    }
    s = (hi - lo) / span;
    if (s == INFINITY) s = hi / span - lo / span; /* hi - lo overflowed */
    s = fmaxf(s, FLT_MIN);
    /* clip before rounding, as ONNX DynamicQuantizeLinear */
    float t = qmin - lo / s;
    t = t < qmin ? qmin : t > qmax ? qmax : t;
    *scale = s;
    *zp = (int32_t)rintf(t);
}

static void qp_chunk(void *arg, size_t chunk) {
    const qpjob *j = arg;
    size_t i0 = chunk * CLQ_CPU_CHUNK, i1 = i0 + CLQ_CPU_CHUNK;
    if (i1 > j->count) i1 = j->count;
    for (size_t i = i0; i < i1; i++) {
        int32_t z;
        qparams_one(j, j->mn[i], j->mx[i], j->scale + i, &z);
        if (j->zp) j->zp[i] = z;
    }
}

clq_status clq__cpu_qparams(clq_context *ctx, const clq_qparams_op *op, clq_pass pass) {
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS; /* nothing here can fail */
    clq_cpu_state *st = ctx->impl;
    qpjob j = {clq__cpu_span_ptr(op->min),
               clq__cpu_span_ptr(op->max),
               clq__cpu_span_ptr(op->scale),
               clq__cpu_span_ptr(op->zp),
               op->count,
               op->scheme == CLQ_SYMMETRIC,
               op->pytorch,
               op->qmin,
               op->qmax,
               op->sym_zp};
    clq__cpu_parallel(st->pool, clq__cpu_nchunks(op->count, CLQ_CPU_CHUNK), qp_chunk, &j);
    return CLQ_SUCCESS;
}
