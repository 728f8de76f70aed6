/* ref_types.c: element types of the test reference: f16/bf16 <-> f32, quantized ranges,
 * element loads and stores (4-bit: element e in byte e/2, even elements in the low nibble). */
#include "ref.h"

#include <math.h>
#include <string.h>

float ref_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint32_t ref_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float ref_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24 is exact in f32 */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    if (e == 31) return ref_bits_f32(sign | 0x7f800000u | (m << 13));
    return ref_bits_f32(sign | ((e - 15u + 127u) << 23) | (m << 13));
}

float ref_bf16_to_f32(uint16_t b) { return ref_bits_f32((uint32_t)b << 16); }

uint16_t ref_f32_to_f16(float f) {
    uint32_t x = ref_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to Inf */
    if (ax < 0x38800000u) {
        /* below 2^-14: an f16 subnormal; scaling by 2^24 is exact, rintf rounds to even */
        float m = fabsf(f) * 0x1p24f;
        return (uint16_t)(sign | (uint16_t)rintf(m));
    }
    uint32_t e = (ax >> 23) - 127u + 15u, mant = ax & 0x7fffffu;
    uint32_t h = (e << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; /* a carry into e is right */
    return (uint16_t)(sign | h);
}

uint16_t ref_f32_to_bf16(float f) {
    uint32_t x = ref_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

size_t ref_elem_size(clq_dtype t) {
    switch (t) {
    case CLQ_F32: case CLQ_S32: return 4;
    case CLQ_F16: case CLQ_BF16: return 2;
    case CLQ_S8: case CLQ_U8: return 1;
    default: return 0;
    }
}

int ref_is_4bit(clq_dtype t) { return t == CLQ_S4 || t == CLQ_U4; }

float ref_load_float(clq_dtype t, const void *base, size_t e) {
    if (t == CLQ_F32) {
        float f;
        memcpy(&f, (const char *)base + 4 * e, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, (const char *)base + 2 * e, 2);
    return t == CLQ_F16 ? ref_f16_to_f32(h) : ref_bf16_to_f32(h);
}

void ref_store_float(clq_dtype t, void *base, size_t e, float v) {
    if (t == CLQ_F32) {
        memcpy((char *)base + 4 * e, &v, 4);
        return;
    }
    uint16_t h = t == CLQ_F16 ? ref_f32_to_f16(v) : ref_f32_to_bf16(v);
    memcpy((char *)base + 2 * e, &h, 2);
}

int32_t ref_load_q(clq_dtype t, const void *base, size_t e) {
    const uint8_t *b = base;
    switch (t) {
    case CLQ_S8: return (int8_t)b[e];
    case CLQ_U8: return b[e];
    case CLQ_S4: case CLQ_U4: {
        int32_t nib = (e & 1) ? (b[e / 2] >> 4) : (b[e / 2] & 0xf);
        return (t == CLQ_S4 && nib >= 8) ? nib - 16 : nib;
    }
    case CLQ_S32: {
        int32_t v;
        memcpy(&v, b + 4 * e, 4);
        return v;
    }
    default: return 0;
    }
}

void ref_store_q(clq_dtype t, void *base, size_t e, int32_t v) {
    uint8_t *b = base;
    switch (t) {
    case CLQ_S8: case CLQ_U8: b[e] = (uint8_t)v; break;
    case CLQ_S4: case CLQ_U4: {
        uint8_t nib = (uint8_t)(v & 0xf);
        b[e / 2] = (e & 1) ? (uint8_t)((b[e / 2] & 0x0f) | (nib << 4))
                           : (uint8_t)((b[e / 2] & 0xf0) | nib);
        break;
    }
    case CLQ_S32: memcpy(b + 4 * e, &v, 4); break;
    default: break;
    }
}

void ref_qrange(clq_dtype qtype, int narrow, int *qmin, int *qmax) {
    int bits = ref_is_4bit(qtype) ? 4 : 8;
    if (qtype == CLQ_S8 || qtype == CLQ_S4) {
        *qmax = (1 << (bits - 1)) - 1;
        *qmin = narrow ? -*qmax : -*qmax - 1;
    } else {
        *qmax = (1 << bits) - 1;
        *qmin = narrow ? 1 : 0;
    }
}
