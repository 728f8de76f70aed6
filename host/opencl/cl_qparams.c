/* cl_qparams.c: enqueues kernels/qparams.cl (scale and zero point from min/max). */
#include "cl_internal.h"

clq_status clq__cl_qparams(clq_context *ctx, const clq_qparams_op *op, clq_pass pass) {
    if (op->count == 0) return CLQ_SUCCESS;
    cl_mem mn, mx, s, z;
    cl_ulong mnoff, mxoff, soff, zoff = 0;
    cl_int has_zp = op->zp.buf != NULL;
    clq_status st = clq__cl_span(ctx, op->min, 4, "qparams min", &mn, &mnoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->max, 4, "qparams max", &mx, &mxoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->scale, 4, "qparams scale", &s, &soff);
    if (st == CLQ_SUCCESS && has_zp)
        st = clq__cl_span(ctx, op->zp, 4, "qparams zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    if (!has_zp) z = s; /* never written */
    cl_kernel k;
    st = clq__cl_kernel(ctx, "qparams", "qparams", &k);
    if (st != CLQ_SUCCESS) return st;
    cl_ulong count = op->count;
    cl_int sym = op->scheme == CLQ_SYMMETRIC, qmin = op->qmin, qmax = op->qmax;
    cl_int sym_zp = clq__symmetric_zero_point(op->qtype);
    clq_cl_arg a[] = {CLQ_ARG(mn),  CLQ_ARG(mnoff), CLQ_ARG(mx),     CLQ_ARG(mxoff),
                      CLQ_ARG(count), CLQ_ARG(sym), CLQ_ARG(qmin),   CLQ_ARG(qmax),
                      CLQ_ARG(sym_zp), CLQ_ARG(s),  CLQ_ARG(soff),   CLQ_ARG(z),
                      CLQ_ARG(zoff), CLQ_ARG(has_zp)};
    size_t g[1] = {op->count};
    return clq__cl_run(ctx, pass, k, "qparams", a, (int)(sizeof a / sizeof a[0]), 1, g);
}
