/* validate.h: argument checks shared by the api_*.c entry points. Each names the
 * argument and the bad value in the context's error message. */
#ifndef CLQ_VALIDATE_H
#define CLQ_VALIDATE_H

#include "internal.h"

/* A tensor argument after checking. */
typedef struct clq_tensor_info {
    size_t numel;
    int contiguous;  /* row-major dense (size-1 dims ignored) */
    size_t byte_off; /* contiguous only: byte offset of element 0 */
    size_t byte_lo, byte_hi; /* the bytes the view reaches: [lo, hi), empty when numel 0 */
} clq_tensor_info;

/* One argument of a call as the bytes it touches, for clq__check_disjoint. */
typedef struct clq_extent {
    const char *name;
    const clq_buffer *buf; /* NULL: absent */
    size_t lo, hi;         /* bytes [lo, hi) of buf */
    int output;
} clq_extent;
static inline clq_extent clq__tensor_extent(const char *name, const clq_tensor *t,
                                            const clq_tensor_info *ti, int output) {
    return (clq_extent){name, t->buffer, ti->byte_lo, ti->byte_hi, output};
}
/* A checked array span of count elements of elem bytes. */
static inline clq_extent clq__span_extent(const char *name, clq_span s, size_t count, size_t elem,
                                          int output) {
    return (clq_extent){name, s.buf, s.offset, s.offset + count * elem, output};
}
/* Every argument of one call: a wrapped cl_mem's access flags allow its role
 * (clq__check_writable / _readable), and no output shares a byte with another
 * argument (INVALID_ARGUMENT naming both): the same buffer, or two wrapped host
 * ranges that overlap. */
CLQ_HIDDEN clq_status clq__check_disjoint(clq_context *ctx, const clq_extent *e, int n);

enum { CLQ_INPUT = 0, CLQ_OUTPUT = 1 };

/* NULL, context, dtype, ndim, shape overflow, strides, bounds in the buffer. */
CLQ_HIDDEN clq_status clq__check_tensor(clq_context *ctx, const clq_tensor *t, const char *name,
                                        int role, clq_tensor_info *info);
CLQ_HIDDEN clq_status clq__check_same_shape(clq_context *ctx, const clq_tensor *a, const char *an,
                                            const clq_tensor *b, const char *bn);
/* struct_size, qtype, scheme, rounding, flags: what every use of a qparams reads (not
 * its granularity or buffers), naming the argument name. */
CLQ_HIDDEN clq_status clq__check_qparams_common(clq_context *ctx, const clq_qparams *qp,
                                                const char *name);
/* The qparams op's formula fields from a checked qp: scheme, qtype, range, profile and
 * the symmetric zero point it implies. */
CLQ_HIDDEN void clq__qparams_op_setup(const clq_qparams *qp, clq_qparams_op *op);
/* qtype, granularity, axis, block, scheme, rounding, flags; fills the layout of
 * a tensor of this shape. Does not look at the buffers. */
CLQ_HIDDEN clq_status clq__check_qparams_desc(clq_context *ctx, const clq_qparams *qp, int ndim,
                                              const size_t *shape, clq_layout *lay);
/* The same, naming the argument (e.g. "a_qp") in messages. */
CLQ_HIDDEN clq_status clq__check_qparams_desc_as(clq_context *ctx, const clq_qparams *qp,
                                                 const char *name, int ndim, const size_t *shape,
                                                 clq_layout *lay);
/* scale (and zero point, when needed or given) buffers hold count values. */
CLQ_HIDDEN clq_status clq__check_qparams_buffers(clq_context *ctx, const clq_qparams *qp,
                                                 size_t count, int need_zero_point,
                                                 clq_span *scale, clq_span *zp);
/* Reads the values back: scale finite and > 0, zero point in [qmin, qmax]. */
CLQ_HIDDEN clq_status clq__check_qparams_values(clq_context *ctx, const clq_qparams *qp,
                                                size_t count, int qmin, int qmax);
/* Whether clq_qparams_from_minmax must write zero points (affine, unsigned symmetric). */
CLQ_HIDDEN int clq__qparams_need_zero_point(const clq_qparams *qp);
/* An f32 array argument of count values at element offset off. */
CLQ_HIDDEN clq_status clq__check_array(clq_context *ctx, clq_buffer *buf, const char *name,
                                       size_t off, size_t count, size_t elem, clq_span *out);
/* The two passes of backend.h, in order: for (CLQ_EACH_PASS(p)) { ... } */
#define CLQ_EACH_PASS(p) clq_pass p = CLQ_PASS_PREPARE; p <= CLQ_PASS_RUN; p = (clq_pass)(p + 1)
/* The contiguous data of a checked tensor: its own span, or a scratch copy. */
CLQ_HIDDEN clq_status clq__gather(clq_context *ctx, const clq_tensor *t,
                                  const clq_tensor_info *info, clq_span *out, clq_pass pass);
/* The same into scratch slot `slot` (a call gathering two inputs gives each its own). */
CLQ_HIDDEN clq_status clq__gather_into(clq_context *ctx, int slot, const clq_tensor *t,
                                       const clq_tensor_info *info, clq_span *out, clq_pass pass);
/* Where an op writes a checked output: its own span, or scratch to scatter after. */
CLQ_HIDDEN clq_status clq__output_span(clq_context *ctx, const clq_tensor *t,
                                       const clq_tensor_info *info, clq_span *out);
CLQ_HIDDEN clq_status clq__scatter(clq_context *ctx, const clq_tensor *t,
                                   const clq_tensor_info *info, const clq_span *staged,
                                   clq_pass pass);
/* x a float tensor and the layout qp gives it (api_minmax.c). */
CLQ_HIDDEN clq_status clq__prepare_minmax(clq_context *ctx, const clq_tensor *x,
                                          const clq_qparams *qp, clq_tensor_info *xi,
                                          clq_layout *lay);
/* clq_quantize's checks of x and qp and the settings they give op (types, layout,
 * range, rounding; not its spans) (api_quantize.c). */
CLQ_HIDDEN clq_status clq__quantize_settings(clq_context *ctx, const clq_tensor *x,
                                             const clq_qparams *qp, clq_tensor_info *xi,
                                             clq_quantize_op *op);
#endif
