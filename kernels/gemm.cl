/* gemm.cl: integer GEMM in the signed domain of host/backend.h: weight packing (8- and
 * 4-bit) with column sums per group, row or group sums of A, the tiled kernel, its
 * dot-product variant, and the output stages. */

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

/* Packed B: panel p holds columns [p NR, p NR + NR) over kp, zero past K and past N.
 * 8-bit weights: kp is K rounded up to 4, as [k / 4][column][k % 4] s8 bytes: a work
 * item reads 4 NR contiguous bytes per 4 k. 4-bit weights: kp is K rounded up to 8,
 * as [k / 8][column][k % 4] bytes of two signed nibbles, k % 8 < 4 in the low one and
 * the value 4 further in the high one: the same 4 NR bytes per 8 k, whose low nibbles
 * are one quad of k and high nibbles the next. A weight group (a multiple of 16 of k)
 * is a whole number of either. */

typedef struct __attribute__((packed)) {
    uchar4 v;
} clq_u8x4;
inline uchar4 load_u8x4(const global uchar *p) { return ((const global clq_u8x4 *)p)->v; }

/* Column j's sum of group g, and its panel's (zb', xc', sb) of the group (0 past N):
 * xc' = len zb' - cs' (mod 2^32), so that d = acc - zb' rs' + za' xc'. */
inline void pack_group(CLQ_PARAMS(gemm_pack), ulong j, ulong g, uint sum) {
    global int *d = gp + ((j / NR) * ng + g) * 3 * NR + j % NR;
    ulong pi = j * ng + g;
    uint len = (uint)min(grp, k - g * grp), z = j < n ? (uint)zb[zb_pc ? pi : 0] : 0u;
    if (j < n) colsum[pi] = (int)sum;
    d[0] = (int)z;
    d[NR] = j < n ? (int)(len * z - sum) : 0;
    d[2 * NR] = j < n && has_sb ? as_int(sb[sb_pc ? pi : 0]) : 0;
}

/* One work item per packed column j < panels * NR: its values in the signed domain
 * (bx is 0x80 for u8 weights, 0x08 for u4) and cs'[j][g] per group for j < n. */
kernel void gemm_pack(CLQ_PARAMS(gemm_pack)) {
    ulong j = get_global_id(0);
    ulong step = bits4 ? 8 : 4, rows = kp / step;
    global uchar *dst = packed + (j / NR) * NR * (bits4 ? kp / 2 : kp) + (j % NR) * 4;
    uint sum = 0; /* mod 2^32, as the epilogue uses it (K is not bounded at pack time) */
    for (ulong q = 0; q < rows; q++) {
        ulong k0 = step * q;
        uchar4 v = (uchar4)(0);
        if (j < n && bits4) {
            for (ulong i = 0; i < 8 && k0 + i < k; i++) {
                ulong e = j * k + k0 + i;
                uchar nib = ((e & 1) ? b[boff + e / 2] >> 4 : b[boff + e / 2]) & 15;
                nib ^= bx;
                ((uchar *)&v)[i % 4] |= (uchar)(nib << (4 * (i / 4)));
                sum += (uint)(((int)nib ^ 8) - 8);
            }
        } else if (j < n) {
            const global uchar *src = b + boff + j * k;
            if (k0 + 4 <= k) {
                v = load_u8x4(src + k0) ^ (uchar4)(bx);
            } else {
                for (ulong i = 0; k0 + i < k; i++) ((uchar *)&v)[i] = src[k0 + i] ^ bx;
            }
            uint4 s = as_uint4(convert_int4(as_char4(v)));
            sum += (s.x + s.y) + (s.z + s.w);
        }
        *(global clq_u8x4 *)(dst + q * NR * 4) = (clq_u8x4){v};
        if ((q + 1) * step % grp == 0 || q + 1 == rows) {
            pack_group(CLQ_NAMES(gemm_pack), j, k0 / grp, sum);
            sum = 0;
        }
    }
    if (rows == 0 && ng == 1) pack_group(CLQ_NAMES(gemm_pack), j, 0, 0); /* K = 0: the empty sum */
}

/* sums[r ng + j] = sum over group j of a[r lda + k], the stored values (is_s8 says how
 * bytes read), mod 2^32 like every correction term. Groups are multiples of 16. */
kernel void gemm_rowsums(CLQ_PARAMS(gemm_rowsums)) {
    ulong r = get_global_id(0);
    if (r >= rows) return;
    const global uchar *p = a + aoff + r * lda;
    for (ulong j = 0; j < ng; j++) {
        ulong i = j * grp, e = min(k, i + grp);
        uint16 acc = 0;
        for (; i + 16 <= e; i += 16) {
            uchar16 v = load_u8x16(p + i);
            acc += is_s8 ? as_uint16(convert_int16(as_char16(v))) : convert_uint16(v);
        }
        uint8 h = acc.lo + acc.hi;
        uint4 q = h.lo + h.hi;
        uint s = (q.x + q.y) + (q.z + q.w);
        for (; i < e; i++) s += is_s8 ? (uint)(int)as_char(p[i]) : (uint)p[i];
        sums[soff + r * ng + j] = (int)s;
    }
}

/* ---- output stages -------------------------------------------------------- */

/* ctype, the type of C, is a clq_dtype: CLQ_S32, CLQ_F32, CLQ_S8 or CLQ_U8. With one
 * group (weights not grouped) S32 and the fixed-point requant take d_0 as C; F32 and
 * the float requant fold every group's d_j into one f32 (docs/NUMERICS.md): y = d_0
 * f_0, then y = y + d_j f_j in ascending j, f_j = sa_j sb_j (F32) or (sa_j sb_j) / sc,
 * each step one rounding (common.cl turns contraction off). */

/* What the epilogue needs per launch, read once per work item. */
typedef struct {
    int ctype, fixed, relu, has_bias, has_rs, a_u8, qmin, qmax, zc;
    int fl; /* the f32 fold: F32 or float requant */
    float sc;
} stage_t;

/* A's values for one row and group: za', rs' (u8: less 128 len), sa. */
typedef struct {
    uint za, rs;
    float sa;
} srow_t;

/* The weights' values for 4 columns and one group (columns past N get harmless values). */
typedef struct {
    uint4 zb, cs;
    float4 sb;
} scol_t;

/* p[off + c ng + j] for the 4 columns c from n0 (clamped to N), or p[off] for all. */
inline int4 gather4(const global int *p, ulong off, int per_channel, ulong n0, ulong n,
                    ulong ng, ulong j) {
    if (!per_channel) return (int4)(p[off]);
    int4 v;
    v.x = p[off + n0 * ng + j];
    v.y = p[off + min(n0 + 1, n - 1) * ng + j];
    v.z = p[off + min(n0 + 2, n - 1) * ng + j];
    v.w = p[off + min(n0 + 3, n - 1) * ng + j];
    return v;
}

inline stage_t stage_load(int ctype, int a_u8, int has_rs, int has_bias, int relu,
                          const global float *sc, ulong sc_off, const global int *zc,
                          ulong zc_off, int has_zc, int fixed, int qmin, int qmax) {
    stage_t st;
    st.ctype = ctype;
    st.fixed = fixed;
    st.relu = relu;
    st.has_bias = has_bias;
    st.has_rs = has_rs;
    st.a_u8 = a_u8;
    st.qmin = qmin;
    st.qmax = qmax;
    /* TRUSTED zero points may be any int32: za and zc are clamped to their types' full
     * ranges first, as on every backend (docs/NUMERICS.md); so qmin - zc cannot overflow */
    st.zc = has_zc ? zc[zc_off] : 0;
    if (ctype == CLQ_S8 || ctype == CLQ_U8)
        st.zc = clamp(st.zc, ctype == CLQ_U8 ? 0 : -128, ctype == CLQ_U8 ? 255 : 127);
    st.fl = ctype == CLQ_F32 || ((ctype == CLQ_S8 || ctype == CLQ_U8) && !fixed);
    st.sc = st.fl && ctype != CLQ_F32 ? sc[sc_off] : 1.0f;
    return st;
}

inline srow_t stage_row(const stage_t *st, ulong r, ulong j, ulong ng, uint len,
                        const global int *za, ulong za_off, int has_za, ulong a_rs, ulong a_gs,
                        const global int *rowsums, ulong rs_off, const global float *sa,
                        ulong sa_off) {
    srow_t v;
    ulong ai = r * a_rs + j * a_gs;
    int zav = has_za ? za[za_off + ai] : 0;
    v.za = (uint)clamp(zav, st->a_u8 ? 0 : -128, st->a_u8 ? 255 : 127) - (st->a_u8 ? 128u : 0u);
    v.rs = st->has_rs ? (uint)rowsums[rs_off + r * ng + j] - (st->a_u8 ? 128u * len : 0u) : 0u;
    v.sa = st->fl ? sa[sa_off + ai] : 1.0f;
    return v;
}

inline scol_t stage_col(const stage_t *st, ulong n0, ulong n, ulong j, ulong ng,
                        const global int *colsum, const global int *zb, int zb_pc,
                        const global float *sb, int sb_pc) {
    scol_t c;
    c.zb = as_uint4(gather4(zb, 0, zb_pc, n0, n, ng, j));
    c.cs = as_uint4(gather4(colsum, 0, 1, n0, n, ng, j));
    c.sb = st->fl ? as_float4(gather4((const global int *)sb, 0, sb_pc, n0, n, ng, j))
                  : (float4)(0.0f);
    return c;
}

/* A's za' and rs' in the u8 domain (za' + 128, rs' + 128 len), for a kernel that ran
 * its dot products on A ^ 0x80 (tile_quads4): d_j's formula holds in either domain. */
inline void stage_row_u8(srow_t *r, uint len) {
    r->za += 128u;
    r->rs += 128u * len;
}

/* d_j = acc - zb' rs' - za' cs' + len za' zb' (uint wrap-around). */
inline int4 stage_d(uint4 acc, const scol_t *c, const srow_t *r, uint len, int has_rs) {
    if (has_rs) acc -= c->zb * r->rs;
    acc += len * r->za * c->zb - r->za * c->cs;
    return as_int4(acc);
}

/* One step of the fold: y = d f_0 (first) or y + d f_j. */
inline float4 stage_fold(const stage_t *st, float4 y, int4 d, const scol_t *c, const srow_t *r,
                         int first) {
    float4 f = r->sa * c->sb;
    if (st->ctype != CLQ_F32) f = f / st->sc;
    float4 t = convert_float4(d) * f;
    return first ? t : y + t;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, lane-wise;
 * the left shift wraps mod 2^32 (shifts are in [-31, 30]: stage_int clamps them). */
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

/* Stores the ncols (1..4) of v that exist: 32-bit lanes, or their low bytes. */
inline void store4(global uchar *C, ulong e, int4 v, int bytes, int ncols) {
    if (!bytes) {
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

/* S32 and the fixed-point requant, from the one group's d (4 columns from n0). */
inline void stage_int(const stage_t *st, int4 d, ulong n0, ulong n, const global int *mult,
                      ulong mult_off, const global int *shift, ulong shift_off, int mult_pc,
                      global uchar *C, ulong e, int ncols) {
    if (st->ctype == CLQ_S32) {
        store4(C, e, d, 0, ncols);
        return;
    }
    int4 mu = gather4(mult, mult_off, mult_pc, n0, n, 1, 0);
    int4 sh = clamp(gather4(shift, shift_off, mult_pc, n0, n, 1, 0), -31, 30); /* TRUSTED: any */
    long4 q = convert_long4(mbqm4(d, mu, sh)) + (long)st->zc;
    store4(C, e, convert_int4(clamp(q, (long4)(st->qmin), (long4)(st->qmax))), 1, ncols);
}

/* F32 (bias, ReLU) and the float requant, from the folded y. */
inline void stage_float(const stage_t *st, float4 y, ulong n0, ulong n, const global float *bias,
                        ulong bias_off, global uchar *C, ulong e, int ncols) {
    if (st->ctype == CLQ_F32) {
        if (st->has_bias)
            y = y + as_float4(gather4((const global int *)bias, bias_off, 1, n0, n, 1, 0));
        if (st->relu) y = select((float4)(0.0f), y, y > 0.0f);
        store4(C, e, as_int4(y), 0, ncols);
        return;
    }
    float lo = (float)(st->qmin - st->zc), hi = (float)(st->qmax - st->zc);
    y = select(y, (float4)(lo), y < lo);
    y = select(y, (float4)(hi), y > hi);
    y = select(y, (float4)(0.0f), isnan(y)); /* a NaN product (TRUSTED scales) gives zc */
    y = (y + CLQ_RNE_MAGIC) - CLQ_RNE_MAGIC;
    store4(C, e, convert_int4(y) + st->zc, 1, ncols);
}

/* Every GEMM kernel takes CLQ_KARGS_gemm (kernels/clq_kernel_args.h): A, packed B,
 * the groups, then the output stage's arguments. */
#define GEMM_STAGE_LOAD                                                                      \
    stage_load(ctype, a_u8, has_rs, has_bias, relu, sc, sc_off, zc, zc_off, has_zc, fixed,   \
               qmin, qmax)
#define GEMM_STAGE_ROW(r, j, len)                                                            \
    stage_row(&st, (r), (j), ng, (len), za, za_off, has_za, a_rs, a_gs, rowsums, rs_off, sa, \
              sa_off)
#define GEMM_STAGE_COL(n0, j) stage_col(&st, (n0), n, (j), ng, colsum, zb, zb_pc, sb, sb_pc)
/* The length of group j (a work item's loop over groups: j * grp < k or j == 0). */
#define GEMM_GROUP_LEN(j) ((uint)min(grp, k - (j) * grp))

/* ---- generic kernel ------------------------------------------------------- */

/* The 4-bit tile's operand types (tile_quads4): units of B panel bytes as s8 bytes,
 * their s16 pair sums and broadcast u32 quads; half units of B / 2. */
#define CLQ_UB_TYPES(B)                                                                     \
    typedef char ubv_t __attribute__((vector_size(B)));                                     \
    typedef short ubs_t __attribute__((vector_size(B)));                                    \
    typedef uint ubq_t __attribute__((vector_size(B)));                                     \
    typedef char ubhv_t __attribute__((vector_size((B) / 2)));                              \
    typedef short ubhs_t __attribute__((vector_size((B) / 2)));                             \
    typedef uint ubhq_t __attribute__((vector_size((B) / 2)))
/* A 4-bit value's s8 byte by its nibble (vpshufb's table, per 16-byte lane). */
#define NIB16 0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1

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
/* 4-bit weights (see tile_quads): units of 64 panel bytes (2 accumulators' columns,
 * vpmaddubsw zmm), half units of 32 (ymm). */
CLQ_UB_TYPES(64);
inline ubs_t ub_mac(ubv_t a, ubv_t b) { return __builtin_ia32_pmaddubsw512(a, b); }
inline ubhs_t ubh_mac(ubhv_t a, ubhv_t b) { return __builtin_ia32_pmaddubsw256(a, b); }
inline ubv_t ub_lut(ubv_t i) {
    return __builtin_ia32_pshufb512((ubv_t){NIB16, NIB16, NIB16, NIB16}, i);
}
inline ubhv_t ubh_lut(ubhv_t i) { return __builtin_ia32_pshufb256((ubhv_t){NIB16, NIB16}, i); }
inline ubhs_t ub_half(ubs_t s, int h) {
    return h ? __builtin_shufflevector(s, s, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                       29, 30, 31)
             : __builtin_shufflevector(s, s, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
inline acc_t ub_widen(ubhs_t s) { return __builtin_convertvector(s, v16i); }
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
/* 4-bit weights: units of 32 panel bytes (vpmaddubsw ymm), half units of 16 (xmm). */
CLQ_UB_TYPES(32);
inline ubs_t ub_mac(ubv_t a, ubv_t b) { return __builtin_ia32_pmaddubsw256(a, b); }
inline ubhs_t ubh_mac(ubhv_t a, ubhv_t b) { return __builtin_ia32_pmaddubsw128(a, b); }
inline ubv_t ub_lut(ubv_t i) { return __builtin_ia32_pshufb256((ubv_t){NIB16, NIB16}, i); }
inline ubhv_t ubh_lut(ubhv_t i) { return __builtin_ia32_pshufb128((ubhv_t){NIB16}, i); }
inline ubhs_t ub_half(ubs_t s, int h) {
    return h ? __builtin_shufflevector(s, s, 8, 9, 10, 11, 12, 13, 14, 15)
             : __builtin_shufflevector(s, s, 0, 1, 2, 3, 4, 5, 6, 7);
}
inline acc_t ub_widen(ubhs_t s) { return __builtin_convertvector(s, v8i); }
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
/* One accumulator's columns as a vector (VC of them): the epilogue works on these. */
#if VC == 8
typedef uint8 colu_t;
typedef int8 coli_t;
typedef float8 colf_t;
#define col_load(p) vload8(0, (p))
#define as_colu as_uint8
#define as_coli as_int8
#define as_colf as_float8
#define convert_colf convert_float8
inline uint8 acc_colv(acc_t acc) {
    int8 e = __builtin_astype(__builtin_shufflevector(acc, acc, 0, 2, 4, 6, 8, 10, 12, 14), int8);
    int8 o = __builtin_astype(__builtin_shufflevector(acc, acc, 1, 3, 5, 7, 9, 11, 13, 15), int8);
    return as_uint8(e + o);
}
inline uint4 colu_part(uint8 v, int h) { return h ? v.hi : v.lo; }
inline float4 colf_part(float8 v, int h) { return h ? v.hi : v.lo; }
#else
typedef uint4 colu_t;
typedef int4 coli_t;
typedef float4 colf_t;
#define col_load(p) vload4(0, (p))
#define as_colu as_uint4
#define as_coli as_int4
#define as_colf as_float4
#define convert_colf convert_float4
inline uint4 acc_colv(acc_t acc) { return acc_cols(acc, 0); }
inline uint4 colu_part(uint4 v, int h) { (void)h; return v; }
inline float4 colf_part(float4 v, int h) { (void)h; return v; }
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

/* The two quads of k in a 4-bit panel row (packed as above): sign-extended bytes with
 * the low nibble's value, then the high nibble's. */
inline opnd_t nib_lo(opnd_t v) { return (v << 12) >> 12; }
inline opnd_t nib_hi(opnd_t v) { return v >> 4; }

/* a's quads past K read 0: full quads from memory, the last one partly (valid bytes),
 * none past it (4-bit panels hold up to one quad past the last K value). */
inline ulong a_valid(ulong q, ulong k) { return 4 * q >= k ? 0 : min((ulong)4, k - 4 * q); }

#ifdef CLQ_GEMM_STAGE_A
/* nq quads of A from s in the u8 domain (x: A's bytes xor x), at d; avail: the bytes
 * left in the row (the values past it are 0). 8 quads a vector, as g = 32 has. */
typedef struct __attribute__((packed)) {
    uint8 v;
} clq_u32x8_p;
inline void a_stage8(private uint *d, const global uchar *s, ulong avail, int nq, uint x) {
    int i = 0;
    ulong full = min((ulong)nq, avail / 4);
    for (; i + 8 <= (int)full; i += 8)
        *(private uint8 *)(d + i) = ((const global clq_u32x8_p *)(s + 4 * i))->v ^ x;
    for (; i < (int)full; i++) d[i] = a_quad(s + 4 * i, x);
    for (; i < nq; i++) d[i] = a_quad_tail(s + 4 * i, x, a_valid(i, avail));
}

/* Units at any 4-byte offset (panels of an odd number of accumulators). */
typedef struct __attribute__((packed)) {
    ubv_t v;
} clq_ubv_p;
typedef struct __attribute__((packed)) {
    ubhv_t v;
} clq_ubhv_p;
inline ubv_t ub_load(const global char *p) { return ((const global clq_ubv_p *)p)->v; }
inline ubhv_t ubh_load(const global char *p) { return ((const global clq_ubhv_p *)p)->v; }

/* One s16 run (up to UBRQ quads) of a unit's 2 accumulators (or, half, 1) for mr rows:
 * a panel row's nibbles to s8 bytes in the register (mask, a shift for the high ones,
 * vpshufb's table), vpmaddubsw against A's u8 quads broadcast from the stage, then the
 * s16 pair sums widened into acc. The row loops run to CLQ_GEMM_MR under `r < mr`:
 * LLVM unrolls this function's loops before mr is a constant (a loop to mr came out
 * unrolled twice, its sums in memory, at a third of the speed). */
#define UBRQ 8
#define TILE4_RUN(VT, QT, ST, LOADF, MACF, LUTF, WIDEN, uoff)                                \
    do {                                                                                    \
        ST s_[CLQ_GEMM_MR];                                                                 \
        _Pragma("unroll") for (int r = 0; r < CLQ_GEMM_MR; r++) s_[r] = (ST){};             \
        for (int q = c; q < ce; q += 2) {                                                   \
            VT raw = LOADF(bp + (q0 + q) / 2 * NV * 4 * VC + (uoff));                       \
            VT lo = LUTF(raw & (char)15), hi = LUTF((raw >> (char)4) & (char)15);           \
            _Pragma("unroll") for (int r = 0; r < CLQ_GEMM_MR; r++) if (r < mr)             \
                s_[r] += MACF((VT)((QT){} + aq[r][q]), lo) +                                \
                         MACF((VT)((QT){} + aq[r][q + 1]), hi);                             \
        }                                                                                   \
        _Pragma("unroll") for (int r = 0; r < CLQ_GEMM_MR; r++) if (r < mr) WIDEN(r);       \
    } while (0)
#define TILE4_WIDEN2(r)                                                                     \
    do {                                                                                    \
        acc[r][2 * u] += ub_widen(ub_half(s_[r], 0));                                       \
        acc[r][2 * u + 1] += ub_widen(ub_half(s_[r], 1));                                   \
    } while (0)
#define TILE4_WIDEN1(r) (acc[r][2 * u] += ub_widen(s_[r]))

/* tile_quads for 4-bit panels on x86: A taken in the u8 domain (a ^ ax ^ 0x80; the
 * epilogue adds 128 to za' and 128 len to rs', GEMM_GROUP_END's ua), so that the
 * weights' s8 values can be vpmaddubsw's signed operand: |a b| <= 255 * 8, a pair
 * <= 4080, and UBRQ = 8 quads summed in an s16 lane stay within 32640, exact. A quad
 * of a unit is then one vpmaddubsw and one 16-bit add, where vpmaddwd on s16 operands
 * takes two of each. Unit by unit (2 accumulators' columns), A restaged per unit, so
 * the hot loop holds 2 MR accumulators and MR s16 sums, not 2 MR x NV. */
static inline __attribute__((always_inline)) void tile_quads4(acc_t acc[CLQ_GEMM_MR][NV],
                                                              const global uchar **arow,
                                                              const global char *bp, ulong qb,
                                                              ulong qe, ulong k, uint ax,
                                                              const int mr) {
    uint aq[CLQ_GEMM_MR][KCQ] __attribute__((aligned(64)));
    uint x = ax ^ 0x80808080u;
    _Pragma("unroll") for (int u = 0; u < (NV + 1) / 2; u++) {
        for (ulong q0 = qb; q0 < qe; q0 += KCQ) {
            int nq = (int)min((ulong)KCQ, qe - q0);
            ulong avail = k > 4 * q0 ? k - 4 * q0 : 0;
            _Pragma("unroll") for (int r = 0; r < mr; r++)
                a_stage8(aq[r], arow[r] + 4 * q0, avail, nq, x);
            for (int c = 0; c < nq; c += UBRQ) {
                int ce = min(nq, c + UBRQ);
                if (2 * u + 1 < NV)
                    TILE4_RUN(ubv_t, ubq_t, ubs_t, ub_load, ub_mac, ub_lut, TILE4_WIDEN2,
                              u * 8 * VC);
                else
                    TILE4_RUN(ubhv_t, ubhq_t, ubhs_t, ubh_load, ubh_mac, ubh_lut, TILE4_WIDEN1,
                              u * 8 * VC);
            }
        }
    }
}
#define GEMM_A_U8(b4) (b4)
#else
#define GEMM_A_U8(b4) 0
#endif

/* acc[r][*] += the quads [qb, qe) of rows arow[r] against panel bp (4-bit with b4: qb
 * and qe even, panel rows of 8 k). mr and b4 are constants after inlining, so the
 * unrolled loops leave acc in registers. */
static inline __attribute__((always_inline)) void tile_quads(acc_t acc[CLQ_GEMM_MR][NV],
                                                             const global uchar **arow,
                                                             const global char *bp, ulong qb,
                                                             ulong qe, ulong k, uint ax,
                                                             const int mr, const int b4) {
#ifdef CLQ_GEMM_STAGE_A
    if (b4) {
        tile_quads4(acc, arow, bp, qb, qe, k, ax, mr);
        return;
    }
    /* A's rows are converted to s16 in private memory KCQ quads at a time, so the
     * inner loop broadcasts them straight from memory: the conversion (a shuffle
     * port uop per quad and row otherwise, on the port the adds need) is done
     * once per CLQ_GEMM_STAGE_A bytes instead. */
    ulong apq[CLQ_GEMM_MR][KCQ] __attribute__((aligned(64)));
    for (ulong q0 = qb; q0 < qe; q0 += KCQ) {
        int nq = (int)min((ulong)KCQ, qe - q0);
        ulong avail = k > 4 * q0 ? k - 4 * q0 : 0;
        _Pragma("unroll") for (int r = 0; r < mr; r++)
            a_stage((private short *)apq[r], arow[r] + 4 * q0, avail, 4 * nq, (char)ax);
        for (int q = 0; q < nq; q++) {
            opnd_t bv[NV];
            _Pragma("unroll") for (int v = 0; v < NV; v++)
                bv[v] = b_load(bp + ((q0 + q) * NV + v) * 4 * VC);
            _Pragma("unroll") for (int r = 0; r < mr; r++) {
                opnd_t av = a_bcast4(apq[r][q]);
                _Pragma("unroll") for (int v = 0; v < NV; v++)
                    acc[r][v] = mac(acc[r][v], av, bv[v]);
            }
        }
    }
#else
    if (!b4) {
        ulong qf = max(qb, min(qe, k / 4)); /* quads wholly within K */
        for (ulong q = qb; q < qf; q++) {
            opnd_t bv[NV];
            _Pragma("unroll") for (int v = 0; v < NV; v++)
                bv[v] = b_load(bp + (q * NV + v) * 4 * VC);
            _Pragma("unroll") for (int r = 0; r < mr; r++) {
                opnd_t av = a_bcast(a_quad(arow[r] + 4 * q, ax));
                _Pragma("unroll") for (int v = 0; v < NV; v++)
                    acc[r][v] = mac(acc[r][v], av, bv[v]);
            }
        }
        for (ulong q = qf; q < qe; q++) {
            opnd_t bv[NV];
            _Pragma("unroll") for (int v = 0; v < NV; v++)
                bv[v] = b_load(bp + (q * NV + v) * 4 * VC);
            _Pragma("unroll") for (int r = 0; r < mr; r++) {
                opnd_t av = a_bcast(a_quad_tail(arow[r] + 4 * q, ax, a_valid(q, k)));
                _Pragma("unroll") for (int v = 0; v < NV; v++)
                    acc[r][v] = mac(acc[r][v], av, bv[v]);
            }
        }
    } else {
        for (ulong q = qb; q < qe; q += 2) {
            opnd_t bl[NV], bh[NV];
            _Pragma("unroll") for (int v = 0; v < NV; v++) {
                opnd_t raw = b_load(bp + (q / 2 * NV + v) * 4 * VC);
                bl[v] = nib_lo(raw);
                bh[v] = nib_hi(raw);
            }
            int full = 4 * q + 8 <= k;
            _Pragma("unroll") for (int r = 0; r < mr; r++) {
                const global uchar *p = arow[r] + 4 * q;
                opnd_t a0 = a_bcast(full ? a_quad(p, ax) : a_quad_tail(p, ax, a_valid(q, k)));
                opnd_t a1 = a_bcast(full ? a_quad(p + 4, ax)
                                         : a_quad_tail(p + 4, ax, a_valid(q + 1, k)));
                _Pragma("unroll") for (int v = 0; v < NV; v++)
                    acc[r][v] = mac(mac(acc[r][v], a0, bl[v]), a1, bh[v]);
            }
        }
    }
#endif
}

/* The end of group j for rows [r0, r0 + nrows) of a tile (acc's row r is row r0 + r,
 * its y row yrow0 + r) and columns [n0, n0 + ncols) of panel p, whose (zb', xc', sb)
 * gp holds per group: d_j an accumulator's VC columns at a time, then one step of the
 * fold into y, unrolled over the tile from registers (rows past nrows compute on a
 * clamped row and are never stored); or, with one group, the S32 / fixed point store
 * from memory (its branches unrolled would make the kernel many times larger). */
#define GEMM_GROUP_END(acc, mr, ua, r0, nrows, y, yrow0)                                      \
    do {                                                                                      \
        uint len_ = GEMM_GROUP_LEN(j);                                                        \
        const global int *gpj_ = gp + (p * ng + j) * 3 * NR;                                  \
        colu_t zbv_[NV], xcv_[NV];                                                            \
        _Pragma("unroll") for (int v = 0; v < NV; v++) {                                      \
            zbv_[v] = as_colu(col_load(gpj_ + v * VC));                                       \
            xcv_[v] = as_colu(col_load(gpj_ + NR + v * VC));                                  \
        }                                                                                     \
        if (st.fl) {                                                                          \
            colf_t sbv_[NV];                                                                  \
            _Pragma("unroll") for (int v = 0; v < NV; v++)                                    \
                sbv_[v] = as_colf(col_load(gpj_ + 2 * NR + v * VC));                          \
            _Pragma("unroll") for (int r = 0; r < (mr); r++) {                                \
                srow_t rr = GEMM_STAGE_ROW(min((r0) + r, m - 1), j, len_);                    \
                if (ua) stage_row_u8(&rr, len_);                                              \
                _Pragma("unroll") for (int v = 0; v < NV; v++) {                              \
                    colu_t a = acc_colv(acc[r][v]) + rr.za * xcv_[v];                         \
                    if (st.has_rs) a -= zbv_[v] * rr.rs;                                      \
                    colf_t f = rr.sa * sbv_[v];                                               \
                    if (st.ctype != CLQ_F32) f = f / st.sc;                                   \
                    colf_t t = convert_colf(as_coli(a)) * f;                                  \
                    y[(yrow0) + r][v] = j == 0 ? t : y[(yrow0) + r][v] + t;                   \
                }                                                                             \
            }                                                                                 \
        } else {                                                                              \
            colu_t cv_[CLQ_GEMM_MR][NV];                                                      \
            _Pragma("unroll") for (int r = 0; r < (mr); r++)                                  \
                _Pragma("unroll") for (int v = 0; v < NV; v++) cv_[r][v] = acc_colv(acc[r][v]); \
            for (int r = 0; r < (nrows); r++) {                                               \
                srow_t rr = GEMM_STAGE_ROW((r0) + r, j, len_);                                \
                if (ua) stage_row_u8(&rr, len_);                                              \
                for (int t = 0; 4 * t < ncols; t++) {                                         \
                    int v = t / (VC / 4), h = t % (VC / 4);                                   \
                    colu_t a = cv_[r][v] + rr.za * xcv_[v];                                   \
                    if (st.has_rs) a -= zbv_[v] * rr.rs;                                      \
                    stage_int(&st, as_int4(colu_part(a, h)), n0 + 4 * t, n, mult, mult_off,   \
                              shift, shift_off, mult_pc, C, c_off + ((r0) + r) * ldc + n0 + 4 * t, \
                              min(4, ncols - 4 * t));                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* The float stages' last step for rows [r0, r0 + nrows): bias, ReLU or requant. */
#define GEMM_FLOAT_END(r0, nrows, y)                                                          \
    do {                                                                                      \
        if (st.fl)                                                                            \
            for (int r = 0; r < (nrows); r++)                                                 \
                for (int t = 0; 4 * t < ncols; t++)                                           \
                    stage_float(&st, colf_part(y[r][t / (VC / 4)], t % (VC / 4)), n0 + 4 * t, \
                                n, bias, bias_off, C, c_off + ((r0) + r) * ldc + n0 + 4 * t,  \
                                min(4, ncols - 4 * t));                                       \
    } while (0)

/* One work item: rows [mr i, mr i + mr) x panel p, group by group (one group of all
 * K unless the weights are grouped). mr is CLQ_GEMM_MR, or 1 for small M (a stream
 * over B); b4: 4-bit weights. */
static inline __attribute__((always_inline)) void gemm_tile_body(CLQ_PARAMS(gemm), const int mr,
                                                                  const int b4) {
    ulong i = get_global_id(0), p = get_global_id(1);
    ulong n0 = p * NR, m0 = i * mr;
    if (n0 >= n || m0 >= m) return;
    uint ax = a_u8 ? 0x80808080u : 0u;
    const global uchar *arow[CLQ_GEMM_MR];
    _Pragma("unroll") for (int r = 0; r < mr; r++) arow[r] = A + a_off + min(m0 + r, m - 1) * lda;
    const global char *bp = B + p * NR * (b4 ? kp / 2 : kp);
    stage_t st = GEMM_STAGE_LOAD;
    int ncols = (int)min((ulong)NR, n - n0), nrows = (int)min((ulong)mr, m - m0);
    colf_t y[CLQ_GEMM_MR][NV];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        _Pragma("unroll") for (int v = 0; v < NV; v++) y[r][v] = (colf_t)(0.0f);
    ulong gq = grp / 4, kq_all = kp / 4;
    for (ulong j = 0; j < ng; j++) {
        acc_t acc[CLQ_GEMM_MR][NV];
        _Pragma("unroll") for (int r = 0; r < mr; r++)
            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = ACC_ZERO;
        tile_quads(acc, arow, bp, j * gq, min(kq_all, (j + 1) * gq), k, ax, mr, b4);
        GEMM_GROUP_END(acc, mr, GEMM_A_U8(b4), m0, nrows, y, 0);
    }
    GEMM_FLOAT_END(m0, nrows, y);
}

kernel void gemm_tile(CLQ_PARAMS(gemm)) { gemm_tile_body(CLQ_NAMES(gemm), CLQ_GEMM_MR, 0); }
kernel void gemm_tile1(CLQ_PARAMS(gemm)) { gemm_tile_body(CLQ_NAMES(gemm), 1, 0); }
kernel void gemm_tile4(CLQ_PARAMS(gemm)) { gemm_tile_body(CLQ_NAMES(gemm), CLQ_GEMM_MR, 1); }
kernel void gemm_tile4_1(CLQ_PARAMS(gemm)) { gemm_tile_body(CLQ_NAMES(gemm), 1, 1); }


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
 * The packed panels must hold a multiple of 4 columns (CLQ_GEMM_NR). Group by group
 * as the tiled kernel (one group of all K unless the weights are grouped): a stage
 * holds quads of one group only. b4: 4-bit panels, each quad's nibbles widened to
 * s8 bytes as they are staged. */
static inline __attribute__((always_inline)) void gemm_dot_body(CLQ_PARAMS(gemm),
                                                                 local uint (*a_s)[DBM + 1],
                                                                 local uint4 (*b_s)[DBN / 4],
                                                                 const int b4) {
    int tx = get_local_id(0), ty = get_local_id(1), lid = ty * DLX + tx;
    ulong n0 = get_group_id(0) * DBN, m0 = get_group_id(1) * DBM;
    uint ax = a_u8 ? 0x80808080u : 0u;
    ulong c0 = n0 + 4 * tx;
    int ncols = c0 < n ? (int)min((ulong)4, n - c0) : 0;
    stage_t st = GEMM_STAGE_LOAD;
    float4 y[DTM];
    for (int r = 0; r < DTM; r++) y[r] = (float4)(0.0f);
    ulong gq = grp / 4, kq_all = kp / 4;
    for (ulong j = 0; j < ng; j++) {
        ulong qb = j * gq, qe = min(kq_all, (j + 1) * gq);
        int acc[DTM][4];
        for (int r = 0; r < DTM; r++)
            for (int c = 0; c < 4; c++) acc[r][c] = 0;
        for (ulong q0 = qb; q0 < qe; q0 += DKQ) {
            /* stage A: quad (q, row) for q < DKQ, row < DBM; zero past K and the group,
             * rows clamped */
            for (int e = lid; e < DKQ * DBM; e += DLX * DLY) {
                int q = e % DKQ, row = e / DKQ;
                ulong kq = q0 + q, mr = min(m0 + row, m - 1);
                uint v = 0;
                if (kq < qe && 4 * kq + 4 <= k) {
                    v = a_quad(A + a_off + mr * lda + 4 * kq, ax);
                } else if (kq < qe && 4 * kq < k) {
                    v = a_quad_tail(A + a_off + mr * lda + 4 * kq, ax, k - 4 * kq);
                }
                a_s[q][row] = v;
            }
            /* stage B: quad (q, column) from its panel; zero past the group and past N */
            for (int e = lid; e < DKQ * DBN; e += DLX * DLY) {
                int q = e / DBN, col = e % DBN;
                ulong kq = q0 + q, jc = n0 + col;
                uint v = 0;
                if (kq < qe && jc < n) {
                    const global uint *panel =
                        (const global uint *)(B + (jc / NR) * NR * (b4 ? kp / 2 : kp));
                    if (!b4) {
                        v = panel[kq * NR + jc % NR];
                    } else {
                        uint x = panel[kq / 2 * NR + jc % NR];
                        x = ((kq & 1) ? x >> 4 : x) & 0x0f0f0f0fu;
                        v = as_uint(as_char4(x ^ 0x08080808u) - (char4)(8));
                    }
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
        if (ncols == 0) continue; /* no store, but every barrier above is shared */
        uint len = GEMM_GROUP_LEN(j);
        scol_t cc = GEMM_STAGE_COL(c0, j);
        for (int r = 0; r < DTM; r++) {
            ulong row = m0 + ty + r * DLY;
            if (row >= m) break;
            srow_t rr = GEMM_STAGE_ROW(row, j, len);
            uint4 c = as_uint4((int4)(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
            int4 d = stage_d(c, &cc, &rr, len, st.has_rs);
            if (st.fl)
                y[r] = stage_fold(&st, y[r], d, &cc, &rr, j == 0);
            else
                stage_int(&st, d, c0, n, mult, mult_off, shift, shift_off, mult_pc, C,
                          c_off + row * ldc + c0, ncols);
        }
    }
    if (!st.fl || ncols == 0) return;
    for (int r = 0; r < DTM; r++) {
        ulong row = m0 + ty + r * DLY;
        if (row >= m) break;
        stage_float(&st, y[r], c0, n, bias, bias_off, C, c_off + row * ldc + c0, ncols);
    }
}

/* The local arrays (declared in the kernels, as OpenCL C 1.2 wants): a_s rows padded,
 * the staging writes walk q fastest (coalesced along K). */
#define GEMM_DOT_LOCALS                                                                      \
    local uint a_s[DKQ][DBM + 1];                                                            \
    local uint4 b_s[DKQ][DBN / 4]
kernel __attribute__((reqd_work_group_size(DLX, DLY, 1))) void gemm_dot(CLQ_PARAMS(gemm)) {
    GEMM_DOT_LOCALS;
    gemm_dot_body(CLQ_NAMES(gemm), a_s, b_s, 0);
}
kernel __attribute__((reqd_work_group_size(DLX, DLY, 1))) void gemm_dot4(CLQ_PARAMS(gemm)) {
    GEMM_DOT_LOCALS;
    gemm_dot_body(CLQ_NAMES(gemm), a_s, b_s, 1);
}
