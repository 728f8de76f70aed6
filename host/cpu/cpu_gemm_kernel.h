/* cpu_gemm_kernel.h: the int8 GEMM micro-kernel interface of the CPU path: the packed
 * B formats (one id per kernel set), the A panel formats, and the kernel-set struct. */
#ifndef CLQ_CPU_GEMM_KERNEL_H
#define CLQ_CPU_GEMM_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* What the CPU path records of packed weights (w->impl). */
typedef struct clq_cpu_wpack {
    int format;    /* packed B format id */
    size_t nr;     /* panel width */
    size_t kp, np; /* K and N as packed (padded) */
    int group_fmt; /* 1: the group format of cpu_gemm_group.h (4-bit or grouped weights),
                      and the fields below describe it */
    int bits;      /* 4 or 8 */
    size_t group, ngroups; /* w->fmt's */
    size_t pstride;        /* bytes per 16-column panel of values */
    size_t off_sb, off_zbu, off_xc, off_zx; /* byte offsets in w->data of the per-group arrays */
    int zbu_const;         /* >= 0: every zbu is this (no zbu array); else -1 */
    int zx_ok;             /* every xc fits int16: the zx array holds the pairs */
    size_t off_fix;        /* K4 with min_fix: byte offset of the fixup trailer; else 0 */
} clq_cpu_wpack;

/* Packed B formats (w->impl: clq_cpu_wpack). Weights are packed
 * once, in the format of the kernel set their context resolved; a GEMM refuses
 * weights of another format. Kp is K rounded up to CLQ_CPU_GEMM_KALIGN, Np is N
 * rounded up to the panel width; the padding holds zeros.
 *
 * CLQ_CPU_GEMM_B_ROWS (portable): the s8-domain weights as Np rows of Kp bytes, for a
 * dot-product kernel (reduction over K in vector lanes); panel width 4.
 *
 * The K4 formats (every x86 SIMD set): Np / 16 panels of 16 columns, each panel
 * [Kp / 4][16][4] s8-domain bytes (four consecutive k of one column side by side, the
 * operand of vpdpbusd / vpmaddubsw / vpmaddwd and, 64 k at a time, exactly an AMX B
 * tile), then int32 corr[Np] = -128 cs'[n] mod 2^32 (the term that turns a u8 x s8
 * sum of the re-biased A back into the s8-domain sum), then uint8 has_min[Np / 16]
 * (the panel holds a -128: the AVX2 kernel must use its exact vpmaddwd form there).
 * A kernel set with min_fix (AVX2) packs a panel with few -128 weights (at most
 * Kp / 4 of its 16 Kp) otherwise: each -128 is stored as -127, has_min stays 0, and
 * the fixup trailer (at the record's off_fix, 4-byte aligned) lists it, so the kernel
 * keeps its fast form and subtracts the residual a' (1 x a') per listed weight:
 * uint32 start[Np / 16 + 1], then the entries, (k << 4) | column-in-panel, ascending
 * per panel; panel p's are at trailer indices [start[p], start[p + 1]). Only panels dense in -128 keep
 * it stored (has_min 1). The ids differ per kernel set (and where min_fix differs,
 * the bytes), so the record says which kernel packed them. */
#define CLQ_CPU_GEMM_B_ROWS 1
#define CLQ_CPU_GEMM_B_K4_AVX2 2
#define CLQ_CPU_GEMM_B_K4_AVX512BW 3
#define CLQ_CPU_GEMM_B_K4_AVX512VNNI 4
#define CLQ_CPU_GEMM_B_K4_AVXVNNI 5
#define CLQ_CPU_GEMM_B_K4_AMX 6
#define CLQ_CPU_GEMM_KALIGN 64
#define CLQ_CPU_GEMM_K4_NR 16
#define CLQ_CPU_GEMM_ROWS_NR 4

/* What a tile call reads besides its A panel; set once per K panel. */
typedef struct clq_cpu_gemm_call {
    const int8_t *b;          /* packed B (w->data) */
    const int32_t *corr;      /* K4: the corr trailer */
    const uint8_t *has_min;   /* K4: the has_min trailer */
    const uint32_t *fix;      /* K4 with min_fix: the fixup trailer (start[], entries) */
    size_t kp;                /* packed K */
    size_t k0, kc;            /* this K panel: [k0, k0 + kc), kc a multiple of KALIGN */
    size_t ldc;               /* row stride of the int32 tile output */
    size_t lda;               /* 0: a is a packed A panel; else a is row 0 of the row group
                               * in A itself (u8, column k0), rows lda bytes apart */
    /* kernels with pf_spread: lines to prefetch during this call, spread over the K
     * loop: pf[0, npf_c) for writing (C), pf[PF_MAX, PF_MAX + npf_b) into L2 (B) */
    const char *const *pf;
    size_t npf_c, npf_b;
} clq_cpu_gemm_call;

#define CLQ_CPU_GEMM_PF_MAX 64

/* c[i * ldc + j] for i < rows (<= mr) and j < cols rounded up to the panel width
 * (cols <= nr), columns n0 + j: the s8-domain sum over this K panel, added to c
 * unless first (then stored: the K4 u8 kernels start from corr there). a is the A
 * panel of one mr-row group as pack_a wrote it, or (g->lda != 0, kernel sets with
 * direct_u8 only) that group's rows of a u8 A read in place. n0 is a multiple of nr. Products are
 * within s8 x s8 and the api layer's bound on K keeps every sum within int32: every
 * kernel is exact (sums wrap mod 2^32 where they add corr). */
typedef void (*clq_cpu_gemm_tile_fn)(const clq_cpu_gemm_call *g, const void *a, size_t n0,
                                     size_t rows, size_t cols, int32_t *c, int first);

/* Packs rows x kc of A (stored bytes; u8 when a_u8) from column k0 into groups of mr
 * rows, group g at dst + g * mr * kc * a_esize (a partial last group is padded with
 * zero rows); columns at or past K are 0. Reads only columns [k0, min(K, k0 + kc)). */
typedef void (*clq_cpu_gemm_pack_a_fn)(const uint8_t *a, size_t lda, int a_u8, size_t rows,
                                       size_t k0, size_t kc, size_t K, int mr, void *dst);

/* One kernel set. */
typedef struct clq_cpu_gemm_kernel {
    const char *name;
    int format;   /* packed B format id */
    int mr, nr;   /* the register tile: rows, columns (a multiple of the panel width) */
    int a_esize;  /* bytes per packed A element */
    size_t kc;    /* K panel length for M > mr (the nr x kc B tile stays near: L1 or L2) */
    clq_cpu_gemm_pack_a_fn pack_a;
    clq_cpu_gemm_tile_fn tile;
    /* 1: the tile reads u8 A rows in place (g->lda): its A format is the stored u8
     * bytes themselves, so where every K panel lies inside the rows (K a multiple of
     * KALIGN) the driver skips packing A */
    int direct_u8;
    /* 1: the tile issues g->pf itself, spread over its K loop */
    int pf_spread;
    /* NULL, or called by each thread after its last tile call of a GEMM (AMX: release
     * the tile state the tiles configured) */
    void (*finish)(void);
    /* 1: packing lists the -128 weights of sparse panels as fixups (the K4 formats'
     * comment above); the tiles, general and small-M, apply them */
    int min_fix;
} clq_cpu_gemm_kernel;

/* Panel width of a format (0: not a CPU format). */
static inline int clq__cpu_gemm_panel(int format) {
    return format == CLQ_CPU_GEMM_B_ROWS                                      ? CLQ_CPU_GEMM_ROWS_NR
           : format >= CLQ_CPU_GEMM_B_K4_AVX2 && format <= CLQ_CPU_GEMM_B_K4_AMX ? CLQ_CPU_GEMM_K4_NR
                                                                              : 0;
}

/* Packs the K4 panel p of B (stored bytes, N x K row-major, u8 when flip is 0x80) into
 * dst (the panel's Kp x 16 bytes), its corr entries, its has_min byte and the column
 * sums cs' of its columns below N (mod 2^32, of the weights as given). fix NULL: a
 * -128 is stored and sets has_min; else it is stored as -127 and listed at fix, in
 * the order of the trailer (room for clq__cpu_gemm_count_min_k4 entries). */
void clq__cpu_gemm_pack_k4_panel(const uint8_t *b, uint8_t flip, size_t n, size_t k, size_t kp,
                                 size_t p, int8_t *dst, int32_t *corr, uint8_t *has_min,
                                 int32_t *colsum, uint32_t *fix);
/* The -128 weights (s8 domain) of K4 panel p, counted up to limit + 1. */
size_t clq__cpu_gemm_count_min_k4(const uint8_t *b, uint8_t flip, size_t n, size_t k, size_t p,
                                  size_t limit);

/* A panel packers: [mr][kc] s16 rows (portable); [kc / 4][mr][4] bytes in the u8
 * domain (a' + 128: vpdpbusd), s8 domain (AVX2), or s16 s8-domain (vpmaddwd);
 * [mr][kc] u8-domain rows (AMX A tiles). */
void clq__cpu_gemm_pack_a_rows16(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                                 size_t kc, size_t K, int mr, void *dst);
void clq__cpu_gemm_pack_a_k4u8(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                               size_t kc, size_t K, int mr, void *dst);
void clq__cpu_gemm_pack_a_k4s8(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                               size_t kc, size_t K, int mr, void *dst);
void clq__cpu_gemm_pack_a_k4s16(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                                size_t kc, size_t K, int mr, void *dst);
void clq__cpu_gemm_pack_a_rowsu8(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                                 size_t kc, size_t K, int mr, void *dst);

/* The kernel sets (cpu_gemm_kernel.c, cpu_gemm_avx2.c, cpu_gemm_avx512.c,
 * cpu_gemm_vnni.c, cpu_gemm_amx.c). Capabilities each needs: avx2 (AVX2), avx512bw
 * (AVX-512 F/BW/VL/DQ), avx512vnni (that + AVX512_VNNI), avxvnni (AVX2 + AVX-VNNI),
 * amx (AVX-512 + AMX-TILE + AMX-INT8, with the OS's tile-data permission). */
extern const clq_cpu_gemm_kernel clq__cpu_gemm_portable;
#if defined(__x86_64__) || defined(__i386__)
extern const clq_cpu_gemm_kernel clq__cpu_gemm_avx2, clq__cpu_gemm_avx512bw,
    clq__cpu_gemm_avx512vnni, clq__cpu_gemm_avxvnni, clq__cpu_gemm_amx;
#endif

#endif
