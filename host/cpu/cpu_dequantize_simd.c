/* cpu_dequantize_simd.c: AVX-512 and AVX2 dequantize kernels and 4-bit unpacking:
 * y = (float)(q - zp) * scale, one f32 multiply, as the portable kernels. */
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512 ------------------------------------------------------------ */

CLQ_T512 CLQ_INLINE __m512 dq512(int uns, __m128i b, __m512i zp, __m512 s) {
    __m512i v = uns ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(v, zp)), s);
}

CLQ_T512 CLQ_INLINE void st512(int stream, float *y, __m512 v) {
    if (stream)
        _mm512_stream_ps(y, v);
    else
        _mm512_storeu_ps(y, v);
}

/* stream: y is 64-byte aligned and every full vector store may bypass the cache */
CLQ_T512 CLQ_INLINE void dq512_run_body(int uns, int stream, const uint8_t *q, float *y, size_t n,
                                        float scale, int32_t zp) {
    __m512i z = _mm512_set1_epi32(zp);
    __m512 s = _mm512_set1_ps(scale);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        clq__prefetch(q + j);
        st512(stream, y + j, dq512(uns, _mm_loadu_si128((const __m128i *)(q + j)), z, s));
    }
    if (j < n) {
        __mmask16 m = (__mmask16)((1u << (n - j)) - 1);
        _mm512_mask_storeu_ps(y + j, m, dq512(uns, _mm_maskz_loadu_epi8(m, q + j), z, s));
    }
}

CLQ_T512 static void dq512_run(int flags, const uint8_t *q, float *y, size_t n, float scale,
                               int32_t zp) {
    zp = clq__cpu_dq_zp(flags, zp);
    int stream = (flags & CLQ_CPU_DQ_STREAM) && ((uintptr_t)y & 63) == 0;
    if (flags & CLQ_CPU_DQ_UNSIGNED) {
        if (stream)
            dq512_run_body(1, 1, q, y, n, scale, zp);
        else
            dq512_run_body(1, 0, q, y, n, scale, zp);
    } else {
        if (stream)
            dq512_run_body(0, 1, q, y, n, scale, zp);
        else
            dq512_run_body(0, 0, q, y, n, scale, zp);
    }
}

CLQ_T512 static void dq512_vec(int flags, const uint8_t *q, float *y, size_t n, const float *scale,
                               const int32_t *zp) {
    int uns = flags & CLQ_CPU_DQ_UNSIGNED;
    __m512i zlo = _mm512_set1_epi32(clq__cpu_dq_zp(flags, INT32_MIN)),
            zhi = _mm512_set1_epi32(clq__cpu_dq_zp(flags, INT32_MAX));
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512i z = zp ? _mm512_maskz_loadu_epi32(m, zp + j) : _mm512_setzero_si512();
        z = _mm512_min_epi32(_mm512_max_epi32(z, zlo), zhi); /* clq__cpu_dq_zp */
        __m512 s = _mm512_maskz_loadu_ps(m, scale + j);
        _mm512_mask_storeu_ps(y + j, m, dq512(uns, _mm_maskz_loadu_epi8(m, q + j), z, s));
    }
}

CLQ_T512 CLQ_INLINE void dq512_blocks_body(int uns, int stream, int flags, const uint8_t *q,
                                           float *y, size_t nblk, const float *scale,
                                           const int32_t *zp) {
    for (size_t b = 0; b < nblk; b++) {
        __m512i z = _mm512_set1_epi32(zp ? clq__cpu_dq_zp(flags, zp[b]) : 0);
        __m512 s = _mm512_set1_ps(scale[b]);
        clq__prefetch(q + b * 32);
        __m256i w = _mm256_loadu_si256((const __m256i *)(q + b * 32));
        st512(stream, y + b * 32, dq512(uns, _mm256_castsi256_si128(w), z, s));
        st512(stream, y + b * 32 + 16, dq512(uns, _mm256_extracti128_si256(w, 1), z, s));
    }
}

CLQ_T512 static void dq512_blocks(int flags, const uint8_t *q, float *y, size_t block, size_t nblk,
                                  const float *scale, const int32_t *zp) {
    if (block != 32) {
        for (size_t b = 0; b < nblk; b++)
            dq512_run(flags, q + b * block, y + b * block, block, scale[b], zp ? zp[b] : 0);
        return;
    }
    /* the common weight layout: two full vectors per (scale, zero point) */
    int stream = (flags & CLQ_CPU_DQ_STREAM) && ((uintptr_t)y & 63) == 0;
    if (flags & CLQ_CPU_DQ_UNSIGNED) {
        if (stream)
            dq512_blocks_body(1, 1, flags, q, y, nblk, scale, zp);
        else
            dq512_blocks_body(1, 0, flags, q, y, nblk, scale, zp);
    } else {
        if (stream)
            dq512_blocks_body(0, 1, flags, q, y, nblk, scale, zp);
        else
            dq512_blocks_body(0, 0, flags, q, y, nblk, scale, zp);
    }
}

CLQ_T512 static void dq512_unpack4(int is_signed, const uint8_t *src, uint8_t *dst, size_t n) {
    const __m512i m4 = _mm512_set1_epi16(0x0f), eight = _mm512_set1_epi8(8);
    size_t e = 0;
    for (; e + 64 <= n; e += 64) {
        __m512i w = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(src + e / 2)));
        __m512i o = _mm512_or_si512(_mm512_and_si512(w, m4),
                                    _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(w, 4), m4), 8));
        if (is_signed) o = _mm512_sub_epi8(_mm512_xor_si512(o, eight), eight);
        _mm512_storeu_si512((void *)(dst + e), o);
    }
    for (; e < n; e++) {
        unsigned v = (e & 1) ? src[e / 2] >> 4 : src[e / 2] & 15u;
        dst[e] = (uint8_t)(is_signed ? (int)(v ^ 8u) - 8 : (int)v);
    }
}

const clq_cpu_dqkernels clq__cpu_dqk_avx512 = {dq512_run, dq512_vec, dq512_blocks, dq512_unpack4};

/* ---- AVX2 --------------------------------------------------------------- */

CLQ_T256 CLQ_INLINE __m256 dq256(int uns, __m128i b, __m256i zp, __m256 s) {
    __m256i v = uns ? _mm256_cvtepu8_epi32(b) : _mm256_cvtepi8_epi32(b);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp)), s);
}

CLQ_T256 CLQ_INLINE void dq256_run_body(int uns, const uint8_t *q, float *y, size_t n, float scale,
                                        int32_t zp) {
    __m256i z = _mm256_set1_epi32(zp);
    __m256 s = _mm256_set1_ps(scale);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        clq__prefetch(q + j);
        _mm256_storeu_ps(y + j, dq256(uns, _mm_loadl_epi64((const __m128i *)(q + j)), z, s));
    }
    for (; j < n; j++) y[j] = (float)((uns ? (int32_t)q[j] : (int32_t)(int8_t)q[j]) - zp) * scale;
}

CLQ_T256 static void dq256_run(int flags, const uint8_t *q, float *y, size_t n, float scale,
                               int32_t zp) {
    zp = clq__cpu_dq_zp(flags, zp);
    if (flags & CLQ_CPU_DQ_UNSIGNED)
        dq256_run_body(1, q, y, n, scale, zp);
    else
        dq256_run_body(0, q, y, n, scale, zp);
}

CLQ_T256 static void dq256_vec(int flags, const uint8_t *q, float *y, size_t n, const float *scale,
                               const int32_t *zp) {
    int uns = flags & CLQ_CPU_DQ_UNSIGNED;
    __m256i zlo = _mm256_set1_epi32(clq__cpu_dq_zp(flags, INT32_MIN)),
            zhi = _mm256_set1_epi32(clq__cpu_dq_zp(flags, INT32_MAX));
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i z = zp ? _mm256_loadu_si256((const __m256i *)(zp + j)) : _mm256_setzero_si256();
        z = _mm256_min_epi32(_mm256_max_epi32(z, zlo), zhi); /* clq__cpu_dq_zp */
        _mm256_storeu_ps(y + j, dq256(uns, _mm_loadl_epi64((const __m128i *)(q + j)), z,
                                      _mm256_loadu_ps(scale + j)));
    }
    for (; j < n; j++)
        y[j] = (float)((uns ? (int32_t)q[j] : (int32_t)(int8_t)q[j]) -
                       (zp ? clq__cpu_dq_zp(flags, zp[j]) : 0)) *
               scale[j];
}

CLQ_T256 static void dq256_blocks(int flags, const uint8_t *q, float *y, size_t block, size_t nblk,
                                  const float *scale, const int32_t *zp) {
    for (size_t b = 0; b < nblk; b++)
        dq256_run(flags, q + b * block, y + b * block, block, scale[b], zp ? zp[b] : 0);
}

CLQ_T256 static void dq256_unpack4(int is_signed, const uint8_t *src, uint8_t *dst, size_t n) {
    const __m256i m4 = _mm256_set1_epi16(0x0f), eight = _mm256_set1_epi8(8);
    size_t e = 0;
    for (; e + 32 <= n; e += 32) {
        __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src + e / 2)));
        __m256i o = _mm256_or_si256(_mm256_and_si256(w, m4),
                                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(w, 4), m4), 8));
        if (is_signed) o = _mm256_sub_epi8(_mm256_xor_si256(o, eight), eight);
        _mm256_storeu_si256((__m256i *)(dst + e), o);
    }
    for (; e < n; e++) {
        unsigned v = (e & 1) ? src[e / 2] >> 4 : src[e / 2] & 15u;
        dst[e] = (uint8_t)(is_signed ? (int)(v ^ 8u) - 8 : (int)v);
    }
}

const clq_cpu_dqkernels clq__cpu_dqk_avx2 = {dq256_run, dq256_vec, dq256_blocks, dq256_unpack4};

#endif /* CLQ_CPU_X86 */
