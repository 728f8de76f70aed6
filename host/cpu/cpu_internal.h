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

/* Settings shared by every kernel call of one element-wise op. */
typedef struct clq_cpu_ewcfg {
    clq_dtype xtype;   /* quantize: the float input type */
    float qmin, qmax;  /* quantize: the output range */
    int half_away;     /* quantize: CLQ_ROUND_HALF_AWAY */
    int reciprocal;    /* quantize: x * (1.0f / scale) */
    int is_unsigned;   /* dequantize: q bytes are u8 / u4 (else sign-extended s8 / s4) */
    int32_t zlo, zhi;  /* the qtype's full range: zero points are clamped to it first (a
                          TRUSTED caller may pass any int32; docs/NUMERICS.md) */
    int stream;        /* the output may be written with non-temporal stores where aligned */
    int packed;        /* the 4-bit side is read / written packed (cpu_elementwise.h) */
    size_t lanes;      /* quantize vec segments, when not 0: scale[] points into an array
                          of 1/scale, scale[lanes + j] is the scale, scale[2 lanes + j] the
                          clamped zero point as f32, zp is unused (cpu_quantize.c) */
} clq_cpu_ewcfg;

/* Element-wise map kernels (quantize: in = x of cfg->xtype, out = q bytes;
 * dequantize: in = q bytes, out = f32 y). in and out point at the segment's first
 * element, or with cfg->packed at the byte holding it on the 4-bit side: an odd
 * segment there ends the tensor, and a quantize kernel writes its last high
 * nibble 0. zp NULL means all zero.
 *   run:    n elements, one (scale, zp)
 *   vec:    element j uses scale[j], zp[j] (never packed)
 *   blocks: nblk consecutive blocks of block elements, block b uses scale[b], zp[b] */
typedef struct clq_cpu_ewkernels {
    void (*run)(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n, float scale,
                int32_t zp);
    void (*vec)(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n,
                const float *scale, const int32_t *zp);
    void (*blocks)(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t block,
                   size_t nblk, const float *scale, const int32_t *zp);
    /* quantize: dst[k] = (src[2k] & 15) | src[2k+1] << 4 for k < n/2 (n even) */
    void (*pack4)(int stream, const uint8_t *src, uint8_t *dst, size_t n);
    /* dequantize: n nibbles from src (low first) to a byte each, sign-extended if signed */
    void (*unpack4)(int is_signed, const uint8_t *src, uint8_t *dst, size_t n);
    int packed_ok; /* run and blocks honour cfg->packed */
    /* optional (NULL: vec per row): nrows rows of n elements, row after row,
     * element j of each using scale[j], zp[j] (never packed) */
    void (*rows)(const clq_cpu_ewcfg *cfg, const void *in, void *out, size_t n, size_t nrows,
                 const float *scale, const int32_t *zp);
} clq_cpu_ewkernels;

/* A zero point clamped to [cfg->zlo, cfg->zhi]. */
static inline int32_t clq__cpu_zp_clamp(const clq_cpu_ewcfg *cfg, int32_t zp) {
    return zp < cfg->zlo ? cfg->zlo : zp > cfg->zhi ? cfg->zhi : zp;
}

/* Min/max kernels. They merge into *mn / *mx without the final rules (NaN is
 * skipped; an untouched pair stays [+Inf, -Inf]; -0.0 and +0.0 are not yet
 * made +0.0): finish applies those.
 *   run:    n elements into one pair
 *   vec:    element j into pair j
 *   rows:   nrows rows of n elements, row after row, element j of each into pair j
 *   blocks: nblk consecutive blocks of block elements, block b into pair b,
 *           which the kernel initialises and finishes itself (so they are
 *           written once, non-temporally where stream and aligned)
 *   finish: clq__minmax_finish on pairs 0..n-1 */
typedef struct clq_cpu_mmkernels {
    void (*run)(clq_dtype xt, const void *x, size_t n, float *mn, float *mx);
    void (*vec)(clq_dtype xt, const void *x, size_t n, float *mn, float *mx);
    void (*rows)(clq_dtype xt, const void *x, size_t n, size_t nrows, float *mn, float *mx);
    void (*blocks)(clq_dtype xt, const void *x, size_t block, size_t nblk, float *mn, float *mx,
                   int stream);
    void (*finish)(float *mn, float *mx, size_t n);
} clq_cpu_mmkernels;

/* Row-sum kernel: the n bytes at a (u8, or s8 when is_signed) added to *sum mod 2^32. */
typedef struct clq_cpu_rskernels {
    void (*run)(int is_signed, const uint8_t *a, size_t n, uint32_t *sum);
} clq_cpu_rskernels;

/* Histogram kernels (cpu_histogram.c): the n elements at x binned by cfg's rule
 * (backend.h, clq_histogram_op) and counted into nsub sub-histograms, each of
 * cfg->nbins + 1 counts (the last one takes NaN) at sub + s * (nbins + 1): element
 * j of the run into sub-histogram j % nsub, so consecutive increments of one bin
 * go to different arrays and do not wait on each other's stores. */
typedef struct clq_cpu_histcfg {
    clq_dtype xtype;
    int absolute;
    float lo, inv_width;
    uint32_t nbins;
} clq_cpu_histcfg;
typedef struct clq_cpu_hkernels {
    void (*run)(const clq_cpu_histcfg *cfg, const void *x, size_t n, uint32_t *sub, size_t nsub);
} clq_cpu_hkernels;

/* Error statistics (cpu_error.c): per-column accumulators, width columns each, in the
 * order of CLQ_ERROR_E2 .. CLQ_ERROR_XY (v[CLQ_ERROR_MAX] the max of |e|) and the counts. */
typedef struct clq_cpu_erracc {
    float *v[CLQ_ERROR_COUNT];
    uint32_t *n;
} clq_cpu_erracc;

/* rows: nrows rows of width elements, element j of row r at x + r * ldx + j (of xt) and
 * y + r * ldy + j (of yt; each f32, f16 or bf16), merged into column j of a, row after
 * row (backend.h, clq_error_op: e = y - x, NaN e skipped, each sum one f32 add). */
typedef struct clq_cpu_errkernels {
    void (*rows)(clq_dtype xt, const void *x, size_t ldx, clq_dtype yt, const void *y, size_t ldy,
                 size_t width, size_t nrows, const clq_cpu_erracc *a);
    /* Quantization mode fused (NULL: the driver chains the quantize and dequantize maps
     * through buffers, then rows): nparams * rpp rows of CLQ_ERROR_LANES consecutive x of
     * cfg->xtype (the quantize job's settings), rows [i rpp, (i + 1) rpp) under
     * (scale[i], zp ? zp[i] : 0), merged into lanes 0.. of a as rows would merge
     * y = dequantize(quantize(x)). */
    void (*quant)(const clq_cpu_ewcfg *cfg, const void *x, size_t nparams, size_t rpp,
                  const float *scale, const int32_t *zp, const clq_cpu_erracc *a);
    /* The shortest blocks quant takes (shorter ones go the chained way, which is faster
     * where a block's own setup costs more than the chained maps' share of it). */
    size_t quant_min_block;
} clq_cpu_errkernels;

extern const clq_cpu_errkernels clq__cpu_errk_portable, clq__cpu_errk_avx2, clq__cpu_errk_avx512;
extern const clq_cpu_ewkernels clq__cpu_qk_portable, clq__cpu_qk_avx2, clq__cpu_qk_avx512;
extern const clq_cpu_ewkernels clq__cpu_dqk_portable, clq__cpu_dqk_avx2, clq__cpu_dqk_avx512;
extern const clq_cpu_mmkernels clq__cpu_mmk_portable, clq__cpu_mmk_avx2, clq__cpu_mmk_avx512;
extern const clq_cpu_rskernels clq__cpu_rsk_portable, clq__cpu_rsk_avx2, clq__cpu_rsk_avx512;
extern const clq_cpu_hkernels clq__cpu_hk_portable, clq__cpu_hk_avx2, clq__cpu_hk_avx512;

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
clq_status clq__cpu_error_stats(clq_context *ctx, const clq_error_op *op, clq_pass pass);
/* Row sums of an int8 matrix (cpu_rowsums.c), for GEMM zero-point corrections. */
clq_status clq__cpu_rowsums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass);
/* int8 GEMM (cpu_gemm.c); w->impl holds a clq_cpu_wpack. */
clq_status clq__cpu_gemm_pack(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w);
void clq__cpu_gemm_unpack(clq_packed_weights *w);
clq_status clq__cpu_gemm(clq_context *ctx, const clq_gemm_op *op, clq_pass pass);
/* M <= CLQ_CPU_GEMM_SMALL_M with K4 weights and st->k.gemm_small set (cpu_gemm_small.c);
 * clq__cpu_gemm has checked the weights' format. */
clq_status clq__cpu_gemm_small(clq_context *ctx, const clq_gemm_op *op, clq_pass pass);
/* Weights in groups along K or of 4 bits (cpu_gemm_group_pack.c, cpu_gemm_group.c):
 * clq__cpu_gemm_pack and clq__cpu_gemm hand them over. */
clq_status clq__cpu_gemm_group_pack(clq_context *ctx, const clq_pack_op *op,
                                    clq_packed_weights *w);
clq_status clq__cpu_gemm_group(clq_context *ctx, const clq_gemm_op *op, clq_pass pass);
/* Calibration histogram (cpu_histogram.c). */
clq_status clq__cpu_histogram(clq_context *ctx, const clq_histogram_op *op, clq_pass pass);
/* ggml Q8_0 / Q4_0 blocks (cpu_ggml.c): the kernels quantize n whole blocks of f32 at x
 * into their bytes at out, equal to the portable set's block functions byte for byte
 * (cpu_ggml_simd.c: a vector path for every block the proof covers, those for the rest). */
typedef struct clq_cpu_ggmlkernels {
    void (*q8_0)(const float *x, size_t n, uint8_t *out);
    void (*q4_0)(const float *x, size_t n, uint8_t *out);
} clq_cpu_ggmlkernels;
extern const clq_cpu_ggmlkernels clq__cpu_ggmlk_portable, clq__cpu_ggmlk_avx2, clq__cpu_ggmlk_avx512;
/* One block by ggml's reference (the portable set's kernel) and its f16 d store. */
void clq__cpu_ggml_q8_0_block(const float *x, uint8_t *b);
void clq__cpu_ggml_store_d(uint8_t *b, float d);
clq_status clq__cpu_ggml_quantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass);
clq_status clq__cpu_ggml_dequantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass);

#endif
