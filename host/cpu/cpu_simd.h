/* cpu_simd.h: target attributes and f32/f16/bf16 vector loads shared by the
 * AVX-512 and AVX2 kernels (chosen at run time, so no per-file -m flags). Empty
 * on other targets, where the files that include it compile to nothing. */
#ifndef CLQ_CPU_SIMD_H
#define CLQ_CPU_SIMD_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include <clquant/clquant.h>

#define CLQ_T512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define CLQ_T256 __attribute__((target("avx2,fma,f16c")))
#define CLQ_INLINE static inline __attribute__((always_inline))

/* Streaming kernels are bound by the divider or by horizontal reductions, and
 * the out-of-order window then cannot run far enough ahead to hide memory
 * latency: an explicit prefetch this far ahead of the loads does (measured
 * 1.5-2x on 256 MiB inputs). Never faults, so reading past the end is fine. */
#ifndef CLQ_PF_DIST
#define CLQ_PF_DIST 2048
#endif
static inline __attribute__((always_inline)) void clq__prefetch(const void *p) {
    _mm_prefetch((const char *)((uintptr_t)p + CLQ_PF_DIST), _MM_HINT_T0);
}

/* 16 elements from x + j as f32 (masked lanes read as 0, nothing read there). */
CLQ_T512 CLQ_INLINE __m512 clq__ld512(clq_dtype t, const void *x, size_t j, __mmask16 m) {
    if (t == CLQ_F32) return _mm512_maskz_loadu_ps(m, (const float *)x + j);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)x + j);
    if (t == CLQ_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

CLQ_T512 CLQ_INLINE __m512 clq__ld512_full(clq_dtype t, const void *x, size_t j) {
    if (t == CLQ_F32) return _mm512_loadu_ps((const float *)x + j);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)x + j));
    if (t == CLQ_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* 8 elements from x + j as f32. */
CLQ_T256 CLQ_INLINE __m256 clq__ld256(clq_dtype t, const void *x, size_t j) {
    if (t == CLQ_F32) return _mm256_loadu_ps((const float *)x + j);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)x + j));
    if (t == CLQ_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

#endif /* x86 */

#endif
