/* api_minmax.c: clq_minmax, min/max per tensor, per axis or per block. */
#include <string.h>

#include "validate.h"

/* Checks shared with clq_quantize_dynamic: x a float tensor, the layout of qp. */
clq_status clq__prepare_minmax(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                               clq_tensor_info *xi, clq_layout *lay) {
    clq_status st = clq__check_tensor(ctx, x, "x", CLQ_INPUT, xi);
    if (st != CLQ_SUCCESS) return st;
    if (!clq__dtype_is_float(x->dtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "x->dtype = %s: expected f32, f16 or bf16", clq_dtype_name(x->dtype));
    return clq__check_qparams_desc(ctx, qp, x->ndim, x->shape, lay);
}

static clq_status minmax(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                         clq_buffer *min_out, size_t min_offset, clq_buffer *max_out,
                         size_t max_offset) {
    clq_minmax_op op;
    memset(&op, 0, sizeof op);
    clq_tensor_info xi;
    clq_status st = clq__prepare_minmax(ctx, x, qp, &xi, &op.lay);
    if (st != CLQ_SUCCESS) return st;
    size_t np = op.lay.nparams;
    st = clq__check_array(ctx, min_out, "min_out", min_offset, np, 4, &op.min);
    if (st == CLQ_SUCCESS) st = clq__check_array(ctx, max_out, "max_out", max_offset, np, 4, &op.max);
    if (st != CLQ_SUCCESS) return st;
    clq_extent e[] = {clq__tensor_extent("x", x, &xi, 0),
                      clq__span_extent("min_out", op.min, np, 4, 1),
                      clq__span_extent("max_out", op.max, np, 4, 1)};
    st = clq__check_disjoint(ctx, e, 3);
    if (st != CLQ_SUCCESS) return st;
    if (np == 0) return CLQ_SUCCESS;
    op.xtype = x->dtype;
    for (CLQ_EACH_PASS(pass)) {
        st = clq__gather(ctx, x, &xi, &op.x, pass);
        if (st == CLQ_SUCCESS) st = ctx->ops->minmax(ctx, &op, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    return CLQ_SUCCESS;
}

clq_status clq_minmax(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                      clq_buffer *min_out, size_t min_offset, clq_buffer *max_out,
                      size_t max_offset) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, minmax(ctx, x, qp, min_out, min_offset, max_out, max_offset));
}
