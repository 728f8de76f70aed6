/* api_ggml.c: clq_quantize_ggml and clq_dequantize_ggml, ggml's Q8_0 / Q4_0 blocks along
 * the last dimension (docs/NUMERICS.md, "ggml blocks"): checks, then the two passes of
 * gather (or staging), the backend's block op, and scatter. */
#include <string.h>

#include "validate.h"

/* The layout's name and bytes per block; anything but the two ggml layouts is refused. */
static clq_status check_layout(clq_context *ctx, clq_weights_layout layout, const char **name,
                               size_t *bb) {
    if (layout == CLQ_LAYOUT_GGML_Q8_0) {
        *name = "ggml Q8_0";
        *bb = CLQ_GGML_Q8_0_BYTES;
    } else if (layout == CLQ_LAYOUT_GGML_Q4_0) {
        *name = "ggml Q4_0";
        *bb = CLQ_GGML_Q4_0_BYTES;
    } else {
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "layout = %d: ggml blocks are CLQ_LAYOUT_GGML_Q8_0 (%d) or "
                          "CLQ_LAYOUT_GGML_Q4_0 (%d)",
                          (int)layout, (int)CLQ_LAYOUT_GGML_Q8_0, (int)CLQ_LAYOUT_GGML_Q4_0);
    }
    return CLQ_SUCCESS;
}

/* What both directions check: the float tensor t (already checked as a tensor) has its
 * last dimension in whole blocks; the buffer holds the blocks (*bytes) from offset. */
static clq_status plan(clq_context *ctx, const clq_tensor *t, const char *tname,
                       const clq_tensor_info *ti, clq_weights_layout layout, clq_buffer *buf,
                       const char *bname, const char *oname, size_t offset, clq_ggml_op *op,
                       size_t *bytes) {
    const char *lname = NULL;
    size_t bb = 0;
    clq_status st = check_layout(ctx, layout, &lname, &bb);
    if (st != CLQ_SUCCESS) return st;
    if (t->ndim < 1)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->ndim = 0: %s blocks run along the last dimension", tname, lname);
    size_t k = t->shape[t->ndim - 1];
    if (k % CLQ_GGML_QK != 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->shape[%d] = %zu: %s blocks are %d long, the last dimension must "
                          "be a multiple of %d",
                          tname, t->ndim - 1, k, lname, CLQ_GGML_QK, CLQ_GGML_QK);
    if (!buf) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s is NULL", bname);
    if (buf->ctx != ctx)
        return clq__error(ctx, CLQ_ERROR_CONTEXT_MISMATCH, "%s belongs to another context", bname);
    op->layout = layout;
    op->nblocks = ti->numel / CLQ_GGML_QK;
    size_t end;
    if (__builtin_mul_overflow(op->nblocks, bb, bytes) ||
        __builtin_add_overflow(offset, *bytes, &end) || end > buf->size)
        return clq__error(ctx, CLQ_ERROR_OUT_OF_BOUNDS,
                          "%s: %zu %s blocks (%zu bytes each) from %s = %zu exceed its %zu bytes",
                          bname, op->nblocks, lname, bb, oname, offset, buf->size);
    op->blocks = (clq_span){buf, offset};
    if (!ctx->ops->ggml_quantize || !ctx->ops->ggml_dequantize)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no ggml blocks",
                          ctx->ops->name);
    return CLQ_SUCCESS;
}

static clq_status quantize_ggml(clq_context *ctx, const clq_tensor *x, clq_weights_layout layout,
                                clq_buffer *out, size_t out_offset) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    clq_tensor_info xi;
    clq_ggml_op op;
    memset(&op, 0, sizeof op);
    clq_status st = clq__check_tensor(ctx, x, "x", CLQ_INPUT, &xi);
    if (st != CLQ_SUCCESS) return st;
    if (!clq__dtype_is_float(x->dtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "x->dtype = %s: ggml blocks are quantized from f32, f16 or bf16",
                          clq_dtype_name(x->dtype));
    size_t bytes;
    st = plan(ctx, x, "x", &xi, layout, out, "out", "out_offset", out_offset, &op, &bytes);
    if (st != CLQ_SUCCESS) return st;
    clq_extent e[] = {clq__tensor_extent("x", x, &xi, 0),
                      clq__span_extent("out", op.blocks, bytes, 1, 1)};
    st = clq__check_disjoint(ctx, e, 2);
    if (st != CLQ_SUCCESS || op.nblocks == 0) return st;
    op.xtype = x->dtype;
    for (CLQ_EACH_PASS(pass)) {
        st = clq__gather(ctx, x, &xi, &op.x, pass);
        if (st == CLQ_SUCCESS) st = ctx->ops->ggml_quantize(ctx, &op, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    return CLQ_SUCCESS;
}

clq_status clq_quantize_ggml(clq_context *ctx, const clq_tensor *x, clq_weights_layout layout,
                             clq_buffer *out, size_t out_offset) {
    return CLQ_LOCKED(ctx, quantize_ggml(ctx, x, layout, out, out_offset));
}

static clq_status dequantize_ggml(clq_context *ctx, clq_buffer *blocks, size_t offset,
                                  clq_weights_layout layout, const clq_tensor *y) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    clq_tensor_info yi;
    clq_ggml_op op;
    memset(&op, 0, sizeof op);
    clq_status st = clq__check_tensor(ctx, y, "y", CLQ_OUTPUT, &yi);
    if (st != CLQ_SUCCESS) return st;
    if (y->dtype != CLQ_F32)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "y->dtype = %s: ggml blocks are dequantized to f32",
                          clq_dtype_name(y->dtype));
    size_t bytes;
    st = plan(ctx, y, "y", &yi, layout, blocks, "blocks", "offset", offset, &op, &bytes);
    if (st != CLQ_SUCCESS) return st;
    clq_extent e[] = {clq__span_extent("blocks", op.blocks, bytes, 1, 0),
                      clq__tensor_extent("y", y, &yi, 1)};
    st = clq__check_disjoint(ctx, e, 2);
    if (st != CLQ_SUCCESS || op.nblocks == 0) return st;
    op.xtype = CLQ_F32;
    for (CLQ_EACH_PASS(pass)) {
        st = clq__output_span(ctx, y, &yi, &op.x);
        if (st == CLQ_SUCCESS) st = ctx->ops->ggml_dequantize(ctx, &op, pass);
        if (st == CLQ_SUCCESS) st = clq__scatter(ctx, y, &yi, &op.x, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    return CLQ_SUCCESS;
}

clq_status clq_dequantize_ggml(clq_context *ctx, clq_buffer *blocks, size_t offset,
                               clq_weights_layout layout, const clq_tensor *y) {
    return CLQ_LOCKED(ctx, dequantize_ggml(ctx, blocks, offset, layout, y));
}
