/* error.cl: error statistics (host/backend.h, clq_error_op): one work item per chunk of
 * CLQ_ERROR_CHUNK positions of a granule, whose CLQ_ERROR_LANES lanes are the components
 * of 16-wide accumulators; y is the second tensor, or dequantize(quantize(x)) made here
 * with common.cl's quantize element code (quantv_exact, quant1) and dequantize's
 * (q - zp) * scale, nothing stored but the chunk's partials. */

typedef struct {
    float16 e2, ab, mx, x2, y2, xy;
    int16 n;
} eacc_t;

/* Lanes `on` (all ones, or one lane for a single element) take x, y: e = y - x, a NaN e
 * skipped, each sum one f32 add (common.cl turns contraction off). */
inline __attribute__((always_inline)) void eacc_add(eacc_t *a, float16 x, float16 y,
                                                    int16 on) {
    float16 e = y - x;
    int16 ok = on & (e == e);
    float16 ae = fabs(e);
    a->e2 = select(a->e2, a->e2 + e * e, ok);
    a->ab = select(a->ab, a->ab + ae, ok);
    a->mx = select(a->mx, ae, ok & (ae > a->mx)); /* ae is no NaN where ok */
    a->x2 = select(a->x2, a->x2 + x * x, ok);
    a->y2 = select(a->y2, a->y2 + y * y, ok);
    a->xy = select(a->xy, a->xy + x * y, ok);
    a->n -= ok;
}

/* The lane fold of backend.h: a[l] + a[l + h] for h = 8, 4, 2, 1. */
inline __attribute__((always_inline)) float fold16(float16 v) {
    float8 t8 = v.lo + v.hi;
    float4 t4 = t8.lo + t8.hi;
    float2 t2 = t4.lo + t4.hi;
    return t2.x + t2.y;
}

/* Dequantized quantize of 16 elements, one parameter pair per lane (s, zf: the scale
 * and the clamped zero point as f32), as quantize.cl and dequantize.cl compute them. */
/* (Every helper here is always_inline: a GPU compiler that keeps a call to a plain
 * `inline` function finds no definition of it; offline-compile.sh checks.) */
inline __attribute__((always_inline)) float16 dq16(float16 x, float16 s, float16 zf, float qmin,
                                                   float qmax, int mode) {
    float16 inv = (mode & CLQ_MODE_RECIP) ? 1.0f / s : s;
#if CLQ_VEC == 16
    int16 q = quantv_exact(x, s, inv, zf, qmin - zf, qmax - zf, mode);
#else
    int16 q = (int16)(quantv_exact(x.lo, s.lo, inv.lo, zf.lo, qmin - zf.lo, qmax - zf.lo, mode),
                      quantv_exact(x.hi, s.hi, inv.hi, zf.hi, qmin - zf.hi, qmax - zf.hi, mode));
#endif
    return convert_float16(q - convert_int16(zf)) * s;
}

/* The same for one granule's pair (P from qpar_make), through the fma fast path when P
 * allows it (quantize.cl's loops do the same): its grid value r holds q as r >> 10. */
inline __attribute__((always_inline)) intv dqv_q(floatv x, const qpar_t *P) {
    floatv s = (floatv)(P->s), inv = (floatv)(P->inv), zf = (floatv)(P->zf), lo = (floatv)(P->lo);
    floatv hi = (floatv)(P->hi);
    if (P->mode & CLQ_MODE_FAST)
        return quantv_fast(x, s, inv, zf, lo, hi, (floatv)(P->mz), (floatv)(P->glo),
                           (floatv)(P->ghi), P->mode) >> 10;
    return quantv_exact(x, s, inv, zf, lo, hi, P->mode);
}
inline __attribute__((always_inline)) float16 dq16p(float16 x, const qpar_t *P) {
#if CLQ_VEC == 16
    int16 q = dqv_q(x, P);
#else
    int16 q = (int16)(dqv_q(x.lo, P), dqv_q(x.hi, P));
#endif
    return convert_float16(q - (int)P->zf) * P->s;
}

/* dq16p by Q_MARK (host/cpu/cpu_quantize_simd.h): RN(x / s) from inv = RN(1 / s) by
 * Markstein's correction, no fallback, and y = rne(clamp(., lo, hi)) * s, which is
 * (clamp(q) - zp) * s in f32 (clamped first, as quantv_exact, so that common.cl's rnev
 * form holds: POCL's rint is some fifteen instructions). For P from mark_ok (2^-90 and
 * 2^90: a margin for devices that flush denormals). A lane with |x| >= 2^13 s (or NaN)
 * keeps x * inv, which saturates (a NaN lane's e is NaN, left out by eacc_add). */
inline __attribute__((always_inline)) int mark_ok(float s, int mode) {
    return !(mode & (CLQ_MODE_RECIP | CLQ_MODE_AWAY)) && s >= 0x1p-90f && s <= 0x1p90f;
}
inline __attribute__((always_inline)) float16 dq16m(float16 x, const qpar_t *P) {
    float16 q0 = x * P->inv;
    float16 r = select((float16)(0.0f), fma(-q0, (float16)(P->s), x), fabs(x) < 0x1p13f * P->s);
    float16 t = fma(r, (float16)(P->inv), q0);
    t = select(t, (float16)(P->lo), t < P->lo);
    t = select(t, (float16)(P->hi), t > P->hi);
    return ((t + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC) * P->s; /* rnev on 16 lanes */
}

inline __attribute__((always_inline)) float dq1(float x, float s, float zf, float qmin, float qmax,
                                                int mode) {
    int q = quant1(x, s, 1.0f / s, zf, qmin - zf, qmax - zf, mode);
    return (float)(q - (int)zf) * s;
}

/* The parameter of element e and how many elements from e on follow it: the same one
 * (*consec 0) or the next ones in order (*consec 1); layout as clq_layout. */
inline __attribute__((always_inline)) ulong qseg(int gran, ulong e, ulong qal, ulong qin,
                                                 ulong nb, ulong B, ulong *pidx, int *consec) {
    *consec = 0;
    if (gran == CLQ_PER_TENSOR) {
        *pidx = 0;
        return ULONG_MAX;
    }
    ulong oc = e / qin, i = e - oc * qin, o = oc / qal, c = oc - o * qal;
    if (gran == CLQ_PER_AXIS) {
        *pidx = c;
        if (qin > 1) return qin - i;
        *consec = 1;
        return qal - c;
    }
    ulong cb = c / B;
    if (qin == 1) {
        *pidx = o * nb + cb;
        return min(B - (c - cb * B), qal - c);
    }
    *pidx = (o * nb + cb) * qin + i;
    *consec = 1;
    return qin - i;
}

#define LANE_IDS ((int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))

/* Elements [e, e + run) from lane ph on into a; xtc and qc are xt and quant as
 * constants (err_chunk), so that the loop carries no test of either. */
inline __attribute__((always_inline)) void err_run(eacc_t *a, CLQ_PARAMS(error), ulong e,
                                                   ulong run, ulong ph, const int xtc,
                                                   const int qc) {
    ulong pidx = 0, left = qc ? 0 : ULONG_MAX;
    int consec = 0;
    float s = 1.0f, zf = 0.0f;
    qpar_t P = qpar_make(1.0f, 0.0f, qmin, qmax, mode);
    int mk = 0;
    /* Blocks along the last axis (qinner 1): after the first segment, the next one is
     * parameter pidx + 1 from axis position cpos (0 past the axis' end), no division. */
    int blk1 = qgran == CLQ_PER_BLOCK && qinner == 1;
    ulong cpos = 0, seg = 0;
    for (ulong j = 0; j < run;) {
        /* Whole blocks of a multiple of 16 along the last axis, each starting at lane 0
         * and inside the run and the axis: one after another without the per-segment
         * bookkeeping below (the state it leaves is the one that code would). */
        if (qc && blk1 && left == 0 && j > 0 && (qblock & 15) == 0) {
            for (;;) {
                ulong c2 = cpos + seg == qaxis_len ? 0 : cpos + seg;
                if (c2 + qblock > qaxis_len || j + qblock > run || ((ph + j) & 15)) break;
                cpos = c2;
                pidx++;
                seg = qblock;
                s = scale[soff + pidx];
                zf = has_zp ? zp_clamp1(zp[zoff + pidx], qmin, qmax) : 0.0f;
                P = qpar_make(s, zf, qmin, qmax, mode);
                mk = mark_ok(s, mode);
                for (ulong t = 0; t < qblock; t += 16) {
                    float16 xv = load16(x, xoff + e + j + t, xtc);
                    eacc_add(a, xv, mk ? dq16m(xv, &P) : dq16p(xv, &P), (int16)(-1));
                }
                j += qblock;
            }
            if (j >= run) break;
        }
        if (left == 0) {
            if (blk1 && j > 0) {
                cpos += seg;
                if (cpos == qaxis_len) cpos = 0;
                pidx++;
                left = min(qblock, qaxis_len - cpos);
            } else {
                left = qseg(qgran, e + j, qaxis_len, qinner, qnblocks, qblock, &pidx, &consec);
                if (blk1) cpos = (e + j) % qaxis_len;
            }
            seg = left;
            s = scale[soff + pidx];
            zf = has_zp ? zp_clamp1(zp[zoff + pidx], qmin, qmax) : 0.0f;
            if (!consec) P = qpar_make(s, zf, qmin, qmax, mode), mk = mark_ok(s, mode);
        }
        ulong m = min(left, run - j), lane = (ph + j) & 15;
        left -= m;
        if (lane == 0 && m >= 16) {
            ulong m16 = m & ~(ulong)15;
            for (ulong t = 0; t < m16; t += 16) {
                ulong el = e + j + t;
                float16 xv = load16(x, xoff + el, xtc), yv;
                if (!qc) {
                    yv = load16(y, yoff + el, yt);
                } else if (!consec) {
                    yv = mk ? dq16m(xv, &P) : dq16p(xv, &P);
                } else {
                    ulong pi = pidx + t;
                    float16 sv = vload16(0, scale + soff + pi);
                    float16 zv = has_zp ? zp_clamp16(vload16(0, zp + zoff + pi), qmin, qmax)
                                        : (float16)(0.0f);
                    yv = dq16(xv, sv, zv, qmin, qmax, mode);
                }
                eacc_add(a, xv, yv, (int16)(-1));
            }
            j += m16;
            m -= m16;
            if (consec) pidx += m16;
        }
        for (; m; m--, j++) {
            ulong el = e + j;
            float xs = load1(x, xoff + el, xtc), ys;
            if (!qc) {
                ys = load1(y, yoff + el, yt);
            } else if (!consec) {
                ys = dq1(xs, s, zf, qmin, qmax, mode);
            } else {
                float si = scale[soff + pidx];
                float zi = has_zp ? zp_clamp1(zp[zoff + pidx], qmin, qmax) : 0.0f;
                ys = dq1(xs, si, zi, qmin, qmax, mode);
                pidx++;
            }
            eacc_add(a, (float16)(xs), (float16)(ys), LANE_IDS == (int16)((int)((ph + j) & 15)));
        }
    }
}

/* Positions [p0, p1) of granule g into a (see error_stats). */
inline __attribute__((always_inline)) void err_chunk(eacc_t *a, CLQ_PARAMS(error), ulong p0,
                                                     ulong p1, ulong g, const int xtc,
                                                     const int qc) {
    for (ulong p = p0; p < p1;) {
        ulong o = p / inner, i = p - o * inner, run = min(inner - i, p1 - p);
        err_run(a, CLQ_NAMES(error), (o * ngran + g) * inner + i, run, (p - p0) & 15, xtc, qc);
        p += run;
    }
}

/* Work item (chunk k, granule g). Granule positions p map to elements
 * ((p / inner) * ngran + g) * inner + p % inner: runs of up to inner consecutive ones. */
kernel void error_stats(CLQ_PARAMS(error)) {
    ulong k = get_global_id(0), g = get_global_id(1);
    if (k >= nchunks || g >= ngran) return;
    ulong cnt = outer * inner, p0 = k * CLQ_ERROR_CHUNK, p1 = min(cnt, p0 + CLQ_ERROR_CHUNK);
    eacc_t a;
    a.e2 = a.ab = a.mx = a.x2 = a.y2 = a.xy = (float16)(0.0f);
    a.n = (int16)(0);
    if (xt == CLQ_F32 && quant)
        err_chunk(&a, CLQ_NAMES(error), p0, p1, g, CLQ_F32, 1);
    else if (xt == CLQ_F32)
        err_chunk(&a, CLQ_NAMES(error), p0, p1, g, CLQ_F32, 0);
    else
        err_chunk(&a, CLQ_NAMES(error), p0, p1, g, xt, quant); /* f16, bf16: one form */
    global float *out = part + poff + (g * nchunks + k) * CLQ_ERROR_NSTATS;
    out[CLQ_ERROR_E2] = fold16(a.e2);
    out[CLQ_ERROR_ABS] = fold16(a.ab);
    float8 m8 = fmax(a.mx.lo, a.mx.hi);
    float4 m4 = fmax(m8.lo, m8.hi);
    float2 m2 = fmax(m4.lo, m4.hi);
    out[CLQ_ERROR_MAX] = fmax(m2.x, m2.y);
    out[CLQ_ERROR_X2] = fold16(a.x2);
    out[CLQ_ERROR_Y2] = fold16(a.y2);
    out[CLQ_ERROR_XY] = fold16(a.xy);
    int8 n8 = a.n.lo + a.n.hi;
    int4 n4 = n8.lo + n8.hi;
    int2 n2 = n4.lo + n4.hi;
    out[CLQ_ERROR_COUNT] = (float)(n2.x + n2.y);
    out[CLQ_ERROR_COUNT + 1] = 0.0f;
}
