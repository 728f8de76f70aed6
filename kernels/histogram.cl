/* histogram.cl: the calibration histogram (host/backend.h, clq_histogram_op). Each work
 * group counts its per_group elements into sub-histograms in local memory, then adds
 * them to the global uint32 counts with atomic_add; addition of counts is exact and
 * order-free, so the split never changes the result. The binning is the CPU path's:
 * (v - lo) and the product each rounded to f32 (common.cl turns contraction off),
 * a NaN product to bin 0 (fmax returns the non-NaN operand), the clamp, truncation
 * (p >= 0 there, so floor). NaN inputs give nbins, which nothing counts. */

/* Sub-histograms in the local array, up to 4, so that back-to-back increments of one
 * bin (a narrow distribution) go to different arrays; its last element is the serial
 * path's sink for NaN lanes. */
inline uint hist_nsub(uint nbins) {
    uint s = (CLQ_HIST_LOCAL_BINS - 1) / nbins;
    return s > 4 ? 4 : s;
}

inline uint hist_bin1(float v, int absolute, float lo, float inv, uint nbins) {
    if (absolute) v = fabs(v);
    if (isnan(v)) return nbins;
    float p = (v - lo) * inv;
    return convert_uint(fmin(fmax(p, 0.0f), (float)(nbins - 1)));
}

inline uintv hist_binv(floatv v, int absolute, float lo, float inv, uint nbins) {
    if (absolute) v = fabs(v);
    intv nan = isnan(v);
    floatv p = (v - lo) * inv;
    uintv b = CLQ_V(convert_uint)(fmin(fmax(p, 0.0f), (float)(nbins - 1)));
    return select(b, (uintv)(nbins), nan);
}

/* One increment per lane, the lanes named (no round trip through a private array,
 * which the compiler must reload after every store to the local one). */
#define HIST_INC8(h, i) \
    (h[(i).s0]++, h[(i).s1]++, h[(i).s2]++, h[(i).s3]++, h[(i).s4]++, h[(i).s5]++, h[(i).s6]++, \
     h[(i).s7]++)
#if CLQ_VEC == 16
#define HIST_INCV(h, i) (HIST_INC8(h, (i).lo), HIST_INC8(h, (i).hi))
#else
#define HIST_INCV(h, i) HIST_INC8(h, i)
#endif

kernel void histogram_zero(CLQ_PARAMS(histogram_zero)) {
    ulong b = get_global_id(0);
    if (b < nbins) counts[coff + b] = 0;
}

kernel void histogram(CLQ_PARAMS(histogram)) {
    local uint h[CLQ_HIST_LOCAL_BINS];
    const uint lid = (uint)get_local_id(0), lsz = (uint)get_local_size(0);
    const ulong e0 = (ulong)get_group_id(0) * per_group;
    const ulong e1 = min(e0 + per_group, n);
    global uint *c = counts + coff;
    if (mode == CLQ_HIST_GLOBAL) {
        for (ulong e = e0 + lid; e < e1; e += lsz) {
            uint b = hist_bin1(load1(x, xoff + e, xt), absolute, lo, inv_width, nbins);
            if (b < nbins) atomic_inc(&c[b]);
        }
    }
    /* the GLOBAL mode passes the barriers with nothing to do (no early return: every
     * item of a group reaches the same barriers) */
    const uint nsub = mode == CLQ_HIST_GLOBAL ? 0 : hist_nsub(nbins);
    for (uint i = lid; i < nsub * nbins; i += lsz) h[i] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (mode == CLQ_HIST_SERIAL) {
        /* the group's only work item: vectors of CLQ_VEC, lane k into sub-histogram
         * k % nsub through a per-lane offset, NaN lanes into the sink (no branch per
         * lane), plain increments (no other item shares the local array) */
        const uint sink = CLQ_HIST_LOCAL_BINS - 1;
        uintv off;
        uint offs[CLQ_VEC];
        for (uint k = 0; k < CLQ_VEC; k++) offs[k] = (k % nsub) * nbins;
        off = CLQ_V(vload)(0, offs);
        ulong e = e0;
        for (; e + CLQ_VEC <= e1; e += CLQ_VEC) {
            uintv b = hist_binv(loadv(x, xoff + e, xt), absolute, lo, inv_width, nbins);
            HIST_INCV(h, select(b + off, (uintv)(sink), b == (uintv)(nbins)));
        }
        for (uint k = 0; e < e1; e++, k++) {
            uint b = hist_bin1(load1(x, xoff + e, xt), absolute, lo, inv_width, nbins);
            if (b < nbins) h[(k % nsub) * nbins + b]++;
        }
    } else if (mode == CLQ_HIST_LOCAL) {
        local uint *mine = h + (lid % nsub) * nbins;
        for (ulong e = e0 + lid; e < e1; e += lsz) {
            uint b = hist_bin1(load1(x, xoff + e, xt), absolute, lo, inv_width, nbins);
            if (b < nbins) atomic_inc(&mine[b]);
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint b = lid; nsub && b < nbins; b += lsz) {
        uint s = 0;
        for (uint u = 0; u < nsub; u++) s += h[u * nbins + b];
        if (s) atomic_add(&c[b], s);
    }
}
