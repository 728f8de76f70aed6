/* api_plan.h: the ops a composite op chains (clq_linear), each split into its checks
 * and its passes, so that the composite checks every step, then prepares every step,
 * then runs them (backend.h, "two passes"): on error nothing is written. */
#ifndef CLQ_API_PLAN_H
#define CLQ_API_PLAN_H

#include "validate.h"

/* Row sums requested with a quantize: y's rows along its last axis, int32, one per
 * row, or one per row and block when qp is per block along the last axis; or, when
 * the caller names a group (the _groupsums calls), one per row and group of it. */
typedef struct clq_rowsums_req {
    clq_span out; /* buf NULL: none */
    size_t rows, k;
    size_t group; /* 0: whole rows */
    size_t count; /* sums written */
} clq_rowsums_req;

/* clq_quantize (static) or clq_quantize_dynamic, with or without row sums. */
typedef struct clq_quantize_plan {
    const clq_tensor *x, *y; /* the caller's structs: they must outlive the passes */
    const clq_qparams *qp;
    clq_tensor_info xi, yi;
    clq_quantize_op op;
    clq_rowsums_req rq;
    int dynamic;
    int skip; /* nothing to write */
} clq_quantize_plan;

#define CLQ_QUANTIZE_DYNAMIC 0x1u
#define CLQ_QUANTIZE_ROWSUMS 0x2u
/* The row sums' group: qp's blocks along the last axis (else whole rows). */
#define CLQ_QUANTIZE_GROUP_FROM_QPARAMS ((size_t)-1)
/* Every check of the op (values of static qparams read back unless TRUSTED); with
 * CLQ_QUANTIZE_ROWSUMS, sums per row and group of `group` (0: whole rows). */
CLQ_HIDDEN clq_status clq__quantize_check(clq_context *ctx, const clq_tensor *x,
                                          const clq_qparams *qp, const clq_tensor *y,
                                          clq_buffer *rowsums, size_t rowsums_offset,
                                          unsigned how, size_t group, clq_quantize_plan *p);
CLQ_HIDDEN clq_status clq__quantize_pass(clq_context *ctx, clq_quantize_plan *p, clq_pass pass);

/* clq_gemm. */
typedef struct clq_gemm_plan {
    const clq_tensor *a, *c;
    clq_gemm_options o;
    clq_tensor_info ai, ci;
    clq_gemm_op op;
    int skip;
} clq_gemm_plan;
CLQ_HIDDEN clq_status clq__gemm_check(clq_context *ctx, const clq_tensor *a,
                                      const clq_qparams *a_qp, const clq_packed_weights *w,
                                      const clq_gemm_options *options, const clq_tensor *c,
                                      clq_gemm_plan *p);
CLQ_HIDDEN clq_status clq__gemm_pass(clq_context *ctx, clq_gemm_plan *p, clq_pass pass);

/* clq_weights_pack without the context lock (the caller holds it). */
CLQ_HIDDEN clq_status clq__weights_pack(clq_context *ctx, const clq_tensor *b,
                                        const clq_qparams *qp, unsigned flags,
                                        clq_packed_weights **out);
/* Bytes the backend holds for packed weights: their buffers and the backend's record. */
CLQ_HIDDEN size_t clq__weights_bytes(const clq_packed_weights *w);
#endif
