/* api_tensor.c: tensor descriptors and the argument checks every op shares. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

clq_status clq_tensor_init(clq_tensor *t, clq_dtype dtype, int ndim, const size_t *shape,
                           clq_buffer *buffer) {
    if (!t || ndim < 0 || ndim > CLQ_MAX_DIMS || (ndim > 0 && !shape))
        return CLQ_ERROR_INVALID_ARGUMENT;
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    t->buffer = buffer;
    ptrdiff_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        t->shape[d] = shape[d];
        t->strides[d] = s;
        /* A shape too large for ptrdiff_t strides saturates; clq__check_tensor
         * refuses such a tensor with CLQ_ERROR_OVERFLOW before any use. */
        size_t len = shape[d] ? shape[d] : 1;
        if (len > (size_t)PTRDIFF_MAX || __builtin_mul_overflow(s, (ptrdiff_t)len, &s))
            s = PTRDIFF_MAX;
    }
    return CLQ_SUCCESS;
}

static int numel_checked(int ndim, const size_t *shape, size_t *n) {
    size_t p = 1;
    int zero = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) zero = 1;
        else if (__builtin_mul_overflow(p, shape[d], &p)) return 0;
    }
    *n = zero ? 0 : p;
    return 1;
}

size_t clq_tensor_numel(const clq_tensor *t) {
    size_t n = 0;
    if (!t || t->ndim < 0 || t->ndim > CLQ_MAX_DIMS || !numel_checked(t->ndim, t->shape, &n)) return 0;
    return n;
}

static size_t bytes_for(clq_dtype dtype, size_t n) {
    int bits = clq__dtype_bits(dtype);
    return bits == 4 ? n / 2 + (n & 1) : n * (size_t)(bits / 8);
}

clq_status clq_tensor_bytes(const clq_tensor *t, size_t *out) {
    size_t n;
    if (t && clq__dtype_reserved(t->dtype)) return CLQ_ERROR_UNSUPPORTED;
    if (!t || !out || t->ndim < 0 || t->ndim > CLQ_MAX_DIMS || !clq__dtype_bits(t->dtype))
        return CLQ_ERROR_INVALID_ARGUMENT;
    if (!numel_checked(t->ndim, t->shape, &n)) return CLQ_ERROR_OVERFLOW;
    int bits = clq__dtype_bits(t->dtype);
    if (bits > 8 && n > SIZE_MAX / (size_t)(bits / 8)) return CLQ_ERROR_OVERFLOW;
    *out = bytes_for(t->dtype, n);
    return CLQ_SUCCESS;
}

clq_status clq__check_tensor(clq_context *ctx, const clq_tensor *t, const char *name, int role,
                             clq_tensor_info *info) {
    if (!t) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s is NULL", name);
    if (!t->buffer) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->buffer is NULL", name);
    if (t->buffer->ctx != ctx)
        return clq__error(ctx, CLQ_ERROR_CONTEXT_MISMATCH,
                          "%s->buffer belongs to another context", name);
    if (t->buffer->read_only || t->buffer->write_only) { /* a wrapped cl_mem's access flags */
        char what[96];
        snprintf(what, sizeof what, "%.80s->buffer", name);
        clq_status st = role == CLQ_OUTPUT ? clq__check_writable(ctx, t->buffer, what)
                                           : clq__check_readable(ctx, t->buffer, what);
        if (st != CLQ_SUCCESS) return st;
    }
    int bits = clq__dtype_bits(t->dtype);
    if (!bits && clq__dtype_reserved(t->dtype))
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "%s->dtype = %d (reserved for s16/u16) is not supported yet", name,
                          (int)t->dtype);
    if (!bits)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->dtype = %d is not a clq_dtype",
                          name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > CLQ_MAX_DIMS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->ndim = %d is outside [0, %d]",
                          name, t->ndim, CLQ_MAX_DIMS);
    size_t n;
    if (!numel_checked(t->ndim, t->shape, &n))
        return clq__error(ctx, CLQ_ERROR_OVERFLOW, "%s: the product of the shape overflows size_t",
                          name);
    size_t esize = bits == 4 ? 1 : (size_t)bits / 8;
    if (bits != 4 && n > SIZE_MAX / esize)
        return clq__error(ctx, CLQ_ERROR_OVERFLOW, "%s: %zu elements of %s overflow size_t", name,
                          n, clq_dtype_name(t->dtype));
    /* Contiguity, and the lowest/highest element index the view touches. */
    int contiguous = 1;
    size_t expect = 1;
    ptrdiff_t lo = 0, hi = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        size_t len = t->shape[d];
        ptrdiff_t s = t->strides[d];
        if (len > 1 && (size_t)s != expect) contiguous = 0;
        if (role == CLQ_OUTPUT && len > 1 && s == 0)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "%s->strides[%d] = 0: an output cannot broadcast", name, d);
        if (len > 1) expect *= len;
        if (n == 0 || len <= 1) continue;
        ptrdiff_t span;
        if (len - 1 > (size_t)PTRDIFF_MAX ||
            __builtin_mul_overflow((ptrdiff_t)(len - 1), s, &span) ||
            __builtin_add_overflow(span < 0 ? lo : hi, span, span < 0 ? &lo : &hi))
            return clq__error(ctx, CLQ_ERROR_OVERFLOW,
                              "%s: shape[%d] = %zu with strides[%d] = %td overflows", name, d, len,
                              d, s);
    }
    if (bits == 4 && n > 0 && (!contiguous || (t->offset & 1)))
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "%s: 4-bit tensors must be contiguous with an even offset (offset %zu%s)",
                          name, t->offset, contiguous ? "" : ", strides not row-major");
    if (n > 0) {
        size_t capacity = bits == 4 ? t->buffer->size * 2 : t->buffer->size / esize;
        size_t last;
        if (lo < 0 && (size_t)0 - (size_t)lo > t->offset)
            return clq__error(ctx, CLQ_ERROR_OUT_OF_BOUNDS,
                              "%s: offset %zu with negative strides reaches before the buffer",
                              name, t->offset);
        if (__builtin_add_overflow(t->offset, (size_t)hi, &last) || last >= capacity)
            return clq__error(ctx, CLQ_ERROR_OUT_OF_BOUNDS,
                              "%s: offset %zu, shape and strides reach element %zu but the "
                              "buffer of %zu bytes holds %zu %s elements",
                              name, t->offset, last, t->buffer->size, capacity,
                              clq_dtype_name(t->dtype));
    }
    info->numel = n;
    info->contiguous = contiguous;
    /* An empty tensor touches nothing, so its offset (any value) gives no address. */
    info->byte_off = n == 0 ? 0 : bits == 4 ? t->offset / 2 : t->offset * esize;
    info->byte_lo = info->byte_hi = 0;
    if (n > 0 && bits == 4) {
        info->byte_lo = t->offset / 2;
        info->byte_hi = (t->offset + n + 1) / 2; /* in bounds: checked above */
    } else if (n > 0) {
        info->byte_lo = (t->offset + (size_t)lo) * esize; /* lo <= 0, offset >= -lo */
        info->byte_hi = (t->offset + (size_t)hi + 1) * esize;
    }
    return CLQ_SUCCESS;
}

/* Where a buffer's bytes live when another clq_buffer may alias them: host memory
 * the caller wrapped (two wraps of one array are two buffers), else the buffer. */
static int alias(const clq_extent *a, const clq_extent *b) {
    if (a->lo >= a->hi || b->lo >= b->hi) return 0;
    if (a->buf == b->buf) return a->lo < b->hi && b->lo < a->hi;
    const char *pa = a->buf->wrapped, *pb = b->buf->wrapped;
    if (!pa || !pb) return 0;
    uintptr_t alo = (uintptr_t)pa + a->lo, ahi = (uintptr_t)pa + a->hi;
    uintptr_t blo = (uintptr_t)pb + b->lo, bhi = (uintptr_t)pb + b->hi;
    return alo < bhi && blo < ahi;
}

clq_status clq__check_disjoint(clq_context *ctx, const clq_extent *e, int n) {
    for (int i = 0; i < n; i++) {
        if (!e[i].buf) continue;
        clq_status st = e[i].output ? clq__check_writable(ctx, e[i].buf, e[i].name)
                                    : clq__check_readable(ctx, e[i].buf, e[i].name);
        if (st != CLQ_SUCCESS) return st;
    }
    for (int i = 0; i < n; i++) {
        if (!e[i].buf || !e[i].output) continue;
        for (int j = 0; j < n; j++) {
            if (j == i || !e[j].buf || (e[j].output && j < i)) continue; /* each pair once */
            if (alias(&e[i], &e[j]))
                return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                                  "%s (bytes [%zu, %zu)) and %s (bytes [%zu, %zu)%s) overlap: an "
                                  "output may not share memory with another argument",
                                  e[i].name, e[i].lo, e[i].hi, e[j].name, e[j].lo, e[j].hi,
                                  e[i].buf == e[j].buf ? ", same buffer" : ", same host memory");
        }
    }
    return CLQ_SUCCESS;
}

clq_status clq__check_same_shape(clq_context *ctx, const clq_tensor *a, const char *an,
                                 const clq_tensor *b, const char *bn) {
    if (a->ndim != b->ndim)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s->ndim = %d but %s->ndim = %d", bn,
                          b->ndim, an, a->ndim);
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "%s->shape[%d] = %zu but %s->shape[%d] = %zu", bn, d, b->shape[d],
                              an, d, a->shape[d]);
    return CLQ_SUCCESS;
}

/* The tensor's own data when contiguous, else a scratch region of its size. */
static clq_status span_or_scratch(clq_context *ctx, int slot, const clq_tensor *t,
                                  const clq_tensor_info *info, clq_span *out) {
    if (info->contiguous) {
        out->buf = t->buffer;
        out->offset = info->byte_off;
        return CLQ_SUCCESS;
    }
    size_t esize = (size_t)clq__dtype_bits(t->dtype) / 8;
    out->offset = 0;
    return clq__scratch(ctx, slot, info->numel * esize, &out->buf);
}

clq_status clq__gather(clq_context *ctx, const clq_tensor *t, const clq_tensor_info *info,
                       clq_span *out, clq_pass pass) {
    return clq__gather_into(ctx, CLQ_SCRATCH_IN, t, info, out, pass);
}

clq_status clq__gather_into(clq_context *ctx, int slot, const clq_tensor *t,
                            const clq_tensor_info *info, clq_span *out, clq_pass pass) {
    clq_status st = span_or_scratch(ctx, slot, t, info, out);
    if (st != CLQ_SUCCESS || info->contiguous) return st;
    clq_tensor dst;
    clq_tensor_init(&dst, t->dtype, t->ndim, t->shape, out->buf);
    return ctx->ops->copy_strided(ctx, t, &dst, pass);
}

clq_status clq__output_span(clq_context *ctx, const clq_tensor *t, const clq_tensor_info *info,
                            clq_span *out) {
    return span_or_scratch(ctx, CLQ_SCRATCH_OUT, t, info, out);
}

clq_status clq__scatter(clq_context *ctx, const clq_tensor *t, const clq_tensor_info *info,
                        const clq_span *staged, clq_pass pass) {
    if (info->contiguous) return CLQ_SUCCESS;
    clq_tensor src;
    clq_tensor_init(&src, t->dtype, t->ndim, t->shape, staged->buf);
    return ctx->ops->copy_strided(ctx, &src, t, pass);
}
