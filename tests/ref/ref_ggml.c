/* ref_ggml.c: ggml's reference quantize / dequantize of Q8_0 and Q4_0, written from
 * ggml-quants.c's formulas (quantize_row_q8_0_ref, quantize_row_q4_0_ref,
 * dequantize_row_q8_0, dequantize_row_q4_0) on the blocks' bytes. */
#include "ref_ggml.h"

#include <math.h>
#include <stdint.h>

#include "ref.h"

static void store_d(unsigned char *b, float d) {
    uint16_t h = ref_f32_to_f16(d); /* GGML_FP32_TO_FP16 rounds to nearest even */
    b[0] = (unsigned char)(h & 0xff);
    b[1] = (unsigned char)(h >> 8);
}

static float load_d(const unsigned char *b) {
    return ref_f16_to_f32((uint16_t)(b[0] | (unsigned)b[1] << 8));
}

void ref_ggml_quantize_row_q8_0(const float *x, unsigned char *y, size_t k) {
    for (size_t i = 0; i < k / REF_GGML_QK; i++, x += REF_GGML_QK, y += REF_GGML_Q8_0_BYTES) {
        float amax = 0.0f;
        for (int j = 0; j < REF_GGML_QK; j++) {
            float v = fabsf(x[j]);
            amax = amax > v ? amax : v;
        }
        /* id comes from the f32 d, before d is rounded to f16 */
        float d = amax / 127;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_d(y, d);
        for (int j = 0; j < REF_GGML_QK; j++) {
            int8_t q = (int8_t)roundf(x[j] * id);
            y[2 + j] = (unsigned char)q;
        }
    }
}

void ref_ggml_quantize_row_q4_0(const float *x, unsigned char *y, size_t k) {
    for (size_t i = 0; i < k / REF_GGML_QK; i++, x += REF_GGML_QK, y += REF_GGML_Q4_0_BYTES) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < REF_GGML_QK; j++)
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -8;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        store_d(y, d);
        for (int j = 0; j < REF_GGML_QK / 2; j++) {
            /* truncation toward 0 of a value >= 0: x * id lies in [-8, 8] */
            int q0 = (int8_t)(x[j] * id + 8.5f), q1 = (int8_t)(x[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15;
            q1 = q1 < 15 ? q1 : 15;
            y[2 + j] = (unsigned char)(q0 | q1 << 4);
        }
    }
}

void ref_ggml_dequantize_row_q8_0(const unsigned char *x, float *y, size_t k) {
    for (size_t i = 0; i < k / REF_GGML_QK; i++, x += REF_GGML_Q8_0_BYTES, y += REF_GGML_QK) {
        float d = load_d(x);
        for (int j = 0; j < REF_GGML_QK; j++) y[j] = (int8_t)x[2 + j] * d;
    }
}

void ref_ggml_dequantize_row_q4_0(const unsigned char *x, float *y, size_t k) {
    for (size_t i = 0; i < k / REF_GGML_QK; i++, x += REF_GGML_Q4_0_BYTES, y += REF_GGML_QK) {
        float d = load_d(x);
        for (int j = 0; j < REF_GGML_QK / 2; j++) {
            int x0 = (x[2 + j] & 0x0f) - 8, x1 = (x[2 + j] >> 4) - 8;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }
}
