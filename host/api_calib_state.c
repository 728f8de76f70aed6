/* api_calib_state.c: a calibrator's state as a self-describing byte string
 * (clq_calibrator_state_size / _save / _load); the layout is docs/API.md's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "le_bytes.h"
#include "validate.h"

/* Version 1, little-endian, fixed header of CLQ_STATE_HEADER bytes:
 *   0 "CLQCAL"  6 u16 version  8 u32 method  12 u32 granularity  16 i32 axis
 *   20 f64 averaging_constant  28 u64 bins  36 f64 percentile  44 u64 batches
 *   52 u64 channels
 * then, min/max methods: u8 seen[channels], f32 min[channels], f32 max[channels];
 * histogram methods: the histogram state (clq__hist_state_write) to the end. */
#define CLQ_STATE_MAGIC "CLQCAL"
#define CLQ_STATE_VERSION 1u
#define CLQ_STATE_HEADER 60u

static size_t state_size(const clq_calibrator *cal) {
    if (clq__calib_is_hist(cal->opt.method))
        return CLQ_STATE_HEADER + clq__hist_state_size(&cal->hist);
    return CLQ_STATE_HEADER + cal->channels * 9;
}

clq_status clq_calibrator_state_size(const clq_calibrator *cal, size_t *bytes) {
    if (!cal) return CLQ_ERROR_INVALID_ARGUMENT;
    clq__lock(cal->ctx);
    if (!bytes) return clq__unlock(cal->ctx, clq__error(cal->ctx, CLQ_ERROR_INVALID_ARGUMENT, "bytes is NULL"));
    *bytes = state_size(cal);
    return clq__unlock(cal->ctx, CLQ_SUCCESS);
}

static clq_status save(const clq_calibrator *cal, unsigned char *p, size_t bytes) {
    size_t need = state_size(cal), n = cal->channels;
    if (!p) return clq__error(cal->ctx, CLQ_ERROR_INVALID_ARGUMENT, "dst is NULL");
    if (bytes < need)
        return clq__error(cal->ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "bytes = %zu but the state needs %zu (clq_calibrator_state_size)", bytes,
                          need);
    const clq_calibrator_options *o = &cal->opt;
    memcpy(p, CLQ_STATE_MAGIC, 6);
    clq__put_le(p + 6, CLQ_STATE_VERSION, 2);
    clq__put_le(p + 8, (uint32_t)o->method, 4);
    clq__put_le(p + 12, (uint32_t)o->granularity, 4);
    clq__put_le(p + 16, (uint32_t)o->axis, 4);
    clq__put_le(p + 20, clq__f64_bits(o->averaging_constant), 8);
    clq__put_le(p + 28, o->bins, 8);
    clq__put_le(p + 36, clq__f64_bits(o->percentile), 8);
    clq__put_le(p + 44, cal->batches, 8);
    clq__put_le(p + 52, n, 8);
    unsigned char *q = p + CLQ_STATE_HEADER;
    if (clq__calib_is_hist(o->method)) {
        clq__hist_state_write(&cal->hist, q);
        return CLQ_SUCCESS;
    }
    for (size_t c = 0; c < n; c++) {
        q[c] = cal->seen[c];
        clq__put_le(q + n + 4 * c, clq__f32_bits(cal->mn[c]), 4);
        clq__put_le(q + 5 * n + 4 * c, clq__f32_bits(cal->mx[c]), 4);
    }
    return CLQ_SUCCESS;
}

clq_status clq_calibrator_save(const clq_calibrator *cal, void *dst, size_t bytes) {
    if (!cal) return CLQ_ERROR_INVALID_ARGUMENT;
    clq__lock(cal->ctx);
    return clq__unlock(cal->ctx, save(cal, dst, bytes));
}

/* The per-channel arrays after the header: values that observe could have made. */
static clq_status read_channels(clq_calibrator *cal, const unsigned char *q) {
    clq_context *ctx = cal->ctx;
    size_t n = cal->channels;
    for (size_t c = 0; c < n; c++) {
        unsigned seen = q[c];
        float mn = clq__bits_f32((uint32_t)clq__get_le(q + n + 4 * c, 4));
        float mx = clq__bits_f32((uint32_t)clq__get_le(q + 5 * n + 4 * c, 4));
        if (seen > 1)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "state: seen[%zu] = %u: expected 0 or 1", c, seen);
        if (!isfinite(mn) || !isfinite(mx))
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "state: min[%zu] = %g, max[%zu] = %g: a range is finite", c,
                              (double)mn, c, (double)mx);
        if (!seen && (mn != 0.0f || mx != 0.0f))
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "state: min[%zu] = %g, max[%zu] = %g for a channel that saw no "
                              "value (expected 0)",
                              c, (double)mn, c, (double)mx);
        if (seen && cal->batches == 0)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "state: seen[%zu] = 1 but batches = 0", c);
        /* a running min/max is ordered; a moving average may cross by a rounding */
        if (seen && cal->opt.method == CLQ_CALIB_MINMAX && mn > mx)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "state: min[%zu] = %g > max[%zu] = %g", c, (double)mn, c, (double)mx);
        cal->seen[c] = (unsigned char)seen;
        cal->mn[c] = mn;
        cal->mx[c] = mx;
    }
    return CLQ_SUCCESS;
}

/* The histogram after the header: calib_hist.c checks it; it must be the options'. */
static clq_status read_hist(clq_calibrator *cal, const unsigned char *q, size_t bytes) {
    clq__hist_free(&cal->hist);
    clq_status st = clq__hist_state_read(cal->ctx, &cal->hist, q, bytes);
    if (st != CLQ_SUCCESS) return st;
    int absolute = cal->opt.method != CLQ_CALIB_L2;
    if (cal->hist.nbins != cal->opt.bins || (cal->hist.absolute != 0) != absolute)
        return clq__error(cal->ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "state: a histogram of %zu %s bins but options->bins = %zu for method %d",
                          cal->hist.nbins, cal->hist.absolute ? "|x|" : "x", cal->opt.bins,
                          (int)cal->opt.method);
    if (!cal->hist.empty && cal->batches == 0)
        return clq__error(cal->ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "state: a histogram with counts but batches = 0");
    return CLQ_SUCCESS;
}

static clq_status load(clq_context *ctx, const unsigned char *p, size_t bytes, clq_calibrator **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    if (!p) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "src is NULL");
    if (bytes < CLQ_STATE_HEADER)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "bytes = %zu: a calibrator state has at least %u", bytes, CLQ_STATE_HEADER);
    if (memcmp(p, CLQ_STATE_MAGIC, 6) != 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "state: magic is not \"CLQCAL\" (not a calibrator state)");
    unsigned version = (unsigned)clq__get_le(p + 6, 2);
    if (version != CLQ_STATE_VERSION)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "state: version = %u: this library reads version %u", version,
                          CLQ_STATE_VERSION);
    clq_calibrator_options o;
    clq_calibrator_options_init(&o);
    o.method = (clq_calib_method)(int32_t)clq__get_le(p + 8, 4);
    o.granularity = (clq_granularity)(int32_t)clq__get_le(p + 12, 4);
    o.axis = (int32_t)clq__get_le(p + 16, 4);
    o.averaging_constant = clq__bits_f64(clq__get_le(p + 20, 8));
    uint64_t bins = clq__get_le(p + 28, 8);
    o.bins = bins > CLQ_CALIB_MAX_BINS ? 0 : (size_t)bins; /* refused below, by name */
    o.percentile = clq__bits_f64(clq__get_le(p + 36, 8));
    uint64_t batches = clq__get_le(p + 44, 8), channels = clq__get_le(p + 52, 8);
    clq_status st = clq__calib_check_options(ctx, &o);
    if (st != CLQ_SUCCESS) return st;
    if (o.granularity == CLQ_PER_TENSOR ? channels != 1 : (channels == 0) != (batches == 0))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "state: channels = %llu with batches = %llu: per tensor it is 1, per "
                          "axis 0 exactly before the first batch",
                          (unsigned long long)channels, (unsigned long long)batches);
    if (batches > SIZE_MAX)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "state: batches = %llu overflows size_t",
                          (unsigned long long)batches);
    int hist = clq__calib_is_hist(o.method);
    if (!hist &&
        (channels > (bytes - CLQ_STATE_HEADER) / 9 || bytes != CLQ_STATE_HEADER + channels * 9))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "bytes = %zu but a state of %llu channels has %llu", bytes,
                          (unsigned long long)channels,
                          channels > SIZE_MAX / 9 ? 0ull
                                                  : (unsigned long long)(CLQ_STATE_HEADER + channels * 9));
    clq_calibrator *cal = NULL;
    st = clq__calib_new(ctx, &o, (size_t)channels, &cal);
    if (st != CLQ_SUCCESS) return st;
    cal->batches = (size_t)batches;
    st = hist ? read_hist(cal, p + CLQ_STATE_HEADER, bytes - CLQ_STATE_HEADER)
              : read_channels(cal, p + CLQ_STATE_HEADER);
    if (st != CLQ_SUCCESS) {
        clq_calibrator_destroy(cal);
        return st;
    }
    *out = cal;
    return CLQ_SUCCESS;
}

clq_status clq_calibrator_load(clq_context *ctx, const void *src, size_t bytes, clq_calibrator **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, load(ctx, src, bytes, out));
}
