/* cpu_error_simd.c: AVX-512 and AVX2 error statistics kernels (cpu_internal.h,
 * clq_cpu_errkernels): a strip of columns' accumulators in registers over the rows,
 * the same f32 operations per element as the portable kernel (cpu_error.c), a lane
 * whose e is NaN masked out of every accumulator. */
#include <math.h>

#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_quantize_vec.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512: 16 columns a strip ------------------------------------------ */

/* One strip's accumulators in registers. */
typedef struct er512acc {
    __m512 e2, ab, mx, x2, y2, xy;
    __m512i n;
} er512acc;

CLQ_T512 CLQ_INLINE void er512_load(er512acc *s, const clq_cpu_erracc *a, size_t j0, __mmask16 m) {
    s->e2 = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_E2] + j0);
    s->ab = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_ABS] + j0);
    s->mx = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_MAX] + j0);
    s->x2 = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_X2] + j0);
    s->y2 = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_Y2] + j0);
    s->xy = _mm512_maskz_loadu_ps(m, a->v[CLQ_ERROR_XY] + j0);
    s->n = _mm512_maskz_loadu_epi32(m, a->n + j0);
}

CLQ_T512 CLQ_INLINE void er512_store(const er512acc *s, const clq_cpu_erracc *a, size_t j0,
                                     __mmask16 m) {
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_E2] + j0, m, s->e2);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_ABS] + j0, m, s->ab);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_MAX] + j0, m, s->mx);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_X2] + j0, m, s->x2);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_Y2] + j0, m, s->y2);
    _mm512_mask_storeu_ps(a->v[CLQ_ERROR_XY] + j0, m, s->xy);
    _mm512_mask_storeu_epi32(a->n + j0, m, s->n);
}

/* One row of the lanes in ok, e = y - x (ok: the lanes whose e is not NaN). */
CLQ_T512 CLQ_INLINE void er512_acc(er512acc *s, __m512 xv, __m512 yv, __m512 e, __mmask16 ok) {
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 ae = _mm512_and_ps(e, absmask);
    s->e2 = _mm512_mask_add_ps(s->e2, ok, s->e2, _mm512_mul_ps(e, e));
    s->ab = _mm512_mask_add_ps(s->ab, ok, s->ab, ae);
    s->mx = _mm512_mask_max_ps(s->mx, ok, s->mx, ae);
    s->x2 = _mm512_mask_add_ps(s->x2, ok, s->x2, _mm512_mul_ps(xv, xv));
    s->y2 = _mm512_mask_add_ps(s->y2, ok, s->y2, _mm512_mul_ps(yv, yv));
    s->xy = _mm512_mask_add_ps(s->xy, ok, s->xy, _mm512_mul_ps(xv, yv));
    s->n = _mm512_mask_add_epi32(s->n, ok, s->n, _mm512_set1_epi32(1));
}

/* One row of the lanes in m: e = y - x, a NaN e skipped. */
CLQ_T512 CLQ_INLINE void er512_add(er512acc *s, __m512 xv, __m512 yv, __mmask16 m) {
    __m512 e = _mm512_sub_ps(yv, xv);
    er512_acc(s, xv, yv, e, _mm512_mask_cmp_ps_mask(m, e, e, _CMP_ORD_Q));
}

CLQ_T512 CLQ_INLINE void er512_strip(clq_dtype XT, clq_dtype YT, const void *x, size_t ldx,
                                     const void *y, size_t ldy, size_t j0, __mmask16 m,
                                     size_t nrows, const clq_cpu_erracc *a) {
    er512acc s;
    er512_load(&s, a, j0, m);
    size_t xs = XT == CLQ_F32 ? 4 : 2, ys = YT == CLQ_F32 ? 4 : 2;
    for (size_t r = 0; r < nrows; r++) {
        const char *xr = (const char *)x + r * ldx * xs, *yr = (const char *)y + r * ldy * ys;
        clq__prefetch(xr + j0 * xs);
        clq__prefetch(yr + j0 * ys);
        er512_add(&s, clq__ld512(XT, xr, j0, m), clq__ld512(YT, yr, j0, m), m);
    }
    er512_store(&s, a, j0, m);
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

/* How far ahead eq*_params prefetch the scales and zero points: the parameter streams
 * advance a line per 16 blocks, too slowly for the hardware prefetcher to run ahead, and
 * a miss stalls every block of the sixteen. Of 256 B, 1 KiB and 4 KiB, 4 KiB measured
 * best (blocks of 32 at 256 MiB: 12-25% faster than without). An address, never
 * dereferenced: the arrays may end before it. */
#define EQ_PF_BYTES 4096
CLQ_INLINE void eq_prefetch(const float *scale, const int32_t *zp) {
    _mm_prefetch((const char *)((uintptr_t)scale + EQ_PF_BYTES), _MM_HINT_T0);
    if (zp) _mm_prefetch((const char *)((uintptr_t)zp + EQ_PF_BYTES), _MM_HINT_T0);
}

/* Up to sixteen parameters' Q_MARK settings (eight at AVX2): z = RN(1 / scale) by one
 * division, lim, the clamp bounds qmin - zp and qmax - zp (zp clamped first), and as
 * bits which of them fast_ok admits (the others, and every one in round-half-away or
 * reciprocal mode, go by q*one, which also takes z as its reciprocal). */
typedef struct eqparams {
    float z[16], lim[16], lo[16], hi[16];
    unsigned ok;
} eqparams;

/* Sixteen parameters from scale (m: the lanes that exist). */
CLQ_T512 CLQ_INLINE void eq512_params(const clq_cpu_ewcfg *cfg, const float *scale,
                                      const int32_t *zp, __mmask16 m, eqparams *p) {
    eq_prefetch(scale, zp);
    __m512 sc = _mm512_maskz_loadu_ps(m, scale);
    __m512 zf = zp ? _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, zp)) : _mm512_setzero_ps();
    const __m512 qlo = _mm512_set1_ps(cfg->qmin), qhi = _mm512_set1_ps(cfg->qmax);
    zf = _mm512_min_ps(_mm512_max_ps(zf, _mm512_set1_ps((float)cfg->zlo)),
                       _mm512_set1_ps((float)cfg->zhi)); /* clq__zp_clamp */
    __mmask16 ok = _mm512_mask_cmp_ps_mask(m, sc, _mm512_set1_ps(0x1p-100f), _CMP_GE_OQ);
    ok = _mm512_mask_cmp_ps_mask(ok, sc, _mm512_set1_ps(0x1p100f), _CMP_LE_OQ);
    ok = _mm512_mask_cmp_ps_mask(ok, zf, qlo, _CMP_GE_OQ);
    ok = _mm512_mask_cmp_ps_mask(ok, zf, qhi, _CMP_LE_OQ); /* fast_ok */
    p->ok = cfg->half_away || cfg->reciprocal ? 0 : ok;
    _mm512_storeu_ps(p->z, _mm512_maskz_div_ps(m, _mm512_set1_ps(1.0f), sc));
    _mm512_storeu_ps(p->lim, _mm512_mul_ps(sc, _mm512_set1_ps(0x1p13f)));
    _mm512_storeu_ps(p->lo, _mm512_sub_ps(qlo, zf));
    _mm512_storeu_ps(p->hi, _mm512_sub_ps(qhi, zf));
}

/* One row of x by Q_MARK, merged: y = (clamp(R + zp) - zp) * scale (the quantize and
 * dequantize kernels' formulas, R = R(RN(x / scale))) as clamp(R, qmin - zp, qmax - zp) *
 * scale, equal in f32 (small integers). A NaN x gives some finite y (the clamp keeps the
 * bound), and e = y - x is NaN just where x is: those lanes are left out as in rows. */
CLQ_T512 CLQ_INLINE void eq512_mark_add(er512acc *s, __m512 x, __m512 z, __m512 sc, __m512 lim,
                                        __m512 lo, __m512 hi) {
    __mmask16 ok = _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q);
    __m512 y = _mm512_mul_ps(_mm512_min_ps(_mm512_max_ps(q512_mark(x, z, sc, lim), lo), hi), sc);
    er512_acc(s, x, y, _mm512_sub_ps(y, x), ok);
}

/* Quantization mode in one pass (clq_cpu_errkernels.quant): nparams runs of rpp rows of
 * 16 x each, run i under (scale[i], zp[i]); q as the quantize kernels make it, by Q_MARK
 * where it applies (no fallback: blocks whose extremes land on ties cost nothing extra)
 * and q512one otherwise, y = (q - zp) * scale as the dequantize kernels do, both in
 * registers, then er512_add. */
CLQ_T512 CLQ_INLINE void eq512_body(const clq_cpu_ewcfg *cfg, clq_dtype XT, const void *x,
                                    size_t nparams, size_t rpp, const float *scale,
                                    const int32_t *zp, const clq_cpu_erracc *a) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    er512acc s;
    er512_load(&s, a, 0, 0xffff);
    q512one o;
    q512_one_cfg(&o, cfg);
    eqparams p;
    p.ok = 0;
    for (size_t i = 0; i < nparams; i++) {
        if (i % 16 == 0) {
            size_t left = nparams - i;
            eq512_params(cfg, scale + i, zp ? zp + i : NULL,
                         left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1), &p);
        }
        const char *xi = (const char *)x + i * rpp * 16 * xs;
        const __m512 sc = _mm512_set1_ps(scale[i]);
        if (p.ok >> (i % 16) & 1) {
            const __m512 z = _mm512_set1_ps(p.z[i % 16]), lim = _mm512_set1_ps(p.lim[i % 16]);
            const __m512 lo = _mm512_set1_ps(p.lo[i % 16]), hi = _mm512_set1_ps(p.hi[i % 16]);
            for (size_t r = 0; r < rpp; r++) {
                clq__prefetch(xi + r * 16 * xs);
                eq512_mark_add(&s, clq__ld512_full(XT, xi, r * 16), z, sc, lim, lo, hi);
            }
            continue;
        }
        int32_t zi = zp ? zp[i] : 0;
        q512_one_set_rcp(&o, cfg, scale + i, zi, p.z[i % 16]);
        const __m512i zc = _mm512_set1_epi32(clq__cpu_zp_clamp(cfg, zi));
        for (size_t r = 0; r < rpp; r++) {
            clq__prefetch(xi + r * 16 * xs);
            __m512 xv = clq__ld512_full(XT, xi, r * 16);
            __m512i q = o.kind == Q_FAST ? q512_one(&o, xv, Q_FAST) : q512_one(&o, xv, o.kind);
            er512_add(&s, xv, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, zc)), sc), 0xffff);
        }
    }
    er512_store(&s, a, 0, 0xffff);
}

CLQ_T512 static void eq512_rows(const clq_cpu_ewcfg *cfg, const void *x, size_t nparams,
                                size_t rpp, const float *scale, const int32_t *zp,
                                const clq_cpu_erracc *a) {
    if (cfg->xtype == CLQ_F32) eq512_body(cfg, CLQ_F32, x, nparams, rpp, scale, zp, a);
    else if (cfg->xtype == CLQ_F16) eq512_body(cfg, CLQ_F16, x, nparams, rpp, scale, zp, a);
    else eq512_body(cfg, CLQ_BF16, x, nparams, rpp, scale, zp, a);
}

/* Blocks of 16 on: sixteen blocks set up by one vector division (eq512_params) cost
 * less than chaining the maps (measured, docs/BENCHMARKS.md). */
const clq_cpu_errkernels clq__cpu_errk_avx512 = {er512_rows, eq512_rows, 16};

/* ---- AVX2: 8 columns a strip, the columns past the last full strip scalar --- */

/* One strip's accumulators in registers (8 columns). */
typedef struct er256acc {
    __m256 e2, ab, mx, x2, y2, xy;
    __m256i n;
} er256acc;

CLQ_T256 CLQ_INLINE void er256_load(er256acc *s, const clq_cpu_erracc *a, size_t j0) {
    s->e2 = _mm256_loadu_ps(a->v[CLQ_ERROR_E2] + j0);
    s->ab = _mm256_loadu_ps(a->v[CLQ_ERROR_ABS] + j0);
    s->mx = _mm256_loadu_ps(a->v[CLQ_ERROR_MAX] + j0);
    s->x2 = _mm256_loadu_ps(a->v[CLQ_ERROR_X2] + j0);
    s->y2 = _mm256_loadu_ps(a->v[CLQ_ERROR_Y2] + j0);
    s->xy = _mm256_loadu_ps(a->v[CLQ_ERROR_XY] + j0);
    s->n = _mm256_loadu_si256((const __m256i *)(a->n + j0));
}

CLQ_T256 CLQ_INLINE void er256_store(const er256acc *s, const clq_cpu_erracc *a, size_t j0) {
    _mm256_storeu_ps(a->v[CLQ_ERROR_E2] + j0, s->e2);
    _mm256_storeu_ps(a->v[CLQ_ERROR_ABS] + j0, s->ab);
    _mm256_storeu_ps(a->v[CLQ_ERROR_MAX] + j0, s->mx);
    _mm256_storeu_ps(a->v[CLQ_ERROR_X2] + j0, s->x2);
    _mm256_storeu_ps(a->v[CLQ_ERROR_Y2] + j0, s->y2);
    _mm256_storeu_ps(a->v[CLQ_ERROR_XY] + j0, s->xy);
    _mm256_storeu_si256((__m256i *)(a->n + j0), s->n);
}

/* One row of 8 columns, e = y - x (ok: all ones in the lanes whose e is not NaN). */
CLQ_T256 CLQ_INLINE void er256_acc(er256acc *s, __m256 xv, __m256 yv, __m256 e, __m256 ok) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    if (__builtin_expect(_mm256_movemask_ps(ok) == 0xff, 1)) {
        /* no NaN e: the same additions without the masks (AVX2 has no masked add, and
         * the ands cost a third of the row) */
        __m256 a = _mm256_and_ps(e, absmask);
        s->e2 = _mm256_add_ps(s->e2, _mm256_mul_ps(e, e));
        s->ab = _mm256_add_ps(s->ab, a);
        s->mx = _mm256_max_ps(s->mx, a);
        s->x2 = _mm256_add_ps(s->x2, _mm256_mul_ps(xv, xv));
        s->y2 = _mm256_add_ps(s->y2, _mm256_mul_ps(yv, yv));
        s->xy = _mm256_add_ps(s->xy, _mm256_mul_ps(xv, yv));
        s->n = _mm256_sub_epi32(s->n, _mm256_castps_si256(ok));
        return;
    }
    __m256 ae = _mm256_and_ps(_mm256_and_ps(e, absmask), ok);
    /* a masked-out lane adds +0.0 (acc + 0 = acc: the sums start at +0.0 and a
     * round-to-nearest sum is -0.0 only from two -0.0) and maxes with 0 */
    s->e2 = _mm256_add_ps(s->e2, _mm256_and_ps(_mm256_mul_ps(e, e), ok));
    s->ab = _mm256_add_ps(s->ab, ae);
    s->mx = _mm256_max_ps(s->mx, ae);
    s->x2 = _mm256_add_ps(s->x2, _mm256_and_ps(_mm256_mul_ps(xv, xv), ok));
    s->y2 = _mm256_add_ps(s->y2, _mm256_and_ps(_mm256_mul_ps(yv, yv), ok));
    s->xy = _mm256_add_ps(s->xy, _mm256_and_ps(_mm256_mul_ps(xv, yv), ok));
    s->n = _mm256_sub_epi32(s->n, _mm256_castps_si256(ok));
}

/* One row of 8 columns: e = y - x, a NaN e skipped. */
CLQ_T256 CLQ_INLINE void er256_add(er256acc *s, __m256 xv, __m256 yv) {
    __m256 e = _mm256_sub_ps(yv, xv);
    er256_acc(s, xv, yv, e, _mm256_cmp_ps(e, e, _CMP_ORD_Q));
}

CLQ_T256 CLQ_INLINE void er256_strip(clq_dtype XT, clq_dtype YT, const void *x, size_t ldx,
                                     const void *y, size_t ldy, size_t j0, size_t nrows,
                                     const clq_cpu_erracc *a) {
    er256acc s;
    er256_load(&s, a, j0);
    size_t xs = XT == CLQ_F32 ? 4 : 2, ys = YT == CLQ_F32 ? 4 : 2;
    for (size_t r = 0; r < nrows; r++) {
        const char *xr = (const char *)x + r * ldx * xs, *yr = (const char *)y + r * ldy * ys;
        clq__prefetch(xr + j0 * xs);
        clq__prefetch(yr + j0 * ys);
        er256_add(&s, clq__ld256(XT, xr, j0), clq__ld256(YT, yr, j0));
    }
    er256_store(&s, a, j0);
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

/* eq512_mark_add on 8 lanes. */
CLQ_T256 CLQ_INLINE void eq256_mark_add(er256acc *s, __m256 x, __m256 z, __m256 sc, __m256 lim,
                                        __m256 lo, __m256 hi) {
    __m256 ok = _mm256_cmp_ps(x, x, _CMP_ORD_Q);
    __m256 y = _mm256_mul_ps(_mm256_min_ps(_mm256_max_ps(q256_mark(x, z, sc, lim), lo), hi), sc);
    er256_acc(s, x, y, _mm256_sub_ps(y, x), ok);
}

/* eq512_params on 8 parameters (the lanes past nleft read as scale 0: not admitted). */
CLQ_T256 CLQ_INLINE void eq256_params(const clq_cpu_ewcfg *cfg, const float *scale,
                                      const int32_t *zp, size_t nleft, eqparams *p) {
    eq_prefetch(scale, zp);
    float sv[8] = {0}, zv[8] = {0};
    for (size_t k = 0; k < 8 && k < nleft; k++) {
        sv[k] = scale[k];
        zv[k] = clq__zp_clamp(zp ? zp[k] : 0, cfg->zlo, cfg->zhi);
    }
    __m256 sc = _mm256_loadu_ps(sv), zf = _mm256_loadu_ps(zv);
    const __m256 qlo = _mm256_set1_ps(cfg->qmin), qhi = _mm256_set1_ps(cfg->qmax);
    __m256 ok = _mm256_and_ps(_mm256_cmp_ps(sc, _mm256_set1_ps(0x1p-100f), _CMP_GE_OQ),
                              _mm256_cmp_ps(sc, _mm256_set1_ps(0x1p100f), _CMP_LE_OQ));
    ok = _mm256_and_ps(ok, _mm256_and_ps(_mm256_cmp_ps(zf, qlo, _CMP_GE_OQ),
                                         _mm256_cmp_ps(zf, qhi, _CMP_LE_OQ))); /* fast_ok */
    p->ok = cfg->half_away || cfg->reciprocal ? 0 : (unsigned)_mm256_movemask_ps(ok);
    _mm256_storeu_ps(p->z, _mm256_div_ps(_mm256_set1_ps(1.0f), sc));
    _mm256_storeu_ps(p->lim, _mm256_mul_ps(sc, _mm256_set1_ps(0x1p13f)));
    _mm256_storeu_ps(p->lo, _mm256_sub_ps(qlo, zf));
    _mm256_storeu_ps(p->hi, _mm256_sub_ps(qhi, zf));
}

/* eq512_body on 8 lanes: a row of 16 is two vectors, columns 0-7 and 8-15, taken one
 * half after the other over the whole call (each lane's rows in order as before), so
 * that one half's seven accumulators stay in the sixteen registers. */
CLQ_T256 CLQ_INLINE void eq256_body(const clq_cpu_ewcfg *cfg, clq_dtype XT, const void *x,
                                    size_t nparams, size_t rpp, const float *scale,
                                    const int32_t *zp, const clq_cpu_erracc *a) {
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    q256one o;
    q256_one_cfg(&o, cfg);
    for (size_t h = 0; h < 16; h += 8) {
        er256acc e;
        er256_load(&e, a, h);
        eqparams p;
        p.ok = 0;
        for (size_t i = 0; i < nparams; i++) {
            if (i % 8 == 0) eq256_params(cfg, scale + i, zp ? zp + i : NULL, nparams - i, &p);
            const __m256 sc = _mm256_set1_ps(scale[i]);
            const char *xi = (const char *)x + i * rpp * 16 * xs;
            if (p.ok >> (i % 8) & 1) {
                const __m256 z = _mm256_set1_ps(p.z[i % 8]), lim = _mm256_set1_ps(p.lim[i % 8]);
                const __m256 lo = _mm256_set1_ps(p.lo[i % 8]), hi = _mm256_set1_ps(p.hi[i % 8]);
                for (size_t r = 0; r < rpp; r++) {
                    clq__prefetch(xi + r * 16 * xs);
                    eq256_mark_add(&e, clq__ld256(XT, xi, r * 16 + h), z, sc, lim, lo, hi);
                }
                continue;
            }
            /* the other kinds (rare: round half away, reciprocal mode, extreme scales) make
             * both halves and keep this one */
            int32_t zi = zp ? zp[i] : 0;
            q256_one_set(&o, cfg, scale + i, zi);
            const __m256i zc = _mm256_set1_epi32(clq__cpu_zp_clamp(cfg, zi));
            for (size_t r = 0; r < rpp; r++) {
                clq__prefetch(xi + r * 16 * xs);
                __m256 x0 = clq__ld256(XT, xi, r * 16), x1 = clq__ld256(XT, xi, r * 16 + 8);
                __m256i q0, q1;
                if (o.kind == Q_FAST) q256_two(&o, x0, x1, Q_FAST, &q0, &q1);
                else q256_two(&o, x0, x1, o.kind, &q0, &q1);
                er256_add(&e, h ? x1 : x0,
                          _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(h ? q1 : q0, zc)), sc));
            }
        }
        er256_store(&e, a, h);
    }
}

CLQ_T256 static void eq256_rows(const clq_cpu_ewcfg *cfg, const void *x, size_t nparams,
                                size_t rpp, const float *scale, const int32_t *zp,
                                const clq_cpu_erracc *a) {
    if (cfg->xtype == CLQ_F32) eq256_body(cfg, CLQ_F32, x, nparams, rpp, scale, zp, a);
    else if (cfg->xtype == CLQ_F16) eq256_body(cfg, CLQ_F16, x, nparams, rpp, scale, zp, a);
    else eq256_body(cfg, CLQ_BF16, x, nparams, rpp, scale, zp, a);
}

/* Blocks of 128 on: shorter ones run faster chained at this width (measured: blocks of
 * 32 0.40-0.45 ns per element and thread chained, 0.47-0.52 fused, in L2). */
const clq_cpu_errkernels clq__cpu_errk_avx2 = {er256_rows, eq256_rows, 128};

#endif /* CLQ_CPU_X86 */
