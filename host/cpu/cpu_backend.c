/* cpu_backend.c: the CPU backend's table, its construction (thread pool, ISA
 * choice) and its buffers, which are plain 64-byte aligned host memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_internal.h"
#if CLQ_CPU_X86
#include <cpuid.h>
#endif

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
    NULL, /* gemm_unpack: nothing beyond w->data */
    clq__cpu_gemm_rowsums,
    clq__cpu_gemm,
};

#if CLQ_CPU_X86
/* CPUID leaf 1 ECX: f16c (bit 29; clang 14/15 reject "f16c" in
 * __builtin_cpu_supports) and OSXSAVE (bit 27), and XCR0: which register
 * state the OS saves (SSE|AVX = 0x6, plus opmask and ZMM for AVX-512 = 0xe6).
 * A feature the OS does not save is unusable whatever CPUID says. */
static void cpuid_bits(int *f16c, unsigned *xcr0) {
    unsigned a, b, c, d;
    *f16c = 0;
    *xcr0 = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    *f16c = (c >> 29) & 1;
    if ((c >> 27) & 1) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        *xcr0 = lo;
    }
}
#endif

static clq_cpu_isa detect_isa(void) {
#if !CLQ_CPU_X86
    return CLQ_CPU_PORTABLE;
#else
    int f16c;
    unsigned xcr0;
    cpuid_bits(&f16c, &xcr0);
    __builtin_cpu_init();
    if ((xcr0 & 0xe6) == 0xe6 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && f16c)
        return CLQ_CPU_AVX512;
    if ((xcr0 & 0x6) == 0x6 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        f16c)
        return CLQ_CPU_AVX2;
    return CLQ_CPU_PORTABLE;
#endif
}

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

static const char *isa_name(clq_cpu_isa isa) {
    return isa == CLQ_CPU_AVX512 ? "avx512" : isa == CLQ_CPU_AVX2 ? "avx2" : "portable";
}

clq_status clq__cpu_init(clq_context *ctx, const clq_context_options *opts) {
    (void)opts; /* the CPU path has no per-context option beyond the thread count */
    clq_cpu_isa isa = detect_isa();
    /* CLQ_CPU_ISA=portable|avx2|avx512 lowers the kernel set (tests, bisecting);
     * it never raises it above what the CPU has */
    const char *want = getenv("CLQ_CPU_ISA");
    if (want && *want) {
        clq_cpu_isa w = !strcmp(want, "portable") ? CLQ_CPU_PORTABLE
                        : !strcmp(want, "avx2")   ? CLQ_CPU_AVX2
                        : !strcmp(want, "avx512") ? CLQ_CPU_AVX512
                                                  : isa;
        if (w < isa) isa = w;
    }
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
    st->isa = isa;
    st->stream_min = stream_threshold();
    ctx->ops = &cpu_ops;
    ctx->impl = st;
    int got = clq__cpu_pool_threads(st->pool);
    snprintf(ctx->device_name, sizeof ctx->device_name, "cpu (%s, %d thread%s)", isa_name(isa), got,
             got == 1 ? "" : "s");
    return CLQ_SUCCESS;
}
