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
inline int16 quant16(float16 x, float16 s, float16 inv, float16 zf, float16 lo, float16 hi,
                     int mode) {
    float16 v = (mode & CLQ_MODE_RECIP) ? x * inv : x / s;
    v = select(v, lo, v < lo);
    v = select(v, hi, v > hi);
    float16 r = (mode & CLQ_MODE_AWAY) ? raway16(v) : rne16(v);
    float16 t = r + zf;
    t = select(t, zf, isnan(t));
    return convert_int16(t);
}

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

/* Two's-complement nibbles of 16 values, packed low nibble first into 8 bytes. */
inline uchar8 pack4x16(int16 q) {
    uchar16 n = convert_uchar16(q & 15);
    return n.even | (n.odd << (uchar8)4);
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
