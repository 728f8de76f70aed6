/* cl_histogram.c: enqueues kernels/histogram.cl: the counts zeroed, then one pass of
 * work groups that each add their local counts to them. */
#include "cl_internal.h"

/* Elements per work group: a CPU device's single work item then spends its group's
 * fixed cost (zeroing and adding back nbins local counts, 2 x 2048 by default) on
 * 16 of its min/max chunks, a GPU group of 64 items on 1024 elements each. */
#define CLQ_HIST_GROUP_CHUNKS 16

clq_status clq__cl_histogram(clq_context *ctx, const clq_histogram_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    if (op->nbins == 0) return CLQ_SUCCESS;
    cl_mem c;
    cl_ulong coff;
    clq_status st = clq__cl_span(ctx, op->counts, 4, "histogram counts", &c, &coff);
    if (st != CLQ_SUCCESS) return st;
    clq_kargs_histogram_zero z = {.counts = c, .coff = coff, .nbins = op->nbins};
    size_t gz[1] = {op->nbins};
    st = CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_histogram_zero, histogram_zero, &z, 1, gz, NULL);
    if (st != CLQ_SUCCESS || op->n == 0) return st;
    cl_mem x;
    cl_ulong xoff;
    st = clq__cl_span(ctx, op->x, op->xtype == CLQ_F32 ? 4 : 2, "histogram x", &x, &xoff);
    if (st != CLQ_SUCCESS) return st;
    /* the tuning's group size (1 on CPU devices), else 64, which every GPU allows */
    size_t local = impl->tuning.local_size ? impl->tuning.local_size : 64;
    int mode = op->nbins >= CLQ_HIST_LOCAL_BINS ? CLQ_HIST_GLOBAL
               : local == 1                   ? CLQ_HIST_SERIAL
                                              : CLQ_HIST_LOCAL;
    size_t per_group = CLQ_HIST_GROUP_CHUNKS * (size_t)impl->tuning.minmax_chunk;
    clq_kargs_histogram a = {.x = x, .xoff = xoff, .xt = op->xtype, .n = op->n,
                             .absolute = op->absolute, .lo = op->lo, .inv_width = op->inv_width,
                             .nbins = (cl_uint)op->nbins, .counts = c, .coff = coff,
                             .per_group = per_group, .mode = mode};
    size_t g[1] = {clq__cl_div_up(op->n, per_group) * local}, l[1] = {local};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_histogram, histogram, &a, 1, g, l);
}
