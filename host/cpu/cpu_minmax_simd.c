/* cpu_minmax_simd.c: AVX-512 and AVX2 min/max kernels. vminps/vmaxps return
 * their second operand when either is NaN, so min(x, acc) skips NaN inputs as
 * long as acc itself never holds a NaN (it starts at +/-Inf). */
#include <math.h>

#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512 ------------------------------------------------------------ */

CLQ_T512 static void mm512_run(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    __m512 mn0 = _mm512_set1_ps(INFINITY), mn1 = mn0;
    __m512 mx0 = _mm512_set1_ps(-INFINITY), mx1 = mx0;
    size_t j = 0;
    size_t xs = clq__cpu_dtype_size(xt);
    for (; j + 32 <= n; j += 32) {
        clq__prefetch((const char *)x + j * xs);
        clq__prefetch((const char *)x + (j + 16) * xs);
        __m512 a = clq__ld512_full(xt, x, j), b = clq__ld512_full(xt, x, j + 16);
        mn0 = _mm512_min_ps(a, mn0);
        mx0 = _mm512_max_ps(a, mx0);
        mn1 = _mm512_min_ps(b, mn1);
        mx1 = _mm512_max_ps(b, mx1);
    }
    for (; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 a = clq__ld512(xt, x, j, m);
        mn0 = _mm512_mask_min_ps(mn0, m, a, mn0);
        mx0 = _mm512_mask_max_ps(mx0, m, a, mx0);
    }
    float lo = _mm512_reduce_min_ps(_mm512_min_ps(mn0, mn1));
    float hi = _mm512_reduce_max_ps(_mm512_max_ps(mx0, mx1));
    if (lo < *mn) *mn = lo;
    if (hi > *mx) *mx = hi;
}

CLQ_T512 static void mm512_vec(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        __m512 a = clq__ld512(xt, x, j, m);
        __m512 lo = _mm512_maskz_loadu_ps(m, mn + j), hi = _mm512_maskz_loadu_ps(m, mx + j);
        _mm512_mask_storeu_ps(mn + j, m, _mm512_min_ps(a, lo));
        _mm512_mask_storeu_ps(mx + j, m, _mm512_max_ps(a, hi));
    }
}

/* Blocks of 32: two vectors folded into +/-Inf, one reduction each; the input
 * type fixed per loop. */
CLQ_T512 CLQ_INLINE void mm512_b32_body(clq_dtype XT, const void *x, size_t nblk, float *mn,
                                        float *mx) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    const __m512 pinf = _mm512_set1_ps(INFINITY), ninf = _mm512_set1_ps(-INFINITY);
    for (size_t b = 0; b < nblk; b++) {
        for (size_t p = 0; p < 32 * xs; p += 64) clq__prefetch((const char *)x + b * 32 * xs + p);
        __m512 a = clq__ld512_full(XT, x, b * 32), c = clq__ld512_full(XT, x, b * 32 + 16);
        mn[b] = _mm512_reduce_min_ps(_mm512_min_ps(c, _mm512_min_ps(a, pinf)));
        mx[b] = _mm512_reduce_max_ps(_mm512_max_ps(c, _mm512_max_ps(a, ninf)));
    }
}

CLQ_T512 static void mm512_b32_f32(const void *x, size_t nblk, float *mn, float *mx) {
    mm512_b32_body(CLQ_F32, x, nblk, mn, mx);
}
CLQ_T512 static void mm512_b32_f16(const void *x, size_t nblk, float *mn, float *mx) {
    mm512_b32_body(CLQ_F16, x, nblk, mn, mx);
}
CLQ_T512 static void mm512_b32_bf16(const void *x, size_t nblk, float *mn, float *mx) {
    mm512_b32_body(CLQ_BF16, x, nblk, mn, mx);
}

CLQ_T512 static void mm512_blocks(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn,
                                  float *mx) {
    size_t xs = clq__cpu_dtype_size(xt);
    if (block == 32) {
        (xt == CLQ_F32 ? mm512_b32_f32 : xt == CLQ_F16 ? mm512_b32_f16 : mm512_b32_bf16)(x, nblk, mn, mx);
        return;
    }
    for (size_t b = 0; b < nblk; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
        mm512_run(xt, (const char *)x + b * block * xs, block, mn + b, mx + b);
    }
}

const clq_cpu_mmkernels clq__cpu_mmk_avx512 = {mm512_run, mm512_vec, mm512_blocks};

/* ---- AVX2 --------------------------------------------------------------- */

CLQ_T256 CLQ_INLINE float hmin256(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

CLQ_T256 CLQ_INLINE float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

CLQ_T256 static void mm256_run(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    __m256 mn0 = _mm256_set1_ps(INFINITY), mn1 = mn0;
    __m256 mx0 = _mm256_set1_ps(-INFINITY), mx1 = mx0;
    size_t j = 0;
    size_t xs = clq__cpu_dtype_size(xt);
    for (; j + 16 <= n; j += 16) {
        clq__prefetch((const char *)x + j * xs);
        clq__prefetch((const char *)x + (j + 8) * xs);
        __m256 a = clq__ld256(xt, x, j), b = clq__ld256(xt, x, j + 8);
        mn0 = _mm256_min_ps(a, mn0);
        mx0 = _mm256_max_ps(a, mx0);
        mn1 = _mm256_min_ps(b, mn1);
        mx1 = _mm256_max_ps(b, mx1);
    }
    float lo = hmin256(_mm256_min_ps(mn0, mn1)), hi = hmax256(_mm256_max_ps(mx0, mx1));
    for (; j < n; j++) clq__minmax_one(clq__load_float(xt, x, j), &lo, &hi);
    if (lo < *mn) *mn = lo;
    if (hi > *mx) *mx = hi;
}

CLQ_T256 static void mm256_vec(clq_dtype xt, const void *x, size_t n, float *mn, float *mx) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        __m256 a = clq__ld256(xt, x, j);
        _mm256_storeu_ps(mn + j, _mm256_min_ps(a, _mm256_loadu_ps(mn + j)));
        _mm256_storeu_ps(mx + j, _mm256_max_ps(a, _mm256_loadu_ps(mx + j)));
    }
    for (; j < n; j++) clq__minmax_one(clq__load_float(xt, x, j), mn + j, mx + j);
}

/* Blocks of 32: four vectors folded into +/-Inf (NaN skipped as in mm256_run),
 * then one horizontal reduction per block; the input type fixed per loop. */
CLQ_T256 CLQ_INLINE void mm256_b32_body(clq_dtype XT, const void *x, size_t nblk, float *mn,
                                        float *mx) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    const __m256 pinf = _mm256_set1_ps(INFINITY), ninf = _mm256_set1_ps(-INFINITY);
    for (size_t b = 0; b < nblk; b++) {
        for (size_t p = 0; p < 32 * xs; p += 64) clq__prefetch((const char *)x + b * 32 * xs + p);
        __m256 lo = pinf, hi = ninf;
        for (size_t i = 0; i < 32; i += 8) {
            __m256 a = clq__ld256(XT, x, b * 32 + i);
            lo = _mm256_min_ps(a, lo);
            hi = _mm256_max_ps(a, hi);
        }
        mn[b] = hmin256(lo);
        mx[b] = hmax256(hi);
    }
}

CLQ_T256 static void mm256_b32_f32(const void *x, size_t nblk, float *mn, float *mx) {
    mm256_b32_body(CLQ_F32, x, nblk, mn, mx);
}
CLQ_T256 static void mm256_b32_f16(const void *x, size_t nblk, float *mn, float *mx) {
    mm256_b32_body(CLQ_F16, x, nblk, mn, mx);
}
CLQ_T256 static void mm256_b32_bf16(const void *x, size_t nblk, float *mn, float *mx) {
    mm256_b32_body(CLQ_BF16, x, nblk, mn, mx);
}

CLQ_T256 static void mm256_blocks(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn,
                                  float *mx) {
    size_t xs = clq__cpu_dtype_size(xt);
    if (block == 32) {
        (xt == CLQ_F32 ? mm256_b32_f32 : xt == CLQ_F16 ? mm256_b32_f16 : mm256_b32_bf16)(x, nblk, mn, mx);
        return;
    }
    for (size_t b = 0; b < nblk; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
        mm256_run(xt, (const char *)x + b * block * xs, block, mn + b, mx + b);
    }
}

const clq_cpu_mmkernels clq__cpu_mmk_avx2 = {mm256_run, mm256_vec, mm256_blocks};

#endif /* CLQ_CPU_X86 */
