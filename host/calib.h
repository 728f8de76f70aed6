/* calib.h: the calibrator object (api_calib.c: options, observe, range, qparams;
 * api_calib_state.c: save / load). Its state lives on the host (docs/DESIGN.md). */
#ifndef CLQ_CALIB_H
#define CLQ_CALIB_H

#include "calib_hist.h"

/* bins: at least 16 (fewer leave a search nothing to choose from), at most what the
 * histogram state holds (2^24: uint32 bins indexed from f32). */
#define CLQ_CALIB_MIN_BINS 16
#define CLQ_CALIB_MAX_BINS ((size_t)CLQ_HIST_MAX_BINS)

struct clq_calibrator {
    clq_context *ctx;
    clq_calibrator_options opt; /* validated */
    size_t batches;
    size_t channels;            /* 1 per tensor; per axis 0 until the first batch */
    /* min/max methods: per channel, whether a value was seen, and the running range */
    unsigned char *seen;
    float *mn, *mx;
    clq_hist hist;              /* histogram methods */
};

static inline int clq__calib_is_hist(clq_calib_method m) {
    return m == CLQ_CALIB_PERCENTILE || m == CLQ_CALIB_MSE || m == CLQ_CALIB_ENTROPY ||
           m == CLQ_CALIB_L2;
}

/* Every option (messages name "options->field"); ctx may be NULL. */
CLQ_HIDDEN clq_status clq__calib_check_options(clq_context *ctx, const clq_calibrator_options *o);
/* A calibrator of these checked options with channels arrays of per-channel state
 * (min/max methods), or an empty histogram; no batch yet. */
CLQ_HIDDEN clq_status clq__calib_new(clq_context *ctx, const clq_calibrator_options *o,
                                     size_t channels, clq_calibrator **out);
/* (Re)allocates the per-channel arrays for n channels, zeroed. */
CLQ_HIDDEN clq_status clq__calib_alloc_channels(clq_calibrator *cal, size_t n);
#endif
