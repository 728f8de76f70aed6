/* cl_error.c: enqueues kernels/error.cl for the error statistics op: one work item per
 * chunk of a granule (backend.h, clq_error_op), y read or made from x in the kernel. */
#include "cl_internal.h"

clq_status clq__cl_error_stats(clq_context *ctx, const clq_error_op *op, clq_pass pass) {
    int quant = op->y.buf == NULL;
    const clq_layout *l = &op->q.lay;
    cl_mem x, y, p, s, z;
    cl_ulong xoff, yoff = 0, poff, soff = 0, zoff = 0;
    clq_status st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "error x", &x, &xoff);
    if (st == CLQ_SUCCESS && !quant)
        st = clq__cl_span(ctx, op->y, op->ytype == CLQ_F32 ? 4 : 2, "error y", &y, &yoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->part, 4, "error partials", &p, &poff);
    if (st == CLQ_SUCCESS && quant) st = clq__cl_span(ctx, op->q.scale, 4, "error scale", &s, &soff);
    if (st == CLQ_SUCCESS && quant && op->q.zp.buf)
        st = clq__cl_span(ctx, op->q.zp, 4, "error zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    /* arguments never read get a valid cl_mem */
    if (quant) y = x;
    else s = x;
    if (!quant || !op->q.zp.buf) z = s;
    clq_kargs_error a = {
        .x = x, .xoff = xoff, .xt = op->xtype, .y = y, .yoff = yoff,
        .yt = quant ? CLQ_F32 : op->ytype, .quant = quant, .scale = s, .soff = soff, .zp = z,
        .zoff = zoff, .has_zp = quant && op->q.zp.buf != NULL, .qgran = l->gran,
        .qaxis_len = l->axis_len ? l->axis_len : 1, .qinner = l->inner ? l->inner : 1,
        .qnblocks = l->nblocks ? l->nblocks : 1, .qblock = l->block ? l->block : 1,
        .qmin = (float)op->q.qmin, .qmax = (float)op->q.qmax,
        .mode = (op->q.reciprocal ? CLQ_MODE_RECIP : 0) |
                (op->q.rounding == CLQ_ROUND_HALF_AWAY ? CLQ_MODE_AWAY : 0),
        .ngran = op->ngran, .outer = op->outer, .inner = op->inner, .nchunks = op->nchunks,
        .part = p, .poff = poff};
    size_t g[2] = {op->nchunks, op->ngran};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_error_stats, error, &a, 2, g, NULL);
}
