/* api_gemm_pack.c: clq_weights_pack and the packed weights' life cycle, the int32
 * bound on K (clq_gemm_max_k) and TFLite's clq_quantize_multiplier. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"

/* max over the values v of type t of |v - zp|. */
unsigned clq__gemm_dev(clq_dtype t, int32_t zp) {
    int qmin, qmax;
    clq__qrange(t, 0, &qmin, &qmax);
    int64_t lo = (int64_t)zp - qmin, hi = (int64_t)qmax - zp;
    if (lo < 0) lo = -lo;
    if (hi < 0) hi = -hi;
    return (unsigned)(lo > hi ? lo : hi);
}

size_t clq_gemm_max_k(clq_dtype atype, int32_t za, const clq_packed_weights *w) {
    if (!w || (atype != CLQ_S8 && atype != CLQ_U8)) return 0;
    uint64_t prod = (uint64_t)clq__gemm_dev(atype, za) * w->max_dev;
    return prod ? (size_t)(INT32_MAX / prod) : SIZE_MAX;
}

size_t clq_weights_n(const clq_packed_weights *w) { return w ? w->n : 0; }
size_t clq_weights_k(const clq_packed_weights *w) { return w ? w->k : 0; }

void clq_weights_destroy(clq_packed_weights *w) {
    if (!w) return;
    clq_context *ctx = w->ctx;
    clq__lock(ctx);
    if (ctx->ops->gemm_unpack) ctx->ops->gemm_unpack(w);
    clq_buffer_destroy(w->data);
    clq_buffer_destroy(w->colsum);
    clq_buffer_destroy(w->zb);
    clq_buffer_destroy(w->sb);
    free(w);
    clq__unlock(ctx, CLQ_SUCCESS);
}

/* The qparams of b: per tensor or per axis on the N axis; returns the count. */
static clq_status check_b_qparams(clq_context *ctx, const clq_tensor *b, const clq_qparams *qp,
                                  int n_axis, size_t *count) {
    clq_layout lay;
    clq_status st = clq__check_qparams_desc(ctx, qp, 2, b->shape, &lay);
    if (st != CLQ_SUCCESS) return st;
    if (qp->qtype != b->dtype)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "qp->qtype = %s but b->dtype = %s",
                          clq_dtype_name(qp->qtype), clq_dtype_name(b->dtype));
    if (qp->granularity == CLQ_PER_BLOCK)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "qp->granularity = CLQ_PER_BLOCK: 8-bit weights are per tensor or per "
                          "output channel");
    int axis = qp->axis < 0 ? qp->axis + 2 : qp->axis;
    if (qp->granularity == CLQ_PER_AXIS && axis != n_axis)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "qp->axis = %d: per-channel weights are quantized along N (axis %d%s)",
                          qp->axis, n_axis, n_axis ? " with CLQ_WEIGHTS_TRANSPOSED" : "");
    *count = qp->granularity == CLQ_PER_AXIS ? b->shape[n_axis] : 1;
    return CLQ_SUCCESS;
}

/* Reads, checks and re-stores b's zero points (s8 domain) and scales in w. */
static clq_status copy_b_qparams(clq_context *ctx, const clq_qparams *qp, size_t count,
                                 clq_packed_weights *w) {
    int qmin, qmax;
    clq__qrange(w->btype, 0, &qmin, &qmax);
    /* the arrays are checked before any allocation sized by count */
    clq_span zspan = {NULL, 0}, sspan = {NULL, 0};
    clq_status st = CLQ_SUCCESS;
    if (qp->zero_point)
        st = clq__check_array(ctx, qp->zero_point, "qp->zero_point", qp->zero_point_offset, count,
                              4, &zspan);
    if (st == CLQ_SUCCESS && qp->scale)
        st = clq__check_array(ctx, qp->scale, "qp->scale", qp->scale_offset, count, 4, &sspan);
    if (st != CLQ_SUCCESS) return st;
    int32_t *z = calloc(count, sizeof *z);
    float *s = qp->scale ? malloc(count * sizeof *s) : NULL;
    if (!z || (qp->scale && !s)) {
        st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory packing weights");
        goto done;
    }
    if (zspan.buf) st = clq_buffer_read(zspan.buf, zspan.offset, count * 4, z);
    if (st == CLQ_SUCCESS && sspan.buf) st = clq_buffer_read(sspan.buf, sspan.offset, count * 4, s);
    if (st != CLQ_SUCCESS) goto done;
    w->zb_all_zero = 1;
    w->max_dev = 0;
    int shift = w->btype == CLQ_U8 ? 128 : 0;
    for (size_t i = 0; i < count; i++) {
        if (z[i] < qmin || z[i] > qmax) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "qp->zero_point[%zu] = %d is outside [%d, %d] of %s", i, (int)z[i],
                            qmin, qmax, clq_dtype_name(w->btype));
            goto done;
        }
        if (s && !(isfinite(s[i]) && s[i] > 0.0f)) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "qp->scale[%zu] = %g: a scale must be finite and > 0", i, (double)s[i]);
            goto done;
        }
        if (s && s[i] > w->sb_max) w->sb_max = s[i];
        unsigned dev = clq__gemm_dev(w->btype, z[i]);
        if (dev > w->max_dev) w->max_dev = dev;
        z[i] -= shift;
        if (z[i] != 0) w->zb_all_zero = 0;
    }
    w->zb_per_channel = w->sb_per_channel = count > 1 || qp->granularity == CLQ_PER_AXIS;
    st = clq_buffer_create(ctx, count * 4, &w->zb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(w->zb, 0, count * 4, z);
    if (st == CLQ_SUCCESS && s) st = clq_buffer_create(ctx, count * 4, &w->sb);
    if (st == CLQ_SUCCESS && s) st = clq_buffer_write(w->sb, 0, count * 4, s);
done:
    free(z);
    free(s);
    return st;
}

static clq_status weights_pack(clq_context *ctx, const clq_tensor *b, const clq_qparams *qp,
                               unsigned flags, clq_packed_weights **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    if (flags & ~CLQ_WEIGHTS_TRANSPOSED)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "flags = 0x%x has unknown bits", flags);
    if (!ctx->ops->gemm_pack || !ctx->ops->gemm)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no int8 GEMM",
                          ctx->ops->name);
    clq_tensor_info bi;
    clq_status st = clq__check_tensor(ctx, b, "b", CLQ_INPUT, &bi);
    if (st != CLQ_SUCCESS) return st;
    if (b->dtype != CLQ_S8 && b->dtype != CLQ_U8)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "b->dtype = %s: weights are s8 or u8",
                          clq_dtype_name(b->dtype));
    if (b->ndim != 2)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "b->ndim = %d: weights are 2-D ([N, K] or [K, N])",
                          b->ndim);
    int tr = (flags & CLQ_WEIGHTS_TRANSPOSED) != 0;
    size_t count;
    st = check_b_qparams(ctx, b, qp, tr ? 1 : 0, &count);
    if (st != CLQ_SUCCESS) return st;

    size_t n = b->shape[tr ? 1 : 0];
    if (n > (size_t)PTRDIFF_MAX / 4) /* its int32 column sums could not be addressed */
        return clq__error(ctx, CLQ_ERROR_OVERFLOW, "b: N = %zu output channels is too many", n);
    clq_packed_weights *w = calloc(1, sizeof *w);
    if (!w) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory packing weights");
    w->ctx = ctx;
    w->btype = b->dtype;
    w->n = b->shape[tr ? 1 : 0];
    w->k = b->shape[tr ? 0 : 1];
    st = copy_b_qparams(ctx, qp, count, w);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, w->n * 4, &w->colsum);
    if (st != CLQ_SUCCESS) goto fail;
    /* The backend packs from a contiguous [N][K] copy: transposing is a view. */
    clq_tensor nk = *b;
    if (tr) {
        nk.shape[0] = b->shape[1], nk.shape[1] = b->shape[0];
        nk.strides[0] = b->strides[1], nk.strides[1] = b->strides[0];
    }
    clq_tensor_info nki;
    clq_pack_op op = {w->btype, w->n, w->k, {NULL, 0}};
    st = clq__check_tensor(ctx, &nk, "b", CLQ_INPUT, &nki);
    if (st == CLQ_SUCCESS) st = clq__gather(ctx, &nk, &nki, &op.b, CLQ_PASS_RUN);
    if (st == CLQ_SUCCESS) st = ctx->ops->gemm_pack(ctx, &op, w);
    /* docs/API.md lets the caller's weights go once this returns: wait for the kernels
     * that read b (the gather too, also after a failure). */
    clq_status fin = ctx->ops->finish(ctx);
    if (st == CLQ_SUCCESS) st = fin;
    if (st != CLQ_SUCCESS) goto fail;
    *out = w;
    return CLQ_SUCCESS;
fail:
    clq_weights_destroy(w);
    return st;
}

clq_status clq_weights_pack(clq_context *ctx, const clq_tensor *b, const clq_qparams *qp,
                            unsigned flags, clq_packed_weights **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, weights_pack(ctx, b, qp, flags, out));
}

clq_status clq_quantize_multiplier(double real, int32_t *multiplier, int *shift) {
    if (!multiplier || !shift || !isfinite(real) || real < 0.0) return CLQ_ERROR_INVALID_ARGUMENT;
    if (real == 0.0) {
        *multiplier = 0, *shift = 0;
        return CLQ_SUCCESS;
    }
    int e;
    double q = frexp(real, &e); /* real = q * 2^e, q in [0.5, 1) */
    int64_t fixed = (int64_t)round(q * 2147483648.0);
    if (fixed == (INT64_C(1) << 31)) fixed /= 2, e++;
    if (e < -31) fixed = 0, e = 0; /* every bit would be shifted out */
    if (e > CLQ_GEMM_MAX_SHIFT) return CLQ_ERROR_INVALID_ARGUMENT;
    *multiplier = (int32_t)fixed;
    *shift = e;
    return CLQ_SUCCESS;
}
