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
/* floor((2^31 - 1) / (max|a - za| * max_j max|b - zb[j]|)) over the types' full ranges;
 * SIZE_MAX for nzb = 0 (no weights). */
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

/* The float linear layer: y[i * n + j] = bias[j] (0 when bias is NULL) + sum_k x[i * k + c]
 * w[j * k + c], in double (x [m][k], w [n][k] row-major): what a quantized layer approximates. */
void ref_linear_f64(size_t m, size_t n, size_t k, const float *x, const float *w, const float *bias,
                    double *y);

/* ---- every weight format and activation granularity (docs/NUMERICS.md, "Weight formats,
 * per-token and per-group activations"); ref_gemm_group.c ---- */
/* Groups along K: ceil(k / g) (0 at k = 0) for weights in groups of g; 1 for g = 0 (none). */
size_t ref_gemm_groups(size_t k, size_t g);
/* Index of the parameter of row r (of A) or output channel r (of B) for group j:
 * PER_TENSOR 0, PER_AXIS r (per row / channel), PER_BLOCK r * groups + j. */
size_t ref_gemm_param(clq_granularity gran, size_t r, size_t j, size_t groups);
/* d[(i * n + c) * G + j] = sum over k of group j of (a(i, k) - za_j[i]) * (b(c, k) - zb_j[c])
 * exactly in int64, G = ref_gemm_groups(k, g), group j being k in [j g, min(k, (j + 1) g))
 * (g = 0: all of k); za, zb indexed by ref_gemm_param with the granularity given; b
 * (s8, u8, s4, u4) indexed [n][k]. */
void ref_gemm_group_exact(size_t m, size_t n, size_t k, size_t g, const ref_mat *a, clq_granularity a_gran,
                          const int32_t *za, const ref_mat *b, clq_granularity b_gran, const int32_t *zb,
                          int64_t *d);
/* sums[r * G + j] = sum over k of group j of a(r, k), the stored values (u8 as 0..255):
 * what clq_quantize_rowsums writes for qparams per block of g along the last axis. */
void ref_gemm_group_sums(size_t rows, size_t k, size_t g, const ref_mat *a, int32_t *sums);
/* The stages of one output from its groups' exact dots d[j] (int32) and scales sa[j], sb[j]
 * (A's for its row, the weights' for its channel), groups folded in ascending j, one f32
 * rounding per step: f32 y = (float)d_0 * (sa_0 * sb_0), y = y + (float)d_j * (sa_j * sb_j),
 * + bias, ReLU; s8/u8 with mult_j = (sa_j * sb_j) / sc likewise, clamped, rounded half to
 * even, + zc. groups = 0 gives y = +0 (v = 0). */
float ref_gemm_group_f32(size_t groups, const int32_t *d, const float *sa, const float *sb, const float *bias,
                         int relu);
int32_t ref_gemm_group_requant(size_t groups, const int32_t *d, const float *sa, const float *sb, float sc,
                               int32_t zc, int qmin, int qmax);

/* ---- calibration histograms (docs/NUMERICS.md, "Calibration: histogram methods");
 * ref_hist.c ---- */
/* The bin of v (|v| when absolute) over nbins bins from lo with inv_width inv: the
 * f32 rounded t = v - lo and p = t * inv, floor, clamped to [0, nbins - 1], a NaN p
 * in bin 0; SIZE_MAX for a NaN v (not counted). */
size_t ref_hist_bin(float v, int absolute, float lo, float inv, size_t nbins);
/* inv_width of nbins bins over [lo, hi]: nbins / (hi - lo) in double to f32, capped at
 * FLT_MAX; 0 when hi == lo. */
float ref_hist_inv_width(size_t nbins, float lo, float hi);
/* counts[b] (uint32, overwritten) of the n values of type t at x. */
void ref_hist_count(clq_dtype t, const void *x, size_t n, int absolute, float lo, float inv,
                    size_t nbins, uint32_t *counts);

/* A running histogram as docs/NUMERICS.md grows it. */
typedef struct ref_hist {
    size_t nbins;
    int absolute, empty;
    float lo, hi;
    uint64_t *counts;
} ref_hist;
void ref_hist_init(ref_hist *h, size_t nbins, int absolute);
void ref_hist_free(ref_hist *h);
/* One batch (its range taken from its own non-NaN values; all NaN changes nothing). */
void ref_hist_add(ref_hist *h, clq_dtype t, const void *x, size_t n);
/* The searches, as the references write them: the amax of PERCENTILE, MSE, ENTROPY,
 * the [min, max] of L2; bits of the qtype. */
float ref_hist_percentile(const ref_hist *h, double percentile);
float ref_hist_mse(const ref_hist *h, int bits);
float ref_hist_entropy(const ref_hist *h, int bits);
void ref_hist_l2(const ref_hist *h, int bits, float *lo, float *hi);

/* ---- error metrics (ref_error.c; docs/NUMERICS.md, "Error metrics") ---- */
/* Sums of one granule, in the order E2, ABS, MAX, X2, Y2, XY (as clquant's CLQ_ERROR_*). */
typedef struct ref_error_sums {
    double s[6];
    uint64_t count;
} ref_error_sums;
/* x and y: n = numel values each, row-major, as f32. Per granule (one, or one per index
 * along axis with gran CLQ_PER_AXIS): the documented order (chunks of 4096 positions of
 * the granule, position p in lane p % 16 summed in f32, lanes folded by halves, chunks
 * summed in double in order) into chunked[g] and out[g]; and the same f32 terms summed
 * straight in double into plain[g] with abs_terms[g] their absolute values' sums (the
 * bound's scale). Any of the last three may be NULL. */
void ref_error_stats(int ndim, const size_t *shape, const float *x, const float *y,
                     clq_granularity gran, int axis, clq_error_stats *out, ref_error_sums *chunked,
                     ref_error_sums *plain, ref_error_sums *abs_terms);
/* The statistics of one granule's sums: mse, mean_abs, snr_db, cosine as documented. */
void ref_error_finish(const ref_error_sums *s, clq_error_stats *out);
/* The bound on |chunked - plain| for a sum whose absolute terms add up to abs_sum: each
 * lane adds at most 256 terms and the fold 4 more, each f32 add off by 2^-24 relative. */
double ref_error_bound(double abs_sum);

/* ---- calibration (ref_calib.c) ---- */
/* PyTorch's _calculate_qparams (torch.ao.quantization.observer) after the library's input
 * rules (NaN as 0, +-Inf as +-FLT_MAX); u8 symmetric zero point 128 for the full range,
 * else (qmin + qmax) / 2 as torch for a customized range. */
void ref_qparams_pytorch(float mn, float mx, clq_scheme scheme, clq_dtype qtype, int narrow,
                         float *scale, int32_t *zero_point);
/* ref_qparams or ref_qparams_pytorch as flags' CLQ_QPARAMS_PROFILE_PYTORCH says. */
void ref_qparams_profile(float mn, float mx, clq_scheme scheme, clq_dtype qtype, unsigned flags,
                         float *scale, int32_t *zero_point);

/* A min/max observer (CLQ_CALIB_MINMAX or CLQ_CALIB_MOVING_AVERAGE), per tensor or per
 * channel along axis. Channels are fixed by the first batch; a channel whose values in a
 * batch are all NaN (or that has none) is not changed by it. */
typedef struct ref_observer {
    clq_calib_method method;
    int per_axis, axis;
    double c;
    size_t channels, batches;
    float *mn, *mx;
    unsigned char *seen;
} ref_observer;
void ref_observer_init(ref_observer *o, clq_calib_method method, int per_axis, int axis,
                       double averaging_constant);
void ref_observer_free(ref_observer *o);
/* Feeds one batch; -1 (nothing changed) when it holds +-Inf. */
int ref_observer_batch(ref_observer *o, clq_dtype xtype, const void *x, const ref_view *v);

#endif
