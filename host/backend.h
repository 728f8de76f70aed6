/* backend.h: the table of functions a backend fills, and the normalised op
 * descriptors the api layer hands it (contiguous data, validated arguments). */
#ifndef CLQ_BACKEND_H
#define CLQ_BACKEND_H

#include <clquant/clquant.h>

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

/* scale (f32) and zero point (int32; zp.buf NULL: not written) from min/max. */
typedef struct clq_qparams_op {
    clq_span min, max;
    size_t count;
    clq_scheme scheme;
    clq_dtype qtype;
    int qmin, qmax;
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
    clq_status (*copy_strided)(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst);
    clq_status (*minmax)(clq_context *ctx, const clq_minmax_op *op);
    clq_status (*qparams)(clq_context *ctx, const clq_qparams_op *op);
    clq_status (*quantize)(clq_context *ctx, const clq_quantize_op *op);
    clq_status (*dequantize)(clq_context *ctx, const clq_dequantize_op *op);
} clq_backend_ops;

/* Backend constructors: fill ctx->ops, ctx->impl, ctx->device_name. */
clq_status clq__cpu_init(clq_context *ctx, const clq_context_options *opts);
/* reason receives why no device was usable (for AUTO's fallback message). */
clq_status clq__opencl_init(clq_context *ctx, const clq_context_options *opts, char *reason,
                            size_t reason_size);
#endif
