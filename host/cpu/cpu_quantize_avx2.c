/* cpu_quantize_avx2.c: the AVX2 quantize kernels, the AVX-512 set's design
 * (cpu_quantize_avx512.c) on 8 lanes: groups of 32 elements, rounding by
 * round_ps / cvtps2dq, packs and byte clamps in registers. */
#include "cpu_quantize_simd.h"
#include "cpu_quantize_vec.h"

#if CLQ_CPU_X86

/* 32 int32 lanes (within [-128, 255]) to 32 bytes in order (see pack64). */
CLQ_T256 CLQ_INLINE __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d, int uns, int ilv) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i v = uns ? _mm256_packus_epi16(ab, cd) : _mm256_packs_epi16(ab, cd);
    if (ilv) return _mm256_permute4x64_epi64(v, 0xd8);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* 32 elements from x + j as four f32 vectors, bf16 unpacked as in q512_ld4. */
CLQ_T256 CLQ_INLINE void q256_ld4(clq_dtype XT, const void *x, size_t j, __m256 *v) {
    if (XT == CLQ_BF16) {
        const uint16_t *p = (const uint16_t *)x + j;
        __m256i a = _mm256_loadu_si256((const __m256i *)p), b = _mm256_loadu_si256((const __m256i *)(p + 16));
        __m256i z = _mm256_setzero_si256();
        v[0] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, a));
        v[1] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, a));
        v[2] = _mm256_castsi256_ps(_mm256_unpacklo_epi16(z, b));
        v[3] = _mm256_castsi256_ps(_mm256_unpackhi_epi16(z, b));
        return;
    }
    for (int i = 0; i < 4; i++) v[i] = clq__ld256(XT, x, j + 8 * (size_t)i);
}

/* q512_grp on 32 lanes. */
CLQ_T256 CLQ_INLINE __m256i q256_grp(const q256g *g, const __m256 *v, const q256f *const *c, int ilv) {
    __m256i acc = _mm256_setzero_si256(), k[4];
    for (int i = 0; i < 4; i++) k[i] = q256_fast1(v[i], c[i]->rcp, c[i]->zf, &acc);
    if (__builtin_expect(q256_rejected(acc) != 0, 0))
        for (int i = 0; i < 4; i++) k[i] = q256_slow1(g, v[i], c[i]);
    __m256i b = pack32(k[0], k[1], k[2], k[3], g->uns, ilv);
    if (g->uns) return _mm256_min_epu8(_mm256_max_epu8(b, g->blo), g->bhi);
    return _mm256_min_epi8(_mm256_max_epi8(b, g->blo), g->bhi);
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
    const int packed = cfg->packed, uns = cfg->is_unsigned, ilv = XT == CLQ_BF16;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 15 : 31)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    q256c c;
    q256g g;
    q256f f;
    const q256f *fc[4] = {&f, &f, &f, &f};
    if (K == Q_FAST) {
        q256_gset(&g, cfg);
        q256_fset(&f, &scale, clq__zp_clamp(zp, cfg->zlo, cfg->zhi));
    } else {
        q256_set(&c, cfg, K, scale, zp);
    }
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        for (size_t h = 0; h < 64; h += 32) {
            __m256i bytes;
            if (K == Q_FAST) {
                __m256 v[4];
                q256_ld4(XT, x, j + h, v);
                bytes = q256_grp(&g, v, fc, ilv);
            } else {
                __m256i a = q256_ld(&c, x, j + h, XT, K), b = q256_ld(&c, x, j + h + 8, XT, K);
                __m256i d = q256_ld(&c, x, j + h + 16, XT, K), e = q256_ld(&c, x, j + h + 24, XT, K);
                bytes = pack32(a, b, d, e, uns, 0);
            }
            st32(q, j + h, bytes, packed, stream);
        }
    }
    if (j < n) q_tail(cfg, x, q, j, n, scale, zp);
}

/* One block of 32 the general way, as q512_pair. */
CLQ_T256 CLQ_INLINE __m256i q256_block(const clq_cpu_ewcfg *cfg, const q256g *g, const void *x,
                                       size_t b, float sc, int32_t z, clq_dtype XT, int K) {
    __m256i v[4];
    float zf = clq__zp_clamp(z, cfg->zlo, cfg->zhi);
    if (K != Q_REC_EVEN && K != Q_REC_AWAY && fast_ok(sc, zf, cfg->qmin, cfg->qmax)) {
        q256f f;
        q256_fset(&f, &sc, zf);
        const q256f *fc[4] = {&f, &f, &f, &f};
        __m256 xv[4];
        q256_ld4(XT, x, b * 32, xv);
        return q256_grp(g, xv, fc, XT == CLQ_BF16);
    }
    q256c c;
    q256_set(&c, cfg, K, sc, z);
    for (int i = 0; i < 4; i++) v[i] = q256_ld(&c, x, b * 32 + 8 * (size_t)i, XT, K);
    return pack32(v[0], v[1], v[2], v[3], cfg->is_unsigned, 0);
}

/* As q512_b32_body, 8 blocks to a vector division; one block a store. */
CLQ_T256 CLQ_INLINE void q256_b32_body(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q,
                                       size_t nblk, const float *scale, const int32_t *zp,
                                       clq_dtype XT, int K) {
    const int packed = cfg->packed, ilv = XT == CLQ_BF16;
    const int stream = cfg->stream && ((uintptr_t)q & (packed ? 15 : 31)) == 0;
    const size_t xs = XT == CLQ_F32 ? 4 : 2;
    q256g g;
    q256_gset(&g, cfg);
    size_t b = 0;
    if (K == Q_DIV_EVEN || K == Q_DIV_AWAY) {
        const __m256 zlo = _mm256_set1_ps((float)cfg->zlo), zhi = _mm256_set1_ps((float)cfg->zhi);
        const __m256 qlo = _mm256_set1_ps(cfg->qmin), qhi = _mm256_set1_ps(cfg->qmax);
        for (; b + 8 <= nblk; b += 8) {
            __m256 sc = _mm256_loadu_ps(scale + b), zf = _mm256_setzero_ps();
            if (zp) zf = _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(zp + b)));
            zf = _mm256_min_ps(_mm256_max_ps(zf, zlo), zhi); /* clq__zp_clamp */
            __m256 ok = _mm256_and_ps(
                _mm256_and_ps(_mm256_cmp_ps(sc, _mm256_set1_ps(0x1p-100f), _CMP_GE_OQ),
                              _mm256_cmp_ps(sc, _mm256_set1_ps(0x1p100f), _CMP_LE_OQ)),
                _mm256_and_ps(_mm256_cmp_ps(zf, qlo, _CMP_GE_OQ), _mm256_cmp_ps(zf, qhi, _CMP_LE_OQ)));
            if (_mm256_movemask_ps(ok) != 0xff) {
                for (size_t i = 0; i < 8; i++)
                    st32(q, (b + i) * 32, q256_block(cfg, &g, x, b + i, scale[b + i], zp ? zp[b + i] : 0, XT, K),
                         packed, stream);
                continue;
            }
            float rc[8], zz[8];
            _mm256_storeu_ps(rc, _mm256_div_ps(_mm256_set1_ps(1.0f), sc));
            _mm256_storeu_ps(zz, zf);
            for (size_t i = 0; i < 8; i++) {
                const char *xb = (const char *)x + (b + i) * 32 * xs;
                if (i % 2 == 0)
                    for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch(xb + p);
                q256f f = {_mm256_set1_ps(rc[i]), _mm256_set1_ps(zz[i]), scale + b + i, 0};
                const q256f *fc[4] = {&f, &f, &f, &f};
                __m256 v[4];
                q256_ld4(XT, xb, 0, v);
                st32(q, (b + i) * 32, q256_grp(&g, v, fc, ilv), packed, stream);
            }
        }
    }
    for (; b < nblk; b++) {
        for (size_t p = 0; p < 32 * xs; p += 64) clq__prefetch((const char *)x + b * 32 * xs + p);
        st32(q, b * 32, q256_block(cfg, &g, x, b, scale[b], zp ? zp[b] : 0, XT, K), packed, stream);
    }
}

Q_TABLES(CLQ_T256, q256)

CLQ_T256 static void q256_run(const clq_cpu_ewcfg *cfg, const void *x, void *q, size_t n,
                              float scale, int32_t zp) {
    q256_runs[xrow(cfg->xtype)][run_kind(cfg, scale, zp)](cfg, x, q, n, scale, zp);
}

/* As q512_vec_lanes. */
CLQ_T256 static void q256_vec_lanes(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t n,
                                    const float *rc) {
    const float *sc = rc + cfg->lanes, *zz = rc + 2 * cfg->lanes;
    const size_t xs = clq__cpu_dtype_size(cfg->xtype);
    q256g g;
    q256_gset(&g, cfg);
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        if (j % 64 == 0)
            for (size_t p = 0; p < 64 * xs; p += 64) clq__prefetch((const char *)x + j * xs + p);
        q256f f[4];
        const q256f *fc[4] = {&f[0], &f[1], &f[2], &f[3]};
        __m256 v[4];
        for (int i = 0; i < 4; i++) {
            size_t o = j + 8 * (size_t)i;
            f[i].rcp = _mm256_loadu_ps(rc + o);
            f[i].zf = _mm256_loadu_ps(zz + o);
            f[i].sp = sc + o;
            f[i].lanes = 1;
            v[i] = clq__ld256(cfg->xtype, x, o);
        }
        _mm256_storeu_si256((__m256i *)(q + j), q256_grp(&g, v, fc, 0));
    }
    for (; j < n; j++)
        q[j] = clq__quantize_one(clq__load_float(cfg->xtype, x, j), sc[j], zz[j], cfg->qmin, cfg->qmax,
                                 cfg->half_away, 0);
}

CLQ_T256 static void q256_vec(const clq_cpu_ewcfg *cfg, const void *x, void *out, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    const size_t xs = clq__cpu_dtype_size(xt);
    uint8_t *q = out;
    if (cfg->lanes) {
        q256_vec_lanes(cfg, x, q, n, scale);
        return;
    }
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
        _mm256_storeu_si256((__m256i *)(q + j), pack32(v[0], v[1], v[2], v[3], cfg->is_unsigned, 0));
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
