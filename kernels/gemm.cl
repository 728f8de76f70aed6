/* gemm.cl: int8 GEMM in the s8 domain of host/backend.h: weight packing with column
 * sums, row sums of A, the tiled kernel, its dot-product variant, and the output stages. */

/* Tile sizes (the host passes per-device values, host/opencl/cl_tuning.c).
 * NR: columns of a packed panel and of a work item's tile (multiple of 4);
 * MR: rows of a work item's tile in the generic kernel (gemm_tile1 has 1). */
#ifndef CLQ_GEMM_NR
#define CLQ_GEMM_NR 16
#endif
#ifndef CLQ_GEMM_MR
#define CLQ_GEMM_MR 6
#endif
#define NR CLQ_GEMM_NR

/* Packed B: panel p holds columns [p NR, p NR + NR) over kp (K rounded up to 4)
 * as [k / 4][column][k % 4] s8 bytes, zero past K and past N: a work item reads
 * 4 NR contiguous bytes per 4 k. */

typedef struct __attribute__((packed)) {
    uchar4 v;
} clq_u8x4;
inline uchar4 load_u8x4(const global uchar *p) { return ((const global clq_u8x4 *)p)->v; }

/* One work item per packed column j < panels * NR: its bytes in the s8 domain (bx
 * is 0x80 for u8 weights) and cs'[j] for j < n. */
kernel void gemm_pack(CLQ_PARAMS(gemm_pack)) {
    ulong j = get_global_id(0);
    global uchar *dst = packed + (j / NR) * NR * kp + (j % NR) * 4;
    const global uchar *src = b + boff + j * k;
    uint sum = 0; /* mod 2^32, as the epilogue uses it (K is not bounded at pack time) */
    for (ulong q = 0; q < kp / 4; q++) {
        uchar4 v = (uchar4)(0);
        if (j < n) {
            ulong k0 = 4 * q;
            if (k0 + 4 <= k) {
                v = load_u8x4(src + k0) ^ (uchar4)(bx);
            } else {
                for (ulong i = 0; k0 + i < k; i++) ((uchar *)&v)[i] = src[k0 + i] ^ bx;
            }
        }
        uint4 s = as_uint4(convert_int4(as_char4(v)));
        sum += (s.x + s.y) + (s.z + s.w);
        *(global clq_u8x4 *)(dst + q * NR * 4) = (clq_u8x4){v};
    }
    if (j < n) colsum[j] = (int)sum;
}

/* sums[r] = sum_k a[r lda + k] of the stored values (is_s8 says how bytes read),
 * mod 2^32 like every correction term. */
kernel void gemm_rowsums(CLQ_PARAMS(gemm_rowsums)) {
    ulong r = get_global_id(0);
    if (r >= rows) return;
    const global uchar *p = a + aoff + r * lda;
    uint16 acc = 0;
    ulong i = 0;
    for (; i + 16 <= k; i += 16) {
        uchar16 v = load_u8x16(p + i);
        acc += is_s8 ? as_uint16(convert_int16(as_char16(v))) : convert_uint16(v);
    }
    uint8 h = acc.lo + acc.hi;
    uint4 q = h.lo + h.hi;
    uint s = (q.x + q.y) + (q.z + q.w);
    for (; i < k; i++) s += is_s8 ? (uint)(int)as_char(p[i]) : (uint)p[i];
    sums[soff + r] = (int)s;
}

/* ---- output stages -------------------------------------------------------- */

/* ctype, the type of C, is a clq_dtype: CLQ_S32, CLQ_F32, CLQ_S8 or CLQ_U8. */

/* What the epilogue needs besides C: everything per launch, read once per work item. */
typedef struct {
    int ctype, fixed, relu, has_bias, has_rs, qmin, qmax, zc;
    uint za; /* za' */
    uint kk; /* K mod 2^32 */
    float sa, sc;
} stage_t;

/* Per-column values for 4 columns starting at n0 (columns past N get harmless values). */
typedef struct {
    uint4 zb, colterm;
    float4 f;    /* F32: sa * sb[n]; float requant: (sa * sb[n]) / sc */
    float4 bias;
    int4 mult, shift;
} cols_t;

inline int4 gather4(const global int *p, ulong off, int per_channel, ulong n0, ulong n) {
    if (!per_channel) return (int4)(p[off]);
    int4 v;
    v.x = p[off + n0];
    v.y = p[off + min(n0 + 1, n - 1)];
    v.z = p[off + min(n0 + 2, n - 1)];
    v.w = p[off + min(n0 + 3, n - 1)];
    return v;
}

/* C = acc - zb' rs' - za' cs' + K za' zb' (uint wrap-around): colterm holds the
 * last two terms. */
inline cols_t stage_cols(const stage_t *st, ulong n0, ulong n, const global int *colsum,
                         const global int *zb, int zb_pc, const global float *sb, int sb_pc,
                         const global float *bias, ulong bias_off, const global int *mult,
                         ulong mult_off, const global int *shift, ulong shift_off, int mult_pc) {
    cols_t c;
    uint4 z = as_uint4(gather4(zb, 0, zb_pc, n0, n));
    uint4 cs = as_uint4(gather4(colsum, 0, 1, n0, n));
    c.zb = z;
    c.colterm = st->kk * st->za * z - st->za * cs;
    if (st->ctype == CLQ_S32) return c;
    if (st->ctype == CLQ_F32 || !st->fixed) {
        float4 s = st->sa * as_float4(gather4((const global int *)sb, 0, sb_pc, n0, n));
        c.f = st->ctype == CLQ_F32 ? s : s / st->sc;
        if (st->has_bias) c.bias = as_float4(gather4((const global int *)bias, bias_off, 1, n0, n));
    } else {
        c.mult = gather4(mult, mult_off, mult_pc, n0, n);
        c.shift = clamp(gather4(shift, shift_off, mult_pc, n0, n), -31, 30); /* TRUSTED: any */
    }
    return c;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, lane-wise;
 * the left shift wraps mod 2^32 (shifts are in [-31, 30]: stage_cols clamps them). */
inline int4 mbqm4(int4 x, int4 m, int4 shift) {
    int4 left = max(shift, 0), right = max(-shift, 0);
    x = as_int4(as_uint4(x) << as_uint4(left));
    long4 ab = convert_long4(x) * convert_long4(m);
    long4 nudge = select((long4)(1 - (1 << 30)), (long4)(1 << 30), ab >= 0);
    int4 high = convert_int4((ab + nudge) / (1L << 31));
    high = select(high, (int4)(INT_MAX), (x == m) & (x == INT_MIN));
    int4 mask = convert_int4(((long4)(1) << convert_long4(right)) - 1);
    int4 rem = high & mask;
    int4 thr = (mask >> 1) + select((int4)(0), (int4)(1), high < 0);
    return (high >> right) + select((int4)(0), (int4)(1), rem > thr);
}

/* Applies the stage to 4 columns of one row and stores the ncols (1..4) that exist. */
inline void stage_store(const stage_t *st, const cols_t *cc, uint4 c, uint rs, global uchar *C,
                        ulong e, int ncols) {
    if (st->has_rs) c -= cc->zb * rs;
    c += cc->colterm;
    int4 v = as_int4(c);
    if (st->ctype == CLQ_S32 || st->ctype == CLQ_F32) {
        if (st->ctype == CLQ_F32) {
            float4 y = convert_float4(v) * cc->f;
            if (st->has_bias) y = y + cc->bias;
            if (st->relu) y = select((float4)(0.0f), y, y > 0.0f);
            v = as_int4(y);
        }
        global int *p = (global int *)C + e;
        if (ncols == 4) {
            vstore4(v, 0, p);
        } else {
            p[0] = v.x;
            if (ncols > 1) p[1] = v.y;
            if (ncols > 2) p[2] = v.z;
        }
        return;
    }
    if (st->fixed) {
        long4 q = convert_long4(mbqm4(v, cc->mult, cc->shift)) + (long)st->zc;
        v = convert_int4(clamp(q, (long4)(st->qmin), (long4)(st->qmax)));
    } else {
        float4 y = convert_float4(v) * cc->f;
        float lo = (float)(st->qmin - st->zc), hi = (float)(st->qmax - st->zc);
        y = select(y, (float4)(lo), y < lo);
        y = select(y, (float4)(hi), y > hi);
        y = select(y, (float4)(0.0f), isnan(y)); /* a NaN product (TRUSTED scales) gives zc */
        y = (y + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC;
        v = convert_int4(y) + st->zc;
    }
    uchar4 b = convert_uchar4(v & 255); /* the low bytes, s8 and u8 alike */
    global uchar *p = C + e;
    if (ncols == 4) {
        *(global clq_u8x4 *)p = (clq_u8x4){b};
    } else {
        p[0] = b.x;
        if (ncols > 1) p[1] = b.y;
        if (ncols > 2) p[2] = b.z;
    }
}

inline stage_t stage_load(int ctype, ulong k, int a_u8, const global int *za, ulong za_off,
                          int has_za, int has_rs, const global float *sa, ulong sa_off,
                          int has_bias, int relu, const global float *sc, ulong sc_off,
                          const global int *zc, ulong zc_off, int has_zc, int fixed, int qmin,
                          int qmax) {
    stage_t st;
    st.ctype = ctype;
    st.fixed = fixed;
    st.relu = relu;
    st.has_bias = has_bias;
    st.has_rs = has_rs;
    st.qmin = qmin;
    st.qmax = qmax;
    /* TRUSTED zero points may be any int32: za and zc are clamped to their types' full
     * ranges first, as on every backend (docs/NUMERICS.md); so qmin - zc cannot overflow */
    st.zc = has_zc ? zc[zc_off] : 0;
    if (ctype == CLQ_S8 || ctype == CLQ_U8)
        st.zc = clamp(st.zc, ctype == CLQ_U8 ? 0 : -128, ctype == CLQ_U8 ? 255 : 127);
    int zav = has_za ? za[za_off] : 0;
    st.za = (uint)clamp(zav, a_u8 ? 0 : -128, a_u8 ? 255 : 127) - (a_u8 ? 128u : 0u);
    st.kk = (uint)k;
    int fl = ctype == CLQ_F32 || ((ctype == CLQ_S8 || ctype == CLQ_U8) && !fixed);
    st.sa = fl ? sa[sa_off] : 1.0f;
    st.sc = fl && ctype != CLQ_F32 ? sc[sc_off] : 1.0f;
    return st;
}

/* Every GEMM kernel takes CLQ_KARGS_gemm (kernels/clq_kernel_args.h): A, packed B,
 * then the output stage's arguments. */

#define GEMM_STAGE_LOAD                                                                      \
    stage_load(ctype, k, a_u8, za, za_off, has_za, has_rs, sa, sa_off, has_bias, relu, sc,   \
               sc_off, zc, zc_off, has_zc, fixed, qmin, qmax)
#define GEMM_STAGE_COLS(n0)                                                                  \
    stage_cols(&st, (n0), n, colsum, zb, zb_pc, sb, sb_pc, bias, bias_off, mult, mult_off,   \
               shift, shift_off, mult_pc)

/* ---- generic kernel ------------------------------------------------------- */

/* Work-item tiles multiply 4 s8-domain values of A (one "quad", k = 4q..4q+3) by
 * the 4 values of each column of B at the same k, as 16-bit products added in
 * pairs: an accumulator lane pair (2c, 2c+1) holds column c's sums over k % 4 in
 * {0, 1} and {2, 3}. On x86 runtimes (POCL's CPU device) that is vpmaddwd, on 8
 * columns with AVX-512BW and on 4 with AVX2, written as the builtin because LLVM
 * does not find it in the portable expression (it emits 32-bit vpmulld).
 * Elsewhere, or with CLQ_GEMM_PORTABLE, the portable form works on 4 columns. */
#if defined(__x86_64__) && defined(__AVX512BW__) && !defined(CLQ_GEMM_PORTABLE)
typedef short v32s __attribute__((vector_size(64)));
typedef char v32c __attribute__((vector_size(32)));
typedef int v16i __attribute__((vector_size(64)));
typedef uint v8u __attribute__((vector_size(32)));
#define VC 8
#define ACC_ZERO ((v16i){})
typedef v16i acc_t;
typedef v32s opnd_t;
inline opnd_t b_load(const global char *p) {
    return __builtin_convertvector(*(const global v32c *)p, v32s);
}
/* The quad in every 32-bit lane, then one sign extension (vpbroadcastd, vpmovsxbw). */
inline opnd_t a_bcast(uint quad) { return __builtin_convertvector((v32c)((v8u){} + quad), v32s); }
inline acc_t mac(acc_t acc, opnd_t a, opnd_t b) { return acc + __builtin_ia32_pmaddwd512(a, b); }
/* A staged in private memory (see gemm_tile_body): 32 bytes of A to s16, and a
 * staged quad (4 s16 in a ulong) to every 64-bit lane (vpbroadcastq from memory). */
#define CLQ_GEMM_STAGE_A 32
typedef struct __attribute__((packed)) {
    v32c v;
} clq_v32c_p;
inline void a_cvt(private short *d, const global uchar *s, char ax) {
    *(private v32s *)d = __builtin_convertvector(((const global clq_v32c_p *)s)->v ^ ax, v32s);
}
typedef long v8l __attribute__((vector_size(64)));
inline opnd_t a_bcast4(ulong s4) { return (opnd_t)((v8l){} + (long)s4); }
/* Column sums of columns [4 h, 4 h + 4) of an accumulator. */
inline uint4 acc_cols(acc_t acc, int h) {
    int8 e = __builtin_astype(__builtin_shufflevector(acc, acc, 0, 2, 4, 6, 8, 10, 12, 14), int8);
    int8 o = __builtin_astype(__builtin_shufflevector(acc, acc, 1, 3, 5, 7, 9, 11, 13, 15), int8);
    int8 s = e + o;
    return as_uint4(h ? s.hi : s.lo);
}
#elif defined(__x86_64__) && defined(__AVX2__) && !defined(CLQ_GEMM_PORTABLE)
typedef short v16s __attribute__((vector_size(32)));
typedef char v16c __attribute__((vector_size(16)));
typedef int v8i __attribute__((vector_size(32)));
typedef uint v4u __attribute__((vector_size(16)));
#define VC 4
#define ACC_ZERO ((v8i){})
typedef v8i acc_t;
typedef v16s opnd_t;
inline opnd_t b_load(const global char *p) {
    return __builtin_convertvector(*(const global v16c *)p, v16s);
}
inline opnd_t a_bcast(uint quad) { return __builtin_convertvector((v16c)((v4u){} + quad), v16s); }
inline acc_t mac(acc_t acc, opnd_t a, opnd_t b) { return acc + __builtin_ia32_pmaddwd256(a, b); }
#define CLQ_GEMM_STAGE_A 16
typedef struct __attribute__((packed)) {
    v16c v;
} clq_v16c_p;
inline void a_cvt(private short *d, const global uchar *s, char ax) {
    *(private v16s *)d = __builtin_convertvector(((const global clq_v16c_p *)s)->v ^ ax, v16s);
}
typedef long v4l __attribute__((vector_size(32)));
inline opnd_t a_bcast4(ulong s4) { return (opnd_t)((v4l){} + (long)s4); }
inline uint4 acc_cols(acc_t acc, int h) {
    int4 e = __builtin_astype(__builtin_shufflevector(acc, acc, 0, 2, 4, 6), int4);
    int4 o = __builtin_astype(__builtin_shufflevector(acc, acc, 1, 3, 5, 7), int4);
    return as_uint4(e + o);
}
#else
#define VC 4
#define ACC_ZERO ((int8)(0))
typedef int8 acc_t;
typedef short16 opnd_t;
inline opnd_t b_load(const global char *p) { return convert_short16(*(const global char16 *)p); }
inline opnd_t a_bcast(uint quad) {
    short4 s = convert_short4(as_char4(quad));
    return (short16)(s, s, s, s);
}
inline acc_t mac(acc_t acc, opnd_t a, opnd_t b) {
    return acc + convert_int8(a.even) * convert_int8(b.even) +
           convert_int8(a.odd) * convert_int8(b.odd);
}
inline uint4 acc_cols(acc_t acc, int h) {
    (void)h; /* one accumulator holds 4 columns here */
    return as_uint4(acc.even + acc.odd);
}
#endif
#define NV (NR / VC) /* accumulators per row */
#if NR % VC != 0
#error "CLQ_GEMM_NR must be a multiple of the columns per accumulator (8 with AVX-512BW, else 4)"
#endif

typedef struct __attribute__((packed)) {
    uint v;
} clq_u32p;

/* A quad at p in the s8 domain; the tail form reads only `valid` bytes and gives 0
 * for the rest. */
inline uint a_quad(const global uchar *p, uint ax) { return ((const global clq_u32p *)p)->v ^ ax; }
inline uint a_quad_tail(const global uchar *p, uint ax, ulong valid) {
    uint v = 0;
    for (ulong i = 0; i < valid; i++) v |= (uint)(p[i] ^ (uchar)ax) << (8 * i);
    return v;
}

#ifdef CLQ_GEMM_STAGE_A
#define KCQ 64 /* quads of A staged at a time */
/* nb (a multiple of 4) s8-domain values of A from s, as s16 at d; avail: the
 * bytes left in the row (the values past it are 0). */
inline void a_stage(private short *d, const global uchar *s, ulong avail, int nb, char ax) {
    int i = 0;
    if (avail >= (ulong)nb)
        for (; i + CLQ_GEMM_STAGE_A <= nb; i += CLQ_GEMM_STAGE_A) a_cvt(d + i, s + i, ax);
    int end = (int)min((ulong)nb, avail);
    for (; i < end; i++) d[i] = (short)as_char((uchar)(s[i] ^ ax));
    for (; i < nb; i++) d[i] = 0;
}
#endif

/* One work item: rows [mr i, mr i + mr) x panel p. mr is a constant after inlining
 * (CLQ_GEMM_MR, or 1 for small M, where the work is a stream over B), so the
 * unrolled loops leave acc in registers. */
static inline __attribute__((always_inline)) void gemm_tile_body(CLQ_PARAMS(gemm),
                                                                  const int mr) {
    ulong i = get_global_id(0), p = get_global_id(1);
    ulong n0 = p * NR, m0 = i * mr;
    if (n0 >= n || m0 >= m) return;
    uint ax = a_u8 ? 0x80808080u : 0u;
    const global uchar *arow[CLQ_GEMM_MR];
    _Pragma("unroll") for (int r = 0; r < mr; r++) arow[r] = A + a_off + min(m0 + r, m - 1) * lda;
    const global char *bp = B + p * NR * kp;
    acc_t acc[CLQ_GEMM_MR][NV];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = ACC_ZERO;
#ifdef CLQ_GEMM_STAGE_A
    /* A's rows are converted to s16 in private memory KCQ quads at a time, so the
     * inner loop broadcasts them straight from memory: the conversion (a shuffle
     * port uop per quad and row otherwise, on the port the adds need) is done
     * once per CLQ_GEMM_STAGE_A bytes instead. */
    ulong apq[CLQ_GEMM_MR][KCQ] __attribute__((aligned(64)));
    ulong kq_all = kp / 4;
    for (ulong q0 = 0; q0 < kq_all; q0 += KCQ) {
        int nq = (int)min((ulong)KCQ, kq_all - q0);
        _Pragma("unroll") for (int r = 0; r < mr; r++)
            a_stage((private short *)apq[r], arow[r] + 4 * q0, k - 4 * q0, 4 * nq, (char)ax);
        for (int q = 0; q < nq; q++) {
            opnd_t bv[NV];
            _Pragma("unroll") for (int v = 0; v < NV; v++)
                bv[v] = b_load(bp + ((q0 + q) * NV + v) * 4 * VC);
            _Pragma("unroll") for (int r = 0; r < mr; r++) {
                opnd_t av = a_bcast4(apq[r][q]);
                _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = mac(acc[r][v], av, bv[v]);
            }
        }
    }
#else
    ulong kq = k / 4;
    for (ulong q = 0; q < kq; q++) {
        opnd_t bv[NV];
        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = b_load(bp + (q * NV + v) * 4 * VC);
        _Pragma("unroll") for (int r = 0; r < mr; r++) {
            opnd_t av = a_bcast(a_quad(arow[r] + 4 * q, ax));
            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = mac(acc[r][v], av, bv[v]);
        }
    }
    if (k % 4) {
        opnd_t bv[NV];
        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = b_load(bp + (kq * NV + v) * 4 * VC);
        _Pragma("unroll") for (int r = 0; r < mr; r++) {
            opnd_t av = a_bcast(a_quad_tail(arow[r] + 4 * kq, ax, k % 4));
            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = mac(acc[r][v], av, bv[v]);
        }
    }
#endif
    stage_t st = GEMM_STAGE_LOAD;
    int ncols = (int)min((ulong)NR, n - n0);
    /* The stages run from memory: unrolled over the whole tile they would make
     * the kernel many times larger for no gain. */
    uint4 sums[CLQ_GEMM_MR][NR / 4];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        _Pragma("unroll") for (int t = 0; t < NR / 4; t++)
            sums[r][t] = acc_cols(acc[r][t / (VC / 4)], t % (VC / 4));
    for (int t = 0; 4 * t < ncols; t++) {
        cols_t cc = GEMM_STAGE_COLS(n0 + 4 * t);
        for (int r = 0; r < mr && m0 + r < m; r++) {
            uint rs = has_rs ? (uint)rowsums[rs_off + m0 + r] - (a_u8 ? 128u * (uint)k : 0u) : 0u;
            stage_store(&st, &cc, sums[r][t], rs, C, c_off + (m0 + r) * ldc + n0 + 4 * t,
                        min(4, ncols - 4 * t));
        }
    }
}

kernel void gemm_tile(CLQ_PARAMS(gemm)) { gemm_tile_body(CLQ_NAMES(gemm), CLQ_GEMM_MR); }

kernel void gemm_tile1(CLQ_PARAMS(gemm)) { gemm_tile_body(CLQ_NAMES(gemm), 1); }

/* ---- dot-product variant ---------------------------------------------------- */

/* For devices with an int8 dot product (cl_khr_integer_dot_product, or NVIDIA's
 * dp4a from compute capability 6.1): a work group computes a DBM x DBN block of C
 * from A and B quads staged in local memory, DKQ quads of K at a time; each work
 * item owns DTM rows (strided by DBM / DTM) and 4 adjacent columns. The host
 * builds with CLQ_GEMM_DOT_NATIVE = 1 (khr) or 2 (NVIDIA PTX); without it the
 * dot is emulated, which only serves to test this kernel on other devices. */
#ifndef CLQ_GEMM_DOT_BM
#define CLQ_GEMM_DOT_BM 64
#endif
#ifndef CLQ_GEMM_DOT_BN
#define CLQ_GEMM_DOT_BN 64
#endif
#ifndef CLQ_GEMM_DOT_TM
#define CLQ_GEMM_DOT_TM 4
#endif
#ifndef CLQ_GEMM_DOT_KQ
#define CLQ_GEMM_DOT_KQ 8
#endif
#define DBM CLQ_GEMM_DOT_BM
#define DBN CLQ_GEMM_DOT_BN
#define DTM CLQ_GEMM_DOT_TM
#define DKQ CLQ_GEMM_DOT_KQ
#define DLX (DBN / 4)   /* work items along N */
#define DLY (DBM / DTM) /* work items along M */

#if DBM % DTM != 0 || DBN % 4 != 0 || NR % 4 != 0
#error "CLQ_GEMM_DOT_BM must be a multiple of CLQ_GEMM_DOT_TM, CLQ_GEMM_DOT_BN and CLQ_GEMM_NR of 4"
#endif

/* The host saw the extension; the compiler must declare it too, or the variant
 * falls back to the emulated dot rather than failing to build. */
#if CLQ_GEMM_DOT_NATIVE == 1 && !defined(cl_khr_integer_dot_product) && \
    !defined(__opencl_c_integer_dot_product_input_4x8bit)
#undef CLQ_GEMM_DOT_NATIVE
#define CLQ_GEMM_DOT_NATIVE 0
#endif
#if CLQ_GEMM_DOT_NATIVE == 1
inline int dot4(uint a, uint b, int acc) { return acc + dot(as_char4(a), as_char4(b)); }
#elif CLQ_GEMM_DOT_NATIVE == 2
/* Inline PTX. `__asm__`, not `asm`: clang's OpenCL C has no `asm` keyword ("use of
 * undeclared identifier 'asm'"), the GNU spelling is a keyword in every mode (the
 * offline compile, scripts/offline-compile.sh, runs this through ptxas). */
inline int dot4(uint a, uint b, int acc) {
    int r;
    __asm__("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
inline int dot4(uint a, uint b, int acc) {
    int4 x = convert_int4(as_char4(a)) * convert_int4(as_char4(b));
    return acc + ((x.x + x.y) + (x.z + x.w));
}
#endif

/* Work-group size (DLX, DLY); global (DLX * ceil(n / DBN), DLY * ceil(m / DBM)).
 * The packed panels must hold a multiple of 4 columns (CLQ_GEMM_NR). */
kernel __attribute__((reqd_work_group_size(DLX, DLY, 1))) void gemm_dot(CLQ_PARAMS(gemm)) {
    /* a_s rows padded: the staging writes walk q fastest (coalesced along K) */
    local uint a_s[DKQ][DBM + 1];
    local uint4 b_s[DKQ][DBN / 4];
    int tx = get_local_id(0), ty = get_local_id(1), lid = ty * DLX + tx;
    ulong n0 = get_group_id(0) * DBN, m0 = get_group_id(1) * DBM;
    uint ax = a_u8 ? 0x80808080u : 0u;
    int acc[DTM][4];
    for (int r = 0; r < DTM; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = 0;
    ulong kq_all = kp / 4;
    for (ulong q0 = 0; q0 < kq_all; q0 += DKQ) {
        /* stage A: quad (q, row) for q < DKQ, row < DBM; zero past K, rows clamped */
        for (int e = lid; e < DKQ * DBM; e += DLX * DLY) {
            int q = e % DKQ, row = e / DKQ;
            ulong kq = q0 + q, mr = min(m0 + row, m - 1);
            uint v = 0;
            if (4 * kq + 4 <= k) {
                v = a_quad(A + a_off + mr * lda + 4 * kq, ax);
            } else if (4 * kq < k) {
                v = a_quad_tail(A + a_off + mr * lda + 4 * kq, ax, k - 4 * kq);
            }
            a_s[q][row] = v;
        }
        /* stage B: quad (q, column) from its panel; zero past kp and past the panels */
        for (int e = lid; e < DKQ * DBN; e += DLX * DLY) {
            int q = e / DBN, col = e % DBN;
            ulong kq = q0 + q, j = n0 + col;
            uint v = 0;
            if (kq < kq_all && j < n) {
                const global uint *panel = (const global uint *)(B + (j / NR) * NR * kp);
                v = panel[kq * NR + j % NR];
            }
            ((local uint *)b_s[q])[col] = v;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int q = 0; q < DKQ; q++) {
            uint4 b = b_s[q][tx];
            for (int r = 0; r < DTM; r++) {
                uint a = a_s[q][ty + r * DLY];
                acc[r][0] = dot4(a, b.x, acc[r][0]);
                acc[r][1] = dot4(a, b.y, acc[r][1]);
                acc[r][2] = dot4(a, b.z, acc[r][2]);
                acc[r][3] = dot4(a, b.w, acc[r][3]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    ulong c0 = n0 + 4 * tx;
    if (c0 >= n) return;
    stage_t st = GEMM_STAGE_LOAD;
    cols_t cc = GEMM_STAGE_COLS(c0);
    for (int r = 0; r < DTM; r++) {
        ulong row = m0 + ty + r * DLY;
        if (row >= m) break;
        uint rs = has_rs ? (uint)rowsums[rs_off + row] - (a_u8 ? 128u * (uint)k : 0u) : 0u;
        uint4 c = as_uint4((int4)(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
        stage_store(&st, &cc, c, rs, C, c_off + row * ldc + c0, (int)min((ulong)4, n - c0));
    }
}
