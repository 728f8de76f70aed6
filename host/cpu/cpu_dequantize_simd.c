/* cpu_dequantize_simd.c: AVX-512 and AVX2 dequantize kernels: y = (float)(q - zp)
 * * scale, one f32 multiply, as the portable kernels; 4-bit input read packed and
 * widened in registers, big outputs written with non-temporal stores. */
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* 16 packed bytes (32 nibbles, low first) to values 0..15 of elements 0..15 in
 * *e0 and 16..31 in *e1, one byte each; sign-extended from 4 bits when sgn. SSE2,
 * so both kernel sets inline it. */
static inline __attribute__((always_inline)) void nib_expand(__m128i b, int sgn, __m128i *e0,
                                                             __m128i *e1) {
    const __m128i m = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    __m128i a = _mm_unpacklo_epi8(lo, hi), c = _mm_unpackhi_epi8(lo, hi);
    if (sgn) {
        a = _mm_sub_epi8(_mm_xor_si128(a, eight), eight);
        c = _mm_sub_epi8(_mm_xor_si128(c, eight), eight);
    }
    *e0 = a;
    *e1 = c;
}

/* Scalar value e of a segment (bytes, or nibbles when packed). */
static inline int32_t dq_at(const clq_cpu_ewcfg *cfg, const uint8_t *q, size_t e) {
    if (!cfg->packed) return cfg->is_unsigned ? q[e] : (int8_t)q[e];
    unsigned v = (e & 1) ? q[e / 2] >> 4 : q[e / 2] & 15u;
    return cfg->is_unsigned ? (int32_t)v : (int32_t)(v ^ 8u) - 8;
}

static inline void dq_tail(const clq_cpu_ewcfg *cfg, const uint8_t *q, float *y, size_t j,
                           size_t n, float scale, int32_t zp) {
    for (; j < n; j++) y[j] = (float)(dq_at(cfg, q, j) - zp) * scale;
}

/* ---- AVX-512 ------------------------------------------------------------ */

/* 16 values (bytes of b; signed unless uns) to f32 results. */
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

/* 32 results from y: 32 bytes at q (packed: 16 bytes of nibbles). */
CLQ_T512 CLQ_INLINE void dq512_32(int uns, int packed, int stream, const uint8_t *q, float *y,
                                  __m512i z, __m512 s) {
    __m128i a, b;
    if (packed) {
        nib_expand(_mm_loadu_si128((const __m128i *)q), !uns, &a, &b);
        uns = 0; /* the expanded bytes are sign-correct int8 */
    } else {
        __m256i w = _mm256_loadu_si256((const __m256i *)q);
        a = _mm256_castsi256_si128(w);
        b = _mm256_extracti128_si256(w, 1);
    }
    st512(stream, y, dq512(uns, a, z, s));
    st512(stream, y + 16, dq512(uns, b, z, s));
}

CLQ_T512 CLQ_INLINE void dq512_run_body(const clq_cpu_ewcfg *cfg, int uns, int packed, int stream,
                                        const uint8_t *q, float *y, size_t n, float scale,
                                        int32_t zp) {
    __m512i z = _mm512_set1_epi32(zp);
    __m512 s = _mm512_set1_ps(scale);
    size_t j = 0, qb = packed ? 2 : 1;
    for (; j + 64 <= n; j += 64) {
        clq__prefetch(q + j / qb);
        dq512_32(uns, packed, stream, q + j / qb, y + j, z, s);
        dq512_32(uns, packed, stream, q + (j + 32) / qb, y + j + 32, z, s);
    }
    dq_tail(cfg, q, y, j, n, scale, zp);
}

/* The run body specialised on (unsigned, packed, streaming). */
#define DQ_SPECIALISE(BODY, ...)                                                  \
    do {                                                                          \
        int u_ = cfg->is_unsigned != 0, p_ = cfg->packed != 0;                    \
        if (stream)                                                               \
            u_ ? (p_ ? BODY(cfg, 1, 1, 1, __VA_ARGS__) : BODY(cfg, 1, 0, 1, __VA_ARGS__)) \
               : (p_ ? BODY(cfg, 0, 1, 1, __VA_ARGS__) : BODY(cfg, 0, 0, 1, __VA_ARGS__)); \
        else                                                                      \
            u_ ? (p_ ? BODY(cfg, 1, 1, 0, __VA_ARGS__) : BODY(cfg, 1, 0, 0, __VA_ARGS__)) \
               : (p_ ? BODY(cfg, 0, 1, 0, __VA_ARGS__) : BODY(cfg, 0, 0, 0, __VA_ARGS__)); \
    } while (0)

CLQ_T512 static void dq512_run(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                               float scale, int32_t zp) {
    zp = clq__cpu_zp_clamp(cfg, zp);
    int stream = cfg->stream && ((uintptr_t)out & 63) == 0;
    DQ_SPECIALISE(dq512_run_body, in, out, n, scale, zp);
}

CLQ_T512 static void dq512_vec(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                               const float *scale, const int32_t *zp) {
    const uint8_t *q = in;
    float *y = out;
    int uns = cfg->is_unsigned;
    __m512i zlo = _mm512_set1_epi32(cfg->zlo), zhi = _mm512_set1_epi32(cfg->zhi);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512i z = zp ? _mm512_loadu_si512((const void *)(zp + j)) : _mm512_setzero_si512();
        z = _mm512_min_epi32(_mm512_max_epi32(z, zlo), zhi); /* clq__cpu_zp_clamp */
        _mm512_storeu_ps(y + j, dq512(uns, _mm_loadu_si128((const __m128i *)(q + j)), z,
                                      _mm512_loadu_ps(scale + j)));
    }
    for (; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512i z = zp ? _mm512_maskz_loadu_epi32(m, zp + j) : _mm512_setzero_si512();
        z = _mm512_min_epi32(_mm512_max_epi32(z, zlo), zhi); /* clq__cpu_zp_clamp */
        __m512 s = _mm512_maskz_loadu_ps(m, scale + j);
        __m512 v = dq512(uns, _mm_maskz_loadu_epi8(m, q + j), z, s);
        if (m == 0xffff)
            _mm512_storeu_ps(y + j, v);
        else
            _mm512_mask_storeu_ps(y + j, m, v);
    }
}

/* Rows (per axis, last axis), DQ_ROWS at a time per strip of 16 columns: each
 * strip's scales and clamped zero points are loaded once per DQ_ROWS rows; the
 * outputs are streamed when every row starts 64-byte aligned. */
#define DQ_ROWS 4
/* Rows DQ_ROWS at a time, then one by one, the body specialised on streaming. */
#define DQ_ROWS_RUN(BODY)                                                                     \
    do {                                                                                      \
        size_t r_ = 0;                                                                        \
        for (; r_ + DQ_ROWS <= nrows; r_ += DQ_ROWS)                                          \
            stream ? BODY(cfg, DQ_ROWS, 1, q + r_ * n, y + r_ * n, n, scale, zp)               \
                   : BODY(cfg, DQ_ROWS, 0, q + r_ * n, y + r_ * n, n, scale, zp);              \
        for (; r_ < nrows; r_++)                                                              \
            stream ? BODY(cfg, 1, 1, q + r_ * n, y + r_ * n, n, scale, zp)                     \
                   : BODY(cfg, 1, 0, q + r_ * n, y + r_ * n, n, scale, zp);                    \
    } while (0)
CLQ_T512 CLQ_INLINE void dq512_rows_body(const clq_cpu_ewcfg *cfg, int R, int stream,
                                         const uint8_t *q, float *y, size_t n, const float *scale,
                                         const int32_t *zp) {
    int uns = cfg->is_unsigned;
    __m512i zlo = _mm512_set1_epi32(cfg->zlo), zhi = _mm512_set1_epi32(cfg->zhi);
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512i z = zp ? _mm512_maskz_loadu_epi32(m, zp + j) : _mm512_setzero_si512();
        z = _mm512_min_epi32(_mm512_max_epi32(z, zlo), zhi); /* clq__cpu_zp_clamp */
        __m512 s = _mm512_maskz_loadu_ps(m, scale + j);
        for (int i = 0; i < R; i++) {
            const uint8_t *qi = q + (size_t)i * n + j;
            float *yi = y + (size_t)i * n + j;
            if ((j & 63) == 0) clq__prefetch(qi);
            if (m == 0xffff) {
                st512(stream, yi, dq512(uns, _mm_loadu_si128((const __m128i *)qi), z, s));
            } else {
                __m512 v = dq512(uns, _mm_maskz_loadu_epi8(m, qi), z, s);
                _mm512_mask_storeu_ps(yi, m, v);
            }
        }
    }
}

CLQ_T512 static void dq512_rows(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                                size_t nrows, const float *scale, const int32_t *zp) {
    const uint8_t *q = in;
    float *y = out;
    int stream = cfg->stream && ((uintptr_t)y & 63) == 0 && n % 16 == 0;
    DQ_ROWS_RUN(dq512_rows_body);
}

CLQ_T512 CLQ_INLINE void dq512_b32_body(const clq_cpu_ewcfg *cfg, int uns, int packed, int stream,
                                        const uint8_t *q, float *y, size_t nblk,
                                        const float *scale, const int32_t *zp) {
    size_t qb = packed ? 16 : 32;
    for (size_t b = 0; b < nblk; b++) {
        __m512i z = _mm512_set1_epi32(zp ? clq__cpu_zp_clamp(cfg, zp[b]) : 0);
        clq__prefetch(q + b * qb);
        dq512_32(uns, packed, stream, q + b * qb, y + b * 32, z, _mm512_set1_ps(scale[b]));
    }
}

CLQ_T512 static void dq512_blocks(const clq_cpu_ewcfg *cfg, const void *in, void *out,
                                  size_t block, size_t nblk, const float *scale,
                                  const int32_t *zp) {
    if (block != 32) {
        size_t qb = cfg->packed ? block / 2 : block;
        for (size_t b = 0; b < nblk; b++)
            dq512_run(cfg, (const uint8_t *)in + b * qb, (float *)out + b * block, block, scale[b],
                      zp ? zp[b] : 0);
        return;
    }
    /* the common weight layout: two full vectors per (scale, zero point) */
    int stream = cfg->stream && ((uintptr_t)out & 63) == 0;
    DQ_SPECIALISE(dq512_b32_body, in, out, nblk, scale, zp);
}

CLQ_T512 static void dq512_unpack4(int is_signed, const uint8_t *src, uint8_t *dst, size_t n) {
    size_t e = 0;
    for (; e + 32 <= n; e += 32) {
        __m128i a, b;
        nib_expand(_mm_loadu_si128((const __m128i *)(src + e / 2)), is_signed, &a, &b);
        _mm256_storeu_si256((__m256i *)(dst + e), _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1));
    }
    for (; e < n; e++) {
        unsigned v = (e & 1) ? src[e / 2] >> 4 : src[e / 2] & 15u;
        dst[e] = (uint8_t)(is_signed ? (int)(v ^ 8u) - 8 : (int)v);
    }
}

const clq_cpu_ewkernels clq__cpu_dqk_avx512 = {dq512_run, dq512_vec, dq512_blocks, NULL,
                                               dq512_unpack4, 1, dq512_rows};

/* ---- AVX2 --------------------------------------------------------------- */

/* 8 values (the low 8 bytes of b) to f32 results. */
CLQ_T256 CLQ_INLINE __m256 dq256(int uns, __m128i b, __m256i zp, __m256 s) {
    __m256i v = uns ? _mm256_cvtepu8_epi32(b) : _mm256_cvtepi8_epi32(b);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp)), s);
}

CLQ_T256 CLQ_INLINE void st256(int stream, float *y, __m256 v) {
    if (stream)
        _mm256_stream_ps(y, v);
    else
        _mm256_storeu_ps(y, v);
}

/* 16 values (the bytes of b) to y[0..16). */
CLQ_T256 CLQ_INLINE void dq256_16(int uns, int stream, __m128i b, float *y, __m256i z, __m256 s) {
    st256(stream, y, dq256(uns, b, z, s));
    st256(stream, y + 8, dq256(uns, _mm_unpackhi_epi64(b, b), z, s));
}

/* 32 results from 32 bytes at q (packed: 16 bytes of nibbles). */
CLQ_T256 CLQ_INLINE void dq256_32(int uns, int packed, int stream, const uint8_t *q, float *y,
                                  __m256i z, __m256 s) {
    __m128i a, b;
    if (packed) {
        nib_expand(_mm_loadu_si128((const __m128i *)q), !uns, &a, &b);
        uns = 0;
    } else {
        a = _mm_loadu_si128((const __m128i *)q);
        b = _mm_loadu_si128((const __m128i *)(q + 16));
    }
    dq256_16(uns, stream, a, y, z, s);
    dq256_16(uns, stream, b, y + 16, z, s);
}

CLQ_T256 CLQ_INLINE void dq256_run_body(const clq_cpu_ewcfg *cfg, int uns, int packed, int stream,
                                        const uint8_t *q, float *y, size_t n, float scale,
                                        int32_t zp) {
    __m256i z = _mm256_set1_epi32(zp);
    __m256 s = _mm256_set1_ps(scale);
    size_t j = 0, qb = packed ? 2 : 1;
    for (; j + 64 <= n; j += 64) {
        clq__prefetch(q + j / qb);
        dq256_32(uns, packed, stream, q + j / qb, y + j, z, s);
        dq256_32(uns, packed, stream, q + (j + 32) / qb, y + j + 32, z, s);
    }
    dq_tail(cfg, q, y, j, n, scale, zp);
}

CLQ_T256 static void dq256_run(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                               float scale, int32_t zp) {
    zp = clq__cpu_zp_clamp(cfg, zp);
    int stream = cfg->stream && ((uintptr_t)out & 31) == 0;
    DQ_SPECIALISE(dq256_run_body, in, out, n, scale, zp);
}

CLQ_T256 static void dq256_vec(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                               const float *scale, const int32_t *zp) {
    const uint8_t *q = in;
    float *y = out;
    int uns = cfg->is_unsigned;
    __m256i zlo = _mm256_set1_epi32(cfg->zlo), zhi = _mm256_set1_epi32(cfg->zhi);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i z = zp ? _mm256_loadu_si256((const __m256i *)(zp + j)) : _mm256_setzero_si256();
        z = _mm256_min_epi32(_mm256_max_epi32(z, zlo), zhi); /* clq__cpu_zp_clamp */
        _mm256_storeu_ps(y + j, dq256(uns, _mm_loadl_epi64((const __m128i *)(q + j)), z,
                                      _mm256_loadu_ps(scale + j)));
    }
    for (; j < n; j++)
        y[j] = (float)(dq_at(cfg, q, j) - (zp ? clq__cpu_zp_clamp(cfg, zp[j]) : 0)) * scale[j];
}

/* as dq512_rows, strips of 16 columns (two vectors, a 64-byte line per row) */
CLQ_T256 CLQ_INLINE void dq256_rows_body(const clq_cpu_ewcfg *cfg, int R, int stream,
                                         const uint8_t *q, float *y, size_t n, const float *scale,
                                         const int32_t *zp) {
    int uns = cfg->is_unsigned;
    __m256i zlo = _mm256_set1_epi32(cfg->zlo), zhi = _mm256_set1_epi32(cfg->zhi);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m256i z0 = zp ? _mm256_loadu_si256((const __m256i *)(zp + j)) : _mm256_setzero_si256();
        __m256i z1 = zp ? _mm256_loadu_si256((const __m256i *)(zp + j + 8)) : _mm256_setzero_si256();
        z0 = _mm256_min_epi32(_mm256_max_epi32(z0, zlo), zhi); /* clq__cpu_zp_clamp */
        z1 = _mm256_min_epi32(_mm256_max_epi32(z1, zlo), zhi);
        __m256 s0 = _mm256_loadu_ps(scale + j), s1 = _mm256_loadu_ps(scale + j + 8);
        for (int i = 0; i < R; i++) {
            const uint8_t *qi = q + (size_t)i * n + j;
            float *yi = y + (size_t)i * n + j;
            if ((j & 63) == 0) clq__prefetch(qi);
            __m128i b = _mm_loadu_si128((const __m128i *)qi);
            st256(stream, yi, dq256(uns, b, z0, s0));
            st256(stream, yi + 8, dq256(uns, _mm_unpackhi_epi64(b, b), z1, s1));
        }
    }
    for (int i = 0; i < R; i++)
        for (size_t c = j; c < n; c++)
            y[(size_t)i * n + c] = (float)(dq_at(cfg, q + (size_t)i * n, c) -
                                           (zp ? clq__cpu_zp_clamp(cfg, zp[c]) : 0)) * scale[c];
}

CLQ_T256 static void dq256_rows(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                                size_t nrows, const float *scale, const int32_t *zp) {
    const uint8_t *q = in;
    float *y = out;
    int stream = cfg->stream && ((uintptr_t)y & 63) == 0 && n % 16 == 0;
    DQ_ROWS_RUN(dq256_rows_body);
}

CLQ_T256 CLQ_INLINE void dq256_b32_body(const clq_cpu_ewcfg *cfg, int uns, int packed, int stream,
                                        const uint8_t *q, float *y, size_t nblk,
                                        const float *scale, const int32_t *zp) {
    size_t qb = packed ? 16 : 32;
    for (size_t b = 0; b < nblk; b++) {
        __m256i z = _mm256_set1_epi32(zp ? clq__cpu_zp_clamp(cfg, zp[b]) : 0);
        clq__prefetch(q + b * qb);
        dq256_32(uns, packed, stream, q + b * qb, y + b * 32, z, _mm256_set1_ps(scale[b]));
    }
}

CLQ_T256 static void dq256_blocks(const clq_cpu_ewcfg *cfg, const void *in, void *out,
                                  size_t block, size_t nblk, const float *scale,
                                  const int32_t *zp) {
    if (block != 32) {
        size_t qb = cfg->packed ? block / 2 : block;
        for (size_t b = 0; b < nblk; b++)
            dq256_run(cfg, (const uint8_t *)in + b * qb, (float *)out + b * block, block, scale[b],
                      zp ? zp[b] : 0);
        return;
    }
    int stream = cfg->stream && ((uintptr_t)out & 31) == 0;
    DQ_SPECIALISE(dq256_b32_body, in, out, nblk, scale, zp);
}

CLQ_T256 static void dq256_unpack4(int is_signed, const uint8_t *src, uint8_t *dst, size_t n) {
    size_t e = 0;
    for (; e + 32 <= n; e += 32) {
        __m128i a, b;
        nib_expand(_mm_loadu_si128((const __m128i *)(src + e / 2)), is_signed, &a, &b);
        _mm_storeu_si128((__m128i *)(dst + e), a);
        _mm_storeu_si128((__m128i *)(dst + e + 16), b);
    }
    for (; e < n; e++) {
        unsigned v = (e & 1) ? src[e / 2] >> 4 : src[e / 2] & 15u;
        dst[e] = (uint8_t)(is_signed ? (int)(v ^ 8u) - 8 : (int)v);
    }
}

const clq_cpu_ewkernels clq__cpu_dqk_avx2 = {dq256_run, dq256_vec, dq256_blocks, NULL,
                                             dq256_unpack4, 1, dq256_rows};

#endif /* CLQ_CPU_X86 */
