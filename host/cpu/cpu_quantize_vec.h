/* cpu_quantize_vec.h: one vector of the quantize formula, AVX-512 (16 lanes) and AVX2
 * (8 lanes): the plain kinds and Q_FAST with its fallback (proof in cpu_quantize_simd.h),
 * shared by the quantize kernel sets (cpu_quantize_avx512.c, cpu_quantize_avx2.c) and
 * the fused quantization-error kernels (cpu_error_simd.c). */
#ifndef CLQ_CPU_QUANTIZE_VEC_H
#define CLQ_CPU_QUANTIZE_VEC_H

#include "cpu_quantize_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512 --------------------------------------------------------------- */

/* Plain kinds' constants for one (scale, zero point). */
typedef struct q512c {
    __m512 s;      /* scale (division) or 1/scale (reciprocal mode) */
    __m512 z;      /* zero point as f32 */
    __m512 lo, hi; /* qmin, qmax */
} q512c;

CLQ_T512 CLQ_INLINE void q512_set(q512c *c, const clq_cpu_ewcfg *cfg, int kind, float scale,
                                  int32_t zp) {
    int rec = kind == Q_REC_EVEN || kind == Q_REC_AWAY;
    c->s = _mm512_set1_ps(rec ? 1.0f / scale : scale);
    c->z = _mm512_set1_ps(clq__zp_clamp(zp, cfg->zlo, cfg->zhi));
    c->lo = _mm512_set1_ps(cfg->qmin);
    c->hi = _mm512_set1_ps(cfg->qmax);
}

/* The formulas of docs/NUMERICS.md on v (= x / scale or x * (1 / scale)). */
CLQ_T512 CLQ_INLINE __m512i q512_fin(const q512c *c, __m512 v, int away) {
    __m512 r;
    if (!away) {
        r = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else {
        /* round half away = trunc, then one step away from zero when the dropped
         * fraction is >= 0.5 (v - trunc(v) is exact) */
        __m512 tr = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __mmask16 up =
            _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, tr)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
        __m512 one = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
        r = _mm512_mask_add_ps(tr, up, tr, one);
    }
    __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, c->z), c->lo), c->hi);
    t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), c->z);
    return _mm512_cvttps_epi32(t);
}

/* One vector of a plain kind K. */
CLQ_T512 CLQ_INLINE __m512i q512v(const q512c *c, __m512 x, int K) {
    if (K == Q_DIV_EVEN || K == Q_DIV_AWAY) return q512_fin(c, _mm512_div_ps(x, c->s), K == Q_DIV_AWAY);
    return q512_fin(c, _mm512_mul_ps(x, c->s), K == Q_REC_AWAY);
}

/* Q_FAST: one (scale, zero point) per vector, and the call's settings. */
typedef struct q512f {
    __m512 rcp, zf;  /* RN(1 / scale), clamped zero point */
    const float *sp; /* the scale (one, or a vector of them: lanes), read on rejections only */
    int lanes;
} q512f;

typedef struct q512g {
    __m512 lo, hi;    /* qmin, qmax */
    __m512i blo, bhi; /* qmin, qmax in every byte */
    int away, uns;
} q512g;

CLQ_T512 CLQ_INLINE void q512_gset(q512g *g, const clq_cpu_ewcfg *cfg) {
    g->lo = _mm512_set1_ps(cfg->qmin);
    g->hi = _mm512_set1_ps(cfg->qmax);
    g->blo = _mm512_set1_epi8((char)(int)cfg->qmin);
    g->bhi = _mm512_set1_epi8((char)(int)cfg->qmax);
    g->away = cfg->half_away;
    g->uns = cfg->is_unsigned;
}

CLQ_T512 CLQ_INLINE void q512_fset(q512f *c, const float *scale, float zpf) {
    c->rcp = _mm512_set1_ps(1.0f / *scale);
    c->zf = _mm512_set1_ps(zpf);
    c->sp = scale;
    c->lanes = 0;
}

/* Step 1 of the proof: k, and the largest |d| (as bits: NaN-safe) into *acc. */
CLQ_T512 CLQ_INLINE __m512i q512_fast1(__m512 x, __m512 rcp, __m512 zf, __m512i *acc) {
    __m512 u = _mm512_fmadd_ps(x, rcp, zf);
    __m512i k = _mm512_cvt_roundps_epi32(u, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 d = _mm512_abs_ps(_mm512_sub_ps(u, _mm512_cvtepi32_ps(k)));
    *acc = _mm512_max_epi32(*acc, _mm512_castps_si512(d));
    return k;
}

/* Step 2 of the proof, every lane of one vector: the division itself. */
CLQ_T512 CLQ_INLINE __m512i q512_slow1(const q512g *g, __m512 x, const q512f *c) {
    __m512 sc = c->lanes ? _mm512_loadu_ps(c->sp) : _mm512_set1_ps(*c->sp);
    q512c p = {sc, c->zf, g->lo, g->hi};
    return q512_fin(&p, _mm512_div_ps(x, sc), g->away);
}

/* One vector's q by the kind run_kind picks for (scale, zp): int32 lanes within
 * [qmin, qmax], a NaN lane the clamped zero point (the quantize kernels' bytes). */
typedef struct q512one {
    int kind;
    q512c c; /* the plain kinds */
    q512f f; /* Q_FAST */
    q512g g;
    __m512i lo, hi;
} q512one;

/* The settings' part (once per call). */
CLQ_T512 CLQ_INLINE void q512_one_cfg(q512one *o, const clq_cpu_ewcfg *cfg) {
    memset(o, 0, sizeof *o);
    q512_gset(&o->g, cfg);
    o->lo = _mm512_set1_epi32((int)cfg->qmin);
    o->hi = _mm512_set1_epi32((int)cfg->qmax);
}

/* One (scale, zp)'s part (the cheap one, per run), with RN(1 / *scale) already made (by
 * a vector division of many). */
CLQ_T512 CLQ_INLINE void q512_one_set_rcp(q512one *o, const clq_cpu_ewcfg *cfg, const float *scale,
                                          int32_t zp, float rcp) {
    o->kind = run_kind(cfg, *scale, zp);
    if (o->kind == Q_FAST) {
        o->f.rcp = _mm512_set1_ps(rcp);
        o->f.zf = _mm512_set1_ps(clq__zp_clamp(zp, cfg->zlo, cfg->zhi));
        o->f.sp = scale;
        o->f.lanes = 0;
    } else {
        q512_set(&o->c, cfg, o->kind, *scale, zp);
    }
}

CLQ_T512 CLQ_INLINE __m512i q512_one(const q512one *o, __m512 x, int K) {
    if (K != Q_FAST) return q512v(&o->c, x, K);
    __m512i acc = _mm512_setzero_si512(), k = q512_fast1(x, o->f.rcp, o->f.zf, &acc);
    if (__builtin_expect(_mm512_cmp_ps_mask(_mm512_castsi512_ps(acc), _mm512_set1_ps(0.5f - 0x1p-12f),
                                            _CMP_NLT_UQ) != 0,
                         0))
        return q512_slow1(&o->g, x, &o->f);
    return _mm512_min_epi32(_mm512_max_epi32(k, o->lo), o->hi);
}

/* Q_MARK (cpu_quantize_simd.h): R(RN(x / scale)) with R = rint, as f32 (integer valued,
 * unclamped; NaN where x is NaN), for the scales fast_ok admits, with z = RN(1 / scale)
 * and lim = 2^13 scale (exact). A lane with |x| >= lim (or an infinite x) takes x z
 * uncorrected: its quotient is past any qmax - zp, where the clamp makes every value of
 * that sign alike, and x z there may overflow, which the correction would turn into NaN.
 * The test reads x alone, so it runs beside the product rather than after it. */
CLQ_T512 CLQ_INLINE __m512 q512_mark(__m512 x, __m512 z, __m512 s, __m512 lim) {
    __mmask16 in = _mm512_cmp_ps_mask(_mm512_abs_ps(x), lim, _CMP_LT_OQ);
    __m512 q0 = _mm512_mul_ps(x, z);
    __m512 r = _mm512_maskz_fnmadd_ps(in, q0, s, x); /* x - q0 s, exact; 0 outside */
    __m512 q1 = _mm512_fmadd_ps(r, z, q0);           /* RN(x / s) */
    return _mm512_roundscale_ps(q1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* ---- AVX2 ------------------------------------------------------------------ */

/* As the AVX-512 set, on 8 lanes (groups of 32 elements). */
typedef struct q256c {
    __m256 s, z, lo, hi; /* as q512c */
} q256c;

CLQ_T256 CLQ_INLINE void q256_set(q256c *c, const clq_cpu_ewcfg *cfg, int kind, float scale,
                                  int32_t zp) {
    int rec = kind == Q_REC_EVEN || kind == Q_REC_AWAY;
    c->s = _mm256_set1_ps(rec ? 1.0f / scale : scale);
    c->z = _mm256_set1_ps(clq__zp_clamp(zp, cfg->zlo, cfg->zhi));
    c->lo = _mm256_set1_ps(cfg->qmin);
    c->hi = _mm256_set1_ps(cfg->qmax);
}

CLQ_T256 CLQ_INLINE __m256i q256_fin(const q256c *c, __m256 v, int away) {
    __m256 r;
    if (!away) {
        r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else {
        __m256 sign = _mm256_set1_ps(-0.0f);
        __m256 tr = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, tr)), _mm256_set1_ps(0.5f),
                                  _CMP_GE_OQ);
        __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
        r = _mm256_blendv_ps(tr, _mm256_add_ps(tr, one), up);
    }
    __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, c->z), c->lo), c->hi);
    t = _mm256_blendv_ps(t, c->z, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_cvttps_epi32(t);
}

CLQ_T256 CLQ_INLINE __m256i q256v(const q256c *c, __m256 x, int K) {
    if (K == Q_DIV_EVEN || K == Q_DIV_AWAY) return q256_fin(c, _mm256_div_ps(x, c->s), K == Q_DIV_AWAY);
    return q256_fin(c, _mm256_mul_ps(x, c->s), K == Q_REC_AWAY);
}

typedef struct q256f {
    __m256 rcp, zf; /* as q512f */
    const float *sp;
    int lanes;
} q256f;

typedef struct q256g {
    __m256 lo, hi; /* as q512g */
    __m256i blo, bhi;
    int away, uns;
} q256g;

CLQ_T256 CLQ_INLINE void q256_gset(q256g *g, const clq_cpu_ewcfg *cfg) {
    g->lo = _mm256_set1_ps(cfg->qmin);
    g->hi = _mm256_set1_ps(cfg->qmax);
    g->blo = _mm256_set1_epi8((char)(int)cfg->qmin);
    g->bhi = _mm256_set1_epi8((char)(int)cfg->qmax);
    g->away = cfg->half_away;
    g->uns = cfg->is_unsigned;
}

CLQ_T256 CLQ_INLINE void q256_fset(q256f *c, const float *scale, float zpf) {
    c->rcp = _mm256_set1_ps(1.0f / *scale);
    c->zf = _mm256_set1_ps(zpf);
    c->sp = scale;
    c->lanes = 0;
}

/* q512_fast1 on 8 lanes (cvtps2dq rounds to nearest in the default environment). */
CLQ_T256 CLQ_INLINE __m256i q256_fast1(__m256 x, __m256 rcp, __m256 zf, __m256i *acc) {
    __m256 u = _mm256_fmadd_ps(x, rcp, zf);
    __m256i k = _mm256_cvtps_epi32(u);
    __m256 d = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(u, _mm256_cvtepi32_ps(k)));
    *acc = _mm256_max_epi32(*acc, _mm256_castps_si256(d));
    return k;
}

CLQ_T256 CLQ_INLINE int q256_rejected(__m256i acc) {
    return _mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_castsi256_ps(acc), _mm256_set1_ps(0.5f - 0x1p-12f), _CMP_NLT_UQ));
}

/* q512_slow1 on 8 lanes. */
CLQ_T256 CLQ_INLINE __m256i q256_slow1(const q256g *g, __m256 x, const q256f *c) {
    __m256 sc = c->lanes ? _mm256_loadu_ps(c->sp) : _mm256_set1_ps(*c->sp);
    q256c p = {sc, c->zf, g->lo, g->hi};
    return q256_fin(&p, _mm256_div_ps(x, sc), g->away);
}

/* q512one on 8 lanes. */
typedef struct q256one {
    int kind;
    q256c c;
    q256f f;
    q256g g;
    __m256i lo, hi;
} q256one;

CLQ_T256 CLQ_INLINE void q256_one_cfg(q256one *o, const clq_cpu_ewcfg *cfg) {
    memset(o, 0, sizeof *o);
    q256_gset(&o->g, cfg);
    o->lo = _mm256_set1_epi32((int)cfg->qmin);
    o->hi = _mm256_set1_epi32((int)cfg->qmax);
}

CLQ_T256 CLQ_INLINE void q256_one_set(q256one *o, const clq_cpu_ewcfg *cfg, const float *scale,
                                      int32_t zp) {
    o->kind = run_kind(cfg, *scale, zp);
    if (o->kind == Q_FAST)
        q256_fset(&o->f, scale, clq__zp_clamp(zp, cfg->zlo, cfg->zhi));
    else
        q256_set(&o->c, cfg, o->kind, *scale, zp);
}

/* Two vectors under one (scale, zp), one fallback decision for both. */
CLQ_T256 CLQ_INLINE void q256_two(const q256one *o, __m256 x0, __m256 x1, int K, __m256i *q0,
                                  __m256i *q1) {
    if (K != Q_FAST) {
        *q0 = q256v(&o->c, x0, K);
        *q1 = q256v(&o->c, x1, K);
        return;
    }
    __m256i acc = _mm256_setzero_si256();
    __m256i k0 = q256_fast1(x0, o->f.rcp, o->f.zf, &acc), k1 = q256_fast1(x1, o->f.rcp, o->f.zf, &acc);
    if (q256_rejected(acc)) {
        *q0 = q256_slow1(&o->g, x0, &o->f);
        *q1 = q256_slow1(&o->g, x1, &o->f);
        return;
    }
    *q0 = _mm256_min_epi32(_mm256_max_epi32(k0, o->lo), o->hi);
    *q1 = _mm256_min_epi32(_mm256_max_epi32(k1, o->lo), o->hi);
}

/* q512_mark on 8 lanes (the lanes outside lim get r = 0 by an and). */
CLQ_T256 CLQ_INLINE __m256 q256_mark(__m256 x, __m256 z, __m256 s, __m256 lim) {
    __m256 in = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), lim, _CMP_LT_OQ);
    __m256 q0 = _mm256_mul_ps(x, z);
    __m256 r = _mm256_and_ps(_mm256_fnmadd_ps(q0, s, x), in);
    __m256 q1 = _mm256_fmadd_ps(r, z, q0);
    return _mm256_round_ps(q1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

#endif /* CLQ_CPU_X86 */

#endif
