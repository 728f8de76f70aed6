/* ref_ops.c: the reference ops, element by element over N-d indices, exactly as the
 * formulas of docs/NUMERICS.md read (no fusion, no vectorisation, no shortcuts). */
#include "ref.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

size_t ref_numel(int ndim, const size_t *shape) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

void ref_contiguous_strides(int ndim, const size_t *shape, ptrdiff_t *strides) {
    ptrdiff_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= (ptrdiff_t)shape[d];
    }
}

size_t ref_view_elem(const ref_view *v, const size_t *idx) {
    ptrdiff_t e = (ptrdiff_t)v->offset;
    for (int d = 0; d < v->ndim; d++) e += (ptrdiff_t)idx[d] * v->strides[d];
    return (size_t)e;
}

size_t ref_view_extent(const ref_view *v) {
    if (ref_numel(v->ndim, v->shape) == 0) return v->offset;
    size_t last[CLQ_MAX_DIMS];
    for (int d = 0; d < v->ndim; d++) last[d] = v->shape[d] - 1;
    return ref_view_elem(v, last) + 1; /* non-negative strides only in the tests */
}

void ref_unravel(int ndim, const size_t *shape, size_t lin, size_t *idx) {
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = lin % shape[d];
        lin /= shape[d];
    }
}

static int norm_axis(const ref_gran *g, int ndim) { return g->axis < 0 ? g->axis + ndim : g->axis; }

size_t ref_param_count(const ref_gran *g, int ndim, const size_t *shape) {
    if (g->gran == CLQ_PER_TENSOR) return 1;
    int a = norm_axis(g, ndim);
    if (g->gran == CLQ_PER_AXIS) return shape[a];
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= d == a ? (shape[d] + g->block_size - 1) / g->block_size : shape[d];
    return n;
}

size_t ref_param_index(const ref_gran *g, int ndim, const size_t *shape, const size_t *idx) {
    if (g->gran == CLQ_PER_TENSOR) return 0;
    int a = norm_axis(g, ndim);
    if (g->gran == CLQ_PER_AXIS) return idx[a];
    size_t p = 0;
    for (int d = 0; d < ndim; d++) {
        size_t dim = d == a ? (shape[d] + g->block_size - 1) / g->block_size : shape[d];
        size_t i = d == a ? idx[d] / g->block_size : idx[d];
        p = p * dim + i;
    }
    return p;
}

void ref_minmax(clq_dtype xtype, const void *x, const ref_view *v, const ref_gran *g, float *mn,
                float *mx) {
    size_t np = ref_param_count(g, v->ndim, v->shape), n = ref_numel(v->ndim, v->shape);
    unsigned char *seen = calloc(np ? np : 1, 1);
    size_t idx[CLQ_MAX_DIMS];
    for (size_t i = 0; i < n; i++) {
        ref_unravel(v->ndim, v->shape, i, idx);
        float f = ref_load_float(xtype, x, ref_view_elem(v, idx));
        if (isnan(f)) continue;
        size_t p = ref_param_index(g, v->ndim, v->shape, idx);
        if (!seen[p]) {
            mn[p] = mx[p] = f;
            seen[p] = 1;
            continue;
        }
        if (f < mn[p]) mn[p] = f;
        if (f > mx[p]) mx[p] = f;
    }
    for (size_t p = 0; p < np; p++) {
        if (!seen[p]) mn[p] = mx[p] = 0.0f;
        if (mn[p] == 0.0f) mn[p] = 0.0f; /* -0.0 -> +0.0 */
        if (mx[p] == 0.0f) mx[p] = 0.0f;
    }
    free(seen);
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void ref_qparams(float mn, float mx, clq_scheme scheme, clq_dtype qtype, int narrow, float *scale,
                 int32_t *zero_point) {
    int qmin, qmax;
    ref_qrange(qtype, narrow, &qmin, &qmax);
    if (isnan(mn)) mn = 0.0f;
    if (isnan(mx)) mx = 0.0f;
    mn = clampf(mn, -FLT_MAX, FLT_MAX);
    mx = clampf(mx, -FLT_MAX, FLT_MAX);
    float lo = fminf(mn, 0.0f), hi = fmaxf(mx, 0.0f);
    float s;
    int32_t z;
    if (scheme == CLQ_AFFINE) {
        float range = (float)(qmax - qmin);
        if (hi == lo) {
            s = 1.0f;
            z = 0 < qmin ? qmin : 0 > qmax ? qmax : 0;
        } else {
            s = (hi - lo) / range;
            if (isinf(s)) s = hi / range - lo / range;
            s = fmaxf(s, FLT_MIN);
            float zf = (float)qmin - lo / s;
            z = (int32_t)rintf(clampf(zf, (float)qmin, (float)qmax));
        }
    } else {
        float amax = fmaxf(-lo, hi);
        s = amax == 0.0f ? 1.0f : amax / ((float)(qmax - qmin) / 2.0f);
        s = fmaxf(s, FLT_MIN);
        z = qtype == CLQ_U8 ? 128 : qtype == CLQ_U4 ? 8 : 0;
    }
    *scale = s;
    *zero_point = z;
}

int32_t ref_quantize_one(float x, float scale, int32_t zp, int qmin, int qmax, clq_rounding rounding,
                         int reciprocal) {
    if (isnan(x)) return zp;
    float v = reciprocal ? x * (1.0f / scale) : x / scale;
    float r = rounding == CLQ_ROUND_HALF_AWAY ? roundf(v) : rintf(v);
    float t = r + (float)zp;
    /* reciprocal mode with 1/scale = +Inf: 0 * Inf is NaN and lands on the zero point */
    if (isnan(t)) return zp;
    if (t < (float)qmin) return qmin;
    if (t > (float)qmax) return qmax;
    return (int32_t)t;
}

float ref_dequantize_one(int32_t q, float scale, int32_t zp) { return (float)(q - zp) * scale; }

void ref_quantize(clq_dtype xtype, const void *x, const ref_view *v, const ref_gran *g,
                  const float *scale, const int32_t *zp, clq_dtype qtype, int narrow,
                  clq_rounding rounding, int reciprocal, int32_t *q) {
    int qmin, qmax;
    ref_qrange(qtype, narrow, &qmin, &qmax);
    size_t n = ref_numel(v->ndim, v->shape), idx[CLQ_MAX_DIMS];
    for (size_t i = 0; i < n; i++) {
        ref_unravel(v->ndim, v->shape, i, idx);
        size_t p = ref_param_index(g, v->ndim, v->shape, idx);
        float f = ref_load_float(xtype, x, ref_view_elem(v, idx));
        q[i] = ref_quantize_one(f, scale[p], zp ? zp[p] : 0, qmin, qmax, rounding, reciprocal);
    }
}
