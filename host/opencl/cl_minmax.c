/* cl_minmax.c: enqueues kernels/minmax.cl: one pass when each granule fits one
 * work item's chunk, else partials in scratch buffers folded by minmax_finish. */
#include "cl_internal.h"

clq_status clq__cl_minmax(clq_context *ctx, const clq_minmax_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    if (l->nparams == 0) return CLQ_SUCCESS;
    cl_int xt = op->xtype;
    cl_mem x, mn, mx;
    cl_ulong xoff, mnoff, mxoff;
    clq_status st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "minmax x", &x, &xoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->min, 4, "minmax min", &mn, &mnoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->max, 4, "minmax max", &mx, &mxoff);
    if (st != CLQ_SUCCESS) return st;
    clq_cl_walk w;
    clq__cl_walk_init(l, impl->tuning.minmax_chunk, &w);
    cl_kernel k;
    st = clq__cl_kernel(ctx, "minmax", "minmax_gran", &k);
    if (st != CLQ_SUCCESS) return st;
    cl_int final = w.nparts == 1;
    cl_mem pmn = mn, pmx = mx;
    cl_ulong pmnoff = mnoff, pmxoff = mxoff;
    if (!final) {
        size_t bytes = (size_t)w.ngran * w.nparts * sizeof(float);
        clq_buffer *b0, *b1;
        st = clq__scratch(ctx, CLQ_SCRATCH_PART_MIN, bytes, &b0);
        if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_PART_MAX, bytes, &b1);
        if (st != CLQ_SUCCESS) return st;
        pmn = (cl_mem)b0->handle;
        pmx = (cl_mem)b1->handle;
        pmnoff = pmxoff = 0;
    }
    clq_cl_arg a[] = {CLQ_ARG(x),        CLQ_ARG(xoff),     CLQ_ARG(xt),      CLQ_ARG(pmn),
                      CLQ_ARG(pmnoff),   CLQ_ARG(pmx),      CLQ_ARG(pmxoff),  CLQ_ARG(final),
                      CLQ_ARG(w.nparts), CLQ_ARG(w.mode),   CLQ_ARG(w.ngran), CLQ_ARG(w.gpi),
                      CLQ_ARG(w.n),      CLQ_ARG(w.outer),  CLQ_ARG(w.axis_len), CLQ_ARG(w.inner),
                      CLQ_ARG(w.nblocks), CLQ_ARG(w.block)};
    size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
    st = clq__cl_run(ctx, pass, k, "minmax_gran", a, (int)(sizeof a / sizeof a[0]), 2, g);
    if (st != CLQ_SUCCESS || final) return st;

    st = clq__cl_kernel(ctx, "minmax", "minmax_finish", &k);
    if (st != CLQ_SUCCESS) return st;
    clq_cl_arg b[] = {CLQ_ARG(pmn), CLQ_ARG(pmx),   CLQ_ARG(w.nparts), CLQ_ARG(mn),
                      CLQ_ARG(mnoff), CLQ_ARG(mx), CLQ_ARG(mxoff),    CLQ_ARG(w.ngran)};
    size_t g1[1] = {w.ngran};
    return clq__cl_run(ctx, pass, k, "minmax_finish", b, (int)(sizeof b / sizeof b[0]), 1, g1);
}
