/* api_calib.c: the calibrator: options, create / destroy, observe (device min/max per
 * batch, merged on the host), the chosen range and the qparams it gives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "validate.h"

void clq_calibrator_options_init(clq_calibrator_options *options) {
    if (!options) return;
    memset(options, 0, sizeof *options);
    options->struct_size = sizeof *options;
    options->method = CLQ_CALIB_MINMAX;
    options->granularity = CLQ_PER_TENSOR;
    options->averaging_constant = 0.01;
    options->bins = 2048;
    options->percentile = 99.999;
}

clq_status clq__calib_check_options(clq_context *ctx, const clq_calibrator_options *o) {
    if (o->struct_size < sizeof *o)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->struct_size = %zu; call clq_calibrator_options_init",
                          o->struct_size);
    if (o->method < CLQ_CALIB_MINMAX || o->method > CLQ_CALIB_L2)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->method = %d is not a clq_calib_method", (int)o->method);
    if (o->granularity != CLQ_PER_TENSOR && o->granularity != CLQ_PER_AXIS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->granularity = %d: a calibrator is CLQ_PER_TENSOR or CLQ_PER_AXIS",
                          (int)o->granularity);
    if (o->granularity == CLQ_PER_AXIS && clq__calib_is_hist(o->method))
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "options->granularity = CLQ_PER_AXIS: method %d (a histogram method) "
                          "calibrates per tensor only",
                          (int)o->method);
    if (o->granularity == CLQ_PER_AXIS && (o->axis < -CLQ_MAX_DIMS || o->axis >= CLQ_MAX_DIMS))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->axis = %d is outside [-%d, %d]", o->axis, CLQ_MAX_DIMS,
                          CLQ_MAX_DIMS - 1);
    /* every field is checked, whether the method uses it or not: a bad value is a bug */
    if (!(o->averaging_constant > 0.0 && o->averaging_constant <= 1.0))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->averaging_constant = %g is outside (0, 1]",
                          o->averaging_constant);
    if (o->bins < CLQ_CALIB_MIN_BINS || o->bins > CLQ_CALIB_MAX_BINS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "options->bins = %zu is outside [%d, %zu]",
                          o->bins, CLQ_CALIB_MIN_BINS, CLQ_CALIB_MAX_BINS);
    if (!(o->percentile > 0.0 && o->percentile <= 100.0))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->percentile = %g is outside (0, 100]", o->percentile);
    return CLQ_SUCCESS;
}

clq_status clq__calib_alloc_channels(clq_calibrator *cal, size_t n) {
    unsigned char *seen = calloc(n ? n : 1, 1);
    float *mn = calloc(n ? n : 1, sizeof *mn), *mx = calloc(n ? n : 1, sizeof *mx);
    if (!seen || !mn || !mx) {
        free(seen);
        free(mn);
        free(mx);
        return clq__error(cal->ctx, CLQ_ERROR_OUT_OF_MEMORY,
                          "out of host memory for a calibrator of %zu channels", n);
    }
    free(cal->seen);
    free(cal->mn);
    free(cal->mx);
    cal->seen = seen;
    cal->mn = mn;
    cal->mx = mx;
    cal->channels = n;
    return CLQ_SUCCESS;
}

clq_status clq__calib_new(clq_context *ctx, const clq_calibrator_options *o, size_t channels,
                          clq_calibrator **out) {
    clq_calibrator *cal = calloc(1, sizeof *cal);
    if (!cal) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory for a calibrator");
    cal->ctx = ctx;
    cal->opt = *o;
    cal->opt.struct_size = sizeof cal->opt;
    clq_status st = clq__calib_alloc_channels(cal, channels);
    if (st == CLQ_SUCCESS && clq__calib_is_hist(o->method) &&
        clq__hist_init(&cal->hist, o->bins, o->method != CLQ_CALIB_L2) != CLQ_SUCCESS)
        st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory for %zu histogram bins",
                        o->bins);
    if (st != CLQ_SUCCESS) {
        clq_calibrator_destroy(cal);
        return st;
    }
    *out = cal;
    return CLQ_SUCCESS;
}

static clq_status create(clq_context *ctx, const clq_calibrator_options *options,
                         clq_calibrator **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    clq_calibrator_options defaults;
    clq_calibrator_options_init(&defaults);
    const clq_calibrator_options *o = options ? options : &defaults;
    clq_status st = clq__calib_check_options(ctx, o);
    if (st != CLQ_SUCCESS) return st;
    return clq__calib_new(ctx, o, o->granularity == CLQ_PER_TENSOR, out);
}

clq_status clq_calibrator_create(clq_context *ctx, const clq_calibrator_options *options,
                                 clq_calibrator **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, create(ctx, options, out));
}

void clq_calibrator_destroy(clq_calibrator *cal) {
    if (!cal) return;
    free(cal->seen);
    free(cal->mn);
    free(cal->mx);
    clq__hist_free(&cal->hist);
    free(cal);
}

/* Whether element e of a contiguous float array is NaN (bit tests: no conversion). */
static int is_nan_elem(clq_dtype t, const unsigned char *p, size_t e) {
    if (t == CLQ_F32) {
        uint32_t u;
        memcpy(&u, p + 4 * e, 4);
        return (u & 0x7fffffffu) > 0x7f800000u;
    }
    uint16_t h;
    memcpy(&h, p + 2 * e, 2);
    return t == CLQ_F16 ? (h & 0x7fffu) > 0x7c00u : (h & 0x7fffu) > 0x7f80u;
}

/* The device gives [0, 0] both for a channel of zeros and for one of only NaN; only the
 * batch itself tells them apart. Read back in that case alone (rare: a channel that is
 * all zeros or all NaN), has[c] says whether channel c holds a value that is not NaN. */
static clq_status channels_with_values(clq_context *ctx, clq_dtype t, clq_span x,
                                       const clq_layout *lay, const float *mn, const float *mx,
                                       unsigned char *has) {
    size_t np = lay->nparams, zero = 0;
    for (size_t c = 0; c < np; c++) {
        has[c] = !(mn[c] == 0.0f && mx[c] == 0.0f);
        zero += !has[c];
    }
    if (zero == 0) return CLQ_SUCCESS;
    size_t es = t == CLQ_F32 ? 4 : 2;
    unsigned char *h = malloc(lay->n * es);
    if (!h) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory reading a batch back");
    clq_status st = ctx->ops->buffer_read(x.buf, x.offset, lay->n * es, h);
    for (size_t e = 0; st == CLQ_SUCCESS && e < lay->n; e++) {
        size_t c = clq_layout_param(lay, e);
        if (!has[c] && !is_nan_elem(t, h, e)) has[c] = 1;
    }
    free(h);
    return st;
}

/* Merges one batch's per-channel range into the state (min/max methods). The merged
 * values go to bmn / bmx first: the state changes only once every one is finite. */
static clq_status merge(clq_calibrator *cal, float *bmn, float *bmx, const unsigned char *has,
                        size_t np) {
    int moving = cal->opt.method == CLQ_CALIB_MOVING_AVERAGE;
    float c32 = (float)cal->opt.averaging_constant;
    for (size_t c = 0; c < np; c++) {
        if (!has[c] || !cal->seen[c]) continue; /* nothing, or the first values: taken */
        float m0 = cal->mn[c], m1 = cal->mx[c];
        if (moving) {
            /* torch: min_val + averaging_constant * (min_val_cur - min_val), f32 steps */
            float d0 = bmn[c] - m0, d1 = bmx[c] - m1;
            float p0 = c32 * d0, p1 = c32 * d1;
            bmn[c] = m0 + p0;
            bmx[c] = m1 + p1;
            if (!isfinite(bmn[c]) || !isfinite(bmx[c]))
                return clq__error(cal->ctx, CLQ_ERROR_INVALID_ARGUMENT,
                                  "x: channel %zu's moving average [%g, %g] overflows f32; "
                                  "the state is left as it was",
                                  c, (double)bmn[c], (double)bmx[c]);
        } else {
            bmn[c] = bmn[c] < m0 ? bmn[c] : m0;
            bmx[c] = bmx[c] > m1 ? bmx[c] : m1;
        }
    }
    for (size_t c = 0; c < np; c++) {
        if (!has[c]) continue;
        cal->mn[c] = bmn[c];
        cal->mx[c] = bmx[c];
        cal->seen[c] = 1;
    }
    return CLQ_SUCCESS;
}

/* The batch's min/max per channel on the device, read back to mn / mx. */
static clq_status batch_minmax(clq_context *ctx, const clq_tensor *x, const clq_tensor_info *xi,
                               clq_minmax_op *mm, float *mn, float *mx) {
    size_t bytes = mm->lay.nparams * 4;
    clq_status st = CLQ_SUCCESS;
    for (CLQ_EACH_PASS(pass)) {
        clq_buffer *bmin = NULL, *bmax = NULL;
        st = clq__gather(ctx, x, xi, &mm->x, pass);
        if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_MIN, bytes, &bmin);
        if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_MAX, bytes, &bmax);
        mm->min = (clq_span){bmin, 0};
        mm->max = (clq_span){bmax, 0};
        if (st == CLQ_SUCCESS) st = ctx->ops->minmax(ctx, mm, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    st = ctx->ops->buffer_read(mm->min.buf, 0, bytes, mn);
    if (st == CLQ_SUCCESS) st = ctx->ops->buffer_read(mm->max.buf, 0, bytes, mx);
    return st;
}

/* x's layout for the calibrator: per tensor, or per axis with its channel count. */
static clq_status batch_layout(clq_calibrator *cal, const clq_tensor *x, clq_tensor_info *xi,
                               clq_layout *lay) {
    clq_context *ctx = cal->ctx;
    clq_status st = clq__check_tensor(ctx, x, "x", CLQ_INPUT, xi);
    if (st != CLQ_SUCCESS) return st;
    if (!clq__dtype_is_float(x->dtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "x->dtype = %s: expected f32, f16 or bf16", clq_dtype_name(x->dtype));
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.granularity = cal->opt.granularity;
    qp.axis = cal->opt.axis;
    st = clq__check_qparams_desc_as(ctx, &qp, "options", x->ndim, x->shape, lay);
    if (st != CLQ_SUCCESS || lay->gran == CLQ_PER_TENSOR) return st;
    int axis = qp.axis < 0 ? qp.axis + x->ndim : qp.axis;
    if (lay->axis_len == 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "x->shape[%d] = 0: a per-axis calibrator needs at least one channel", axis);
    if (cal->batches > 0 && lay->axis_len != cal->channels)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "x->shape[%d] = %zu but the calibrator has %zu channels (its first batch's)",
                          axis, lay->axis_len, cal->channels);
    return CLQ_SUCCESS;
}

static clq_status observe(clq_calibrator *cal, const clq_tensor *x) {
    clq_context *ctx = cal->ctx;
    clq_tensor_info xi;
    clq_layout lay;
    clq_status st = batch_layout(cal, x, &xi, &lay);
    if (st != CLQ_SUCCESS) return st;
    size_t np = lay.nparams;
    int fresh = cal->batches == 0 && cal->channels != np; /* per axis: its first batch */
    if (fresh && (st = clq__calib_alloc_channels(cal, np)) != CLQ_SUCCESS) return st;
    if (lay.n == 0) {
        cal->batches++;
        return CLQ_SUCCESS;
    }
    float *mn = malloc(np * sizeof *mn), *mx = malloc(np * sizeof *mx);
    unsigned char *has = malloc(np);
    if (!mn || !mx || !has) {
        st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory for a batch's range");
        goto done;
    }
    clq_minmax_op mm = {.xtype = x->dtype, .lay = lay};
    st = batch_minmax(ctx, x, &xi, &mm, mn, mx);
    if (st != CLQ_SUCCESS) goto done;
    /* min/max ignore only NaN: an infinity shows as a min of -Inf or a max of +Inf */
    for (size_t c = 0; c < np; c++)
        if (mn[c] == -INFINITY || mx[c] == INFINITY) {
            st = clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                            "x holds %s (channel %zu): a calibrator refuses infinities and keeps "
                            "its state",
                            mx[c] == INFINITY ? "+Inf" : "-Inf", c);
            goto done;
        }
    st = channels_with_values(ctx, x->dtype, mm.x, &lay, mn, mx, has);
    if (st == CLQ_SUCCESS && !clq__calib_is_hist(cal->opt.method))
        st = merge(cal, mn, mx, has, np);
    /* the histogram methods: per tensor, the batch's finite range bounds its bins */
    for (clq_pass pass = CLQ_PASS_PREPARE;
         st == CLQ_SUCCESS && has[0] && clq__calib_is_hist(cal->opt.method) && pass <= CLQ_PASS_RUN;
         pass = (clq_pass)(pass + 1))
        st = clq__hist_add(ctx, &cal->hist, x->dtype, mm.x, lay.n, mn[0], mx[0], pass);
    if (st == CLQ_SUCCESS) cal->batches++;
done:
    if (st != CLQ_SUCCESS && fresh) cal->channels = 0; /* a refused first batch fixes nothing */
    free(mn);
    free(mx);
    free(has);
    return st;
}

clq_status clq_calibrator_observe(clq_calibrator *cal, const clq_tensor *x) {
    if (!cal) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(cal->ctx, observe(cal, x));
}

size_t clq_calibrator_batches(const clq_calibrator *cal) {
    if (!cal) return 0;
    clq__lock(cal->ctx);
    size_t n = cal->batches;
    clq__unlock(cal->ctx, CLQ_SUCCESS);
    return n;
}

size_t clq_calibrator_channels(const clq_calibrator *cal) {
    if (!cal) return 0;
    clq__lock(cal->ctx);
    size_t n = cal->channels;
    clq__unlock(cal->ctx, CLQ_SUCCESS);
    return n;
}

/* The chosen range per channel into lo / hi (host arrays of cal->channels); the
 * histogram methods search for a qtype of bits bits and this scheme. */
static clq_status chosen_range(clq_calibrator *cal, float *lo, float *hi, int bits,
                               clq_scheme scheme) {
    if (clq__calib_is_hist(cal->opt.method)) {
        /* the searches' only failure is their host memory; they set no message */
        clq_status st = clq__hist_range(&cal->hist, cal->opt.method, cal->opt.percentile, bits,
                                        scheme, lo, hi);
        if (st != CLQ_SUCCESS)
            return clq__error(cal->ctx, st, "out of host memory for the range search over %zu bins",
                              cal->hist.nbins);
        return CLQ_SUCCESS;
    }
    for (size_t c = 0; c < cal->channels; c++) {
        lo[c] = cal->seen[c] ? cal->mn[c] : 0.0f;
        hi[c] = cal->seen[c] ? cal->mx[c] : 0.0f;
    }
    return CLQ_SUCCESS;
}

static clq_status range(clq_calibrator *cal, float *min, float *max, size_t count) {
    clq_context *ctx = cal->ctx;
    if (count != cal->channels)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "count = %zu but the calibrator has %zu channels", count, cal->channels);
    if (count > 0 && (!min || !max))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s is NULL", !min ? "min" : "max");
    if (count == 0) return CLQ_SUCCESS;
    float *lo = malloc(count * sizeof *lo), *hi = malloc(count * sizeof *hi);
    /* the histogram methods' range is their choice for an 8-bit qtype (no search
     * depends on the scheme; the |x| methods' range is [-amax, amax] either way) */
    clq_scheme scheme = cal->opt.method == CLQ_CALIB_L2 ? CLQ_AFFINE : CLQ_SYMMETRIC;
    clq_status st = lo && hi ? chosen_range(cal, lo, hi, 8, scheme)
                             : clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == CLQ_SUCCESS) {
        memcpy(min, lo, count * sizeof *lo);
        memcpy(max, hi, count * sizeof *hi);
    }
    free(lo);
    free(hi);
    return st;
}

clq_status clq_calibrator_range(clq_calibrator *cal, float *min, float *max, size_t count) {
    if (!cal) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(cal->ctx, range(cal, min, max, count));
}

static clq_status qparams(clq_calibrator *cal, const clq_qparams *qp) {
    clq_context *ctx = cal->ctx;
    clq_status st = clq__check_qparams_common(ctx, qp, "qp");
    if (st != CLQ_SUCCESS) return st;
    if (qp->granularity != cal->opt.granularity)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "qp->granularity = %d but the calibrator's is %s", (int)qp->granularity,
                          cal->opt.granularity == CLQ_PER_TENSOR ? "CLQ_PER_TENSOR" : "CLQ_PER_AXIS");
    size_t n = cal->channels;
    if (n == 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "cal has observed no batch: its channel count is not known yet");
    float *lo = malloc(2 * n * sizeof *lo);
    if (!lo) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory");
    st = chosen_range(cal, lo, lo + n, clq__dtype_bits(qp->qtype), qp->scheme);
    /* the range goes to scratch, qp's buffers are checked and written as by
     * clq_qparams_from_minmax (which writes nothing on a bad qp) */
    clq_buffer *bmin = NULL, *bmax = NULL;
    if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_MIN, n * 4, &bmin);
    if (st == CLQ_SUCCESS) st = clq__scratch(ctx, CLQ_SCRATCH_MAX, n * 4, &bmax);
    if (st == CLQ_SUCCESS) st = ctx->ops->buffer_write(bmin, 0, n * 4, lo);
    if (st == CLQ_SUCCESS) st = ctx->ops->buffer_write(bmax, 0, n * 4, lo + n);
    if (st == CLQ_SUCCESS) st = clq_qparams_from_minmax(ctx, bmin, 0, bmax, 0, n, qp);
    free(lo);
    return st;
}

clq_status clq_calibrator_qparams(clq_calibrator *cal, const clq_qparams *qp) {
    if (!cal) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(cal->ctx, qparams(cal, qp));
}
