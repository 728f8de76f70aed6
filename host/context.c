/* context.c: context creation (backend choice, AUTO fallback, environment), the
 * accessors, statistics and the scratch buffers ops share. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void clq_context_options_init(clq_context_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->backend = CLQ_BACKEND_AUTO;
    o->platform_index = -1;
    o->device_index = -1;
}

void clq_context_stats_init(clq_context_stats *s) {
    if (!s) return;
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
}

/* Where compiled programs are cached: explicit option, then CLQ_CACHE_DIR, then
 * the XDG cache home. "" or "off" disables the cache. */
static clq_status choose_cache_dir(const clq_context_options *o, char *dir, size_t size) {
    const char *v = o->cache_dir;
    if (!v) v = clq__getenv(o->flags, "CLQ_CACHE_DIR");
    int n;
    if (v) {
        if (!*v || !strcmp(v, "off")) { dir[0] = 0; return CLQ_SUCCESS; }
        n = snprintf(dir, size, "%s", v);
    } else {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg) n = snprintf(dir, size, "%s/clquant", xdg);
        else if (home && *home) n = snprintf(dir, size, "%s/.cache/clquant", home);
        else { dir[0] = 0; return CLQ_SUCCESS; }
    }
    if (n < 0 || (size_t)n >= size)
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "cache_dir is longer than %zu bytes", size - 1);
    return CLQ_SUCCESS;
}

clq_status clq__context_new(const clq_context_options *o, clq_context **out) {
    if (o->struct_size < offsetof(clq_context_options, error_buffer))
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "options->struct_size = %zu; call clq_context_options_init",
                                 o->struct_size);
    if (o->cpu_threads < 0)
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "options->cpu_threads = %d must be >= 0", o->cpu_threads);
    clq_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return clq__create_error(o, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory");
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (!err) err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (!err) err = pthread_mutex_init(&ctx->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (err) {
        free(ctx);
        return clq__create_error(o, CLQ_ERROR_OUT_OF_MEMORY, "cannot create the context's mutex");
    }
    clq_context_stats_init(&ctx->stats);
    ctx->cpu_threads = o->cpu_threads;
    clq_status st = choose_cache_dir(o, ctx->cache_dir, sizeof ctx->cache_dir);
    if (st != CLQ_SUCCESS) {
        pthread_mutex_destroy(&ctx->lock);
        free(ctx);
        return st;
    }
    *out = ctx;
    return CLQ_SUCCESS;
}

void clq__context_delete(clq_context *ctx) {
    if (!ctx) return;
    for (int i = 0; i < CLQ_SCRATCH_COUNT; i++) clq_buffer_destroy(ctx->scratch[i]);
    if (ctx->ops && ctx->ops->destroy) ctx->ops->destroy(ctx);
    free(ctx->build_log);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

static clq_status backend_from_env(const clq_context_options *o, clq_backend *b) {
    const char *v = clq__getenv(o->flags, "CLQ_BACKEND");
    if (!v) return CLQ_SUCCESS;
    if (!strcasecmp(v, "auto")) *b = CLQ_BACKEND_AUTO;
    else if (!strcasecmp(v, "opencl")) *b = CLQ_BACKEND_OPENCL;
    else if (!strcasecmp(v, "cpu")) *b = CLQ_BACKEND_CPU;
    else
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "environment CLQ_BACKEND = \"%s\": expected auto, opencl or cpu", v);
    return CLQ_SUCCESS;
}

clq_status clq_context_create(const clq_context_options *options, clq_context **out) {
    clq_context_options defaults;
    clq_context_options_init(&defaults);
    const clq_context_options *o = options ? options : &defaults;
    /* struct_size first: no other field of a struct smaller than the oldest one is read */
    if (o->struct_size < offsetof(clq_context_options, error_buffer))
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "options->struct_size = %zu; call clq_context_options_init",
                                 o->struct_size);
    if (!out) return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    clq_backend b = o->backend;
    if (b != CLQ_BACKEND_AUTO && b != CLQ_BACKEND_OPENCL && b != CLQ_BACKEND_CPU)
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "options->backend = %d is not a clq_backend", (int)b);
    clq_status st = backend_from_env(o, &b);
    if (st != CLQ_SUCCESS) return st;

    clq_context *ctx = NULL;
    st = clq__context_new(o, &ctx);
    if (st != CLQ_SUCCESS) return st;
    ctx->kind = b;
    if (b != CLQ_BACKEND_CPU) {
        char reason[sizeof ctx->fallback_reason] = "";
        st = clq__opencl_init(ctx, o, reason, sizeof reason);
        if (st == CLQ_SUCCESS) {
            ctx->kind = CLQ_BACKEND_OPENCL;
        } else if (b == CLQ_BACKEND_OPENCL || (o->flags & CLQ_CONTEXT_NO_FALLBACK)) {
            clq__create_error(o, st, "no usable OpenCL device: %s", reason);
            clq__context_delete(ctx);
            return st;
        } else {
            snprintf(ctx->fallback_reason, sizeof ctx->fallback_reason, "%s", reason);
            ctx->kind = CLQ_BACKEND_CPU;
        }
    }
    if (ctx->kind == CLQ_BACKEND_CPU) {
        st = clq__cpu_init(ctx, o);
        if (st != CLQ_SUCCESS) {
            clq__create_error(o, st, "CPU backend: %s", ctx->error);
            clq__context_delete(ctx);
            return st;
        }
    }
    *out = ctx;
    return CLQ_SUCCESS;
}

void clq_context_destroy(clq_context *ctx) { clq__context_delete(ctx); }

clq_backend clq_context_backend(const clq_context *ctx) {
    return ctx ? ctx->kind : CLQ_BACKEND_AUTO;
}
const char *clq_context_device_name(const clq_context *ctx) { return ctx ? ctx->device_name : ""; }
const char *clq_context_fallback_reason(const clq_context *ctx) {
    return ctx ? ctx->fallback_reason : "";
}
const char *clq_context_error_message(const clq_context *ctx) { return ctx ? ctx->error : ""; }
const char *clq_context_build_log(const clq_context *ctx) {
    return (ctx && ctx->build_log) ? ctx->build_log : "";
}

clq_status clq_context_finish(clq_context *ctx) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, ctx->ops->finish(ctx));
}

static clq_status get_stats(clq_context *ctx, clq_context_stats *out) {
    /* An older caller's struct is smaller (the first one ended after cache_rejected):
     * fill what it has and keep its struct_size. */
    size_t size = out->struct_size;
    if (size < offsetof(clq_context_stats, cache_refused))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "out->struct_size = %zu; call clq_context_stats_init", size);
    memcpy(out, &ctx->stats, size < sizeof ctx->stats ? size : sizeof ctx->stats);
    out->struct_size = size;
    return CLQ_SUCCESS;
}

clq_status clq_context_get_stats(const clq_context *ctx, clq_context_stats *out) {
    if (!ctx || !out) return CLQ_ERROR_INVALID_ARGUMENT;
    /* the lock, not the object, changes: stats are updated by calls on other threads */
    clq_context *c = (clq_context *)ctx;
    return CLQ_LOCKED(c, get_stats(c, out));
}

clq_status clq__grow_buffer(clq_context *ctx, clq_buffer **slot, size_t bytes, clq_buffer **out) {
    clq_buffer *b = *slot;
    if (b && b->size >= bytes) { *out = b; return CLQ_SUCCESS; }
    clq_buffer *nb = NULL;
    clq_status st = clq_buffer_create(ctx, bytes, &nb);
    if (st != CLQ_SUCCESS) return st;
    clq_buffer_destroy(b);
    *slot = nb;
    *out = nb;
    return CLQ_SUCCESS;
}

clq_status clq__scratch(clq_context *ctx, int slot, size_t bytes, clq_buffer **out) {
    return clq__grow_buffer(ctx, &ctx->scratch[slot], bytes, out);
}
