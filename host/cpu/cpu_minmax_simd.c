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

/* Rows, MM_ROWS at a time per strip of 16 pairs: the pairs are loaded and
 * stored once per MM_ROWS rows instead of once per row (4 measured better
 * than 2 or 8 on Zen 5: more rows are more streams in flight). */
#define MM_ROWS 4
CLQ_T512 CLQ_INLINE void mm512_rows_body(clq_dtype XT, const void *x, size_t n, size_t nrows,
                                         float *mn, float *mx) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    size_t r = 0;
    for (; r + MM_ROWS <= nrows; r += MM_ROWS) {
        const char *x0 = (const char *)x + r * n * xs;
        for (size_t j = 0; j < n; j += 16) {
            __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            __m512 lo = _mm512_maskz_loadu_ps(m, mn + j), hi = _mm512_maskz_loadu_ps(m, mx + j);
            for (size_t i = 0; i < MM_ROWS; i++) {
                clq__prefetch(x0 + (i * n + j) * xs);
                __m512 a = clq__ld512(XT, x0 + i * n * xs, j, m);
                lo = _mm512_min_ps(a, lo);
                hi = _mm512_max_ps(a, hi);
            }
            _mm512_mask_storeu_ps(mn + j, m, lo);
            _mm512_mask_storeu_ps(mx + j, m, hi);
        }
    }
    for (; r < nrows; r++) mm512_vec(XT, (const char *)x + r * n * xs, n, mn, mx);
}

CLQ_T512 static void mm512_rows(clq_dtype xt, const void *x, size_t n, size_t nrows, float *mn,
                                float *mx) {
    if (xt == CLQ_F32)
        mm512_rows_body(CLQ_F32, x, n, nrows, mn, mx);
    else if (xt == CLQ_F16)
        mm512_rows_body(CLQ_F16, x, n, nrows, mn, mx);
    else
        mm512_rows_body(CLQ_BF16, x, n, nrows, mn, mx);
}

/* clq__minmax_finish on 16 pairs: an empty pair ([+Inf, -Inf], never NaN here)
 * becomes [0, 0], -0.0 becomes +0.0 (by its bits, so DAZ cannot matter). */
CLQ_T512 CLQ_INLINE void mm512_fin(__m512 *lo, __m512 *hi) {
    const __m512i negz = _mm512_set1_epi32((int)0x80000000u);
    __mmask16 ok = _mm512_cmp_ps_mask(*lo, *hi, _CMP_LE_OQ);
    __mmask16 klo = ok & _mm512_cmpneq_epi32_mask(_mm512_castps_si512(*lo), negz);
    __mmask16 khi = ok & _mm512_cmpneq_epi32_mask(_mm512_castps_si512(*hi), negz);
    *lo = _mm512_maskz_mov_ps(klo, *lo);
    *hi = _mm512_maskz_mov_ps(khi, *hi);
}

CLQ_T512 static void mm512_finish(float *mn, float *mx, size_t n) {
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 lo = _mm512_maskz_loadu_ps(m, mn + j), hi = _mm512_maskz_loadu_ps(m, mx + j);
        mm512_fin(&lo, &hi);
        _mm512_mask_storeu_ps(mn + j, m, lo);
        _mm512_mask_storeu_ps(mx + j, m, hi);
    }
}

/* A store of results, non-temporal when asked and aligned. */
CLQ_T512 CLQ_INLINE void mm512_st(int stream, float *p, __m512 v) {
    if (stream && ((uintptr_t)p & 63) == 0)
        _mm512_stream_ps(p, v);
    else
        _mm512_storeu_ps(p, v);
}

/* Blocks of 32. Each block's two vectors fold into +/-Inf (NaN skipped), giving
 * a vector of 16 partials per block; 16 such vectors then reduce together, four
 * levels of (two shuffles, one min/max) that halve the partials per block and
 * double the blocks per vector, into one vector holding all 16 results: 6 ops
 * per block instead of a horizontal reduction (8) each. */
CLQ_T512 CLQ_INLINE __m512 mm512_op(int hi, __m512 a, __m512 b) {
    return hi ? _mm512_max_ps(a, b) : _mm512_min_ps(a, b);
}
/* [a | b] by 256-bit halves, 8 partials each */
CLQ_T512 CLQ_INLINE __m512 mm512_f1(int hi, __m512 a, __m512 b) {
    return mm512_op(hi, _mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xee));
}
/* a = [A | B], b = [C | D] to [A, B, C, D] by 128-bit lanes, 4 partials each */
CLQ_T512 CLQ_INLINE __m512 mm512_f2(int hi, __m512 a, __m512 b) {
    return mm512_op(hi, _mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xdd));
}
/* per 128-bit lane: 4 partials of a's block and of b's to 2 each */
CLQ_T512 CLQ_INLINE __m512 mm512_f3(int hi, __m512 a, __m512 b) {
    return mm512_op(hi, _mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xee));
}
/* per 128-bit lane: 2 partials each of a's two blocks and b's two to 1 each */
CLQ_T512 CLQ_INLINE __m512 mm512_f4(int hi, __m512 a, __m512 b) {
    return mm512_op(hi, _mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xdd));
}

/* Block b's 16 partials (x at block 0). */
CLQ_T512 CLQ_INLINE __m512 mm512_leaf(clq_dtype XT, int hi, const void *x, size_t b) {
    __m512 init = _mm512_set1_ps(hi ? -INFINITY : INFINITY);
    __m512 a = clq__ld512_full(XT, x, b * 32), c = clq__ld512_full(XT, x, b * 32 + 16);
    return mm512_op(hi, c, mm512_op(hi, a, init));
}

/* Leaf t of the tree is block (t % 4) * 4 + t / 4: the four levels leave lane
 * i * 4 + g of the result with leaf g * 4 + i. */
#define MM512_LEAF(T) mm512_leaf(XT, hi, x, ((T) % 4) * 4 + (T) / 4)
#define MM512_Q(T)                                                                        \
    mm512_f2(hi, mm512_f1(hi, MM512_LEAF(T), MM512_LEAF(T + 1)),                          \
             mm512_f1(hi, MM512_LEAF(T + 2), MM512_LEAF(T + 3)))
CLQ_T512 CLQ_INLINE __m512 mm512_b32x16(clq_dtype XT, int hi, const void *x) {
    __m512 p = mm512_f3(hi, MM512_Q(0), MM512_Q(4)), q = mm512_f3(hi, MM512_Q(8), MM512_Q(12));
    return mm512_f4(hi, p, q);
}
#undef MM512_Q
#undef MM512_LEAF

CLQ_T512 CLQ_INLINE void mm512_b32_body(clq_dtype XT, int stream, const void *x, size_t nblk,
                                        float *mn, float *mx) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    const __m512 pinf = _mm512_set1_ps(INFINITY), ninf = _mm512_set1_ps(-INFINITY);
    size_t b = 0;
    for (; b + 16 <= nblk; b += 16) {
        const char *xb = (const char *)x + b * 32 * xs;
        for (size_t p = 0; p < 16 * 32 * xs; p += 64) clq__prefetch(xb + p);
        /* both trees before any store, so the compiler shares their loads */
        __m512 lo = mm512_b32x16(XT, 0, xb), hi = mm512_b32x16(XT, 1, xb);
        mm512_fin(&lo, &hi);
        mm512_st(stream, mn + b, lo);
        mm512_st(stream, mx + b, hi);
    }
    for (; b < nblk; b++) {
        __m512 a = clq__ld512_full(XT, x, b * 32), c = clq__ld512_full(XT, x, b * 32 + 16);
        mn[b] = _mm512_reduce_min_ps(_mm512_min_ps(c, _mm512_min_ps(a, pinf)));
        mx[b] = _mm512_reduce_max_ps(_mm512_max_ps(c, _mm512_max_ps(a, ninf)));
        clq__minmax_finish(mn + b, mx + b);
    }
}

CLQ_T512 static void mm512_b32_f32(int stream, const void *x, size_t nblk, float *mn, float *mx) {
    mm512_b32_body(CLQ_F32, stream, x, nblk, mn, mx);
}
CLQ_T512 static void mm512_b32_f16(int stream, const void *x, size_t nblk, float *mn, float *mx) {
    mm512_b32_body(CLQ_F16, stream, x, nblk, mn, mx);
}
CLQ_T512 static void mm512_b32_bf16(int stream, const void *x, size_t nblk, float *mn, float *mx) {
    mm512_b32_body(CLQ_BF16, stream, x, nblk, mn, mx);
}

CLQ_T512 static void mm512_blocks(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn,
                                  float *mx, int stream) {
    size_t xs = clq__cpu_dtype_size(xt);
    if (block == 32) {
        (xt == CLQ_F32 ? mm512_b32_f32 : xt == CLQ_F16 ? mm512_b32_f16 : mm512_b32_bf16)(stream, x, nblk, mn, mx);
        return;
    }
    for (size_t b = 0; b < nblk; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
        mm512_run(xt, (const char *)x + b * block * xs, block, mn + b, mx + b);
        clq__minmax_finish(mn + b, mx + b);
    }
}

const clq_cpu_mmkernels clq__cpu_mmk_avx512 = {mm512_run, mm512_vec, mm512_rows, mm512_blocks,
                                               mm512_finish};

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

CLQ_T256 CLQ_INLINE void mm256_rows_body(clq_dtype XT, const void *x, size_t n, size_t nrows,
                                         float *mn, float *mx) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    size_t r = 0;
    for (; r + MM_ROWS <= nrows; r += MM_ROWS) {
        const char *x0 = (const char *)x + r * n * xs;
        size_t j = 0;
        for (; j + 8 <= n; j += 8) {
            __m256 lo = _mm256_loadu_ps(mn + j), hi = _mm256_loadu_ps(mx + j);
            for (size_t i = 0; i < MM_ROWS; i++) {
                clq__prefetch(x0 + (i * n + j) * xs);
                __m256 a = clq__ld256(XT, x0 + i * n * xs, j);
                lo = _mm256_min_ps(a, lo);
                hi = _mm256_max_ps(a, hi);
            }
            _mm256_storeu_ps(mn + j, lo);
            _mm256_storeu_ps(mx + j, hi);
        }
        for (size_t i = 0; i < MM_ROWS; i++)
            for (size_t c = j; c < n; c++)
                clq__minmax_one(clq__load_float(XT, x0 + i * n * xs, c), mn + c, mx + c);
    }
    for (; r < nrows; r++) mm256_vec(XT, (const char *)x + r * n * xs, n, mn, mx);
}

CLQ_T256 static void mm256_rows(clq_dtype xt, const void *x, size_t n, size_t nrows, float *mn,
                                float *mx) {
    if (xt == CLQ_F32)
        mm256_rows_body(CLQ_F32, x, n, nrows, mn, mx);
    else if (xt == CLQ_F16)
        mm256_rows_body(CLQ_F16, x, n, nrows, mn, mx);
    else
        mm256_rows_body(CLQ_BF16, x, n, nrows, mn, mx);
}

/* as mm512_fin */
CLQ_T256 CLQ_INLINE void mm256_fin(__m256 *lo, __m256 *hi) {
    const __m256i negz = _mm256_set1_epi32((int)0x80000000u);
    __m256 ok = _mm256_cmp_ps(*lo, *hi, _CMP_LE_OQ);
    __m256 zlo = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_castps_si256(*lo), negz));
    __m256 zhi = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_castps_si256(*hi), negz));
    *lo = _mm256_andnot_ps(zlo, _mm256_and_ps(ok, *lo));
    *hi = _mm256_andnot_ps(zhi, _mm256_and_ps(ok, *hi));
}

CLQ_T256 static void mm256_finish(float *mn, float *mx, size_t n) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 lo = _mm256_loadu_ps(mn + j), hi = _mm256_loadu_ps(mx + j);
        mm256_fin(&lo, &hi);
        _mm256_storeu_ps(mn + j, lo);
        _mm256_storeu_ps(mx + j, hi);
    }
    for (; j < n; j++) clq__minmax_finish(mn + j, mx + j);
}

CLQ_T256 CLQ_INLINE void mm256_st(int stream, float *p, __m256 v) {
    if (stream && ((uintptr_t)p & 31) == 0)
        _mm256_stream_ps(p, v);
    else
        _mm256_storeu_ps(p, v);
}

/* Blocks of 32: as the AVX-512 form (mm512_b32x16), each block's four vectors
 * folded into +/-Inf to 8 partials, then 8 blocks reduced together in three
 * levels into one vector of 8 results: the two in-lane levels first, so that the
 * cross-lane one, `vperm2f128` (a multi-uop instruction on Zen 1: the first order,
 * cross-lane first, took eight of them per 8 blocks), runs once per vector pair. */
CLQ_T256 CLQ_INLINE __m256 mm256_op(int hi, __m256 a, __m256 b) {
    return hi ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b);
}
/* [a's lanes folded | b's lanes folded] */
CLQ_T256 CLQ_INLINE __m256 mm256_f1(int hi, __m256 a, __m256 b) {
    return mm256_op(hi, _mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
}
/* per lane: 4 partials of a's block and b's to 2 each */
CLQ_T256 CLQ_INLINE __m256 mm256_f2(int hi, __m256 a, __m256 b) {
    return mm256_op(hi, _mm256_shuffle_ps(a, b, 0x44), _mm256_shuffle_ps(a, b, 0xee));
}
/* per lane: 2 partials each of a's two blocks and b's two to 1 each */
CLQ_T256 CLQ_INLINE __m256 mm256_f3(int hi, __m256 a, __m256 b) {
    return mm256_op(hi, _mm256_shuffle_ps(a, b, 0x88), _mm256_shuffle_ps(a, b, 0xdd));
}

CLQ_T256 CLQ_INLINE __m256 mm256_leaf(clq_dtype XT, int hi, const void *x, size_t b) {
    __m256 v = _mm256_set1_ps(hi ? -INFINITY : INFINITY);
    for (size_t i = 0; i < 32; i += 8) v = mm256_op(hi, clq__ld256(XT, x, b * 32 + i), v);
    return v;
}

/* Leaves in block order: f2 leaves each lane of v[i] with blocks 2i, 2i + 1; f3
 * each lane of w0 (w1) with one partial of blocks 0-3 (4-7) in order; f1 folds the
 * lanes into [blocks 0-3 | blocks 4-7]. */
CLQ_T256 CLQ_INLINE __m256 mm256_b32x8(clq_dtype XT, int hi, const void *x) {
    __m256 v[4];
    for (size_t i = 0; i < 4; i++)
        v[i] = mm256_f2(hi, mm256_leaf(XT, hi, x, 2 * i), mm256_leaf(XT, hi, x, 2 * i + 1));
    return mm256_f1(hi, mm256_f3(hi, v[0], v[1]), mm256_f3(hi, v[2], v[3]));
}

CLQ_T256 CLQ_INLINE void mm256_b32_body(clq_dtype XT, int stream, const void *x, size_t nblk,
                                        float *mn, float *mx) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    size_t b = 0;
    for (; b + 8 <= nblk; b += 8) {
        const char *xb = (const char *)x + b * 32 * xs;
        for (size_t p = 0; p < 8 * 32 * xs; p += 64) clq__prefetch(xb + p);
        __m256 lo = mm256_b32x8(XT, 0, xb), hi = mm256_b32x8(XT, 1, xb);
        mm256_fin(&lo, &hi);
        mm256_st(stream, mn + b, lo);
        mm256_st(stream, mx + b, hi);
    }
    for (; b < nblk; b++) {
        __m256 lo = mm256_leaf(XT, 0, x, b), hi = mm256_leaf(XT, 1, x, b);
        mn[b] = hmin256(lo);
        mx[b] = hmax256(hi);
        clq__minmax_finish(mn + b, mx + b);
    }
}

CLQ_T256 static void mm256_b32_f32(int stream, const void *x, size_t nblk, float *mn, float *mx) {
    mm256_b32_body(CLQ_F32, stream, x, nblk, mn, mx);
}
CLQ_T256 static void mm256_b32_f16(int stream, const void *x, size_t nblk, float *mn, float *mx) {
    mm256_b32_body(CLQ_F16, stream, x, nblk, mn, mx);
}
CLQ_T256 static void mm256_b32_bf16(int stream, const void *x, size_t nblk, float *mn, float *mx) {
    mm256_b32_body(CLQ_BF16, stream, x, nblk, mn, mx);
}

CLQ_T256 static void mm256_blocks(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn,
                                  float *mx, int stream) {
    size_t xs = clq__cpu_dtype_size(xt);
    if (block == 32) {
        (xt == CLQ_F32 ? mm256_b32_f32 : xt == CLQ_F16 ? mm256_b32_f16 : mm256_b32_bf16)(stream, x, nblk, mn, mx);
        return;
    }
    for (size_t b = 0; b < nblk; b++) {
        mn[b] = INFINITY;
        mx[b] = -INFINITY;
        mm256_run(xt, (const char *)x + b * block * xs, block, mn + b, mx + b);
        clq__minmax_finish(mn + b, mx + b);
    }
}

const clq_cpu_mmkernels clq__cpu_mmk_avx2 = {mm256_run, mm256_vec, mm256_rows, mm256_blocks,
                                             mm256_finish};

#endif /* CLQ_CPU_X86 */
