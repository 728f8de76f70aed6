/* cpu_gemm_group.h: the CPU path's GEMM for 4-bit and group-quantized weights: the
 * packed layout, the per-group dot-product kernels' interface (registry family
 * gemm_group) and what the driver hands them.
 *
 * Packed B (the "group format", w->impl a clq_cpu_wpack with group_fmt = 1). Values are
 * held in the unsigned domain bu = b' + off (off = 8 for 4-bit, 128 for 8-bit; b' the
 * signed-domain value of backend.h), so that a kernel multiplies bu (unsigned operand)
 * by the signed-domain a' (signed operand) exactly with vpmaddubsw (4-bit: a pair is at
 * most 2 * 15 * 128) or vpdpbusd, with no sign trick. Np / 16 panels of 16 columns, each
 * pstride bytes, the whole of K padded to Kp with zeros:
 *   8-bit: [Kp / 4][16][4] bytes, the K4 order of cpu_gemm_kernel.h (Kp: K rounded up to 4);
 *   4-bit: [Kp / 8][64] bytes (Kp: K rounded up to 8): k-octet o holds k-quads 2o and 2o+1
 *          in K4 order (index x = 4 column + k % 4, 64 per quad); byte 32 h + i (h = 0, 1,
 *          i < 32) has quad 2o's value x = 32 h + i in its low nibble and quad 2o+1's in
 *          its high nibble. A 64-byte load masked (and shifted by 4) is one quad's zmm;
 *          a 32-byte load is eight columns of both quads (ymm).
 * Then, per panel p, group j, column c (c < 16), at [p][j][c], 64-byte aligned:
 *   sb  f32   the weights' scale of (n, j) (0 past N; absent without scales);
 *   zbu u8    zb'_j[n] + off (absent when every one is zbu_const);
 *   xc  int32 len_j zb'_j[n] - cs'_j[n] (mod 2^32);
 *   zx  int16 pairs (-zbu, xc) when every xc fits int16 (zx_ok; 4-bit groups up to 2184).
 * With acc_j = sum over group j of a' bu and rs'_j[m] the signed-domain group sums of A:
 *   d_j = acc_j - zbu_j[n] rs'_j[m] + za'_j[m] xc_j[n]    (mod 2^32)
 * which is backend.h's d_j (acc_j = sum a' b' + off rs'_j). When also every rs' fits
 * int16 the two products are one vpmaddwd of zx by the pair (rs', za') of the row (both
 * exact, their sum within int32). */
#ifndef CLQ_CPU_GEMM_GROUP_H
#define CLQ_CPU_GEMM_GROUP_H

#include <stddef.h>
#include <stdint.h>

#define CLQ_CPU_GG_P 16 /* columns per panel */

/* What a kernel folds each group's d_j into. */
enum {
    CLQ_CPU_GG_INT = 0, /* one group: out is int32 d_0 (the int8 epilogue finishes) */
    CLQ_CPU_GG_F32 = 1, /* out is f32 y: y = (float)d_0 * s_0, y = y + (float)d_j * s_j */
    CLQ_CPU_GG_REQ = 2  /* the same with mult_j = s_j / sc in place of s_j */
};

/* One call's operands (set once per GEMM). */
typedef struct clq_cpu_gg_args {
    const uint8_t *b;     /* panel 0 */
    size_t pstride;       /* bytes per panel */
    const float *sb;      /* [Np / 16][G][16] */
    const uint8_t *zbu;   /* [Np / 16][G][16], or NULL: zbu_c */
    int32_t zbu_c;
    const int32_t *xc;    /* [Np / 16][G][16], or NULL: za' is 0 everywhere (not read) */
    const int32_t *zx;    /* [Np / 16][G][16] pairs, or NULL; when set, zbu and xc are
                             not read and ra is */
    const int32_t *ra;    /* [m][G]: the pairs (rs'_j[m], za'_j[m]) as int16 (zx only) */
    size_t ngroups;       /* G */
    size_t gq;            /* k-quads per group (g / 4) */
    size_t kq;            /* k-quads of packed K (Kp / 4) */
    int bits;             /* 4 or 8 */
    int mode;             /* CLQ_CPU_GG_* */
    float sc;             /* CLQ_CPU_GG_REQ */
    /* A: packed a' quads as clq__cpu_gemm_pack_a_k4s8 writes them with kc = Kp (row
     * group of mr rows at a + group * mr * Kp); per row m and group j: */
    const int32_t *rs;    /* rs'_j[m] at rs[m * G + j] */
    const int32_t *za;    /* za'_j[m] at za[m * za_m + j * za_j] (signed domain) */
    size_t za_m, za_j;
    const float *sa;      /* sa_j[m] at sa[m * sa_m + j * sa_j] (modes F32 / REQ) */
    size_t sa_m, sa_j;
} clq_cpu_gg_args;

/* out[i * ldo + c] for i < rows (<= mr), c < cols rounded up to 16 (cols <= nr), columns
 * n0 + c (n0 a multiple of 16), rows m0 + i: every group of K, in ascending order, its
 * exact d_j folded as g->mode says (y kept in out between groups). a is the packed row
 * group. */
typedef void (*clq_cpu_gg_tile_fn)(const clq_cpu_gg_args *g, const int8_t *a, size_t m0,
                                   size_t rows, size_t n0, size_t cols, void *out, size_t ldo);

typedef struct clq_cpu_gemm_group {
    const char *name;
    int mr, nr; /* the register tile; nr a multiple of 16 */
    clq_cpu_gg_tile_fn tile;
} clq_cpu_gemm_group;

/* The fold of one group's d into y (or mult): the order and roundings of NUMERICS.md,
 * shared by the kernels' scalar paths. */
static inline float clq__cpu_gg_mult(const clq_cpu_gg_args *g, float sa, float sb) {
    float s = sa * sb;
    return g->mode == CLQ_CPU_GG_REQ ? s / g->sc : s;
}

/* The kernel sets (cpu_gemm_group_kernel.c, cpu_gemm_group_avx2.c, cpu_gemm_group_avx512.c). */
extern const clq_cpu_gemm_group clq__cpu_gemm_group_portable;
#if defined(__x86_64__) || defined(__i386__)
extern const clq_cpu_gemm_group clq__cpu_gemm_group_avx2, clq__cpu_gemm_group_avx512vnni;
#endif

#endif
