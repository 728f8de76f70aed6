/* gemm_dot.cl: part of the gemm program (after gemm_tile.cl): the dot-product variant
 * for devices with an int8 dot (khr_integer_dot_product, NVIDIA dp4a). */

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
