/* clquant.h: the public C API of clquant (contexts, buffers, tensors, qparams, ops, status codes).
 * No OpenCL types here; interop with a caller's OpenCL objects lives in clquant_cl.h. */
#ifndef CLQUANT_H
#define CLQUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ---------------------------------------------------------- */
#define CLQ_VERSION_MAJOR 0
#define CLQ_VERSION_MINOR 1
#define CLQ_VERSION_PATCH 0
#define CLQ_VERSION_NUMBER (CLQ_VERSION_MAJOR * 10000 + CLQ_VERSION_MINOR * 100 + CLQ_VERSION_PATCH)
#define CLQ_VERSION_STRING "0.1.0"

#if defined(CLQ_STATIC_DEFINE)
#define CLQ_API
#elif defined(_WIN32)
#ifdef CLQ_BUILDING
#define CLQ_API __declspec(dllexport)
#else
#define CLQ_API __declspec(dllimport)
#endif
#else
#define CLQ_API __attribute__((visibility("default")))
#endif

/* Version of the library actually linked (compare with CLQ_VERSION_NUMBER). */
CLQ_API unsigned clq_version_number(void);
CLQ_API const char *clq_version_string(void);

/* ---- status ----------------------------------------------------------- */
/* Values are never renumbered; new ones are appended. */
typedef enum clq_status {
    CLQ_SUCCESS = 0,
    CLQ_ERROR_INVALID_ARGUMENT = 1, /* a NULL, out-of-range or inconsistent argument */
    CLQ_ERROR_OUT_OF_MEMORY = 2,    /* host or device allocation failed */
    CLQ_ERROR_UNSUPPORTED = 3,      /* valid request this build/device cannot do */
    CLQ_ERROR_NO_DEVICE = 4,        /* no OpenCL platform/device matched */
    CLQ_ERROR_BUILD_FAILED = 5,     /* OpenCL program build failed: clq_context_build_log */
    CLQ_ERROR_OPENCL = 6,           /* an OpenCL call failed at run time */
    CLQ_ERROR_OVERFLOW = 7,         /* a size would overflow size_t, or a GEMM K its exact int32 range */
    CLQ_ERROR_CONTEXT_MISMATCH = 8, /* a buffer belongs to another context */
    CLQ_ERROR_OUT_OF_BOUNDS = 9,    /* shape/strides/offset overrun the buffer */
    CLQ_ERROR_INVALID_QPARAMS = 10, /* a scale not finite and > 0, or a zero point out of range */
    CLQ_ERROR_INTERNAL = 11
} clq_status;

/* Static name of a status ("CLQ_ERROR_INVALID_ARGUMENT"); never NULL. */
CLQ_API const char *clq_status_string(clq_status status);

/* ---- contexts --------------------------------------------------------- */
typedef struct clq_context clq_context;
typedef struct clq_buffer clq_buffer;

typedef enum clq_backend {
    CLQ_BACKEND_AUTO = 0,   /* first usable OpenCL device, else the CPU path */
    CLQ_BACKEND_OPENCL = 1,
    CLQ_BACKEND_CPU = 2
} clq_backend;

/* Flags for clq_context_options.flags. */
#define CLQ_CONTEXT_NO_FALLBACK 0x1u /* AUTO: fail instead of falling back to the CPU path */
#define CLQ_CONTEXT_IGNORE_ENV 0x2u  /* do not read CLQ_BACKEND / CLQ_DEVICE / CLQ_CACHE_DIR */

typedef struct clq_context_options {
    size_t struct_size;      /* sizeof(clq_context_options), set by _init */
    clq_backend backend;     /* default AUTO; env CLQ_BACKEND=auto|opencl|cpu overrides */
    int platform_index;      /* -1: any; env CLQ_DEVICE="P:D" overrides */
    int device_index;        /* -1: the first usable device. With platform_index >= 0 an
                                index into that platform's devices; alone, an index into
                                the devices of all platforms, in platform order */
    const char *device_name; /* substring of "platform device" names; env CLQ_DEVICE=text */
    const char *cache_dir;   /* program cache; NULL: env CLQ_CACHE_DIR, else $XDG_CACHE_HOME/clquant;
                                "" or "off" disables the cache */
    unsigned flags;          /* CLQ_CONTEXT_* */
    int cpu_threads;         /* CPU backend worker threads; 0: one per online core; at most
                                4 per online core and 1024 (a larger count is capped) */
    char *error_buffer;      /* optional: receives why creation failed (NUL-terminated) */
    size_t error_buffer_size;
} clq_context_options;

CLQ_API void clq_context_options_init(clq_context_options *options);

/* options may be NULL (defaults). A context may be used from several threads: calls
 * on one context (its buffers and packed weights included) are serialised by an
 * internal lock; separate contexts run fully in parallel. */
CLQ_API clq_status clq_context_create(const clq_context_options *options, clq_context **out);
CLQ_API void clq_context_destroy(clq_context *ctx);

CLQ_API clq_backend clq_context_backend(const clq_context *ctx);
/* "cpu (avx512)" or "<platform> / <device>"; never NULL. */
CLQ_API const char *clq_context_device_name(const clq_context *ctx);
/* Why AUTO fell back to the CPU path, or "" when it did not. */
CLQ_API const char *clq_context_fallback_reason(const clq_context *ctx);
/* Message of the last failed call on this context ("" if none): names the argument and value.
 * With threads sharing the context: the most recent failure of any of them. */
CLQ_API const char *clq_context_error_message(const clq_context *ctx);
/* OpenCL build log of the last program that failed to build ("" if none). */
CLQ_API const char *clq_context_build_log(const clq_context *ctx);
/* Blocks until every operation enqueued on the context has completed. */
CLQ_API clq_status clq_context_finish(clq_context *ctx);

typedef struct clq_context_stats {
    size_t struct_size;
    unsigned programs_built;     /* compiled from source in this context */
    unsigned programs_loaded;    /* taken from the on-disk program cache */
    unsigned cache_rejected;     /* cache entries found stale or corrupt (then rebuilt) */
    unsigned cache_refused;      /* program builds that found the cache directory or the entry
                                    untrusted (owned by another user, writable by group or
                                    others, a symlink entry) and did not use it */
    unsigned self_tests_run;     /* kernel self-tests run: the OpenCL dot-product GEMM variant's,
                                    once, at the context's first GEMM that would use it */
    unsigned self_tests_failed;  /* of those, the ones that failed: the context then runs the
                                    generic kernel instead (same results) */
} clq_context_stats;
CLQ_API void clq_context_stats_init(clq_context_stats *stats);
/* Copies min(out->struct_size, sizeof(clq_context_stats)) bytes, so a caller built
 * against an older, smaller struct keeps working; out->struct_size is left as it was. */
CLQ_API clq_status clq_context_get_stats(const clq_context *ctx, clq_context_stats *out);

/* ---- buffers ---------------------------------------------------------- */
/* Device memory (host memory on the CPU path). Contents start undefined. */
CLQ_API clq_status clq_buffer_create(clq_context *ctx, size_t bytes, clq_buffer **out);
/* Wraps caller-owned host memory without copying (CPU: used in place; OpenCL:
 * CL_MEM_USE_HOST_PTR). The memory must outlive the buffer: it is the caller's
 * again once clq_buffer_destroy returns. bytes is the caller's promise that
 * [ptr, ptr + bytes) is its memory, which nothing can check; only what no object can
 * be is refused (INVALID_ARGUMENT): bytes 0 or above PTRDIFF_MAX, a range past the
 * end of the address space. On OpenCL read results with clq_buffer_read: a device
 * with its own memory may work on a cached copy of CL_MEM_USE_HOST_PTR memory. */
CLQ_API clq_status clq_buffer_wrap_host(clq_context *ctx, void *ptr, size_t bytes, clq_buffer **out);
/* NULL does nothing. A buffer on the caller's host memory (clq_buffer_wrap_host, or
 * a clq_buffer_wrap_cl cl_mem made with CL_MEM_USE_HOST_PTR) first waits for every op
 * enqueued on its context (as clq_context_finish), so that memory may be freed or
 * reused as soon as this returns. Other buffers are released at once: an op still
 * queued on one keeps its device memory until it completes. */
CLQ_API void clq_buffer_destroy(clq_buffer *buf);
CLQ_API size_t clq_buffer_size(const clq_buffer *buf);
/* Blocking copies between host memory and [offset, offset + bytes) of the buffer. */
CLQ_API clq_status clq_buffer_write(clq_buffer *buf, size_t offset, size_t bytes, const void *src);
CLQ_API clq_status clq_buffer_read(clq_buffer *buf, size_t offset, size_t bytes, void *dst);

/* ---- tensors ---------------------------------------------------------- */
/* Values are never renumbered. */
typedef enum clq_dtype {
    CLQ_F32 = 1,
    CLQ_F16 = 2,
    CLQ_BF16 = 3,
    CLQ_S8 = 4,
    CLQ_U8 = 5,
    CLQ_S4 = 6, /* two per byte, first element in the low nibble (as ONNX) */
    CLQ_U4 = 7,
    CLQ_S32 = 8
    /* 9 and 10 are reserved for s16 and u16: not supported yet, refused with
     * CLQ_ERROR_UNSUPPORTED (any other code is CLQ_ERROR_INVALID_ARGUMENT) */
} clq_dtype;

#define CLQ_MAX_DIMS 8

/* A view of a buffer. shape/strides/offset count elements (for 4-bit types too:
 * element e lives in byte e/2). Strides may be 0 (broadcast) in inputs only.
 * 4-bit tensors must be contiguous with an even offset (else CLQ_ERROR_UNSUPPORTED).
 * ndim 0 is a scalar. */
typedef struct clq_tensor {
    clq_dtype dtype;
    int ndim;
    size_t shape[CLQ_MAX_DIMS];
    ptrdiff_t strides[CLQ_MAX_DIMS];
    size_t offset;
    clq_buffer *buffer;
} clq_tensor;

/* Fills a contiguous row-major view at offset 0. Returns INVALID_ARGUMENT for
 * ndim outside [0, CLQ_MAX_DIMS] or a NULL shape with ndim > 0. */
CLQ_API clq_status clq_tensor_init(clq_tensor *t, clq_dtype dtype, int ndim, const size_t *shape,
                                   clq_buffer *buffer);
/* Number of elements (0 if the product overflows; check with clq_tensor_bytes). */
CLQ_API size_t clq_tensor_numel(const clq_tensor *t);
/* Bytes a contiguous tensor of this dtype and shape needs (4-bit rounded up). */
CLQ_API clq_status clq_tensor_bytes(const clq_tensor *t, size_t *out);
CLQ_API const char *clq_dtype_name(clq_dtype dtype);

/* ---- quantization parameters ------------------------------------------ */
typedef enum clq_granularity {
    CLQ_PER_TENSOR = 0,
    CLQ_PER_AXIS = 1,  /* one (scale, zp) per index along axis */
    CLQ_PER_BLOCK = 2  /* ONNX opset 21 blocked: the params have the input's shape with
                          shape[axis] replaced by ceil(shape[axis] / block_size), row-major */
} clq_granularity;

typedef enum clq_scheme {
    CLQ_AFFINE = 0,    /* [min, max] widened to include 0; scale = (max-min)/(qmax-qmin) */
    CLQ_SYMMETRIC = 1  /* amax = max(|min|,|max|); scale = amax / ((qmax-qmin)/2);
                          zero point 0 (signed) or 2^(bits-1) (unsigned) */
} clq_scheme;

typedef enum clq_rounding {
    CLQ_ROUND_HALF_EVEN = 0, /* default; ONNX, PyTorch */
    CLQ_ROUND_HALF_AWAY = 1
} clq_rounding;

/* Flags for clq_qparams.flags. */
#define CLQ_QPARAMS_NARROW_RANGE 0x1u    /* saturate to [-(2^(b-1)-1), 2^(b-1)-1] (signed) or [1, 2^b-1] */
#define CLQ_QPARAMS_RECIPROCAL 0x2u      /* x * (1.0f / scale) as PyTorch/FBGEMM, instead of x / scale */
#define CLQ_QPARAMS_TRUSTED 0x4u         /* skip the read-back check of scale/zero point values */
#define CLQ_QPARAMS_PROFILE_PYTORCH 0x8u /* choose (scale, zero point) from a range as PyTorch's
                                            observers do (scale floored at float32 eps, zero point
                                            qmin - round(min / scale)) instead of the default
                                            ONNX Runtime formula: docs/NUMERICS.md, "Profiles" */

/* Scale: f32, zero point: int32, each a contiguous array of clq_qparams_count()
 * values at an element offset in its buffer. zero_point NULL means all zero. */
typedef struct clq_qparams {
    size_t struct_size;
    clq_dtype qtype;             /* CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4 */
    clq_granularity granularity;
    int axis;                    /* PER_AXIS / PER_BLOCK; negative counts from the end */
    size_t block_size;           /* PER_BLOCK */
    clq_scheme scheme;           /* how clq_qparams_from_minmax chooses them */
    clq_rounding rounding;
    unsigned flags;              /* CLQ_QPARAMS_* */
    clq_buffer *scale;
    size_t scale_offset;
    clq_buffer *zero_point;
    size_t zero_point_offset;
} clq_qparams;

CLQ_API void clq_qparams_init(clq_qparams *qp);
/* How many (scale, zero point) pairs qp needs for a tensor of this shape. */
CLQ_API clq_status clq_qparams_count(const clq_qparams *qp, int ndim, const size_t *shape, size_t *out);

/* ---- ops -------------------------------------------------------------- */
/* Ops are enqueued in order on the context; results stay in buffers. On error
 * nothing is written to any output. */

/* Min and max of x (f32/f16/bf16) for each of qp's granules (qp->granularity,
 * axis, block_size; its buffers are not used), written as f32 arrays of
 * clq_qparams_count() values. NaN is ignored; a granule with no non-NaN value
 * (or an empty tensor) gives [0, 0]. */
CLQ_API clq_status clq_minmax(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                              clq_buffer *min_out, size_t min_offset, clq_buffer *max_out,
                              size_t max_offset);

/* Computes qp->scale (and qp->zero_point) on the device from min/max arrays as
 * written by clq_minmax, following qp->scheme, qp->qtype and the narrow-range flag. */
CLQ_API clq_status clq_qparams_from_minmax(clq_context *ctx, clq_buffer *min_in,
                                           size_t min_offset, clq_buffer *max_in,
                                           size_t max_offset, size_t count, const clq_qparams *qp);

/* y = saturate(round(x / scale) + zero_point); x f32/f16/bf16, y of qp->qtype. */
CLQ_API clq_status clq_quantize(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                const clq_tensor *y);

/* y = (q - zero_point) * scale in f32; q of qp->qtype, y f32. */
CLQ_API clq_status clq_dequantize(clq_context *ctx, const clq_tensor *q, const clq_qparams *qp,
                                  const clq_tensor *y);

/* min/max -> qparams -> quantize in one call, nothing read back to the host.
 * Writes qp->scale and qp->zero_point as well as y. With CLQ_U8 + CLQ_AFFINE +
 * CLQ_PER_TENSOR this is ONNX DynamicQuantizeLinear. */
CLQ_API clq_status clq_quantize_dynamic(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                        const clq_tensor *y);


/* ---- int8 GEMM ---------------------------------------------------------- */
/* C = (A - za) * (B - zb)^T with int32 accumulation, then an output stage chosen
 * by C's dtype. Order of operations and bounds: docs/NUMERICS.md ("int8 GEMM"). */

/* Weights packed once into the layout the backend's kernels want, with their
 * column sums, zero points and (optional) scales. Immutable; may be shared by
 * any number of calls on its context (calls on one context are serialised). */
typedef struct clq_packed_weights clq_packed_weights;

/* Flags for clq_weights_pack. */
#define CLQ_WEIGHTS_TRANSPOSED 0x1u /* b has shape [K, N] instead of [N, K] */

/* b: 2-D s8, u8, s4 or u4, shape [N, K] (PyTorch Linear's weight; [K, N] with
 * CLQ_WEIGHTS_TRANSPOSED, 8-bit only), any strides and offset (4-bit: contiguous).
 * qp: qtype == b->dtype; its granularity is the weights' format:
 *   CLQ_PER_TENSOR  one (scale, zero point);
 *   CLQ_PER_AXIS    on b's N axis (0, or 1 when transposed): one per output channel;
 *   CLQ_PER_BLOCK   on b's K axis (1, or 0 when transposed), block_size g a multiple of
 *                   16: one per group of g along K (the last group may be partial; g may
 *                   exceed K: one group, as MatMulNBits allows), the
 *                   params [N, ceil(K / g)] row-major ([ceil(K / g), N] when transposed,
 *                   as ONNX blocked quantization lays them out). Group-quantized weights
 *                   need qp->scale (their products are only defined in f32).
 * zero_point NULL means 0; scale may be NULL when only s32 output is wanted (not
 * with groups). Zero points and scales are copied (and checked) at pack time: qp's
 * buffers may be reused afterwards. scheme and rounding are ignored.
 * Returns when b is no longer read (it waits for the packing kernels and what was
 * queued before them): b's memory may then be overwritten, or freed once its buffer
 * is destroyed. */
CLQ_API clq_status clq_weights_pack(clq_context *ctx, const clq_tensor *b, const clq_qparams *qp,
                                    unsigned flags, clq_packed_weights **out);
CLQ_API void clq_weights_destroy(clq_packed_weights *w);
/* Weights in the layouts engines hold, packed without a round trip through f32
 * (values are copied as integers, f16 scales widened exactly to f32; no
 * cl_khr_fp16 is needed). docs/API.md ("Weight layouts") states each byte by byte. */
typedef enum clq_weights_layout {
    CLQ_LAYOUT_GGML_Q8_0 = 1,  /* ggml block_q8_0: f16 d, 32 int8 q; value = q * d; K % 32 == 0 */
    CLQ_LAYOUT_GGML_Q4_0 = 2,  /* ggml block_q4_0: f16 d, 16 bytes, byte j = element j (low
                                  nibble) and j + 16 (high); value = (nibble - 8) * d */
    CLQ_LAYOUT_ONNX_NBITS = 3  /* ONNX Runtime MatMulNBits (bits 4): data [N][ceil(K/g)][g/2],
                                  element first in the low nibble; scales [N][ceil(K/g)] f32 or
                                  f16; zero points packed 4-bit [N][ceil(ceil(K/g) / 2)] */
} clq_weights_layout;

typedef struct clq_weights_import_desc {
    size_t struct_size;        /* set by clq_weights_import_desc_init */
    clq_weights_layout layout;
    size_t n, k;               /* output channels (rows of blocks), reduction length */
    const void *data;          /* host memory: the blocks (ggml) or the packed nibbles (ONNX) */
    size_t data_bytes;         /* what data may be read: checked against the blocks' size */
    /* CLQ_LAYOUT_ONNX_NBITS only: */
    clq_dtype qtype;           /* CLQ_U4 (MatMulNBits; default zero point 8) or CLQ_S4 (0) */
    size_t block_size;         /* g: a multiple of 16 (ONNX Runtime takes powers of 2 >= 16) */
    const void *scales;
    size_t scales_bytes;
    clq_dtype scales_dtype;    /* CLQ_F32 or CLQ_F16 */
    const void *zero_points;   /* NULL: the default; else packed as above, of qtype */
    size_t zero_points_bytes;
} clq_weights_import_desc;

CLQ_API void clq_weights_import_desc_init(clq_weights_import_desc *desc);
/* Packs the described weights as clq_weights_pack would pack the same values with
 * their scales and zero points per group of 32 (ggml) or g (ONNX), along K. A group
 * whose foreign scale is negative (ggml Q4_0's d = max / -8) or zero is stored with
 * the same values (v - zp) * scale under a positive scale (docs/API.md); an infinite
 * or NaN scale is CLQ_ERROR_INVALID_QPARAMS. The memory is read before this returns
 * and may be reused at once. */
CLQ_API clq_status clq_weights_import(clq_context *ctx, const clq_weights_import_desc *desc,
                                      clq_packed_weights **out);
/* ggml's reference block quantizers, byte for byte (quantize_row_q8_0_ref and
 * quantize_row_q4_0_ref): per block of 32 along the last dimension, Q8_0 takes
 * d = amax / 127 and q = x * (1/d) rounded half away from zero; Q4_0 takes the element
 * of largest |x| (the first one on ties) as max, d = max / -8 and q = min(15,
 * (int8_t)(x * (1/d) + 8.5f)); 1/d is 0 when d is 0; d is stored as f16 (round to
 * nearest even). layout: CLQ_LAYOUT_GGML_Q8_0 or _Q4_0. x: f32/f16/bf16 [..., K], any
 * view, K % 32 == 0; out receives numel / 32 blocks (34 or 18 bytes each) from
 * out_offset (bytes), rows in x's row-major order. docs/NUMERICS.md, "ggml blocks". */
CLQ_API clq_status clq_quantize_ggml(clq_context *ctx, const clq_tensor *x,
                                     clq_weights_layout layout, clq_buffer *out,
                                     size_t out_offset);
/* The inverse, as ggml's dequantize_row_q8_0 / _q4_0: y = q * d or (q - 8) * d, with
 * d widened from f16. y: f32 [..., K], any view, K % 32 == 0; the blocks are read from
 * blocks at offset (bytes). */
CLQ_API clq_status clq_dequantize_ggml(clq_context *ctx, clq_buffer *blocks, size_t offset,
                                       clq_weights_layout layout, const clq_tensor *y);
/* N (output channels) and K (reduction length) of packed weights. */
CLQ_API size_t clq_weights_n(const clq_packed_weights *w);
CLQ_API size_t clq_weights_k(const clq_packed_weights *w);
/* The weights' type (CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4) and group length along K (0 unless
 * group-quantized). */
CLQ_API clq_dtype clq_weights_dtype(const clq_packed_weights *w);
CLQ_API size_t clq_weights_group_size(const clq_packed_weights *w);
/* Largest K for which C is exact in int32 for an A of atype with zero point za
 * against these weights' type and zero points: floor((2^31 - 1) /
 * (max|a - za| * max_n max|b - zb[n]|)). clq_gemm refuses a larger K; for
 * group-quantized weights the bound applies to the group length instead (each
 * group's dot product is exact in int32, any K). */
CLQ_API size_t clq_gemm_max_k(clq_dtype atype, int32_t za, const clq_packed_weights *w);

/* Flags for clq_gemm_options.flags. */
#define CLQ_GEMM_RELU 0x1u        /* f32 output: y = y > 0 ? y : 0 after the bias */
#define CLQ_GEMM_FIXED_POINT 0x2u /* s8/u8 output: gemmlowp/TFLite int32 multiplier + shift
                                     instead of the float multiplier sa * sb[n] / sc */

typedef struct clq_gemm_options {
    size_t struct_size;
    unsigned flags;              /* CLQ_GEMM_* */
    /* f32 output: optional bias, f32 [N] at an element offset. */
    clq_buffer *bias;
    size_t bias_offset;
    /* s8/u8 output: C's per-tensor scale (float multiplier only) and zero point;
     * qtype must equal C's dtype. */
    const clq_qparams *c_qparams;
    /* CLQ_GEMM_FIXED_POINT: int32 multipliers (>= 0; clq_quantize_multiplier makes them in
     * [2^30, 2^31) or 0) and shifts in [-31, 30] (> 0: left), 1 value each, or N when
     * multiplier_per_channel. */
    clq_buffer *multiplier;
    size_t multiplier_offset;
    clq_buffer *shift;
    size_t shift_offset;
    int multiplier_per_channel;
    /* Optional int32 sums of A's stored values, one per row of A over K (as written by
     * clq_quantize_rowsums), or, for group-quantized weights, one per row and group of
     * the weights ([rows][ceil(K / g)], as clq_quantize_rowsums writes them for qparams
     * per block of g along the last axis, and clq_quantize[_dynamic]_groupsums for any
     * qparams); computed by the call when absent. */
    clq_buffer *a_rowsums;
    size_t a_rowsums_offset;
} clq_gemm_options;

CLQ_API void clq_gemm_options_init(clq_gemm_options *options);

/* a: s8/u8 of shape [..., M, K] (leading dims are a batch: M rows of every batch
 * run against the same weights), any strides and offset.
 * a_qp: qtype == a->dtype; zero_point NULL means 0; scale needed for f32 and
 * float-multiplier s8/u8 output. Granularity:
 *   CLQ_PER_TENSOR  one (scale, zero point);
 *   per row (per token): CLQ_PER_BLOCK on the last axis with block_size K (any ndim),
 *                   or CLQ_PER_AXIS on axis 0 of a 2-D A: one per row;
 *   per group:      CLQ_PER_BLOCK on the last axis with the weights' group size g:
 *                   [rows][ceil(K / g)] (group-quantized weights only).
 * Unless CLQ_QPARAMS_TRUSTED, the zero points (and scales) are read back and checked.
 * c: shape [..., M, N] matching a's leading dims; its dtype picks the stage. With
 * d_j(m, n) the exact int32 dot product of group j (one group, all of K, unless
 * the weights are group-quantized; C = d_0) and sa_j[m], sb_j[n] its scales:
 *   CLQ_S32  raw:          C (one group only)
 *   CLQ_F32  dequantized:  y = sum_j (float)d_j * (sa_j[m] * sb_j[n]), + bias[n], optional ReLU
 *   CLQ_S8 / CLQ_U8 requantized: saturate(round_half_even(sum_j (float)d_j *
 *            ((sa_j[m] * sb_j[n]) / sc)) + zc), or (one group only) with
 *            CLQ_GEMM_FIXED_POINT saturate(zc + MultiplyByQuantizedMultiplier(C, m, s)).
 * The sums run over ascending j, one f32 rounding per step (docs/NUMERICS.md).
 * options may be NULL for s32 output. M, N or K = 0 are valid (K = 0: C is the
 * stage applied to 0). */
CLQ_API clq_status clq_gemm(clq_context *ctx, const clq_tensor *a, const clq_qparams *a_qp,
                            const clq_packed_weights *w, const clq_gemm_options *options,
                            const clq_tensor *c);

/* TFLite's QuantizeMultiplier: real = multiplier * 2^(shift - 31), multiplier in
 * [2^30, 2^31) (0 for real == 0, and for real < 2^-32 where every bit would shift out).
 * INVALID_ARGUMENT for real negative, not finite, or >= 2^30 (a shift above 30). */
CLQ_API clq_status clq_quantize_multiplier(double real, int32_t *multiplier, int *shift);

/* clq_quantize, and the int32 sums of y's stored values along its last axis, for
 * clq_gemm_options.a_rowsums: one per row (numel / shape[ndim-1] values at an element
 * offset), or, when qp is CLQ_PER_BLOCK on the last axis with a block shorter than
 * it, one per row and block ([rows][ceil(shape[ndim-1] / block)]). y must be 8-bit. */
CLQ_API clq_status clq_quantize_rowsums(clq_context *ctx, const clq_tensor *x, const clq_qparams *qp,
                                        const clq_tensor *y, clq_buffer *rowsums,
                                        size_t rowsums_offset);
/* clq_quantize_dynamic with the same row sums: the activation path of a quantized
 * linear layer (A and its row sums in one call, nothing read back). */
CLQ_API clq_status clq_quantize_dynamic_rowsums(clq_context *ctx, const clq_tensor *x,
                                                const clq_qparams *qp, const clq_tensor *y,
                                                clq_buffer *rowsums, size_t rowsums_offset);
/* As the two calls above, with the sums per row and group of `group` elements along
 * the last axis ([rows][ceil(shape[ndim-1] / group)]) whatever qp's granularity: A
 * per tensor or per row against group-quantized weights (group = their g). group 0,
 * or one not shorter than the last axis: one sum per row. */
CLQ_API clq_status clq_quantize_groupsums(clq_context *ctx, const clq_tensor *x,
                                          const clq_qparams *qp, const clq_tensor *y, size_t group,
                                          clq_buffer *rowsums, size_t rowsums_offset);
CLQ_API clq_status clq_quantize_dynamic_groupsums(clq_context *ctx, const clq_tensor *x,
                                                  const clq_qparams *qp, const clq_tensor *y,
                                                  size_t group, clq_buffer *rowsums,
                                                  size_t rowsums_offset);

/* ---- calibration ---------------------------------------------------------- */
/* A streaming observer: batches go in one at a time, only its state is kept (the
 * running range per channel, or a histogram of CLQ_CALIB bins), qparams come out.
 * The device reduces each batch to its statistics (min/max per channel, bin counts);
 * those few KiB are merged into the state on the host, so every backend holds the
 * same state bits. Formulas, defaults and the reference each method matches:
 * docs/NUMERICS.md ("Calibration"). */
typedef struct clq_calibrator clq_calibrator;

/* Values are never renumbered. */
typedef enum clq_calib_method {
    CLQ_CALIB_MINMAX = 1,         /* running min / max (PyTorch MinMaxObserver) */
    CLQ_CALIB_MOVING_AVERAGE = 2, /* moving-average min / max (MovingAverageMinMaxObserver) */
    CLQ_CALIB_PERCENTILE = 3,     /* histogram of |x|, percentile (ONNX Runtime PercentileCalibrater) */
    CLQ_CALIB_MSE = 4,            /* histogram of |x|, MSE-minimising amax (TensorRT "mse") */
    CLQ_CALIB_ENTROPY = 5,        /* histogram of |x|, KL-minimising amax (TensorRT entropy) */
    CLQ_CALIB_L2 = 6              /* histogram of x, PyTorch HistogramObserver's L2-norm search */
} clq_calib_method;

typedef struct clq_calibrator_options {
    size_t struct_size;           /* set by _init */
    clq_calib_method method;      /* default CLQ_CALIB_MINMAX */
    clq_granularity granularity;  /* CLQ_PER_TENSOR (default) or CLQ_PER_AXIS */
    int axis;                     /* CLQ_PER_AXIS: negative counts from the end */
    double averaging_constant;    /* CLQ_CALIB_MOVING_AVERAGE: in (0, 1], default 0.01 */
    size_t bins;                  /* histogram methods: default 2048 */
    double percentile;            /* CLQ_CALIB_PERCENTILE: in (0, 100], default 99.999 */
} clq_calibrator_options;

CLQ_API void clq_calibrator_options_init(clq_calibrator_options *options);
CLQ_API clq_status clq_calibrator_create(clq_context *ctx, const clq_calibrator_options *options,
                                         clq_calibrator **out);
CLQ_API void clq_calibrator_destroy(clq_calibrator *cal);
/* Adds one batch: x f32/f16/bf16, any view. With CLQ_PER_AXIS the first batch fixes
 * the channel count (x->shape[axis]); later batches must match it. An empty batch
 * changes nothing. NaN is ignored; a batch holding +-Inf is refused
 * (CLQ_ERROR_INVALID_ARGUMENT) and leaves the state as it was. */
CLQ_API clq_status clq_calibrator_observe(clq_calibrator *cal, const clq_tensor *x);
/* Batches observed so far (empty ones included). */
CLQ_API size_t clq_calibrator_batches(const clq_calibrator *cal);
/* Channels of the state: 1 per tensor, else the first batch's x->shape[axis] (0 before). */
CLQ_API size_t clq_calibrator_channels(const clq_calibrator *cal);
/* The range the method chose, per channel, as host f32 arrays of count values
 * (count == clq_calibrator_channels). Histogram methods give [-amax, amax] (|x|) or
 * the searched [min, max] (L2). Before any non-empty batch: [0, 0]. */
CLQ_API clq_status clq_calibrator_range(clq_calibrator *cal, float *min, float *max, size_t count);
/* Writes qp->scale (and qp->zero_point) for the chosen range: qp's qtype, scheme,
 * narrow-range and profile flags pick the formula (as clq_qparams_from_minmax);
 * qp's granularity must be the calibrator's (per tensor, or per axis with
 * clq_calibrator_channels values). The histogram methods use the qtype's bit count. */
CLQ_API clq_status clq_calibrator_qparams(clq_calibrator *cal, const clq_qparams *qp);
/* The state as a self-describing byte string (magic, version, method, options, the
 * range or histogram), to save a calibration and resume it later, in any context. */
CLQ_API clq_status clq_calibrator_state_size(const clq_calibrator *cal, size_t *bytes);
CLQ_API clq_status clq_calibrator_save(const clq_calibrator *cal, void *dst, size_t bytes);
/* A calibrator whose state is the saved one: CLQ_ERROR_INVALID_ARGUMENT for a string
 * that is not one (bad magic, version, length, values), naming the field. */
CLQ_API clq_status clq_calibrator_load(clq_context *ctx, const void *src, size_t bytes,
                                       clq_calibrator **out);

/* ---- error metrics -------------------------------------------------------- */
/* Statistics of e = y - x over a granule, computed on the device in one pass that
 * writes nothing but them (the dequantized tensor is never stored). Sums follow one
 * fixed order on every backend, so the bits are the same (docs/NUMERICS.md, "Error
 * metrics"). NaN in x or y: docs/NUMERICS.md. */
typedef struct clq_error_stats {
    uint64_t count;      /* elements compared */
    double mse;          /* mean of e^2 */
    double max_abs;      /* max |e| */
    double mean_abs;     /* mean |e| */
    double snr_db;       /* 10 log10(sum x^2 / sum e^2); +Inf when e == 0 */
    double cosine;       /* sum xy / sqrt(sum x^2 sum y^2); 1 when both are zero */
} clq_error_stats;

/* Granule of the statistics: one for the tensor (CLQ_PER_TENSOR), or one per index
 * along axis (CLQ_PER_AXIS); independent of the qparams' own granularity. */
typedef struct clq_error_options {
    size_t struct_size;          /* set by _init */
    clq_granularity granularity; /* CLQ_PER_TENSOR (default) or CLQ_PER_AXIS */
    int axis;
} clq_error_options;
CLQ_API void clq_error_options_init(clq_error_options *options);

/* x f32/f16/bf16 against y = dequantize(quantize(x, qp), qp), as clq_quantize and
 * clq_dequantize would compute it. out: count stats (1, or x->shape[axis]) in host
 * memory; the call blocks until they are there. */
CLQ_API clq_status clq_quantization_error(clq_context *ctx, const clq_tensor *x,
                                          const clq_qparams *qp, const clq_error_options *options,
                                          clq_error_stats *out, size_t count);
/* x (the reference) against y, both f32/f16/bf16 of one shape. */
CLQ_API clq_status clq_tensor_error(clq_context *ctx, const clq_tensor *x, const clq_tensor *y,
                                    const clq_error_options *options, clq_error_stats *out,
                                    size_t count);

/* ---- quantized linear layer ----------------------------------------------- */
/* y = x W^T + b with W quantized and packed once, x quantized on the fly (or with
 * calibrated static qparams), all on the device, nothing read back. */
typedef struct clq_linear clq_linear;

/* Values are never renumbered. */
typedef enum clq_linear_scheme {
    CLQ_LINEAR_S8_CHANNEL = 0, /* s8 symmetric per output channel (default) */
    CLQ_LINEAR_S8_TENSOR = 1,  /* s8 symmetric per tensor */
    CLQ_LINEAR_S4_GROUP = 2,   /* s4 symmetric per group of group_size along K */
    CLQ_LINEAR_U4_GROUP = 3    /* u4 affine per group of group_size along K */
} clq_linear_scheme;

typedef enum clq_linear_activations {
    CLQ_LINEAR_PER_TENSOR = 0, /* one dynamic (scale, zp) per call */
    CLQ_LINEAR_PER_TOKEN = 1   /* one dynamic (scale, zp) per row of x */
} clq_linear_activations;

typedef struct clq_linear_options {
    size_t struct_size;                 /* set by _init */
    clq_linear_scheme scheme;           /* weights: default CLQ_LINEAR_S8_CHANNEL */
    size_t group_size;                  /* 4-bit schemes: 32, 64 or 128 (default 32) */
    clq_dtype act_type;                 /* CLQ_U8 (default, affine) or CLQ_S8 (symmetric) */
    clq_linear_activations act_granularity;
    /* Static mode: per-tensor activation qparams (e.g. from clq_calibrator_qparams),
     * copied at creation; NULL (default): dynamic. */
    const clq_qparams *act_qparams;
    clq_buffer *bias;                   /* optional f32 [N], copied at creation */
    size_t bias_offset;
} clq_linear_options;

CLQ_API void clq_linear_options_init(clq_linear_options *options);
/* weight: f32/f16/bf16 [N, K], any view; quantized by options->scheme. */
CLQ_API clq_status clq_linear_create(clq_context *ctx, const clq_tensor *weight,
                                     const clq_linear_options *options, clq_linear **out);
/* From already packed weights (clq_weights_pack, clq_weights_import): the layer takes
 * them over on success (clq_linear_destroy frees them); options->scheme is ignored. */
CLQ_API clq_status clq_linear_create_packed(clq_context *ctx, clq_packed_weights *weights,
                                            const clq_linear_options *options, clq_linear **out);
CLQ_API void clq_linear_destroy(clq_linear *layer);
/* x: f32/f16/bf16 [..., K], any view; y: f32 [..., N] with x's leading dims. */
CLQ_API clq_status clq_linear_forward(clq_linear *layer, const clq_tensor *x, const clq_tensor *y);

typedef struct clq_linear_memory {
    size_t struct_size;      /* set by the caller: sizeof(clq_linear_memory) */
    size_t float_bytes;      /* the float weights as given (N * K * element size) + bias */
    size_t quantized_bytes;  /* the format's own size: values (bits / 8 each) + scales
                                (4 bytes) + zero points (stored as the format stores them) + bias */
    size_t packed_bytes;     /* what the backend holds for the layer (layout padding,
                                column sums, scratch kept between calls included) */
} clq_linear_memory;
CLQ_API clq_status clq_linear_get_memory(const clq_linear *layer, clq_linear_memory *out);

#ifdef __cplusplus
}
#endif
#endif /* CLQUANT_H */
