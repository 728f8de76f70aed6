/* cpu_quantize_avx512.c: the AVX-512 quantize kernels: the reciprocal fast path
 * (Q_FAST, proof in cpu_quantize_simd.h) with the correctly rounded division for
 * rejected groups and the plain kinds, rounding by roundscale, results packed to
 * bytes (and 4-bit pairs) in registers and written a cache line at a time. */
#include "cpu_quantize_simd.h"
#include "cpu_quantize_vec.h"

#if CLQ_CPU_X86

/* 64 int32 lanes (values within [-128, 255]) to 64 bytes in order: saturating
 * packs are exact on that range (unsigned for u8, whose 128..255 would saturate).
 * ilv: the lanes come from unpacking 16-bit input (q512_ld4), whose order the
 * packs undo up to a permutation of quadwords. */
CLQ_T512 CLQ_INLINE __m512i pack64(__m512i a, __m512i b, __m512i c, __m512i d, int uns, int ilv) {
    __m512i ab = _mm512_packs_epi32(a, b), cd = _mm512_packs_epi32(c, d);
    __m512i v = uns ? _mm512_packus_epi16(ab, cd) : _mm512_packs_epi16(ab, cd);
    if (ilv) return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), v);
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), v);
}

/* 64 elements from x + j as four f32 vectors. bf16 is unpacked against zero
 * (one shuffle a vector instead of a widening and a shift), which leaves the
 * lanes in the order pack64(ilv) undoes. */
CLQ_T512 CLQ_INLINE void q512_ld4(clq_dtype XT, const void *x, size_t j, __m512 *v) {
    if (XT == CLQ_BF16) {
        const uint16_t *p = (const uint16_t *)x + j;
        __m512i a = _mm512_loadu_si512((const void *)p), b = _mm512_loadu_si512((const void *)(p + 32));
        __m512i z = _mm512_setzero_si512();
        v[0] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, a));
        v[1] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, a));
        v[2] = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, b));
        v[3] = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, b));
        return;
    }
    for (int i = 0; i < 4; i++) v[i] = clq__ld512_full(XT, x, j + 16 * (size_t)i);
}

/* Q_FAST on 64 lanes, vector i with c[i]: bytes clamped to [qmin, qmax]. */
CLQ_T512 CLQ_INLINE __m512i q512_grp(const q512g *g, const __m512 *v, const q512f *const *c, int ilv) {
    __m512i acc = _mm512_setzero_si512(), k[4];
    for (int i = 0; i < 4; i++) k[i] = q512_fast1(v[i], c[i]->rcp, c[i]->zf, &acc);
    if (__builtin_expect(_mm512_cmp_ps_mask(_mm512_castsi512_ps(acc), _mm512_set1_ps(0.5f - 0x1p-12f),
                                            _CMP_NLT_UQ) != 0,
                         0))
        for (int i = 0; i < 4; i++) k[i] = q512_slow1(g, v[i], c[i]);
    __m512i b = pack64(k[0], k[1], k[2], k[3], g->uns, ilv);
    if (g->uns) return _mm512_min_epu8(_mm512_max_epu8(b, g->blo), g->bhi);
    return _mm512_min_epi8(_mm512_max_epi8(b, g->blo), g->bhi);
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
    const int packed = cfg->packed, uns = cfg->is_unsigned, ilv = XT == CLQ_BF16;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 31 : 63)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    q512c c;
    q512g g;
    q512f f;
    const q512f *fc[4] = {&f, &f, &f, &f};
    if (K == Q_FAST) {
        q512_gset(&g, cfg);
        q512_fset(&f, &scale, clq__zp_clamp(zp, cfg->zlo, cfg->zhi));
    } else {
        q512_set(&c, cfg, K, scale, zp);
    }
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        __m512i bytes;
        if (K == Q_FAST) {
            __m512 v[4];
            q512_ld4(XT, x, j, v);
            bytes = q512_grp(&g, v, fc, ilv);
        } else {
            __m512i a = q512_ld(&c, x, j, XT, K), b = q512_ld(&c, x, j + 16, XT, K);
            __m512i d = q512_ld(&c, x, j + 32, XT, K), e = q512_ld(&c, x, j + 48, XT, K);
            bytes = pack64(a, b, d, e, uns, 0);
        }
        st64(q, j, bytes, packed, stream);
    }
    if (j < n) q_tail(cfg, x, q, j, n, scale, zp);
}

/* Two int32 vectors of block b (32 elements at x + 32 b) of plain kind K. */
CLQ_T512 CLQ_INLINE void q512_block(const clq_cpu_ewcfg *cfg, const void *x, size_t b, float sc,
                                    int32_t z, clq_dtype XT, int K, __m512i *lo, __m512i *hi) {
    q512c c;
    q512_set(&c, cfg, K, sc, z);
    *lo = q512_ld(&c, x, b * 32, XT, K);
    *hi = q512_ld(&c, x, b * 32 + 16, XT, K);
}

/* Blocks b and b + 1 the general way: each by Q_FAST when fast_ok allows (in
 * division mode), else by the plain kind K; the Q_FAST lanes clamped in int32. */
CLQ_T512 CLQ_INLINE __m512i q512_pair(const clq_cpu_ewcfg *cfg, const q512g *g, const void *x,
                                      size_t b, const float *scale, const int32_t *zp, clq_dtype XT,
                                      int K) {
    __m512i k[4];
    for (int i = 0; i < 2; i++) {
        float sc = scale[b + i], zf = clq__zp_clamp(zp ? zp[b + i] : 0, cfg->zlo, cfg->zhi);
        if (K != Q_REC_EVEN && K != Q_REC_AWAY && fast_ok(sc, zf, cfg->qmin, cfg->qmax)) {
            q512f f;
            q512_fset(&f, scale + b + i, zf);
            const __m512i lo = _mm512_set1_epi32((int)cfg->qmin), hi = _mm512_set1_epi32((int)cfg->qmax);
            for (int h = 0; h < 2; h++) {
                __m512i acc = _mm512_setzero_si512();
                __m512 v = clq__ld512_full(XT, x, (b + i) * 32 + 16 * (size_t)h);
                __m512i r = q512_fast1(v, f.rcp, f.zf, &acc);
                if (_mm512_cmp_ps_mask(_mm512_castsi512_ps(acc), _mm512_set1_ps(0.5f - 0x1p-12f),
                                       _CMP_NLT_UQ))
                    r = q512_slow1(g, v, &f);
                k[2 * i + h] = _mm512_min_epi32(_mm512_max_epi32(r, lo), hi);
            }
        } else {
            q512_block(cfg, x, b + i, sc, zp ? zp[b + i] : 0, XT, K, &k[2 * i], &k[2 * i + 1]);
        }
    }
    return pack64(k[0], k[1], k[2], k[3], cfg->is_unsigned, 0);
}

/* nblk blocks of 32 elements, block b with scale[b], zp[b], two blocks a store.
 * In division mode, 16 blocks whose parameters all pass fast_ok take Q_FAST with
 * their reciprocals made by one vector division; other blocks go by q512_pair. */
CLQ_T512 CLQ_INLINE void q512_b32_body(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q,
                                       size_t nblk, const float *scale, const int32_t *zp,
                                       clq_dtype XT, int K) {
    const int packed = cfg->packed, ilv = XT == CLQ_BF16;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 31 : 63)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    q512g g;
    q512_gset(&g, cfg);
    size_t b = 0;
    if (K == Q_DIV_EVEN || K == Q_DIV_AWAY) {
        const __m512 zlo = _mm512_set1_ps((float)cfg->zlo), zhi = _mm512_set1_ps((float)cfg->zhi);
        const __m512 qlo = _mm512_set1_ps(cfg->qmin), qhi = _mm512_set1_ps(cfg->qmax);
        for (; b + 16 <= nblk; b += 16) {
            __m512 sc = _mm512_loadu_ps(scale + b), zf = _mm512_setzero_ps();
            if (zp) zf = _mm512_cvtepi32_ps(_mm512_loadu_si512((const void *)(zp + b)));
            zf = _mm512_min_ps(_mm512_max_ps(zf, zlo), zhi); /* clq__zp_clamp */
            __mmask16 ok = _mm512_cmp_ps_mask(sc, _mm512_set1_ps(0x1p-100f), _CMP_GE_OQ) &
                           _mm512_cmp_ps_mask(sc, _mm512_set1_ps(0x1p100f), _CMP_LE_OQ) &
                           _mm512_cmp_ps_mask(zf, qlo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(zf, qhi, _CMP_LE_OQ);
            if (ok != 0xffff) {
                for (size_t i = 0; i < 16; i += 2)
                    st64(q, (b + i) * 32, q512_pair(cfg, &g, x, b + i, scale, zp, XT, K), packed, stream);
                continue;
            }
            float rc[16], zz[16];
            _mm512_storeu_ps(rc, _mm512_div_ps(_mm512_set1_ps(1.0f), sc));
            _mm512_storeu_ps(zz, zf);
            for (size_t i = 0; i < 16; i += 2) {
                const char *xb = (const char *)x + (b + i) * 32 * xs;
                for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch(xb + p);
                q512f f0 = {_mm512_set1_ps(rc[i]), _mm512_set1_ps(zz[i]), scale + b + i, 0};
                q512f f1 = {_mm512_set1_ps(rc[i + 1]), _mm512_set1_ps(zz[i + 1]), scale + b + i + 1, 0};
                const q512f *fc[4] = {&f0, &f0, &f1, &f1};
                __m512 v[4];
                q512_ld4(XT, xb, 0, v);
                st64(q, (b + i) * 32, q512_grp(&g, v, fc, ilv), packed, stream);
            }
        }
    }
    for (; b + 2 <= nblk; b += 2) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + b * 32 * xs + p);
        st64(q, b * 32, q512_pair(cfg, &g, x, b, scale, zp, XT, K), packed, stream);
    }
    if (b < nblk)
        q_tail(cfg, (const char *)x + b * 32 * xs, q + (packed ? b * 16 : b * 32), 0, 32, scale[b],
               zp ? zp[b] : 0);
}

Q_TABLES(CLQ_T512, q512)

CLQ_T512 static void q512_run(const clq_cpu_ewcfg *cfg, const void *x, void *q, size_t n,
                              float scale, int32_t zp) {
    q512_runs[xrow(cfg->xtype)][run_kind(cfg, scale, zp)](cfg, x, q, n, scale, zp);
}

/* Per-element parameters with cfg->lanes (cpu_quantize.c): Q_FAST on the
 * reciprocals made once per op; the scalar tail divides. */
CLQ_T512 static void q512_vec_lanes(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t n,
                                    const float *rc) {
    const float *sc = rc + cfg->lanes, *zz = rc + 2 * cfg->lanes;
    const size_t xs = clq__cpu_dtype_size(cfg->xtype);
    q512g g;
    q512_gset(&g, cfg);
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        q512f f[4];
        const q512f *fc[4] = {&f[0], &f[1], &f[2], &f[3]};
        __m512 v[4];
        for (int i = 0; i < 4; i++) {
            size_t o = j + 16 * (size_t)i;
            f[i].rcp = _mm512_loadu_ps(rc + o);
            f[i].zf = _mm512_loadu_ps(zz + o);
            f[i].sp = sc + o;
            f[i].lanes = 1;
            v[i] = clq__ld512_full(cfg->xtype, x, o);
        }
        _mm512_storeu_si512((void *)(q + j), q512_grp(&g, v, fc, 0));
    }
    for (; j < n; j++)
        q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), sc[j], zz[j], cfg->qmin, cfg->qmax,
                                 cfg->half_away, 0);
}

/* Per-element parameters (never packed): the division (or reciprocal) per lane. */
CLQ_T512 static void q512_vec(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    const size_t xs = clq__cpu_dtype_size(xt);
    const int uns = cfg->is_unsigned;
    uint8_t *q = out;
    if (cfg->lanes) {
        q512_vec_lanes(cfg, x, q, n, scale);
        return;
    }
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
        __m512i bytes = pack64(v[0], v[1], v[2], v[3], uns, 0);
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

#endif /* CLQ_CPU_X86 */
