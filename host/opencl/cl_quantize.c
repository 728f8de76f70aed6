/* cl_quantize.c: enqueues kernels/quantize.cl for a normalised quantize op,
 * choosing the granule walk, the per-column row walk, or the byte-wise 4-bit path. */
#include "cl_internal.h"

clq_status clq__cl_quantize(clq_context *ctx, const clq_quantize_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    if (l->n == 0) return CLQ_SUCCESS;
    int bits4 = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    int has_zp = op->zp.buf != NULL;
    cl_mem x, q, s, z;
    cl_ulong xoff, qb, soff, zoff = 0;
    clq_status st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "quantize x", &x, &xoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->q, 1, "quantize q", &q, &qb);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->scale, 4, "quantize scale", &s, &soff);
    if (st == CLQ_SUCCESS && has_zp) st = clq__cl_span(ctx, op->zp, 4, "quantize zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    if (!has_zp) z = s; /* never read; a valid cl_mem keeps the runtime happy */
    int mode = (op->reciprocal ? CLQ_MODE_RECIP : 0) |
               (op->rounding == CLQ_ROUND_HALF_AWAY ? CLQ_MODE_AWAY : 0);
    float qmin = (float)op->qmin, qmax = (float)op->qmax;
    size_t chunk = impl->tuning.quant_chunk;

    cl_ulong rows, rlen, pr[4];
    if (clq__cl_cols_layout(l, &rows, &rlen, pr) && (!bits4 || rlen % 2 == 0 || rows == 1)) {
        clq_kargs_quantize_cols a = {
            .x = x, .xoff = xoff, .xt = op->xtype, .q = q, .qb = qb, .bits4 = bits4,
            .scale = s, .soff = soff, .zp = z, .zoff = zoff, .has_zp = has_zp,
            .rows = rows, .rlen = rlen, .pa = pr[0], .pnb = pr[1], .pblk = pr[2], .pin = pr[3],
            .qmin = qmin, .qmax = qmax, .mode = mode};
        size_t g[2] = {clq__cl_div_up(rlen, chunk), rows};
        return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_quantize_cols, quantize_cols, &a, 2, g, NULL);
    }

    clq_cl_walk w;
    clq__cl_walk_init(l, chunk, &w);
    /* 4-bit: a work item owns whole bytes only if every run it writes starts at an
     * even element and has even length (except at the end of the tensor). */
    int whole_bytes = !bits4 || w.mode == CLQ_WALK_TENSOR ||
                      (w.mode == CLQ_WALK_AXIS && (w.inner % 2 == 0 || w.ngran == 1)) ||
                      (w.mode == CLQ_WALK_BLOCK_CONTIG && w.block % 2 == 0 &&
                       (w.axis_len % 2 == 0 || w.outer == 1));
    if (whole_bytes) {
        clq_kargs_quantize_gran a = {
            .x = x, .xoff = xoff, .xt = op->xtype, .q = q, .qb = qb, .bits4 = bits4,
            .scale = s, .soff = soff, .zp = z, .zoff = zoff, .has_zp = has_zp,
            .wmode = w.mode, .ngran = w.ngran, .gpi = w.gpi, .n = w.n, .outer = w.outer,
            .axis_len = w.axis_len, .inner = w.inner, .nblocks = w.nblocks, .block = w.block,
            .qmin = qmin, .qmax = qmax, .mode = mode};
        size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
        return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_quantize_gran, quantize_gran, &a, 2, g, NULL);
    }

    clq_kargs_quantize_any4 a = {
        .x = x, .xoff = xoff, .xt = op->xtype, .q = q, .qb = qb,
        .scale = s, .soff = soff, .zp = z, .zoff = zoff, .has_zp = has_zp,
        .gran = l->gran, .n = l->n, .axis_len = l->axis_len, .inner = l->inner,
        .nblocks = l->nblocks, .block = l->block ? l->block : 1,
        .qmin = qmin, .qmax = qmax, .mode = mode};
    size_t g[1] = {clq__cl_div_up(l->n, 2)};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_quantize_any4, quantize_any4, &a, 1, g, NULL);
}
