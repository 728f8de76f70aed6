/* ref_hist.c: the calibration histogram as docs/NUMERICS.md states it: the binning
 * rule, growth by doubling (old bin i lands in bin i / 2, or (i + nbins) / 2 when the
 * range extends below), and the four searches written as their Python references
 * read (ONNX Runtime compute_percentile, pytorch-quantization _compute_amax_mse and
 * _compute_amax_entropy, PyTorch HistogramObserver._non_linear_param_search), loop for
 * loop, with float64 for numpy and Python floats. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

size_t ref_hist_bin(float v, int absolute, float lo, float inv, size_t nbins) {
    if (absolute) v = fabsf(v);
    if (isnan(v)) return SIZE_MAX;
    float t = v - lo;
    float p = t * inv;
    if (isnan(p)) return 0;
    double f = floor((double)p);
    if (f < 0) return 0;
    if (f > (double)(nbins - 1)) return nbins - 1;
    return (size_t)f;
}

float ref_hist_inv_width(size_t nbins, float lo, float hi) {
    if (hi == lo) return 0.0f;
    double w = (double)nbins / ((double)hi - (double)lo);
    return w > FLT_MAX ? FLT_MAX : (float)w;
}

void ref_hist_count(clq_dtype t, const void *x, size_t n, int absolute, float lo, float inv,
                    size_t nbins, uint32_t *counts) {
    memset(counts, 0, nbins * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        size_t b = ref_hist_bin(ref_load_float(t, x, i), absolute, lo, inv, nbins);
        if (b != SIZE_MAX) counts[b]++;
    }
}

void ref_hist_init(ref_hist *h, size_t nbins, int absolute) {
    memset(h, 0, sizeof *h);
    h->nbins = nbins;
    h->absolute = absolute;
    h->empty = 1;
    h->counts = calloc(nbins, sizeof *h->counts);
}

void ref_hist_free(ref_hist *h) { free(h->counts); }

static float ref_edge(const ref_hist *h, size_t i) {
    return (float)((double)h->lo + ((double)h->hi - (double)h->lo) * (double)i / (double)h->nbins);
}

static void count_into(ref_hist *h, clq_dtype t, const void *x, size_t n) {
    uint32_t *c = malloc(h->nbins * sizeof *c);
    ref_hist_count(t, x, n, h->absolute, h->lo, ref_hist_inv_width(h->nbins, h->lo, h->hi),
                   h->nbins, c);
    for (size_t b = 0; b < h->nbins; b++) h->counts[b] += c[b];
    free(c);
}

void ref_hist_add(ref_hist *h, clq_dtype t, const void *x, size_t n) {
    float mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float v = ref_load_float(t, x, i);
        if (isnan(v)) continue;
        if (h->absolute) v = fabsf(v);
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    if (!(mn <= mx)) return; /* nothing but NaN */
    if (h->absolute) mn = 0.0f;
    size_t nb = h->nbins;
    if (h->empty) {
        h->lo = mn, h->hi = mx, h->empty = 0;
    } else if (h->lo == h->hi) {
        if (!(mn >= h->lo && mx <= h->hi)) {
            /* every old value is lo: its bin in the union range */
            uint64_t all = 0;
            for (size_t b = 0; b < nb; b++) all += h->counts[b], h->counts[b] = 0;
            float v = h->lo;
            h->lo = mn < h->lo ? mn : h->lo;
            h->hi = mx > h->hi ? mx : h->hi;
            h->counts[ref_hist_bin(v, 0, h->lo, ref_hist_inv_width(nb, h->lo, h->hi), nb)] = all;
        }
    } else {
        uint64_t *tmp = malloc(nb * sizeof *tmp);
        while (!(mn >= h->lo && mx <= h->hi)) {
            double lo = h->lo, hi = h->hi, w = hi - lo;
            int down = !h->absolute && mn < h->lo &&
                       (mx <= h->hi || lo - (double)mn > (double)mx - hi);
            memset(tmp, 0, nb * sizeof *tmp);
            for (size_t i = 0; i < nb; i++) tmp[down ? (i + nb) / 2 : i / 2] += h->counts[i];
            memcpy(h->counts, tmp, nb * sizeof *tmp);
            if (down)
                h->lo = (float)(hi - 2.0 * w);
            else
                h->hi = (float)(lo + 2.0 * w);
        }
        free(tmp);
    }
    count_into(h, t, x, n);
}

float ref_hist_percentile(const ref_hist *h, double percentile) {
    size_t nb = h->nbins;
    double total = 0;
    for (size_t b = 0; b < nb; b++) total += (double)h->counts[b];
    double *cdf = malloc(nb * sizeof *cdf), run = 0;
    for (size_t b = 0; b < nb; b++) cdf[b] = run = run + (double)h->counts[b] / total;
    size_t idx = 0; /* np.searchsorted(cdf, p / 100), side left */
    while (idx < nb && cdf[idx] < percentile / 100.0) idx++;
    free(cdf);
    return ref_edge(h, idx);
}

float ref_hist_mse(const ref_hist *h, int bits) {
    size_t nb = h->nbins, start = nb > 128 ? 128 : 0;
    float *centers = malloc(nb * sizeof *centers);
    for (size_t i = 0; i < nb; i++) centers[i] = (ref_edge(h, i + 1) + ref_edge(h, i)) / 2.0f;
    float max_bound = (float)(pow(2.0, bits - 1) - 1.0), min_bound = -max_bound;
    double best = 0;
    size_t argmin = 0;
    for (size_t i = start; i < nb; i++) {
        float amax = centers[i];
        float scale = max_bound / amax;
        if (amax <= 1.0f / (float)(1 << 24)) scale = 0.0f;
        double mse = 0;
        for (size_t j = 0; j < nb; j++) {
            float o = rintf(centers[j] * scale);
            o = o < min_bound ? min_bound : o > max_bound ? max_bound : o;
            float q = o / (scale == 0.0f ? 1.0f : scale);
            float d = q - centers[j];
            mse += (double)d * (double)d * (double)h->counts[j];
        }
        mse /= (double)nb;
        if (i == start || mse < best) best = mse, argmin = i;
    }
    float r = centers[argmin];
    free(centers);
    return r;
}

static double rel_entr(double x, double y) {
    if (isnan(x) || isnan(y)) return NAN;
    if (x > 0 && y > 0) return x * log(x / y);
    if (x == 0 && y >= 0) return 0;
    return INFINITY;
}

float ref_hist_entropy(const ref_hist *h, int bits) {
    size_t nb = h->nbins, nq = (size_t)1 << (bits - 1);
    size_t starting = nb > 128 ? 128 : nb, stop = nb;
    double *bins = malloc(nb * sizeof *bins);
    for (size_t b = 0; b < nb; b++) bins[b] = (double)h->counts[b];
    if (nb > 1) bins[0] = bins[1];
    double *space = malloc((nq + 1) * sizeof *space), *ndc = malloc(nq * sizeof *ndc);
    size_t *counter = malloc(nq * sizeof *counter);
    long *dig = malloc(nb * sizeof *dig);
    double *nd = malloc(nb * sizeof *nd), *ref = malloc(nb * sizeof *ref);
    size_t ndiv = stop + 1 - starting;
    double *div = malloc(ndiv * sizeof *div);
    for (size_t i = starting; i <= stop; i++) {
        for (size_t k = 0; k <= nq; k++) space[k] = (double)k * ((double)i / (double)nq);
        space[nq] = (double)i;
        /* np.digitize(j, space) - 1: the edges <= j, less one (j ascends, so c does) */
        long c = 0;
        for (size_t j = 0; j < i; j++) {
            while (c <= (long)nq && space[c] <= (double)j) c++;
            dig[j] = bins[j] == 0 ? -1 : c - 1;
        }
        for (size_t d = 0; d < nq; d++) ndc[d] = 0, counter[d] = 0;
        for (size_t j = 0; j < i; j++)
            if (dig[j] != -1) ndc[dig[j]] += bins[j], counter[dig[j]]++;
        for (size_t d = 0; d < nq; d++)
            if (counter[d]) ndc[d] = ndc[d] / (double)counter[d];
        for (size_t j = 0; j < i; j++) nd[j] = dig[j] != -1 ? ndc[dig[j]] : 0;
        double tail = 0;
        for (size_t j = i; j < nb; j++) tail += bins[j];
        for (size_t j = 0; j < i; j++) ref[j] = bins[j];
        ref[i - 1] += tail;
        double sp = 0, sq = 0, s = 0;
        for (size_t j = 0; j < i; j++) sp += ref[j];
        for (size_t j = 0; j < i; j++) sq += nd[j];
        for (size_t j = 0; j < i; j++) s += rel_entr(ref[j] / sp, nd[j] / sq);
        div[i - starting] = s;
    }
    /* last_argmin = len - 1 - np.argmin(div[::-1]); np.argmin stops at the first NaN */
    size_t am = 0;
    for (size_t r = 0; r < ndiv; r++) {
        double v = div[ndiv - 1 - r];
        if (isnan(v)) { am = r; break; }
        if (v < div[ndiv - 1 - am]) am = r;
    }
    size_t last = ndiv - 1 - am;
    float res = ref_edge(h, last + starting);
    free(bins), free(space), free(ndc), free(counter), free(dig), free(nd), free(ref), free(div);
    return res;
}

static double get_norm(double delta_begin, double delta_end, double density) {
    double norm = (delta_end * delta_end * delta_end - delta_begin * delta_begin * delta_begin) / 3;
    return density * norm;
}

static double quant_error(const ref_hist *h, size_t next_start_bin, size_t next_end_bin, int bits) {
    double bin_width = ((double)h->hi - (double)h->lo) / (double)h->nbins;
    double dst_nbins = pow(2.0, bits);
    double dst_bin_width = bin_width * (double)(next_end_bin - next_start_bin + 1) / dst_nbins;
    if (dst_bin_width == 0.0) return 0.0;
    double norm_sum = 0;
    for (size_t src_bin = 0; src_bin < h->nbins; src_bin++) {
        double src_bin_begin = ((double)src_bin - (double)next_start_bin) * bin_width;
        double src_bin_end = src_bin_begin + bin_width;
        double dbb = fmin(fmax(floor(src_bin_begin / dst_bin_width), 0), dst_nbins - 1);
        double dbb_center = (dbb + 0.5) * dst_bin_width;
        double dbe = fmin(fmax(floor(src_bin_end / dst_bin_width), 0), dst_nbins - 1);
        double density = (double)h->counts[src_bin] / bin_width;
        double norm = 0;
        norm += get_norm(src_bin_begin - dbb_center, dst_bin_width / 2, density);
        norm += (dbe - dbb - 1) * get_norm(-dst_bin_width / 2, dst_bin_width / 2, density);
        double dbe_center = dbe * dst_bin_width + dst_bin_width / 2;
        norm += get_norm(-dst_bin_width / 2, src_bin_end - dbe_center, density);
        norm_sum += norm;
    }
    return norm_sum;
}

void ref_hist_l2(const ref_hist *h, int bits, float *lo, float *hi) {
    size_t bins = h->nbins;
    double *csum = malloc(bins * sizeof *csum), total = 0;
    for (size_t b = 0; b < bins; b++) csum[b] = total = total + (double)h->counts[b];
    double stepsize = 1e-5, alpha = 0.0, beta = 1.0, norm_min = INFINITY;
    size_t start_bin = 0, end_bin = bins - 1;
    while (alpha < beta) {
        double next_alpha = alpha + stepsize, next_beta = beta - stepsize;
        size_t l = start_bin, r = end_bin;
        while (l < end_bin && csum[l] < next_alpha * total) l = l + 1;
        while (r > start_bin && csum[r] > next_beta * total) r = r - 1;
        size_t next_start_bin = start_bin, next_end_bin = end_bin;
        if ((l - start_bin) > (end_bin - r)) {
            next_start_bin = l;
            alpha = next_alpha;
        } else {
            next_end_bin = r;
            beta = next_beta;
        }
        if (next_start_bin == start_bin && next_end_bin == end_bin) continue;
        double norm = quant_error(h, next_start_bin, next_end_bin, bits);
        if (norm > norm_min) break;
        norm_min = norm;
        start_bin = next_start_bin;
        end_bin = next_end_bin;
    }
    free(csum);
    float bin_width = (h->hi - h->lo) / (float)bins;
    *lo = h->lo + bin_width * (float)start_bin;
    *hi = h->lo + bin_width * (float)(end_bin + 1);
}
