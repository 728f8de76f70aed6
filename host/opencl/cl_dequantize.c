/* cl_dequantize.c: enqueues kernels/dequantize.cl for a normalised dequantize op
 * (granule walk, or per-column rows when the parameters run along the rows). */
#include "cl_internal.h"

clq_status clq__cl_dequantize(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    if (l->n == 0) return CLQ_SUCCESS;
    int has_zp = op->zp.buf != NULL;
    cl_mem q, y, s, z;
    cl_ulong qb, yoff, soff, zoff = 0;
    clq_status st = clq__cl_span(ctx, op->q, 1, "dequantize q", &q, &qb);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->y, 4, "dequantize y", &y, &yoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->scale, 4, "dequantize scale", &s, &soff);
    if (st == CLQ_SUCCESS && has_zp)
        st = clq__cl_span(ctx, op->zp, 4, "dequantize zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    if (!has_zp) z = s; /* never read */
    int bits4 = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    int sgn = op->qtype == CLQ_S4 || op->qtype == CLQ_S8;
    size_t chunk = impl->tuning.quant_chunk;

    cl_ulong rows, rlen, pr[4];
    if (clq__cl_cols_layout(l, &rows, &rlen, pr)) {
        clq_kargs_dequantize_cols a = {
            .q = q, .qb = qb, .bits4 = bits4, .sgn = sgn, .y = y, .yoff = yoff,
            .scale = s, .soff = soff, .zp = z, .zoff = zoff, .has_zp = has_zp,
            .rows = rows, .rlen = rlen, .pa = pr[0], .pnb = pr[1], .pblk = pr[2], .pin = pr[3]};
        size_t g[2] = {clq__cl_div_up(rlen, chunk), rows};
        return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_dequantize_cols, dequantize_cols, &a, 2, g, NULL);
    }
    clq_cl_walk w;
    clq__cl_walk_init(l, chunk, &w);
    clq_kargs_dequantize_gran a = {
        .q = q, .qb = qb, .bits4 = bits4, .sgn = sgn, .y = y, .yoff = yoff,
        .scale = s, .soff = soff, .zp = z, .zoff = zoff, .has_zp = has_zp,
        .wmode = w.mode, .ngran = w.ngran, .gpi = w.gpi, .n = w.n, .outer = w.outer,
        .axis_len = w.axis_len, .inner = w.inner, .nblocks = w.nblocks, .block = w.block};
    size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_dequantize_gran, dequantize_gran, &a, 2, g, NULL);
}
