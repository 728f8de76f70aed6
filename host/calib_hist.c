/* calib_hist.c: the calibrators' histogram state (calib_hist.h): a batch added through
 * the device histogram op, the range grown by merging bin pairs, and the state's
 * serialisation. The range searches are in calib_hist_search.c. */
#include "calib_hist.h"
#include "le_bytes.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Largest batch piece one op call takes (backend.h: n < 2^32). */
#define HIST_PIECE ((size_t)1 << 31)
/* Doublings one batch may need: a width of the smallest f32 subnormal grows past
 * FLT_MAX in 277, so a finite batch never needs more (the f32 check stops it first). */
#define HIST_MAX_DOUBLINGS 320

clq_status clq__hist_init(clq_hist *h, size_t nbins, int absolute) {
    memset(h, 0, sizeof *h);
    if (nbins < 1 || nbins > CLQ_HIST_MAX_BINS) return CLQ_ERROR_INVALID_ARGUMENT;
    h->counts = calloc(nbins, sizeof *h->counts);
    if (!h->counts) return CLQ_ERROR_OUT_OF_MEMORY;
    h->nbins = nbins;
    h->absolute = absolute != 0;
    h->empty = 1;
    return CLQ_SUCCESS;
}

void clq__hist_free(clq_hist *h) {
    free(h->counts);
    h->counts = NULL;
}

/* The op's inv_width for nbins bins over [lo, hi]: 0 for a zero width (every value in
 * bin 0), capped at FLT_MAX where nbins / width would overflow f32. */
static float inv_width_of(size_t nbins, float lo, float hi) {
    if (!(hi > lo)) return 0.0f;
    double inv = (double)nbins / ((double)hi - (double)lo);
    return inv > FLT_MAX ? FLT_MAX : (float)inv;
}

/* The device op's rule (backend.h) for one value, for the counts a zero-width state
 * moves when it widens. */
static size_t bin_of(float v, size_t nbins, float lo, float inv) {
    float p = (v - lo) * inv;
    float top = (float)(nbins - 1);
    if (!(p > 0.0f)) p = 0.0f;
    if (p > top) p = top;
    return (size_t)p;
}

/* How a batch changes the range: the new [lo, hi] and the doublings that lead there
 * (at_hi[k]: the k-th keeps hi and extends below lo, else keeps lo); a zero-width state
 * is replaced by the union instead (widen). */
typedef struct hist_plan {
    float lo, hi;
    int widen;
    int ndouble;
    unsigned char at_hi[HIST_MAX_DOUBLINGS];
} hist_plan;

static clq_status plan_range(clq_context *ctx, const clq_hist *h, float blo, float bhi,
                             hist_plan *p) {
    memset(p, 0, sizeof *p);
    if (h->empty) {
        p->lo = blo, p->hi = bhi;
        return CLQ_SUCCESS;
    }
    float lo = h->lo, hi = h->hi;
    if (blo >= lo && bhi <= hi) {
        p->lo = lo, p->hi = hi;
        return CLQ_SUCCESS;
    }
    if (!(hi > lo)) {
        p->widen = 1;
        p->lo = blo < lo ? blo : lo;
        p->hi = bhi > hi ? bhi : hi;
        return CLQ_SUCCESS;
    }
    while (!(blo >= lo && bhi <= hi)) {
        if (p->ndouble == HIST_MAX_DOUBLINGS)
            return clq__error(ctx, CLQ_ERROR_INTERNAL, "histogram: range growth did not converge");
        double w = (double)hi - (double)lo;
        /* the end that still has to move; both: the one further out (the other follows) */
        int at_hi = !h->absolute && blo < lo && (bhi <= hi || (double)lo - blo > (double)bhi - hi);
        double nlo = at_hi ? (double)hi - 2.0 * w : lo, nhi = at_hi ? hi : (double)lo + 2.0 * w;
        if (nlo < -FLT_MAX || nhi > FLT_MAX)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "x: values in [%g, %g] grow the histogram's range [%g, %g] past the "
                              "f32 range",
                              (double)blo, (double)bhi, (double)h->lo, (double)h->hi);
        p->at_hi[p->ndouble++] = (unsigned char)at_hi;
        lo = (float)nlo, hi = (float)nhi;
    }
    p->lo = lo, p->hi = hi;
    return CLQ_SUCCESS;
}

/* One doubling in place: bin k takes old bins 2k - off and 2k - off + 1 (off = nbins
 * when it keeps hi), those outside [0, nbins) empty. Reads stay ahead of writes in
 * the direction each form walks. */
static void merge_pairs(uint64_t *c, size_t nb, int at_hi) {
    if (!at_hi) {
        for (size_t k = 0; k < nb; k++) {
            uint64_t s = 0;
            if (2 * k < nb) s += c[2 * k];
            if (2 * k + 1 < nb) s += c[2 * k + 1];
            c[k] = s;
        }
        return;
    }
    for (size_t k = nb; k-- > 0;) {
        uint64_t s = 0;
        if (2 * k >= nb) s += c[2 * k - nb];
        if (2 * k + 1 >= nb) s += c[2 * k + 1 - nb];
        c[k] = s;
    }
}

/* The old counts carried into the planned range. */
static void apply_plan(const clq_hist *h, const hist_plan *p, uint64_t *c) {
    size_t nb = h->nbins;
    if (h->empty) {
        memset(c, 0, nb * sizeof *c);
        return;
    }
    memcpy(c, h->counts, nb * sizeof *c);
    if (p->widen) {
        uint64_t all = 0;
        for (size_t b = 0; b < nb; b++) all += c[b], c[b] = 0;
        c[bin_of(h->lo, nb, p->lo, inv_width_of(nb, p->lo, p->hi))] = all;
        return;
    }
    for (int k = 0; k < p->ndouble; k++) merge_pairs(c, nb, p->at_hi[k]);
}

clq_status clq__hist_add(clq_context *ctx, clq_hist *h, clq_dtype xtype, clq_span x, size_t n,
                         float bmin, float bmax, clq_pass pass) {
    if (n == 0) return CLQ_SUCCESS;
    float blo = bmin, bhi = bmax;
    if (h->absolute) {
        float a = fabsf(bmin), b = fabsf(bmax);
        blo = 0.0f, bhi = a > b ? a : b;
    }
    hist_plan plan;
    clq_status st = plan_range(ctx, h, blo, bhi, &plan);
    if (st != CLQ_SUCCESS) return st;
    size_t nb = h->nbins, xs = xtype == CLQ_F32 ? 4 : 2;
    clq_buffer *cb;
    st = clq__scratch(ctx, CLQ_SCRATCH_HIST, nb * sizeof(uint32_t), &cb);
    if (st != CLQ_SUCCESS) return st;
    clq_histogram_op op = {xtype, x, 0, h->absolute, plan.lo,
                           inv_width_of(nb, plan.lo, plan.hi), nb, {cb, 0}};
    if (pass == CLQ_PASS_PREPARE) {
        for (size_t e = 0; e < n && st == CLQ_SUCCESS; e += HIST_PIECE) {
            op.x.offset = x.offset + e * xs;
            op.n = n - e < HIST_PIECE ? n - e : HIST_PIECE;
            st = ctx->ops->histogram(ctx, &op, CLQ_PASS_PREPARE);
        }
        return st;
    }
    uint64_t *c = malloc(nb * sizeof *c);
    uint32_t *piece = malloc(nb * sizeof *piece);
    if (!c || !piece) {
        free(c);
        free(piece);
        return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "histogram: %zu bins on the host", nb);
    }
    apply_plan(h, &plan, c);
    uint64_t added = 0;
    for (size_t e = 0; e < n && st == CLQ_SUCCESS; e += HIST_PIECE) {
        op.x.offset = x.offset + e * xs;
        op.n = n - e < HIST_PIECE ? n - e : HIST_PIECE;
        st = ctx->ops->histogram(ctx, &op, CLQ_PASS_RUN);
        if (st == CLQ_SUCCESS) st = ctx->ops->buffer_read(cb, 0, nb * sizeof *piece, piece);
        for (size_t b = 0; b < nb && st == CLQ_SUCCESS; b++) c[b] += piece[b], added += piece[b];
    }
    /* a batch of NaN only leaves the state as it was (its range is not the data's) */
    if (st == CLQ_SUCCESS && added > 0) {
        memcpy(h->counts, c, nb * sizeof *c);
        h->lo = plan.lo, h->hi = plan.hi;
        h->empty = 0;
    }
    free(c);
    free(piece);
    return st;
}

/* ---- serialisation: u64 nbins, u32 flags (1 absolute, 2 empty), f32 lo, f32 hi,
 * u64 counts[nbins], all little-endian ---------------------------------------- */

#define HIST_HEAD 20

size_t clq__hist_state_size(const clq_hist *h) { return HIST_HEAD + 8 * h->nbins; }

void clq__hist_state_write(const clq_hist *h, unsigned char *dst) {
    clq__put_le(dst, h->nbins, 8);
    clq__put_le(dst + 8, (uint32_t)(h->absolute ? 1 : 0) | (uint32_t)(h->empty ? 2 : 0), 4);
    clq__put_le(dst + 12, clq__f32_bits(h->lo), 4);
    clq__put_le(dst + 16, clq__f32_bits(h->hi), 4);
    for (size_t b = 0; b < h->nbins; b++) clq__put_le(dst + HIST_HEAD + 8 * b, h->counts[b], 8);
}

clq_status clq__hist_state_read(clq_context *ctx, clq_hist *h, const unsigned char *src,
                                size_t bytes) {
    memset(h, 0, sizeof *h);
    if (bytes < HIST_HEAD)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "histogram state: %zu bytes, the header alone is %d", bytes, HIST_HEAD);
    uint64_t nbins = clq__get_le(src, 8);
    uint32_t flags = (uint32_t)clq__get_le(src + 8, 4);
    float lo = clq__bits_f32((uint32_t)clq__get_le(src + 12, 4)), hi = clq__bits_f32((uint32_t)clq__get_le(src + 16, 4));
    if (nbins < 1 || nbins > CLQ_HIST_MAX_BINS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "histogram state: nbins %llu is not in [1, %d]", (unsigned long long)nbins,
                          CLQ_HIST_MAX_BINS);
    if (bytes != HIST_HEAD + 8 * nbins)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "histogram state: %zu bytes, %llu bins need %llu", bytes,
                          (unsigned long long)nbins, (unsigned long long)(HIST_HEAD + 8 * nbins));
    if (flags & ~3u)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "histogram state: flags 0x%x has unknown bits", (unsigned)flags);
    int absolute = flags & 1, empty = (flags & 2) != 0;
    if (!isfinite(lo) || !isfinite(hi) || !(lo <= hi) || (absolute && lo != 0.0f) ||
        (empty && (lo != 0.0f || hi != 0.0f)))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "histogram state: range [%g, %g] is not a finite lo <= hi (lo 0 when "
                          "absolute, [0, 0] when empty)",
                          (double)lo, (double)hi);
    uint64_t total = 0;
    for (uint64_t b = 0; b < nbins; b++) {
        uint64_t c = clq__get_le(src + HIST_HEAD + 8 * b, 8);
        if (c > UINT64_MAX - total)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "histogram state: counts overflow 64 bits at bin %llu",
                              (unsigned long long)b);
        total += c;
    }
    if (empty != (total == 0))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "histogram state: %s flag with %llu counts", empty ? "empty" : "non-empty",
                          (unsigned long long)total);
    clq_status st = clq__hist_init(h, (size_t)nbins, absolute);
    if (st != CLQ_SUCCESS) return clq__error(ctx, st, "histogram state: %llu bins on the host",
                                             (unsigned long long)nbins);
    for (size_t b = 0; b < h->nbins; b++) h->counts[b] = clq__get_le(src + HIST_HEAD + 8 * b, 8);
    h->lo = lo, h->hi = hi;
    h->empty = empty;
    return CLQ_SUCCESS;
}
