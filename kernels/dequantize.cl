/* dequantize.cl: y = (float)(q - zp) * scale from s8/u8/s4/u4, granule by granule
 * (dequantize_gran) or row by row with per-column parameters (dequantize_cols). */

/* 16 quantized values from element e (4-bit: e even), sign-extended when sgn. */
inline int16 qload16(const global uchar *q, ulong qb, ulong e, int bits4, int sgn) {
    if (!bits4) {
        uchar16 b = load_u8x16(q + qb + e);
        return sgn ? convert_int16(as_char16(b)) : convert_int16(b);
    }
    uchar8 b = load_u8x8(q + qb + e / 2);
    uchar16 nib = shuffle2(b & (uchar8)15, b >> (uchar8)4,
                           (uchar16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
    int16 v = convert_int16(nib);
    return sgn ? (v ^ 8) - 8 : v;
}

inline int qload1(const global uchar *q, ulong qb, ulong e, int bits4, int sgn) {
    if (!bits4) {
        uchar b = q[qb + e];
        return sgn ? (int)(char)b : (int)b;
    }
    int v = (q[qb + e / 2] >> ((e & 1) * 4)) & 15;
    return sgn ? (v ^ 8) - 8 : v;
}

/* A zero point clamped to its qtype's full range first, as every backend does: a
 * TRUSTED caller may pass any int32 (docs/NUMERICS.md). */
inline int zp_dq1(int z, int bits4, int sgn) {
    return clamp(z, sgn ? (bits4 ? -8 : -128) : 0, sgn ? (bits4 ? 7 : 127) : (bits4 ? 15 : 255));
}
inline int16 zp_dq16(int16 z, int bits4, int sgn) {
    return clamp(z, (int16)(sgn ? (bits4 ? -8 : -128) : 0),
                 (int16)(sgn ? (bits4 ? 7 : 127) : (bits4 ? 15 : 255)));
}

inline __attribute__((always_inline)) void dequant_run_const(const global uchar *q, ulong qb, int bits4, int sgn,
                              global float *y, ulong yoff, ulong e, float s, int z, ulong run) {
    z = zp_dq1(z, bits4, sgn);
    float16 s16 = (float16)(s);
    int16 z16 = (int16)(z);
    ulong k = 0;
    if (bits4 && (e & 1) && run) {
        y[yoff + e] = (float)(qload1(q, qb, e, bits4, sgn) - z) * s;
        k = 1;
    }
    for (; k + 16 <= run; k += 16)
        vstore16(convert_float16(qload16(q, qb, e + k, bits4, sgn) - z16) * s16, 0,
                 y + yoff + e + k);
    for (; k < run; k++) y[yoff + e + k] = (float)(qload1(q, qb, e + k, bits4, sgn) - z) * s;
}

/* Work item (chunk j, granules g * gpi ...), as quantize_gran. */
kernel void dequantize_gran(CLQ_PARAMS(dequantize_gran)) {
    ulong j = get_global_id(0), p = get_global_id(1) * gpi;
    if (p >= ngran) return;
    if (gpi > 1) {
        if (j > 0) return; /* dimension 0 is 1 here, rounded up to a work-group size */
        ulong pend = min(ngran, p + gpi);
        ulong o = p / nblocks, b = p - o * nblocks, e = o * axis_len + b * block;
        for (; p < pend; p++) {
            ulong len = min(block, axis_len - b * block);
            dequant_run_const(q, qb, bits4, sgn, y, yoff, e, scale[soff + p],
                              has_zp ? zp[zoff + p] : 0, len);
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
    int z = has_zp ? zp[zoff + p] : 0;
    ulong u = t0 / w.V, v = t0 - u * w.V;
    for (ulong t = t0; t < t1; u++, v = 0) {
        ulong run = min(w.V - v, t1 - t);
        dequant_run_const(q, qb, bits4, sgn, y, yoff, w.base + u * w.su + v, s, z, run);
        t += run;
    }
}

/* Rows of rlen elements, parameter index pbase(r) + column (see quantize_cols). */
kernel void dequantize_cols(CLQ_PARAMS(dequantize_cols)) {
    ulong k = get_global_id(0), r = get_global_id(1);
    ulong c0 = k * CLQ_QUANT_CHUNK;
    if (r >= rows || c0 >= rlen) return;
    ulong c1 = min(rlen, c0 + CLQ_QUANT_CHUNK);
    ulong ra = r / pa;
    ulong pb = soff + (ra * pnb + (r - ra * pa) / pblk) * pin;
    ulong zb = zoff + (pb - soff);
    ulong e0 = r * rlen, c = c0;
    if (bits4 && ((e0 + c) & 1) && c < c1) {
        y[yoff + e0 + c] =
            (float)(qload1(q, qb, e0 + c, 1, sgn) - (has_zp ? zp_dq1(zp[zb + c], 1, sgn) : 0)) *
            scale[pb + c];
        c++;
    }
    for (; c + 16 <= c1; c += 16) {
        int16 z = has_zp ? zp_dq16(vload16(0, zp + zb + c), bits4, sgn) : (int16)(0);
        vstore16(convert_float16(qload16(q, qb, e0 + c, bits4, sgn) - z) *
                     vload16(0, scale + pb + c),
                 0, y + yoff + e0 + c);
    }
    for (; c < c1; c++)
        y[yoff + e0 + c] = (float)(qload1(q, qb, e0 + c, bits4, sgn) -
                                   (has_zp ? zp_dq1(zp[zb + c], bits4, sgn) : 0)) *
                           scale[pb + c];
}
