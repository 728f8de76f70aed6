/* gemm_case.h: the GEMM suites' case runner: a case (types, zero points, shape, layout)
 * becomes A, packed B and the exact C; each output stage is then run and every byte of
 * C's buffer (sentinel guards included) checked against tests/ref/ref_gemm.c. */
#ifndef CLQ_TEST_GEMM_CASE_H
#define CLQ_TEST_GEMM_CASE_H

#include "common.h"

/* ---- output stages ---- */
typedef struct gstage {
    clq_dtype ct;   /* S32, F32, S8, U8 */
    unsigned flags; /* CLQ_GEMM_RELU, CLQ_GEMM_FIXED_POINT */
    int bias;
    int mult_pc; /* fixed point: one multiplier per channel */
    int narrow;  /* s8/u8: C's qparams CLQ_QPARAMS_NARROW_RANGE */
} gstage;

#define FIXED CLQ_GEMM_FIXED_POINT
#define RELU CLQ_GEMM_RELU
/* Every stage: s32; f32 plain, +bias, relu, both; s8/u8 float multiplier; s8/u8 fixed
 * point with one multiplier and with one per channel. */
enum { N_STAGES = 11 };
extern const gstage gc_all_stages[N_STAGES];

/* ---- the case ---- */
enum { ZB_NULL, ZB_TENSOR, ZB_CHANNEL, ZB_CHANNEL_SAME }; /* zero_point NULL / one / N random / N equal */
/* values: random over the type, all qmin, all qmax, either end, within 8 of 0 (s8) or 128 (u8);
 * V_PANELS (B as [N, K] only): either end, but rows (columns of C) in even groups of 16 never
 * at qmin (the s8-domain -128), odd groups at qmin in every row: the CPU path's K4 panels
 * of 16 columns with and without a -128 weight (its AVX2 kernel takes two forms) */
enum { V_RANDOM, V_LO, V_HI, V_EDGE, V_SMALL, V_PANELS };

typedef struct gcase {
    const char *name;
    clq_dtype at, bt; /* 0: s8 */
    size_t batch;     /* 0: A is [M, K]; else [batch, M, K] */
    size_t m, n, k;
    int32_t za;
    int za_null; /* za must be 0: pass zero_point NULL */
    int zb_mode;
    int32_t zb;  /* ZB_TENSOR, ZB_CHANNEL_SAME */
    int transposed;
    size_t a_pad, b_pad, c_pad; /* row stride minus row length, in elements */
    int a_colmajor;             /* A as a transposed view: strides {1, M} */
    size_t off;                 /* element offset of A, B, C and every parameter array */
    int a_vals, b_vals;
    int no_scales;    /* pack B and describe A without scales (s32 / fixed point only) */
    int rowsums;      /* pass A's row sums (computed here) in the options */
    int null_options; /* s32 stage: options NULL */
    float sat;        /* requantization multiplier relative to 100 / max|C|; 0: 1 */
    int32_t zc;       /* requantization zero point when zc_given, else random */
    int zc_given;
    int trusted;      /* A's and C's qparams CLQ_QPARAMS_TRUSTED */
    int pow2;         /* scales and multipliers powers of two: requantization lands on ties */
    uint64_t seed;
} gcase;

typedef struct grun {
    clq_context *ctx;
    gcase c;
    tc_rng rng;
    char desc[512];
    size_t rows, lda, ldb, ldc, nc; /* rows = batch * M; nc: per-channel count (N) */
    clq_buffer *ab, *bb, *sab, *zab, *sbb, *zbb, *rsb;
    clq_tensor at, bt;
    clq_qparams aqp, bqp;
    clq_packed_weights *w;
    float sa, *sb;
    int32_t *zb, *c32; /* c32: the exact C, checked to fit int32 */
    int64_t cmax;
} grun;

typedef struct ghits {
    size_t qmin, qmax; /* expected outputs at the ends of the range (requantized stages) */
} ghits;

/* Makes the case's inputs, packs B (checking clq_weights_n/k and clq_gemm_max_k) and
 * computes the exact C; teardown frees it all. */
void gc_setup(grun *r, clq_context *ctx, const gcase *c);
void gc_teardown(grun *r);
/* Runs one stage and checks C's whole buffer (non-fatal on a mismatch: cr_expect). */
ghits gc_run_stage(grun *r, const gstage *st);
/* setup, every stage of the list, teardown. */
void gc_run_case(clq_context *ctx, const gcase *c, const gstage *stages, size_t nst);

#endif
