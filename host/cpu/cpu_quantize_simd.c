/* cpu_quantize_simd.c: AVX-512 and AVX2 quantize kernels, bit-identical to the
 * portable ones: the correctly rounded division (or the reciprocal multiply proven
 * to give its bits, Q_FAST below), rounding by roundscale/round_ps, clamp in f32
 * before the conversion, NaN quotient -> zero point; results packed to bytes (and
 * 4-bit pairs) in registers and written a cache line at a time. */
#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* Kernel kinds, compiled as separate loops so the hot loop has no branch on the
 * mode: Q_FAST is the default division mode through the reciprocal (see q512v),
 * the others are the plain formulas. */
enum { Q_FAST, Q_DIV_EVEN, Q_DIV_AWAY, Q_REC_EVEN, Q_REC_AWAY };

/* Whether Q_FAST may serve a (scale, zero point): see q512v. */
static inline int fast_ok(float scale, int32_t zp, float qmin, float qmax) {
    return scale >= 0x1p-126f && scale <= 0x1p126f && (float)zp >= qmin && (float)zp <= qmax;
}

/* The plain kind of a configuration (never Q_FAST). */
static inline int plain_kind(const clq_cpu_ewcfg *cfg) {
    return cfg->reciprocal ? (cfg->half_away ? Q_REC_AWAY : Q_REC_EVEN)
                           : (cfg->half_away ? Q_DIV_AWAY : Q_DIV_EVEN);
}

/* The kind for one (scale, zero point) of a configuration. */
static inline int run_kind(const clq_cpu_ewcfg *cfg, float scale, int32_t zp) {
    return !cfg->reciprocal && fast_ok(scale, zp, cfg->qmin, cfg->qmax) ? Q_FAST : plain_kind(cfg);
}

static int xrow(clq_dtype t) { return t == CLQ_F32 ? 0 : t == CLQ_F16 ? 1 : 2; }

/* Elements [j, n) the scalar way into bytes, or (packed) nibbles from byte j / 2:
 * the tails of the vector loops (j even when packed; an odd n leaves the last
 * high nibble 0). */
static inline void q_tail(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t j, size_t n,
                          float scale, int32_t zp) {
    float s = cfg->reciprocal ? 1.0f / scale : scale, zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    for (; j < n; j += cfg->packed ? 2 : 1) {
        unsigned v = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin,
                                       cfg->qmax, cfg->half_away, cfg->reciprocal);
        if (!cfg->packed) {
            q[j] = (uint8_t)v;
            continue;
        }
        unsigned h = j + 1 < n ? clq__quantize_one(clq__load_float(cfg->xtype, x, j + 1), s, zpf,
                                                   cfg->qmin, cfg->qmax, cfg->half_away,
                                                   cfg->reciprocal)
                               : 0;
        q[j / 2] = (uint8_t)((v & 15u) | (h & 15u) << 4);
    }
}

/* ---- AVX-512 ------------------------------------------------------------ */

/* Per-(scale, zero point) constants. */
typedef struct q512c {
    __m512 s;       /* scale (division), 1/scale (reciprocal mode, Q_FAST) */
    __m512 sdiv;    /* scale, for Q_FAST's lanes that need the real division */
    __m512 z;       /* zero point as f32 */
    __m512 lo, hi;  /* qmin, qmax */
    __m512 L, H;    /* qmin - zp, qmax - zp (Q_FAST) */
    int away;       /* CLQ_ROUND_HALF_AWAY, for Q_FAST's division lanes */
} q512c;

CLQ_T512 CLQ_INLINE void q512_set(q512c *c, const clq_cpu_ewcfg *cfg, int kind, float scale,
                                  int32_t zp) {
    float zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    int rec = kind == Q_FAST || kind == Q_REC_EVEN || kind == Q_REC_AWAY;
    c->s = _mm512_set1_ps(rec ? 1.0f / scale : scale);
    c->sdiv = _mm512_set1_ps(scale);
    c->z = _mm512_set1_ps(zpf);
    c->lo = _mm512_set1_ps(cfg->qmin);
    c->hi = _mm512_set1_ps(cfg->qmax);
    c->L = _mm512_set1_ps(cfg->qmin - zpf);
    c->H = _mm512_set1_ps(cfg->qmax - zpf);
    c->away = cfg->half_away;
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

/* One vector of quantized values (int32 lanes) for kind K.
 *
 * Q_FAST gives the bits of the division x / scale with a multiply by
 * rcp = 1.0f / scale (correctly rounded), and takes the real division for the
 * whole vector when one lane is not covered by this argument. It is used only
 * when 2^-126 <= scale <= 2^126 (so rcp is a normal number, 1/scale within a
 * factor of 2 of the normal range) and qmin <= zp <= qmax (so L = qmin - zp
 * <= 0 <= H = qmax - zp, both integers with |L|, |H| <= 383); fast_ok checks it.
 * The argument holds for any vector width: the AVX2 kernels (q256v) use it too.
 *
 * 1. The reference: q = clamp(R(x / scale) + zp, qmin, qmax), R = rint or
 *    round-half-away, equals R(clamp(v, L, H)) + zp with v = RN(x / scale):
 *    L and H are integers, so R commutes with the clamp (R is monotonic and
 *    fixes integers; when v overflows or is huge the f32 add of the reference
 *    only decides the side, the same one), and R(w) + zp is then an exact f32
 *    add inside [qmin, qmax]. So only w_ref = clamp(v, L, H) matters.
 * 2. Here w = min(H, max(L, v')) with v' = RN(x * rcp) (one multiply, no fma;
 *    operand order keeps a NaN v' as NaN). For finite x, |w - w_ref| < 2^-12,
 *    where u = 2^-24:
 *    rcp = (1/scale)(1 + e1), x * rcp = z(1 + e1) with z = x / scale exact;
 *    RN adds a relative error <= u for a normal result, an absolute one
 *    <= 2^-150 for a subnormal one. If |z| <= 2^10: |v' - v| <= |z|(3u + u^2)
 *    + 2^-149 < 2^-12, and the clamp is 1-Lipschitz. If |z| > 2^10 (an
 *    overflow of either product to Inf included): v and v' both round to
 *    magnitudes >= 2^10 - 2^-14 > 383 with the sign of z, so w = w_ref = H or
 *    L. Denormal x and scale need no special case: the bounds above hold.
 * 3. Lane accepted iff |w - rint(w)| < 0.5 - 2^-12 (w - rint(w) is exact for
 *    |w| <= 383, and NaN fails the ordered compare). Then w lies inside
 *    (k - 0.5 + 2^-12, k + 0.5 - 2^-12) for k = rint(w), so w_ref lies inside
 *    (k - 0.5, k + 0.5): no tie, rint(w_ref) = round_half_away(w_ref) = k under
 *    either rounding mode, and q = k + zp, which is what is computed.
 *    x = +/-Inf gives v = v' = +/-Inf, w = w_ref = H or L.
 * 4. Rejected lanes (NaN x, values within 2^-12 of a half-integer) make the
 *    vector take the division: about 16 * 2^-11 of vectors on random data. */
CLQ_T512 CLQ_INLINE __m512i q512v(const q512c *c, __m512 x, int K) {
    if (K == Q_FAST) {
        __m512 w = _mm512_min_ps(c->H, _mm512_max_ps(c->L, _mm512_mul_ps(x, c->s)));
        __m512 r = _mm512_roundscale_ps(w, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __mmask16 ok = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(w, r)),
                                          _mm512_set1_ps(0.5f - 0x1p-12f), _CMP_LT_OQ);
        if (__builtin_expect(ok == 0xffff, 1)) return _mm512_cvttps_epi32(_mm512_add_ps(r, c->z));
        return q512_fin(c, _mm512_div_ps(x, c->sdiv), c->away);
    }
    if (K == Q_DIV_EVEN || K == Q_DIV_AWAY) return q512_fin(c, _mm512_div_ps(x, c->s), K == Q_DIV_AWAY);
    return q512_fin(c, _mm512_mul_ps(x, c->s), K == Q_REC_AWAY);
}

/* 64 int32 lanes (values within [-128, 255]) to 64 bytes in order: saturating
 * packs are exact on that range (unsigned for u8, whose 128..255 would saturate). */
CLQ_T512 CLQ_INLINE __m512i pack64(__m512i a, __m512i b, __m512i c, __m512i d, int uns) {
    __m512i ab = _mm512_packs_epi32(a, b), cd = _mm512_packs_epi32(c, d);
    __m512i v = uns ? _mm512_packus_epi16(ab, cd) : _mm512_packs_epi16(ab, cd);
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v);
}

/* 64 bytes of 4-bit values to 32 bytes of nibbles (low nibble first). */
CLQ_T512 CLQ_INLINE __m256i nib64(__m512i v) {
    __m512i w = _mm512_or_si512(_mm512_and_si512(v, _mm512_set1_epi16(0x000f)),
                                _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi16(0x00f0)));
    return _mm512_cvtepi16_epi8(w);
}

/* 64 results to q: 64 bytes at q + j, or 32 bytes of nibbles at q + j / 2. */
CLQ_T512 CLQ_INLINE void st64(uint8_t *q, size_t j, __m512i bytes, int packed, int stream) {
    if (packed) {
        __m256i n = nib64(bytes);
        if (stream)
            _mm256_stream_si256((__m256i *)(q + j / 2), n);
        else
            _mm256_storeu_si256((__m256i *)(q + j / 2), n);
    } else if (stream) {
        _mm512_stream_si512((void *)(q + j), bytes);
    } else {
        _mm512_storeu_si512((void *)(q + j), bytes);
    }
}

CLQ_T512 CLQ_INLINE __m512i q512_ld(const q512c *c, const void *x, size_t j, clq_dtype XT, int K) {
    return q512v(c, clq__ld512_full(XT, x, j), K);
}

/* n elements with one (scale, zp), 64 at a time; the tail the scalar way. */
CLQ_T512 CLQ_INLINE void q512_run_body(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q,
                                       size_t n, float scale, int32_t zp, clq_dtype XT, int K) {
    q512c c;
    q512_set(&c, cfg, K, scale, zp);
    const int packed = cfg->packed, uns = cfg->is_unsigned;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 31 : 63)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        __m512i a = q512_ld(&c, x, j, XT, K), b = q512_ld(&c, x, j + 16, XT, K);
        __m512i d = q512_ld(&c, x, j + 32, XT, K), e = q512_ld(&c, x, j + 48, XT, K);
        st64(q, j, pack64(a, b, d, e, uns), packed, stream);
    }
    if (j < n) q_tail(cfg, x, q, j, n, scale, zp);
}

/* Two int32 vectors of block b (32 elements at x + 32 b) with its own constants. */
CLQ_T512 CLQ_INLINE void q512_block(const clq_cpu_ewcfg *cfg, const void *x, size_t b, float sc,
                                    int32_t z, clq_dtype XT, int K, __m512i *lo, __m512i *hi) {
    q512c c;
    int k = K;
    if (K != Q_REC_EVEN && K != Q_REC_AWAY && fast_ok(sc, z, cfg->qmin, cfg->qmax)) k = Q_FAST;
    q512_set(&c, cfg, k, sc, z);
    if (k == Q_FAST) {
        *lo = q512_ld(&c, x, b * 32, XT, Q_FAST);
        *hi = q512_ld(&c, x, b * 32 + 16, XT, Q_FAST);
    } else {
        *lo = q512_ld(&c, x, b * 32, XT, K);
        *hi = q512_ld(&c, x, b * 32 + 16, XT, K);
    }
}

/* nblk blocks of 32 elements, block b with scale[b], zp[b], two blocks a store.
 * In division mode each block takes Q_FAST when fast_ok allows it. */
CLQ_T512 CLQ_INLINE void q512_b32_body(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q,
                                       size_t nblk, const float *scale, const int32_t *zp,
                                       clq_dtype XT, int K) {
    const int packed = cfg->packed, uns = cfg->is_unsigned;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 31 : 63)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    size_t b = 0;
    for (; b + 2 <= nblk; b += 2) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + b * 32 * xs + p);
        __m512i v0, v1, v2, v3;
        q512_block(cfg, x, b, scale[b], zp ? zp[b] : 0, XT, K, &v0, &v1);
        q512_block(cfg, x, b + 1, scale[b + 1], zp ? zp[b + 1] : 0, XT, K, &v2, &v3);
        st64(q, b * 32, pack64(v0, v1, v2, v3, uns), packed, stream);
    }
    if (b < nblk)
        q_tail(cfg, (const char *)x + b * 32 * xs, q + (packed ? b * 16 : b * 32), 0, 32, scale[b],
               zp ? zp[b] : 0);
}

/* One function per (input type, kind): the mode tests fold away at compile time. */
typedef void (*q_run_fn)(const clq_cpu_ewcfg *, const void *, uint8_t *, size_t, float, int32_t);
typedef void (*q_b32_fn)(const clq_cpu_ewcfg *, const void *, uint8_t *, size_t, const float *,
                         const int32_t *);
#define Q_FNS(T, P, SUF, XT, K)                                                                  \
    T static void P##r_##SUF(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t n,      \
                             float scale, int32_t zp) {                                          \
        P##_run_body(cfg, x, q, n, scale, zp, XT, K);                                            \
    }                                                                                            \
    T static void P##b_##SUF(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t nblk,   \
                             const float *scale, const int32_t *zp) {                            \
        P##_b32_body(cfg, x, q, nblk, scale, zp, XT, K);                                         \
    }
#define Q_KINDS(T, P, X, XT)                                                                     \
    Q_FNS(T, P, X##_fast, XT, Q_FAST)                                                            \
    Q_FNS(T, P, X##_de, XT, Q_DIV_EVEN)                                                          \
    Q_FNS(T, P, X##_da, XT, Q_DIV_AWAY)                                                          \
    Q_FNS(T, P, X##_re, XT, Q_REC_EVEN)                                                          \
    Q_FNS(T, P, X##_ra, XT, Q_REC_AWAY)
#define Q_ROW(P, X) {P##_##X##_fast, P##_##X##_de, P##_##X##_da, P##_##X##_re, P##_##X##_ra}
#define Q_TABLES(T, P)                                                                           \
    Q_KINDS(T, P, f32, CLQ_F32)                                                                  \
    Q_KINDS(T, P, f16, CLQ_F16)                                                                  \
    Q_KINDS(T, P, bf16, CLQ_BF16)                                                                \
    static const q_run_fn P##_runs[3][5] = {Q_ROW(P##r, f32), Q_ROW(P##r, f16),                  \
                                            Q_ROW(P##r, bf16)};                                  \
    /* Q_FAST is chosen per block inside the plain kinds */                                      \
    static const q_b32_fn P##_b32s[3][5] = {Q_ROW(P##b, f32), Q_ROW(P##b, f16), Q_ROW(P##b, bf16)};

Q_TABLES(CLQ_T512, q512)

CLQ_T512 static void q512_run(const clq_cpu_ewcfg *cfg, const void *x, void *q, size_t n,
                              float scale, int32_t zp) {
    q512_runs[xrow(cfg->xtype)][run_kind(cfg, scale, zp)](cfg, x, q, n, scale, zp);
}

/* Per-element parameters (never packed): the division (or reciprocal) per lane. */
CLQ_T512 static void q512_vec(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    const size_t xs = clq__cpu_dtype_size(xt);
    const int uns = cfg->is_unsigned;
    uint8_t *q = out;
    q512c c;
    q512_set(&c, cfg, plain_kind(cfg), 1.0f, 0);
    const __m512 one = _mm512_set1_ps(1.0f), zlo = _mm512_set1_ps(cfg->zlo),
                 zhi = _mm512_set1_ps(cfg->zhi);
    __m512i v[4];
    size_t j = 0;
    for (; j < n; j += 64) {
        size_t m = n - j < 64 ? n - j : 64;
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        for (int i = 0; i < 4; i++) {
            size_t o = j + 16 * (size_t)i, r = o < n ? n - o : 0;
            __mmask16 k = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1);
            c.s = _mm512_mask_loadu_ps(one, k, scale + o);
            if (cfg->reciprocal) c.s = _mm512_div_ps(one, c.s);
            __m512 z = zp ? _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(k, zp + o))
                          : _mm512_setzero_ps();
            c.z = _mm512_min_ps(_mm512_max_ps(z, zlo), zhi); /* clq__zp_clamp */
            __m512 xv = clq__ld512(xt, x, o, k);
            __m512 d = cfg->reciprocal ? _mm512_mul_ps(xv, c.s) : _mm512_div_ps(xv, c.s);
            v[i] = q512_fin(&c, d, cfg->half_away);
        }
        __m512i bytes = pack64(v[0], v[1], v[2], v[3], uns);
        if (m == 64)
            _mm512_storeu_si512((void *)(q + j), bytes);
        else
            _mm512_mask_storeu_epi8(q + j, ((__mmask64)1 << m) - 1, bytes);
    }
}

CLQ_T512 static void q512_blocks(const clq_cpu_ewcfg *cfg, const void *x, void *q, size_t block,
                                 size_t nblk, const float *scale, const int32_t *zp) {
    if (block == 32) {
        /* the common weight layout: two full vectors per (scale, zero point) */
        q512_b32s[xrow(cfg->xtype)][plain_kind(cfg)](cfg, x, q, nblk, scale, zp);
        return;
    }
    size_t xs = clq__cpu_dtype_size(cfg->xtype), qb = cfg->packed ? block / 2 : block;
    for (size_t b = 0; b < nblk; b++)
        q512_run(cfg, (const char *)x + b * block * xs, (uint8_t *)q + b * qb, block, scale[b],
                 zp ? zp[b] : 0);
}

CLQ_T512 static void q512_pack4(int stream, const uint8_t *src, uint8_t *dst, size_t n) {
    size_t k = 0;
    stream = stream && ((uintptr_t)dst & 31) == 0;
    for (; k + 64 <= n; k += 64) {
        __m256i o = nib64(_mm512_loadu_si512((const void *)(src + k)));
        if (stream)
            _mm256_stream_si256((__m256i *)(dst + k / 2), o);
        else
            _mm256_storeu_si256((__m256i *)(dst + k / 2), o);
    }
    for (; k + 1 < n; k += 2) dst[k / 2] = (uint8_t)((src[k] & 15u) | (unsigned)(src[k + 1] << 4));
}

const clq_cpu_ewkernels clq__cpu_qk_avx512 = {q512_run, q512_vec, q512_blocks, q512_pack4, NULL, 1, NULL};

/* ---- AVX2 --------------------------------------------------------------- */

typedef struct q256c {
    __m256 s, sdiv, z, lo, hi, L, H; /* as q512c */
    int away;
} q256c;

CLQ_T256 CLQ_INLINE void q256_set(q256c *c, const clq_cpu_ewcfg *cfg, int kind, float scale,
                                  int32_t zp) {
    float zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    int rec = kind == Q_FAST || kind == Q_REC_EVEN || kind == Q_REC_AWAY;
    c->s = _mm256_set1_ps(rec ? 1.0f / scale : scale);
    c->sdiv = _mm256_set1_ps(scale);
    c->z = _mm256_set1_ps(zpf);
    c->lo = _mm256_set1_ps(cfg->qmin);
    c->hi = _mm256_set1_ps(cfg->qmax);
    c->L = _mm256_set1_ps(cfg->qmin - zpf);
    c->H = _mm256_set1_ps(cfg->qmax - zpf);
    c->away = cfg->half_away;
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

/* q512v's Q_FAST (and its proof) on 8 lanes. */
CLQ_T256 CLQ_INLINE __m256i q256v(const q256c *c, __m256 x, int K) {
    if (K == Q_FAST) {
        __m256 w = _mm256_min_ps(c->H, _mm256_max_ps(c->L, _mm256_mul_ps(x, c->s)));
        __m256 r = _mm256_round_ps(w, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 d = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(w, r));
        int ok = _mm256_movemask_ps(_mm256_cmp_ps(d, _mm256_set1_ps(0.5f - 0x1p-12f), _CMP_LT_OQ));
        if (__builtin_expect(ok == 0xff, 1)) return _mm256_cvttps_epi32(_mm256_add_ps(r, c->z));
        return q256_fin(c, _mm256_div_ps(x, c->sdiv), c->away);
    }
    if (K == Q_DIV_EVEN || K == Q_DIV_AWAY) return q256_fin(c, _mm256_div_ps(x, c->s), K == Q_DIV_AWAY);
    return q256_fin(c, _mm256_mul_ps(x, c->s), K == Q_REC_AWAY);
}

/* 32 int32 lanes (within [-128, 255]) to 32 bytes in order (see pack64). */
CLQ_T256 CLQ_INLINE __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d, int uns) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i v = uns ? _mm256_packus_epi16(ab, cd) : _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* 32 bytes of 4-bit values to 16 bytes of nibbles. */
CLQ_T256 CLQ_INLINE __m128i nib32(__m256i v) {
    __m256i w = _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi16(0x000f)),
                                _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi16(0x00f0)));
    return _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

CLQ_T256 CLQ_INLINE void st32(uint8_t *q, size_t j, __m256i bytes, int packed, int stream) {
    if (packed) {
        __m128i n = nib32(bytes);
        if (stream)
            _mm_stream_si128((__m128i *)(q + j / 2), n);
        else
            _mm_storeu_si128((__m128i *)(q + j / 2), n);
    } else if (stream) {
        _mm256_stream_si256((__m256i *)(q + j), bytes);
    } else {
        _mm256_storeu_si256((__m256i *)(q + j), bytes);
    }
}

CLQ_T256 CLQ_INLINE __m256i q256_ld(const q256c *c, const void *x, size_t j, clq_dtype XT, int K) {
    return q256v(c, clq__ld256(XT, x, j), K);
}

CLQ_T256 CLQ_INLINE void q256_run_body(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q,
                                       size_t n, float scale, int32_t zp, clq_dtype XT, int K) {
    q256c c;
    q256_set(&c, cfg, K, scale, zp);
    const int packed = cfg->packed, uns = cfg->is_unsigned;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 15 : 31)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        for (size_t h = 0; h < 64; h += 32) {
            __m256i a = q256_ld(&c, x, j + h, XT, K), b = q256_ld(&c, x, j + h + 8, XT, K);
            __m256i d = q256_ld(&c, x, j + h + 16, XT, K), e = q256_ld(&c, x, j + h + 24, XT, K);
            st32(q, j + h, pack32(a, b, d, e, uns), packed, stream);
        }
    }
    if (j < n) q_tail(cfg, x, q, j, n, scale, zp);
}

/* One block of 32 (four vectors) with its own constants, as q512_block. */
CLQ_T256 CLQ_INLINE __m256i q256_block(const clq_cpu_ewcfg *cfg, const void *x, size_t b,
                                       float sc, int32_t z, clq_dtype XT, int K) {
    q256c c;
    int k = K;
    if (K != Q_REC_EVEN && K != Q_REC_AWAY && fast_ok(sc, z, cfg->qmin, cfg->qmax)) k = Q_FAST;
    q256_set(&c, cfg, k, sc, z);
    __m256i v[4];
    for (int i = 0; i < 4; i++)
        v[i] = k == Q_FAST ? q256_ld(&c, x, b * 32 + 8 * (size_t)i, XT, Q_FAST)
                           : q256_ld(&c, x, b * 32 + 8 * (size_t)i, XT, K);
    return pack32(v[0], v[1], v[2], v[3], cfg->is_unsigned);
}

CLQ_T256 CLQ_INLINE void q256_b32_body(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q,
                                       size_t nblk, const float *scale, const int32_t *zp,
                                       clq_dtype XT, int K) {
    const int packed = cfg->packed;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 15 : 31)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    for (size_t b = 0; b < nblk; b++) {
        for (size_t p = 0; p < 32 * xs; p += 64) clq__prefetch((const char *)x + b * 32 * xs + p);
        st32(q, b * 32, q256_block(cfg, x, b, scale[b], zp ? zp[b] : 0, XT, K), packed, stream);
    }
}

Q_TABLES(CLQ_T256, q256)

CLQ_T256 static void q256_run(const clq_cpu_ewcfg *cfg, const void *x, void *q, size_t n,
                              float scale, int32_t zp) {
    q256_runs[xrow(cfg->xtype)][run_kind(cfg, scale, zp)](cfg, x, q, n, scale, zp);
}

CLQ_T256 static void q256_vec(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    const size_t xs = clq__cpu_dtype_size(xt);
    uint8_t *q = out;
    q256c c;
    q256_set(&c, cfg, plain_kind(cfg), 1.0f, 0);
    const __m256 one = _mm256_set1_ps(1.0f), zlo = _mm256_set1_ps(cfg->zlo),
                 zhi = _mm256_set1_ps(cfg->zhi);
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        for (size_t p = 0; p < 32 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        __m256i v[4];
        for (int i = 0; i < 4; i++) {
            size_t o = j + 8 * (size_t)i;
            c.s = _mm256_loadu_ps(scale + o);
            if (cfg->reciprocal) c.s = _mm256_div_ps(one, c.s);
            __m256 z = zp ? _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(zp + o)))
                          : _mm256_setzero_ps();
            c.z = _mm256_min_ps(_mm256_max_ps(z, zlo), zhi); /* clq__zp_clamp */
            __m256 xv = clq__ld256(xt, x, o);
            __m256 d = cfg->reciprocal ? _mm256_mul_ps(xv, c.s) : _mm256_div_ps(xv, c.s);
            v[i] = q256_fin(&c, d, cfg->half_away);
        }
        _mm256_storeu_si256((__m256i *)(q + j), pack32(v[0], v[1], v[2], v[3], cfg->is_unsigned));
    }
    for (; j < n; j++) {
        float sv = cfg->reciprocal ? 1.0f / scale[j] : scale[j];
        float zpf = zp ? clq__zp_clamp(zp[j], cfg->zlo, cfg->zhi) : 0.0f;
        q[j] = clq__quantize_one(clq__load_float(xt, x, j), sv, zpf, cfg->qmin, cfg->qmax,
                                 cfg->half_away, cfg->reciprocal);
    }
}

CLQ_T256 static void q256_blocks(const clq_cpu_ewcfg *cfg, const void *x, void *q, size_t block,
                                 size_t nblk, const float *scale, const int32_t *zp) {
    if (block == 32) {
        q256_b32s[xrow(cfg->xtype)][plain_kind(cfg)](cfg, x, q, nblk, scale, zp);
        return;
    }
    size_t xs = clq__cpu_dtype_size(cfg->xtype), qb = cfg->packed ? block / 2 : block;
    for (size_t b = 0; b < nblk; b++)
        q256_run(cfg, (const char *)x + b * block * xs, (uint8_t *)q + b * qb, block, scale[b],
                 zp ? zp[b] : 0);
}

CLQ_T256 static void q256_pack4(int stream, const uint8_t *src, uint8_t *dst, size_t n) {
    size_t k = 0;
    stream = stream && ((uintptr_t)dst & 15) == 0;
    for (; k + 32 <= n; k += 32) {
        __m128i o = nib32(_mm256_loadu_si256((const __m256i *)(src + k)));
        if (stream)
            _mm_stream_si128((__m128i *)(dst + k / 2), o);
        else
            _mm_storeu_si128((__m128i *)(dst + k / 2), o);
    }
    for (; k + 1 < n; k += 2) dst[k / 2] = (uint8_t)((src[k] & 15u) | (unsigned)(src[k + 1] << 4));
}

const clq_cpu_ewkernels clq__cpu_qk_avx2 = {q256_run, q256_vec, q256_blocks, q256_pack4, NULL, 1, NULL};

#endif /* CLQ_CPU_X86 */
