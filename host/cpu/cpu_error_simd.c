/* cpu_error_simd.c: AVX-512 and AVX2 error statistics kernels (cpu_internal.h,
 * clq_cpu_errkernels): a strip of columns' accumulators in registers over the rows,
 * the same f32 operations per element as the portable kernel (cpu_error.c), a lane
 * whose e is NaN masked out of every accumulator. */
#include <math.h>

#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512: 16 columns a strip ------------------------------------------ */

CLQ_T512 CLQ_INLINE void er512_strip(clq_dtype XT, clq_dtype YT, const void *x, size_t ldx,
                                     const void *y, size_t ldy, size_t j0, __mmask16 m,
                                     size_t nrows, const clq_cpu_erracc *a) {
    __m512 e2 = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_E2] + j0);
    __m512 ab = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_ABS] + j0);
    __m512 mx = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_MAX] + j0);
    __m512 x2 = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_X2] + j0);
    __m512 y2 = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_Y2] + j0);
    __m512 xy = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_XY] + j0);
    __m512i n = _mm512_maskz_loadu_epi32(m, a->n + j0);
    const __m512i one = _mm512_set1_epi32(1);
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    size_t xs = XT == CLQ_F32 ? 4 : 2, ys = YT == CLQ_F32 ? 4 : 2;
    for (size_t r = 0; r < nrows; r++) {
        const char *xr = (const char *)x + r * ldx * xs, *yr = (const char *)y + r * ldy * ys;
        clq__prefetch(xr + j0 * xs);
        clq__prefetch(yr + j0 * ys);
        __m512 xv = clq__ld512(XT, xr, j0, m), yv = clq__ld512(YT, yr, j0, m);
        __m512 e = _mm512_sub_ps(yv, xv);
        __mmask16 ok = _mm512_mask_cmp_ps_mask(m, e, e, _CMP_ORD_Q);
        __m512 ae = _mm512_and_ps(e, absmask);
        e2 = _mm512_mask_add_ps(e2, ok, e2, _mm512_mul_ps(e, e));
        ab = _mm512_mask_add_ps(ab, ok, ab, ae);
        mx = _mm512_mask_max_ps(mx, ok, mx, ae);
        x2 = _mm512_mask_add_ps(x2, ok, x2, _mm512_mul_ps(xv, xv));
        y2 = _mm512_mask_add_ps(y2, ok, y2, _mm512_mul_ps(yv, yv));
        xy = _mm512_mask_add_ps(xy, ok, xy, _mm512_mul_ps(xv, yv));
        n = _mm512_mask_add_epi32(n, ok, n, one);
    }
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_E2] + j0, m, e2);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_ABS] + j0, m, ab);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_MAX] + j0, m, mx);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_X2] + j0, m, x2);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_Y2] + j0, m, y2);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_XY] + j0, m, xy);
    _mm512_mask_storeu_epi32(a->n + j0, m, n);
}

/* One loop per (x type, y type), so the loads have no branch in the row loop. */
#define ER512_CASE(XT, YT)                                                                    \
    for (size_t j0 = 0; j0 < width; j0 += 16) {                                               \
        __mmask16 m = width - j0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (width - j0)) - 1); \
        er512_strip(XT, YT, x, ldx, y, ldy, j0, m, nrows, a);                                 \
    }
CLQ_T512 static void er512_rows(clq_dtype xt, const void *x, size_t ldx, clq_dtype yt,
                                const void *y, size_t ldy, size_t width, size_t nrows,
                                const clq_cpu_erracc *a) {
    if (yt == CLQ_F32) {
        if (xt == CLQ_F32) ER512_CASE(CLQ_F32, CLQ_F32)
        else if (xt == CLQ_F16) ER512_CASE(CLQ_F16, CLQ_F32)
        else ER512_CASE(CLQ_BF16, CLQ_F32)
    } else {
        ER512_CASE(xt, yt) /* y f16 / bf16 (tensor mode only): the generic strip */
    }
}

const clq_cpu_errkernels clq__cpu_errk_avx512 = {er512_rows};

/* ---- AVX2: 8 columns a strip, the columns past the last full strip scalar --- */

CLQ_T256 CLQ_INLINE void er256_strip(clq_dtype XT, clq_dtype YT, const void *x, size_t ldx,
                                     const void *y, size_t ldy, size_t j0, size_t nrows,
                                     const clq_cpu_erracc *a) {
    __m256 e2 = _mm256_loadu_ps(a->v[CLQ_ERROR_E2] + j0);
    __m256 ab = _mm256_loadu_ps(a->v[CLQ_ERROR_ABS] + j0);
    __m256 mx = _mm256_loadu_ps(a->v[CLQ_ERROR_MAX] + j0);
    __m256 x2 = _mm256_loadu_ps(a->v[CLQ_ERROR_X2] + j0);
    __m256 y2 = _mm256_loadu_ps(a->v[CLQ_ERROR_Y2] + j0);
    __m256 xy = _mm256_loadu_ps(a->v[CLQ_ERROR_XY] + j0);
    __m256i n = _mm256_loadu_si256((const __m256i *)(a->n + j0));
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    size_t xs = XT == CLQ_F32 ? 4 : 2, ys = YT == CLQ_F32 ? 4 : 2;
    for (size_t r = 0; r < nrows; r++) {
        const char *xr = (const char *)x + r * ldx * xs, *yr = (const char *)y + r * ldy * ys;
        clq__prefetch(xr + j0 * xs);
        clq__prefetch(yr + j0 * ys);
        __m256 xv = clq__ld256(XT, xr, j0), yv = clq__ld256(YT, yr, j0);
        __m256 e = _mm256_sub_ps(yv, xv);
        __m256 ok = _mm256_cmp_ps(e, e, _CMP_ORD_Q);
        __m256 ae = _mm256_and_ps(_mm256_and_ps(e, absmask), ok);
        /* a masked-out lane adds +0.0 (acc + 0 = acc: the sums start at +0.0 and a
         * round-to-nearest sum is -0.0 only from two -0.0) and maxes with 0 */
        e2 = _mm256_add_ps(e2, _mm256_and_ps(_mm256_mul_ps(e, e), ok));
        ab = _mm256_add_ps(ab, ae);
        mx = _mm256_max_ps(mx, ae);
        x2 = _mm256_add_ps(x2, _mm256_and_ps(_mm256_mul_ps(xv, xv), ok));
        y2 = _mm256_add_ps(y2, _mm256_and_ps(_mm256_mul_ps(yv, yv), ok));
        xy = _mm256_add_ps(xy, _mm256_and_ps(_mm256_mul_ps(xv, yv), ok));
        n = _mm256_sub_epi32(n, _mm256_castps_si256(ok));
    }
    _mm256_storeu_ps(a->v[CLQ_ERROR_E2] + j0, e2);
    _mm256_storeu_ps(a->v[CLQ_ERROR_ABS] + j0, ab);
    _mm256_storeu_ps(a->v[CLQ_ERROR_MAX] + j0, mx);
    _mm256_storeu_ps(a->v[CLQ_ERROR_X2] + j0, x2);
    _mm256_storeu_ps(a->v[CLQ_ERROR_Y2] + j0, y2);
    _mm256_storeu_ps(a->v[CLQ_ERROR_XY] + j0, xy);
    _mm256_storeu_si256((__m256i *)(a->n + j0), n);
}

#define ER256_CASE(XT, YT)                                                                    \
    for (j0 = 0; j0 + 8 <= width; j0 += 8) er256_strip(XT, YT, x, ldx, y, ldy, j0, nrows, a);
CLQ_T256 static void er256_rows(clq_dtype xt, const void *x, size_t ldx, clq_dtype yt,
                                const void *y, size_t ldy, size_t width, size_t nrows,
                                const clq_cpu_erracc *a) {
    size_t j0;
    if (yt == CLQ_F32) {
        if (xt == CLQ_F32) ER256_CASE(CLQ_F32, CLQ_F32)
        else if (xt == CLQ_F16) ER256_CASE(CLQ_F16, CLQ_F32)
        else ER256_CASE(CLQ_BF16, CLQ_F32)
    } else {
        ER256_CASE(xt, yt)
    }
    if (j0 == width) return;
    /* the last columns: the portable kernel's element rule on a shifted view */
    clq_cpu_erracc t;
    for (int s = 0; s < CLQ_ERROR_COUNT; s++) t.v[s] = a->v[s] + j0;
    t.n = a->n + j0;
    size_t xs = xt == CLQ_F32 ? 4 : 2, ys = yt == CLQ_F32 ? 4 : 2;
    clq__cpu_errk_portable.rows(xt, (const char *)x + j0 * xs, ldx, yt, (const char *)y + j0 * ys,
                                ldy, width - j0, nrows, &t);
}

const clq_cpu_errkernels clq__cpu_errk_avx2 = {er256_rows};

#endif /* CLQ_CPU_X86 */
