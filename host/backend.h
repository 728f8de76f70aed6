/* backend.h: the table of functions a backend fills, and the normalised op
 * descriptors the api layer hands it (contiguous data, validated arguments). */
#ifndef CLQ_BACKEND_H
#define CLQ_BACKEND_H

#include <clquant/clquant.h>

#include "clq_kernel_args.h" /* CLQ_ERROR_*: the error metrics' chunking, shared with the kernels */

/* A contiguous region: byte offset into a buffer. buf NULL means "absent". */
typedef struct clq_span {
    clq_buffer *buf;
    size_t offset;
} clq_span;

/* A contiguous tensor seen as [outer][axis_len][inner], and how its elements map
 * to (scale, zero point) pairs. Element e = (o * axis_len + c) * inner + i uses
 *   PER_TENSOR: param 0 (outer = inner = 1, axis_len = n)
 *   PER_AXIS:   param c
 *   PER_BLOCK:  param (o * nblocks + c / block) * inner + i
 * See clq_layout_param(). */
typedef struct clq_layout {
    clq_granularity gran;
    size_t n;
    size_t outer, axis_len, inner;
    size_t block;   /* PER_BLOCK only */
    size_t nblocks; /* PER_BLOCK: ceil(axis_len / block) */
    size_t nparams;
} clq_layout;

static inline size_t clq_layout_param(const clq_layout *l, size_t e) {
    if (l->gran == CLQ_PER_TENSOR) return 0;
    size_t i = e % l->inner, oc = e / l->inner;
    size_t c = oc % l->axis_len, o = oc / l->axis_len;
    if (l->gran == CLQ_PER_AXIS) return c;
    return (o * l->nblocks + c / l->block) * l->inner + i;
}

/* min/max f32 arrays of lay.nparams values. Empty granules give [0, 0]. */
typedef struct clq_minmax_op {
    clq_dtype xtype; /* f32 / f16 / bf16 */
    clq_span x;
    clq_layout lay;
    clq_span min, max;
} clq_minmax_op;

/* scale (f32) and zero point (int32; zp.buf NULL: not written) from min/max, by the
 * ONNX Runtime formula or (pytorch) PyTorch's observers' (docs/NUMERICS.md, "Profiles").
 * sym_zp: the symmetric scheme's zero point (the api layer picks it per profile). */
typedef struct clq_qparams_op {
    clq_span min, max;
    size_t count;
    clq_scheme scheme;
    clq_dtype qtype;
    int qmin, qmax;
    int pytorch;
    int32_t sym_zp;
    clq_span scale, zp;
} clq_qparams_op;

/* q = saturate(round(x / scale) + zp). 4-bit q: element e in byte e/2 (low nibble
 * first); for odd n the unused high nibble of the last byte is written 0. */
typedef struct clq_quantize_op {
    clq_dtype xtype, qtype;
    clq_span x, q;
    clq_layout lay;
    clq_span scale, zp; /* zp.buf NULL: all zero */
    int qmin, qmax;
    clq_rounding rounding;
    int reciprocal; /* x * (1.0f / scale) */
} clq_quantize_op;

/* y = (float)(q - zp) * scale. */
typedef struct clq_dequantize_op {
    clq_dtype qtype;
    clq_span q, y;
    clq_layout lay;
    clq_span scale, zp;
} clq_dequantize_op;


/* ---- integer GEMM ---------------------------------------------------------
 * Backends compute in the "signed domain": a u8 value v is seen as v - 128 (v ^ 0x80
 * as a signed byte), a u4 value as v - 8, and their zero points likewise, which
 * leaves every (v - zp) unchanged and keeps every product within s8 x s8. K is cut
 * into groups j of w->fmt.group (one group of K unless the weights are grouped;
 * clq__w_group_len). With a', b' the signed-domain values, za'_j[m] = za - 128 for u8
 * A (za per tensor, per row or per row and group), rs'_j[m] = rs_j[m] - 128 len_j
 * [u8 A] from the stored-value sums rs_j[m] of group j, cs'_j[n] = sum over group j
 * of b'[n][k] (w->colsum) and zb'_j[n] from the packed weights:
 *   acc_j = sum_{k in j} a'[m][k] b'[n][k]
 *   d_j   = acc_j - zb'_j[n] rs'_j[m] - za'_j[m] cs'_j[n] + len_j za'_j[m] zb'_j[n]
 * all in uint32 wrap-around arithmetic (exact whenever the true d_j fits int32,
 * which the api layer guarantees by bounding the group length). C = d_0 when there
 * is one group. Output stages: see clq_gemm_op. */

/* What packed weights are, in the terms every backend reads: the type and how their
 * (scale, zero point) pairs map onto [N][K]. */
typedef struct clq_wformat {
    clq_dtype btype;      /* S8, U8, S4, U4 as given */
    clq_granularity gran; /* PER_TENSOR; PER_AXIS: per output channel; PER_BLOCK: groups along K */
    size_t group;         /* PER_BLOCK: g (a multiple of 16; may exceed K); else K */
    size_t ngroups;       /* PER_BLOCK: ceil(K / g) (0 at K = 0); else 1 */
} clq_wformat;

/* Packs b (contiguous [n][k] elements of fmt.btype; 4-bit: element e in byte e / 2,
 * low nibble first) into the backend's layout: allocates w->data and w->impl (its
 * record of the layout) and writes w->colsum (cs', int32[n][ngroups]). */
typedef struct clq_pack_op {
    clq_wformat fmt;
    size_t n, k;
    clq_span b;
} clq_pack_op;

/* sums[r * G + j] = sum of a[r * lda + k] over k in group j (stored values, u8 as
 * 0..255), int32; group 0: one group of all k (G = 1), else G = ceil(k / group). */
typedef struct clq_rowsums_op {
    clq_dtype atype; /* S8 / U8 */
    size_t rows, k, lda;
    size_t group;
    clq_span a, sums;
} clq_rowsums_op;

/* C[m][n] at c + m * ldc + n (elements of ctype). A's scale and zero point are
 * sa_j[m], za_j[m]: index 0 (a_gran PER_TENSOR), m (PER_AXIS: per row), or m * G + j
 * (PER_BLOCK: per row and group of the weights). B's likewise: 0, n, or n * G + j.
 * With s_j = sa_j[m] * sb_j[n] (f32), stages (each step one f32 rounding, no fma):
 *   S32 (G = 1): C.
 *   F32: y = (float)d_0 * s_0; y = y + (float)d_j * s_j for j = 1 .. G-1 in order;
 *        y = y + bias[n] (bias given); relu: y = y > 0 ? y : +0.
 *   S8/U8 float: mult_j = s_j / sc (correctly rounded division); v = (float)d_0 *
 *        mult_0, v = v + (float)d_j * mult_j in order; q = rint_half_even(clamp(v,
 *        qmin - zc, qmax - zc)) + zc.
 *   S8/U8 fixed (G = 1): q = clamp(zc + MBQM(C, mult[n or 0], shift[n or 0]), qmin, qmax)
 *        with gemmlowp's SaturatingRoundingDoublingHighMul + RoundingDivideByPOT,
 *        the left shift (shift > 0) wrapping mod 2^32.
 * G = 0 (K = 0 with groups): y = +0 (v = 0) before the bias. */
typedef struct clq_gemm_op {
    const clq_packed_weights *w;
    size_t m, n, k;
    clq_dtype atype; /* S8 / U8 */
    clq_span a;
    size_t lda;      /* elements; rows contiguous along k */
    clq_granularity a_gran; /* PER_TENSOR, PER_AXIS (per row), PER_BLOCK (per row and group) */
    clq_span za;     /* int32 stored zero points of A (not signed domain); buf NULL: 0 */
    clq_span rowsums; /* int32[m][G] stored-value sums; buf NULL: w->zb_all_zero */
    clq_dtype ctype; /* S32 / F32 / S8 / U8 */
    clq_span c;
    size_t ldc;      /* elements */
    clq_span sa;     /* f32, counted as za: F32 and float requant */
    clq_span bias;   /* f32[n], F32 only; buf NULL: none */
    int relu;
    clq_span sc, zc; /* requant: f32[1] (float form only), int32[1] (buf NULL: 0) */
    int fixed_point;
    clq_span mult, shift; /* int32 each, [n] when mult_per_channel else [1] */
    int mult_per_channel;
    int qmin, qmax;
} clq_gemm_op;

/* ---- calibration histogram ------------------------------------------------
 * counts[b] = number of elements of x (n values of xtype; NaN skipped) whose
 * v (|x| when absolute, else x) falls in bin b = clamp(floor((v - lo) * inv_width),
 * 0, nbins - 1), with (v - lo) and the product each rounded to f32 (no fma), so every
 * backend bins alike. counts: uint32[nbins], overwritten; n < 2^32 (the caller
 * splits larger batches). */
typedef struct clq_histogram_op {
    clq_dtype xtype; /* f32 / f16 / bf16 */
    clq_span x;
    size_t n;
    int absolute;
    float lo, inv_width;
    size_t nbins;
    clq_span counts;
} clq_histogram_op;

/* ---- error metrics ---------------------------------------------------------
 * Statistics of e = y - x (all f32: x and y loaded exactly, e, e * e, x * x, y * y and
 * x * y each rounded once, no fma), per stats granule g < ngran. Granule g holds the
 * cnt = outer * inner elements ((p / inner) * ngran + g) * inner + p % inner, p < cnt,
 * at positions p (per tensor: ngran 1, outer 1, inner n; per axis: the axis' outer,
 * length and inner). Positions are cut into chunks of CLQ_ERROR_CHUNK; in chunk k of
 * granule g, lane l = p % CLQ_ERROR_LANES sums its elements in ascending p in f32 from
 * +0.0, then the lanes fold as a[l] = a[l] + a[l + h] for h = 8, 4, 2, 1 (l < h). An
 * element whose e is NaN (x or y NaN, or both the same infinity) is skipped. Results:
 * part[(g * nchunks + k) * CLQ_ERROR_NSTATS + CLQ_ERROR_<stat>] (f32; the count is exact,
 * the max taken over |e|, from 0). y.buf NULL (quantization mode): y =
 * dequantize(quantize(x)) with q's parameters, computed element by element as the
 * quantize and dequantize ops do (q.q is unused; q.x is x). */
typedef struct clq_error_op {
    clq_dtype xtype, ytype; /* f32 / f16 / bf16 (ytype: tensor mode only) */
    clq_span x, y;
    clq_quantize_op q;
    size_t ngran, outer, inner;
    size_t nchunks; /* per granule: ceil(outer * inner / CLQ_ERROR_CHUNK) */
    clq_span part;
} clq_error_op;

/* ---- ggml blocks (docs/NUMERICS.md, "ggml blocks") --------------------------------
 * nblocks blocks of CLQ_GGML_QK consecutive elements of the contiguous x, block i at
 * blocks.offset + i * (CLQ_GGML_Q8_0_BYTES or CLQ_GGML_Q4_0_BYTES), any byte offset.
 * Quantize: x of xtype (f32 / f16 / bf16, widened exactly) to the blocks by ggml's
 * quantize_row_q8_0_ref / _q4_0_ref; dequantize: the blocks to f32 x (xtype CLQ_F32). */
typedef struct clq_ggml_op {
    clq_weights_layout layout; /* CLQ_LAYOUT_GGML_Q8_0 or CLQ_LAYOUT_GGML_Q4_0 */
    clq_dtype xtype;
    clq_span x, blocks;
    size_t nblocks;
} clq_ggml_op;

/* Every op that writes a caller's output runs in two passes over the same code
 * (docs/DESIGN.md, "Two passes"): CLQ_PASS_PREPARE resolves everything that may fail
 * (programs, kernels, scratch, argument spans) and writes nothing; CLQ_PASS_RUN then
 * enqueues, and fails only at run time. A composite op prepares every step before
 * the first one runs, so a failure leaves every output untouched. */
typedef enum clq_pass { CLQ_PASS_PREPARE, CLQ_PASS_RUN } clq_pass;

typedef struct clq_backend_ops {
    const char *name;
    void (*destroy)(clq_context *ctx);
    clq_status (*buffer_create)(clq_context *ctx, clq_buffer *buf, size_t bytes);
    clq_status (*buffer_wrap_host)(clq_context *ctx, clq_buffer *buf, void *ptr, size_t bytes);
    void (*buffer_destroy)(clq_buffer *buf);
    clq_status (*buffer_write)(clq_buffer *buf, size_t offset, size_t bytes, const void *src);
    clq_status (*buffer_read)(clq_buffer *buf, size_t offset, size_t bytes, void *dst);
    clq_status (*finish)(clq_context *ctx);
    /* dst = src element-wise; same ndim/shape, same element size (1, 2 or 4 bytes,
     * never 4-bit); strides in elements, may be 0 in src. */
    clq_status (*copy_strided)(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst,
                                 clq_pass pass);
    clq_status (*minmax)(clq_context *ctx, const clq_minmax_op *op, clq_pass pass);
    clq_status (*qparams)(clq_context *ctx, const clq_qparams_op *op, clq_pass pass);
    clq_status (*quantize)(clq_context *ctx, const clq_quantize_op *op, clq_pass pass);
    clq_status (*dequantize)(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass);
    clq_status (*gemm_pack)(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w);
    void (*gemm_unpack)(clq_packed_weights *w); /* frees w->impl (what gemm_pack kept beyond w->data) */
    clq_status (*rowsums)(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass);
    clq_status (*gemm)(clq_context *ctx, const clq_gemm_op *op, clq_pass pass);
    clq_status (*histogram)(clq_context *ctx, const clq_histogram_op *op, clq_pass pass);
    clq_status (*error_stats)(clq_context *ctx, const clq_error_op *op, clq_pass pass);
    clq_status (*ggml_quantize)(clq_context *ctx, const clq_ggml_op *op, clq_pass pass);
    clq_status (*ggml_dequantize)(clq_context *ctx, const clq_ggml_op *op, clq_pass pass);
} clq_backend_ops;

/* Backend constructors: fill ctx->ops, ctx->impl, ctx->device_name. */
clq_status clq__cpu_init(clq_context *ctx, const clq_context_options *opts);
/* reason receives why no device was usable (for AUTO's fallback message). */
clq_status clq__opencl_init(clq_context *ctx, const clq_context_options *opts, char *reason,
                            size_t reason_size);
#endif
