/* cpu_gemm_small.h: the small-M (token by token) int8 GEMM path of the CPU backend: the
 * kernel-set interface of its tiles and the driver clq__cpu_gemm() hands M <= 16 to. */
#ifndef CLQ_CPU_GEMM_SMALL_H
#define CLQ_CPU_GEMM_SMALL_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_gemm_kernel.h"

/* Rows from which the general, register-blocked driver takes over. */
#define CLQ_CPU_GEMM_SMALL_M 16
/* Columns per tile call (and per fused epilogue): four K4 panels. */
#define CLQ_CPU_GEMM_SMALL_NR 64

/* c[i * g->ldc + j] for i < rows (<= mr), j < cols rounded up to 16 (cols <= 64):
 * the s8-domain sum over the K panel [g->k0, g->k0 + g->kc) of columns n0 + j (n0 a
 * multiple of 16), added to c unless first (then stored, starting from corr where the
 * form needs it). a holds the rows' k-quads as pack_a wrote them with astride rows per
 * quad (mr, or all of M when M <= mr: no padding rows to read past). Reads any K4
 * packed-B format: their bytes agree. Exact, as the general tiles are. */
typedef void (*clq_cpu_gemm_small_fn)(const clq_cpu_gemm_call *g, const void *a, size_t astride,
                                      size_t n0, size_t rows, size_t cols, int32_t *c, int first);

typedef struct clq_cpu_gemm_small {
    const char *name;
    int mr;       /* rows one pass over B holds in registers */
    size_t kc;    /* K panel when M > mr (64 columns x kc of B stay in L1 across the row
                     groups); all of K in one pass otherwise */
    int a_esize;  /* bytes per packed A element */
    clq_cpu_gemm_pack_a_fn pack_a;
    clq_cpu_gemm_small_fn tile;
    void (*finish)(void); /* NULL, or called by each thread after its last tile call */
} clq_cpu_gemm_small;

#if defined(__x86_64__) || defined(__i386__)
/* cpu_gemm_vnni.c (vpdpbusd), cpu_gemm_avx512.c (vpmaddwd), cpu_gemm_avx2.c
 * (vpmaddubsw, vpmaddwd): the general kernels' loops, A stepped by astride. */
extern const clq_cpu_gemm_small clq__cpu_gemm_small_avx512vnni, clq__cpu_gemm_small_avxvnni;
extern const clq_cpu_gemm_small clq__cpu_gemm_small_avx512bw, clq__cpu_gemm_small_avx2;
/* cpu_gemm_amx.c: tdpbusd tiles, M rows of 16 in one pass */
extern const clq_cpu_gemm_small clq__cpu_gemm_small_amx;
#endif

#endif
