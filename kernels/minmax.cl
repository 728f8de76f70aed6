/* minmax.cl: NaN-ignoring min and max of f32/f16/bf16 per granule. Stage 1
 * (minmax_gran) reduces CLQ_MINMAX_CHUNK elements per work item; with one part
 * per granule it writes the result, else partials that minmax_finish folds. */

/* Accumulators start at +Inf (min) and -Inf (max) and take x only when x < lo
 * (x > hi): a NaN compares false and is skipped, and the select is one vminps.
 * A granule with no non-NaN value ends with lo > hi. */
#define MIN16(a, x) select((a), (x), (x) < (a))
#define MAX16(a, x) select((a), (x), (x) > (a))
#define MIN1(a, x) ((x) < (a) ? (x) : (a))
#define MAX1(a, x) ((x) > (a) ? (x) : (a))

inline float fold_min16(float16 v) {
    float8 a = MIN16(v.lo, v.hi);
    float4 b = MIN16(a.lo, a.hi);
    float2 c = MIN16(b.lo, b.hi);
    return MIN1(c.lo, c.hi);
}
inline float fold_max16(float16 v) {
    float8 a = MAX16(v.lo, v.hi);
    float4 b = MAX16(a.lo, a.hi);
    float2 c = MAX16(b.lo, b.hi);
    return MAX1(c.lo, c.hi);
}

/* No non-NaN value gives [0, 0], and a zero is written as +0.0 (docs/NUMERICS.md). */
inline void minmax_write(float lo, float hi, global float *omin, global float *omax) {
    if (lo > hi) lo = hi = 0.0f;
    *omin = lo == 0.0f ? 0.0f : lo;
    *omax = hi == 0.0f ? 0.0f : hi;
}

/* Folds elements [e, e + run) into the accumulators. */
inline __attribute__((always_inline)) void minmax_run(const global uchar *x, ulong e, int xt,
                                                      ulong run, float16 *lo16, float16 *hi16,
                                                      float *lo, float *hi) {
    ulong k = 0;
    float16 la = *lo16, ha = *hi16, lb = la, hb = ha;
    /* Two accumulators so consecutive selects do not wait on each other. */
    for (; k + 32 <= run; k += 32) {
        float16 a = load16(x, e + k, xt), b = load16(x, e + k + 16, xt);
        la = MIN16(la, a);
        ha = MAX16(ha, a);
        lb = MIN16(lb, b);
        hb = MAX16(hb, b);
    }
    for (; k + 16 <= run; k += 16) {
        float16 a = load16(x, e + k, xt);
        la = MIN16(la, a);
        ha = MAX16(ha, a);
    }
    float l = *lo, h = *hi;
    for (; k < run; k++) {
        float a = load1(x, e + k, xt);
        l = MIN1(l, a);
        h = MAX1(h, a);
    }
    *lo16 = MIN16(la, lb);
    *hi16 = MAX16(ha, hb);
    *lo = l;
    *hi = h;
}

/* 16 full blocks of `block` (a multiple of 16) elements from element e: each
 * block folds to one vector, then a transposing tree of even/odd swizzles (native
 * shuffles, unlike POCL's shuffle2) leaves block i's min and max in lane i, so 16
 * results cost 15 vector steps instead of 16 horizontal folds. The tree is built
 * depth first so only a few vectors are live at a time. */
typedef struct {
    float16 lo, hi;
} mm16_t;

inline __attribute__((always_inline)) mm16_t mm_block(const global uchar *x, ulong e, int xt,
                                                      ulong block) {
    mm16_t r = {(float16)(INFINITY), (float16)(-INFINITY)};
    for (ulong k = 0; k < block; k += 16) {
        float16 a = load16(x, e + k, xt);
        r.lo = MIN16(r.lo, a);
        r.hi = MAX16(r.hi, a);
    }
    return r;
}
/* Lanes 0-7 fold a's lane pairs, lanes 8-15 b's. */
inline __attribute__((always_inline)) mm16_t mm_merge(mm16_t a, mm16_t b) {
    mm16_t r;
    r.lo = MIN16((float16)(a.lo.even, b.lo.even), (float16)(a.lo.odd, b.lo.odd));
    r.hi = MAX16((float16)(a.hi.even, b.hi.even), (float16)(a.hi.odd, b.hi.odd));
    return r;
}
#define MM_TREE(NAME, SUB, HALF)                                                               \
    inline __attribute__((always_inline)) mm16_t NAME(const global uchar *x, ulong e, int xt,  \
                                                      ulong block) {                           \
        return mm_merge(SUB(x, e, xt, block), SUB(x, e + (HALF) * block, xt, block));          \
    }
MM_TREE(mm_tree2, mm_block, 1)
MM_TREE(mm_tree4, mm_tree2, 2)
MM_TREE(mm_tree8, mm_tree4, 4)
MM_TREE(mm_tree16, mm_tree8, 8)

inline __attribute__((always_inline)) void minmax_16_blocks(const global uchar *x, ulong e,
                                                            int xt, ulong block,
                                                            global float *omin,
                                                            global float *omax) {
    mm16_t r = mm_tree16(x, e, xt, block);
    int16 empty = r.lo > r.hi;
    store_f32x16(select(r.lo, (float16)(0.0f), empty | (r.lo == 0.0f)), omin);
    store_f32x16(select(r.hi, (float16)(0.0f), empty | (r.hi == 0.0f)), omax);
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
        if (block % 16 == 0 && axis_len % block == 0) {
            /* Full blocks: block p starts at element p * block. */
            for (; p + 16 <= pend; p += 16)
                minmax_16_blocks(x, xoff + p * block, xt, block, omin + minoff + p,
                                 omax + maxoff + p);
        }
        ulong o = p / nblocks, b = p - o * nblocks, e = o * axis_len + b * block;
        for (; p < pend; p++) {
            ulong len = min(block, axis_len - b * block);
            float16 lo16 = (float16)(INFINITY), hi16 = (float16)(-INFINITY);
            float lo = INFINITY, hi = -INFINITY;
            minmax_run(x, xoff + e, xt, len, &lo16, &hi16, &lo, &hi);
            minmax_write(MIN1(lo, fold_min16(lo16)), MAX1(hi, fold_max16(hi16)), omin + minoff + p,
                         omax + maxoff + p);
            e += len;
            if (++b == nblocks) b = 0;
        }
        return;
    }
    walk_t w = walk_granule(wmode, p, n, outer, axis_len, inner, nblocks, block);
    ulong cnt = w.U * w.V, t0 = j * CLQ_MINMAX_CHUNK;
    ulong t1 = min(cnt, t0 + CLQ_MINMAX_CHUNK);
    float16 lo16 = (float16)(INFINITY), hi16 = (float16)(-INFINITY);
    float lo = INFINITY, hi = -INFINITY;
    if (t0 < cnt) {
        ulong u = t0 / w.V, v = t0 - u * w.V;
        for (ulong t = t0; t < t1; u++, v = 0) {
            ulong run = min(w.V - v, t1 - t);
            minmax_run(x, xoff + w.base + u * w.su + v, xt, run, &lo16, &hi16, &lo, &hi);
            t += run;
        }
    }
    lo = MIN1(lo, fold_min16(lo16));
    hi = MAX1(hi, fold_max16(hi16));
    if (final) {
        minmax_write(lo, hi, omin + minoff + p, omax + maxoff + p);
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
    float lo = INFINITY, hi = -INFINITY;
    for (ulong j = 0; j < nparts; j++) {
        lo = MIN1(lo, pmin[p * nparts + j]);
        hi = MAX1(hi, pmax[p * nparts + j]);
    }
    minmax_write(lo, hi, omin + minoff + p, omax + maxoff + p);
}
