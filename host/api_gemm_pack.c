/* api_gemm_pack.c: clq_weights_pack (every weight format: 8- and 4-bit, per tensor /
 * channel / group along K) and the packed weights' life cycle, the int32 bound on K
 * (clq_gemm_max_k), TFLite's clq_quantize_multiplier, and the packing steps
 * clq_weights_import shares (api_gemm.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"
#include "api_plan.h"

/* max over the values v of type t of |v - zp|. */
unsigned clq__gemm_dev(clq_dtype t, int32_t zp) {
    int qmin, qmax;
    clq__qrange(t, 0, &qmin, &qmax);
    int64_t lo = (int64_t)zp - qmin, hi = (int64_t)qmax - zp;
    if (lo < 0) lo = -lo;
    if (hi < 0) hi = -hi;
    return (unsigned)(lo > hi ? lo : hi);
}

/* Shift from stored to signed-domain values (backend.h). */
int clq__signed_shift(clq_dtype t) { return t == CLQ_U8 ? 128 : t == CLQ_U4 ? 8 : 0; }

size_t clq_gemm_max_k(clq_dtype atype, int32_t za, const clq_packed_weights *w) {
    if (!w || (atype != CLQ_S8 && atype != CLQ_U8)) return 0;
    uint64_t prod = (uint64_t)clq__gemm_dev(atype, za) * w->max_dev;
    return prod ? (size_t)(INT32_MAX / prod) : SIZE_MAX;
}

size_t clq_weights_n(const clq_packed_weights *w) { return w ? w->n : 0; }
size_t clq_weights_k(const clq_packed_weights *w) { return w ? w->k : 0; }
clq_dtype clq_weights_dtype(const clq_packed_weights *w) { return w ? w->fmt.btype : (clq_dtype)0; }
size_t clq_weights_group_size(const clq_packed_weights *w) {
    return w && w->fmt.gran == CLQ_PER_BLOCK ? w->fmt.group : 0;
}

size_t clq__weights_bytes(const clq_packed_weights *w) {
    const clq_buffer *bufs[] = {w->data, w->colsum, w->zb, w->sb};
    size_t total = w->impl_bytes;
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) total += clq_buffer_size(bufs[i]);
    return total;
}

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

clq_status clq__weights_backend_check(clq_context *ctx) {
    if (!ctx->ops->gemm_pack || !ctx->ops->gemm)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no int8 GEMM",
                          ctx->ops->name);
    return CLQ_SUCCESS;
}

clq_status clq__weights_new(clq_context *ctx, const clq_wformat *fmt, size_t n, size_t k,
                            clq_packed_weights **out) {
    if (n > (size_t)PTRDIFF_MAX / 4) /* its int32 column sums could not be addressed */
        return clq__error(ctx, CLQ_ERROR_OVERFLOW, "b: N = %zu output channels is too many", n);
    clq_packed_weights *w = calloc(1, sizeof *w);
    if (!w) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory packing weights");
    w->ctx = ctx;
    w->fmt = *fmt;
    w->n = n;
    w->k = k;
    *out = w;
    return CLQ_SUCCESS;
}

clq_status clq__weights_set_qparams(clq_context *ctx, clq_packed_weights *w, int32_t *z,
                                    const float *s, size_t count) {
    size_t alloc = count ? count : 1;
    w->zb_all_zero = 1;
    w->max_dev = 0;
    int shift = clq__signed_shift(w->fmt.btype);
    for (size_t i = 0; i < count; i++) {
        if (s && s[i] > w->sb_max) w->sb_max = s[i];
        unsigned dev = clq__gemm_dev(w->fmt.btype, z[i]);
        if (dev > w->max_dev) w->max_dev = dev;
        z[i] -= shift;
        if (z[i] != 0) w->zb_all_zero = 0;
    }
    w->zb_per_channel = w->sb_per_channel = count > 1 || w->fmt.gran != CLQ_PER_TENSOR;
    clq_status st = clq_buffer_create(ctx, alloc * 4, &w->zb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(w->zb, 0, alloc * 4, z);
    if (st == CLQ_SUCCESS && s) st = clq_buffer_create(ctx, alloc * 4, &w->sb);
    if (st == CLQ_SUCCESS && s) st = clq_buffer_write(w->sb, 0, alloc * 4, s);
    return st;
}

clq_status clq__weights_pack_data(clq_context *ctx, clq_packed_weights *w, clq_span b,
                                  clq_status st) {
    size_t ncs = w->n * w->fmt.ngroups;
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, (ncs ? ncs : 1) * 4, &w->colsum);
    clq_pack_op op = {w->fmt, w->n, w->k, b};
    if (st == CLQ_SUCCESS) st = ctx->ops->gemm_pack(ctx, &op, w);
    /* docs/API.md lets the caller's weights go once this returns: wait for the kernels
     * that read b (those that made it too, also after a failure). */
    clq_status fin = ctx->ops->finish(ctx);
    return st != CLQ_SUCCESS ? st : fin;
}

/* The qparams of b: per tensor, per axis on the N axis or per block along K; fills
 * fmt's granularity and groups and returns the count of (scale, zero point) pairs. */
static clq_status check_b_qparams(clq_context *ctx, const clq_tensor *b, const clq_qparams *qp,
                                  int n_axis, clq_wformat *fmt, size_t *count) {
    clq_layout lay;
    /* A weight group longer than K is one partial group (ONNX Runtime's MatMulNBits
     * takes any block_size, and clq_wformat.group may exceed K): the layout check is
     * the one of a block of K. */
    const clq_qparams *qc = qp;
    clq_qparams q1;
    size_t kk = b->shape[1 - n_axis];
    if (qp && qp->struct_size >= sizeof *qp && qp->granularity == CLQ_PER_BLOCK &&
        (qp->axis < 0 ? qp->axis + 2 : qp->axis) == 1 - n_axis && kk > 0 && qp->block_size > kk) {
        q1 = *qp;
        q1.block_size = kk;
        qc = &q1;
    }
    clq_status st = clq__check_qparams_desc(ctx, qc, 2, b->shape, &lay);
    if (st != CLQ_SUCCESS) return st;
    if (qp->qtype != b->dtype)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "qp->qtype = %s but b->dtype = %s",
                          clq_dtype_name(qp->qtype), clq_dtype_name(b->dtype));
    int axis = qp->axis < 0 ? qp->axis + 2 : qp->axis, k_axis = 1 - n_axis;
    size_t n = b->shape[n_axis], k = b->shape[k_axis];
    fmt->gran = qp->granularity;
    fmt->group = k;
    fmt->ngroups = 1;
    *count = 1;
    if (qp->granularity == CLQ_PER_AXIS) {
        if (axis != n_axis)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "qp->axis = %d: per-channel weights are quantized along N (axis %d%s)",
                              qp->axis, n_axis, n_axis ? " with CLQ_WEIGHTS_TRANSPOSED" : "");
        *count = n;
    } else if (qp->granularity == CLQ_PER_BLOCK) {
        if (axis != k_axis)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "qp->axis = %d: group-quantized weights have their groups along K "
                              "(axis %d%s)", qp->axis, k_axis,
                              n_axis ? " with CLQ_WEIGHTS_TRANSPOSED" : "");
        if (qp->block_size % CLQ_GEMM_GROUP_ALIGN != 0)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "qp->block_size = %zu: a weight group is a multiple of %d along K",
                              qp->block_size, CLQ_GEMM_GROUP_ALIGN);
        if (!qp->scale)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "qp->scale is NULL: group-quantized weights need their scales");
        fmt->group = qp->block_size;
        fmt->ngroups = lay.nblocks;
        if (fmt->ngroups && n > SIZE_MAX / 8 / fmt->ngroups)
            return clq__error(ctx, CLQ_ERROR_OVERFLOW, "b: N = %zu x %zu groups is too many", n,
                              fmt->ngroups);
        *count = n * fmt->ngroups;
    }
    return CLQ_SUCCESS;
}

/* Reads, checks and re-stores b's zero points (signed domain) and scales in w, per
 * group as [n][ngroups] (transposed per-block params come as [ngroups][n]). */
static clq_status copy_b_qparams(clq_context *ctx, const clq_qparams *qp, size_t count,
                                 int transposed, clq_packed_weights *w) {
    int qmin, qmax;
    clq__qrange(w->fmt.btype, 0, &qmin, &qmax);
    /* the arrays are checked before any allocation sized by count */
    clq_span zspan = {NULL, 0}, sspan = {NULL, 0};
    clq_status st = CLQ_SUCCESS;
    if (qp->zero_point)
        st = clq__check_array(ctx, qp->zero_point, "qp->zero_point", qp->zero_point_offset, count,
                              4, &zspan);
    if (st == CLQ_SUCCESS && qp->scale)
        st = clq__check_array(ctx, qp->scale, "qp->scale", qp->scale_offset, count, 4, &sspan);
    if (st != CLQ_SUCCESS) return st;
    size_t alloc = count ? count : 1;
    int32_t *z = calloc(alloc, sizeof *z), *zt = NULL;
    float *s = qp->scale ? malloc(alloc * sizeof *s) : NULL, *stt = NULL;
    if (!z || (qp->scale && !s)) {
        st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory packing weights");
        goto done;
    }
    if (zspan.buf && count) st = clq_buffer_read(zspan.buf, zspan.offset, count * 4, z);
    if (st == CLQ_SUCCESS && sspan.buf && count)
        st = clq_buffer_read(sspan.buf, sspan.offset, count * 4, s);
    if (st != CLQ_SUCCESS) goto done;
    for (size_t i = 0; i < count; i++) {
        size_t j = i; /* index in the caller's array, for the message */
        if (transposed && w->fmt.gran == CLQ_PER_BLOCK)
            j = (i % w->fmt.ngroups) * w->n + i / w->fmt.ngroups;
        if (z[j] < qmin || z[j] > qmax) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "qp->zero_point[%zu] = %d is outside [%d, %d] of %s", j, (int)z[j],
                            qmin, qmax, clq_dtype_name(w->fmt.btype));
            goto done;
        }
        if (s && !(isfinite(s[j]) && s[j] > 0.0f)) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "qp->scale[%zu] = %g: a scale must be finite and > 0", j, (double)s[j]);
            goto done;
        }
    }
    if (transposed && w->fmt.gran == CLQ_PER_BLOCK && count > 1) { /* [G][N] -> [N][G] */
        zt = malloc(count * sizeof *zt);
        stt = s ? malloc(count * sizeof *stt) : NULL;
        if (!zt || (s && !stt)) {
            st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory packing weights");
            goto done;
        }
        for (size_t i = 0; i < count; i++) {
            size_t j = (i % w->fmt.ngroups) * w->n + i / w->fmt.ngroups;
            zt[i] = z[j];
            if (s) stt[i] = s[j];
        }
        memcpy(z, zt, count * sizeof *z);
        if (s) memcpy(s, stt, count * sizeof *s);
    }
    st = clq__weights_set_qparams(ctx, w, z, s, count);
done:
    free(z);
    free(s);
    free(zt);
    free(stt);
    return st;
}

clq_status clq__weights_pack(clq_context *ctx, const clq_tensor *b, const clq_qparams *qp,
                             unsigned flags, clq_packed_weights **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    if (flags & ~CLQ_WEIGHTS_TRANSPOSED)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "flags = 0x%x has unknown bits", flags);
    clq_status st = clq__weights_backend_check(ctx);
    if (st != CLQ_SUCCESS) return st;
    clq_tensor_info bi;
    st = clq__check_tensor(ctx, b, "b", CLQ_INPUT, &bi);
    if (st != CLQ_SUCCESS) return st;
    if (!clq__dtype_is_quant(b->dtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "b->dtype = %s: weights are s8, u8, s4 or u4", clq_dtype_name(b->dtype));
    if (b->ndim != 2)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "b->ndim = %d: weights are 2-D ([N, K] or [K, N])",
                          b->ndim);
    int tr = (flags & CLQ_WEIGHTS_TRANSPOSED) != 0;
    if (tr && clq__dtype_bits(b->dtype) == 4)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "b->dtype = %s with CLQ_WEIGHTS_TRANSPOSED: 4-bit weights are [N, K]",
                          clq_dtype_name(b->dtype));
    clq_wformat fmt = {b->dtype, CLQ_PER_TENSOR, 0, 1};
    size_t count;
    st = check_b_qparams(ctx, b, qp, tr ? 1 : 0, &fmt, &count);
    if (st != CLQ_SUCCESS) return st;

    clq_packed_weights *w = NULL;
    st = clq__weights_new(ctx, &fmt, b->shape[tr ? 1 : 0], b->shape[tr ? 0 : 1], &w);
    if (st != CLQ_SUCCESS) return st;
    st = copy_b_qparams(ctx, qp, count, tr, w);
    if (st != CLQ_SUCCESS) goto fail;
    /* The backend packs from a contiguous [N][K] copy: transposing is a view. */
    clq_tensor nk = *b;
    if (tr) {
        nk.shape[0] = b->shape[1], nk.shape[1] = b->shape[0];
        nk.strides[0] = b->strides[1], nk.strides[1] = b->strides[0];
    }
    clq_tensor_info nki;
    clq_span bs = {NULL, 0};
    st = clq__check_tensor(ctx, &nk, "b", CLQ_INPUT, &nki);
    if (st == CLQ_SUCCESS) st = clq__gather(ctx, &nk, &nki, &bs, CLQ_PASS_RUN);
    st = clq__weights_pack_data(ctx, w, bs, st);
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
    return CLQ_LOCKED(ctx, clq__weights_pack(ctx, b, qp, flags, out));
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
