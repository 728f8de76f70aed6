/* cpu_quantize_simd.c: AVX-512 and AVX2 quantize kernels, bit-identical to the
 * portable ones: true division (never rcp), rounding by roundscale/round_ps,
 * clamp in f32 before the conversion, NaN quotient -> zero point. */
#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512 ------------------------------------------------------------ */

/* Kernel kinds, compiled as separate loops so the hot loop has no branch on the
 * mode: Q_FAST is the default division mode through the reciprocal (below),
 * the others are the plain formulas. */
enum { Q_FAST, Q_DIV_EVEN, Q_DIV_AWAY, Q_REC_EVEN, Q_REC_AWAY };

/* Per-(scale, zero point) constants. */
typedef struct q512c {
    __m512 s;       /* scale (division), 1/scale (reciprocal mode, Q_FAST) */
    __m512 sdiv;    /* scale, for Q_FAST's lanes that need the real division */
    __m512 z;       /* zero point as f32 */
    __m512 lo, hi;  /* qmin, qmax */
    __m512 L, H;    /* qmin - zp, qmax - zp (Q_FAST) */
    int away;       /* CLQ_ROUND_HALF_AWAY, for Q_FAST's division lanes */
} q512c;

/* Whether Q_FAST may serve a (scale, zero point): see q512v. */
static inline int fast_ok(float scale, int32_t zp, float qmin, float qmax) {
    return scale >= 0x1p-126f && scale <= 0x1p126f && (float)zp >= qmin && (float)zp <= qmax;
}

CLQ_T512 CLQ_INLINE void q512_set(q512c *c, const clq_cpu_qcfg *cfg, int kind, float scale,
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
 *
 * 1. The reference: q = clamp(R(x / scale) + zp, qmin, qmax), R = rint or
 *    round-half-away, equals R(clamp(v, L, H)) + zp with v = RN(x / scale):
 *    L and H are integers, so R commutes with the clamp (R is monotonic and
 *    fixes integers; when v overflows or is huge the f32 add of the reference
 *    only decides the side, the same one), and R(w) + zp is then an exact f32
 *    add inside [qmin, qmax]. So only w_ref = clamp(v, L, H) matters.
 * 2. Here w = min(H, max(L, v')) with v' = RN(x * rcp) (operand order keeps a
 *    NaN v' as NaN). For finite x, |w - w_ref| < 2^-12, where u = 2^-24:
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

CLQ_T512 CLQ_INLINE void st16(int stream, uint8_t *q, __m128i v) {
    if (stream)
        _mm_stream_si128((__m128i *)q, v);
    else
        _mm_storeu_si128((__m128i *)q, v);
}

/* 32 quantized values (low bytes of a, then b) as 16 bytes of nibbles. */
CLQ_T512 CLQ_INLINE __m128i nib32(__m512i a, __m512i b) {
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm512_cvtepi32_epi8(a)),
                                        _mm512_cvtepi32_epi8(b), 1);
    __m256i w = _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi16(0x000f)),
                                _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi16(0x00f0)));
    return _mm256_cvtepi16_epi8(w);
}

/* Elements [j, j+32) with one set of constants: one byte each, or with
 * packed 16 bytes of nibbles at q + j/2. */
CLQ_T512 CLQ_INLINE void q512_32(const q512c *c, const void *x, uint8_t *q, size_t j, int packed,
                                 int stream, clq_dtype XT, int K) {
    size_t xs = XT == CLQ_F32 ? 4 : 2;
    clq__prefetch((const char *)x + j * xs);
    if (XT == CLQ_F32) clq__prefetch((const char *)x + (j + 16) * xs);
    __m512i a = q512v(c, clq__ld512_full(XT, x, j), K);
    __m512i b = q512v(c, clq__ld512_full(XT, x, j + 16), K);
    if (packed) {
        st16(stream, q + j / 2, nib32(a, b));
    } else {
        st16(stream, q + j, _mm512_cvtepi32_epi8(a));
        st16(stream, q + j + 16, _mm512_cvtepi32_epi8(b));
    }
}

/* n elements with one (scale, zp); the last < 32 through masks (or, packed, a
 * small buffer: an odd n leaves the high nibble of the last byte 0). */
CLQ_T512 CLQ_INLINE void q512_run_body(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                                       float scale, int32_t zp, clq_dtype XT, int K) {
    q512c c;
    q512_set(&c, cfg, K, scale, zp);
    const int packed = cfg->packed, stream = cfg->stream && ((uintptr_t)q & 15) == 0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) q512_32(&c, x, q, j, packed, stream, XT, K);
    if (j == n) return;
    size_t r = n - j;
    __mmask16 ma = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1);
    __mmask16 mb = r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
    __m512i a = q512v(&c, clq__ld512(XT, x, j, ma), K);
    __m512i b = q512v(&c, clq__ld512(XT, x, j + 16, mb), K);
    if (packed) {
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)t, nib32(a, b));
        if (r & 1) t[r / 2] &= 15u;
        memcpy(q + j / 2, t, (r + 1) / 2);
    } else {
        _mm_mask_storeu_epi8(q + j, ma, _mm512_cvtepi32_epi8(a));
        _mm_mask_storeu_epi8(q + j + 16, mb, _mm512_cvtepi32_epi8(b));
    }
}

/* nblk blocks of 32 elements, block b with scale[b], zp[b]. In division mode
 * each block takes Q_FAST when fast_ok allows it. */
CLQ_T512 CLQ_INLINE void q512_b32_body(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q,
                                       size_t nblk, const float *scale, const int32_t *zp,
                                       clq_dtype XT, int K) {
    const int packed = cfg->packed, stream = cfg->stream && ((uintptr_t)q & 15) == 0;
    for (size_t b = 0; b < nblk; b++) {
        float sc = scale[b];
        int32_t z = zp ? zp[b] : 0;
        q512c c;
        if (K == Q_REC_EVEN || K == Q_REC_AWAY) {
            q512_set(&c, cfg, K, sc, z);
            q512_32(&c, x, q, b * 32, packed, stream, XT, K);
        } else if (fast_ok(sc, z, cfg->qmin, cfg->qmax)) {
            q512_set(&c, cfg, Q_FAST, sc, z);
            q512_32(&c, x, q, b * 32, packed, stream, XT, Q_FAST);
        } else {
            q512_set(&c, cfg, K, sc, z);
            q512_32(&c, x, q, b * 32, packed, stream, XT, K);
        }
    }
}

/* One function per (input type, kind): the mode tests fold away at compile time. */
typedef void (*q512_run_fn)(const clq_cpu_qcfg *, const void *, uint8_t *, size_t, float, int32_t);
typedef void (*q512_b32_fn)(const clq_cpu_qcfg *, const void *, uint8_t *, size_t, const float *,
                            const int32_t *);
#define Q512_FNS(SUF, XT, K)                                                                        \
    CLQ_T512 static void q512r_##SUF(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n, \
                                     float scale, int32_t zp) {                                    \
        q512_run_body(cfg, x, q, n, scale, zp, XT, K);                                             \
    }                                                                                              \
    CLQ_T512 static void q512b_##SUF(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q,           \
                                     size_t nblk, const float *scale, const int32_t *zp) {         \
        q512_b32_body(cfg, x, q, nblk, scale, zp, XT, K);                                          \
    }
#define Q512_KINDS(X, XT)                                                                          \
    Q512_FNS(X##_fast, XT, Q_FAST)                                                                 \
    Q512_FNS(X##_de, XT, Q_DIV_EVEN)                                                               \
    Q512_FNS(X##_da, XT, Q_DIV_AWAY)                                                               \
    Q512_FNS(X##_re, XT, Q_REC_EVEN)                                                               \
    Q512_FNS(X##_ra, XT, Q_REC_AWAY)
Q512_KINDS(f32, CLQ_F32)
Q512_KINDS(f16, CLQ_F16)
Q512_KINDS(bf16, CLQ_BF16)

#define Q512_ROW(P, X) {P##_##X##_fast, P##_##X##_de, P##_##X##_da, P##_##X##_re, P##_##X##_ra}
static const q512_run_fn q512_runs[3][5] = {Q512_ROW(q512r, f32), Q512_ROW(q512r, f16),
                                            Q512_ROW(q512r, bf16)};
/* Q_FAST is chosen per block inside the division kinds. */
static const q512_b32_fn q512_b32s[3][5] = {Q512_ROW(q512b, f32), Q512_ROW(q512b, f16),
                                            Q512_ROW(q512b, bf16)};

static int xrow(clq_dtype t) { return t == CLQ_F32 ? 0 : t == CLQ_F16 ? 1 : 2; }

/* The plain kind of a configuration (never Q_FAST). */
static int plain_kind(const clq_cpu_qcfg *cfg) {
    return cfg->reciprocal ? (cfg->half_away ? Q_REC_AWAY : Q_REC_EVEN)
                           : (cfg->half_away ? Q_DIV_AWAY : Q_DIV_EVEN);
}

CLQ_T512 static void q512_run(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                              float scale, int32_t zp) {
    int k = plain_kind(cfg);
    if (!cfg->reciprocal && fast_ok(scale, zp, cfg->qmin, cfg->qmax)) k = Q_FAST;
    q512_runs[xrow(cfg->xtype)][k](cfg, x, q, n, scale, zp);
}

CLQ_T512 static void q512_vec(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    const int K = plain_kind(cfg);
    q512c c;
    q512_set(&c, cfg, K, 1.0f, 0);
    __m512 one = _mm512_set1_ps(1.0f), zlo = _mm512_set1_ps(cfg->zlo), zhi = _mm512_set1_ps(cfg->zhi);
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        c.s = _mm512_mask_loadu_ps(one, m, scale + j);
        if (cfg->reciprocal) c.s = _mm512_div_ps(one, c.s);
        __m512 z = zp ? _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, zp + j)) : _mm512_setzero_ps();
        c.z = _mm512_min_ps(_mm512_max_ps(z, zlo), zhi); /* clq__zp_clamp */
        __m512 xv = clq__ld512(xt, x, j, m);
        __m512 v = cfg->reciprocal ? _mm512_mul_ps(xv, c.s) : _mm512_div_ps(xv, c.s);
        _mm_mask_storeu_epi8(q + j, m, _mm512_cvtepi32_epi8(q512_fin(&c, v, cfg->half_away)));
    }
}

CLQ_T512 static void q512_blocks(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t block,
                                 size_t nblk, const float *scale, const int32_t *zp) {
    if (block == 32) {
        /* the common weight layout: two full vectors per (scale, zero point) */
        q512_b32s[xrow(cfg->xtype)][plain_kind(cfg)](cfg, x, q, nblk, scale, zp);
        return;
    }
    size_t xs = clq__cpu_dtype_size(cfg->xtype), qb = cfg->packed ? block / 2 : block;
    for (size_t b = 0; b < nblk; b++)
        q512_run(cfg, (const char *)x + b * block * xs, q + b * qb, block, scale[b], zp ? zp[b] : 0);
}

CLQ_T512 static void q512_pack4(int stream, const uint8_t *src, uint8_t *dst, size_t n) {
    size_t k = 0;
    stream = stream && ((uintptr_t)dst & 31) == 0;
    const __m512i lo = _mm512_set1_epi16(0x000f), hi = _mm512_set1_epi16(0x00f0);
    for (; k + 64 <= n; k += 64) {
        __m512i w = _mm512_loadu_si512((const void *)(src + k));
        __m512i o = _mm512_or_si512(_mm512_and_si512(w, lo),
                                    _mm512_and_si512(_mm512_srli_epi16(w, 4), hi));
        if (stream)
            _mm256_stream_si256((__m256i *)(dst + k / 2), _mm512_cvtepi16_epi8(o));
        else
            _mm256_storeu_si256((__m256i *)(dst + k / 2), _mm512_cvtepi16_epi8(o));
    }
    for (; k + 1 < n; k += 2) dst[k / 2] = (uint8_t)((src[k] & 15u) | (unsigned)(src[k + 1] << 4));
}

const clq_cpu_qkernels clq__cpu_qk_avx512 = {q512_run, q512_vec, q512_blocks, q512_pack4, 1};

/* ---- AVX2 --------------------------------------------------------------- */

CLQ_T256 CLQ_INLINE __m256i q256(const clq_cpu_qcfg *cfg, __m256 x, __m256 s, __m256 zpf,
                                 __m256 lo, __m256 hi) {
    __m256 v = cfg->reciprocal ? _mm256_mul_ps(x, s) : _mm256_div_ps(x, s);
    __m256 r;
    if (!cfg->half_away) {
        r = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else {
        __m256 sign = _mm256_set1_ps(-0.0f);
        __m256 tr = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m256 up = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, tr)), _mm256_set1_ps(0.5f),
                                  _CMP_GE_OQ);
        __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
        r = _mm256_blendv_ps(tr, _mm256_add_ps(tr, one), up);
    }
    __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, zpf), lo), hi);
    t = _mm256_blendv_ps(t, zpf, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_cvttps_epi32(t);
}

/* Low byte of each of 8 int32 lanes to q[0..7], as a (uint8_t) cast would. */
CLQ_T256 CLQ_INLINE void st8(uint8_t *q, __m256i v) {
    const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    __m256i b = _mm256_shuffle_epi8(v, pick);
    _mm_storel_epi64((__m128i *)q,
                     _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1)));
}

CLQ_T256 static void q256_run(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                              float scale, int32_t zp) {
    const clq_dtype xt = cfg->xtype;
    float sv = cfg->reciprocal ? 1.0f / scale : scale, zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    __m256 s = _mm256_set1_ps(sv), z = _mm256_set1_ps(zpf), lo = _mm256_set1_ps(cfg->qmin),
           hi = _mm256_set1_ps(cfg->qmax);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        st8(q + j, q256(cfg, clq__ld256(xt, x, j), s, z, lo, hi));
    }
    for (; j < n; j++)
        q[j] = clq__quantize_one(clq__load_float(xt, x, j), sv, zpf, cfg->qmin, cfg->qmax,
                                 cfg->half_away, cfg->reciprocal);
}

CLQ_T256 static void q256_vec(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    __m256 lo = _mm256_set1_ps(cfg->qmin), hi = _mm256_set1_ps(cfg->qmax);
    __m256 zlo = _mm256_set1_ps(cfg->zlo), zhi = _mm256_set1_ps(cfg->zhi);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        __m256 s = _mm256_loadu_ps(scale + j);
        if (cfg->reciprocal) s = _mm256_div_ps(_mm256_set1_ps(1.0f), s);
        __m256 z = zp ? _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(zp + j)))
                      : _mm256_setzero_ps();
        z = _mm256_min_ps(_mm256_max_ps(z, zlo), zhi); /* clq__zp_clamp */
        st8(q + j, q256(cfg, clq__ld256(xt, x, j), s, z, lo, hi));
    }
    for (; j < n; j++) {
        float sv = cfg->reciprocal ? 1.0f / scale[j] : scale[j];
        float zpf = zp ? clq__zp_clamp(zp[j], cfg->zlo, cfg->zhi) : 0.0f;
        q[j] = clq__quantize_one(clq__load_float(xt, x, j), sv, zpf, cfg->qmin, cfg->qmax,
                                 cfg->half_away, cfg->reciprocal);
    }
}

CLQ_T256 static void q256_blocks(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t block,
                                 size_t nblk, const float *scale, const int32_t *zp) {
    size_t xs = clq__cpu_dtype_size(cfg->xtype);
    for (size_t b = 0; b < nblk; b++)
        q256_run(cfg, (const char *)x + b * block * xs, q + b * block, block, scale[b],
                 zp ? zp[b] : 0);
}

CLQ_T256 static void q256_pack4(int stream, const uint8_t *src, uint8_t *dst, size_t n) {
    (void)stream;
    size_t k = 0;
    const __m256i lo = _mm256_set1_epi16(0x000f), hi = _mm256_set1_epi16(0x00f0);
    for (; k + 32 <= n; k += 32) {
        __m256i w = _mm256_loadu_si256((const __m256i *)(src + k));
        __m256i o = _mm256_or_si256(_mm256_and_si256(w, lo),
                                    _mm256_and_si256(_mm256_srli_epi16(w, 4), hi));
        _mm_storeu_si128((__m128i *)(dst + k / 2),
                         _mm_packus_epi16(_mm256_castsi256_si128(o), _mm256_extracti128_si256(o, 1)));
    }
    for (; k + 1 < n; k += 2) dst[k / 2] = (uint8_t)((src[k] & 15u) | (unsigned)(src[k + 1] << 4));
}

const clq_cpu_qkernels clq__cpu_qk_avx2 = {q256_run, q256_vec, q256_blocks, q256_pack4, 0};

#endif /* CLQ_CPU_X86 */
