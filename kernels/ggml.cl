/* ggml.cl: ggml's block_q8_0 / block_q4_0 quantize and dequantize (host/backend.h,
 * clq_ggml_op; docs/NUMERICS.md, "ggml blocks"), one work item per block of 32. The f32
 * steps are those of host/cpu/cpu_ggml.c, each rounded once: common.cl turns
 * contraction off (x * id + 8.5f is two roundings, as in ggml's C), the programs are
 * built with correctly rounded division, and d goes to f16 by integer steps (no
 * cl_khr_fp16; the blocks' byte offsets need not be even), so both backends write the
 * same bytes. */

/* f32 to f16 bits, round to nearest even: cpu_ggml.c's f32_to_f16, step for step. */
inline ushort ggml_f16_bits(float f) {
    uint x = as_uint(f);
    uint sign = (x >> 16) & 0x8000u;
    uint ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (ushort)(sign | 0x7e00u);
    if (ax >= 0x477ff000u) return (ushort)(sign | 0x7c00u);
    if (ax < 0x33000000u) return (ushort)sign;
    uint mant = ax & 0x7fffffu, e = ax >> 23;
    uint h, rem, tie;
    if (ax < 0x38800000u) {
        uint m = mant | 0x800000u, sh = 126u - e;
        h = m >> sh;
        rem = m & ((1u << sh) - 1u);
        tie = 1u << (sh - 1u);
    } else {
        h = ((e - 112u) << 10) | (mant >> 13);
        rem = mant & 0x1fffu;
        tie = 0x1000u;
    }
    if (rem > tie || (rem == tie && (h & 1u))) h++;
    return (ushort)(sign | h);
}

/* roundf, half away from zero, for any v: common.cl's raway1 (exact for |v| <= 2^22),
 * and v itself beyond, where every float is an integer (only after a Q8_0 NaN reset
 * amax, docs/NUMERICS.md). */
inline float rawayb(float v) { return fabs(v) <= 0x1p22f ? raway1(v) : v; }

/* f16 bits widened exactly (subnormals as man * 2^-24). */
inline float ggml_f16_value(uint h) {
    uint sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    if (exp == 0x1fu) return as_float(sign | 0x7f800000u | (man << 13));
    if (exp == 0u) {
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    return as_float(sign | ((exp + 112u) << 23) | (man << 13));
}

/* ggml's (int8_t) cast as x86 compiles it (cpu_ggml.c): truncation to int32, NaN and
 * values beyond int32 as 0x80000000, then the low byte as a signed one. */
inline int ggml_cast_i8(float v) {
    if (!(fabs(v) < 0x1p31f)) return 0;
    int b = convert_int_rtz(v) & 0xff;
    return b >= 128 ? b - 256 : b;
}

kernel void ggml_quantize(CLQ_PARAMS(ggml_quantize)) {
    const ulong i = get_global_id(0);
    if (i >= nblocks) return;
    float v[CLQ_GGML_QK];
    for (int j = 0; j < CLQ_GGML_QK; j++) v[j] = load1(x, xoff + i * CLQ_GGML_QK + j, xt);
    global uchar *b = blocks + boff + i * (q4 ? CLQ_GGML_Q4_0_BYTES : CLQ_GGML_Q8_0_BYTES);
    float d;
    if (q4) {
        /* the first element of largest |x| (strict <: NaN never taken) */
        float amax = 0.0f, mx = 0.0f;
        for (int j = 0; j < CLQ_GGML_QK; j++)
            if (amax < fabs(v[j])) {
                amax = fabs(v[j]);
                mx = v[j];
            }
        d = mx / -8.0f;
    } else {
        /* ggml's MAX, not fmax: a NaN makes amax NaN, the next element restarts it */
        float amax = 0.0f;
        for (int j = 0; j < CLQ_GGML_QK; j++) {
            float a = fabs(v[j]);
            amax = amax > a ? amax : a;
        }
        d = amax / 127.0f;
    }
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint h = ggml_f16_bits(d);
    b[0] = (uchar)(h & 0xffu);
    b[1] = (uchar)(h >> 8);
    if (q4) {
        for (int j = 0; j < CLQ_GGML_QK / 2; j++) {
            int q0 = min(15, ggml_cast_i8(v[j] * id + 8.5f));
            int q1 = min(15, ggml_cast_i8(v[j + 16] * id + 8.5f));
            b[2 + j] = (uchar)(q0 | q1 << 4);
        }
    } else {
        /* roundf: half away from zero */
        for (int j = 0; j < CLQ_GGML_QK; j++)
            b[2 + j] = (uchar)(ggml_cast_i8(rawayb(v[j] * id)) & 0xff);
    }
}

kernel void ggml_dequantize(CLQ_PARAMS(ggml_dequantize)) {
    const ulong i = get_global_id(0);
    if (i >= nblocks) return;
    const global uchar *b = blocks + boff + i * (q4 ? CLQ_GGML_Q4_0_BYTES : CLQ_GGML_Q8_0_BYTES);
    const float d = ggml_f16_value((uint)b[0] | (uint)b[1] << 8);
    global float *o = y + yoff + i * CLQ_GGML_QK;
    if (q4) {
        for (int j = 0; j < CLQ_GGML_QK / 2; j++) {
            o[j] = (float)((int)(b[2 + j] & 0x0f) - 8) * d;
            o[j + 16] = (float)((int)(b[2 + j] >> 4) - 8) * d;
        }
    } else {
        for (int j = 0; j < CLQ_GGML_QK; j++) o[j] = (float)(char)b[2 + j] * d;
    }
}
