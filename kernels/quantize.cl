/* quantize.cl: q = saturate(round(x / scale) + zp) for s8/u8 (one byte each) and
 * s4/u4 (two per byte, low nibble first), walking the tensor granule by granule
 * (quantize_gran), row by row with per-column parameters (quantize_cols), or
 * byte by byte for 4-bit layouts whose granules split bytes (quantize_any4). */

/* Quantizes elements [e, e + run) of one granule-constant run. 4-bit runs start
 * at an even element and are even except at the end of the tensor. The vector loop
 * is instantiated per input type, output width and fast/exact path, so the hot
 * loop has no dispatch in it. */
#define CLQ_LD_F32(i) CLQ_V(vload)(0, (const global float *)x + (i))
#define CLQ_LD_F16(i) CLQ_V(vload_half)(0, (const global half *)x + (i))
#define CLQ_LD_BF16(i)                                                                         \
    CLQ_V(as_float)(CLQ_V(convert_uint)(CLQ_V(vload)(0, (const global ushort *)x + (i))) << 16)
#define CLQ_ST_8(r, i) store_u8v(CLQ_V(convert_uchar)(r), q + qb + (i))
#define CLQ_ST_4(r, i) store_u8h(pack4v(r), q + qb + (i) / 2)
#define CLQ_ST_8G(r, i) store_u8v(CLQ_V(convert_uchar)(CLQ_V(as_uint)(r) >> (uintv)10), q + qb + (i))
#define CLQ_ST_4G(r, i) store_u8h(pack4vg(r), q + qb + (i) / 2)
/* Two grid vectors r0, r1 to consecutive outputs. At 8 lanes they are packed as one
 * 16-lane vector: one mask and two packs for both halves (vpackusdw, vpackuswb)
 * instead of a byte shuffle per half. */
#if CLQ_VEC == 8
#define CLQ_ST_8G2(r0, r1, i)                                                                  \
    store_u8x16(convert_uchar16(as_uint16((int16)(r0, r1)) >> (uint16)10), q + qb + (i))
#define CLQ_ST_4G2(r0, r1, i)                                                                  \
    do {                                                                                       \
        ulong8 l = as_ulong8((int16)(r0, r1));                                                 \
        store_u8x8(convert_uchar8(bitselect(l >> (ulong8)38, l >> (ulong8)10, (ulong8)15)),    \
                   q + qb + (i) / 2);                                                          \
    } while (0)
#else
#define CLQ_ST_8G2(r0, r1, i)                                                                  \
    do {                                                                                       \
        CLQ_ST_8G(r0, i);                                                                      \
        CLQ_ST_8G(r1, (i) + CLQ_VEC);                                                          \
    } while (0)
#define CLQ_ST_4G2(r0, r1, i)                                                                  \
    do {                                                                                       \
        CLQ_ST_4G(r0, i);                                                                      \
        CLQ_ST_4G(r1, (i) + CLQ_VEC);                                                          \
    } while (0)
#endif
/* FAST loops take two vectors per step with one near-tie test for both (AVX2: two
 * ymm halves, one vmovmskps); the rare pair with a near lane is redone exact. */
#define CLQ_QLOOP(LD, ST)                                                                      \
    if (mode & CLQ_MODE_FAST) {                                                                \
        for (; k + 2 * CLQ_VEC <= run; k += 2 * CLQ_VEC) {                                     \
            floatv x0 = LD(xe + k), x1 = LD(xe + k + CLQ_VEC);                                 \
            intv r0 = gridv(x0, P.inv, P.mz, P.glo, P.ghi);                                    \
            intv r1 = gridv(x1, P.inv, P.mz, P.glo, P.ghi);                                    \
            if (near2v(r0, r1)) {                                                              \
                r0 = quantv_exact(x0, P.s, P.inv, P.zf, P.lo, P.hi, mode) << 10;               \
                r1 = quantv_exact(x1, P.s, P.inv, P.zf, P.lo, P.hi, mode) << 10;               \
            }                                                                                  \
            ST##G2(r0, r1, e + k);                                                             \
        }                                                                                      \
        for (; k + CLQ_VEC <= run; k += CLQ_VEC)                                               \
            ST##G(quantv_fast(LD(xe + k), P.s, P.inv, P.zf, P.lo, P.hi, P.mz, P.glo, P.ghi,    \
                              mode),                                                           \
                  e + k);                                                                      \
    } else                                                                                     \
        for (; k + CLQ_VEC <= run; k += CLQ_VEC)                                               \
            ST(quantv_exact(LD(xe + k), P.s, P.inv, P.zf, P.lo, P.hi, mode), e + k);

/* One granule's parameters broadcast to the vector width. */
typedef struct {
    floatv s, inv, zf, lo, hi, mz, glo, ghi;
} qparv_t;

/* Lane i of the parameter set P (private memory) drives elements [e, e + run); the
 * vector loops broadcast each parameter straight from memory. */
inline __attribute__((always_inline)) void quant_run(const global uchar *x, ulong xe, int xt,
                                                     global uchar *q, ulong qb, ulong e,
                                                     int bits4, const qpar16_t *Pm, ulong i,
                                                     ulong run) {
    ulong k = 0;
    int mode = ((const int *)&Pm->mode)[i];
    qparv_t P;
    P.s = (floatv)(((const float *)&Pm->s)[i]);
    P.inv = (floatv)(((const float *)&Pm->inv)[i]);
    P.zf = (floatv)(((const float *)&Pm->zf)[i]);
    P.lo = (floatv)(((const float *)&Pm->lo)[i]);
    P.hi = (floatv)(((const float *)&Pm->hi)[i]);
    P.mz = (floatv)(((const float *)&Pm->mz)[i]);
    P.glo = (floatv)(((const float *)&Pm->glo)[i]);
    P.ghi = (floatv)(((const float *)&Pm->ghi)[i]);
    if (xt == CLQ_F32) {
        if (bits4) CLQ_QLOOP(CLQ_LD_F32, CLQ_ST_4) else CLQ_QLOOP(CLQ_LD_F32, CLQ_ST_8)
    } else if (xt == CLQ_F16) {
        if (bits4) CLQ_QLOOP(CLQ_LD_F16, CLQ_ST_4) else CLQ_QLOOP(CLQ_LD_F16, CLQ_ST_8)
    } else {
        if (bits4) CLQ_QLOOP(CLQ_LD_BF16, CLQ_ST_4) else CLQ_QLOOP(CLQ_LD_BF16, CLQ_ST_8)
    }
    if (k == run) return;
    qpar_t p = qpar_lane(Pm, i);
    if (!bits4) {
        for (; k < run; k++)
            q[qb + e + k] = (uchar)quant1(load1(x, xe + k, xt), p.s, p.inv, p.zf, p.lo, p.hi, p.mode);
        return;
    }
    for (; k < run; k += 2) {
        int l = quant1(load1(x, xe + k, xt), p.s, p.inv, p.zf, p.lo, p.hi, p.mode);
        int h = k + 1 < run ? quant1(load1(x, xe + k + 1, xt), p.s, p.inv, p.zf, p.lo, p.hi, p.mode)
                            : 0;
        q[qb + (e + k) / 2] = (uchar)((l & 15) | ((h & 15) << 4));
    }
}

/* 16 full blocks of `block` elements (a multiple of 16) from element e, every one in
 * FAST mode (inv16/mz16: their inv and Mz, lane i for block p + i). The hot loop
 * needs two broadcasts per block and the input/output dispatch is paid once per 16
 * blocks; the rare vector with a near lane reloads its block's scale and zero
 * point from global memory for quantv_exact. The element loop steps CLQ_VEC. */
#define CLQ_BLOOP(LD, ST)                                                                      \
    for (int i = 0; i < 16; i++) {                                                             \
        floatv inv = (floatv)(inva[i]), mz = (floatv)(mza[i]);                                 \
        ulong k = 0;                                                                           \
        for (; k + 2 * CLQ_VEC <= block; k += 2 * CLQ_VEC, e += 2 * CLQ_VEC) {                 \
            floatv x0 = LD(xoff + e), x1 = LD(xoff + e + CLQ_VEC);                             \
            intv r0 = gridv(x0, inv, mz, glo, ghi), r1 = gridv(x1, inv, mz, glo, ghi);         \
            if (near2v(r0, r1)) {                                                              \
                CLQ_BLOCK_EXACT(x0, r0);                                                       \
                CLQ_BLOCK_EXACT(x1, r1);                                                       \
            }                                                                                  \
            ST##G2(r0, r1, e);                                                                 \
        }                                                                                      \
        for (; k < block; k += CLQ_VEC, e += CLQ_VEC) {                                        \
            floatv xv = LD(xoff + e);                                                          \
            intv r = gridv(xv, inv, mz, glo, ghi);                                             \
            if (nearv(r)) CLQ_BLOCK_EXACT(xv, r);                                              \
            ST##G(r, e);                                                                       \
        }                                                                                      \
    }
/* Block p + i's exact result for vector XV into R (grid position). */
#define CLQ_BLOCK_EXACT(XV, R)                                                                 \
    do {                                                                                       \
        float s = scale[soff + p + i];                                                         \
        float zf = has_zp ? zp_clamp1(zp[zoff + p + i], qmin, qmax) : 0.0f;                    \
        R = quantv_exact(XV, (floatv)(s), inv, (floatv)(zf), (floatv)(qmin - zf),              \
                         (floatv)(qmax - zf), mode) << 10;                                     \
    } while (0)
inline __attribute__((always_inline)) void quant_blocks16(
    const global uchar *x, ulong xoff, int xt, global uchar *q, ulong qb, int bits4,
    const global float *scale, ulong soff, const global int *zp, ulong zoff, int has_zp,
    ulong p, ulong e, ulong block, float16 inv16, float16 mz16, float qmin, float qmax,
    int mode) {
    float inva[16], mza[16];
    vstore16(inv16, 0, inva);
    vstore16(mz16, 0, mza);
    floatv glo = (floatv)(qmin + CLQ_GRID_MAGIC), ghi = (floatv)(qmax + CLQ_GRID_MAGIC);
    if (xt == CLQ_F32) {
        if (bits4) CLQ_BLOOP(CLQ_LD_F32, CLQ_ST_4) else CLQ_BLOOP(CLQ_LD_F32, CLQ_ST_8)
    } else if (xt == CLQ_F16) {
        if (bits4) CLQ_BLOOP(CLQ_LD_F16, CLQ_ST_4) else CLQ_BLOOP(CLQ_LD_F16, CLQ_ST_8)
    } else {
        if (bits4) CLQ_BLOOP(CLQ_LD_BF16, CLQ_ST_4) else CLQ_BLOOP(CLQ_LD_BF16, CLQ_ST_8)
    }
}

/* Work item (chunk j, granules g * gpi ...): CLQ_QUANT_CHUNK elements of granule
 * p, or (gpi > 1, mode 2 only) gpi whole consecutive blocks, which follow each
 * other in memory. */
kernel void quantize_gran(CLQ_PARAMS(quantize_gran)) {
    ulong j = get_global_id(0), p = get_global_id(1) * gpi;
    if (p >= ngran) return;
    if (gpi > 1) {
        if (j > 0) return; /* dimension 0 is 1 here, rounded up to a work-group size */
        /* Parameters 16 blocks at a time with vector ops (a block of 32 elements is
         * only two vectors, so per-block scalar setup and broadcasts would cost as
         * much as the blocks). 16 full blocks all in FAST mode take quant_blocks16;
         * other groups read each block's lane of a qpar16_t from private memory. */
        ulong pend = min(ngran, p + gpi);
        int full = block % 16 == 0 && axis_len % block == 0; /* then block p is at p * block */
        ulong o = p / nblocks, b = p - o * nblocks, e = o * axis_len + b * block;
        while (p < pend) {
            ulong m = min((ulong)16, pend - p);
            float16 s16, zf16 = (float16)(0.0f);
            if (m == 16) {
                s16 = vload16(0, scale + soff + p);
                if (has_zp) zf16 = zp_clamp16(vload16(0, zp + zoff + p), qmin, qmax);
                if (full) {
                    float16 inv16 = 1.0f / s16;
                    if ((mode & CLQ_MODE_RECIP) ||
                        !any_lane16(!(inv16 <= FLT_MAX && inv16 >= FLT_MIN))) {
                        /* A constant 32 (the usual block) unrolls the vector loop. */
                        if (block == 32)
                            quant_blocks16(x, xoff, xt, q, qb, bits4, scale, soff, zp, zoff,
                                           has_zp, p, e, 32, inv16, zf16 + CLQ_GRID_MAGIC, qmin,
                                           qmax, mode);
                        else
                            quant_blocks16(x, xoff, xt, q, qb, bits4, scale, soff, zp, zoff,
                                           has_zp, p, e, block, inv16, zf16 + CLQ_GRID_MAGIC,
                                           qmin, qmax, mode);
                        p += 16;
                        e += 16 * block;
                        continue; /* b is only read when blocks are not all full */
                    }
                }
            } else {
                float sa[16], za[16];
                for (ulong i = 0; i < 16; i++) {
                    ulong pi = p + min(i, m - 1);
                    sa[i] = scale[soff + pi];
                    za[i] = has_zp ? zp_clamp1(zp[zoff + pi], qmin, qmax) : 0.0f;
                }
                s16 = vload16(0, sa);
                zf16 = vload16(0, za);
            }
            qpar16_t P = qpar16_make(s16, zf16, qmin, qmax, mode);
            for (ulong i = 0; i < m; i++, p++) {
                ulong len = full ? block : min(block, axis_len - b * block);
                quant_run(x, xoff + e, xt, q, qb, e, bits4, &P, i, len);
                e += len;
                if (++b == nblocks) b = 0;
            }
        }
        return;
    }
    walk_t w = walk_granule(wmode, p, n, outer, axis_len, inner, nblocks, block);
    ulong cnt = w.U * w.V, t0 = j * CLQ_QUANT_CHUNK;
    if (t0 >= cnt) return;
    ulong t1 = min(cnt, t0 + CLQ_QUANT_CHUNK);
    qpar16_t P = qpar16_make((float16)(scale[soff + p]),
                             (float16)(has_zp ? zp_clamp1(zp[zoff + p], qmin, qmax) : 0.0f), qmin,
                             qmax, mode);
    ulong u = t0 / w.V, v = t0 - u * w.V;
    for (ulong t = t0; t < t1; u++, v = 0) {
        ulong run = min(w.V - v, t1 - t);
        ulong e = w.base + u * w.su + v;
        quant_run(x, xoff + e, xt, q, qb, e, bits4, &P, 0, run);
        t += run;
    }
}

/* Rows of rlen elements whose parameter index is pbase(r) + column, with
 * pbase(r) = ((r / pa) * pnb + (r % pa) / pblk) * pin. Work item (chunk k, row r). */
kernel void quantize_cols(CLQ_PARAMS(quantize_cols)) {
    ulong k = get_global_id(0), r = get_global_id(1);
    ulong c0 = k * CLQ_QUANT_CHUNK;
    if (r >= rows || c0 >= rlen) return;
    ulong c1 = min(rlen, c0 + CLQ_QUANT_CHUNK);
    ulong ra = r / pa;
    ulong pb = soff + (ra * pnb + (r - ra * pa) / pblk) * pin;
    ulong zb = zoff + (pb - soff);
    ulong e0 = r * rlen;
    ulong c = c0;
    for (; c + CLQ_VEC <= c1; c += CLQ_VEC) {
        floatv s = CLQ_V(vload)(0, scale + pb + c);
        floatv inv = (mode & CLQ_MODE_RECIP) ? 1.0f / s : s;
        floatv zf = has_zp ? zp_clampv(CLQ_V(vload)(0, zp + zb + c), qmin, qmax) : (floatv)(0.0f);
        intv v = quantv_exact(loadv(x, xoff + e0 + c, xt), s, inv, zf, qmin - zf, qmax - zf, mode);
        if (bits4) store_u8h(pack4v(v), q + qb + (e0 + c) / 2);
        else store_u8v(CLQ_V(convert_uchar)(v), q + qb + e0 + c);
    }
    for (; c < c1; c += 1 + bits4) {
        float s = scale[pb + c], zf = has_zp ? zp_clamp1(zp[zb + c], qmin, qmax) : 0.0f;
        int lo = quant1(load1(x, xoff + e0 + c, xt), s, 1.0f / s, zf, qmin - zf, qmax - zf, mode);
        if (!bits4) {
            q[qb + e0 + c] = (uchar)lo;
            continue;
        }
        int hi = 0;
        if (c + 1 < c1) {
            float s1 = scale[pb + c + 1],
                  z1 = has_zp ? zp_clamp1(zp[zb + c + 1], qmin, qmax) : 0.0f;
            hi = quant1(load1(x, xoff + e0 + c + 1, xt), s1, 1.0f / s1, z1, qmin - z1, qmax - z1,
                        mode);
        }
        q[qb + (e0 + c) / 2] = (uchar)((lo & 15) | ((hi & 15) << 4));
    }
}

/* One output byte (two elements) per work item, parameters by element index:
 * the general 4-bit path for layouts where a byte straddles two granules. */
kernel void quantize_any4(CLQ_PARAMS(quantize_any4)) {
    ulong b = get_global_id(0), e = 2 * b;
    if (e >= n) return;
    int v[2] = {0, 0};
    for (int h = 0; h < 2 && e + h < n; h++) {
        ulong p = layout_param(gran, e + h, axis_len, inner, nblocks, block);
        float s = scale[soff + p], zf = has_zp ? zp_clamp1(zp[zoff + p], qmin, qmax) : 0.0f;
        v[h] = quant1(load1(x, xoff + e + h, xt), s, 1.0f / s, zf, qmin - zf, qmax - zf, mode);
    }
    q[qb + b] = (uchar)((v[0] & 15) | ((v[1] & 15) << 4));
}
