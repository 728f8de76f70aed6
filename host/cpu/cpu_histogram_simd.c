/* cpu_histogram_simd.c: AVX-512 and AVX2 histogram kernels. The binning is vector
 * code (the rule of backend.h lane by lane: sub, mul, max with 0 and min with
 * nbins - 1, truncation); the increments are scalar, lane k into sub-histogram
 * k % 4, so back-to-back increments of one bin land in different arrays and do not
 * wait for each other's store. vmaxps returns its second operand when either is NaN,
 * so max(p, 0) sends a NaN product to bin 0 as the scalar rule does; NaN inputs get
 * the sink bin nbins (never counted). Tails take the portable kernel. */
#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* The four sub-histograms (all one array when nsub is 1). */
#define HK_SUBS(sub, nsub, nbins)                                                          \
    size_t s1_ = (nsub) == 4 ? (size_t)(nbins) + 1 : 0;                                    \
    uint32_t *h0 = (sub), *h1 = (sub) + s1_, *h2 = (sub) + 2 * s1_, *h3 = (sub) + 3 * s1_
#define HK_INC4(idx, k) (h0[idx[(k)]]++, h1[idx[(k) + 1]]++, h2[idx[(k) + 2]]++, h3[idx[(k) + 3]]++)

/* ---- AVX-512 ------------------------------------------------------------ */

CLQ_T512 CLQ_INLINE __m512i hk512_bins(clq_dtype XT, const clq_cpu_histcfg *cfg, const void *x,
                                      size_t j, __m512 lo, __m512 inv, __m512 top) {
    __m512 v = clq__ld512_full(XT, x, j);
    if (cfg->absolute)
        v = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    __m512 p = _mm512_mul_ps(_mm512_sub_ps(v, lo), inv);
    p = _mm512_min_ps(_mm512_max_ps(p, _mm512_setzero_ps()), top);
    return _mm512_mask_mov_epi32(_mm512_cvttps_epi32(p), nan, _mm512_set1_epi32((int)cfg->nbins));
}

CLQ_T512 CLQ_INLINE void hk512_body(clq_dtype XT, const clq_cpu_histcfg *cfg, const void *x,
                                    size_t n, uint32_t *sub, size_t nsub) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    const __m512 lo = _mm512_set1_ps(cfg->lo), inv = _mm512_set1_ps(cfg->inv_width);
    const __m512 top = _mm512_set1_ps((float)(cfg->nbins - 1));
    HK_SUBS(sub, nsub, cfg->nbins);
    uint32_t idx[32] __attribute__((aligned(64)));
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        clq__prefetch((const char *)x + j * xs);
        clq__prefetch((const char *)x + (j + 16) * xs);
        _mm512_store_si512((void *)idx, hk512_bins(XT, cfg, x, j, lo, inv, top));
        _mm512_store_si512((void *)(idx + 16), hk512_bins(XT, cfg, x, j + 16, lo, inv, top));
        for (size_t k = 0; k < 32; k += 4) HK_INC4(idx, k);
    }
    clq__cpu_hk_portable.run(cfg, (const char *)x + j * xs, n - j, sub, nsub);
}

CLQ_T512 static void hk512_run(const clq_cpu_histcfg *cfg, const void *x, size_t n, uint32_t *sub,
                               size_t nsub) {
    if (cfg->xtype == CLQ_F32)
        hk512_body(CLQ_F32, cfg, x, n, sub, nsub);
    else if (cfg->xtype == CLQ_F16)
        hk512_body(CLQ_F16, cfg, x, n, sub, nsub);
    else
        hk512_body(CLQ_BF16, cfg, x, n, sub, nsub);
}

const clq_cpu_hkernels clq__cpu_hk_avx512 = {hk512_run};

/* ---- AVX2 --------------------------------------------------------------- */

CLQ_T256 CLQ_INLINE __m256i hk256_bins(clq_dtype XT, const clq_cpu_histcfg *cfg, const void *x,
                                      size_t j, __m256 lo, __m256 inv, __m256 top) {
    __m256 v = clq__ld256(XT, x, j);
    if (cfg->absolute)
        v = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    __m256 p = _mm256_mul_ps(_mm256_sub_ps(v, lo), inv);
    p = _mm256_min_ps(_mm256_max_ps(p, _mm256_setzero_ps()), top);
    return _mm256_blendv_epi8(_mm256_cvttps_epi32(p), _mm256_set1_epi32((int)cfg->nbins),
                              _mm256_castps_si256(nan));
}

CLQ_T256 CLQ_INLINE void hk256_body(clq_dtype XT, const clq_cpu_histcfg *cfg, const void *x,
                                    size_t n, uint32_t *sub, size_t nsub) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    const __m256 lo = _mm256_set1_ps(cfg->lo), inv = _mm256_set1_ps(cfg->inv_width);
    const __m256 top = _mm256_set1_ps((float)(cfg->nbins - 1));
    HK_SUBS(sub, nsub, cfg->nbins);
    uint32_t idx[16] __attribute__((aligned(32)));
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        clq__prefetch((const char *)x + j * xs);
        _mm256_store_si256((__m256i *)idx, hk256_bins(XT, cfg, x, j, lo, inv, top));
        _mm256_store_si256((__m256i *)(idx + 8), hk256_bins(XT, cfg, x, j + 8, lo, inv, top));
        for (size_t k = 0; k < 16; k += 4) HK_INC4(idx, k);
    }
    clq__cpu_hk_portable.run(cfg, (const char *)x + j * xs, n - j, sub, nsub);
}

CLQ_T256 static void hk256_run(const clq_cpu_histcfg *cfg, const void *x, size_t n, uint32_t *sub,
                               size_t nsub) {
    if (cfg->xtype == CLQ_F32)
        hk256_body(CLQ_F32, cfg, x, n, sub, nsub);
    else if (cfg->xtype == CLQ_F16)
        hk256_body(CLQ_F16, cfg, x, n, sub, nsub);
    else
        hk256_body(CLQ_BF16, cfg, x, n, sub, nsub);
}

const clq_cpu_hkernels clq__cpu_hk_avx2 = {hk256_run};

#endif /* CLQ_CPU_X86 */
