/* common.cl: helpers every clquant program shares (prepended to each other kernels/<name>.cl
 * at build time): the numerics of docs/NUMERICS.md, input loads, granule walks. */
#pragma OPENCL FP_CONTRACT OFF
/* clang on x86 without AVX-512 (POCL on an AVX2 host) warns at every call that passes
 * or returns a 16-wide vector by value that this "changes the ABI" (-Wpsabi); POCL prints
 * "N warnings generated." on the user's stderr. The ABI in question is that of calls
 * between objects built with different target features; a program here is one module
 * built with one set, and no kernel takes a vector argument, so nothing can disagree.
 * (What 16-wide vectors cost on AVX2 is a speed question, not this warning's.) */
#if defined(__clang__) && defined(__x86_64__)
#pragma clang diagnostic ignored "-Wpsabi"
#endif

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
/* The device's vector width in floats (the tuning row's vec: 8 on AVX2, 16 on
 * AVX-512 and GPUs). Quantize's element loops use vectors of this width: floatv,
 * intv, ... and CLQ_V(vload) for vload8 or vload16; CLQ_H names the half width
 * (a 4-bit vector's bytes). 16-wide code on AVX2 runs as pairs of 8-wide halves
 * that share one near-tie test and keep twice the constants live. */
#ifndef CLQ_VEC
#define CLQ_VEC 16
#endif
#define CLQ_PASTE_(a, b) a##b
#define CLQ_PASTE(a, b) CLQ_PASTE_(a, b)
#define CLQ_V(name) CLQ_PASTE(name, CLQ_VEC)
#if CLQ_VEC == 16
#define CLQ_H(name) CLQ_PASTE(name, 8)
#elif CLQ_VEC == 8
#define CLQ_H(name) CLQ_PASTE(name, 4)
#else
#error "CLQ_VEC must be 8 or 16"
#endif
typedef CLQ_V(float) floatv;
typedef CLQ_V(int) intv;
typedef CLQ_V(uint) uintv;
typedef CLQ_V(ushort) ushortv;
typedef CLQ_V(uchar) ucharv;
typedef CLQ_H(uchar) ucharh;
typedef CLQ_H(ulong) ulongh;

/* Whether any lane of m is nonzero. clang's reduction builtin gives vmovmskps +
 * test (AVX2, per 8 lanes) or kortest (AVX-512) on x86, where POCL's any() tests
 * the lanes one by one with branches; without the builtin the mask is narrowed to
 * bytes and tested as 64-bit words. */
#if defined(__has_builtin)
#if __has_builtin(__builtin_reduce_or)
#define CLQ_HAS_REDUCE_OR 1
#endif
#endif
#ifdef CLQ_HAS_REDUCE_OR
inline int any_lane16(int16 m) { return __builtin_reduce_or(m) != 0; }
inline int any_lane8(int8 m) { return __builtin_reduce_or(m) != 0; }
#else
inline int any_lane16(int16 m) {
    ulong2 b = as_ulong2(convert_char16(m));
    return (b.x | b.y) != 0;
}
inline int any_lane8(int8 m) { return as_ulong(convert_char8(m)) != 0; }
#endif
#define any_lanev CLQ_V(any_lane)

/* The clq_dtype and clq_granularity values (CLQ_F32, CLQ_PER_AXIS, ...), the quantize
 * mode bits CLQ_MODE_RECIP / CLQ_MODE_AWAY and the walk modes CLQ_WALK_* come from the
 * prelude before this file (cmake/embed_kernels.cmake: generated from clquant.h, and
 * kernels/clq_kernel_args.h, which the host includes too). */

/* The branch on xt (a clq_dtype) is uniform over the whole launch, so it costs a predictable
 * jump per 16 elements, and one kernel serves every input type. */
inline float16 load16(const global uchar *x, ulong e, int xt) {
    if (xt == CLQ_F32) return vload16(0, (const global float *)x + e);
    if (xt == CLQ_F16) return vload_half16(0, (const global half *)x + e);
    return as_float16(convert_uint16(vload16(0, (const global ushort *)x + e)) << 16);
}

inline floatv loadv(const global uchar *x, ulong e, int xt) {
    if (xt == CLQ_F32) return CLQ_V(vload)(0, (const global float *)x + e);
    if (xt == CLQ_F16) return CLQ_V(vload_half)(0, (const global half *)x + e);
    return CLQ_V(as_float)(CLQ_V(convert_uint)(CLQ_V(vload)(0, (const global ushort *)x + e)) << 16);
}

inline float load1(const global uchar *x, ulong e, int xt) {
    if (xt == CLQ_F32) return ((const global float *)x)[e];
    if (xt == CLQ_F16) return vload_half(0, (const global half *)x + e);
    return as_float((uint)((const global ushort *)x)[e] << 16);
}

/* Zero points as f32, clamped to the qtype's full range first, as every backend does:
 * a TRUSTED caller may pass any int32 (docs/NUMERICS.md), and the fast path below
 * assumes zero points in [-128, 255]. From the quantize range [qmin, qmax], narrow or
 * not: a signed type (qmin < 0) spans [-qmax - 1, qmax], an unsigned one [0, qmax]. */
inline float zp_clamp1(int z, float qmin, float qmax) {
    return clamp((float)z, qmin < 0.0f ? -qmax - 1.0f : 0.0f, qmax);
}
inline float16 zp_clamp16(int16 z, float qmin, float qmax) {
    return clamp(convert_float16(z), qmin < 0.0f ? -qmax - 1.0f : 0.0f, qmax);
}
#if CLQ_VEC != 16
inline floatv zp_clampv(intv z, float qmin, float qmax) {
    return clamp(CLQ_V(convert_float)(z), qmin < 0.0f ? -qmax - 1.0f : 0.0f, qmax);
}
#else
#define zp_clampv zp_clamp16
#endif

/* Round half to even without rint(): POCL's rint is a branchy scalar software
 * routine. For |v| <= 2^22, adding and subtracting 1.5 * 2^23 leaves v rounded to
 * an integer by the f32 add itself, which rounds half to even; NaN stays NaN.
 * Callers clamp v to the (small) output range first, so the bound always holds. */
#define CLQ_RNE_MAGIC 12582912.0f
inline floatv rnev(floatv v) { return (v + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC; }
inline float rne1(float v) { return (v + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC; }
/* Round half away from zero: round |v| to nearest even, then push exact halves
 * that went down back up (r - a is exact here). */
inline floatv rawayv(floatv v) {
    floatv a = fabs(v);
    floatv r = rnev(a);
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
inline __attribute__((always_inline)) intv quantv_exact(floatv x, floatv s, floatv inv,
                                                        floatv zf, floatv lo, floatv hi,
                                                        int mode) {
    floatv v = (mode & CLQ_MODE_RECIP) ? x * inv : x / s;
    v = select(v, lo, v < lo);
    v = select(v, hi, v > hi);
    floatv r = (mode & CLQ_MODE_AWAY) ? rawayv(v) : rnev(v);
    floatv t = r + zf;
    t = select(t, zf, isnan(t));
    return CLQ_V(convert_int)(t);
}

/* CLQ_MODE_FAST (set per granule by qpar_make / qpar16_make): the same q from one
 * fused multiply-add and integer ops, falling back to quantv_exact for any
 * vector holding a lane close to a rounding boundary. The real division and the
 * float rounding cost POCL ~20 vector uops per 16 elements, more than the memory
 * traffic; this path needs about half of that. The zero point rides in the fma's
 * addend, so the clamp bounds are the same for every granule and a granule's fast
 * path needs only inv and Mz (two broadcasts per block in quantize_gran).
 *
 *   y = clamp(fma(x, inv, Mz), qmin + M, qmax + M), M = 1.5 * 2^13, Mz = M + zp,
 *   NaN y replaced by Mz;   r = bits(y) - bits(M) + 512;   q = r >> 10 (low 8 bits)
 *
 * Proof that q is the contract's result. Let w = x * inv (exact real product),
 * g(t) = t rounded to the nearest multiple of 2^-10 (ties to even), H the set of
 * half-integers k + 1/2, lo = qmin - zp, hi = qmax - zp, f(t) = round(clamp(t, lo,
 * hi)) in the requested mode. f is monotonic and constant on every interval
 * holding no element of H (lo, hi are integers), in both modes.
 *  - Valid parameters give qmin, qmax, zp in [-128, 255] (zp_clamp1/zp_clamp16 make
 *    sure of it for zero points a TRUSTED caller passed), so Mz is exact, qmin + M
 *    and qmax + M lie in [2^13, 2^14), where the f32 grid is 2^-10 and bits are
 *    linear: for a clamped y, bits(y) - bits(M) = 1024 (y - M) exactly. If
 *    |w + zp| < 2^12, w + zp + M lies in [2^13, 2^14] and fma's single rounding
 *    gives y = M + g(w + zp) = M + zp + g(w) before the clamp (shifting by the
 *    integer zp keeps the grid and its even points), so after it y - M =
 *    zp + clamp(g(w), lo, hi) and r = 1024 (clamp(g(w), lo, hi) + zp) + 512.
 *    If |w + zp| >= 2^12 (Inf included), y lands beyond the bound of that sign and
 *    is clamped to it; then w has the same sign and |w| > 2^12 - 255 > 256.
 *  - "Near": r mod 1024 == 0, i.e. y - M is a half-integer. The grid holds H,
 *    so every w within 2^-11 of some h in H has g(w) = h (at exactly 2^-11 the tie
 *    goes to the even multiple, which is h); a lane whose y - M - zp = g(w) is not
 *    near therefore has dist(w, H) > 2^-11, and round(g(w)) + zp = round(w) + zp =
 *    floor(y - M + 1/2) = r >> 10 in both modes (g is monotonic; no tie is
 *    possible). A lane clamped to a bound has y - M integer, never near, and
 *    q = qmin or qmax.
 *  - The contract's v is close to w: reciprocal mode, v = RN(w),
 *    |v - w| <= 2^-24 |w| + 2^-150. Division mode: qpar_make sets FAST only when
 *    inv is finite and normal, so inv = (1/s)(1 + e), |e| <= 2^-24, whatever s is
 *    (an s whose 1/s overflows or is denormal keeps the exact path), and with
 *    q* = x / s, w = q*(1 + e) and v = RN(q*): |v - w| <= 2^-23 |q*| + 2^-150.
 *    So |v - w| < 2^-14 for |w| < 256 (the 2^-150 terms cover underflow;
 *    denormals are not flushed), and v has w's sign with |v| > 256 for
 *    |w| > 2^12 - 255.
 *  - So for a lane that is not near: if g(w) is inside [lo, hi], then |w| < 256 and
 *    no element of H lies between v and w (dist(w, H) > 2^-11 > |v - w|), so
 *    f(v) = f(w) and v is not a tie: q = f(v) + zp. If g(w) is beyond a bound, say
 *    g(w) > hi, then w >= hi + 2^-11 and v > hi - 1/2, so f(v) = hi, q = qmax
 *    (lo likewise). If |w + zp| >= 2^12, f(v) is the bound of w's sign, as q is.
 *  - NaN: y is NaN exactly when w is (NaN x, or x = 0 times inv = +Inf in
 *    reciprocal mode), which are the lanes where the contract's v is NaN; the
 *    select gives them y = Mz, r = 1024 zp + 512: q = zp, not near.
 * A vector with a near lane is recomputed whole by quantv_exact (real division
 * or the product, float rounding in the requested mode), so every lane the proof
 * does not cover, all ties included, gets the contract's result. Near lanes are
 * about 2^-10 of uniformly spread values. */
#define CLQ_MODE_FAST 4
#define CLQ_GRID_MAGIC 12288.0f /* 1.5 * 2^13 */
#define CLQ_GRID_BITS 0x46400000


/* Quantize parameters of one granule, each as the vector loops use it: mz = zp on
 * the grid (+ 1.5 * 2^13), glo/ghi = qmin/qmax on the grid. */
typedef struct {
    float s, inv, zf, lo, hi, mz, glo, ghi;
    int mode;
} qpar_t;

/* The same for 16 consecutive granules, computed with one vector division. */
typedef struct {
    float16 s, inv, zf, lo, hi, mz, glo, ghi;
    int16 mode;
} qpar16_t;

/* FAST always in reciprocal mode, and in division mode when inv = RN(1 / s) is a
 * finite normal number (see quantv_fast). */
inline qpar_t qpar_make(float s, float zf, float qmin, float qmax, int mode) {
    qpar_t p;
    p.s = s;
    p.inv = 1.0f / s;
    p.zf = zf;
    p.lo = qmin - zf;
    p.hi = qmax - zf;
    p.mz = zf + CLQ_GRID_MAGIC;
    p.glo = qmin + CLQ_GRID_MAGIC;
    p.ghi = qmax + CLQ_GRID_MAGIC;
    int fast = (mode & CLQ_MODE_RECIP) || (p.inv <= FLT_MAX && p.inv >= FLT_MIN);
    p.mode = fast ? mode | CLQ_MODE_FAST : mode;
    return p;
}

inline qpar16_t qpar16_make(float16 s, float16 zf, float qmin, float qmax, int mode) {
    qpar16_t p;
    p.s = s;
    p.inv = 1.0f / s;
    p.zf = zf;
    p.lo = qmin - zf;
    p.hi = qmax - zf;
    p.mz = zf + CLQ_GRID_MAGIC;
    p.glo = (float16)(qmin + CLQ_GRID_MAGIC);
    p.ghi = (float16)(qmax + CLQ_GRID_MAGIC);
    int16 fast = (mode & CLQ_MODE_RECIP) ? (int16)(-1) : (p.inv <= FLT_MAX && p.inv >= FLT_MIN);
    p.mode = select((int16)(mode), (int16)(mode | CLQ_MODE_FAST), fast);
    return p;
}

/* Lane i of a qpar16_t in private memory (a load per field, no shuffles). */
inline qpar_t qpar_lane(const qpar16_t *P, ulong i) {
    qpar_t p;
    p.s = ((const float *)&P->s)[i];
    p.inv = ((const float *)&P->inv)[i];
    p.zf = ((const float *)&P->zf)[i];
    p.lo = ((const float *)&P->lo)[i];
    p.hi = ((const float *)&P->hi)[i];
    p.mz = ((const float *)&P->mz)[i];
    p.glo = ((const float *)&P->glo)[i];
    p.ghi = ((const float *)&P->ghi)[i];
    p.mode = ((const int *)&P->mode)[i];
    return p;
}

/* Grid values of CLQ_VEC lanes in FAST mode: q in bits 10 and up (only the low 8
 * bits of q are meaningful: the caller stores them truncated to a byte or a nibble).
 * gridv is the fma path alone; nearv says whether its result must be replaced. */
inline __attribute__((always_inline)) intv gridv(floatv x, floatv inv, floatv mz, floatv glo,
                                                 floatv ghi) {
    floatv y = fma(x, inv, mz);
    y = select(y, glo, y < glo);
    y = select(y, ghi, y > ghi);
    y = select(y, mz, y != y);
    return CLQ_V(as_int)(y) + (512 - CLQ_GRID_BITS);
}
/* A lane is near when its low 10 bits are 0. With the reduction builtin that is
 * and, compare, vmovmskps on AVX2 (per 8 lanes) and vptestnm + kortest on AVX-512.
 * Without it, on x86 without AVX-512: (r & 1023) - 1 is negative, one OR of the
 * halves and a vptest against the sign bits. */
#if !defined(CLQ_HAS_REDUCE_OR) && defined(__x86_64__) && !defined(__AVX512F__)
inline int nearv(intv r) {
    CLQ_H(int) t = ((r.lo & 1023) - 1) | ((r.hi & 1023) - 1);
#if CLQ_VEC == 16
    ulong4 u = as_ulong4(t & (int8)(INT_MIN));
    return (u.x | u.y | u.z | u.w) != 0;
#else
    ulong2 u = as_ulong2(t & (int4)(INT_MIN));
    return (u.x | u.y) != 0;
#endif
}
#else
inline int nearv(intv r) { return any_lanev((r & 1023) == 0); }
#endif

/* Whether either of two grid vectors has a near lane. */
#if !defined(CLQ_HAS_REDUCE_OR) && defined(__x86_64__) && !defined(__AVX512F__)
inline int near2v(intv a, intv b) { return nearv(a) || nearv(b); }
#else
inline int near2v(intv a, intv b) { return any_lanev(((a & 1023) == 0) | ((b & 1023) == 0)); }
#endif

inline __attribute__((always_inline)) intv quantv_fast(floatv x, floatv s, floatv inv, floatv zf,
                                                       floatv lo, floatv hi, floatv mz,
                                                       floatv glo, floatv ghi, int mode) {
    intv r = gridv(x, inv, mz, glo, ghi);
    if (nearv(r)) r = quantv_exact(x, s, inv, zf, lo, hi, mode) << 10;
    return r;
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
typedef struct __attribute__((packed)) {
    uchar4 v;
} clq_u8x4_st;
inline void store_u8x4(uchar4 v, global uchar *p) { ((global clq_u8x4_st *)p)->v = v; }
inline uchar16 load_u8x16(const global uchar *p) { return ((const global clq_u8x16 *)p)->v; }
inline uchar8 load_u8x8(const global uchar *p) { return ((const global clq_u8x8 *)p)->v; }

/* Two's-complement nibbles of CLQ_VEC values (only their low 4 bits are read),
 * packed low nibble first into CLQ_VEC / 2 bytes: in each 64-bit pair the odd
 * value's nibble is shifted next to the even one's and the byte truncation keeps
 * both. */
inline ucharh pack4v(intv q) {
    ulongh l = CLQ_H(as_ulong)(q);
    return CLQ_H(convert_uchar)(bitselect(l >> (ulongh)28, l, (ulongh)15));
}

/* The same from grid values (quantv_fast: each value's bits 10..13). */
inline ucharh pack4vg(intv r) {
    ulongh l = CLQ_H(as_ulong)(r);
    return CLQ_H(convert_uchar)(bitselect(l >> (ulongh)38, l >> (ulongh)10, (ulongh)15));
}
/* CLQ_VEC bytes, and CLQ_VEC / 2 (a 4-bit vector). */
#define store_u8v CLQ_V(store_u8x)
#define store_u8h CLQ_H(store_u8x)

/* Granule p of a layout covers {base + u * su + v : u < U, v < V}, v contiguous;
 * mode is a CLQ_WALK_* (kernels/clq_kernel_args.h). */
typedef struct {
    ulong base, su, U, V;
} walk_t;

inline walk_t walk_granule(int mode, ulong p, ulong n, ulong outer, ulong axis_len, ulong inner,
                           ulong nblocks, ulong block) {
    walk_t w;
    if (mode == CLQ_WALK_TENSOR) {
        w.base = 0; w.su = 0; w.U = 1; w.V = n;
    } else if (mode == CLQ_WALK_AXIS) {
        w.base = p * inner; w.su = axis_len * inner; w.U = outer; w.V = inner;
    } else if (mode == CLQ_WALK_BLOCK_CONTIG) {
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

/* The parameter index of element e (backend.h clq_layout_param); gran a clq_granularity. */
inline ulong layout_param(int gran, ulong e, ulong axis_len, ulong inner, ulong nblocks,
                          ulong block) {
    if (gran == CLQ_PER_TENSOR) return 0;
    ulong oc = e / inner, i = e - oc * inner;
    ulong o = oc / axis_len, c = oc - o * axis_len;
    if (gran == CLQ_PER_AXIS) return c;
    return (o * nblocks + c / block) * inner + i;
}
