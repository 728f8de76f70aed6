/* api_quantize.c: clq_quantize, clq_dequantize and the fused clq_quantize_dynamic, and the
 * two-step form of every quantize that composite ops chain (api_plan.h). */
#include <string.h>

#include "api_plan.h"

/* Input/output tensors of a quantize, and the op descriptor they make. */
clq_status clq__quantize_settings(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                  clq_tensor_info *xi, clq_quantize_op *op) {
    memset(op, 0, sizeof *op);
    clq_status st = clq__prepare_minmax(ctx, x, qp, xi, &op->lay);
    if (st != CLQ_SUCCESS) return st;
    op->xtype = x->dtype;
    op->qtype = qp->qtype;
    op->rounding = qp->rounding;
    op->reciprocal = (qp->flags & CLQ_QPARAMS_RECIPROCAL) != 0;
    clq__qrange(qp->qtype, (qp->flags & CLQ_QPARAMS_NARROW_RANGE) != 0, &op->qmin, &op->qmax);
    return CLQ_SUCCESS;
}

static clq_status prepare_quantize(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                   const clq_tensor *y, clq_tensor_info *xi, clq_tensor_info *yi,
                                   clq_quantize_op *op) {
    clq_status st = clq__quantize_settings(ctx, x, qp, xi, op);
    if (st != CLQ_SUCCESS) return st;
    st = clq__check_tensor(ctx, y, "y", CLQ_OUTPUT, yi);
    if (st != CLQ_SUCCESS) return st;
    if (y->dtype != qp->qtype)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "y->dtype = %s but qp->qtype = %s",
                          clq_dtype_name(y->dtype), clq_dtype_name(qp->qtype));
    return clq__check_same_shape(ctx, x, "x", y, "y");
}

typedef clq_rowsums_req rowsums_req;

static clq_status check_rowsums(clq_context *ctx, const clq_tensor *y, const clq_layout *lay,
                                size_t group, clq_buffer *buf, size_t offset, rowsums_req *rq) {
    if (y->dtype != CLQ_S8 && y->dtype != CLQ_U8)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "y->dtype = %s: row sums are for 8-bit outputs", clq_dtype_name(y->dtype));
    if (y->ndim < 1)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "y->ndim = 0: row sums need rows");
    if (!ctx->ops->rowsums)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no row sums",
                          ctx->ops->name);
    rq->k = y->shape[y->ndim - 1];
    rq->rows = 1;
    for (int d = 0; d < y->ndim - 1; d++) rq->rows *= y->shape[d];
    rq->group = 0;
    rq->count = rq->rows;
    /* per block along the last axis (inner == 1): the sums of the same blocks; or of
     * the group the caller names (the _groupsums calls) */
    if (group == CLQ_QUANTIZE_GROUP_FROM_QPARAMS)
        group = lay->gran == CLQ_PER_BLOCK && lay->inner == 1 ? lay->block : 0;
    if (group && group < rq->k) {
        rq->group = group;
        rq->count = rq->rows * ((rq->k + group - 1) / group);
    }
    return clq__check_array(ctx, buf, "rowsums", offset, rq->count, 4, &rq->out);
}

/* x, y, the parameters (outputs of the dynamic path) and the row sums. */
static clq_status check_overlap(clq_context *ctx, const clq_tensor *x, const clq_tensor_info *xi,
                                const clq_tensor *y, const clq_tensor_info *yi,
                                const clq_quantize_op *op, const rowsums_req *rq, int params_out) {
    size_t np = op->lay.nparams;
    clq_extent e[] = {clq__tensor_extent("x", x, xi, 0), clq__tensor_extent("y", y, yi, 1),
                      clq__span_extent("qp->scale", op->scale, np, 4, params_out),
                      clq__span_extent("qp->zero_point", op->zp, np, 4, params_out),
                      clq__span_extent("rowsums", rq->out, rq->count, 4, 1)};
    clq_status st = clq__check_disjoint(ctx, e, (int)(sizeof e / sizeof e[0]));
    /* the dynamic path's parameters are written, then read by the quantize kernel */
    if (st == CLQ_SUCCESS && params_out) st = clq__check_readable(ctx, op->scale.buf, "qp->scale");
    if (st == CLQ_SUCCESS && params_out) st = clq__check_readable(ctx, op->zp.buf, "qp->zero_point");
    return st;
}

/* After the quantize kernel: row sums from the contiguous q, then y's scatter. */
static clq_status finish_quantize(clq_context *ctx, const clq_tensor *y,
                                  const clq_tensor_info *yi, const clq_quantize_op *op,
                                  const rowsums_req *rq, clq_pass pass) {
    clq_status st = CLQ_SUCCESS;
    if (rq && rq->out.buf && rq->rows) {
        clq_rowsums_op ro = {op->qtype, rq->rows, rq->k, rq->k, rq->group, op->q, rq->out};
        st = ctx->ops->rowsums(ctx, &ro, pass);
    }
    if (st == CLQ_SUCCESS && op->lay.n) st = clq__scatter(ctx, y, yi, &op->q, pass);
    return st;
}

/* Any quantize (how: CLQ_QUANTIZE_*): its checks, then its two passes. */
static clq_status quantize_op(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                              const clq_tensor *y, clq_buffer *rs, size_t rs_offset,
                              unsigned how, size_t group) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    clq_quantize_plan p;
    clq_status st = clq__quantize_check(ctx, x, qp, y, rs, rs_offset, how, group, &p);
    if (st != CLQ_SUCCESS || p.skip) return st;
    for (CLQ_EACH_PASS(pass))
        if ((st = clq__quantize_pass(ctx, &p, pass)) != CLQ_SUCCESS) return st;
    return CLQ_SUCCESS;
}

clq_status clq_quantize(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                        const clq_tensor *y) {
    return CLQ_LOCKED(ctx,
                      quantize_op(ctx, x, qp, y, NULL, 0, 0, CLQ_QUANTIZE_GROUP_FROM_QPARAMS));
}

clq_status clq_quantize_rowsums(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                const clq_tensor *y, clq_buffer *rowsums, size_t rowsums_offset) {
    return CLQ_LOCKED(ctx, quantize_op(ctx, x, qp, y, rowsums, rowsums_offset,
                                       CLQ_QUANTIZE_ROWSUMS, CLQ_QUANTIZE_GROUP_FROM_QPARAMS));
}

clq_status clq_quantize_groupsums(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                  const clq_tensor *y, size_t group, clq_buffer *rowsums,
                                  size_t rowsums_offset) {
    return CLQ_LOCKED(ctx, quantize_op(ctx, x, qp, y, rowsums, rowsums_offset,
                                       CLQ_QUANTIZE_ROWSUMS, group));
}

static clq_status dequantize(clq_context *ctx, const clq_tensor *q, const clq_qparams *qp,
                             const clq_tensor *y) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    clq_tensor_info qi, yi;
    clq_dequantize_op op;
    memset(&op, 0, sizeof op);
    clq_status st = clq__check_tensor(ctx, q, "q", CLQ_INPUT, &qi);
    if (st != CLQ_SUCCESS) return st;
    st = clq__check_qparams_desc(ctx, qp, q->ndim, q->shape, &op.lay);
    if (st != CLQ_SUCCESS) return st;
    if (q->dtype != qp->qtype)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "q->dtype = %s but qp->qtype = %s",
                          clq_dtype_name(q->dtype), clq_dtype_name(qp->qtype));
    st = clq__check_tensor(ctx, y, "y", CLQ_OUTPUT, &yi);
    if (st != CLQ_SUCCESS) return st;
    if (y->dtype != CLQ_F32)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "y->dtype = %s: dequantize writes f32",
                          clq_dtype_name(y->dtype));
    st = clq__check_same_shape(ctx, q, "q", y, "y");
    if (st == CLQ_SUCCESS)
        st = clq__check_qparams_buffers(ctx, qp, op.lay.nparams, 0, &op.scale, &op.zp);
    if (st == CLQ_SUCCESS) {
        size_t np = op.lay.nparams;
        clq_extent e[] = {clq__tensor_extent("q", q, &qi, 0), clq__tensor_extent("y", y, &yi, 1),
                          clq__span_extent("qp->scale", op.scale, np, 4, 0),
                          clq__span_extent("qp->zero_point", op.zp, np, 4, 0)};
        st = clq__check_disjoint(ctx, e, 4);
    }
    int qmin, qmax;
    clq__qrange(qp->qtype, (qp->flags & CLQ_QPARAMS_NARROW_RANGE) != 0, &qmin, &qmax);
    if (st == CLQ_SUCCESS) st = clq__check_qparams_values(ctx, qp, op.lay.nparams, qmin, qmax);
    if (st != CLQ_SUCCESS || op.lay.n == 0) return st;
    op.qtype = q->dtype;
    for (CLQ_EACH_PASS(pass)) {
        st = clq__gather(ctx, q, &qi, &op.q, pass);
        if (st == CLQ_SUCCESS) st = clq__output_span(ctx, y, &yi, &op.y);
        if (st == CLQ_SUCCESS) st = ctx->ops->dequantize(ctx, &op, pass);
        if (st == CLQ_SUCCESS) st = clq__scatter(ctx, y, &yi, &op.y, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    return CLQ_SUCCESS;
}

clq_status clq_dequantize(clq_context *ctx, const clq_tensor *q, const clq_qparams *qp,
                          const clq_tensor *y) {
    return CLQ_LOCKED(ctx, dequantize(ctx, q, qp, y));
}

/* The dynamic path's min/max (into scratch) and qparams (into qp's buffers). */
static clq_status dynamic_qparams(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                  const clq_quantize_op *op, clq_pass pass) {
    size_t np = op->lay.nparams;
    clq_buffer *bmin = NULL, *bmax = NULL;
    clq_status st = clq__scratch(ctx, CLQ_SCRATCH_MIN, np * 4, &bmin);
    if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_MAX, np * 4, &bmax);
    if (st != CLQ_SUCCESS) return st;
    clq_minmax_op mm = {.xtype = x->dtype, .x = op->x, .lay = op->lay,
                        .min = {bmin, 0}, .max = {bmax, 0}};
    st = ctx->ops->minmax(ctx, &mm, pass);
    if (st != CLQ_SUCCESS) return st;
    clq_qparams_op qo = {.min = mm.min, .max = mm.max, .count = np, .scale = op->scale,
                         .zp = op->zp};
    clq__qparams_op_setup(qp, &qo);
    return ctx->ops->qparams(ctx, &qo, pass);
}

clq_status clq__quantize_check(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                               const clq_tensor *y, clq_buffer *rs, size_t rs_offset,
                               unsigned how, size_t group, clq_quantize_plan *p) {
    memset(p, 0, sizeof *p);
    p->x = x, p->y = y, p->qp = qp;
    p->dynamic = (how & CLQ_QUANTIZE_DYNAMIC) != 0;
    clq_quantize_op *op = &p->op;
    clq_status st = prepare_quantize(ctx, x, qp, y, &p->xi, &p->yi, op);
    if (st == CLQ_SUCCESS && (how & CLQ_QUANTIZE_ROWSUMS))
        st = check_rowsums(ctx, y, &op->lay, group, rs, rs_offset, &p->rq);
    if (st == CLQ_SUCCESS)
        st = clq__check_qparams_buffers(ctx, qp, op->lay.nparams,
                                        p->dynamic && clq__qparams_need_zero_point(qp),
                                        &op->scale, &op->zp);
    if (st == CLQ_SUCCESS) st = check_overlap(ctx, x, &p->xi, y, &p->yi, op, &p->rq, p->dynamic);
    if (st == CLQ_SUCCESS && !p->dynamic)
        st = clq__check_qparams_values(ctx, qp, op->lay.nparams, op->qmin, op->qmax);
    if (st != CLQ_SUCCESS) return st;
    /* No parameters (an empty axis) but rows: only the row sums (all 0) are written. */
    p->skip = (p->dynamic ? op->lay.nparams == 0 : op->lay.n == 0) && p->rq.rows == 0;
    return CLQ_SUCCESS;
}

/* Gathers x and stages y if needed; dynamic: min/max into scratch and qparams into the
 * caller's buffers; the kernel; row sums; y's scatter. All enqueued in order, nothing
 * read back. */
clq_status clq__quantize_pass(clq_context *ctx, clq_quantize_plan *p, clq_pass pass) {
    clq_quantize_op *op = &p->op;
    clq_status st = clq__gather(ctx, p->x, &p->xi, &op->x, pass);
    if (st == CLQ_SUCCESS) st = clq__output_span(ctx, p->y, &p->yi, &op->q);
    if (st == CLQ_SUCCESS && p->dynamic && op->lay.nparams)
        st = dynamic_qparams(ctx, p->x, p->qp, op, pass);
    if (st == CLQ_SUCCESS && op->lay.n) st = ctx->ops->quantize(ctx, op, pass);
    if (st == CLQ_SUCCESS) st = finish_quantize(ctx, p->y, &p->yi, op, &p->rq, pass);
    return st;
}

clq_status clq_quantize_dynamic(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                const clq_tensor *y) {
    return CLQ_LOCKED(ctx, quantize_op(ctx, x, qp, y, NULL, 0, CLQ_QUANTIZE_DYNAMIC,
                                       CLQ_QUANTIZE_GROUP_FROM_QPARAMS));
}

clq_status clq_quantize_dynamic_rowsums(clq_context *ctx, const clq_tensor *x,
                                        const clq_qparams *qp, const clq_tensor *y,
                                        clq_buffer *rowsums, size_t rowsums_offset) {
    return CLQ_LOCKED(ctx, quantize_op(ctx, x, qp, y, rowsums, rowsums_offset,
                                       CLQ_QUANTIZE_DYNAMIC | CLQ_QUANTIZE_ROWSUMS,
                                       CLQ_QUANTIZE_GROUP_FROM_QPARAMS));
}

clq_status clq_quantize_dynamic_groupsums(clq_context *ctx, const clq_tensor *x,
                                          const clq_qparams *qp, const clq_tensor *y, size_t group,
                                          clq_buffer *rowsums, size_t rowsums_offset) {
    return CLQ_LOCKED(ctx, quantize_op(ctx, x, qp, y, rowsums, rowsums_offset,
                                       CLQ_QUANTIZE_DYNAMIC | CLQ_QUANTIZE_ROWSUMS, group));
}
