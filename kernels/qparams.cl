/* qparams.cl: scale and zero point per granule from min/max arrays, as
 * docs/NUMERICS.md "Choosing scale and zero point" and "Profiles" say, step for step. */

kernel void qparams(CLQ_PARAMS(qparams)) {
    ulong p = get_global_id(0);
    if (p >= count) return;
    float mn = imin[minoff + p], mx = imax[maxoff + p];
    mn = isnan(mn) ? 0.0f : clamp(mn, -FLT_MAX, FLT_MAX);
    mx = isnan(mx) ? 0.0f : clamp(mx, -FLT_MAX, FLT_MAX);
    float lo = fmin(mn, 0.0f), hi = fmax(mx, 0.0f);
    float fqmin = (float)qmin, fqmax = (float)qmax;
    float scale;
    int zp;
    if (pytorch) {
        /* PyTorch's _calculate_qparams: eps floor, zero point rounded then clamped */
        float d = (float)(qmax - qmin);
        if (symmetric) {
            scale = fmax(fmax(-lo, hi) / (d / 2.0f), FLT_EPSILON);
            zp = sym_zp;
        } else {
            scale = (hi - lo) / d;
            if (isinf(scale)) scale = hi / d - lo / d;
            scale = fmax(scale, FLT_EPSILON);
            zp = clamp(qmin - convert_int(rint(lo / scale)), qmin, qmax);
        }
    } else if (!symmetric) {
        if (hi == lo) {
            scale = 1.0f;
            zp = clamp(0, qmin, qmax);
        } else {
            float d = (float)(qmax - qmin);
            scale = (hi - lo) / d;
            if (isinf(scale)) scale = hi / d - lo / d;
            scale = fmax(scale, FLT_MIN);
            float z = fqmin - lo / scale;
            z = z < fqmin ? fqmin : z > fqmax ? fqmax : z;
            zp = convert_int(rint(z));
        }
    } else {
        float amax = fmax(-lo, hi);
        scale = amax == 0.0f ? 1.0f : amax / ((float)(qmax - qmin) / 2.0f);
        scale = fmax(scale, FLT_MIN);
        zp = sym_zp;
    }
    oscale[soff + p] = scale;
    if (has_zp) ozp[zoff + p] = zp;
}
