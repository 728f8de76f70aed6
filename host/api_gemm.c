/* api_gemm.c: clq_gemm (argument checks, the int32 bound on K, row sums, staging of
 * strided A and C) and clq_gemm_options_init. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"

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
    st = clq__check_qparams_desc_as(ctx, a_qp, "a_qp", a->ndim, a->shape, &lay);
    if (st != CLQ_SUCCESS) return st;
    if (a_qp->qtype != a->dtype)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "a_qp->qtype = %s but a->dtype = %s",
                          clq_dtype_name(a_qp->qtype), clq_dtype_name(a->dtype));
    if (a_qp->granularity != CLQ_PER_TENSOR)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "a_qp->granularity = %d: A's zero point is per tensor",
                          (int)a_qp->granularity);
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

/* za and sa of A; the K bound, which needs za's value unless a_qp is TRUSTED
 * (then the worst zero point of A's type is assumed). */
static clq_status check_a_params(clq_context *ctx, const clq_qparams *a_qp, int need_scale,
                                 clq_gemm_op *op, float *sa_out) {
    clq_status st;
    int32_t za = 0;
    int trusted = (a_qp->flags & CLQ_QPARAMS_TRUSTED) != 0;
    if (a_qp->zero_point) {
        st = clq__check_array(ctx, a_qp->zero_point, "a_qp->zero_point", a_qp->zero_point_offset,
                              1, 4, &op->za);
        if (st == CLQ_SUCCESS && !trusted) st = read_values(op->za, 1, &za);
        if (st != CLQ_SUCCESS) return st;
        int qmin, qmax;
        clq__qrange(op->atype, 0, &qmin, &qmax);
        if (!trusted && (za < qmin || za > qmax))
            return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                              "a_qp->zero_point[0] = %d is outside [%d, %d] of %s", (int)za, qmin,
                              qmax, clq_dtype_name(op->atype));
        if (trusted) za = op->atype == CLQ_U8 ? 255 : -128;
    }
    if (need_scale) {
        if (!a_qp->scale)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "a_qp->scale is NULL but %s output needs it",
                              clq_dtype_name(op->ctype));
        st = clq__check_array(ctx, a_qp->scale, "a_qp->scale", a_qp->scale_offset, 1, 4, &op->sa);
        float sa = 1.0f;
        if (st == CLQ_SUCCESS && !trusted) st = read_values(op->sa, 1, &sa);
        if (st != CLQ_SUCCESS) return st;
        if (!(isfinite(sa) && sa > 0.0f))
            return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                              "a_qp->scale[0] = %g: a scale must be finite and > 0", (double)sa);
        *sa_out = trusted ? 0.0f : sa;
    }
    size_t max_k = clq_gemm_max_k(op->atype, za, op->w);
    if (op->k > max_k)
        return clq__error(ctx, CLQ_ERROR_OVERFLOW,
                          "K = %zu exceeds %zu, the largest K whose int32 result is exact for %s A "
                          "(zero point %d%s) and %s weights (max |b - zb| = %u)",
                          op->k, max_k, clq_dtype_name(op->atype), (int)za,
                          trusted ? ", worst case: TRUSTED" : "", clq_dtype_name(op->w->btype),
                          op->w->max_dev);
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

/* The caller's row sums, or none when no zb' is 0 (w->zb_all_zero), or scratch
 * filled by the backend. */
static clq_status row_sums(clq_context *ctx, const clq_gemm_options *o, clq_gemm_op *op,
                           clq_pass pass) {
    if (o->a_rowsums) {
        clq_status st = clq__check_array(ctx, o->a_rowsums, "options->a_rowsums",
                                         o->a_rowsums_offset, op->m, 4, &op->rowsums);
        if (st != CLQ_SUCCESS || !op->w->zb_all_zero) return st;
    }
    if (op->w->zb_all_zero) {
        op->rowsums.buf = NULL;
        op->rowsums.offset = 0;
        return CLQ_SUCCESS;
    }
    if (o->a_rowsums) return CLQ_SUCCESS;
    clq_status st = clq__scratch(ctx, CLQ_SCRATCH_ROWSUMS, op->m * 4, &op->rowsums.buf);
    if (st != CLQ_SUCCESS) return st;
    op->rowsums.offset = 0;
    clq_rowsums_op rs = {op->atype, op->m, op->k, op->lda, op->a, op->rowsums};
    return ctx->ops->rowsums(ctx, &rs, pass);
}

/* C against every other argument (A, the parameters, bias, row sums, multipliers). */
static clq_status check_overlap(clq_context *ctx, const clq_tensor *a, const clq_tensor_info *ai,
                                const clq_tensor *c, const clq_tensor_info *ci,
                                const clq_gemm_options *o, const clq_gemm_op *op) {
    size_t nm = op->mult_per_channel ? op->n : 1;
    clq_span rs = {o->a_rowsums, o->a_rowsums_offset * 4};
    clq_extent e[] = {clq__tensor_extent("c", c, ci, 1),
                      clq__tensor_extent("a", a, ai, 0),
                      clq__span_extent("a_qp->zero_point", op->za, 1, 4, 0),
                      clq__span_extent("a_qp->scale", op->sa, 1, 4, 0),
                      clq__span_extent("options->bias", op->bias, op->n, 4, 0),
                      clq__span_extent("options->a_rowsums", rs, op->m, 4, 0),
                      clq__span_extent("c_qparams->scale", op->sc, 1, 4, 0),
                      clq__span_extent("c_qparams->zero_point", op->zc, 1, 4, 0),
                      clq__span_extent("options->multiplier", op->mult, nm, 4, 0),
                      clq__span_extent("options->shift", op->shift, nm, 4, 0)};
    return clq__check_disjoint(ctx, e, (int)(sizeof e / sizeof e[0]));
}

static clq_status gemm(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                       const clq_packed_weights *w, const clq_gemm_options *options,
                       const clq_tensor *c) {
    clq_gemm_options defaults;
    clq_gemm_options_init(&defaults);
    const clq_gemm_options *o = options ? options : &defaults;
    if (o->struct_size < sizeof *o)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->struct_size = %zu; call clq_gemm_options_init", o->struct_size);
    if (o->flags & ~CLQ_GEMM_KNOWN_FLAGS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "options->flags = 0x%x has unknown bits",
                          o->flags);
    if (!ctx->ops->gemm)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no int8 GEMM",
                          ctx->ops->name);
    clq_gemm_op op;
    memset(&op, 0, sizeof op);
    clq_tensor_info ai, ci;
    clq_status st = check_shapes(ctx, a, a_qp, w, c, &ai, &ci, &op);
    int fixed = (o->flags & CLQ_GEMM_FIXED_POINT) != 0;
    int need_sa = op.ctype == CLQ_F32 || ((op.ctype == CLQ_S8 || op.ctype == CLQ_U8) && !fixed);
    float sa = 0.0f, sc = 0.0f; /* 0: not read back */
    if (st == CLQ_SUCCESS) st = check_stage(ctx, o, &op, &sc);
    if (st == CLQ_SUCCESS) st = check_a_params(ctx, a_qp, need_sa, &op, &sa);
    /* mult = (sa * sb[n]) / sc grows with sb[n]: its largest value must be finite,
     * or (float)0 * inf would give NaN. */
    if (st == CLQ_SUCCESS && op.ctype == CLQ_F32 && sa > 0.0f && !isfinite(sa * w->sb_max))
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
        st = clq__check_array(ctx, o->a_rowsums, "options->a_rowsums", o->a_rowsums_offset, op.m,
                              4, &rs);
    }
    if (st == CLQ_SUCCESS) st = check_overlap(ctx, a, &ai, c, &ci, o, &op);
    if (st != CLQ_SUCCESS || op.m == 0 || op.n == 0) return st;

    for (CLQ_EACH_PASS(pass)) {
        int a_staged, c_staged;
        st = rows_span(ctx, a, &ai, op.k, CLQ_INPUT, &op.a, &op.lda, &a_staged, pass);
        if (st == CLQ_SUCCESS)
            st = rows_span(ctx, c, &ci, op.n, CLQ_OUTPUT, &op.c, &op.ldc, &c_staged, pass);
        if (st == CLQ_SUCCESS) st = row_sums(ctx, o, &op, pass);
        if (st == CLQ_SUCCESS) st = ctx->ops->gemm(ctx, &op, pass);
        if (st == CLQ_SUCCESS && c_staged) st = clq__scatter(ctx, c, &ci, &op.c, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    return CLQ_SUCCESS;
}

clq_status clq_gemm(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                    const clq_packed_weights *w, const clq_gemm_options *options,
                    const clq_tensor *c) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, gemm(ctx, a, a_qp, w, options, c));
}
