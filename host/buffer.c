/* buffer.c: device buffers (host memory on the CPU path): create, wrap, read, write. */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

clq_status clq__buffer_new(clq_context *ctx, clq_buffer **out) {
    clq_buffer *b = calloc(1, sizeof *b);
    if (!b) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory");
    b->ctx = ctx;
    *out = b;
    return CLQ_SUCCESS;
}

void clq__buffer_free_struct(clq_buffer *buf) { free(buf); }

clq_status clq__check_writable(clq_context *ctx, const clq_buffer *b, const char *name) {
    if (b && b->read_only)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s wraps a CL_MEM_READ_ONLY cl_mem and cannot be an output", name);
    return CLQ_SUCCESS;
}

clq_status clq__check_readable(clq_context *ctx, const clq_buffer *b, const char *name) {
    if (b && b->write_only)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "%s wraps a CL_MEM_WRITE_ONLY cl_mem and cannot be an input", name);
    return CLQ_SUCCESS;
}

static clq_status buffer_create(clq_context *ctx, size_t bytes, clq_buffer **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_create: out is NULL");
    clq_buffer *b = NULL;
    clq_status st = clq__buffer_new(ctx, &b);
    if (st != CLQ_SUCCESS) return st;
    st = ctx->ops->buffer_create(ctx, b, bytes);
    if (st != CLQ_SUCCESS) { clq__buffer_free_struct(b); return st; }
    b->size = bytes;
    *out = b;
    return CLQ_SUCCESS;
}

static clq_status buffer_wrap_host(clq_context *ctx, void *ptr, size_t bytes, clq_buffer **out) {
    if (!ptr) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_wrap_host: ptr is NULL");
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_wrap_host: out is NULL");
    if (bytes == 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_wrap_host: bytes is 0");
    /* The size is the caller's promise; only what no object can be is refused. */
    if (bytes > (size_t)PTRDIFF_MAX)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_buffer_wrap_host: bytes = %zu is above PTRDIFF_MAX: no object is "
                          "that large", bytes);
    if (bytes > UINTPTR_MAX - (uintptr_t)ptr)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_buffer_wrap_host: ptr %p + bytes %zu runs past the end of the "
                          "address space", ptr, bytes);
    clq_buffer *b = NULL;
    clq_status st = clq__buffer_new(ctx, &b);
    if (st != CLQ_SUCCESS) return st;
    b->uses_host = 1;
    st = ctx->ops->buffer_wrap_host(ctx, b, ptr, bytes);
    if (st != CLQ_SUCCESS) { clq__buffer_free_struct(b); return st; }
    b->size = bytes;
    b->wrapped = ptr;
    *out = b;
    return CLQ_SUCCESS;
}

void clq_buffer_destroy(clq_buffer *buf) {
    if (!buf) return;
    clq_context *ctx = buf->ctx;
    clq__lock(ctx);
    ctx->ops->buffer_destroy(buf);
    clq__buffer_free_struct(buf);
    clq__unlock(ctx, CLQ_SUCCESS);
}

size_t clq_buffer_size(const clq_buffer *buf) { return buf ? buf->size : 0; }

static clq_status check_range(clq_buffer *buf, const char *fn, size_t offset, size_t bytes,
                              const void *ptr) {
    if (!ptr && bytes)
        return clq__error(buf->ctx, CLQ_ERROR_INVALID_ARGUMENT, "%s: host pointer is NULL", fn);
    if (offset > buf->size || bytes > buf->size - offset)
        return clq__error(buf->ctx, CLQ_ERROR_OUT_OF_BOUNDS,
                          "%s: offset %zu + bytes %zu exceeds the buffer size %zu", fn, offset,
                          bytes, buf->size);
    return CLQ_SUCCESS;
}

static clq_status buffer_write(clq_buffer *buf, size_t offset, size_t bytes, const void *src) {
    clq_status st = check_range(buf, "clq_buffer_write", offset, bytes, src);
    if (st != CLQ_SUCCESS || bytes == 0) return st;
    return buf->ctx->ops->buffer_write(buf, offset, bytes, src);
}

static clq_status buffer_read(clq_buffer *buf, size_t offset, size_t bytes, void *dst) {
    clq_status st = check_range(buf, "clq_buffer_read", offset, bytes, dst);
    if (st != CLQ_SUCCESS || bytes == 0) return st;
    return buf->ctx->ops->buffer_read(buf, offset, bytes, dst);
}

clq_status clq_buffer_create(clq_context *ctx, size_t bytes, clq_buffer **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, buffer_create(ctx, bytes, out));
}

clq_status clq_buffer_wrap_host(clq_context *ctx, void *ptr, size_t bytes, clq_buffer **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, buffer_wrap_host(ctx, ptr, bytes, out));
}

clq_status clq_buffer_write(clq_buffer *buf, size_t offset, size_t bytes, const void *src) {
    if (!buf) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(buf->ctx, buffer_write(buf, offset, bytes, src));
}

clq_status clq_buffer_read(clq_buffer *buf, size_t offset, size_t bytes, void *dst) {
    if (!buf) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(buf->ctx, buffer_read(buf, offset, bytes, dst));
}
