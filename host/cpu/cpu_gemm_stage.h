/* cpu_gemm_stage.h: the GEMM epilogue of the CPU path: zero-point correction of the
 * s8-domain accumulators and the output stages, exactly as host/backend.h states them. */
#ifndef CLQ_CPU_GEMM_STAGE_H
#define CLQ_CPU_GEMM_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_internal.h"

/* What one op's epilogue needs, read once from its clq_gemm_op. */
typedef struct clq_cpu_gemm_epi {
    clq_dtype ctype;
    uint32_t k, za;       /* za' (s8 domain); per row: 0, za_row has them */
    const int32_t *za_row; /* A per row (a_gran PER_AXIS): stored zero points, NULL: 0 */
    const float *sa_row;   /* A per row: scales (F32 and float requant) */
    int a_pr;              /* A per row: the terms with za or sa are made row by row */
    int c_exact;           /* the accumulators are C already (cpu_gemm_group.c): no
                              zero-point terms */
    int32_t za_lo, za_hi;  /* A's type range (TRUSTED zero points are clamped to it) */
    uint32_t za_shift;     /* za' = za - za_shift (128 for u8 A) */
    const int32_t *zb;    /* zb' */
    int zb_pc;
    const int32_t *cs;    /* cs' */
    const int32_t *rs;    /* stored-value row sums; NULL: every zb' is 0 */
    uint32_t rs_bias;     /* rs' = rs - rs_bias (128 K for u8 A) */
    float sa;
    const float *sb;
    int sb_pc;
    const float *bias;
    int relu;
    float sc;
    int32_t zc;
    int fixed;
    const int32_t *mult, *shift;
    int mult_pc;
    int qmin, qmax;
    char *c;              /* C's first element */
    size_t ldc, csize;    /* row stride in elements, element size */
} clq_cpu_gemm_epi;

/* Per-column terms of columns [n0, n0 + cols), computed once per block; each array
 * holds at least cols entries (workspace of the caller). */
typedef struct clq_cpu_gemm_cols {
    uint32_t *colterm; /* za' (K zb'[n] - cs'[n]); A per row: K zb'[n] - cs'[n] */
    uint32_t *zb;      /* zb'[n] */
    float *f;          /* f32: sa * sb[n]; float requant: (sa * sb[n]) / sc; A per row: sb[n] */
    int32_t *mult, *shift;
} clq_cpu_gemm_cols;

/* Reads the op into e (c, a and rowsums pointers included). */
void clq__cpu_gemm_epi_init(const clq_gemm_op *op, clq_cpu_gemm_epi *e);
void clq__cpu_gemm_epi_cols(const clq_cpu_gemm_epi *e, size_t n0, size_t cols,
                            const clq_cpu_gemm_cols *t);
/* The clq_cpu_gemm_epi_fn (cpu_registry.h) compiled per ISA; the registry picks one. */
void clq__cpu_gemm_epi_portable(const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t,
                                const int32_t *acc, size_t ldacc, size_t m0, size_t rows,
                                size_t n0, size_t cols);
#if CLQ_CPU_X86
void clq__cpu_gemm_epi_avx2(const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t,
                            const int32_t *acc, size_t ldacc, size_t m0, size_t rows, size_t n0,
                            size_t cols);
void clq__cpu_gemm_epi_avx512(const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t,
                              const int32_t *acc, size_t ldacc, size_t m0, size_t rows,
                              size_t n0, size_t cols);
#endif

#endif
