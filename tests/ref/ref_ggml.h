/* ref_ggml.h: ggml's own reference formulas for block_q8_0 and block_q4_0
 * (ggml-quants.c), on the blocks as bytes, for the import tests. */
#ifndef CLQ_TEST_REF_GGML_H
#define CLQ_TEST_REF_GGML_H

#include <stddef.h>

#define REF_GGML_QK 32          /* elements per block */
#define REF_GGML_Q8_0_BYTES 34  /* f16 d (little-endian), 32 int8 qs */
#define REF_GGML_Q4_0_BYTES 18  /* f16 d (little-endian), 16 bytes qs */

/* quantize_row_q8_0_ref: per block amax = max |x|, d = amax / 127, id = d ? 1 / d : 0,
 * stored d = f16(d) (nearest even), qs[j] = roundf(x[j] * id) (half away from 0).
 * k a multiple of 32; y gets k / 32 blocks. */
void ref_ggml_quantize_row_q8_0(const float *x, unsigned char *y, size_t k);
/* quantize_row_q4_0_ref: max = the first x of largest |x|, d = max / -8 (its sign
 * kept), id = d ? 1 / d : 0, stored d = f16(d), q = min(15, (int8_t)(x * id + 8.5f)),
 * qs[j] = q[j] | q[j + 16] << 4. */
void ref_ggml_quantize_row_q4_0(const float *x, unsigned char *y, size_t k);
/* dequantize_row_q8_0: y[j] = qs[j] * d (d widened from f16). */
void ref_ggml_dequantize_row_q8_0(const unsigned char *x, float *y, size_t k);
/* dequantize_row_q4_0: y[j] = ((qs[j] & 15) - 8) * d, y[j + 16] = ((qs[j] >> 4) - 8) * d. */
void ref_ggml_dequantize_row_q4_0(const unsigned char *x, float *y, size_t k);

#endif
