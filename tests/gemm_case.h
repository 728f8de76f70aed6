/* gemm_case.h: the GEMM suites' case runner: a case (types, weight format, A's
 * granularity, zero points, shape, layout) becomes A, packed B and the exact group dots;
 * each output stage is then run and every byte of C's buffer (sentinel guards included)
 * checked against tests/ref (ref_gemm.c, ref_gemm_group.c). */
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
/* The stages group-quantized weights allow (no single int32 C): f32 plain, +bias, relu,
 * both; s8/u8 float multiplier. */
enum { N_GROUP_STAGES = 6 };
extern const gstage gc_group_stages[N_GROUP_STAGES];

/* ---- the case ---- */
enum { ZB_NULL, ZB_TENSOR, ZB_CHANNEL, ZB_CHANNEL_SAME }; /* zero_point NULL / one / N random / N equal */
/* with weight groups (gcase.group) every zero point array has N * G values: ZB_TENSOR and
 * ZB_CHANNEL_SAME all zb, ZB_CHANNEL random (the first two at the ends of the range) */
/* A's (scale, zero point): one; per row as PER_AXIS axis 0 (2-D A only) or as PER_BLOCK of K
 * on the last axis; per row and group (PER_BLOCK of the weights' g). Per row / group zero
 * points are random (the first two at the ends of the range) unless za_same. */
enum { A_TENSOR, A_ROW_AXIS, A_ROW_BLOCK, A_GROUP };
/* values: random over the type, all qmin, all qmax, either end, within 8 of 0 (s8) or 128 (u8);
 * V_PANELS (B as [N, K] only): either end, but rows (columns of C) in groups of 16 taking
 * turns: never at qmin (the s8-domain -128); at qmin in half the values (dense); at qmin
 * in one value of 83 and once per row (sparse): the CPU path's K4 panels without, with
 * many and with few -128 weights (its AVX2 kernel takes three forms) */
enum { V_RANDOM, V_LO, V_HI, V_EDGE, V_SMALL, V_PANELS };

typedef struct gcase {
    const char *name;
    clq_dtype at, bt; /* 0: s8 */
    size_t batch;     /* 0: A is [M, K]; else [batch, M, K] */
    size_t m, n, k;
    int32_t za;
    int za_null; /* za must be 0: pass zero_point NULL */
    int a_gran;  /* A_TENSOR, A_ROW_AXIS, A_ROW_BLOCK, A_GROUP */
    int za_same; /* per row / group: every zero point za */
    size_t group; /* weights per group of g along K (CLQ_PER_BLOCK); 0: per tensor / channel */
    int zb_mode;
    int32_t zb;  /* ZB_TENSOR, ZB_CHANNEL_SAME */
    int transposed;
    size_t a_pad, b_pad, c_pad; /* row stride minus row length, in elements */
    int a_colmajor;             /* A as a transposed view: strides {1, M} */
    size_t off;                 /* element offset of A, B, C and every parameter array */
    int a_vals, b_vals;
    int no_scales;    /* pack B and describe A without scales (s32 / fixed point only) */
    int rowsums;      /* pass A's row sums (per group with weight groups; computed here) in the options */
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
    size_t rows, lda, ldb, ldc; /* rows = batch * M */
    size_t groups;  /* G: ceil(K / g) with weight groups (0 at K = 0), else 1 */
    size_t nc, na;  /* (scale, zero point) pairs of B (1, N or N * G) and of A (1, rows or rows * G) */
    clq_granularity agran, bgran; /* as ref_gemm_param reads them */
    clq_buffer *ab, *bb, *sab, *zab, *sbb, *zbb, *rsb;
    clq_tensor at, bt;
    clq_qparams aqp, bqp;
    clq_packed_weights *w;
    float *sa, *sb;    /* [na], [nc] ([N][G] with groups) */
    int32_t *za, *zb;
    int32_t *c32;      /* the exact group dots [rows][N][G] (G = 1: C), checked to fit int32 */
    int64_t cmax;      /* max |d_j| */
    double ymax;       /* max over outputs of |sum_j d_j sa_j sb_j| (without scales: 0) */
} grun;

typedef struct ghits {
    size_t qmin, qmax; /* expected outputs at the ends of the range (requantized stages) */
} ghits;

/* Makes the case's inputs, packs B (checking clq_weights_n/k/dtype/group_size and
 * clq_gemm_max_k) and computes the exact group dots; teardown frees it all. A refused
 * pack fails the test without ending it (r->w NULL: no stage can run). */
void gc_setup(grun *r, clq_context *ctx, const gcase *c);
void gc_teardown(grun *r);
/* Runs one stage and checks C's whole buffer (non-fatal on a mismatch: cr_expect). */
ghits gc_run_stage(grun *r, const gstage *st);
/* setup, every stage of the list, teardown. */
void gc_run_case(clq_context *ctx, const gcase *c, const gstage *stages, size_t nst);

#endif
