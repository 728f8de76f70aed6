/* cl_copy.c: enqueues kernels/copy.cl for copy_strided (up to 8 dimensions,
 * element strides, 1/2/4-byte elements). */
#include "cl_internal.h"

clq_status clq__cl_copy_strided(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst,
                                 clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    int esize = clq__dtype_bits(src->dtype) / 8;
    static const char *names[5] = {NULL, "copy_strided1", "copy_strided2", NULL, "copy_strided4"};
    if (esize != 1 && esize != 2 && esize != 4)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "copy_strided: element size %d bytes", esize);
    cl_int ndim = src->ndim > 0 ? src->ndim : 1;
    cl_ulong8 shape;
    cl_long8 sstr, dstr;
    for (int i = 0; i < 8; i++) {
        int real = i < src->ndim;
        shape.s[i] = real ? src->shape[i] : 1;
        sstr.s[i] = real ? src->strides[i] : 0;
        dstr.s[i] = real ? dst->strides[i] : 0;
    }
    cl_ulong nouter = 1;
    for (int i = 0; i < ndim - 1; i++) nouter *= shape.s[i];
    cl_ulong last = shape.s[ndim - 1];
    if (nouter == 0 || last == 0) return CLQ_SUCCESS;
    cl_mem sm = (cl_mem)src->buffer->handle, dm = (cl_mem)dst->buffer->handle;
    cl_long soff = (cl_long)src->offset, doff = (cl_long)dst->offset;
    cl_kernel k;
    clq_status st = clq__cl_kernel(ctx, "copy", names[esize], &k);
    if (st != CLQ_SUCCESS) return st;
    clq_cl_arg a[] = {CLQ_ARG(sm),    CLQ_ARG(soff), CLQ_ARG(dm),   CLQ_ARG(doff),  CLQ_ARG(ndim),
                      CLQ_ARG(shape), CLQ_ARG(sstr), CLQ_ARG(dstr), CLQ_ARG(nouter)};
    size_t g[2] = {clq__cl_div_up(last, impl->tuning.copy_chunk), nouter};
    return clq__cl_run(ctx, pass, k, names[esize], a, (int)(sizeof a / sizeof a[0]), 2, g);
}
