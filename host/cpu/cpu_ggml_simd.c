/* cpu_ggml_simd.c: AVX-512 and AVX2 quantizers of ggml's Q8_0 / Q4_0 blocks
 * (cpu_internal.h, clq_cpu_ggmlkernels), byte for byte the portable set's (cpu_ggml.c).
 *
 * Why the vector path gives the same bytes:
 *   - amax: without NaN, max |x| is exact and order-free. Q8_0 blocks holding a NaN
 *     (where ggml's serial MAX restarts) go to the portable block function; Q4_0's strict
 *     < skips NaN, so its lanes take NaN as 0, and its max is the first x with |x| = amax.
 *   - d, id: the same scalar f32 division and reciprocal, d stored by the same f16 routine.
 *   - Q8_0's roundf: |v| rounded to nearest even (roundscale / round_ps), plus 1 where that
 *     went down by exactly one half, the sign put back: roundf for every finite |v| (no
 *     2^23 guard needed: |v| >= 2^23 is integral, r - a = 0); Inf and NaN come through.
 *   - (int8_t) casts: cvttps2dq, then the low byte, which is the portable ggml_cast_i8
 *     (out of int32 range and NaN give 0x80000000, low byte 0).
 *   - Q4_0: x * id and + 8.5f as two rounded operations (no FMA), min 15 on the signed
 *     low byte, nibbles or-ed as the portable code's (uint8_t)(q0 | q1 << 4). */
#include <string.h>

#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* ---- AVX-512: a block is two vectors ------------------------------------- */

CLQ_T512 CLQ_INLINE __m512i q8_512(__m512 x, __m512 id) {
    const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u));
    __m512 v = _mm512_mul_ps(x, id), a = _mm512_abs_ps(v);
    __m512 r = _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_sub_ps(r, a), _mm512_set1_ps(-0.5f), _CMP_EQ_OQ);
    r = _mm512_mask_add_ps(r, up, r, _mm512_set1_ps(1.0f));
    r = _mm512_or_ps(r, _mm512_and_ps(v, sign));
    return _mm512_cvttps_epi32(r);
}

CLQ_T512 static void q8_0_avx512(const float *x, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++, x += CLQ_GGML_QK, out += CLQ_GGML_Q8_0_BYTES) {
        __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        if (_mm512_cmp_ps_mask(x0, x0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(x1, x1, _CMP_UNORD_Q)) {
            clq__cpu_ggml_q8_0_block(x, out);
            continue;
        }
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        clq__cpu_ggml_store_d(out, d);
        __m512 vid = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)(void *)(out + 2), _mm512_cvtepi32_epi8(q8_512(x0, vid)));
        _mm_storeu_si128((__m128i *)(void *)(out + 18), _mm512_cvtepi32_epi8(q8_512(x1, vid)));
    }
}

/* (int8_t)(x * id + 8.5f), capped at 15, as bytes. */
CLQ_T512 CLQ_INLINE __m128i q4_512(__m512 x, __m512 id) {
    __m512 v = _mm512_add_ps(_mm512_mul_ps(x, id), _mm512_set1_ps(8.5f));
    return _mm_min_epi8(_mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v)), _mm_set1_epi8(15));
}

CLQ_T512 static void q4_0_avx512(const float *x, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++, x += CLQ_GGML_QK, out += CLQ_GGML_Q4_0_BYTES) {
        __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        __m512 a0 = _mm512_abs_ps(x0), a1 = _mm512_abs_ps(x1);
        __m512 m = _mm512_max_ps(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x0, x0, _CMP_ORD_Q), a0),
                                 _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x1, x1, _CMP_ORD_Q), a1));
        float amax = _mm512_reduce_max_ps(m), max = 0.0f;
        if (amax > 0.0f) {
            __m512 va = _mm512_set1_ps(amax);
            uint32_t hit = (uint32_t)_mm512_cmp_ps_mask(a0, va, _CMP_EQ_OQ) |
                           (uint32_t)_mm512_cmp_ps_mask(a1, va, _CMP_EQ_OQ) << 16;
            max = x[__builtin_ctz(hit)];
        }
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        clq__cpu_ggml_store_d(out, d);
        __m512 vid = _mm512_set1_ps(id);
        __m128i lo = q4_512(x0, vid), hi = q4_512(x1, vid);
        hi = _mm_and_si128(_mm_slli_epi16(hi, 4), _mm_set1_epi8((char)0xf0));
        _mm_storeu_si128((__m128i *)(void *)(out + 2), _mm_or_si128(lo, hi));
    }
}

/* ---- AVX2: a block is four vectors ---------------------------------------- */

CLQ_T256 CLQ_INLINE float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

CLQ_T256 CLQ_INLINE __m256i q8_256(__m256 x, __m256 id) {
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    __m256 v = _mm256_mul_ps(x, id), a = _mm256_andnot_ps(sign, v);
    __m256 r = _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 up = _mm256_cmp_ps(_mm256_sub_ps(r, a), _mm256_set1_ps(-0.5f), _CMP_EQ_OQ);
    r = _mm256_add_ps(r, _mm256_and_ps(up, _mm256_set1_ps(1.0f)));
    r = _mm256_or_ps(r, _mm256_and_ps(v, sign));
    return _mm256_and_si256(_mm256_cvttps_epi32(r), _mm256_set1_epi32(0xff));
}

/* The low bytes of four vectors of int32 (each already 0 .. 255), in order. */
CLQ_T256 CLQ_INLINE __m256i bytes_256(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i t = _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d));
    return _mm256_permutevar8x32_epi32(t, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

CLQ_T256 static void q8_0_avx2(const float *x, size_t n, uint8_t *out) {
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    for (size_t i = 0; i < n; i++, x += CLQ_GGML_QK, out += CLQ_GGML_Q8_0_BYTES) {
        __m256 v[4], m = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(v[k], v[k], _CMP_UNORD_Q));
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
        }
        if (_mm256_movemask_ps(bad)) {
            clq__cpu_ggml_q8_0_block(x, out);
            continue;
        }
        float amax = hmax8(m);
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        clq__cpu_ggml_store_d(out, d);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q = bytes_256(q8_256(v[0], vid), q8_256(v[1], vid), q8_256(v[2], vid),
                              q8_256(v[3], vid));
        _mm256_storeu_si256((__m256i *)(void *)(out + 2), q);
    }
}

/* (int8_t)(x * id + 8.5f), capped at 15, sign-extended in int32 lanes. */
CLQ_T256 CLQ_INLINE __m256i q4_256(__m256 x, __m256 id) {
    __m256 v = _mm256_add_ps(_mm256_mul_ps(x, id), _mm256_set1_ps(8.5f));
    __m256i q = _mm256_srai_epi32(_mm256_slli_epi32(_mm256_cvttps_epi32(v), 24), 24);
    return _mm256_min_epi32(q, _mm256_set1_epi32(15));
}

CLQ_T256 static void q4_0_avx2(const float *x, size_t n, uint8_t *out) {
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    for (size_t i = 0; i < n; i++, x += CLQ_GGML_QK, out += CLQ_GGML_Q4_0_BYTES) {
        __m256 v[4], a[4], m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            a[k] = _mm256_andnot_ps(sign, v[k]);
            m = _mm256_max_ps(m, _mm256_and_ps(_mm256_cmp_ps(v[k], v[k], _CMP_ORD_Q), a[k]));
        }
        float amax = hmax8(m), max = 0.0f;
        if (amax > 0.0f) {
            __m256 va = _mm256_set1_ps(amax);
            uint32_t hit = 0;
            for (int k = 0; k < 4; k++)
                hit |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(a[k], va, _CMP_EQ_OQ)) << (8 * k);
            max = x[__builtin_ctz(hit)];
        }
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        clq__cpu_ggml_store_d(out, d);
        __m256 vid = _mm256_set1_ps(id);
        const __m256i ff = _mm256_set1_epi32(0xff);
        /* byte j: element j in the low nibble, element j + 16 in the high one */
        __m256i b0 = _mm256_and_si256(_mm256_or_si256(q4_256(v[0], vid),
                                                      _mm256_slli_epi32(q4_256(v[2], vid), 4)), ff);
        __m256i b1 = _mm256_and_si256(_mm256_or_si256(q4_256(v[1], vid),
                                                      _mm256_slli_epi32(q4_256(v[3], vid), 4)), ff);
        __m256i t = _mm256_permute4x64_epi64(_mm256_packus_epi32(b0, b1), 0xD8);
        __m128i q = _mm_packus_epi16(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
        _mm_storeu_si128((__m128i *)(void *)(out + 2), q);
    }
}

const clq_cpu_ggmlkernels clq__cpu_ggmlk_avx512 = {q8_0_avx512, q4_0_avx512};
const clq_cpu_ggmlkernels clq__cpu_ggmlk_avx2 = {q8_0_avx2, q4_0_avx2};

#endif
