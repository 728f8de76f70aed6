/* calib_hist.h: the calibrators' histogram state (host side), how a batch is added
 * to it (device histogram op, range grown by merging bins), and the range searches
 * of the histogram methods. api_calib.c owns the calibrator; calib_hist.c this. */
#ifndef CLQ_CALIB_HIST_H
#define CLQ_CALIB_HIST_H

#include "internal.h"

/* nbins counts over [lo, hi); absolute: of |x| with lo = 0. Growth never re-reads an
 * old batch: the width doubles (adjacent bins merged, exact) until the new batch's
 * range fits (docs/NUMERICS.md, "Calibration"). empty until the first batch that has
 * a non-NaN value. */
/* Bins a state may have: the device op counts in uint32 bins indexed from f32. */
#define CLQ_HIST_MAX_BINS (1 << 24)

typedef struct clq_hist {
    size_t nbins;
    int absolute;
    int empty;
    float lo, hi;
    uint64_t *counts; /* nbins */
} clq_hist;

/* nbins in [1, CLQ_HIST_MAX_BINS] (else INVALID_ARGUMENT, no message: the caller
 * checks its options first); OUT_OF_MEMORY. */
CLQ_HIDDEN clq_status clq__hist_init(clq_hist *h, size_t nbins, int absolute);
CLQ_HIDDEN void clq__hist_free(clq_hist *h);

/* Adds one batch: x contiguous (n elements of xtype at span x), whose non-NaN values
 * lie in [bmin, bmax] (finite; from the calibrator's min/max step). PREPARE resolves
 * everything that may fail and changes nothing; RUN runs the device histogram, reads
 * the counts back and merges them (the state changes only on success). */
CLQ_HIDDEN clq_status clq__hist_add(clq_context *ctx, clq_hist *h, clq_dtype xtype, clq_span x,
                                    size_t n, float bmin, float bmax, clq_pass pass);

/* The range method (PERCENTILE, MSE, ENTROPY, L2) picks from the state for a qtype of
 * `bits` bits (and, where the method needs it, the scheme): [-amax, amax] for the
 * |x| methods, [min, max] for L2. An empty state gives [0, 0]. */
CLQ_HIDDEN clq_status clq__hist_range(const clq_hist *h, clq_calib_method method, double percentile,
                                      int bits, clq_scheme scheme, float *lo, float *hi);

/* Serialisation of the state (for clq_calibrator_save / _load): bytes needed, write,
 * read back with validation (INVALID_ARGUMENT with a message naming the field). read
 * fills h as clq__hist_init does (h's old contents are not freed); on failure h holds
 * nothing to free. */
CLQ_HIDDEN size_t clq__hist_state_size(const clq_hist *h);
CLQ_HIDDEN void clq__hist_state_write(const clq_hist *h, unsigned char *dst);
CLQ_HIDDEN clq_status clq__hist_state_read(clq_context *ctx, clq_hist *h, const unsigned char *src,
                                           size_t bytes);
#endif
