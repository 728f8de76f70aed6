/* gemm_tile.cl: part of the gemm program (after gemm_isa.cl): the generic tiled kernel,
 * a work item's CLQ_GEMM_MR x CLQ_GEMM_NR tile of C over the groups of K (8-bit and
 * 4-bit panels), A staged in private memory on x86. */

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
