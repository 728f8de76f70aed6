/* gemm.cl: integer GEMM in the signed domain of host/backend.h: weight packing (8- and
 * 4-bit) with column sums per group, row or group sums of A, the output stages and A's
 * quads. The program goes on with gemm_isa.cl, gemm_tile.cl and gemm_dot.cl
 * (CLQ_PROGRAM_PARTS, kernels/clq_kernel_args.h). */

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

/* ---- A's quads (the tiled kernel and the dot-product variant) ------------------ */

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

/* a's quads past K read 0: full quads from memory, the last one partly (valid bytes),
 * none past it (4-bit panels hold up to one quad past the last K value). */
inline ulong a_valid(ulong q, ulong k) { return 4 * q >= k ? 0 : min((ulong)4, k - 4 * q); }
