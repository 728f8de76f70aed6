/* cpu_quantize_simd.c: AVX-512 and AVX2 quantize kernels, bit-identical to the
 * portable ones: true division (never rcp), rounding by roundscale/round_ps,
 * clamp in f32 before the conversion, NaN quotient -> zero point. */
#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512 ------------------------------------------------------------ */

CLQ_T512 CLQ_INLINE __m512i q512(const clq_cpu_qcfg *cfg, __m512 x, __m512 s, __m512 zpf,
                                 __m512 lo, __m512 hi) {
    __m512 v = cfg->reciprocal ? _mm512_mul_ps(x, s) : _mm512_div_ps(x, s);
    __m512 r;
    if (!cfg->half_away) {
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
    __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, zpf), lo), hi);
    t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), zpf);
    return _mm512_cvttps_epi32(t);
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

/* Packed 4-bit output: 32 elements per step; the last < 32 go through a small
 * buffer. An odd n leaves the high nibble of the last byte 0. */
CLQ_T512 static void q512_run_packed(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                                     __m512 s, __m512 z, __m512 lo, __m512 hi) {
    const clq_dtype xt = cfg->xtype;
    size_t j = 0, xs = clq__cpu_dtype_size(xt);
    int stream = cfg->stream && ((uintptr_t)q & 15) == 0;
    for (; j + 32 <= n; j += 32) {
        clq__prefetch((const char *)x + j * xs);
        clq__prefetch((const char *)x + (j + 16) * xs);
        __m512i a = q512(cfg, clq__ld512_full(xt, x, j), s, z, lo, hi);
        __m512i b = q512(cfg, clq__ld512_full(xt, x, j + 16), s, z, lo, hi);
        st16(stream, q + j / 2, nib32(a, b));
    }
    if (j < n) {
        size_t r = n - j;
        __mmask16 ma = r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1);
        __mmask16 mb = r > 16 ? (__mmask16)((1u << (r - 16)) - 1) : 0;
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)t, nib32(q512(cfg, clq__ld512(xt, x, j, ma), s, z, lo, hi),
                                             q512(cfg, clq__ld512(xt, x, j + 16, mb), s, z, lo, hi)));
        if (r & 1) t[r / 2] &= 15u;
        memcpy(q + j / 2, t, (r + 1) / 2);
    }
}

CLQ_T512 static void q512_run(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                              float scale, int32_t zp) {
    const clq_dtype xt = cfg->xtype;
    __m512 s = _mm512_set1_ps(cfg->reciprocal ? 1.0f / scale : scale);
    __m512 z = _mm512_set1_ps((float)zp), lo = _mm512_set1_ps(cfg->qmin),
           hi = _mm512_set1_ps(cfg->qmax);
    if (cfg->packed) {
        q512_run_packed(cfg, x, q, n, s, z, lo, hi);
        return;
    }
    size_t j = 0, xs = clq__cpu_dtype_size(xt);
    int stream = cfg->stream && ((uintptr_t)q & 15) == 0;
    for (; j + 16 <= n; j += 16) {
        clq__prefetch((const char *)x + j * xs);
        st16(stream, q + j,
             _mm512_cvtepi32_epi8(q512(cfg, clq__ld512_full(xt, x, j), s, z, lo, hi)));
    }
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
        _mm_mask_storeu_epi8(q + j, m,
                             _mm512_cvtepi32_epi8(q512(cfg, clq__ld512(xt, x, j, m), s, z, lo, hi)));
    }
}

CLQ_T512 static void q512_vec(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n,
                              const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    __m512 lo = _mm512_set1_ps(cfg->qmin), hi = _mm512_set1_ps(cfg->qmax);
    __m512 one = _mm512_set1_ps(1.0f);
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        __m512 s = _mm512_mask_loadu_ps(one, m, scale + j);
        if (cfg->reciprocal) s = _mm512_div_ps(one, s);
        __m512 z = zp ? _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, zp + j)) : _mm512_setzero_ps();
        _mm_mask_storeu_epi8(q + j, m,
                             _mm512_cvtepi32_epi8(q512(cfg, clq__ld512(xt, x, j, m), s, z, lo, hi)));
    }
}

CLQ_T512 static void q512_blocks(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t block,
                                 size_t nblk, const float *scale, const int32_t *zp) {
    const clq_dtype xt = cfg->xtype;
    if (block != 32) {
        size_t xs = clq__cpu_dtype_size(xt), qb = cfg->packed ? block / 2 : block;
        for (size_t b = 0; b < nblk; b++)
            q512_run(cfg, (const char *)x + b * block * xs, q + b * qb, block, scale[b],
                     zp ? zp[b] : 0);
        return;
    }
    /* the common weight layout: two full vectors per (scale, zero point) */
    __m512 lo = _mm512_set1_ps(cfg->qmin), hi = _mm512_set1_ps(cfg->qmax);
    int stream = cfg->stream && ((uintptr_t)q & 15) == 0;
    for (size_t b = 0; b < nblk; b++) {
        float sc = scale[b];
        __m512 s = _mm512_set1_ps(cfg->reciprocal ? 1.0f / sc : sc);
        __m512 z = _mm512_set1_ps(zp ? (float)zp[b] : 0.0f);
        size_t j = b * 32;
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        clq__prefetch((const char *)x + (j + 16) * clq__cpu_dtype_size(xt));
        __m512i a = q512(cfg, clq__ld512_full(xt, x, j), s, z, lo, hi);
        __m512i c = q512(cfg, clq__ld512_full(xt, x, j + 16), s, z, lo, hi);
        if (cfg->packed) {
            st16(stream, q + j / 2, nib32(a, c));
        } else {
            st16(stream, q + j, _mm512_cvtepi32_epi8(a));
            st16(stream, q + j + 16, _mm512_cvtepi32_epi8(c));
        }
    }
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
    float sv = cfg->reciprocal ? 1.0f / scale : scale, zpf = (float)zp;
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
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        clq__prefetch((const char *)x + j * clq__cpu_dtype_size(xt));
        __m256 s = _mm256_loadu_ps(scale + j);
        if (cfg->reciprocal) s = _mm256_div_ps(_mm256_set1_ps(1.0f), s);
        __m256 z = zp ? _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(zp + j)))
                      : _mm256_setzero_ps();
        st8(q + j, q256(cfg, clq__ld256(xt, x, j), s, z, lo, hi));
    }
    for (; j < n; j++) {
        float sv = cfg->reciprocal ? 1.0f / scale[j] : scale[j];
        q[j] = clq__quantize_one(clq__load_float(xt, x, j), sv, zp ? (float)zp[j] : 0.0f, cfg->qmin,
                                 cfg->qmax, cfg->half_away, cfg->reciprocal);
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
