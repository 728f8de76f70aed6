/* ref.h: a naive scalar reference of docs/NUMERICS.md for the tests.
 * Written from the contract alone (not from host/cpu or kernels/), one element at a time. */
#ifndef CLQ_TEST_REF_H
#define CLQ_TEST_REF_H

#include <clquant/clquant.h>
#include <stddef.h>
#include <stdint.h>

/* ---- element types ---- */
float ref_f16_to_f32(uint16_t h);
float ref_bf16_to_f32(uint16_t b);
/* Round to nearest even; used to make f16/bf16 inputs from f32 values. */
uint16_t ref_f32_to_f16(float f);
uint16_t ref_f32_to_bf16(float f);
float ref_bits_f32(uint32_t u);
uint32_t ref_f32_bits(float f);

/* Bytes per element for f32/f16/bf16/s8/u8/s32; 0 for 4-bit and unknown types. */
size_t ref_elem_size(clq_dtype t);
int ref_is_4bit(clq_dtype t);
/* Reads element e (absolute element index) of a float-type array as f32. */
float ref_load_float(clq_dtype t, const void *base, size_t e);
/* Writes v converted (round to nearest even) to element e of a float-type array. */
void ref_store_float(clq_dtype t, void *base, size_t e, float v);
/* Reads/writes element e (absolute element index) of a quantized array; 4-bit in nibbles. */
int32_t ref_load_q(clq_dtype t, const void *base, size_t e);
void ref_store_q(clq_dtype t, void *base, size_t e, int32_t v);

void ref_qrange(clq_dtype qtype, int narrow, int *qmin, int *qmax);

/* ---- shapes, strides and the parameter layout ---- */
typedef struct ref_view {
    int ndim;
    size_t shape[CLQ_MAX_DIMS];
    ptrdiff_t strides[CLQ_MAX_DIMS]; /* elements */
    size_t offset;                   /* elements */
} ref_view;

size_t ref_numel(int ndim, const size_t *shape);
void ref_contiguous_strides(int ndim, const size_t *shape, ptrdiff_t *strides);
/* Absolute element index of the element at N-d index idx. */
size_t ref_view_elem(const ref_view *v, const size_t *idx);
/* Elements a buffer needs so that every element of the view lies inside it. */
size_t ref_view_extent(const ref_view *v);
/* Row-major N-d index of linear index lin. */
void ref_unravel(int ndim, const size_t *shape, size_t lin, size_t *idx);

typedef struct ref_gran {
    clq_granularity gran;
    int axis;          /* as given; may be negative */
    size_t block_size;
} ref_gran;

/* Number of (scale, zero point) pairs (ONNX opset 21 layout). */
size_t ref_param_count(const ref_gran *g, int ndim, const size_t *shape);
/* Parameter index of the element at N-d index idx. */
size_t ref_param_index(const ref_gran *g, int ndim, const size_t *shape, const size_t *idx);

/* ---- ops ---- */
/* min/max per granule over the view; NaN ignored; empty granules [0, 0]; zeros as +0. */
void ref_minmax(clq_dtype xtype, const void *x, const ref_view *v, const ref_gran *g, float *mn,
                float *mx);
void ref_qparams(float mn, float mx, clq_scheme scheme, clq_dtype qtype, int narrow, float *scale,
                 int32_t *zero_point);
int32_t ref_quantize_one(float x, float scale, int32_t zp, int qmin, int qmax, clq_rounding rounding,
                         int reciprocal);
float ref_dequantize_one(int32_t q, float scale, int32_t zp);

/* Quantizes every element of the view into q (row-major logical order, n values). */
void ref_quantize(clq_dtype xtype, const void *x, const ref_view *v, const ref_gran *g,
                  const float *scale, const int32_t *zp, clq_dtype qtype, int narrow,
                  clq_rounding rounding, int reciprocal, int32_t *q);

/* ---- int8 GEMM ---- */
/* A matrix of 8-bit stored values: element (r, c) at offset + r * rs + c * cs. */
typedef struct ref_mat {
    clq_dtype dtype; /* S8 / U8 */
    const void *data;
    size_t offset;
    ptrdiff_t rs, cs;
} ref_mat;

/* c[i * n + j] = sum_k (a(i, k) - za) * (b(j, k) - zb[j or 0]) exactly in int64;
 * b is indexed [n][k] whatever its memory layout. */
void ref_gemm_exact(size_t m, size_t n, size_t k, const ref_mat *a, int32_t za, const ref_mat *b,
                    const int32_t *zb, int zb_per_channel, int64_t *c);
/* floor((2^31 - 1) / (max|a - za| * max_j max|b - zb[j]|)) over the types' full ranges. */
size_t ref_gemm_max_k(clq_dtype atype, int32_t za, clq_dtype btype, const int32_t *zb, size_t nzb);

/* Output stages of one accumulator c (exact, in int32). */
float ref_gemm_f32(int32_t c, float sa, float sb, const float *bias, int relu);
int32_t ref_gemm_requant_float(int32_t c, float sa, float sb, float sc, int32_t zc, int qmin, int qmax);
int32_t ref_gemm_requant_fixed(int32_t c, int32_t mult, int shift, int32_t zc, int qmin, int qmax);

/* gemmlowp / TFLite fixed-point pieces, as those libraries define them. */
int32_t ref_srdhm(int32_t a, int32_t b);         /* SaturatingRoundingDoublingHighMul */
int32_t ref_rdbpot(int32_t x, int exponent);      /* RoundingDivideByPOT, 0 <= exponent <= 31 */
int32_t ref_mbqm(int32_t x, int32_t mult, int shift); /* MultiplyByQuantizedMultiplier */
/* TFLite's QuantizeMultiplier (frexp, round half away, 2^31 carried into the shift). */
void ref_quantize_multiplier(double real, int32_t *mult, int *shift);

#endif
