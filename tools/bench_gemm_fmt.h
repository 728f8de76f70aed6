/* bench_gemm_fmt.h: what the format section's two files (bench_gemm_fmt.c runs the
 * formats, bench_gemm_fmt_report.c prints and judges them) share. */
#ifndef CLQ_BENCH_GEMM_FMT_H
#define CLQ_BENCH_GEMM_FMT_H

#include "bench.h"

#define FMT_ZA_PEER 131 /* the GEMM peers' A zero point (A is the formats' u8 A) */
#define FMT_ZB_PEER 3   /* and their per-tensor weights zero point, on the s8 values */

/* One shape's data, shared by its formats: A u8 [m][k] and C f32 [m][n] on the
 * device, A as f32 [m][k] with the u8 A its dynamic quantization writes, the stored
 * weight values per type on the host (made on first use). */
typedef struct fmt_shape {
    clq_context *ctx;
    size_t m, n, k;
    uint8_t *a;
    clq_buffer *ba, *bc, *bx, *bad;
    clq_tensor ta, tc, tx, tad, ta_s8, tad_s8;
    unsigned char *bvals[4]; /* s8, u8, s4, u4 */
} fmt_shape;

/* One format on a shape while it runs. */
typedef struct fmt_run {
    const bench_gemm_format *f;
    size_t groups;            /* G: ceil(K / g) for grouped weights, else 1 */
    clq_packed_weights *w;
    float *sa, *sb;           /* host copies of A's and B's parameters, for the check */
    int32_t *za, *zb, *rs;    /* rs: A's stored-value sums [m][G] */
    clq_buffer *bsa, *bza, *brs;
    clq_qparams qa;
    clq_gemm_options opts;
    char status[256];         /* empty: measured; else why not */
    /* f32 A in: clq_quantize_dynamic[_groupsums] into qdyn (A's params of the format's
     * granularity, and its sums per group of dgroup (0: per row) when the weights have
     * zero points), then clq_gemm */
    clq_buffer *dsa, *dza, *drs;
    size_t dgroup;
    clq_qparams qdyn, qdyn_gemm;
    clq_gemm_options dopts;
    char dyn_status[256];
} fmt_run;

typedef struct fmt_result {
    char status[256];         /* empty: measured */
    double pack_s, sec;       /* sec: median of runs */
    char dyn_status[256];     /* empty: f32 A in measured */
    double dyn_sec;           /* f32 A in: dynamic quantization of A + the GEMM */
    int runs;
    size_t bytes;             /* the format's weight bytes (fmt_bytes) */
    double read_sec, copy_sec; /* small M, CPU path: the read and memcpy peers over bytes */
    int read_runs, copy_runs;
} fmt_result;

typedef struct fmt_shape_result {
    size_t m, n, k;
    fmt_result res[MAX_FORMATS];
    int peer_runs[NPEERS];
    double peer_sec[NPEERS];
    char peer_desc[NPEERS][PEER_DESC_SIZE];
    char copy_desc[256];
    bench_ort_result ort;
} fmt_shape_result;

int fmt_bits(const bench_gemm_format *f);
size_t fmt_groups(const bench_gemm_format *f, size_t k);
/* Packed values at their width + f32 scales + zero points (u types) at the values'
 * width, one per (n, group) / channel / tensor. */
size_t fmt_bytes(const bench_gemm_format *f, size_t n, size_t k);
const char *fmt_text(const bench_gemm_format *f, char *buf, size_t size);

/* Prints the section's report; returns the number of goals not met. */
int fmt_report(clq_context *ctx, const bench_gemm_args *a, int opencl, const fmt_shape_result *res,
               const char *load_before, const char *load_after);

#endif
