/* calib_hist_search.c: the range searches of the histogram methods (calib_hist.h),
 * on the host state, so every backend gets the same bits from the same counts. Each
 * follows its reference step by step (docs/NUMERICS.md, "Calibration: histogram
 * methods"): float64 where the reference is numpy / Python floats, f32 where it is a
 * float32 tensor op whose rounding reaches the result. */
#include <math.h>
#include <stdlib.h>

#include "calib_hist.h"

/* Bin edge i of the state (lo + i * width, in double), as f32. */
static float edge(const clq_hist *h, size_t i) {
    return (float)((double)h->lo + ((double)h->hi - (double)h->lo) * (double)i / (double)h->nbins);
}

static double total_of(const clq_hist *h) {
    double t = 0.0;
    for (size_t b = 0; b < h->nbins; b++) t += (double)h->counts[b];
    return t;
}

/* ONNX Runtime's compute_percentile (symmetric): cdf = cumsum(hist / total), the
 * edge at searchsorted(cdf, p / 100) (first bin whose cdf reaches it; nbins if none). */
static float amax_percentile(const clq_hist *h, double percentile) {
    double total = total_of(h), want = percentile / 100.0, cdf = 0.0;
    size_t i = 0;
    for (; i < h->nbins; i++) {
        cdf += (double)h->counts[i] / total;
        if (cdf >= want) break;
    }
    return edge(h, i);
}

/* pytorch-quantization's _compute_amax_mse (unsigned False): each bin centre from
 * start bin 128 as amax, the centres fake-quantized in f32 as fake_tensor_quant does
 * (scale = maxbound / amax, round half even, clamp, / scale; amax <= 2^-24 gives 0),
 * the count-weighted mean squared error, the first argmin. */
static float amax_mse(const clq_hist *h, int bits) {
    size_t nb = h->nbins, start = nb > 128 ? 128 : 0;
    float *centre = malloc(nb * sizeof *centre);
    if (!centre) return NAN;
    float e0 = edge(h, 0);
    for (size_t i = 0; i < nb; i++) {
        float e1 = edge(h, i + 1);
        centre[i] = (e0 + e1) / 2.0f;
        e0 = e1;
    }
    const float maxb = (float)((1 << (bits - 1)) - 1);
    double best = INFINITY;
    size_t arg = start;
    for (size_t i = start; i < nb; i++) {
        float amax = centre[i];
        int zero = amax <= 0x1p-24f;
        float scale = zero ? 1.0f : maxb / amax;
        double sum = 0.0;
        for (size_t j = 0; j < nb; j++) {
            float q = 0.0f;
            if (!zero) {
                q = rintf(centre[j] * scale);
                q = q < -maxb ? -maxb : q > maxb ? maxb : q;
                q = q / scale;
            }
            double d = (double)(q - centre[j]);
            sum += d * d * (double)h->counts[j];
        }
        double mse = sum / (double)nb;
        if (mse < best) best = mse, arg = i;
    }
    float r = centre[arg];
    free(centre);
    return r;
}

/* scipy.special.rel_entr */
static double rel_entr(double x, double y) {
    if (isnan(x) || isnan(y)) return NAN;
    if (x > 0 && y > 0) return x * log(x / y);
    if (x == 0 && y >= 0) return 0.0;
    return INFINITY;
}

/* pytorch-quantization's _compute_amax_entropy (unsigned False, stride 1, start bin
 * 128): bin 0 takes bin 1's count; for each i in [128, nbins], P = the first i bins
 * with the rest added to the last, Q = the first i bins merged into 2^(bits-1) groups
 * (bin j in group floor(j * nq / i): np.digitize on linspace(0, i, nq + 1), exact
 * since nq is a power of two) and each group's sum spread evenly over its non-zero
 * bins; KL(P || Q) as scipy.stats.entropy (both normalised by their sums); the last
 * i of the least divergence (np.argmin picks a NaN first), amax = edge i. */
static float amax_entropy(const clq_hist *h, int bits) {
    size_t nb = h->nbins, nq = (size_t)1 << (bits - 1), start = nb > 128 ? 128 : nb;
    double *bins = malloc(nb * sizeof *bins), *q = malloc(nb * sizeof *q);
    double *gsum = malloc(nq * sizeof *gsum);
    size_t *gcnt = malloc(nq * sizeof *gcnt);
    float r = NAN;
    if (!bins || !q || !gsum || !gcnt) goto done;
    for (size_t b = 0; b < nb; b++) bins[b] = (double)h->counts[b];
    if (nb > 1) bins[0] = bins[1];
    double tail = 0.0; /* sum of bins[i:] */
    for (size_t b = start; b < nb; b++) tail += bins[b];
    double best = INFINITY;
    int best_nan = 0;
    size_t arg = start;
    for (size_t i = start; i <= nb; i++) {
        if (i > start) tail -= bins[i - 1];
        for (size_t g = 0; g < nq; g++) gsum[g] = 0.0, gcnt[g] = 0;
        for (size_t j = 0; j < i; j++)
            if (bins[j] != 0) gsum[j * nq / i] += bins[j], gcnt[j * nq / i]++;
        double sp = tail, sq = 0.0;
        for (size_t j = 0; j < i; j++) {
            size_t g = j * nq / i;
            q[j] = bins[j] != 0 ? gsum[g] / (double)gcnt[g] : 0.0;
            sp += bins[j];
            sq += q[j];
        }
        double kl = 0.0;
        for (size_t j = 0; j < i; j++) {
            double p = j + 1 == i ? bins[j] + tail : bins[j];
            kl += rel_entr(p / sp, q[j] / sq);
        }
        /* the last argmin, NaN below every number */
        if (isnan(kl))
            best_nan = 1, arg = i;
        else if (!best_nan && kl <= best)
            best = kl, arg = i;
    }
    r = edge(h, arg);
done:
    free(bins);
    free(q);
    free(gsum);
    free(gcnt);
    return r;
}

/* PyTorch HistogramObserver._compute_quantization_error: the L2 error of quantizing
 * the bins [ns, ne] to dst bins of equal width, each source bin's density uniform. */
static double l2_error(const clq_hist *h, double bin_width, size_t ns, size_t ne, double dst) {
    double dw = bin_width * (double)(ne - ns + 1) / dst;
    if (dw == 0.0) return 0.0;
    double half3 = (dw / 2) * (dw / 2) * (dw / 2), norm = 0.0;
    for (size_t i = 0; i < h->nbins; i++) {
        double begin = ((double)i - (double)ns) * bin_width, end = begin + bin_width;
        double db = floor(begin / dw), de = floor(end / dw);
        db = db < 0 ? 0 : db > dst - 1 ? dst - 1 : db;
        de = de < 0 ? 0 : de > dst - 1 ? dst - 1 : de;
        double density = (double)h->counts[i] / bin_width;
        double d0 = begin - (db + 0.5) * dw, d1 = end - (de * dw + dw / 2);
        /* torch's three vector terms per bin, then the bins' sum */
        double bin = density * ((half3 - d0 * d0 * d0) / 3);
        bin += (de - db - 1) * (density * ((half3 + half3) / 3));
        bin += density * ((d1 * d1 * d1 + half3) / 3);
        norm += bin;
    }
    return norm;
}

/* First index >= from whose cumulative count reaches t (csum non-decreasing). */
static size_t first_at_least(const double *csum, size_t nb, double t) {
    size_t a = 0, b = nb;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (csum[m] >= t) b = m;
        else a = m + 1;
    }
    return a;
}

/* PyTorch HistogramObserver._non_linear_param_search: alpha / beta stepped by 1e-5
 * (Python floats), the cheaper side's bin moved in, stop when the error grows; the
 * scans for l and r are binary searches on the cumulative counts (the same bins). The
 * result as PyTorch's float32 tensors compute it: min + width * start_bin, min +
 * width * (end_bin + 1), width = (max - min) / bins. */
static clq_status range_l2(const clq_hist *h, int bits, float *lo, float *hi) {
    size_t nb = h->nbins;
    double *csum = malloc(nb * sizeof *csum);
    if (!csum) return CLQ_ERROR_OUT_OF_MEMORY;
    double acc = 0.0;
    for (size_t b = 0; b < nb; b++) acc += (double)h->counts[b], csum[b] = acc;
    double total = acc, bin_width = ((double)h->hi - (double)h->lo) / (double)nb;
    double dst = (double)((size_t)1 << bits), alpha = 0.0, beta = 1.0, norm_min = INFINITY;
    size_t start_bin = 0, end_bin = nb - 1;
    while (alpha < beta) {
        double next_alpha = alpha + 1e-5, next_beta = beta - 1e-5;
        size_t l = first_at_least(csum, nb, next_alpha * total);
        l = l < start_bin ? start_bin : l > end_bin ? end_bin : l;
        /* last index whose csum is <= next_beta * total: one before the first above it */
        size_t a = 0, b = nb;
        while (a < b) {
            size_t m = a + (b - a) / 2;
            if (csum[m] > next_beta * total) b = m;
            else a = m + 1;
        }
        size_t r = a == 0 ? start_bin : a - 1; /* csum[a - 1] <= t < csum[a] */
        r = r < start_bin ? start_bin : r > end_bin ? end_bin : r;
        size_t ns = start_bin, ne = end_bin;
        if (l - start_bin > end_bin - r)
            ns = l, alpha = next_alpha;
        else
            ne = r, beta = next_beta;
        if (ns == start_bin && ne == end_bin) continue;
        double norm = l2_error(h, bin_width, ns, ne, dst);
        if (norm > norm_min) break;
        norm_min = norm;
        start_bin = ns, end_bin = ne;
    }
    free(csum);
    float w = (h->hi - h->lo) / (float)nb;
    *lo = h->lo + w * (float)start_bin;
    *hi = h->lo + w * (float)(end_bin + 1);
    return CLQ_SUCCESS;
}

clq_status clq__hist_range(const clq_hist *h, clq_calib_method method, double percentile,
                           int bits, clq_scheme scheme, float *lo, float *hi) {
    (void)scheme; /* none of the four depends on it: |x| methods are symmetric */
    int abs_method = method == CLQ_CALIB_PERCENTILE || method == CLQ_CALIB_MSE ||
                     method == CLQ_CALIB_ENTROPY;
    if ((!abs_method && method != CLQ_CALIB_L2) || abs_method != h->absolute || bits < 2 ||
        bits > 16 || (method == CLQ_CALIB_PERCENTILE && !(percentile > 0 && percentile <= 100)))
        return CLQ_ERROR_INVALID_ARGUMENT;
    if (h->empty) {
        *lo = *hi = 0.0f;
        return CLQ_SUCCESS;
    }
    if (!(h->hi > h->lo)) { /* one value: every search gives it */
        *lo = abs_method ? (h->hi > 0 ? -h->hi : 0.0f) : h->lo;
        *hi = h->hi;
        return CLQ_SUCCESS;
    }
    if (method == CLQ_CALIB_L2) return range_l2(h, bits, lo, hi);
    float amax = method == CLQ_CALIB_PERCENTILE ? amax_percentile(h, percentile)
                 : method == CLQ_CALIB_MSE      ? amax_mse(h, bits)
                                                : amax_entropy(h, bits);
    if (amax != amax) return CLQ_ERROR_OUT_OF_MEMORY;
    *lo = amax > 0 ? -amax : 0.0f;
    *hi = amax > 0 ? amax : 0.0f;
    return CLQ_SUCCESS;
}
