/* internal.h: the context and buffer objects every op uses, and the error helper.
 * Not installed; backends and api_*.c include it. */
#ifndef CLQ_INTERNAL_H
#define CLQ_INTERNAL_H

#include <clquant/clquant.h>
#include <pthread.h>
#include <stdarg.h>

#include "backend.h"

#define CLQ_HIDDEN __attribute__((visibility("hidden")))

/* Scratch slots: IN/OUT stage strided tensors, MIN/MAX hold the dynamic path's ranges
 * (api layer); PART_* are the backends' own reduction partials. */
enum {
    CLQ_SCRATCH_IN,
    CLQ_SCRATCH_OUT,
    CLQ_SCRATCH_MIN,
    CLQ_SCRATCH_MAX,
    CLQ_SCRATCH_PART_MIN,
    CLQ_SCRATCH_PART_MAX,
    CLQ_SCRATCH_ROWSUMS, /* clq_gemm: row sums of A when the caller gave none */
    CLQ_SCRATCH_WORK,    /* backend workspace (the CPU GEMM's packed A blocks) */
    CLQ_SCRATCH_HIST,    /* calib_hist.c: a batch's uint32 bin counts on the device */
    CLQ_SCRATCH_STATS,   /* clq_quantization_error / clq_tensor_error: per-chunk partials */
    CLQ_SCRATCH_COUNT
};

struct clq_context {
    pthread_mutex_t lock; /* recursive; held by every public call on the context */
    clq_backend kind;
    const clq_backend_ops *ops;
    void *impl; /* backend state */
    char device_name[512];
    char fallback_reason[512];
    char error[1024];
    char *build_log; /* malloc'd, NULL if none */
    clq_context_stats stats;
    char cache_dir[1024]; /* "" when the program cache is off */
    int cpu_threads;
    clq_buffer *scratch[CLQ_SCRATCH_COUNT]; /* grown on demand, reused by ops */
};

struct clq_buffer {
    clq_context *ctx;
    size_t size;
    void *host;   /* CPU backend: the memory */
    void *handle; /* OpenCL backend: the cl_mem */
    int owned;    /* the library allocated host memory (CPU) */
    const char *wrapped; /* clq_buffer_wrap_host's ptr (overlap checks), else NULL */
    /* What the memory is: the caller's host memory (clq_buffer_wrap_host, or a wrapped
     * cl_mem made with CL_MEM_USE_HOST_PTR; destroy waits for the ops on it), and the
     * device-side access a wrapped cl_mem allows (clq__check_writable/_readable). */
    int uses_host;
    int read_only;  /* CL_MEM_READ_ONLY: never an output */
    int write_only; /* CL_MEM_WRITE_ONLY: never an input */
};


/* Packed GEMM weights (api_gemm_pack.c creates and frees; the backend's gemm_pack
 * fills data, impl and colsum). Zero points are stored in the signed domain
 * (backend.h). Per-group arrays are [n][ngroups]. */
struct clq_packed_weights {
    clq_context *ctx;
    clq_wformat fmt;
    size_t n, k;
    clq_buffer *data;     /* backend layout */
    void *impl;           /* the backend's record of that layout; ops->gemm_unpack frees it */
    size_t impl_bytes;    /* what that record holds (host struct, device buffers), for
                             clq_linear_get_memory; ops->gemm_pack sets it */
    clq_buffer *colsum;   /* int32[n][ngroups]: cs'[n][j] = sum over group j of b'[n][k] */
    clq_buffer *zb;       /* int32[1, n or n * ngroups]: zb' (zb - 128 for u8, zb - 8 for u4) */
    int zb_per_channel;   /* zb holds more than one value (per channel or per group) */
    clq_buffer *sb;       /* f32, as zb; NULL when packed without scales */
    int sb_per_channel;
    float sb_max;         /* largest weight scale (0 without scales) */
    int zb_all_zero;      /* every zb' is 0: the row sums of A are not needed */
    unsigned max_dev;     /* max over n, j, over b in btype of |b - zb[n][j]| */
};

/* Groups of w along K (1 unless group-quantized), and the length of group j. */
static inline size_t clq__w_groups(const clq_packed_weights *w) { return w->fmt.ngroups; }
static inline size_t clq__w_group_len(const clq_packed_weights *w, size_t j) {
    size_t g = w->fmt.group, k0 = j * g;
    return w->k - k0 < g ? w->k - k0 : g;
}

/* Object lifetime helpers (context.c, buffer.c), also used by host/api_cl.c.
 * clq__context_new fills the common fields (options, cache_dir, threads) but no
 * backend; clq__context_delete calls ops->destroy when set and frees scratch. */
CLQ_HIDDEN clq_status clq__context_new(const clq_context_options *opts, clq_context **out);
CLQ_HIDDEN void clq__context_delete(clq_context *ctx);
CLQ_HIDDEN clq_status clq__buffer_new(clq_context *ctx, clq_buffer **out);
CLQ_HIDDEN void clq__buffer_free_struct(clq_buffer *buf);
/* INVALID_ARGUMENT, naming the argument (e.g. "y->buffer"), when b wraps a cl_mem the
 * kernels may not write (CL_MEM_READ_ONLY) / read (CL_MEM_WRITE_ONLY). Call the first
 * for every output, the second for every input; an output that the same call reads
 * back later needs both. b may be NULL (then nothing is checked). */
CLQ_HIDDEN clq_status clq__check_writable(clq_context *ctx, const clq_buffer *b, const char *name);
CLQ_HIDDEN clq_status clq__check_readable(clq_context *ctx, const clq_buffer *b, const char *name);

/* Every public entry point that uses a context runs as CLQ_LOCKED(ctx, call):
 * calls on one context from several threads are serialised (the mutex is
 * recursive, since entry points call each other); NULL ctx locks nothing. */
static inline void clq__lock(clq_context *ctx) {
    if (ctx) pthread_mutex_lock(&ctx->lock);
}
static inline clq_status clq__unlock(clq_context *ctx, clq_status st) {
    if (ctx) pthread_mutex_unlock(&ctx->lock);
    return st;
}
#define CLQ_LOCKED(ctx, call) (clq__lock(ctx), clq__unlock((ctx), (call)))

/* Records a message on ctx (when ctx != NULL) and returns status. */
CLQ_HIDDEN clq_status clq__error(clq_context *ctx, clq_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* For failures before a context exists: writes to opts->error_buffer if given. */
CLQ_HIDDEN clq_status clq__create_error(const clq_context_options *opts, clq_status status,
                                        const char *fmt, ...) __attribute__((format(printf, 3, 4)));
CLQ_HIDDEN void clq__set_build_log(clq_context *ctx, const char *log);

/* A scratch buffer of at least bytes in slot (see CLQ_SCRATCH_*). */
CLQ_HIDDEN clq_status clq__scratch(clq_context *ctx, int slot, size_t bytes, clq_buffer **out);
/* The same for a buffer an object keeps (*slot, NULL at first): replaced by a larger
 * one when it holds fewer than bytes (the old one is destroyed only on success). */
CLQ_HIDDEN clq_status clq__grow_buffer(clq_context *ctx, clq_buffer **slot, size_t bytes,
                                       clq_buffer **out);

/* Type helpers shared by the api layer and the backends. */
CLQ_HIDDEN int clq__dtype_bits(clq_dtype t);           /* 0 for unknown */
CLQ_HIDDEN int clq__dtype_is_float(clq_dtype t);       /* f32, f16, bf16 */
CLQ_HIDDEN int clq__dtype_is_quant(clq_dtype t);       /* s8, u8, s4, u4 */
CLQ_HIDDEN int clq__dtype_reserved(clq_dtype t);       /* codes kept for s16, u16 (clquant.h) */
CLQ_HIDDEN void clq__qrange(clq_dtype t, int narrow, int *qmin, int *qmax);
/* Symmetric zero point: 0 for signed types, 2^(bits-1) for unsigned. */
CLQ_HIDDEN int clq__symmetric_zero_point(clq_dtype t);

/* Environment lookup that honours CLQ_CONTEXT_IGNORE_ENV. */
CLQ_HIDDEN const char *clq__getenv(unsigned flags, const char *name);

#endif
