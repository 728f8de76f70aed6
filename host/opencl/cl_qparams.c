/* cl_qparams.c: enqueues kernels/qparams.cl (scale and zero point from min/max). */
#include "cl_internal.h"

clq_status clq__cl_qparams(clq_context *ctx, const clq_qparams_op *op, clq_pass pass) {
    if (op->count == 0) return CLQ_SUCCESS;
    cl_mem mn, mx, s, z;
    cl_ulong mnoff, mxoff, soff, zoff = 0;
    int has_zp = op->zp.buf != NULL;
    clq_status st = clq__cl_span(ctx, op->min, 4, "qparams min", &mn, &mnoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->max, 4, "qparams max", &mx, &mxoff);
    if (st == CLQ_SUCCESS) st = clq__cl_span(ctx, op->scale, 4, "qparams scale", &s, &soff);
    if (st == CLQ_SUCCESS && has_zp)
        st = clq__cl_span(ctx, op->zp, 4, "qparams zero point", &z, &zoff);
    if (st != CLQ_SUCCESS) return st;
    if (!has_zp) z = s; /* never written */
    clq_kargs_qparams a = {.imin = mn, .minoff = mnoff, .imax = mx, .maxoff = mxoff,
                           .count = op->count, .symmetric = op->scheme == CLQ_SYMMETRIC,
                           .pytorch = op->pytorch, .qmin = op->qmin, .qmax = op->qmax,
                           .sym_zp = op->sym_zp, .oscale = s,
                           .soff = soff, .ozp = z, .zoff = zoff, .has_zp = has_zp};
    size_t g[1] = {op->count};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_qparams, qparams, &a, 1, g, NULL);
}
