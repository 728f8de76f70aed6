/* cpu_backend.c: the CPU backend's table, its construction (thread pool, kernel
 * sets from the registry) and its buffers, which are plain 64-byte aligned host memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_internal.h"

static void cpu_destroy(clq_context *ctx) {
    clq_cpu_state *st = ctx->impl;
    if (!st) return;
    clq__cpu_pool_destroy(st->pool);
    free(st);
    ctx->impl = NULL;
}

static clq_status cpu_buffer_create(clq_context *ctx, clq_buffer *buf, size_t bytes) {
    void *p = NULL;
    /* at least one byte, so that a zero-size buffer still has an address */
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
        return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: cannot allocate a buffer of %zu bytes",
                          bytes);
    buf->host = p;
    buf->owned = 1;
    return CLQ_SUCCESS;
}

static clq_status cpu_buffer_wrap_host(clq_context *ctx, clq_buffer *buf, void *ptr, size_t bytes) {
    (void)ctx, (void)bytes;
    buf->host = ptr;
    buf->owned = 0;
    return CLQ_SUCCESS;
}

static void cpu_buffer_destroy(clq_buffer *buf) {
    if (buf->owned) free(buf->host);
    buf->host = NULL;
    buf->owned = 0;
}

static clq_status cpu_buffer_write(clq_buffer *buf, size_t offset, size_t bytes, const void *src) {
    if (bytes) memcpy((char *)buf->host + offset, src, bytes);
    return CLQ_SUCCESS;
}

static clq_status cpu_buffer_read(clq_buffer *buf, size_t offset, size_t bytes, void *dst) {
    if (bytes) memcpy(dst, (const char *)buf->host + offset, bytes);
    return CLQ_SUCCESS;
}

/* Every CPU op completes before it returns. */
static clq_status cpu_finish(clq_context *ctx) {
    (void)ctx;
    return CLQ_SUCCESS;
}

static const clq_backend_ops cpu_ops = {
    "cpu",
    cpu_destroy,
    cpu_buffer_create,
    cpu_buffer_wrap_host,
    cpu_buffer_destroy,
    cpu_buffer_write,
    cpu_buffer_read,
    cpu_finish,
    clq__cpu_copy_strided,
    clq__cpu_minmax,
    clq__cpu_qparams,
    clq__cpu_quantize,
    clq__cpu_dequantize,
    clq__cpu_gemm_pack,
    clq__cpu_gemm_unpack,
    clq__cpu_rowsums,
    clq__cpu_gemm,
    clq__cpu_histogram,
    .error_stats = clq__cpu_error_stats,
    .ggml_quantize = clq__cpu_ggml_quantize,
    .ggml_dequantize = clq__cpu_ggml_dequantize,
};

/* Output bytes from which kernels use non-temporal stores (see
 * CLQ_CPU_STREAM_MIN_DEFAULT); CLQ_CPU_STREAM_MIN=<bytes> overrides it, so
 * tests reach the streaming paths with small tensors. Like CLQ_CPU_ISA it is a
 * diagnostic knob that changes no result, so CLQ_CONTEXT_IGNORE_ENV leaves it on. */
static size_t stream_threshold(void) {
    const char *env = getenv("CLQ_CPU_STREAM_MIN");
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (!*end) return (size_t)v;
    }
#ifdef _SC_LEVEL3_CACHE_SIZE
    long llc = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (llc > 0) return (size_t)llc / 4;
#endif
    return CLQ_CPU_STREAM_MIN_DEFAULT;
}

clq_status clq__cpu_init(clq_context *ctx, const clq_context_options *opts) {
    (void)opts; /* the CPU path has no per-context option beyond the thread count */
    clq_cpu_caps caps = clq__cpu_caps_detect();
    /* CLQ_CPU_ISA=<level> caps the kernels at that level's set (tests, bisecting):
     * it never raises them above what the CPU has; an unknown name is ignored */
    const char *want = getenv("CLQ_CPU_ISA");
    clq_cpu_caps level;
    if (want && *want && clq__cpu_caps_level(want, &level)) caps &= level;
    /* cpu_threads 0: one per online core; any count is capped at 4 per online core
     * and at 1024 (more threads than that only cost memory and scheduling) */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    long cap = 4 * cores < 1024 ? 4 * cores : 1024;
    long asked = ctx->cpu_threads > 0 ? ctx->cpu_threads : cores;
    int n = (int)(asked < cap ? asked : cap);
    clq_cpu_state *st = calloc(1, sizeof *st);
    if (!st) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: cannot allocate the backend state");
    st->pool = clq__cpu_pool_create(n);
    if (!st->pool) {
        free(st);
        return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: cannot allocate the thread pool");
    }
    st->caps = caps;
    clq__cpu_kernels_resolve(caps, &st->k);
    st->stream_min = stream_threshold();
    ctx->ops = &cpu_ops;
    ctx->impl = st;
    int got = clq__cpu_pool_threads(st->pool);
    char sets[384];
    clq__cpu_kernels_describe(&st->k, sets, sizeof sets);
    /* the level first, then the thread count after the first comma (tests parse it) */
    snprintf(ctx->device_name, sizeof ctx->device_name, "cpu (%s, %d thread%s; %s)",
             clq__cpu_caps_level_name(caps), got, got == 1 ? "" : "s", sets);
    return CLQ_SUCCESS;
}
