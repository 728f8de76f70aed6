/* minmax.cl: NaN-ignoring min and max of f32/f16/bf16 per granule. Stage 1
 * (minmax_gran) reduces CLQ_MINMAX_CHUNK elements per work item; with one part
 * per granule it writes the result, else partials that minmax_finish folds. */

/* fmin/fmax return the other operand when one is NaN, so a NaN start value means
 * "nothing seen yet" and survives only when every element was NaN. */
inline float fold_min16(float16 v) {
    float8 a = fmin(v.lo, v.hi);
    float4 b = fmin(a.lo, a.hi);
    float2 c = fmin(b.lo, b.hi);
    return fmin(c.lo, c.hi);
}
inline float fold_max16(float16 v) {
    float8 a = fmax(v.lo, v.hi);
    float4 b = fmax(a.lo, a.hi);
    float2 c = fmax(b.lo, b.hi);
    return fmax(c.lo, c.hi);
}

/* No non-NaN value gives 0, and a zero is written as +0.0 (docs/NUMERICS.md). */
inline float minmax_fix(float v) { return (isnan(v) || v == 0.0f) ? 0.0f : v; }

/* Folds elements [e, e + run) into the accumulators. */
inline void minmax_run(const global uchar *x, ulong e, int xt, ulong run, float16 *lo16,
                       float16 *hi16, float *lo, float *hi) {
    ulong k = 0;
    float16 la = *lo16, ha = *hi16, lb = la, hb = ha;
    /* Two accumulators so consecutive fmin/fmax do not wait on each other. */
    for (; k + 32 <= run; k += 32) {
        float16 a = load16(x, e + k, xt), b = load16(x, e + k + 16, xt);
        la = fmin(la, a);
        ha = fmax(ha, a);
        lb = fmin(lb, b);
        hb = fmax(hb, b);
    }
    for (; k + 16 <= run; k += 16) {
        float16 a = load16(x, e + k, xt);
        la = fmin(la, a);
        ha = fmax(ha, a);
    }
    float l = *lo, h = *hi;
    for (; k < run; k++) {
        float a = load1(x, e + k, xt);
        l = fmin(l, a);
        h = fmax(h, a);
    }
    *lo16 = fmin(la, lb);
    *hi16 = fmax(ha, hb);
    *lo = l;
    *hi = h;
}

/* Work item (part j, granules g * gpi ...): CLQ_MINMAX_CHUNK elements of granule
 * p, or (gpi > 1, mode 2 only) gpi whole consecutive blocks. */
kernel void minmax_gran(const global uchar *x, ulong xoff, int xt, global float *omin,
                        ulong minoff, global float *omax, ulong maxoff, int final, ulong nparts,
                        int wmode, ulong ngran, ulong gpi, ulong n, ulong outer, ulong axis_len,
                        ulong inner, ulong nblocks, ulong block) {
    ulong j = get_global_id(0), p = get_global_id(1) * gpi;
    if (p >= ngran || j >= nparts) return;
    if (gpi > 1) {
        ulong pend = min(ngran, p + gpi);
        ulong o = p / nblocks, b = p - o * nblocks, e = o * axis_len + b * block;
        for (; p < pend; p++) {
            ulong len = min(block, axis_len - b * block);
            float16 lo16 = (float16)(NAN), hi16 = lo16;
            float lo = NAN, hi = NAN;
            minmax_run(x, xoff + e, xt, len, &lo16, &hi16, &lo, &hi);
            omin[minoff + p] = minmax_fix(fmin(lo, fold_min16(lo16)));
            omax[maxoff + p] = minmax_fix(fmax(hi, fold_max16(hi16)));
            e += len;
            if (++b == nblocks) b = 0;
        }
        return;
    }
    walk_t w = walk_granule(wmode, p, n, outer, axis_len, inner, nblocks, block);
    ulong cnt = w.U * w.V, t0 = j * CLQ_MINMAX_CHUNK;
    ulong t1 = min(cnt, t0 + CLQ_MINMAX_CHUNK);
    float16 lo16 = (float16)(NAN), hi16 = lo16;
    float lo = NAN, hi = NAN;
    if (t0 < cnt) {
        ulong u = t0 / w.V, v = t0 - u * w.V;
        for (ulong t = t0; t < t1; u++, v = 0) {
            ulong run = min(w.V - v, t1 - t);
            minmax_run(x, xoff + w.base + u * w.su + v, xt, run, &lo16, &hi16, &lo, &hi);
            t += run;
        }
    }
    lo = fmin(lo, fold_min16(lo16));
    hi = fmax(hi, fold_max16(hi16));
    if (final) {
        omin[minoff + p] = minmax_fix(lo);
        omax[maxoff + p] = minmax_fix(hi);
    } else {
        omin[minoff + p * nparts + j] = lo;
        omax[maxoff + p * nparts + j] = hi;
    }
}

/* Folds the nparts partials of granule p. */
kernel void minmax_finish(const global float *pmin, const global float *pmax, ulong nparts,
                          global float *omin, ulong minoff, global float *omax, ulong maxoff,
                          ulong ngran) {
    ulong p = get_global_id(0);
    if (p >= ngran) return;
    float lo = NAN, hi = NAN;
    for (ulong j = 0; j < nparts; j++) {
        lo = fmin(lo, pmin[p * nparts + j]);
        hi = fmax(hi, pmax[p * nparts + j]);
    }
    omin[minoff + p] = minmax_fix(lo);
    omax[maxoff + p] = minmax_fix(hi);
}
