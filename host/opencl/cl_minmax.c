/* cl_minmax.c: enqueues kernels/minmax.cl: one pass when each granule fits one
 * work item's chunk, else partials in scratch buffers folded by minmax_finish. */
#include "cl_internal.h"

clq_status clq__cl_minmax(clq_context *ctx, const clq_minmax_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    if (l->nparams == 0) return CLQ_SUCCESS;
    cl_mem x, mn, mx;
    cl_ulong xoff, mnoff, mxoff;
    clq_status st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "minmax x", &x, &xoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->min, 4, "minmax min", &mn, &mnoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->max, 4, "minmax max", &mx, &mxoff);
    if (st != CLQ_SUCCESS) return st;
    clq_cl_walk w;
    clq__cl_walk_init(l, impl->tuning.minmax_chunk, &w);
    int final = w.nparts == 1;
    clq_kargs_minmax_gran a = {
        .x = x, .xoff = xoff, .xt = op->xtype, .omin = mn, .minoff = mnoff, .omax = mx,
        .maxoff = mxoff, .final = final, .nparts = w.nparts, .wmode = w.mode,
        .ngran = w.ngran, .gpi = w.gpi, .n = w.n, .outer = w.outer, .axis_len = w.axis_len,
        .inner = w.inner, .nblocks = w.nblocks, .block = w.block};
    if (!final) { /* partials in scratch, [granule][part] */
        size_t bytes = (size_t)w.ngran * w.nparts * sizeof(float);
        clq_buffer *b0, *b1;
        st = clq__scratch(ctx, CLQ_SCRATCH_PART_MIN, bytes, &b0);
        if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_PART_MAX, bytes, &b1);
        if (st != CLQ_SUCCESS) return st;
        a.omin = (cl_mem)b0->handle;
        a.omax = (cl_mem)b1->handle;
        a.minoff = a.maxoff = 0;
    }
    size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
    st = CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_minmax_gran, minmax_gran, &a, 2, g, NULL);
    if (st != CLQ_SUCCESS || final) return st;

    clq_kargs_minmax_finish b = {.pmin = a.omin, .pmax = a.omax, .nparts = w.nparts,
                                 .omin = mn, .minoff = mnoff, .omax = mx, .maxoff = mxoff,
                                 .ngran = w.ngran};
    size_t g1[1] = {w.ngran};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_minmax_finish, minmax_finish, &b, 1, g1, NULL);
}
