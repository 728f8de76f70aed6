/* cl_ggml.c: enqueues kernels/ggml.cl for the ggml block ops (clq_ggml_op): one work
 * item per block of 32. */
#include "cl_internal.h"

clq_status clq__cl_ggml_quantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass) {
    if (op->nblocks == 0) return CLQ_SUCCESS;
    cl_mem x, b;
    cl_ulong xoff, boff;
    clq_status st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "ggml x", &x, &xoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->blocks, 1, "ggml blocks", &b, &boff);
    if (st != CLQ_SUCCESS) return st;
    clq_kargs_ggml_quantize a = {.x = x, .xoff = xoff, .xt = op->xtype, .blocks = b,
                                 .boff = boff, .q4 = op->layout == CLQ_LAYOUT_GGML_Q4_0,
                                 .nblocks = op->nblocks};
    size_t g[1] = {op->nblocks};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_ggml_quantize, ggml_quantize, &a, 1, g, NULL);
}

clq_status clq__cl_ggml_dequantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass) {
    if (op->nblocks == 0) return CLQ_SUCCESS;
    cl_mem b, y;
    cl_ulong boff, yoff;
    clq_status st = clq__cl_span(ctx, op->blocks, 1, "ggml blocks", &b, &boff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->x, 4, "ggml y", &y, &yoff);
    if (st != CLQ_SUCCESS) return st;
    clq_kargs_ggml_dequantize a = {.blocks = b, .boff = boff,
                                   .q4 = op->layout == CLQ_LAYOUT_GGML_Q4_0, .y = y,
                                   .yoff = yoff, .nblocks = op->nblocks};
    size_t g[1] = {op->nblocks};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_ggml_dequantize, ggml_dequantize, &a, 1, g, NULL);
}
