/* common.cl: helpers every clquant program shares (prepended to each other kernels/<name>.cl
 * at build time): the numerics of docs/NUMERICS.md, input loads, granule walks. */
#pragma OPENCL FP_CONTRACT OFF

/* Tuning knobs; the host passes per-device values (host/opencl/cl_tuning.c). */
#ifndef CLQ_QUANT_CHUNK
#define CLQ_QUANT_CHUNK 4096
#endif
#ifndef CLQ_MINMAX_CHUNK
#define CLQ_MINMAX_CHUNK 16384
#endif
#ifndef CLQ_COPY_CHUNK
#define CLQ_COPY_CHUNK 64
#endif

/* Input element types (clq_dtype values). */
#define CLQ_F32 1
#define CLQ_F16 2
#define CLQ_BF16 3

/* Quantize mode bits. */
#define CLQ_MODE_RECIP 1
#define CLQ_MODE_AWAY 2

/* The branch on xt is uniform over the whole launch, so it costs a predictable
 * jump per 16 elements, and one kernel serves every input type. */
inline float16 load16(const global uchar *x, ulong e, int xt) {
    if (xt == CLQ_F32) return vload16(0, (const global float *)x + e);
    if (xt == CLQ_F16) return vload_half16(0, (const global half *)x + e);
    return as_float16(convert_uint16(vload16(0, (const global ushort *)x + e)) << 16);
}

inline float load1(const global uchar *x, ulong e, int xt) {
    if (xt == CLQ_F32) return ((const global float *)x)[e];
    if (xt == CLQ_F16) return vload_half(0, (const global half *)x + e);
    return as_float((uint)((const global ushort *)x)[e] << 16);
}

/* Round half to even without rint(): POCL's rint is a branchy scalar software
 * routine. For |v| <= 2^22, adding and subtracting 1.5 * 2^23 leaves v rounded to
 * an integer by the f32 add itself, which rounds half to even; NaN stays NaN.
 * Callers clamp v to the (small) output range first, so the bound always holds. */
#define CLQ_RNE_MAGIC 12582912.0f
inline float16 rne16(float16 v) { return (v + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC; }
inline float rne1(float v) { return (v + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC; }
/* Round half away from zero: round |v| to nearest even, then push exact halves
 * that went down back up (r - a is exact here). */
inline float16 raway16(float16 v) {
    float16 a = fabs(v);
    float16 r = rne16(a);
    r = select(r, r + 1.0f, (r - a) == -0.5f);
    return copysign(r, v);
}
inline float raway1(float v) {
    float a = fabs(v);
    float r = rne1(a);
    r = (r - a) == -0.5f ? r + 1.0f : r;
    return copysign(r, v);
}

/* q = NaN ? zp : clamp(round(x / s) + zp, qmin, qmax), as an int. lo = qmin - zp and
 * hi = qmax - zp (exact: small integers). Clamping v to [lo, hi] before rounding
 * gives the contract's result: lo and hi are integers and rounding is monotonic,
 * so round(v) + zp lands in [qmin, qmax] exactly when the contract's t does, and on
 * the bound it saturates to otherwise; +/-Inf land on the bounds. A NaN passes the
 * compare-selects untouched and becomes zp at the end. */
inline __attribute__((always_inline)) int16 quant16_exact(float16 x, float16 s, float16 inv,
                                                          float16 zf, float16 lo, float16 hi,
                                                          int mode) {
    float16 v = (mode & CLQ_MODE_RECIP) ? x * inv : x / s;
    v = select(v, lo, v < lo);
    v = select(v, hi, v > hi);
    float16 r = (mode & CLQ_MODE_AWAY) ? raway16(v) : rne16(v);
    float16 t = r + zf;
    t = select(t, zf, isnan(t));
    return convert_int16(t);
}

/* CLQ_MODE_FAST, set per granule by fast_mode(): the same q from a product and
 * integer ops, falling back to quant16_exact for any vector holding a lane close
 * to a rounding boundary. POCL turns the f32 division and the float rounding into
 * ~20 vector uops per 16 elements on ports 0 and 5, which cost more than the
 * memory traffic; this path needs about half of that.
 *
 *   v' = x * inv, c = clamp(v', lo, hi), Y = bits(c + 1.5 * 2^13) - bits(1.5 * 2^13)
 *
 * |c| <= 255 (valid parameters: lo = qmin - zp >= -255, hi = qmax - zp <= 255), so
 * c + 1.5 * 2^13 lies in [2^13, 2^14) where the f32 grid is 2^-10 and the bits are
 * linear: Y = 1024 c' exactly, with c' = c rounded to a multiple of 2^-10.
 * A lane is "near" when c' is a half-integer, i.e. when Y mod 1024 == 512; every c
 * within 2^-11 of a half-integer k + 1/2 is near (k + 1/2 is on the grid and its
 * neighbours are 2^-10 away; a distance of exactly 2^-11 rounds to the even
 * multiple, which is k + 1/2). For a lane that is not near:
 *  - c is not a half-integer and lies on the same side of every half-integer as c'
 *    (rounding to a grid containing the half-integers is monotonic), so
 *    round(c) = floor(c' + 1/2) = (Y + 512) >> 10 under both rounding modes
 *    (they differ only at ties). Adding zp: (Y + 512 + 1024 zp) >> 10, one add of a
 *    per-granule constant; only the low 8 bits are used (by a truncating byte or
 *    nibble store), so the shift may be logical.
 *  - Reciprocal mode: v' is the contract's v; done.
 *  - Division mode (fast_mode sets FAST only when inv = RN(1 / s) is finite and
 *    normal, so inv = (1/s)(1 + e1), |e1| <= u = 2^-24, whatever s is; a 1/s that
 *    overflows to Inf or underflows to a denormal keeps the exact path): with
 *    q* = x / s exact, v = RN(x / s) = q*(1 + e3) + h3, v' = x inv (1 + e2) + h2,
 *    |e2|, |e3| <= u, |h2|, |h3| <= 2^-150 (nonzero only on underflow), so
 *    |v - v'| <= |q*| (3u + u^2) + 2^-149 < |v'| 2^-22 + 2^-148, and v, v' have the
 *    sign of x (NaN and +/-Inf x give NaN and the same Inf in both).
 *    f(w) = round(clamp(w, lo, hi)) is monotonic and constant on every interval
 *    holding no half-integer, so f(v) = f(v') when none lies between v and v':
 *    * v' in [lo, hi] (c = v'): v' is more than 2^-11 from every half-integer and
 *      |v - v'| < 256 * 2^-22 + 2^-148 < 2^-11; this also rules out v being a tie.
 *    * v' outside [lo, hi] (c is an integer bound, never near): if |v'| < 2^21,
 *      |v - v'| < 1/2 so v is beyond the bound's half-integer on the same side;
 *      if |v'| >= 2^21 (an overflowing product's Inf included), |v| > 2^20 with
 *      the same sign. Either way f(v) = f(v') = the bound.
 *  - NaN lanes (NaN x in both forms) are set to zp by the select; should their Y
 *    bits look near, the exact path handles them as NaN too.
 * A vector with a near lane is recomputed whole by quant16_exact (real division,
 * float rounding in the requested mode), so every lane the proof does not cover,
 * ties in particular, gets the contract's result. Near lanes are rare: about 2^-10
 * of uniformly spread values. */
#define CLQ_MODE_FAST 4
#define CLQ_GRID_MAGIC 12288.0f /* 1.5 * 2^13 */
#define CLQ_GRID_BITS 0x46400000

/* any() of a compare result; POCL's any() tests the lanes one by one with
 * branches, this narrows the mask to bytes and tests two 64-bit words. */
inline int any_lane16(int16 m) {
    ulong2 b = as_ulong2(convert_char16(m));
    return (b.x | b.y) != 0;
}

/* q for 16 lanes; only the low 8 bits of each lane are meaningful (the caller
 * stores them truncated to a byte or a nibble). zc = 512 - CLQ_GRID_BITS + 1024 zp. */
inline __attribute__((always_inline)) int16 quant16(float16 x, float16 s, float16 inv,
                                                    float16 zf, int16 zc, float16 lo,
                                                    float16 hi, int mode) {
    if (!(mode & CLQ_MODE_FAST)) return quant16_exact(x, s, inv, zf, lo, hi, mode);
    float16 v = x * inv;
    float16 c = select(v, lo, v < lo);
    c = select(c, hi, c > hi);
    int16 y = as_int16(c + CLQ_GRID_MAGIC);
    int16 q = as_int16(as_uint16(y + zc) >> (uint16)10);
    q = select(q, convert_int16(zf), v != v);
    if (any_lane16((y & 1023) == 512)) q = quant16_exact(x, s, inv, zf, lo, hi, mode);
    return q;
}

/* The mode for a granule with scale s, and inv = 1 / s: FAST always in reciprocal
 * mode, and in division mode when 1 / s is a finite normal number (see quant16). */
inline int fast_mode(int mode, float s, float *inv) {
    float r = 1.0f / s;
    *inv = r;
    if (mode & CLQ_MODE_RECIP) return mode | CLQ_MODE_FAST;
    return (r <= FLT_MAX && r >= FLT_MIN) ? mode | CLQ_MODE_FAST : mode;
}

/* zc of quant16 for zero point zf. */
inline int grid_zc(float zf) { return 512 - CLQ_GRID_BITS + 1024 * (int)zf; }

inline int quant1(float x, float s, float inv, float zf, float lo, float hi, int mode) {
    float v = (mode & CLQ_MODE_RECIP) ? x * inv : x / s;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    float r = (mode & CLQ_MODE_AWAY) ? raway1(v) : rne1(v);
    float t = r + zf;
    t = isnan(t) ? zf : t;
    return convert_int(t);
}

/* Byte-vector stores through packed (alignment 1) structs: POCL's vstore16 and
 * vstore8 on uchar write byte by byte, which costs more than the whole quantize
 * arithmetic; a packed store is one unaligned vector store. */
typedef struct __attribute__((packed)) {
    uchar16 v;
} clq_u8x16;
typedef struct __attribute__((packed)) {
    uchar8 v;
} clq_u8x8;
inline void store_u8x16(uchar16 v, global uchar *p) { ((global clq_u8x16 *)p)->v = v; }
inline void store_u8x8(uchar8 v, global uchar *p) { ((global clq_u8x8 *)p)->v = v; }
typedef struct __attribute__((packed)) {
    float16 v;
} clq_f32x16;
inline void store_f32x16(float16 v, global float *p) { ((global clq_f32x16 *)p)->v = v; }
inline uchar16 load_u8x16(const global uchar *p) { return ((const global clq_u8x16 *)p)->v; }
inline uchar8 load_u8x8(const global uchar *p) { return ((const global clq_u8x8 *)p)->v; }

/* Two's-complement nibbles of 16 values (only their low 4 bits are read), packed
 * low nibble first into 8 bytes: in each 64-bit pair the odd value's nibble is
 * shifted next to the even one's and the byte truncation keeps both. */
inline uchar8 pack4x16(int16 q) {
    ulong8 l = as_ulong8(q);
    return convert_uchar8(bitselect(l >> (ulong8)28, l, (ulong8)15));
}

/* Granule p of a layout covers {base + u * su + v : u < U, v < V}, v contiguous.
 * mode 0 per tensor, 1 per axis, 2 per block with inner == 1, 3 per block strided. */
typedef struct {
    ulong base, su, U, V;
} walk_t;

inline walk_t walk_granule(int mode, ulong p, ulong n, ulong outer, ulong axis_len, ulong inner,
                           ulong nblocks, ulong block) {
    walk_t w;
    if (mode == 0) {
        w.base = 0; w.su = 0; w.U = 1; w.V = n;
    } else if (mode == 1) {
        w.base = p * inner; w.su = axis_len * inner; w.U = outer; w.V = inner;
    } else if (mode == 2) {
        ulong o = p / nblocks, b = p - o * nblocks;
        w.base = o * axis_len + b * block; w.su = 0; w.U = 1;
        w.V = min(block, axis_len - b * block);
    } else {
        ulong ob = p / inner, i = p - ob * inner;
        ulong o = ob / nblocks, b = ob - o * nblocks;
        w.base = (o * axis_len + b * block) * inner + i; w.su = inner; w.V = 1;
        w.U = min(block, axis_len - b * block);
    }
    return w;
}

/* The parameter index of element e (backend.h clq_layout_param). */
inline ulong layout_param(int gran, ulong e, ulong axis_len, ulong inner, ulong nblocks,
                          ulong block) {
    if (gran == 0) return 0;
    ulong oc = e / inner, i = e - oc * inner;
    ulong o = oc / axis_len, c = oc - o * axis_len;
    if (gran == 1) return c;
    return (o * nblocks + c / block) * inner + i;
}
