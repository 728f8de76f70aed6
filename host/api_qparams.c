/* api_qparams.c: quantization parameter descriptors (granularity, layout, value
 * checks) and clq_qparams_from_minmax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

void clq_qparams_init(clq_qparams *qp) {
    if (!qp) return;
    memset(qp, 0, sizeof *qp);
    qp->struct_size = sizeof *qp;
    qp->qtype = CLQ_S8;
    qp->granularity = CLQ_PER_TENSOR;
    qp->scheme = CLQ_AFFINE;
    qp->rounding = CLQ_ROUND_HALF_EVEN;
}

#define CLQ_QPARAMS_KNOWN_FLAGS                                                   \
    (CLQ_QPARAMS_NARROW_RANGE | CLQ_QPARAMS_RECIPROCAL | CLQ_QPARAMS_TRUSTED |    \
     CLQ_QPARAMS_PROFILE_PYTORCH)

clq_status clq__check_qparams_common(clq_context *ctx, const clq_qparams *qp, const char *name) {
    if (!qp) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s is NULL", name);
    if (qp->struct_size < sizeof(clq_qparams))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->struct_size = %zu; call clq_qparams_init", name, qp->struct_size);
    if (clq__dtype_reserved(qp->qtype))
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "%s->qtype = %d (reserved for s16/u16) is not supported yet", name,
                          (int)qp->qtype);
    if (!clq__dtype_is_quant(qp->qtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->qtype = %s (%d): expected s8, u8, s4 or u4", name,
                          clq_dtype_name(qp->qtype), (int)qp->qtype);
    if (qp->scheme != CLQ_AFFINE && qp->scheme != CLQ_SYMMETRIC)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->scheme = %d is not a clq_scheme",
                          name, (int)qp->scheme);
    if (qp->rounding != CLQ_ROUND_HALF_EVEN && qp->rounding != CLQ_ROUND_HALF_AWAY)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->rounding = %d is not a clq_rounding", name, (int)qp->rounding);
    if (qp->flags & ~CLQ_QPARAMS_KNOWN_FLAGS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->flags = 0x%x has unknown bits",
                          name, qp->flags);
    return CLQ_SUCCESS;
}

clq_status clq__check_qparams_desc(clq_context *ctx, const clq_qparams *qp, int ndim,
                                   const size_t *shape, clq_layout *lay) {
    return clq__check_qparams_desc_as(ctx, qp, "qp", ndim, shape, lay);
}

clq_status clq__check_qparams_desc_as(clq_context *ctx, const clq_qparams *qp, const char *name,
                                      int ndim, const size_t *shape, clq_layout *lay) {
    clq_status st = clq__check_qparams_common(ctx, qp, name);
    if (st != CLQ_SUCCESS) return st;
    size_t n = 1;
    int zero = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) zero = 1;
        else if (__builtin_mul_overflow(n, shape[d], &n))
            return clq__error(ctx, CLQ_ERROR_OVERFLOW, "the product of the shape overflows size_t");
    }
    if (zero) n = 0;
    memset(lay, 0, sizeof *lay);
    lay->gran = qp->granularity;
    lay->n = n;
    switch (qp->granularity) {
    case CLQ_PER_TENSOR:
        lay->outer = lay->inner = 1;
        lay->axis_len = n;
        lay->nparams = 1;
        return CLQ_SUCCESS;
    case CLQ_PER_AXIS:
    case CLQ_PER_BLOCK:
        break;
    default:
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->granularity = %d is not a clq_granularity", name,
                          (int)qp->granularity);
    }
    int axis = qp->axis < 0 ? qp->axis + ndim : qp->axis;
    if (axis < 0 || axis >= ndim)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->axis = %d is out of range for a %d-d tensor", name, qp->axis, ndim);
    /* The products of the outer and inner dims cannot overflow: n did not. */
    lay->outer = lay->inner = 1;
    for (int d = 0; d < axis; d++) lay->outer *= shape[d];
    for (int d = axis + 1; d < ndim; d++) lay->inner *= shape[d];
    lay->axis_len = shape[axis];
    if (qp->granularity == CLQ_PER_AXIS) {
        lay->nparams = lay->axis_len;
        return CLQ_SUCCESS;
    }
    if (qp->block_size == 0 || (lay->axis_len > 0 && qp->block_size > lay->axis_len))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s->block_size = %zu must be in [1, shape[%d] = %zu]", name,
                          qp->block_size, axis, lay->axis_len);
    lay->block = qp->block_size;
    lay->nblocks = lay->axis_len / lay->block + (lay->axis_len % lay->block != 0);
    lay->nparams = lay->outer * lay->nblocks * lay->inner; /* <= n, or 0 */
    return CLQ_SUCCESS;
}

clq_status clq_qparams_count(const clq_qparams *qp, int ndim, const size_t *shape, size_t *out) {
    clq_layout lay;
    if (!qp || !out || ndim < 0 || ndim > CLQ_MAX_DIMS || (ndim > 0 && !shape))
        return CLQ_ERROR_INVALID_ARGUMENT;
    clq_status st = clq__check_qparams_desc(NULL, qp, ndim, shape, &lay);
    if (st == CLQ_SUCCESS) *out = lay.nparams;
    return st;
}

clq_status clq__check_array(clq_context *ctx, clq_buffer *buf, const char *name, size_t off,
                            size_t count, size_t elem, clq_span *out) {
    if (!buf) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s is NULL", name);
    if (buf->ctx != ctx)
        return clq__error(ctx, CLQ_ERROR_CONTEXT_MISMATCH, "%s belongs to another context", name);
    size_t end;
    if (__builtin_add_overflow(off, count, &end) || end > buf->size / elem)
        return clq__error(ctx, CLQ_ERROR_OUT_OF_BOUNDS,
                          "%s: offset %zu + %zu values of %zu bytes exceed its %zu bytes", name,
                          off, count, elem, buf->size);
    out->buf = buf;
    out->offset = off * elem;
    return CLQ_SUCCESS;
}

clq_status clq__check_qparams_buffers(clq_context *ctx, const clq_qparams *qp, size_t count,
                                      int need_zero_point, clq_span *scale, clq_span *zp) {
    clq_status st = clq__check_array(ctx, qp->scale, "qp->scale", qp->scale_offset, count, 4, scale);
    if (st != CLQ_SUCCESS) return st;
    zp->buf = NULL;
    zp->offset = 0;
    if (!qp->zero_point) {
        if (need_zero_point)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "qp->zero_point is NULL but %s %s needs zero points",
                              clq_dtype_name(qp->qtype),
                              qp->scheme == CLQ_AFFINE ? "affine" : "symmetric");
        return CLQ_SUCCESS;
    }
    return clq__check_array(ctx, qp->zero_point, "qp->zero_point", qp->zero_point_offset, count, 4,
                            zp);
}

clq_status clq__check_qparams_values(clq_context *ctx, const clq_qparams *qp, size_t count,
                                     int qmin, int qmax) {
    if ((qp->flags & CLQ_QPARAMS_TRUSTED) || count == 0) return CLQ_SUCCESS;
    float *s = malloc(count * sizeof *s);
    int32_t *z = qp->zero_point ? malloc(count * sizeof *z) : NULL;
    clq_status st = CLQ_SUCCESS;
    if (!s || (qp->zero_point && !z)) {
        st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory checking qparams");
        goto done;
    }
    st = clq_buffer_read(qp->scale, qp->scale_offset * 4, count * 4, s);
    if (st == CLQ_SUCCESS && z)
        st = clq_buffer_read(qp->zero_point, qp->zero_point_offset * 4, count * 4, z);
    if (st != CLQ_SUCCESS) goto done;
    for (size_t i = 0; i < count; i++) {
        if (!(isfinite(s[i]) && s[i] > 0.0f)) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "qp->scale[%zu] = %g: a scale must be finite and > 0", i, (double)s[i]);
            goto done;
        }
        if (z && (z[i] < qmin || z[i] > qmax)) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "qp->zero_point[%zu] = %d is outside [%d, %d] of %s", i, (int)z[i],
                            qmin, qmax, clq_dtype_name(qp->qtype));
            goto done;
        }
    }
done:
    free(s);
    free(z);
    return st;
}

/* The zero point is needed whenever it is not 0: affine, or unsigned symmetric. */
int clq__qparams_need_zero_point(const clq_qparams *qp) {
    return qp->scheme == CLQ_AFFINE || clq__symmetric_zero_point(qp->qtype) != 0;
}

void clq__qparams_op_setup(const clq_qparams *qp, clq_qparams_op *op) {
    int narrow = (qp->flags & CLQ_QPARAMS_NARROW_RANGE) != 0;
    op->scheme = qp->scheme;
    op->qtype = qp->qtype;
    clq__qrange(qp->qtype, narrow, &op->qmin, &op->qmax);
    op->pytorch = (qp->flags & CLQ_QPARAMS_PROFILE_PYTORCH) != 0;
    op->sym_zp = clq__symmetric_zero_point(qp->qtype);
    /* PyTorch: 128 for quint8's own range, else the rounded-down midpoint of the range
     * ("customized" quant_min / quant_max): 128 for narrow u8, 7 for u4, 8 for narrow u4 */
    if (op->pytorch && op->sym_zp != 0 && !(qp->qtype == CLQ_U8 && !narrow))
        op->sym_zp = (op->qmin + op->qmax) / 2;
}

static clq_status qparams_from_minmax(clq_context *ctx, clq_buffer *min_in, size_t min_offset,
                                      clq_buffer *max_in, size_t max_offset, size_t count,
                                      const clq_qparams *qp) {
    clq_status st = clq__check_qparams_common(ctx, qp, "qp");
    if (st != CLQ_SUCCESS) return st;
    clq_qparams_op op;
    memset(&op, 0, sizeof op);
    st = clq__check_array(ctx, min_in, "min_in", min_offset, count, 4, &op.min);
    if (st == CLQ_SUCCESS) st = clq__check_array(ctx, max_in, "max_in", max_offset, count, 4, &op.max);
    if (st == CLQ_SUCCESS)
        st = clq__check_qparams_buffers(ctx, qp, count, clq__qparams_need_zero_point(qp), &op.scale, &op.zp);
    if (st == CLQ_SUCCESS) {
        clq_extent e[] = {clq__span_extent("min_in", op.min, count, 4, 0),
                          clq__span_extent("max_in", op.max, count, 4, 0),
                          clq__span_extent("qp->scale", op.scale, count, 4, 1),
                          clq__span_extent("qp->zero_point", op.zp, count, 4, 1)};
        st = clq__check_disjoint(ctx, e, 4);
    }
    if (st != CLQ_SUCCESS) return st;
    if (count == 0) return CLQ_SUCCESS;
    op.count = count;
    clq__qparams_op_setup(qp, &op);
    for (CLQ_EACH_PASS(pass))
        if ((st = ctx->ops->qparams(ctx, &op, pass)) != CLQ_SUCCESS) return st;
    return CLQ_SUCCESS;
}

clq_status clq_qparams_from_minmax(clq_context *ctx, clq_buffer *min_in, size_t min_offset,
                                   clq_buffer *max_in, size_t max_offset, size_t count,
                                   const clq_qparams *qp) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, qparams_from_minmax(ctx, min_in, min_offset, max_in, max_offset, count, qp));
}
