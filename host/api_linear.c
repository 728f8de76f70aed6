/* api_linear.c: the quantized linear layer clq_linear, y = x W^T + b: W quantized on the
 * device and packed once, x quantized per call (or with static qparams), the GEMM to f32
 * with the bias, each call one chain of the ops' two-step forms (api_plan.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"
#include "api_plan.h"

struct clq_linear {
    clq_context *ctx;
    clq_packed_weights *w;
    clq_dtype act_type;                /* CLQ_U8 (affine) or CLQ_S8 (symmetric) */
    clq_linear_activations act_gran;
    int is_static;                     /* act_qp holds copied per-tensor qparams */
    clq_qparams act_qp;                /* static: TRUSTED, on act_scale / act_zp */
    clq_buffer *act_scale, *act_zp;    /* static: the copies; dynamic: grown per call */
    clq_buffer *bias;                  /* the copy, or NULL */
    clq_buffer *qx;                    /* x quantized, grown per call */
    clq_buffer *rowsums;               /* grown per call when the GEMM takes ours */
    size_t float_bytes, quantized_bytes;
};

void clq_linear_options_init(clq_linear_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->scheme = CLQ_LINEAR_S8_CHANNEL;
    o->group_size = 32;
    o->act_type = CLQ_U8;
    o->act_granularity = CLQ_LINEAR_PER_TENSOR;
}

static const char *scheme_name(clq_linear_scheme s) {
    switch (s) {
    case CLQ_LINEAR_S8_CHANNEL: return "s8 per channel";
    case CLQ_LINEAR_S8_TENSOR: return "s8 per tensor";
    case CLQ_LINEAR_S4_GROUP: return "s4 per group";
    case CLQ_LINEAR_U4_GROUP: return "u4 per group";
    }
    return "?";
}

/* The options both creates read (the weights' scheme is create's own). */
static clq_status check_options(clq_context *ctx, const clq_linear_options *o) {
    if (o->struct_size < sizeof *o)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->struct_size = %zu; call clq_linear_options_init",
                          o->struct_size);
    if (o->act_type != CLQ_U8 && o->act_type != CLQ_S8)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->act_type = %s: activations are u8 (affine) or s8 (symmetric)",
                          clq_dtype_name(o->act_type));
    if (o->act_granularity != CLQ_LINEAR_PER_TENSOR && o->act_granularity != CLQ_LINEAR_PER_TOKEN)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->act_granularity = %d: CLQ_LINEAR_PER_TENSOR or "
                          "CLQ_LINEAR_PER_TOKEN", (int)o->act_granularity);
    const clq_qparams *aq = o->act_qparams;
    if (!aq) return CLQ_SUCCESS;
    if (o->act_granularity != CLQ_LINEAR_PER_TENSOR)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->act_granularity = CLQ_LINEAR_PER_TOKEN with "
                          "options->act_qparams: static activation qparams are per tensor");
    size_t one = 1;
    clq_layout lay;
    clq_status st = clq__check_qparams_desc_as(ctx, aq, "options->act_qparams", 1, &one, &lay);
    if (st != CLQ_SUCCESS) return st;
    if (aq->granularity != CLQ_PER_TENSOR)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->act_qparams->granularity = %d: static activation qparams "
                          "are per tensor", (int)aq->granularity);
    if (aq->qtype != o->act_type)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->act_qparams->qtype = %s but options->act_type = %s",
                          clq_dtype_name(aq->qtype), clq_dtype_name(o->act_type));
    return CLQ_SUCCESS;
}

/* A copy of n f32 / int32 values of src (checked span) in a new buffer, on the device. */
static clq_status copy_array(clq_context *ctx, clq_span src, size_t n, clq_buffer **out) {
    clq_buffer *b = NULL;
    clq_status st = clq_buffer_create(ctx, n * 4, &b);
    clq_tensor s, d;
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&d, CLQ_F32, 1, &n, b);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&s, CLQ_F32, 1, &n, src.buf);
    s.offset = src.offset / 4;
    for (CLQ_EACH_PASS(pass))
        if (st == CLQ_SUCCESS) st = ctx->ops->copy_strided(ctx, &s, &d, pass);
    if (st != CLQ_SUCCESS) {
        clq_buffer_destroy(b);
        return st;
    }
    *out = b;
    return CLQ_SUCCESS;
}

/* Static activation qparams: read back once, checked, copied and marked TRUSTED. */
static clq_status copy_act_qparams(clq_context *ctx, const clq_qparams *aq, clq_linear *L) {
    clq_span ss, zs = {NULL, 0};
    clq_status st = clq__check_array(ctx, aq->scale, "options->act_qparams->scale",
                                     aq->scale_offset, 1, 4, &ss);
    if (st == CLQ_SUCCESS && aq->zero_point)
        st = clq__check_array(ctx, aq->zero_point, "options->act_qparams->zero_point",
                              aq->zero_point_offset, 1, 4, &zs);
    if (st == CLQ_SUCCESS) st = clq__check_readable(ctx, ss.buf, "options->act_qparams->scale");
    if (st == CLQ_SUCCESS)
        st = clq__check_readable(ctx, zs.buf, "options->act_qparams->zero_point");
    if (st != CLQ_SUCCESS) return st;
    if (!(aq->flags & CLQ_QPARAMS_TRUSTED)) {
        int qmin, qmax;
        clq__qrange(aq->qtype, (aq->flags & CLQ_QPARAMS_NARROW_RANGE) != 0, &qmin, &qmax);
        float s = 0.0f;
        int32_t z = 0;
        st = clq_buffer_read(ss.buf, ss.offset, 4, &s);
        if (st == CLQ_SUCCESS && zs.buf) st = clq_buffer_read(zs.buf, zs.offset, 4, &z);
        if (st != CLQ_SUCCESS) return st;
        if (!(isfinite(s) && s > 0.0f))
            return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                              "options->act_qparams->scale[0] = %g: a scale must be finite and > 0",
                              (double)s);
        if (z < qmin || z > qmax)
            return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                              "options->act_qparams->zero_point[0] = %d is outside [%d, %d] of %s",
                              (int)z, qmin, qmax, clq_dtype_name(aq->qtype));
    }
    st = copy_array(ctx, ss, 1, &L->act_scale);
    if (st == CLQ_SUCCESS && zs.buf) st = copy_array(ctx, zs, 1, &L->act_zp);
    if (st != CLQ_SUCCESS) return st;
    clq_qparams_init(&L->act_qp);
    L->act_qp.qtype = aq->qtype;
    L->act_qp.rounding = aq->rounding;
    L->act_qp.flags = (aq->flags & (CLQ_QPARAMS_NARROW_RANGE | CLQ_QPARAMS_RECIPROCAL)) |
                      CLQ_QPARAMS_TRUSTED;
    L->act_qp.scale = L->act_scale;
    L->act_qp.zero_point = L->act_zp;
    L->is_static = 1;
    return CLQ_SUCCESS;
}

/* The format's own bytes (docs/API.md, "Quantized linear layer"): values at their bit
 * width, f32 scales, zero points at the values' width (per row of groups, as ONNX
 * MatMulNBits stores them; none when every one is the type's symmetric value). */
static size_t quantized_bytes(const clq_packed_weights *w) {
    size_t bits = (size_t)clq__dtype_bits(w->fmt.btype), n = w->n;
    size_t values = (n * w->k * bits + 7) / 8;
    int grouped = w->fmt.gran == CLQ_PER_BLOCK;
    size_t per_row = grouped ? w->fmt.ngroups : 1;
    size_t count = grouped ? n * per_row : w->fmt.gran == CLQ_PER_AXIS ? n : 1;
    size_t zps = w->zb_all_zero ? 0 : grouped ? n * ((per_row * bits + 7) / 8) : (count * bits + 7) / 8;
    return values + count * 4 + zps;
}

/* Options, bias and K bound of a layer on w, and the layer itself (w not yet its own). */
static clq_status layer_new(clq_context *ctx, clq_packed_weights *w, const clq_linear_options *o,
                            clq_linear **out) {
    if (!w->sb)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "weights: packed without scales (qp->scale NULL), but the layer's f32 "
                          "output needs them");
    /* the GEMM's exact-int32 bound, for the worst zero point A can have (the forward's
     * qparams are made on the device and never read back) */
    int32_t za = o->act_type == CLQ_U8 ? 255 : -128;
    size_t max_k = clq_gemm_max_k(o->act_type, za, w);
    size_t len = w->fmt.gran == CLQ_PER_BLOCK && w->fmt.group < w->k ? w->fmt.group : w->k;
    if (len > max_k)
        return clq__error(ctx, CLQ_ERROR_OVERFLOW,
                          "%s = %zu exceeds %zu, the largest whose int32 GEMM is exact for %s "
                          "activations and %s weights", len == w->k ? "K" : "the group length",
                          len, max_k, clq_dtype_name(o->act_type), clq_dtype_name(w->fmt.btype));
    clq_span bs = {NULL, 0};
    clq_status st = CLQ_SUCCESS;
    if (o->bias) {
        st = clq__check_array(ctx, o->bias, "options->bias", o->bias_offset, w->n, 4, &bs);
        if (st == CLQ_SUCCESS) st = clq__check_readable(ctx, o->bias, "options->bias");
        if (st != CLQ_SUCCESS) return st;
    }
    clq_linear *L = calloc(1, sizeof *L);
    if (!L) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory creating a layer");
    L->ctx = ctx;
    L->act_type = o->act_type;
    L->act_gran = o->act_granularity;
    if (o->act_qparams) st = copy_act_qparams(ctx, o->act_qparams, L);
    if (st == CLQ_SUCCESS && bs.buf) st = copy_array(ctx, bs, w->n, &L->bias);
    if (st != CLQ_SUCCESS) {
        clq_linear_destroy(L); /* L->w is still NULL: the weights stay the caller's */
        return st;
    }
    L->quantized_bytes = quantized_bytes(w) + (L->bias ? w->n * 4 : 0);
    *out = L;
    return CLQ_SUCCESS;
}

/* The weights' qparams for a scheme: symmetric s8 per channel / tensor, symmetric s4 or
 * affine u4 per group of g along K (a group longer than K is one group of K). */
static void weight_qparams(clq_linear_scheme s, size_t g, size_t k, clq_qparams *qp) {
    clq_qparams_init(qp);
    qp->scheme = s == CLQ_LINEAR_U4_GROUP ? CLQ_AFFINE : CLQ_SYMMETRIC;
    qp->qtype = s == CLQ_LINEAR_S4_GROUP ? CLQ_S4 : s == CLQ_LINEAR_U4_GROUP ? CLQ_U4 : CLQ_S8;
    qp->granularity = s == CLQ_LINEAR_S8_CHANNEL ? CLQ_PER_AXIS
                      : s == CLQ_LINEAR_S8_TENSOR ? CLQ_PER_TENSOR
                                                  : CLQ_PER_BLOCK;
    qp->axis = s == CLQ_LINEAR_S8_CHANNEL ? 0 : 1;
    qp->block_size = g < k ? g : k;
}

/* weight -> qparams from its device min/max -> quantized -> packed; the temporaries go. */
static clq_status quantize_weights(clq_context *ctx, const clq_tensor *weight,
                                   const clq_linear_options *o, clq_packed_weights **out) {
    size_t k = weight->shape[1], count = 0, qbytes = 0;
    clq_qparams qp;
    weight_qparams(o->scheme, o->group_size, k, &qp);
    clq_status st = clq_qparams_count(&qp, 2, weight->shape, &count);
    clq_buffer *wq = NULL;
    clq_tensor wqt;
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&wqt, qp.qtype, 2, weight->shape, NULL);
    if (st == CLQ_SUCCESS) st = clq_tensor_bytes(&wqt, &qbytes);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, qbytes, &wq);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, count * 4, &qp.scale);
    if (st == CLQ_SUCCESS && qp.scheme == CLQ_AFFINE)
        st = clq_buffer_create(ctx, count * 4, &qp.zero_point);
    wqt.buffer = wq;
    clq_quantize_plan p;
    if (st == CLQ_SUCCESS)
        st = clq__quantize_check(ctx, weight, &qp, &wqt, NULL, 0, CLQ_QUANTIZE_DYNAMIC, 0, &p);
    for (CLQ_EACH_PASS(pass))
        if (st == CLQ_SUCCESS) st = clq__quantize_pass(ctx, &p, pass);
    /* packed with the scheme's group (the quantize took min(g, K): the same groups) */
    qp.block_size = o->group_size;
    if (st == CLQ_SUCCESS) st = clq__weights_pack(ctx, &wqt, &qp, 0, out);
    clq_buffer_destroy(wq);
    clq_buffer_destroy(qp.scale);
    clq_buffer_destroy(qp.zero_point);
    return st;
}

static clq_status linear_create(clq_context *ctx, const clq_tensor *weight,
                                const clq_linear_options *options, clq_linear **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    clq_linear_options defaults;
    clq_linear_options_init(&defaults);
    const clq_linear_options *o = options ? options : &defaults;
    clq_status st = check_options(ctx, o);
    if (st != CLQ_SUCCESS) return st;
    if ((unsigned)o->scheme > CLQ_LINEAR_U4_GROUP)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->scheme = %d: not a clq_linear_scheme", (int)o->scheme);
    int grouped = o->scheme == CLQ_LINEAR_S4_GROUP || o->scheme == CLQ_LINEAR_U4_GROUP;
    if (grouped && o->group_size != 32 && o->group_size != 64 && o->group_size != 128)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "options->group_size = %zu: %s weights take groups of 32, 64 or 128",
                          o->group_size, scheme_name(o->scheme));
    st = clq__weights_backend_check(ctx);
    clq_tensor_info wi;
    if (st == CLQ_SUCCESS) st = clq__check_tensor(ctx, weight, "weight", CLQ_INPUT, &wi);
    if (st != CLQ_SUCCESS) return st;
    if (!clq__dtype_is_float(weight->dtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "weight->dtype = %s: weight is f32, f16 or bf16",
                          clq_dtype_name(weight->dtype));
    if (weight->ndim != 2)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "weight->ndim = %d: weight is [N, K]",
                          weight->ndim);
    if (weight->shape[0] == 0 || weight->shape[1] == 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "weight->shape = [%zu, %zu]: a layer has N >= 1 and K >= 1",
                          weight->shape[0], weight->shape[1]);
    clq_packed_weights *w = NULL;
    st = quantize_weights(ctx, weight, o, &w);
    clq_linear *L = NULL;
    if (st == CLQ_SUCCESS) st = layer_new(ctx, w, o, &L);
    if (st != CLQ_SUCCESS) {
        clq_weights_destroy(w);
        return st;
    }
    L->w = w;
    L->float_bytes = wi.numel * (size_t)(clq__dtype_bits(weight->dtype) / 8) +
                     (L->bias ? w->n * 4 : 0);
    *out = L;
    return CLQ_SUCCESS;
}

clq_status clq_linear_create(clq_context *ctx, const clq_tensor *weight,
                             const clq_linear_options *options, clq_linear **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, linear_create(ctx, weight, options, out));
}

static clq_status linear_create_packed(clq_context *ctx, clq_packed_weights *w,
                                       const clq_linear_options *options, clq_linear **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    if (!w) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "weights is NULL");
    if (w->ctx != ctx)
        return clq__error(ctx, CLQ_ERROR_CONTEXT_MISMATCH, "weights were packed on another context");
    if (w->n == 0 || w->k == 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "weights: N = %zu, K = %zu: a layer has N >= 1 and K >= 1", w->n, w->k);
    clq_linear_options defaults;
    clq_linear_options_init(&defaults);
    const clq_linear_options *o = options ? options : &defaults;
    clq_status st = check_options(ctx, o);
    clq_linear *L = NULL;
    if (st == CLQ_SUCCESS) st = layer_new(ctx, w, o, &L);
    if (st != CLQ_SUCCESS) return st;
    L->w = w;
    /* no float weights were given: what f32 ones of this shape would take */
    L->float_bytes = w->n * w->k * 4 + (L->bias ? w->n * 4 : 0);
    *out = L;
    return CLQ_SUCCESS;
}

clq_status clq_linear_create_packed(clq_context *ctx, clq_packed_weights *weights,
                                    const clq_linear_options *options, clq_linear **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, linear_create_packed(ctx, weights, options, out));
}

void clq_linear_destroy(clq_linear *L) {
    if (!L) return;
    clq_context *ctx = L->ctx;
    clq__lock(ctx);
    clq_weights_destroy(L->w);
    clq_buffer *bufs[] = {L->act_scale, L->act_zp, L->bias, L->qx, L->rowsums};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    free(L);
    clq__unlock(ctx, CLQ_SUCCESS);
}

/* x [..., K] float and y [..., N] f32 with x's leading dims, disjoint. */
static clq_status check_io(clq_context *ctx, const clq_linear *L, const clq_tensor *x,
                           const clq_tensor *y, clq_tensor_info *xi, clq_tensor_info *yi) {
    clq_status st = clq__check_tensor(ctx, x, "x", CLQ_INPUT, xi);
    if (st != CLQ_SUCCESS) return st;
    if (!clq__dtype_is_float(x->dtype))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "x->dtype = %s: x is f32, f16 or bf16",
                          clq_dtype_name(x->dtype));
    if (x->ndim < 1)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "x->ndim = 0: x is [..., K]");
    int last = x->ndim - 1;
    if (x->shape[last] != L->w->k)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "x->shape[%d] = %zu but the layer has K = %zu", last, x->shape[last],
                          L->w->k);
    st = clq__check_tensor(ctx, y, "y", CLQ_OUTPUT, yi);
    if (st != CLQ_SUCCESS) return st;
    if (y->dtype != CLQ_F32)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "y->dtype = %s: y is f32",
                          clq_dtype_name(y->dtype));
    if (y->ndim != x->ndim)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "y->ndim = %d but x->ndim = %d",
                          y->ndim, x->ndim);
    for (int d = 0; d < last; d++)
        if (y->shape[d] != x->shape[d])
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "y->shape[%d] = %zu but x->shape[%d] = %zu", d, y->shape[d], d,
                              x->shape[d]);
    if (y->shape[last] != L->w->n)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "y->shape[%d] = %zu but the layer has N = %zu", last, y->shape[last],
                          L->w->n);
    clq_extent e[] = {clq__tensor_extent("x", x, xi, 0), clq__tensor_extent("y", y, yi, 1)};
    return clq__check_disjoint(ctx, e, 2);
}

/* A 1-D view as [1, len] (the GEMM's A and C have rows; the row's stride is never
 * taken, but an output's may not be 0). */
static clq_tensor as_matrix(const clq_tensor *t) {
    clq_tensor v = *t;
    if (t->ndim == 1) {
        v.ndim = 2;
        v.shape[0] = 1, v.shape[1] = t->shape[0];
        v.strides[0] = (ptrdiff_t)t->shape[0] * t->strides[0], v.strides[1] = t->strides[0];
    }
    return v;
}

/* The per-call buffers (quantized x, dynamic qparams, nsums row sums), grown to this call. */
static clq_status call_buffers(clq_linear *L, size_t rows, size_t nparams, int need_zp,
                               size_t nsums) {
    clq_context *ctx = L->ctx;
    clq_buffer *b;
    size_t k = L->w->k;
    if (rows > SIZE_MAX / k)
        return clq__error(ctx, CLQ_ERROR_OVERFLOW, "x: %zu rows of K = %zu overflow", rows, k);
    clq_status st = clq__grow_buffer(ctx, &L->qx, rows * k, &b);
    if (st == CLQ_SUCCESS && !L->is_static)
        st = clq__grow_buffer(ctx, &L->act_scale, nparams * 4, &b);
    if (st == CLQ_SUCCESS && !L->is_static && need_zp)
        st = clq__grow_buffer(ctx, &L->act_zp, nparams * 4, &b);
    if (st == CLQ_SUCCESS && nsums) st = clq__grow_buffer(ctx, &L->rowsums, nsums * 4, &b);
    return st;
}

static clq_status forward(clq_linear *L, const clq_tensor *x, const clq_tensor *y) {
    clq_context *ctx = L->ctx;
    clq_tensor_info xi, yi;
    clq_status st = check_io(ctx, L, x, y, &xi, &yi);
    if (st != CLQ_SUCCESS || xi.numel == 0) return st; /* no rows: y holds no element */
    const clq_packed_weights *w = L->w;
    size_t k = w->k, rows = xi.numel / k;
    int per_token = L->act_gran == CLQ_LINEAR_PER_TOKEN, u8 = L->act_type == CLQ_U8;
    /* Row sums from the quantize step for weights with zero points: per row, or per
     * row and group of the weights' (the _groupsums form), whatever x's granularity. */
    int want_rowsums = !w->zb_all_zero;
    int grouped = w->fmt.gran == CLQ_PER_BLOCK && w->fmt.group < k;
    size_t nsums = grouped ? rows * w->fmt.ngroups : rows;
    size_t nparams = per_token ? rows : 1;
    st = call_buffers(L, rows, nparams, u8, want_rowsums ? nsums : 0);
    if (st != CLQ_SUCCESS) return st;

    clq_qparams aq = L->act_qp;
    if (!L->is_static) {
        clq_qparams_init(&aq);
        aq.qtype = L->act_type;
        aq.scheme = u8 ? CLQ_AFFINE : CLQ_SYMMETRIC;
        aq.scale = L->act_scale;
        aq.zero_point = u8 ? L->act_zp : NULL;
        if (per_token) { /* clq_gemm's per-row form for any ndim */
            aq.granularity = CLQ_PER_BLOCK;
            aq.axis = -1;
            aq.block_size = k;
        }
    }
    clq_tensor xv = as_matrix(x), yv = as_matrix(y), at;
    st = clq_tensor_init(&at, L->act_type, xv.ndim, xv.shape, L->qx);
    clq_quantize_plan qpl;
    unsigned how = (L->is_static ? 0u : CLQ_QUANTIZE_DYNAMIC) |
                   (want_rowsums ? CLQ_QUANTIZE_ROWSUMS : 0u);
    if (st == CLQ_SUCCESS)
        st = clq__quantize_check(ctx, &xv, &aq, &at, L->rowsums, 0, how,
                                 grouped ? w->fmt.group : 0, &qpl);
    /* the GEMM reads the qparams the quantize step writes: nothing to read back */
    clq_qparams gq = aq;
    gq.flags |= CLQ_QPARAMS_TRUSTED;
    clq_gemm_options go;
    clq_gemm_options_init(&go);
    go.bias = L->bias;
    go.a_rowsums = want_rowsums ? L->rowsums : NULL;
    clq_gemm_plan gpl;
    if (st == CLQ_SUCCESS) st = clq__gemm_check(ctx, &at, &gq, w, &go, &yv, &gpl);
    if (st != CLQ_SUCCESS) return st;
    for (CLQ_EACH_PASS(pass)) {
        if (!qpl.skip) st = clq__quantize_pass(ctx, &qpl, pass);
        if (st == CLQ_SUCCESS && !gpl.skip) st = clq__gemm_pass(ctx, &gpl, pass);
        if (st != CLQ_SUCCESS) return st;
    }
    return CLQ_SUCCESS;
}

clq_status clq_linear_forward(clq_linear *layer, const clq_tensor *x, const clq_tensor *y) {
    if (!layer) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(layer->ctx, forward(layer, x, y));
}

static clq_status get_memory(const clq_linear *L, clq_linear_memory *out) {
    size_t size = out->struct_size;
    if (size < sizeof *out)
        return clq__error(L->ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "out->struct_size = %zu; set it to sizeof(clq_linear_memory) = %zu",
                          size, sizeof *out);
    clq_linear_memory m = {size, L->float_bytes, L->quantized_bytes, clq__weights_bytes(L->w)};
    const clq_buffer *bufs[] = {L->act_scale, L->act_zp, L->bias, L->qx, L->rowsums};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) m.packed_bytes += clq_buffer_size(bufs[i]);
    *out = m;
    return CLQ_SUCCESS;
}

clq_status clq_linear_get_memory(const clq_linear *layer, clq_linear_memory *out) {
    if (!layer || !out) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(layer->ctx, get_memory(layer, out));
}
