/* cl_copy.c: enqueues kernels/copy.cl for copy_strided (up to 8 dimensions,
 * element strides, 1/2/4-byte elements). */
#include "cl_internal.h"

clq_status clq__cl_copy_strided(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst,
                                 clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    int esize = clq__dtype_bits(src->dtype) / 8;
    if (esize != 1 && esize != 2 && esize != 4)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "copy_strided: element size %d bytes", esize);
    int ndim = src->ndim > 0 ? src->ndim : 1;
    clq_kargs_copy a = {.src = (cl_mem)src->buffer->handle,
                        .soff = (cl_long)src->offset,
                        .dst = (cl_mem)dst->buffer->handle,
                        .doff = (cl_long)dst->offset,
                        .ndim = ndim,
                        .nouter = 1};
    for (int i = 0; i < 8; i++) {
        int real = i < src->ndim;
        a.shape.s[i] = real ? src->shape[i] : 1;
        a.sstr.s[i] = real ? src->strides[i] : 0;
        a.dstr.s[i] = real ? dst->strides[i] : 0;
    }
    for (int i = 0; i < ndim - 1; i++) a.nouter *= a.shape.s[i];
    cl_ulong last = a.shape.s[ndim - 1];
    if (a.nouter == 0 || last == 0) return CLQ_SUCCESS;
    int id = esize == 1 ? CLQ_KERNEL_copy_strided1
             : esize == 2 ? CLQ_KERNEL_copy_strided2
                          : CLQ_KERNEL_copy_strided4;
    size_t g[2] = {clq__cl_div_up(last, impl->tuning.copy_chunk), a.nouter};
    return CLQ_LAUNCH(ctx, pass, id, copy, &a, 2, g, NULL);
}
