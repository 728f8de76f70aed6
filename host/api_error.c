/* api_error.c: clq_quantization_error and clq_tensor_error: checks, the backend's
 * per-chunk partials, and their reduction into clq_error_stats on the host, in double
 * and in ascending chunk order, so every backend ends with the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

void clq_error_options_init(clq_error_options *options) {
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->granularity = CLQ_PER_TENSOR;
}

/* The stats granules of x (backend.h, clq_error_op) and the out array's size. */
static clq_status check_granules(clq_context *ctx, const clq_tensor *x, const clq_tensor_info *xi,
                                 const clq_error_options *o, clq_error_stats *out, size_t count,
                                 clq_error_op *op) {
    clq_error_options def;
    if (!o) {
        clq_error_options_init(&def);
        o = &def;
    }
    if (o->struct_size < sizeof *o)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->struct_size = %zu; call clq_error_options_init", o->struct_size);
    size_t n = xi->numel;
    if (o->granularity == CLQ_PER_TENSOR) {
        op->ngran = 1;
    } else if (o->granularity == CLQ_PER_AXIS) {
        int axis = o->axis < 0 ? o->axis + x->ndim : o->axis;
        if (axis < 0 || axis >= x->ndim)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "options->axis = %d is out of range for a %d-d x", o->axis, x->ndim);
        op->ngran = x->shape[axis];
        op->outer = op->inner = 1;
        for (int d = 0; d < axis; d++) op->outer *= x->shape[d];
        for (int d = axis + 1; d < x->ndim; d++) op->inner *= x->shape[d];
        if (count != op->ngran)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "count = %zu but per axis %d there are x->shape[%d] = %zu statistics",
                              count, o->axis, axis, op->ngran);
    } else {
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->granularity = %d: expected CLQ_PER_TENSOR or CLQ_PER_AXIS",
                          (int)o->granularity);
    }
    if (count != op->ngran)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "count = %zu but per tensor there is 1 statistic", count);
    if (!out && count)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL (count = %zu)", count);
    /* one granule: its elements are x's, in order (outer dims of the product 1) */
    if (op->ngran == 1) op->outer = 1, op->inner = n;
    if (n == 0) op->outer = op->inner = 0;
    op->nchunks = (op->outer * op->inner + CLQ_ERROR_CHUNK - 1) / CLQ_ERROR_CHUNK;
    op->xtype = x->dtype;
    return CLQ_SUCCESS;
}

/* The statistics of one granule from its sums (docs/NUMERICS.md, "Error metrics"). */
static void finish_stats(uint64_t count, const double s[CLQ_ERROR_NSTATS], clq_error_stats *out) {
    double e2 = s[CLQ_ERROR_E2], x2 = s[CLQ_ERROR_X2], y2 = s[CLQ_ERROR_Y2];
    out->count = count;
    out->mse = count ? e2 / (double)count : 0.0;
    out->mean_abs = count ? s[CLQ_ERROR_ABS] / (double)count : 0.0;
    out->max_abs = s[CLQ_ERROR_MAX];
    out->snr_db = e2 == 0.0 ? INFINITY : x2 == 0.0 ? -INFINITY : 10.0 * log10(x2 / e2);
    if (x2 == 0.0 && y2 == 0.0) {
        out->cosine = 1.0;
    } else if (x2 == 0.0 || y2 == 0.0) {
        out->cosine = 0.0;
    } else {
        double c = s[CLQ_ERROR_XY] / sqrt(x2 * y2);
        out->cosine = c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c; /* NaN stays NaN */
    }
}

/* Each granule's chunks, in ascending order: f32 partials widened exactly and summed
 * in double, the max and the exact count alongside. */
static void reduce(const clq_error_op *op, const float *part, clq_error_stats *out) {
    for (size_t g = 0; g < op->ngran; g++) {
        double s[CLQ_ERROR_NSTATS] = {0};
        uint64_t count = 0;
        for (size_t k = 0; k < op->nchunks; k++) {
            const float *p = part + (g * op->nchunks + k) * CLQ_ERROR_NSTATS;
            for (int i = 0; i < CLQ_ERROR_COUNT; i++)
                if (i == CLQ_ERROR_MAX)
                    s[i] = (double)p[i] > s[i] ? (double)p[i] : s[i];
                else
                    s[i] += (double)p[i];
            count += (uint64_t)p[CLQ_ERROR_COUNT];
        }
        finish_stats(count, s, &out[g]);
    }
}

/* Runs op (x, y or q filled in, checked) and writes out[0 .. ngran). */
static clq_status run_error(clq_context *ctx, const clq_tensor *x, const clq_tensor_info *xi,
                            const clq_tensor *y, const clq_tensor_info *yi, clq_error_op *op,
                            clq_error_stats *out) {
    size_t nparts = op->ngran * op->nchunks, bytes = nparts * CLQ_ERROR_NSTATS * sizeof(float);
    float *part = NULL;
    if (nparts) {
        if (!ctx->ops->error_stats)
            return clq__error(ctx, CLQ_ERROR_UNSUPPORTED, "the %s backend has no error metrics",
                              ctx->ops->name);
        if (!(part = malloc(bytes)))
            return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory for %zu partials",
                              nparts);
        clq_status st = CLQ_SUCCESS;
        clq_buffer *pb = NULL;
        for (CLQ_EACH_PASS(pass)) {
            st = clq__gather(ctx, x, xi, &op->x, pass);
            if (st == CLQ_SUCCESS && y) st = clq__gather_into(ctx, CLQ_SCRATCH_OUT, y, yi, &op->y, pass);
            if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_STATS, bytes, &pb);
            op->part = (clq_span){pb, 0};
            op->q.x = op->x;
            if (st == CLQ_SUCCESS) st = ctx->ops->error_stats(ctx, op, pass);
            if (st != CLQ_SUCCESS) break;
        }
        if (st == CLQ_SUCCESS) st = ctx->ops->buffer_read(pb, 0, bytes, part);
        if (st != CLQ_SUCCESS) {
            free(part);
            return st;
        }
    }
    reduce(op, part, out);
    free(part);
    return CLQ_SUCCESS;
}

static clq_status quantization_error(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                     const clq_error_options *options, clq_error_stats *out,
                                     size_t count) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    clq_error_op op;
    memset(&op, 0, sizeof op);
    clq_tensor_info xi;
    clq_status st = clq__quantize_settings(ctx, x, qp, &xi, &op.q);
    if (st == CLQ_SUCCESS) st = check_granules(ctx, x, &xi, options, out, count, &op);
    size_t np = op.q.lay.nparams;
    if (st == CLQ_SUCCESS) st = clq__check_qparams_buffers(ctx, qp, np, 0, &op.q.scale, &op.q.zp);
    if (st == CLQ_SUCCESS) {
        clq_extent e[] = {clq__tensor_extent("x", x, &xi, 0),
                          clq__span_extent("qp->scale", op.q.scale, np, 4, 0),
                          clq__span_extent("qp->zero_point", op.q.zp, np, 4, 0)};
        st = clq__check_disjoint(ctx, e, 3);
    }
    if (st == CLQ_SUCCESS) st = clq__check_qparams_values(ctx, qp, np, op.q.qmin, op.q.qmax);
    if (st != CLQ_SUCCESS) return st;
    return run_error(ctx, x, &xi, NULL, NULL, &op, out);
}

clq_status clq_quantization_error(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                  const clq_error_options *options, clq_error_stats *out,
                                  size_t count) {
    return CLQ_LOCKED(ctx, quantization_error(ctx, x, qp, options, out, count));
}

static clq_status check_float(clq_context *ctx, const clq_tensor *t, const char *name) {
    if (clq__dtype_is_float(t->dtype)) return CLQ_SUCCESS;
    return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->dtype = %s: expected f32, f16 or bf16",
                      name, clq_dtype_name(t->dtype));
}

static clq_status tensor_error(clq_context *ctx, const clq_tensor *x, const clq_tensor *y,
                               const clq_error_options *options, clq_error_stats *out,
                               size_t count) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    clq_error_op op;
    memset(&op, 0, sizeof op);
    clq_tensor_info xi, yi;
    clq_status st = clq__check_tensor(ctx, x, "x", CLQ_INPUT, &xi);
    if (st == CLQ_SUCCESS) st = check_float(ctx, x, "x");
    if (st == CLQ_SUCCESS) st = clq__check_tensor(ctx, y, "y", CLQ_INPUT, &yi);
    if (st == CLQ_SUCCESS) st = check_float(ctx, y, "y");
    if (st == CLQ_SUCCESS) st = clq__check_same_shape(ctx, x, "x", y, "y");
    if (st == CLQ_SUCCESS) st = check_granules(ctx, x, &xi, options, out, count, &op);
    if (st == CLQ_SUCCESS) {
        clq_extent e[] = {clq__tensor_extent("x", x, &xi, 0), clq__tensor_extent("y", y, &yi, 0)};
        st = clq__check_disjoint(ctx, e, 2);
    }
    if (st != CLQ_SUCCESS) return st;
    op.ytype = y->dtype;
    return run_error(ctx, x, &xi, y, &yi, &op, out);
}

clq_status clq_tensor_error(clq_context *ctx, const clq_tensor *x, const clq_tensor *y,
                            const clq_error_options *options, clq_error_stats *out, size_t count) {
    return CLQ_LOCKED(ctx, tensor_error(ctx, x, y, options, out, count));
}
