/* minmax.cl: NaN-ignoring min and max of f32/f16/bf16 per granule. Stage 1
 * (minmax_gran, or minmax_cols where the pairs run along the rows) reduces about
 * CLQ_MINMAX_CHUNK elements per work item; with one part per granule it writes the
 * result, else partials that minmax_finish folds. */

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

/* CLQ_VEC full blocks of `block` (a multiple of CLQ_VEC) elements from element e:
 * each block folds to one vector, then a transposing tree of even/odd swizzles
 * (native shuffles, unlike POCL's shuffle2) leaves block i's min and max in lane i,
 * so CLQ_VEC results cost CLQ_VEC - 1 vector steps instead of CLQ_VEC horizontal
 * folds. The vectors are the device's width (the tuning row's CLQ_VEC: 8 floats on
 * AVX2, 16 on AVX-512): 16-wide with 16 ymm registers kept the tree's 32 vectors on
 * the stack. The min tree and the max tree run one after the other (the second
 * rereads the blocks from L1), so only one tree's vectors are live at a time. */
#ifndef CLQ_VEC
#define CLQ_VEC 16
#endif
#if CLQ_VEC == 8
typedef float8 mmv_t;
typedef int8 mmi_t;
#define MMV_LOAD(p) vload8(0, (const global float *)(p))
#define MMV_LOAD_HALF(p) vload_half8(0, (const global half *)(p))
#define MMV_LOAD_BF16(p) as_float8(convert_uint8(vload8(0, (const global ushort *)(p))) << 16)
/* 8 lanes are two 128-bit halves on AVX2, where shuffles across them cost more: the
 * first two levels pair lanes within each half (vshufps), the last pairs the halves. */
#define MM_EV2(a, b) ((float8)((a).s02, (b).s02, (a).s46, (b).s46))
#define MM_OD2(a, b) ((float8)((a).s13, (b).s13, (a).s57, (b).s57))
#define MM_EV4 MM_EV2
#define MM_OD4 MM_OD2
#define MM_EV8(a, b) ((float8)((a).lo, (b).lo))
#define MM_OD8(a, b) ((float8)((a).hi, (b).hi))
#elif CLQ_VEC == 16
typedef float16 mmv_t;
typedef int16 mmi_t;
#define MMV_LOAD(p) vload16(0, (const global float *)(p))
#define MMV_LOAD_HALF(p) vload_half16(0, (const global half *)(p))
#define MMV_LOAD_BF16(p) as_float16(convert_uint16(vload16(0, (const global ushort *)(p))) << 16)
#define MM_EV2(a, b) ((float16)((a).even, (b).even))
#define MM_OD2(a, b) ((float16)((a).odd, (b).odd))
#define MM_EV4 MM_EV2
#define MM_OD4 MM_OD2
#define MM_EV8 MM_EV2
#define MM_OD8 MM_OD2
#define MM_EV16 MM_EV2
#define MM_OD16 MM_OD2
#else
#error "CLQ_VEC must be 8 or 16"
#endif
typedef struct __attribute__((packed)) {
    mmv_t v;
} clq_mmv_p;

/* One block folded into a vector by OP (MIN16 or MAX16), per input type LD. */
#define MM_BLOCK(NAME, LD, OP, INIT, T)                                                       \
    inline __attribute__((always_inline)) mmv_t NAME(const global T *x, ulong e, ulong block) { \
        mmv_t r = (mmv_t)(INIT);                                                              \
        for (ulong k = 0; k < block; k += CLQ_VEC) r = OP(r, LD(x + e + k));                  \
        return r;                                                                             \
    }
/* The tree: level L folds pairs of lanes of a and of b so that the result holds the
 * 2L blocks' partial folds in block order (even/odd halves for 16 lanes). */
#define MM_TREE(NAME, SUB, OP, L, T)                                                          \
    inline __attribute__((always_inline)) mmv_t NAME(const global T *x, ulong e, ulong block) { \
        mmv_t a = SUB(x, e, block), b = SUB(x, e + (L / 2) * block, block);                   \
        return OP(MM_EV##L(a, b), MM_OD##L(a, b));                                            \
    }
#define MM_MIN2(a, b) MIN16(a, b)
#define MM_MAX2(a, b) MAX16(a, b)
#define MM_TREES(SFX, LD, T)                                                                  \
    MM_BLOCK(mm_lo1##SFX, LD, MIN16, INFINITY, T)                                             \
    MM_BLOCK(mm_hi1##SFX, LD, MAX16, -INFINITY, T)                                            \
    MM_TREE(mm_lo2##SFX, mm_lo1##SFX, MM_MIN2, 2, T)                                          \
    MM_TREE(mm_hi2##SFX, mm_hi1##SFX, MM_MAX2, 2, T)                                          \
    MM_TREE(mm_lo4##SFX, mm_lo2##SFX, MM_MIN2, 4, T)                                          \
    MM_TREE(mm_hi4##SFX, mm_hi2##SFX, MM_MAX2, 4, T)                                          \
    MM_TREE(mm_lo8##SFX, mm_lo4##SFX, MM_MIN2, 8, T)                                          \
    MM_TREE(mm_hi8##SFX, mm_hi4##SFX, MM_MAX2, 8, T)                                          \
    MM_TREE16(SFX, T)
#if CLQ_VEC == 16
#define MM_TREE16(SFX, T)                                                                     \
    MM_TREE(mm_lo16##SFX, mm_lo8##SFX, MM_MIN2, 16, T)                                        \
    MM_TREE(mm_hi16##SFX, mm_hi8##SFX, MM_MAX2, 16, T)
#else
#define MM_TREE16(SFX, T)
#endif
MM_TREES(_f32, MMV_LOAD, float)
MM_TREES(_f16, MMV_LOAD_HALF, half)
MM_TREES(_bf16, MMV_LOAD_BF16, ushort)
#define MM_LO_TREE(SFX) MM_LO_TREE_(SFX, CLQ_VEC)
#define MM_LO_TREE_(SFX, V) MM_LO_TREE__(SFX, V)
#define MM_LO_TREE__(SFX, V) mm_lo##V##SFX
#define MM_HI_TREE(SFX) MM_HI_TREE_(SFX, CLQ_VEC)
#define MM_HI_TREE_(SFX, V) MM_HI_TREE__(SFX, V)
#define MM_HI_TREE__(SFX, V) mm_hi##V##SFX

inline void mm_store(mmv_t v, global float *p) { ((global clq_mmv_p *)p)->v = v; }

/* Blocks [p, p + CLQ_VEC) of a full-block layout; an empty block (all NaN) and a
 * zero are written as +0.0 (minmax_write's rule, lane by lane). */
#define MM_BLOCKS(SFX, T)                                                                     \
    {                                                                                         \
        const global T *xs = (const global T *)x;                                             \
        mmv_t lo = MM_LO_TREE(SFX)(xs, e, block), hi = MM_HI_TREE(SFX)(xs, e, block);         \
        mmi_t empty = lo > hi;                                                                \
        mm_store(select(lo, (mmv_t)(0.0f), empty | (lo == 0.0f)), omin);                      \
        mm_store(select(hi, (mmv_t)(0.0f), empty | (hi == 0.0f)), omax);                      \
    }
inline __attribute__((always_inline)) void minmax_vec_blocks(const global uchar *x, ulong e,
                                                             int xt, ulong block,
                                                             global float *omin,
                                                             global float *omax) {
    if (xt == CLQ_F32) MM_BLOCKS(_f32, float)
    else if (xt == CLQ_F16) MM_BLOCKS(_f16, half)
    else MM_BLOCKS(_bf16, ushort)
}

/* Work item (part j, granules g * gpi ...): CLQ_MINMAX_CHUNK elements of granule
 * p, or (gpi > 1, mode 2 only) gpi whole consecutive blocks. */
kernel void minmax_gran(CLQ_PARAMS(minmax_gran)) {
    ulong j = get_global_id(0), p = get_global_id(1) * gpi;
    if (p >= ngran || j >= nparts) return;
    if (gpi > 1) {
        ulong pend = min(ngran, p + gpi);
        if (block % CLQ_VEC == 0 && axis_len % block == 0) {
            /* Full blocks: block p starts at element p * block. A constant 32 (the
             * usual block) unrolls the block loops. */
            if (block == 32)
                for (; p + CLQ_VEC <= pend; p += CLQ_VEC)
                    minmax_vec_blocks(x, xoff + p * 32, xt, 32, omin + minoff + p,
                                      omax + maxoff + p);
            else
                for (; p + CLQ_VEC <= pend; p += CLQ_VEC)
                    minmax_vec_blocks(x, xoff + p * block, xt, block, omin + minoff + p,
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

/* Column layouts (per axis on the last axis, per block on a strided axis): the pairs
 * run along the row, so a work item folds a strip of MMC_NV vectors of columns over
 * grows rows of one group, reading each row's strip contiguously; the granule walk
 * would step a row length per element. One part per group writes the pairs; more
 * write partials [pair][part] that minmax_finish folds. */
#define MMC_NV 4
#define MMC_STRIP(LD, T)                                                                      \
    {                                                                                         \
        const global T *xs = (const global T *)x + xoff + c0;                                 \
        for (ulong r = r0; r < r1; r++) {                                                     \
            const global T *xr = xs + r * rlen;                                               \
            mmv_t v0 = LD(xr), v1 = LD(xr + CLQ_VEC), v2 = LD(xr + 2 * CLQ_VEC),              \
                  v3 = LD(xr + 3 * CLQ_VEC);                                                  \
            l0 = MIN16(l0, v0), h0 = MAX16(h0, v0), l1 = MIN16(l1, v1), h1 = MAX16(h1, v1);   \
            l2 = MIN16(l2, v2), h2 = MAX16(h2, v2), l3 = MIN16(l3, v3), h3 = MAX16(h3, v3);   \
        }                                                                                     \
    }
inline void mmc_write(mmv_t lo, mmv_t hi, int final, ulong nparts, global float *omin,
                      global float *omax) {
    if (final) {
        mmi_t empty = lo > hi;
        mm_store(select(lo, (mmv_t)(0.0f), empty | (lo == 0.0f)), omin);
        mm_store(select(hi, (mmv_t)(0.0f), empty | (hi == 0.0f)), omax);
        return;
    }
    union {
        mmv_t v;
        float f[CLQ_VEC];
    } l = {lo}, h = {hi};
    for (int i = 0; i < CLQ_VEC; i++) {
        omin[i * nparts] = l.f[i];
        omax[i * nparts] = h.f[i];
    }
}

/* Work item (strip k, part j of group g). */
kernel void minmax_cols(CLQ_PARAMS(minmax_cols)) {
    ulong k = get_global_id(0), t = get_global_id(1);
    ulong c0 = k * (MMC_NV * CLQ_VEC), j = t % nparts, g = t / nparts;
    if (c0 >= rlen || g >= ngroups) return;
    ulong gb = g % gnb, gs = (g / gnb) * gal + gb * gblk, gl = min(gblk, gal - gb * gblk);
    ulong r0 = gs + min(gl, j * grows), r1 = gs + min(gl, (j + 1) * grows);
    ulong pb = g * rlen + c0; /* the first pair of this strip */
    ulong ps = final ? 1 : nparts; /* pair stride in the output */
    global float *mn = omin + (final ? minoff + pb : pb * nparts + j);
    global float *mx = omax + (final ? maxoff + pb : pb * nparts + j);
    if (c0 + MMC_NV * CLQ_VEC <= rlen) {
        mmv_t l0 = (mmv_t)(INFINITY), h0 = (mmv_t)(-INFINITY);
        mmv_t l1 = l0, l2 = l0, l3 = l0, h1 = h0, h2 = h0, h3 = h0;
        if (xt == CLQ_F32) MMC_STRIP(MMV_LOAD, float)
        else if (xt == CLQ_F16) MMC_STRIP(MMV_LOAD_HALF, half)
        else MMC_STRIP(MMV_LOAD_BF16, ushort)
        mmc_write(l0, h0, final, nparts, mn, mx);
        mmc_write(l1, h1, final, nparts, mn + CLQ_VEC * ps, mx + CLQ_VEC * ps);
        mmc_write(l2, h2, final, nparts, mn + 2 * CLQ_VEC * ps, mx + 2 * CLQ_VEC * ps);
        mmc_write(l3, h3, final, nparts, mn + 3 * CLQ_VEC * ps, mx + 3 * CLQ_VEC * ps);
        return;
    }
    for (ulong c = 0; c0 + c < rlen; c++) { /* the last, partial strip */
        float lo = INFINITY, hi = -INFINITY;
        for (ulong r = r0; r < r1; r++) {
            float a = load1(x, xoff + r * rlen + c0 + c, xt);
            lo = MIN1(lo, a);
            hi = MAX1(hi, a);
        }
        if (final) minmax_write(lo, hi, mn + c, mx + c);
        else mn[c * nparts] = lo, mx[c * nparts] = hi;
    }
}

/* Folds the nparts partials of granule p. */
kernel void minmax_finish(CLQ_PARAMS(minmax_finish)) {
    ulong p = get_global_id(0);
    if (p >= ngran) return;
    float lo = INFINITY, hi = -INFINITY;
    for (ulong j = 0; j < nparts; j++) {
        lo = MIN1(lo, pmin[p * nparts + j]);
        hi = MAX1(hi, pmax[p * nparts + j]);
    }
    minmax_write(lo, hi, omin + minoff + p, omax + maxoff + p);
}
