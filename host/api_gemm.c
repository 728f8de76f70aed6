/* api_gemm.c: clq_gemm (argument checks, A's granularity, the int32 bound on K or the
 * group length, row or group sums, staging of strided A and C) and clq_gemm_options_init. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"
#include "api_plan.h"

#define CLQ_GEMM_KNOWN_FLAGS (CLQ_GEMM_RELU | CLQ_GEMM_FIXED_POINT)

void clq_gemm_options_init(clq_gemm_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

/* A checked [..., rows, cols] tensor as rows at a fixed element stride, when its
 * leading dims collapse into one and its last dim is unit-stride. */
static int as_rows(const clq_tensor *t, size_t cols, size_t *ld) {
    int last = t->ndim - 1;
    for (int d = 0; d <= last; d++)
        if (t->shape[d] == 0) { /* nothing is read or written: any stride will do */
            *ld = cols;
            return 1;
        }
    if (cols > 1 && t->strides[last] != 1) return 0;
    size_t len = 1; /* rows seen so far (inner to outer) */
    ptrdiff_t inner = 0;
    *ld = cols;
    for (int d = last - 1; d >= 0; d--) {
        if (t->shape[d] <= 1) continue;
        if (inner == 0) {
            if (t->strides[d] < (ptrdiff_t)cols || (cols == 0 && t->strides[d] < 1)) return 0;
            inner = t->strides[d];
            *ld = (size_t)inner;
        } else {
            ptrdiff_t want;
            if (__builtin_mul_overflow(inner, (ptrdiff_t)len, &want) || t->strides[d] != want)
                return 0;
        }
        len *= t->shape[d];
    }
    return 1;
}

/* Where the op reads A / writes C: in place when the view is rows at a stride,
 * else a contiguous scratch copy (C is scattered back after the kernel). */
static clq_status rows_span(clq_context *ctx, const clq_tensor *t, const clq_tensor_info *ti,
                            size_t cols, int role, clq_span *span, size_t *ld, int *staged,
                            clq_pass pass) {
    *staged = 0;
    if (as_rows(t, cols, ld)) {
        span->buf = t->buffer;
        span->offset = ti->byte_off; /* 0 for an empty view, whatever its offset */
        return CLQ_SUCCESS;
    }
    *staged = 1;
    *ld = cols;
    return role == CLQ_INPUT ? clq__gather(ctx, t, ti, span, pass)
                             : clq__output_span(ctx, t, ti, span);
}

/* Reads back n int32 (or f32) values for the checks a non-TRUSTED call makes. */
static clq_status read_values(clq_span s, size_t n, void *dst) {
    return clq_buffer_read(s.buf, s.offset, n * 4, dst);
}

static int w_grouped(const clq_packed_weights *w) { return w->fmt.gran == CLQ_PER_BLOCK; }
/* Groups along K of the computation: the weights' (1 when they are not grouped). */
static size_t gemm_groups(const clq_packed_weights *w) { return w_grouped(w) ? w->fmt.ngroups : 1; }

/* op->a_gran from a_qp: per tensor; per row (PER_AXIS on axis 0 of a 2-D A, or
 * PER_BLOCK of K along the last axis); per group (PER_BLOCK of the weights' g). */
static clq_status a_granularity(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                                const clq_packed_weights *w, clq_gemm_op *op) {
    int axis = a_qp->axis < 0 ? a_qp->axis + a->ndim : a_qp->axis;
    op->a_gran = CLQ_PER_TENSOR;
    if (a_qp->granularity == CLQ_PER_TENSOR) return CLQ_SUCCESS;
    if (a_qp->granularity == CLQ_PER_AXIS) {
        if (a->ndim != 2 || axis != 0)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "a_qp->axis = %d: per-axis qparams of A are per row, axis 0 of a "
                              "2-D A (for a batched A: per block of K along the last axis)",
                              a_qp->axis);
        op->a_gran = CLQ_PER_AXIS;
        return CLQ_SUCCESS;
    }
    if (axis != a->ndim - 1)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "a_qp->axis = %d: per-block qparams of A run along K, the last axis (%d)",
                          a_qp->axis, a->ndim - 1);
    if (w_grouped(w) && a_qp->block_size == w->fmt.group) {
        op->a_gran = CLQ_PER_BLOCK;
        return CLQ_SUCCESS;
    }
    if (a_qp->block_size == w->k || w->k == 0) {
        op->a_gran = CLQ_PER_AXIS;
        return CLQ_SUCCESS;
    }
    if (w_grouped(w))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "a_qp->block_size = %zu: A is per row (block K = %zu) or per group of "
                          "the weights (block %zu)", a_qp->block_size, w->k, w->fmt.group);
    return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                      "a_qp->block_size = %zu: per-group A needs group-quantized weights (these "
                      "are per %s); per row is block K = %zu", a_qp->block_size,
                      w->fmt.gran == CLQ_PER_AXIS ? "channel" : "tensor", w->k);
}

/* How many (scale, zero point) pairs of A op->a_gran takes. */
static size_t a_param_count(const clq_gemm_op *op) {
    return op->a_gran == CLQ_PER_TENSOR ? 1
           : op->a_gran == CLQ_PER_AXIS ? op->m
                                        : op->m * gemm_groups(op->w);
}

/* a, a_qp, c and w agree; fills m, n, k and the A-side fields of op. */
static clq_status check_shapes(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                               const clq_packed_weights *w, const clq_tensor *c,
                               clq_tensor_info *ai, clq_tensor_info *ci, clq_gemm_op *op) {
    if (!w) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "w is NULL");
    if (!a_qp) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "a_qp is NULL");
    if (w->ctx != ctx)
        return clq__error(ctx, CLQ_ERROR_CONTEXT_MISMATCH, "w was packed on another context");
    clq_status st = clq__check_tensor(ctx, a, "a", CLQ_INPUT, ai);
    if (st != CLQ_SUCCESS) return st;
    if (a->dtype != CLQ_S8 && a->dtype != CLQ_U8)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "a->dtype = %s: A is s8 or u8",
                          clq_dtype_name(a->dtype));
    if (a->ndim < 2)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "a->ndim = %d: A is [..., M, K]",
                          a->ndim);
    if (a->shape[a->ndim - 1] != w->k)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "a->shape[%d] = %zu but the weights have K = %zu", a->ndim - 1,
                          a->shape[a->ndim - 1], w->k);
    clq_layout lay;
    /* weights whose group is longer than K hold one group: A per group of that g is
     * then one block of K, which the generic check (block <= axis length) must see */
    clq_qparams aq = *a_qp;
    if (aq.granularity == CLQ_PER_BLOCK && w->fmt.gran == CLQ_PER_BLOCK &&
        aq.block_size == w->fmt.group && w->k && aq.block_size > w->k)
        aq.block_size = w->k;
    st = clq__check_qparams_desc_as(ctx, &aq, "a_qp", a->ndim, a->shape, &lay);
    if (st != CLQ_SUCCESS) return st;
    if (a_qp->qtype != a->dtype)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "a_qp->qtype = %s but a->dtype = %s",
                          clq_dtype_name(a_qp->qtype), clq_dtype_name(a->dtype));
    st = a_granularity(ctx, a, a_qp, w, op);
    if (st != CLQ_SUCCESS) return st;
    st = clq__check_tensor(ctx, c, "c", CLQ_OUTPUT, ci);
    if (st != CLQ_SUCCESS) return st;
    if (c->dtype != CLQ_S32 && c->dtype != CLQ_F32 && c->dtype != CLQ_S8 && c->dtype != CLQ_U8)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "c->dtype = %s: C is s32, f32, s8 or u8", clq_dtype_name(c->dtype));
    if (c->ndim != a->ndim)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "c->ndim = %d but a->ndim = %d",
                          c->ndim, a->ndim);
    for (int d = 0; d < a->ndim - 1; d++)
        if (c->shape[d] != a->shape[d])
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "c->shape[%d] = %zu but a->shape[%d] = %zu", d, c->shape[d], d,
                              a->shape[d]);
    if (c->shape[c->ndim - 1] != w->n)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "c->shape[%d] = %zu but the weights have N = %zu", c->ndim - 1,
                          c->shape[c->ndim - 1], w->n);
    op->w = w;
    op->k = w->k;
    op->n = w->n;
    op->m = w->k ? ai->numel / w->k : 1;
    if (!w->k)
        for (int d = 0; d < a->ndim - 1; d++) op->m *= a->shape[d];
    op->atype = a->dtype;
    op->ctype = c->dtype;
    return CLQ_SUCCESS;
}

/* za and sa of A (one, per row, or per row and group); the bound on K, or on the
 * group length for grouped weights, which needs the zero points' values unless a_qp
 * is TRUSTED (then the worst zero point of A's type is assumed). sa_max receives the
 * largest scale (0 when not read back). */
static clq_status check_a_params(clq_context *ctx, const clq_qparams *a_qp, int need_scale,
                                 clq_gemm_op *op, float *sa_max) {
    clq_status st = CLQ_SUCCESS;
    int trusted = (a_qp->flags & CLQ_QPARAMS_TRUSTED) != 0;
    size_t na = a_param_count(op);
    int qmin, qmax;
    clq__qrange(op->atype, 0, &qmin, &qmax);
    int32_t za = 0; /* the zero point furthest from one end of A's range */
    unsigned dev = clq__gemm_dev(op->atype, 0);
    if (a_qp->zero_point) {
        st = clq__check_array(ctx, a_qp->zero_point, "a_qp->zero_point", a_qp->zero_point_offset,
                              na, 4, &op->za);
        if (st != CLQ_SUCCESS) return st;
        if (trusted) {
            za = op->atype == CLQ_U8 ? 255 : -128;
            dev = clq__gemm_dev(op->atype, za);
        } else if (na) {
            int32_t *z = malloc(na * sizeof *z);
            if (!z) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory checking a_qp");
            st = read_values(op->za, na, z);
            dev = 0;
            for (size_t i = 0; st == CLQ_SUCCESS && i < na; i++) {
                if (z[i] < qmin || z[i] > qmax)
                    st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                                    "a_qp->zero_point[%zu] = %d is outside [%d, %d] of %s", i,
                                    (int)z[i], qmin, qmax, clq_dtype_name(op->atype));
                else if (clq__gemm_dev(op->atype, z[i]) > dev)
                    dev = clq__gemm_dev(op->atype, z[i]), za = z[i];
            }
            free(z);
            if (st != CLQ_SUCCESS) return st;
        }
    }
    if (need_scale) {
        if (!a_qp->scale)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "a_qp->scale is NULL but %s output needs it",
                              clq_dtype_name(op->ctype));
        st = clq__check_array(ctx, a_qp->scale, "a_qp->scale", a_qp->scale_offset, na, 4, &op->sa);
        if (st != CLQ_SUCCESS) return st;
        *sa_max = 0.0f;
        if (!trusted && na) {
            float *s = malloc(na * sizeof *s);
            if (!s) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory checking a_qp");
            st = read_values(op->sa, na, s);
            for (size_t i = 0; st == CLQ_SUCCESS && i < na; i++) {
                if (!(isfinite(s[i]) && s[i] > 0.0f))
                    st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                                    "a_qp->scale[%zu] = %g: a scale must be finite and > 0", i,
                                    (double)s[i]);
                else if (s[i] > *sa_max)
                    *sa_max = s[i];
            }
            free(s);
            if (st != CLQ_SUCCESS) return st;
        }
    }
    uint64_t prod = (uint64_t)dev * op->w->max_dev;
    size_t max_k = prod ? (size_t)(INT32_MAX / prod) : SIZE_MAX;
    int grouped = w_grouped(op->w);
    size_t len = grouped && op->w->fmt.group < op->k ? op->w->fmt.group : op->k;
    if (len > max_k)
        return clq__error(ctx, CLQ_ERROR_OVERFLOW,
                          "%s = %zu exceeds %zu, the largest %s whose int32 result is exact for "
                          "%s A (zero point %d%s) and %s weights (max |b - zb| = %u)",
                          grouped ? "the weights' group length" : "K", len, max_k,
                          grouped ? "group" : "K", clq_dtype_name(op->atype), (int)za,
                          trusted ? ", worst case: TRUSTED" : na > 1 ? ", the worst of A's" : "",
                          clq_dtype_name(op->w->fmt.btype), op->w->max_dev);
    return CLQ_SUCCESS;
}

/* The f32 output's bias and ReLU, or the s8/u8 output's qparams and multipliers. */
static clq_status check_stage(clq_context *ctx, const clq_gemm_options *o, clq_gemm_op *op,
                              float *sc_out) {
    int fixed = (o->flags & CLQ_GEMM_FIXED_POINT) != 0;
    int requant = op->ctype == CLQ_S8 || op->ctype == CLQ_U8;
    if (op->ctype != CLQ_F32 && (o->bias || (o->flags & CLQ_GEMM_RELU)))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->%s applies to f32 output only, C is %s",
                          o->bias ? "bias" : "flags CLQ_GEMM_RELU", clq_dtype_name(op->ctype));
    if (!requant && (fixed || o->c_qparams))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->%s applies to s8/u8 output only, C is %s",
                          fixed ? "flags CLQ_GEMM_FIXED_POINT" : "c_qparams",
                          clq_dtype_name(op->ctype));
    if ((op->ctype == CLQ_F32 || (requant && !fixed)) && !op->w->sb)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s output needs the weights' scales: w was packed with qp->scale NULL",
                          clq_dtype_name(op->ctype));
    if (w_grouped(op->w) && (op->ctype == CLQ_S32 || fixed))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s: group-quantized weights (group %zu) give no single int32 C per "
                          "output; take f32 or float-multiplier s8/u8 output",
                          fixed ? "options->flags CLQ_GEMM_FIXED_POINT" : "c->dtype = s32",
                          op->w->fmt.group);
    op->relu = (o->flags & CLQ_GEMM_RELU) != 0;
    if (o->bias) {
        clq_status st = clq__check_array(ctx, o->bias, "options->bias", o->bias_offset, op->n, 4,
                                         &op->bias);
        if (st != CLQ_SUCCESS) return st;
    }
    if (!requant) return CLQ_SUCCESS;

    const clq_qparams *cq = o->c_qparams;
    if (!cq)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->c_qparams is NULL but %s output needs a scale and zero point",
                          clq_dtype_name(op->ctype));
    clq_layout lay;
    size_t one = 1;
    clq_status st =
        clq__check_qparams_desc_as(ctx, cq, "options->c_qparams", 1, &one, &lay);
    if (st != CLQ_SUCCESS) return st;
    if (cq->qtype != op->ctype || cq->granularity != CLQ_PER_TENSOR)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->c_qparams must be per tensor with qtype %s (has %s, "
                          "granularity %d)", clq_dtype_name(op->ctype), clq_dtype_name(cq->qtype),
                          (int)cq->granularity);
    int trusted = (cq->flags & CLQ_QPARAMS_TRUSTED) != 0;
    clq__qrange(op->ctype, (cq->flags & CLQ_QPARAMS_NARROW_RANGE) != 0, &op->qmin, &op->qmax);
    if (cq->zero_point) {
        int32_t zc = 0;
        st = clq__check_array(ctx, cq->zero_point, "c_qparams->zero_point", cq->zero_point_offset,
                              1, 4, &op->zc);
        if (st == CLQ_SUCCESS && !trusted) st = read_values(op->zc, 1, &zc);
        if (st != CLQ_SUCCESS) return st;
        if (!trusted && (zc < op->qmin || zc > op->qmax))
            return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                              "c_qparams->zero_point[0] = %d is outside [%d, %d]", (int)zc,
                              op->qmin, op->qmax);
    }
    if (!fixed) {
        if (!cq->scale)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "c_qparams->scale is NULL (needed without CLQ_GEMM_FIXED_POINT)");
        float sc = 1.0f;
        st = clq__check_array(ctx, cq->scale, "c_qparams->scale", cq->scale_offset, 1, 4, &op->sc);
        if (st == CLQ_SUCCESS && !trusted) st = read_values(op->sc, 1, &sc);
        if (st != CLQ_SUCCESS) return st;
        if (!(isfinite(sc) && sc > 0.0f))
            return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                              "c_qparams->scale[0] = %g: a scale must be finite and > 0",
                              (double)sc);
        *sc_out = trusted ? 0.0f : sc;
        return CLQ_SUCCESS;
    }
    op->fixed_point = 1;
    op->mult_per_channel = o->multiplier_per_channel != 0;
    size_t count = op->mult_per_channel ? op->n : 1;
    st = clq__check_array(ctx, o->multiplier, "options->multiplier", o->multiplier_offset, count,
                          4, &op->mult);
    if (st == CLQ_SUCCESS)
        st = clq__check_array(ctx, o->shift, "options->shift", o->shift_offset, count, 4,
                              &op->shift);
    if (st != CLQ_SUCCESS || trusted || count == 0) return st;
    int32_t *v = malloc(2 * count * sizeof *v);
    if (!v) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory checking shifts");
    st = read_values(op->mult, count, v);
    if (st == CLQ_SUCCESS) st = read_values(op->shift, count, v + count);
    for (size_t i = 0; st == CLQ_SUCCESS && i < count; i++) {
        if (v[i] < 0)
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS, "options->multiplier[%zu] = %d < 0",
                            i, (int)v[i]);
        else if (v[count + i] < CLQ_GEMM_MIN_SHIFT || v[count + i] > CLQ_GEMM_MAX_SHIFT)
            st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                            "options->shift[%zu] = %d is outside [%d, %d]", i, (int)v[count + i],
                            CLQ_GEMM_MIN_SHIFT, CLQ_GEMM_MAX_SHIFT);
    }
    free(v);
    return st;
}

/* The caller's row (or group) sums, or none when no zb' is 0 (w->zb_all_zero), or
 * scratch filled by the backend: [m][G] over the weights' groups. */
static clq_status row_sums(clq_context *ctx, const clq_gemm_options *o, clq_gemm_op *op,
                           clq_pass pass) {
    size_t count = op->m * gemm_groups(op->w);
    if (o->a_rowsums) {
        clq_status st = clq__check_array(ctx, o->a_rowsums, "options->a_rowsums",
                                         o->a_rowsums_offset, count, 4, &op->rowsums);
        if (st != CLQ_SUCCESS || !op->w->zb_all_zero) return st;
    }
    if (op->w->zb_all_zero || count == 0) {
        op->rowsums.buf = NULL;
        op->rowsums.offset = 0;
        return CLQ_SUCCESS;
    }
    if (o->a_rowsums) return CLQ_SUCCESS;
    clq_status st = clq__scratch(ctx, CLQ_SCRATCH_ROWSUMS, count * 4, &op->rowsums.buf);
    if (st != CLQ_SUCCESS) return st;
    op->rowsums.offset = 0;
    clq_rowsums_op rs = {op->atype, op->m, op->k, op->lda, w_grouped(op->w) ? op->w->fmt.group : 0,
                         op->a, op->rowsums};
    return ctx->ops->rowsums(ctx, &rs, pass);
}

/* C against every other argument (A, the parameters, bias, row sums, multipliers). */
static clq_status check_overlap(clq_context *ctx, const clq_tensor *a, const clq_tensor_info *ai,
                                const clq_tensor *c, const clq_tensor_info *ci,
                                const clq_gemm_options *o, const clq_gemm_op *op) {
    size_t nm = op->mult_per_channel ? op->n : 1, na = a_param_count(op);
    clq_span rs = {o->a_rowsums, o->a_rowsums_offset * 4};
    clq_extent e[] = {clq__tensor_extent("c", c, ci, 1),
                      clq__tensor_extent("a", a, ai, 0),
                      clq__span_extent("a_qp->zero_point", op->za, na, 4, 0),
                      clq__span_extent("a_qp->scale", op->sa, na, 4, 0),
                      clq__span_extent("options->bias", op->bias, op->n, 4, 0),
                      clq__span_extent("options->a_rowsums", rs, op->m * gemm_groups(op->w), 4, 0),
                      clq__span_extent("c_qparams->scale", op->sc, 1, 4, 0),
                      clq__span_extent("c_qparams->zero_point", op->zc, 1, 4, 0),
                      clq__span_extent("options->multiplier", op->mult, nm, 4, 0),
                      clq__span_extent("options->shift", op->shift, nm, 4, 0)};
    return clq__check_disjoint(ctx, e, (int)(sizeof e / sizeof e[0]));
}

clq_status clq__gemm_check(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                           const clq_packed_weights *w, const clq_gemm_options *options,
                           const clq_tensor *c, clq_gemm_plan *p) {
    memset(p, 0, sizeof *p);
    clq_gemm_options_init(&p->o);
    if (options) {
        if (options->struct_size < sizeof *options)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "options->struct_size = %zu; call clq_gemm_options_init",
                              options->struct_size);
        p->o = *options;
    }
    const clq_gemm_options *o = &p->o;
    p->a = a, p->c = c;
    if (o->flags & ~CLQ_GEMM_KNOWN_FLAGS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "options->flags = 0x%x has unknown bits",
                          o->flags);
    if (!ctx->ops->gemm)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no int8 GEMM",
                          ctx->ops->name);
    clq_gemm_op *op = &p->op;
    clq_status st = check_shapes(ctx, a, a_qp, w, c, &p->ai, &p->ci, op);
    int fixed = (o->flags & CLQ_GEMM_FIXED_POINT) != 0;
    int need_sa = op->ctype == CLQ_F32 || ((op->ctype == CLQ_S8 || op->ctype == CLQ_U8) && !fixed);
    float sa = 0.0f, sc = 0.0f; /* 0: not read back */
    if (st == CLQ_SUCCESS) st = check_stage(ctx, o, op, &sc);
    if (st == CLQ_SUCCESS) st = check_a_params(ctx, a_qp, need_sa, op, &sa);
    /* mult = (sa * sb[n]) / sc grows with sb[n]: its largest value must be finite,
     * or (float)0 * inf would give NaN. */
    if (st == CLQ_SUCCESS && op->ctype == CLQ_F32 && sa > 0.0f && !isfinite(sa * w->sb_max))
        st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                        "the f32 output scale a_qp->scale * max b scale = %g * %g is not finite "
                        "in f32", (double)sa, (double)w->sb_max);
    if (st == CLQ_SUCCESS && sa > 0.0f && sc > 0.0f && !isfinite((sa * w->sb_max) / sc))
        st = clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                        "the requantization multiplier a_qp->scale * max b scale / c scale = "
                        "%g * %g / %g is not finite in f32",
                        (double)sa, (double)w->sb_max, (double)sc);
    if (st == CLQ_SUCCESS && o->a_rowsums) { /* checked even when M or N is 0 */
        clq_span rs;
        st = clq__check_array(ctx, o->a_rowsums, "options->a_rowsums", o->a_rowsums_offset,
                              op->m * gemm_groups(w), 4, &rs);
    }
    if (st == CLQ_SUCCESS) st = check_overlap(ctx, a, &p->ai, c, &p->ci, o, op);
    p->skip = op->m == 0 || op->n == 0;
    return st;
}

/* A in place or gathered, C in place or staged, the row sums, the kernel, C's scatter. */
clq_status clq__gemm_pass(clq_context *ctx, clq_gemm_plan *p, clq_pass pass) {
    clq_gemm_op *op = &p->op;
    int a_staged, c_staged;
    clq_status st = rows_span(ctx, p->a, &p->ai, op->k, CLQ_INPUT, &op->a, &op->lda, &a_staged, pass);
    if (st == CLQ_SUCCESS)
        st = rows_span(ctx, p->c, &p->ci, op->n, CLQ_OUTPUT, &op->c, &op->ldc, &c_staged, pass);
    if (st == CLQ_SUCCESS) st = row_sums(ctx, &p->o, op, pass);
    if (st == CLQ_SUCCESS) st = ctx->ops->gemm(ctx, op, pass);
    if (st == CLQ_SUCCESS && c_staged) st = clq__scatter(ctx, p->c, &p->ci, &op->c, pass);
    return st;
}

static clq_status gemm(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                       const clq_packed_weights *w, const clq_gemm_options *options,
                       const clq_tensor *c) {
    clq_gemm_plan p;
    clq_status st = clq__gemm_check(ctx, a, a_qp, w, options, c, &p);
    if (st != CLQ_SUCCESS || p.skip) return st;
    for (CLQ_EACH_PASS(pass))
        if ((st = clq__gemm_pass(ctx, &p, pass)) != CLQ_SUCCESS) return st;
    return CLQ_SUCCESS;
}

clq_status clq_gemm(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                    const clq_packed_weights *w, const clq_gemm_options *options,
                    const clq_tensor *c) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, gemm(ctx, a, a_qp, w, options, c));
}
