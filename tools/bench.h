/* bench.h: helpers shared by the files of clquant-bench: timing, fatal errors,
 * the peer copy each op is compared with, the cold/warm startup section, and the
 * GEMM subcommand (int8 variants, or the weight formats) with its peers. */
#ifndef CLQ_BENCH_H
#define CLQ_BENCH_H

#include <clquant/clquant.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock, seconds. */
double bench_now(void);
/* Median of n values (sorts v). */
double bench_median(double *v, int n);
/* The 1-minute load average ("?" where /proc/loadavg is missing), for the record:
 * other work on the machine shows up in every number. */
const char *bench_loadavg(char *buf, size_t size);

/* Prints "clquant-bench: <message>" to stderr and exits with status 1. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* On failure: prints what failed, the status name and the context's message, exits 1. */
void bench_check(const clq_context *ctx, clq_status st, const char *what);

/* A buffer of `bytes` (at least 1) holding host's bytes when host is given; exits on failure. */
clq_buffer *bench_upload(clq_context *ctx, const void *host, size_t bytes, const char *what);
/* xorshift32: the bench's reproducible operands. */
uint32_t bench_random(uint32_t *s);

/* --backend's value: auto, opencl or cpu; exits with a message otherwise. */
clq_backend bench_parse_backend(const char *v);
const char *bench_backend_text(clq_backend b);
/* Makes --backend win over CLQ_BACKEND (children inherit it), with a note. */
void bench_apply_backend_arg(const char *backend_arg, int quiet);
/* The "# clquant-bench" title and the backend / device / fallback lines. */
void bench_print_header(clq_context *ctx, const char *backend_arg);

/* A context on `backend` (options otherwise default, so the environment applies);
 * exits with the library's own message when creation fails. */
clq_context *bench_context_create(clq_backend backend);

/* The device's max single allocation and global memory through the OpenCL
 * interop; returns 0 (and leaves the outputs alone) on the CPU path. */
int bench_cl_limits(const clq_context *ctx, unsigned long long *max_alloc,
                    unsigned long long *global_mem);

/* The copy every op is compared with: on the CPU path memcpy split over as many
 * threads as the library uses, on OpenCL a uint4 copy kernel built through the
 * interop on the context's own cl_context and queue (copying src -> dst). */
typedef struct bench_peer bench_peer;
bench_peer *bench_peer_create(clq_context *ctx, clq_buffer *src, clq_buffer *dst,
                              size_t max_bytes, int threads);
/* One line saying what the peer is. */
const char *bench_peer_describe(const bench_peer *p);
/* Seconds of one copy of `bytes` (rounded down to 16), finished. */
double bench_peer_once(bench_peer *p, size_t bytes);
void bench_peer_destroy(bench_peer *p);

/* `--ops error` (bench_error.c): the error metrics' rows on the working set [rows, cols]
 * (x f32 in x32; y32 and q are overwritten), against the peer (at most peer_max bytes a
 * copy); prints their table. */
void bench_error_section(clq_context *ctx, clq_buffer *x32, clq_buffer *y32, clq_buffer *q,
                         size_t rows, size_t cols, bench_peer *peer, size_t peer_max, int runs);

/* Child mode (--startup-probe): context creation + first quantize of a small
 * tensor + finish, printed as one "startup_ms=..." line. Returns the exit code. */
int bench_startup_probe(clq_backend backend);
/* Parent side: runs the probe cold (fresh CLQ_CACHE_DIR / POCL_CACHE_DIR) and
 * warm (same dirs), prints both and warm/cold against the goal. Returns non-zero
 * only when a probe could not be run. */
int bench_startup_section(clq_backend backend, const char *backend_arg);

/* `--ops histogram` (bench_calib.c): the calibration histogram's rows and table on ctx
 * over a size_mib f32 tensor, median of runs; returns 0. */
int bench_calib_section(clq_context *ctx, size_t size_mib, int runs);

/* ---- int8 GEMM (bench_gemm.c) ----
 * `clquant-bench gemm [options]`: argv[0] is "gemm"; self is the full argv (the
 * bench may re-run itself with OpenBLAS's environment set). Returns the exit code. */
int bench_gemm_main(int argc, char **argv, char **self);
/* Sets OPENBLAS_CORETYPE for the OpenBLAS peer and re-runs the bench (argv self) when
 * it was unset; nothing without OpenBLAS. */
void bench_gemm_peer_environment(char **self);

/* ---- quantized linear layer (bench_linear.c) ----
 * `clquant-bench linear [options]`: argv[0] is "linear". Returns the exit code. */
int bench_linear_main(int argc, char **argv, char **self);
/* `clquant-bench tool` (bench_tool.c): the clquant tool's quantize against cat. */
int bench_tool_main(int argc, char **argv, char **self);

#define MAX_SHAPES 32
#define MAX_FORMATS 24
#define GEMM_MAX_RUNS 101
#define SMALL_M 16          /* M at or below which B's read bandwidth is reported */
#define NPEERS 3            /* bench_gemm_peer_kind */
#define PEER_DESC_SIZE 400

typedef struct bench_gemm_case {
    const char *set; /* "square", "llm" or "custom" */
    size_t m, n, k;
} bench_gemm_case;

/* A's (scale, zero point) pairs in the format section. */
/* A's granularity in the format section; AGRAN_SGROUP: per group, s8 and symmetric (no
 * zero point), as ONNX Runtime's MatMulNBits accuracy_level 4 and ggml's Q8_0 take A;
 * the others are u8 with zero points. */
typedef enum bench_agran { AGRAN_TENSOR, AGRAN_ROW, AGRAN_GROUP, AGRAN_SGROUP } bench_agran;

/* One weight format of the format section (`--formats`): the weights' type and
 * granularity (per tensor, per channel, or per group of `group` along K) and A's. */
typedef struct bench_gemm_format {
    clq_dtype wtype;       /* S8, U8, S4, U4; u types carry zero points, s types none */
    clq_granularity wgran; /* PER_TENSOR, PER_AXIS (per channel) or PER_BLOCK */
    size_t group;          /* PER_BLOCK: g */
    bench_agran agran;
} bench_gemm_format;

typedef struct bench_gemm_args {
    const char *backend_arg;
    clq_backend backend;
    int runs; /* 0: chosen per shape from the warm-up time */
    int quick, no_f32, no_peers, no_ort;
    size_t nshapes;
    bench_gemm_case shapes[MAX_SHAPES];
    size_t nformats; /* > 0: the format section runs instead of the int8 variants */
    bench_gemm_format formats[MAX_FORMATS];
} bench_gemm_args;

/* Shared by the two gemm sections (bench_gemm.c). */
int bench_gemm_runs_for(const bench_gemm_args *a, double warm_s);
/* Timed seconds per variant and the bounds on runs when --runs is not given. */
void bench_gemm_run_limits(const bench_gemm_args *a, double *budget_s, int *min_runs, int *max_runs);
void bench_gemm_settle(void); /* a pause before another library's block of runs */
void bench_gemm_print_environment(void);
/* Warm-up call, runs from its time (or --runs); returns the median seconds of once(arg). */
double bench_gemm_median_of(const bench_gemm_args *a, double (*once)(void *), void *arg, int *runs);
/* median[v] of `runs` calls of once(arg, v) for each v < nv not skipped (skip may be
 * NULL): back to back per variant when m <= SMALL_M, else alternating run by run. */
void bench_gemm_time_variants(size_t m, int nv, const int *skip, int runs,
                              double (*once)(void *, int), void *arg, double *median);
/* The read peer over `bytes` (bench_gemm_read.c; parts buffers in turn), its runs and
 * median seconds. */
double bench_gemm_time_read(const bench_gemm_args *a, size_t bytes, size_t parts, int *runs);

/* The format section (bench_gemm_fmt.c). "all" is bench_gemm_formats_all. */
extern const char bench_gemm_formats_all[];
void bench_gemm_parse_formats(bench_gemm_args *a, const char *list);
int bench_gemm_formats_run(clq_context *ctx, const bench_gemm_args *a, int opencl);

/* ONNX Runtime's peer (bench_ort.c): tools/bench_ort_peer.py run as a subprocess on
 * one shape with the bench's thread count; its result lines parsed. */
#define ORT_MAX_CASES 8
typedef struct bench_ort_case {
    char op[32];         /* MatMulNBits, DynamicQuantizeMatMul */
    int bits, block, level;
    int runs;
    double sec;          /* 0: failed, see error */
    double rel_err;      /* of its sampled entries, relative to sum |a| |w| */
    char error[160];
} bench_ort_case;
typedef struct bench_ort_result {
    int ncases;
    bench_ort_case cases[ORT_MAX_CASES];
    char skip[256];      /* non-empty: the peer did not run, and why */
    char version[160];   /* its version line */
    char command[768];
} bench_ort_result;
void bench_ort_run(const bench_gemm_args *a, size_t m, size_t n, size_t k, int threads,
                   bench_ort_result *out);

/* One shape's operands as the peers get them: A [M, K] u8 with zero point za,
 * B [N, K] s8 (a row per output channel) with one zero point zb for all channels. */
typedef struct bench_gemm_shape {
    size_t m, n, k;
    const uint8_t *a;
    int32_t za;
    const int8_t *b;
    int32_t zb;
} bench_gemm_shape;

/* The small-M GEMM's read-only peer (bench_gemm_read.c): sums a buffer of `bytes`
 * (B's size) split over `threads` threads; one call reads it once. With parts > 1,
 * parts such buffers, one call each in turn (B's copies from DRAM). */
typedef struct bench_gemm_read bench_gemm_read;
bench_gemm_read *bench_gemm_read_create(size_t bytes, size_t parts, int threads);
double bench_gemm_read_once(bench_gemm_read *r); /* seconds */
void bench_gemm_read_destroy(bench_gemm_read *r);
/* How many copies of `bytes` a run must rotate over so that each finds its copy
 * evicted from the caches: four times the last-level cache (*llc, 0 if unknown; 32
 * MiB assumed then) and 128 MiB at least, 2..64 copies. */
size_t bench_gemm_cold_copies(size_t bytes, size_t *llc);

typedef enum bench_gemm_peer_kind {
    GEMM_PEER_CLBLAST,  /* SGEMM of (A - za)(B - zb)^T on the context's OpenCL queue */
    GEMM_PEER_ONEDNN,   /* u8s8s32 matmul with both zero points, CPU */
    GEMM_PEER_OPENBLAS  /* SGEMM, CPU */
} bench_gemm_peer_kind;

typedef struct bench_gemm_peer bench_gemm_peer;
const char *bench_gemm_peer_name(bench_gemm_peer_kind kind);
/* Whether the peer was found at build time (CLQ_HAVE_CLBLAST, _DNNL, _OPENBLAS). */
int bench_gemm_peer_built(bench_gemm_peer_kind kind);
/* Sets the peer up on s (whose arrays must outlive it), runs it once and checks a
 * few entries of its result; NULL when it was not built in. Exits on failure. */
bench_gemm_peer *bench_gemm_peer_create(bench_gemm_peer_kind kind, clq_context *ctx,
                                        const bench_gemm_shape *s);
const char *bench_gemm_peer_describe(const bench_gemm_peer *p);
/* Seconds of one call, finished (wall clock). */
double bench_gemm_peer_once(bench_gemm_peer *p);
void bench_gemm_peer_destroy(bench_gemm_peer *p);
int bench_gemm_peer_wanted(const bench_gemm_args *a, int opencl, bench_gemm_peer_kind kind);
/* Each wanted and built peer on ps: set-up + check, then its median (sec 0: not run). */
void bench_gemm_run_peers(clq_context *ctx, const bench_gemm_args *a, int opencl, const char *label,
                          const bench_gemm_shape *ps, int runs[NPEERS], double sec[NPEERS],
                          char desc[NPEERS][PEER_DESC_SIZE]);

#endif
