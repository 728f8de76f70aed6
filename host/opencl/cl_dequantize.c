/* cl_dequantize.c: enqueues kernels/dequantize.cl for a normalised dequantize op
 * (granule walk, or per-column rows when the parameters run along the rows). */
#include "cl_internal.h"

clq_status clq__cl_dequantize(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    if (l->n == 0) return CLQ_SUCCESS;
    cl_int bits4 = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    cl_int sgn = op->qtype == CLQ_S4 || op->qtype == CLQ_S8;
    cl_int has_zp = op->zp.buf != NULL;
    cl_mem q, y, s, z;
    cl_ulong qb, yoff, soff, zoff = 0;
    clq_status st = clq__cl_span(ctx, op->q, 1, "dequantize q", &q, &qb);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->y, 4, "dequantize y", &y, &yoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->scale, 4, "dequantize scale", &s, &soff);
    if (st == CLQ_SUCCESS && has_zp)
        st = clq__cl_span(ctx, op->zp, 4, "dequantize zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    if (!has_zp) z = s; /* never read */
    size_t chunk = impl->tuning.quant_chunk;
    cl_kernel k;

    cl_ulong rows, rlen, pr[4];
    if (clq__cl_cols_layout(l, &rows, &rlen, pr)) {
        st = clq__cl_kernel(ctx, "dequantize", "dequantize_cols", &k);
        if (st != CLQ_SUCCESS) return st;
        clq_cl_arg a[] = {CLQ_ARG(q),    CLQ_ARG(qb),    CLQ_ARG(bits4), CLQ_ARG(sgn),
                          CLQ_ARG(y),    CLQ_ARG(yoff),  CLQ_ARG(s),     CLQ_ARG(soff),
                          CLQ_ARG(z),    CLQ_ARG(zoff),  CLQ_ARG(has_zp), CLQ_ARG(rows),
                          CLQ_ARG(rlen), CLQ_ARG(pr[0]), CLQ_ARG(pr[1]), CLQ_ARG(pr[2]),
                          CLQ_ARG(pr[3])};
        size_t g[2] = {clq__cl_div_up(rlen, chunk), rows};
        return clq__cl_run(ctx, pass, k, "dequantize_cols", a, (int)(sizeof a / sizeof a[0]), 2, g);
    }
    clq_cl_walk w;
    clq__cl_walk_init(l, chunk, &w);
    st = clq__cl_kernel(ctx, "dequantize", "dequantize_gran", &k);
    if (st != CLQ_SUCCESS) return st;
    clq_cl_arg a[] = {CLQ_ARG(q),       CLQ_ARG(qb),       CLQ_ARG(bits4),   CLQ_ARG(sgn),
                      CLQ_ARG(y),       CLQ_ARG(yoff),     CLQ_ARG(s),       CLQ_ARG(soff),
                      CLQ_ARG(z),       CLQ_ARG(zoff),     CLQ_ARG(has_zp),  CLQ_ARG(w.mode),
                      CLQ_ARG(w.ngran), CLQ_ARG(w.gpi),    CLQ_ARG(w.n),     CLQ_ARG(w.outer),
                      CLQ_ARG(w.axis_len), CLQ_ARG(w.inner), CLQ_ARG(w.nblocks), CLQ_ARG(w.block)};
    size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
    return clq__cl_run(ctx, pass, k, "dequantize_gran", a, (int)(sizeof a / sizeof a[0]), 2, g);
}
