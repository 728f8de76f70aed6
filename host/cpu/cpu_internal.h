/* cpu_internal.h: the CPU backend's state, the kernel-set interfaces that the op
 * drivers (cpu_quantize.c, cpu_dequantize.c, cpu_minmax.c) call, and the ops. */
#ifndef CLQ_CPU_INTERNAL_H
#define CLQ_CPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_registry.h"
#include "cpu_threads.h"
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#define CLQ_CPU_X86 1
#include <immintrin.h>
#else
#define CLQ_CPU_X86 0
#endif

/* Elements per chunk of parallel work: 64 KiB of f32 input, even so that no
 * two chunks share a byte of 4-bit data. */
#define CLQ_CPU_CHUNK ((size_t)16384)

/* Ops whose output reaches clq_cpu_state.stream_min bytes write it with
 * non-temporal stores where a kernel supports it: an output that large would
 * leave the cache before its consumer reads it, and skipping the
 * read-for-ownership saves traffic. Smaller outputs stay cached for their
 * consumer (a quantize output of a tenth of the last-level cache measured 15%
 * faster with ordinary stores, a dequantize output of half of it 2x faster
 * streamed). stream_min is a quarter of the last-level cache, or this when the
 * cache size is unknown. */
#define CLQ_CPU_STREAM_MIN_DEFAULT ((size_t)8 << 20)

/* Orders a chunk's non-temporal stores before the pool reports it done. */
static inline void clq__cpu_store_fence(void) {
#if CLQ_CPU_X86
    _mm_sfence();
#endif
}

typedef struct clq_cpu_state {
    clq_cpu_pool *pool;
    clq_cpu_caps caps;  /* what the kernels may use: the CPU's, capped by CLQ_CPU_ISA */
    clq_cpu_kernels k;  /* resolved from the registry at context creation */
    size_t stream_min; /* output bytes from which non-temporal stores are used */
} clq_cpu_state;

/* Quantize settings shared by every kernel call of one op. */
typedef struct clq_cpu_qcfg {
    clq_dtype xtype;
    float qmin, qmax;
    int half_away;  /* CLQ_ROUND_HALF_AWAY */
    int reciprocal; /* x * (1.0f / scale) */
    int stream;     /* q may be written with non-temporal stores where aligned */
    int packed;     /* 4-bit q written packed by run/blocks (see packed_ok) */
    float zlo, zhi; /* the qtype's full range: zero points are clamped to it first (a
                       TRUSTED caller may pass any int32; docs/NUMERICS.md) */
} clq_cpu_qcfg;

/* Quantize kernels. q receives one byte per element (the value's low 8 bits;
 * 4-bit types are packed afterwards by pack4), or, with cfg->packed, two
 * elements per byte from q[0] on: the driver sets it only for layouts whose
 * run/blocks segments all start at even elements, and only an odd segment that
 * ends the tensor leaves a last high nibble, written 0. zp NULL means all zero.
 *   run:    n elements, one (scale, zp)
 *   vec:    element j uses scale[j], zp[j]
 *   blocks: nblk consecutive blocks of block elements, block b uses scale[b], zp[b] */
typedef struct clq_cpu_qkernels {
    void (*run)(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n, float scale,
                int32_t zp);
    void (*vec)(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t n, const float *scale,
                const int32_t *zp);
    void (*blocks)(const clq_cpu_qcfg *cfg, const void *x, uint8_t *q, size_t block, size_t nblk,
                   const float *scale, const int32_t *zp);
    /* dst[k] = (src[2k] & 15) | src[2k+1] << 4 for k < n/2 (n even). */
    void (*pack4)(int stream, const uint8_t *src, uint8_t *dst, size_t n);
    int packed_ok; /* run and blocks honour cfg->packed */
} clq_cpu_qkernels;

/* Dequantize kernel flags: q bytes are unsigned (u8, u4) rather than signed;
 * y may be written with non-temporal stores where it is aligned for them (big
 * outputs: no read-for-ownership of lines that are fully overwritten). */
#define CLQ_CPU_DQ_UNSIGNED 1
#define CLQ_CPU_DQ_STREAM 2
#define CLQ_CPU_DQ_FOUR 4 /* the values are 4-bit (unpacked one per byte) */

/* A dequantize zero point clamped to its qtype's full range (flags say which type),
 * as every backend does first: a TRUSTED caller may pass any int32 (docs/NUMERICS.md). */
static inline int32_t clq__cpu_dq_zp(int flags, int32_t zp) {
    int32_t lo = (flags & CLQ_CPU_DQ_UNSIGNED) ? 0 : (flags & CLQ_CPU_DQ_FOUR) ? -8 : -128;
    int32_t hi = (flags & CLQ_CPU_DQ_UNSIGNED) ? ((flags & CLQ_CPU_DQ_FOUR) ? 15 : 255)
                                               : ((flags & CLQ_CPU_DQ_FOUR) ? 7 : 127);
    return zp < lo ? lo : zp > hi ? hi : zp;
}

/* Dequantize kernels: q holds one value per byte. Same run/vec/blocks shapes as
 * quantize. */
typedef struct clq_cpu_dqkernels {
    void (*run)(int flags, const uint8_t *q, float *y, size_t n, float scale, int32_t zp);
    void (*vec)(int flags, const uint8_t *q, float *y, size_t n, const float *scale,
                const int32_t *zp);
    void (*blocks)(int flags, const uint8_t *q, float *y, size_t block, size_t nblk,
                   const float *scale, const int32_t *zp);
    /* n nibbles from src (low nibble first) to one byte each: sign-extended for s4. */
    void (*unpack4)(int is_signed, const uint8_t *src, uint8_t *dst, size_t n);
} clq_cpu_dqkernels;

/* Min/max kernels. They merge into *mn / *mx without the final rules (NaN is
 * skipped; an untouched pair stays [+Inf, -Inf]; -0.0 and +0.0 are not yet
 * made +0.0): clq__cpu_minmax_finish applies those.
 *   run:    n elements into one pair
 *   vec:    element j into pair j
 *   blocks: nblk consecutive blocks of block elements, block b into pair b,
 *           which the kernel initialises itself */
typedef struct clq_cpu_mmkernels {
    void (*run)(clq_dtype xt, const void *x, size_t n, float *mn, float *mx);
    void (*vec)(clq_dtype xt, const void *x, size_t n, float *mn, float *mx);
    void (*blocks)(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn, float *mx);
} clq_cpu_mmkernels;

extern const clq_cpu_qkernels clq__cpu_qk_portable, clq__cpu_qk_avx2, clq__cpu_qk_avx512;
extern const clq_cpu_dqkernels clq__cpu_dqk_portable, clq__cpu_dqk_avx2, clq__cpu_dqk_avx512;
extern const clq_cpu_mmkernels clq__cpu_mmk_portable, clq__cpu_mmk_avx2, clq__cpu_mmk_avx512;

static inline size_t clq__cpu_dtype_size(clq_dtype t) {
    return t == CLQ_F32 || t == CLQ_S32 ? 4 : t == CLQ_F16 || t == CLQ_BF16 ? 2 : 1;
}

/* Number of chunks of chunk elements covering n. */
static inline size_t clq__cpu_nchunks(size_t n, size_t chunk) { return (n + chunk - 1) / chunk; }

static inline void *clq__cpu_span_ptr(clq_span s) {
    return s.buf ? (char *)s.buf->host + s.offset : NULL;
}

/* The ops (one file each). */
/* CLQ_PASS_PREPARE (backend.h) only acquires what may fail: workspace in scratch. */
clq_status clq__cpu_copy_strided(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst,
                                  clq_pass pass);
clq_status clq__cpu_minmax(clq_context *ctx, const clq_minmax_op *op, clq_pass pass);
clq_status clq__cpu_qparams(clq_context *ctx, const clq_qparams_op *op, clq_pass pass);
clq_status clq__cpu_quantize(clq_context *ctx, const clq_quantize_op *op, clq_pass pass);
clq_status clq__cpu_dequantize(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass);
/* int8 GEMM (cpu_gemm.c); packed weights keep nothing beyond w->data, so no gemm_unpack. */
clq_status clq__cpu_gemm_pack(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w);
clq_status clq__cpu_gemm_rowsums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass);
clq_status clq__cpu_gemm(clq_context *ctx, const clq_gemm_op *op, clq_pass pass);

#endif
