/* cl_minmax.c: enqueues kernels/minmax.cl: one pass when each granule fits one
 * work item's chunk, else partials in scratch buffers folded by minmax_finish. */
#include "cl_internal.h"

/* Partials [granule][part] in scratch, for ngran granules of nparts parts. */
static clq_status partials(clq_context *ctx, size_t ngran, size_t nparts, cl_mem *pmin,
                           cl_mem *pmax) {
    size_t bytes = ngran * nparts * sizeof(float);
    clq_buffer *b0, *b1;
    clq_status st = clq__scratch(ctx, CLQ_SCRATCH_PART_MIN, bytes, &b0);
    if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_PART_MAX, bytes, &b1);
    if (st != CLQ_SUCCESS) return st;
    *pmin = (cl_mem)b0->handle;
    *pmax = (cl_mem)b1->handle;
    return CLQ_SUCCESS;
}

static clq_status finish(clq_context *ctx, clq_pass pass, cl_mem pmin, cl_mem pmax,
                         size_t nparts, cl_mem mn, cl_ulong mnoff, cl_mem mx, cl_ulong mxoff,
                         size_t ngran) {
    clq_kargs_minmax_finish b = {.pmin = pmin, .pmax = pmax, .nparts = nparts, .omin = mn,
                                 .minoff = mnoff, .omax = mx, .maxoff = mxoff, .ngran = ngran};
    size_t g1[1] = {ngran};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_minmax_finish, minmax_finish, &b, 1, g1, NULL);
}

/* Pairs along the rows (clq__cl_cols_layout): strips of 4 vectors of columns, over
 * groups of rows that share their pairs (all rows per axis; one block's per block). */
static clq_status minmax_cols(clq_context *ctx, const clq_minmax_op *op, clq_pass pass, cl_mem x,
                              cl_ulong xoff, cl_mem mn, cl_ulong mnoff, cl_mem mx,
                              cl_ulong mxoff) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_layout *l = &op->lay;
    size_t strip = 4 * (size_t)impl->tuning.vec; /* minmax.cl's MMC_NV * CLQ_VEC */
    int per_axis = l->gran == CLQ_PER_AXIS;
    size_t rlen = per_axis ? l->axis_len : l->inner;
    size_t gal = per_axis ? l->outer : l->axis_len, gblk = per_axis ? gal : l->block;
    size_t gnb = per_axis ? 1 : l->nblocks, ngroups = per_axis ? 1 : l->outer * l->nblocks;
    size_t maxrows = gblk < gal ? gblk : gal;
    size_t grows = impl->tuning.minmax_chunk / strip;
    if (grows == 0) grows = 1;
    size_t nparts = maxrows > grows ? clq__cl_div_up(maxrows, grows) : 1;
    clq_kargs_minmax_cols a = {
        .x = x, .xoff = xoff, .xt = op->xtype, .omin = mn, .minoff = mnoff, .omax = mx,
        .maxoff = mxoff, .final = nparts == 1, .nparts = nparts, .rlen = rlen,
        .ngroups = ngroups, .gal = gal, .gnb = gnb, .gblk = gblk, .grows = grows};
    if (nparts > 1) {
        clq_status st = partials(ctx, l->nparams, nparts, &a.omin, &a.omax);
        if (st != CLQ_SUCCESS) return st;
        a.minoff = a.maxoff = 0;
    }
    size_t g[2] = {clq__cl_div_up(rlen, strip), ngroups * nparts};
    clq_status st = CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_minmax_cols, minmax_cols, &a, 2, g, NULL);
    if (st != CLQ_SUCCESS || nparts == 1) return st;
    return finish(ctx, pass, a.omin, a.omax, nparts, mn, mnoff, mx, mxoff, l->nparams);
}

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
    cl_ulong rows, rlen, pr[4];
    if (clq__cl_cols_layout(l, &rows, &rlen, pr))
        return minmax_cols(ctx, op, pass, x, xoff, mn, mnoff, mx, mxoff);
    clq_cl_walk w;
    clq__cl_walk_init(l, impl->tuning.minmax_chunk, &w);
    int final = w.nparts == 1;
    clq_kargs_minmax_gran a = {
        .x = x, .xoff = xoff, .xt = op->xtype, .omin = mn, .minoff = mnoff, .omax = mx,
        .maxoff = mxoff, .final = final, .nparts = w.nparts, .wmode = w.mode,
        .ngran = w.ngran, .gpi = w.gpi, .n = w.n, .outer = w.outer, .axis_len = w.axis_len,
        .inner = w.inner, .nblocks = w.nblocks, .block = w.block};
    if (!final) {
        st = partials(ctx, w.ngran, w.nparts, &a.omin, &a.omax);
        if (st != CLQ_SUCCESS) return st;
        a.minoff = a.maxoff = 0;
    }
    size_t g[2] = {w.nparts, clq__cl_div_up(w.ngran, w.gpi)};
    st = CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_minmax_gran, minmax_gran, &a, 2, g, NULL);
    if (st != CLQ_SUCCESS || final) return st;
    return finish(ctx, pass, a.omin, a.omax, w.nparts, mn, mnoff, mx, mxoff, w.ngran);
}
