/* cpu_elementwise.h: the generic driver of the element-wise ops: maps (quantize,
 * dequantize) and reductions into per-param accumulators (min/max, row sums), each
 * one job description run over the pool chunk by chunk through the layout walk. */
#ifndef CLQ_CPU_ELEMENTWISE_H
#define CLQ_CPU_ELEMENTWISE_H

#include "cpu_internal.h"

/* One op. A side whose element size is 0 is 4-bit (two values a byte, low nibble
 * first): the driver stages it one value per byte per chunk (unpack4 before the
 * kernels for an input, pack4 after them for an output), or, when the kernels
 * set packed_ok and the layout's segments all start at even elements, sets
 * cfg.packed and lets them read or write the packed bytes themselves. */
typedef struct clq_cpu_ew_job {
    const clq_cpu_ewkernels *k;
    clq_cpu_ewcfg cfg;
    const clq_layout *lay;
    const char *in;
    size_t in_size; /* bytes per input element; 0: 4-bit */
    char *out;
    size_t out_size; /* bytes per output element; 0: 4-bit */
    const float *scale;
    const int32_t *zp; /* NULL: every zero point is 0 */
} clq_cpu_ew_job;

/* Runs j (sets j->cfg.packed); returns when every element is written. */
void clq__cpu_ew_run(clq_cpu_pool *pool, clq_cpu_ew_job *j);

/* The job of a quantize / dequantize op (cpu_quantize.c, cpu_dequantize.c), without the
 * quantize's per-lane reciprocals: the settings the ops run with. */
void clq__cpu_quantize_job(const clq_cpu_state *st, const clq_quantize_op *op, clq_cpu_ew_job *j);
void clq__cpu_dequantize_job(const clq_cpu_state *st, const clq_dequantize_op *op,
                             clq_cpu_ew_job *j);

/* Runs j's kernels over elements [e0, e1) on the calling thread, with element e0's input
 * at in and its output at out, one value of in_size / out_size bytes each (a 4-bit side
 * one value per byte: both sizes must be set, cfg.packed 0): a composite op chains maps
 * through small buffers of its own this way (cpu_error.c). */
void clq__cpu_ew_span(const clq_cpu_ew_job *j, size_t e0, size_t e1, const void *in, void *out);

/* Whether every run/blocks segment the walk emits for l starts at an even element
 * (only the tensor's last one may be odd) and no vec segment is emitted. */
int clq__cpu_ew_even_segments(const clq_layout *l);

/* ---- reductions ------------------------------------------------------------ */

/* A reduction's accumulators: up to two arrays of 32-bit values indexed by param
 * (min/max: mn, mx; row sums: the sums): the op's outputs, or one slice's partials. */
typedef struct clq_cpu_acc {
    void *v[2];
} clq_cpu_acc;

struct clq_cpu_red_job;

/* An op's side of a reduction: segment kernels that merge elements into the
 * accumulators (as the walker's callbacks, cpu_walk.h, with x at the segment's
 * first element; blocks initialises and finishes its params itself, rows may
 * be NULL), and
 * init / finish over params [p, p+n). merge (dst op= src over [0, np)) lets the
 * driver split the elements into slices with partial accumulators; without it
 * every param has one owner. */
typedef struct clq_cpu_red_ops {
    void (*run)(const struct clq_cpu_red_job *j, const void *x, size_t n, const clq_cpu_acc *a,
                size_t p);
    void (*vec)(const struct clq_cpu_red_job *j, const void *x, size_t n, const clq_cpu_acc *a,
                size_t p);
    void (*rows)(const struct clq_cpu_red_job *j, const void *x, size_t n, size_t nrows,
                 const clq_cpu_acc *a, size_t p);
    void (*blocks)(const struct clq_cpu_red_job *j, const void *x, size_t block, size_t nblk,
                   const clq_cpu_acc *a, size_t p);
    void (*init)(const struct clq_cpu_red_job *j, const clq_cpu_acc *a, size_t p, size_t n);
    void (*finish)(const struct clq_cpu_red_job *j, const clq_cpu_acc *a, size_t p, size_t n);
    void (*merge)(const struct clq_cpu_red_job *j, const clq_cpu_acc *dst, const clq_cpu_acc *src,
                  size_t np);
    int narrays; /* accumulator arrays per set: 1 or 2 */
} clq_cpu_red_ops;

/* One reduction. The input is dense, or (row_len) rows of row_len elements every
 * row_ld elements, which needs a layout whose segments never cross such a row. */
typedef struct clq_cpu_red_job {
    const clq_cpu_red_ops *ops;
    const void *k; /* the op's kernel set, for ops */
    clq_dtype xt;  /* the input type, for ops */
    const clq_layout *lay;
    const char *x;
    size_t xs;             /* bytes per input element */
    size_t row_len, row_ld; /* 0: dense */
    clq_cpu_acc out;       /* nparams each */
    int stream;            /* blocks may write out non-temporally (chunks end with a fence) */
} clq_cpu_red_job;

/* Runs j: chunks of params each with one owner (blocks, runs of params along
 * the axis), or, when there are few params, slices of the elements with partial
 * accumulators (kept in scratch, acquired in CLQ_PASS_PREPARE so the run pass
 * cannot fail) merged in slice order. merge must be order-independent (min/max
 * once finish makes zeros +0.0, integer sums mod 2^32): the split, which depends
 * on the thread count, never changes the bits. */
clq_status clq__cpu_red_run(clq_context *ctx, clq_cpu_red_job *j, clq_pass pass);

#endif
