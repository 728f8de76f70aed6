/* cpu_convert.h: exact scalar f16/bf16 -> f32 conversions and the one-element
 * quantize/minmax rules of docs/NUMERICS.md, shared by the portable kernels and
 * the scalar tails of the SIMD ones. */
#ifndef CLQ_CPU_CONVERT_H
#define CLQ_CPU_CONVERT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <clquant/clquant.h>

static inline float clq__bits_to_float(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static inline float clq__half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1f) return clq__bits_to_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24 is exact in f32 */
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    return clq__bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline float clq__bf16_to_float(uint16_t h) { return clq__bits_to_float((uint32_t)h << 16); }

static inline float clq__load_float(clq_dtype t, const void *x, size_t j) {
    if (t == CLQ_F32) return ((const float *)x)[j];
    uint16_t h = ((const uint16_t *)x)[j];
    return t == CLQ_F16 ? clq__half_to_float(h) : clq__bf16_to_float(h);
}

/* A quantize zero point as f32, clamped to [zlo, zhi] (the qtype's full range), as
 * every backend does first: a TRUSTED caller may pass any int32 (docs/NUMERICS.md). */
static inline float clq__zp_clamp(int32_t zp, float zlo, float zhi) {
    float z = (float)zp;
    return z < zlo ? zlo : z > zhi ? zhi : z;
}

/* Whether the SIMD kernels' reciprocal fast path (Q_FAST, cpu_quantize_simd.h)
 * may serve a scale and a clamped zero point zpf: its proof needs both. */
static inline int clq__q_fast_ok(float scale, float zpf, float qmin, float qmax) {
    return scale >= 0x1p-100f && scale <= 0x1p100f && zpf >= qmin && zpf <= qmax;
}

/* One element of quantize. inv_or_scale is 1/scale in reciprocal mode. A NaN
 * quotient (NaN input, or 0 * Inf from a reciprocal of a denormal scale) gives
 * the zero point, the value 0 itself would get. */
static inline uint8_t clq__quantize_one(float x, float inv_or_scale, float zpf, float qmin,
                                        float qmax, int half_away, int reciprocal) {
    float v = reciprocal ? x * inv_or_scale : x / inv_or_scale;
    if (v != v) return (uint8_t)(int)zpf;
    float r = half_away ? roundf(v) : rintf(v);
    float t = r + zpf;
    t = t < qmin ? qmin : t > qmax ? qmax : t;
    return (uint8_t)(int)t;
}

/* Merge one value into a running [mn, mx]; NaN is skipped. */
static inline void clq__minmax_one(float v, float *mn, float *mx) {
    if (v < *mn) *mn = v;
    if (v > *mx) *mx = v;
}

/* Final min/max rules: an untouched pair ([+Inf, -Inf]) is [0, 0]; zero is +0.0. */
static inline void clq__minmax_finish(float *mn, float *mx) {
    if (!(*mn <= *mx)) *mn = *mx = 0.0f;
    if (*mn == 0.0f) *mn = 0.0f;
    if (*mx == 0.0f) *mx = 0.0f;
}

#endif
