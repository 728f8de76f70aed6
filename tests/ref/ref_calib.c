/* ref_calib.c: the reference observers (running and moving-average min/max, per tensor
 * or per channel) and PyTorch's qparams formula, from docs/NUMERICS.md ("Calibration",
 * "Profiles") and torch.ao.quantization.observer, one element at a time. */
#include "ref.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ref_qparams_pytorch(float mn, float mx, clq_scheme scheme, clq_dtype qtype, int narrow,
                         float *scale, int32_t *zero_point) {
    int qmin, qmax;
    ref_qrange(qtype, narrow, &qmin, &qmax);
    /* the library's input rules (NaN as 0, infinities as +-FLT_MAX) come first */
    if (mn != mn) mn = 0.0f;
    if (mx != mx) mx = 0.0f;
    if (mn < -FLT_MAX) mn = -FLT_MAX;
    if (mn > FLT_MAX) mn = FLT_MAX;
    if (mx < -FLT_MAX) mx = -FLT_MAX;
    if (mx > FLT_MAX) mx = FLT_MAX;
    float min_neg = mn < 0.0f ? mn : 0.0f;
    float max_pos = mx > 0.0f ? mx : 0.0f;
    const float eps = 1.1920928955078125e-07f; /* torch.finfo(torch.float32).eps */
    float s;
    if (scheme == CLQ_SYMMETRIC) {
        float m = -min_neg > max_pos ? -min_neg : max_pos;
        float half = (float)((double)(qmax - qmin) / 2.0); /* Python float, exact */
        s = m / half;
        if (s < eps) s = eps;
        *scale = s;
        if (qtype == CLQ_S8 || qtype == CLQ_S4) *zero_point = 0;
        else if (qtype == CLQ_U8 && !narrow) *zero_point = 128; /* quint8's own range */
        else *zero_point = (qmin + qmax) / 2; /* a customized range: its midpoint, rounded down */
        return;
    }
    float span = (float)(qmax - qmin);
    s = (max_pos - min_neg) / span;
    if (s > FLT_MAX) s = max_pos / span - min_neg / span; /* the library's overflow rule */
    if (s < eps) s = eps;
    float r = nearbyintf(min_neg / s); /* torch.round: half to even (default rounding mode) */
    int32_t z = qmin - (int32_t)r;
    if (z < qmin) z = qmin;
    if (z > qmax) z = qmax;
    *scale = s;
    *zero_point = z;
}

void ref_qparams_profile(float mn, float mx, clq_scheme scheme, clq_dtype qtype, unsigned flags,
                         float *scale, int32_t *zero_point) {
    int narrow = (flags & CLQ_QPARAMS_NARROW_RANGE) != 0;
    if (flags & CLQ_QPARAMS_PROFILE_PYTORCH)
        ref_qparams_pytorch(mn, mx, scheme, qtype, narrow, scale, zero_point);
    else
        ref_qparams(mn, mx, scheme, qtype, narrow, scale, zero_point);
}

void ref_observer_init(ref_observer *o, clq_calib_method method, int per_axis, int axis,
                       double averaging_constant) {
    memset(o, 0, sizeof *o);
    o->method = method;
    o->per_axis = per_axis;
    o->axis = axis;
    o->c = averaging_constant;
    if (!per_axis) o->channels = 1;
}

void ref_observer_free(ref_observer *o) {
    free(o->mn);
    free(o->mx);
    free(o->seen);
    memset(o, 0, sizeof *o);
}

int ref_observer_batch(ref_observer *o, clq_dtype xtype, const void *x, const ref_view *v) {
    size_t n = ref_numel(v->ndim, v->shape);
    int axis = o->axis < 0 ? o->axis + v->ndim : o->axis;
    size_t ch = o->per_axis ? v->shape[axis] : 1;
    if (o->channels == 0) o->channels = ch; /* the first batch fixes it, empty or not */
    if (!o->mn) {
        o->mn = calloc(ch, sizeof *o->mn);
        o->mx = calloc(ch, sizeof *o->mx);
        o->seen = calloc(ch, 1);
    }
    float *bmn = malloc(ch * sizeof *bmn), *bmx = malloc(ch * sizeof *bmx);
    unsigned char *has = calloc(ch, 1);
    size_t idx[CLQ_MAX_DIMS];
    int inf = 0;
    for (size_t i = 0; i < n; i++) {
        ref_unravel(v->ndim, v->shape, i, idx);
        float f = ref_load_float(xtype, x, ref_view_elem(v, idx));
        if (isnan(f)) continue;
        if (isinf(f)) inf = 1;
        size_t c = o->per_axis ? idx[axis] : 0;
        if (!has[c]) {
            bmn[c] = bmx[c] = f;
            has[c] = 1;
        }
        if (f < bmn[c]) bmn[c] = f;
        if (f > bmx[c]) bmx[c] = f;
    }
    int ret = 0;
    if (inf) {
        ret = -1; /* refused: the state stays */
        goto done;
    }
    o->batches++;
    for (size_t c = 0; c < ch; c++) {
        if (!has[c]) continue; /* no value, or only NaN: this channel saw nothing */
        float b0 = bmn[c] == 0.0f ? 0.0f : bmn[c], b1 = bmx[c] == 0.0f ? 0.0f : bmx[c];
        if (!o->seen[c]) {
            o->mn[c] = b0;
            o->mx[c] = b1;
            o->seen[c] = 1;
        } else if (o->method == CLQ_CALIB_MINMAX) {
            o->mn[c] = b0 < o->mn[c] ? b0 : o->mn[c];
            o->mx[c] = b1 > o->mx[c] ? b1 : o->mx[c];
        } else {
            /* torch: min_val + averaging_constant * (min_val_cur - min_val), all f32 */
            float c32 = (float)o->c;
            float d0 = b0 - o->mn[c], d1 = b1 - o->mx[c];
            float p0 = c32 * d0, p1 = c32 * d1;
            o->mn[c] = o->mn[c] + p0;
            o->mx[c] = o->mx[c] + p1;
        }
    }
done:
    free(bmn);
    free(bmx);
    free(has);
    return ret;
}
