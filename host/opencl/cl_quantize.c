/* cl_quantize.c: enqueues kernels/quantize.cl for a normalised quantize op,
 * choosing the granule walk, the per-column row walk, or the byte-wise 4-bit path. */
#include "cl_internal.h"

clq_status clq__cl_quantize(clq_context *ctx, const clq_quantize_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    if (l->n == 0) return CLQ_SUCCESS;
    cl_int xt = op->xtype, bits4 = op->qtype == CLQ_S4 || op->qtype == CLQ_U4;
    cl_int has_zp = op->zp.buf != NULL;
    cl_int mode = (op->reciprocal ? 1 : 0) | (op->rounding == CLQ_ROUND_HALF_AWAY ? 2 : 0);
    cl_float qmin = (float)op->qmin, qmax = (float)op->qmax;
    cl_mem x, q, s, z;
    cl_ulong xoff, qb, soff, zoff = 0;
    clq_status st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "quantize x", &x, &xoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->q, 1, "quantize q", &q, &qb);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->scale, 4, "quantize scale", &s, &soff);
    if (st == CLQ_SUCCESS && has_zp) st = clq__cl_span(ctx, op->zp, 4, "quantize zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    if (!has_zp) z = s; /* never read; a valid cl_mem keeps the runtime happy */
    size_t chunk = impl->tuning.quant_chunk;
    cl_kernel k;

    cl_ulong rows, rlen, pr[4];
    if (clq__cl_cols_layout(l, &rows, &rlen, pr) && (!bits4 || rlen % 2 == 0 || rows == 1)) {
        st = clq__cl_kernel(ctx, "quantize", "quantize_cols", &k);
        if (st != CLQ_SUCCESS) return st;
        clq_cl_arg a[] = {CLQ_ARG(x),    CLQ_ARG(xoff),  CLQ_ARG(xt),    CLQ_ARG(q),
                          CLQ_ARG(qb),   CLQ_ARG(bits4), CLQ_ARG(s),     CLQ_ARG(soff),
                          CLQ_ARG(z),    CLQ_ARG(zoff),  CLQ_ARG(has_zp), CLQ_ARG(rows),
                          CLQ_ARG(rlen), CLQ_ARG(pr[0]), CLQ_ARG(pr[1]), CLQ_ARG(pr[2]),
                          CLQ_ARG(pr[3]), CLQ_ARG(qmin), CLQ_ARG(qmax),  CLQ_ARG(mode)};
        size_t g[2] = {clq__cl_div_up(rlen, chunk), rows};
        return clq__cl_run(ctx, pass, k, "quantize_cols", a, (int)(sizeof a / sizeof a[0]), 2, g);
    }

    clq_cl_walk w;
    clq__cl_walk_init(l, chunk, &w);
    /* 4-bit: a work item owns whole bytes only if every run it writes starts at an
     * even element and has even length (except at the end of the tensor). */
    int whole_bytes = !bits4 || w.mode == 0 ||
                      (w.mode == 1 && (w.inner % 2 == 0 || w.ngran == 1)) ||
                      (w.mode == 2 && w.block % 2 == 0 && (w.axis_len % 2 == 0 || w.outer == 1));
    if (whole_bytes) {
        st = clq__cl_kernel(ctx, "quantize", "quantize_gran", &k);
        if (st != CLQ_SUCCESS) return st;
        clq_cl_arg a[] = {CLQ_ARG(x),          CLQ_ARG(xoff),    CLQ_ARG(xt),
                          CLQ_ARG(q),          CLQ_ARG(qb),      CLQ_ARG(bits4),
                          CLQ_ARG(s),          CLQ_ARG(soff),    CLQ_ARG(z),
                          CLQ_ARG(zoff),       CLQ_ARG(has_zp),  CLQ_ARG(w.mode),
                          CLQ_ARG(w.ngran),    CLQ_ARG(w.gpi),   CLQ_ARG(w.n),
                          CLQ_ARG(w.outer),    CLQ_ARG(w.axis_len), CLQ_ARG(w.inner),
                          CLQ_ARG(w.nblocks),  CLQ_ARG(w.block), CLQ_ARG(qmin),
                          CLQ_ARG(qmax),       CLQ_ARG(mode)};
        size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
        return clq__cl_run(ctx, pass, k, "quantize_gran", a, (int)(sizeof a / sizeof a[0]), 2, g);
    }

    st = clq__cl_kernel(ctx, "quantize", "quantize_any4", &k);
    if (st != CLQ_SUCCESS) return st;
    cl_int gran = l->gran;
    cl_ulong n = l->n, axis_len = l->axis_len, inner = l->inner, nblocks = l->nblocks,
             block = l->block ? l->block : 1;
    clq_cl_arg a[] = {CLQ_ARG(x),      CLQ_ARG(xoff),  CLQ_ARG(xt),       CLQ_ARG(q),
                      CLQ_ARG(qb),     CLQ_ARG(s),     CLQ_ARG(soff),     CLQ_ARG(z),
                      CLQ_ARG(zoff),   CLQ_ARG(has_zp), CLQ_ARG(gran),    CLQ_ARG(n),
                      CLQ_ARG(axis_len), CLQ_ARG(inner), CLQ_ARG(nblocks), CLQ_ARG(block),
                      CLQ_ARG(qmin),   CLQ_ARG(qmax),  CLQ_ARG(mode)};
    size_t g[1] = {clq__cl_div_up(l->n, 2)};
    return clq__cl_run(ctx, pass, k, "quantize_any4", a, (int)(sizeof a / sizeof a[0]), 1, g);
}
