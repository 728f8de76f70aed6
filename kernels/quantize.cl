/* quantize.cl: q = saturate(round(x / scale) + zp) for s8/u8 (one byte each) and
 * s4/u4 (two per byte, low nibble first), walking the tensor granule by granule
 * (quantize_gran), row by row with per-column parameters (quantize_cols), or
 * byte by byte for 4-bit layouts whose granules split bytes (quantize_any4). */

/* Quantizes elements [e, e + run) of one granule-constant run. 4-bit runs start
 * at an even element and are even except at the end of the tensor. The vector loop
 * is instantiated per input type and output width, so the hot loop has no
 * dispatch in it. */
#define CLQ_LD_F32(i) vload16(0, (const global float *)x + (i))
#define CLQ_LD_F16(i) vload_half16(0, (const global half *)x + (i))
#define CLQ_LD_BF16(i) as_float16(convert_uint16(vload16(0, (const global ushort *)x + (i))) << 16)
#define CLQ_ST_8(r, i) store_u8x16(convert_uchar16(r), q + qb + (i))
#define CLQ_ST_4(r, i) store_u8x8(pack4x16(r), q + qb + (i) / 2)
#define CLQ_QLOOP(LD, ST)                                                                       \
    for (; k + 16 <= run; k += 16) ST(quant16(LD(xe + k), s16, inv16, zf16, zc16, lo16, hi16, mode), e + k);

inline __attribute__((always_inline)) void quant_run_const(const global uchar *x, ulong xe,
                                                           int xt, global uchar *q, ulong qb,
                                                           ulong e, int bits4, float s, float zf,
                                                           int mode, float qmin, float qmax,
                                                           ulong run) {
    ulong k = 0;
    float inv;
    mode = fast_mode(mode, s, &inv);
    float lo = qmin - zf, hi = qmax - zf;
    float16 s16 = (float16)(s), inv16 = (float16)(inv), zf16 = (float16)(zf);
    float16 lo16 = (float16)(lo), hi16 = (float16)(hi);
    int16 zc16 = (int16)(grid_zc(zf));
    if (xt == CLQ_F32) {
        if (bits4) CLQ_QLOOP(CLQ_LD_F32, CLQ_ST_4) else CLQ_QLOOP(CLQ_LD_F32, CLQ_ST_8)
    } else if (xt == CLQ_F16) {
        if (bits4) CLQ_QLOOP(CLQ_LD_F16, CLQ_ST_4) else CLQ_QLOOP(CLQ_LD_F16, CLQ_ST_8)
    } else {
        if (bits4) CLQ_QLOOP(CLQ_LD_BF16, CLQ_ST_4) else CLQ_QLOOP(CLQ_LD_BF16, CLQ_ST_8)
    }
    if (!bits4) {
        for (; k < run; k++)
            q[qb + e + k] = (uchar)quant1(load1(x, xe + k, xt), s, inv, zf, lo, hi, mode);
        return;
    }
    for (; k < run; k += 2) {
        int l = quant1(load1(x, xe + k, xt), s, inv, zf, lo, hi, mode);
        int h = k + 1 < run ? quant1(load1(x, xe + k + 1, xt), s, inv, zf, lo, hi, mode) : 0;
        q[qb + (e + k) / 2] = (uchar)((l & 15) | ((h & 15) << 4));
    }
}

/* Work item (chunk j, granules g * gpi ...): CLQ_QUANT_CHUNK elements of granule
 * p, or (gpi > 1, mode 2 only) gpi whole consecutive blocks, which follow each
 * other in memory. */
kernel void quantize_gran(const global uchar *x, ulong xoff, int xt, global uchar *q, ulong qb,
                          int bits4, const global float *scale, ulong soff, const global int *zp,
                          ulong zoff, int has_zp, int wmode, ulong ngran, ulong gpi, ulong n,
                          ulong outer, ulong axis_len, ulong inner, ulong nblocks, ulong block,
                          float qmin, float qmax, int mode) {
    ulong j = get_global_id(0), p = get_global_id(1) * gpi;
    if (p >= ngran) return;
    if (gpi > 1) {
        ulong pend = min(ngran, p + gpi);
        ulong o = p / nblocks, b = p - o * nblocks, e = o * axis_len + b * block;
        for (; p < pend; p++) {
            ulong len = min(block, axis_len - b * block);
            float s = scale[soff + p];
            float zf = has_zp ? (float)zp[zoff + p] : 0.0f;
            quant_run_const(x, xoff + e, xt, q, qb, e, bits4, s, zf, mode, qmin, qmax, len);
            e += len;
            if (++b == nblocks) b = 0;
        }
        return;
    }
    walk_t w = walk_granule(wmode, p, n, outer, axis_len, inner, nblocks, block);
    ulong cnt = w.U * w.V, t0 = j * CLQ_QUANT_CHUNK;
    if (t0 >= cnt) return;
    ulong t1 = min(cnt, t0 + CLQ_QUANT_CHUNK);
    float s = scale[soff + p];
    float zf = has_zp ? (float)zp[zoff + p] : 0.0f;
    ulong u = t0 / w.V, v = t0 - u * w.V;
    for (ulong t = t0; t < t1; u++, v = 0) {
        ulong run = min(w.V - v, t1 - t);
        ulong e = w.base + u * w.su + v;
        quant_run_const(x, xoff + e, xt, q, qb, e, bits4, s, zf, mode, qmin, qmax, run);
        t += run;
    }
}

/* Rows of rlen elements whose parameter index is pbase(r) + column, with
 * pbase(r) = ((r / pa) * pnb + (r % pa) / pblk) * pin. Work item (chunk k, row r). */
kernel void quantize_cols(const global uchar *x, ulong xoff, int xt, global uchar *q, ulong qb,
                          int bits4, const global float *scale, ulong soff, const global int *zp,
                          ulong zoff, int has_zp, ulong rows, ulong rlen, ulong pa, ulong pnb,
                          ulong pblk, ulong pin, float qmin, float qmax, int mode) {
    ulong k = get_global_id(0), r = get_global_id(1);
    ulong c0 = k * CLQ_QUANT_CHUNK;
    if (r >= rows || c0 >= rlen) return;
    ulong c1 = min(rlen, c0 + CLQ_QUANT_CHUNK);
    ulong ra = r / pa;
    ulong pb = soff + (ra * pnb + (r - ra * pa) / pblk) * pin;
    ulong zb = zoff + (pb - soff);
    ulong e0 = r * rlen;
    ulong c = c0;
    for (; c + 16 <= c1; c += 16) {
        float16 s = vload16(0, scale + pb + c);
        float16 inv = (mode & CLQ_MODE_RECIP) ? 1.0f / s : s;
        float16 zf = has_zp ? convert_float16(vload16(0, zp + zb + c)) : (float16)(0.0f);
        int16 v = quant16_exact(load16(x, xoff + e0 + c, xt), s, inv, zf, qmin - zf, qmax - zf,
                                mode);
        if (bits4) store_u8x8(pack4x16(v), q + qb + (e0 + c) / 2);
        else store_u8x16(convert_uchar16(v), q + qb + e0 + c);
    }
    for (; c < c1; c += 1 + bits4) {
        float s = scale[pb + c], zf = has_zp ? (float)zp[zb + c] : 0.0f;
        int lo = quant1(load1(x, xoff + e0 + c, xt), s, 1.0f / s, zf, qmin - zf, qmax - zf, mode);
        if (!bits4) {
            q[qb + e0 + c] = (uchar)lo;
            continue;
        }
        int hi = 0;
        if (c + 1 < c1) {
            float s1 = scale[pb + c + 1], z1 = has_zp ? (float)zp[zb + c + 1] : 0.0f;
            hi = quant1(load1(x, xoff + e0 + c + 1, xt), s1, 1.0f / s1, z1, qmin - z1, qmax - z1,
                        mode);
        }
        q[qb + (e0 + c) / 2] = (uchar)((lo & 15) | ((hi & 15) << 4));
    }
}

/* One output byte (two elements) per work item, parameters by element index:
 * the general 4-bit path for layouts where a byte straddles two granules. */
kernel void quantize_any4(const global uchar *x, ulong xoff, int xt, global uchar *q, ulong qb,
                          const global float *scale, ulong soff, const global int *zp, ulong zoff,
                          int has_zp, int gran, ulong n, ulong axis_len, ulong inner,
                          ulong nblocks, ulong block, float qmin, float qmax, int mode) {
    ulong b = get_global_id(0), e = 2 * b;
    if (e >= n) return;
    int v[2] = {0, 0};
    for (int h = 0; h < 2 && e + h < n; h++) {
        ulong p = layout_param(gran, e + h, axis_len, inner, nblocks, block);
        float s = scale[soff + p], zf = has_zp ? (float)zp[zoff + p] : 0.0f;
        v[h] = quant1(load1(x, xoff + e + h, xt), s, 1.0f / s, zf, qmin - zf, qmax - zf, mode);
    }
    q[qb + b] = (uchar)((v[0] & 15) | ((v[1] & 15) << 4));
}
