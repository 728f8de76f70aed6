/* cpu_histogram.c: the calibration histogram on the CPU: the input split into
 * contiguous slices (up to 8 per pool thread), each counted into its own sub-histograms
 * (scratch), merged into the uint32 counts at the end (addition of counts is
 * exact and order-free, so the split never changes the result); and the portable
 * kernel. The SIMD kernels are in cpu_histogram_simd.c. */
#include <math.h>

#include "cpu_convert.h"
#include "cpu_internal.h"

/* The bin of v under cfg's rule (backend.h): (v - lo) and the product each rounded
 * to f32 (-ffp-contract=off), a NaN product (Inf * 0) to bin 0, then the clamp;
 * p is >= 0 there, so truncation is floor. NaN v goes to the sink, bin nbins. */
static inline uint32_t hist_bin(const clq_cpu_histcfg *cfg, float v) {
    if (cfg->absolute) v = fabsf(v);
    if (v != v) return cfg->nbins;
    float t = v - cfg->lo;
    float p = t * cfg->inv_width;
    float top = (float)(cfg->nbins - 1);
    if (!(p > 0.0f)) p = 0.0f;
    if (p > top) p = top;
    return (uint32_t)p;
}

/* Exposed to the SIMD kernels' tails through the portable set's run. */
static void hk_run(const clq_cpu_histcfg *cfg, const void *x, size_t n, uint32_t *sub, size_t nsub) {
    size_t stride = (size_t)cfg->nbins + 1;
    for (size_t j = 0; j < n; j++)
        sub[(j % nsub) * stride + hist_bin(cfg, clq__load_float(cfg->xtype, x, j))]++;
}

const clq_cpu_hkernels clq__cpu_hk_portable = {hk_run};

/* Sub-histograms per slice: four break the store-to-load chains of a narrow
 * distribution (most elements in a few bins) while they stay in L1 for the default
 * 2048 bins; a large histogram misses the cache whatever the split, so one. */
static size_t hist_nsub(size_t nbins) { return nbins <= 4096 ? 4 : 1; }

typedef struct hist_job {
    const clq_cpu_hkernels *k;
    clq_cpu_histcfg cfg;
    const char *x;
    size_t xs, n, per_slice, nsub;
    uint32_t *work; /* slice s at work + s * nsub * (nbins + 1) */
} hist_job;

static void hist_slice(void *arg, size_t s) {
    const hist_job *j = arg;
    size_t span = j->nsub * ((size_t)j->cfg.nbins + 1);
    uint32_t *sub = j->work + s * span;
    for (size_t i = 0; i < span; i++) sub[i] = 0;
    size_t e0 = s * j->per_slice, left = e0 < j->n ? j->n - e0 : 0;
    size_t len = left < j->per_slice ? left : j->per_slice;
    /* kernel calls of at most CLQ_CPU_CHUNK elements, so the element index j % nsub
     * of each call stays a small number (a kernel may count in 32-bit lanes) */
    for (size_t e = 0; e < len; e += CLQ_CPU_CHUNK) {
        size_t m = len - e < CLQ_CPU_CHUNK ? len - e : CLQ_CPU_CHUNK;
        j->k->run(&j->cfg, j->x + (e0 + e) * j->xs, m, sub, j->nsub);
    }
}

clq_status clq__cpu_histogram(clq_context *ctx, const clq_histogram_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    size_t nbins = op->nbins;
    /* 8 slices per thread, handed out as they free up, so a thread that the OS
     * preempts holds back an eighth of its share, not all of it (a slice per thread ran
     * at half speed on the shared machine); at least 4 chunks each, so zeroing and
     * merging a slice's 4 x (nbins + 1) counts stays small next to its elements */
    size_t threads = (size_t)clq__cpu_pool_threads(st->pool);
    size_t nslices = clq__cpu_nchunks(op->n, 4 * CLQ_CPU_CHUNK);
    if (nslices > 8 * threads) nslices = 8 * threads;
    size_t nsub = hist_nsub(nbins), span = nsub * (nbins + 1);
    /* and, past one per thread, no more slices than leave each as many elements as it
     * has counts: with 2^24 bins, 16 slices of 64 MiB for a 1M-element batch cost 3.4 s */
    size_t by_span = op->n / span > threads ? op->n / span : threads;
    if (nslices > by_span) nslices = by_span;
    if (nslices == 0) nslices = 1;
    clq_buffer *wb;
    clq_status s = clq__scratch(ctx, CLQ_SCRATCH_WORK, nslices * span * sizeof(uint32_t), &wb);
    if (s != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return s;
    hist_job j = {st->k.histogram,
                  {op->xtype, op->absolute, op->lo, op->inv_width, (uint32_t)nbins},
                  clq__cpu_span_ptr(op->x), clq__cpu_dtype_size(op->xtype), op->n,
                  clq__cpu_nchunks(op->n, nslices), nsub, wb->host};
    if (op->n > 0) clq__cpu_parallel(st->pool, nslices, hist_slice, &j);
    uint32_t *counts = clq__cpu_span_ptr(op->counts);
    size_t used = op->n > 0 ? nslices : 0; /* every slice zeroed its own */
    for (size_t b = 0; b < nbins; b++) {
        uint32_t c = 0;
        for (size_t sl = 0; sl < used; sl++)
            for (size_t u = 0; u < nsub; u++) c += j.work[sl * span + u * (nbins + 1) + b];
        counts[b] = c;
    }
    return CLQ_SUCCESS;
}
