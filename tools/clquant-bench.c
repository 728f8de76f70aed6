/* clquant-bench.c: measures clquant's ops on one backend, each against a plain
 * copy of the same bytes in the same run, and cold vs warm startup; `gemm` runs
 * the int8 GEMM section (bench_gemm.c) instead, `linear` the quantized linear layer
 * (bench_linear.c). Public API only, but for the histogram section (bench_calib.c). */
#include "bench.h"

#include <clquant/clquant_cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define DEFAULT_SIZE_MIB 256
#define QUICK_SIZE_MIB 32
#define DEFAULT_RUNS 7
#define QUICK_RUNS 5
#define MIN_RUNS 5
#define MAX_RUNS 64
#define COLS 4096    /* row length of the 2-D working tensor [rows, COLS] */
#define FILL_CHUNK (256 * 1024) /* elements per host->device fill write */

/* ---- the cases: one row each; a later section (gemm) adds kinds and rows ---- */

typedef enum op_kind { OP_QUANTIZE, OP_DEQUANTIZE, OP_MINMAX, OP_DYNAMIC } op_kind;

/* Which of the project's performance goals a row is held to. */
typedef enum goal_kind {
    GOAL_NONE,
    GOAL_STREAM, /* CPU: >= 0.9x copy; OpenCL: >= 0.55x copy */
    GOAL_BLOCK,  /* CPU: >= 0.9x copy; OpenCL: >= 0.55x copy and >= 0.8x the per-tensor op */
    GOAL_CPU     /* CPU: >= 0.9x copy (issue 8); OpenCL: none */
} goal_kind;

typedef struct bench_case {
    const char *op;  /* name used by --ops and printed in the table */
    op_kind kind;
    clq_dtype in;    /* element type read */
    clq_dtype out;   /* element type written (minmax: f32 min and max arrays) */
    clq_granularity gran;
    int axis;        /* PER_AXIS / PER_BLOCK */
    size_t block;    /* PER_BLOCK */
    unsigned qflags; /* CLQ_QPARAMS_TRUSTED, or 0: each call reads scale/zp back to check them */
    goal_kind goal;
} bench_case;

#define TRUSTED CLQ_QPARAMS_TRUSTED
static const bench_case cases[] = {
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S8, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_STREAM},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_U8, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_STREAM},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S4, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_STREAM},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S8, CLQ_PER_TENSOR, 0, 0, 0, GOAL_NONE},
    {"quantize", OP_QUANTIZE, CLQ_F16, CLQ_S8, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_STREAM},
    {"quantize", OP_QUANTIZE, CLQ_BF16, CLQ_S8, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_STREAM},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S8, CLQ_PER_AXIS, 0, 0, TRUSTED, GOAL_CPU},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S8, CLQ_PER_AXIS, 1, 0, TRUSTED, GOAL_CPU},
    {"quantize", OP_QUANTIZE, CLQ_F16, CLQ_S8, CLQ_PER_AXIS, 0, 0, TRUSTED, GOAL_CPU},
    {"quantize", OP_QUANTIZE, CLQ_BF16, CLQ_S8, CLQ_PER_AXIS, 0, 0, TRUSTED, GOAL_CPU},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S8, CLQ_PER_BLOCK, -1, 32, TRUSTED, GOAL_BLOCK},
    {"quantize", OP_QUANTIZE, CLQ_F32, CLQ_S4, CLQ_PER_BLOCK, -1, 32, TRUSTED, GOAL_CPU},
    {"quantize", OP_QUANTIZE, CLQ_F16, CLQ_S8, CLQ_PER_BLOCK, -1, 32, TRUSTED, GOAL_CPU},
    {"quantize", OP_QUANTIZE, CLQ_BF16, CLQ_S8, CLQ_PER_BLOCK, -1, 32, TRUSTED, GOAL_CPU},
    {"dequantize", OP_DEQUANTIZE, CLQ_S8, CLQ_F32, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_STREAM},
    {"dequantize", OP_DEQUANTIZE, CLQ_S4, CLQ_F32, CLQ_PER_TENSOR, 0, 0, TRUSTED, GOAL_CPU},
    {"dequantize", OP_DEQUANTIZE, CLQ_S8, CLQ_F32, CLQ_PER_AXIS, 0, 0, TRUSTED, GOAL_CPU},
    {"dequantize", OP_DEQUANTIZE, CLQ_S8, CLQ_F32, CLQ_PER_AXIS, 1, 0, TRUSTED, GOAL_CPU},
    {"dequantize", OP_DEQUANTIZE, CLQ_S8, CLQ_F32, CLQ_PER_BLOCK, -1, 32, TRUSTED, GOAL_BLOCK},
    {"dequantize", OP_DEQUANTIZE, CLQ_S4, CLQ_F32, CLQ_PER_BLOCK, -1, 32, TRUSTED, GOAL_CPU},
    {"minmax", OP_MINMAX, CLQ_F32, CLQ_F32, CLQ_PER_TENSOR, 0, 0, 0, GOAL_STREAM},
    {"minmax", OP_MINMAX, CLQ_F16, CLQ_F32, CLQ_PER_TENSOR, 0, 0, 0, GOAL_CPU},
    {"minmax", OP_MINMAX, CLQ_BF16, CLQ_F32, CLQ_PER_TENSOR, 0, 0, 0, GOAL_CPU},
    {"minmax", OP_MINMAX, CLQ_F32, CLQ_F32, CLQ_PER_AXIS, 0, 0, 0, GOAL_CPU},
    {"minmax", OP_MINMAX, CLQ_F32, CLQ_F32, CLQ_PER_AXIS, 1, 0, 0, GOAL_CPU},
    {"minmax", OP_MINMAX, CLQ_F32, CLQ_F32, CLQ_PER_BLOCK, -1, 32, 0, GOAL_BLOCK},
    {"minmax", OP_MINMAX, CLQ_F16, CLQ_F32, CLQ_PER_BLOCK, -1, 32, 0, GOAL_CPU},
    {"minmax", OP_MINMAX, CLQ_BF16, CLQ_F32, CLQ_PER_BLOCK, -1, 32, 0, GOAL_CPU},
    {"dynamic", OP_DYNAMIC, CLQ_F32, CLQ_U8, CLQ_PER_TENSOR, 0, 0, 0, GOAL_NONE},
};
#define NCASES (sizeof cases / sizeof cases[0])

static const char *const op_names[] = {"quantize", "dequantize", "minmax", "dynamic", "error",
                                       "histogram", "startup"};
#define NOPS (sizeof op_names / sizeof op_names[0])

/* ---- state ---------------------------------------------------------------- */

typedef struct bench_args {
    const char *backend_arg; /* NULL: the default (AUTO, or CLQ_BACKEND) */
    clq_backend backend;
    size_t size_mib;
    int runs;
    int quick;
    int probe;
    int want[NOPS];
} bench_args;

/* The working tensors, shared by every case. */
typedef struct bench_data {
    clq_context *ctx;
    size_t rows, cols, n;
    clq_buffer *x32, *x16, *xbf; /* the same values as f32, f16, bf16 */
    clq_buffer *q;               /* quantized values (s8/u8/s4 outputs, dequantize input) */
    clq_buffer *y;               /* f32 dequantize output (and the OpenCL copy peer's dst) */
} bench_data;

/* What one case needs while it runs. */
typedef struct case_run {
    clq_qparams qp;
    clq_tensor in, out;
    clq_buffer *scale, *zp, *mn, *mx;
    size_t nparams;
    size_t bytes; /* read + written per call: input + output + parameters */
} case_run;

typedef struct row_result {
    int done;
    double sec, gbs, peer_gbs, ratio;
} row_result;

/* ---- helpers -------------------------------------------------------------- */

static size_t dtype_bytes(clq_dtype t, size_t n) {
    switch (t) {
    case CLQ_F32: case CLQ_S32: return 4 * n;
    case CLQ_F16: case CLQ_BF16: return 2 * n;
    case CLQ_S8: case CLQ_U8: return n;
    case CLQ_S4: case CLQ_U4: return (n + 1) / 2;
    }
    return 0;
}

static const char *dtype_text(clq_dtype t) { return clq_dtype_name(t); }

const char *bench_backend_text(clq_backend b) {
    return b == CLQ_BACKEND_OPENCL ? "opencl" : b == CLQ_BACKEND_CPU ? "cpu" : "auto";
}

clq_backend bench_parse_backend(const char *v) {
    if (v && !strcmp(v, "auto")) return CLQ_BACKEND_AUTO;
    if (v && !strcmp(v, "opencl")) return CLQ_BACKEND_OPENCL;
    if (v && !strcmp(v, "cpu")) return CLQ_BACKEND_CPU;
    bench_die("--backend wants auto, opencl or cpu, got '%s'", v ? v : "(nothing)");
}

void bench_apply_backend_arg(const char *backend_arg, int quiet) {
    if (!backend_arg) return;
    const char *env = getenv("CLQ_BACKEND");
    if (env && strcmp(env, backend_arg) && !quiet)
        fprintf(stderr, "clquant-bench: --backend %s overrides CLQ_BACKEND=%s\n", backend_arg, env);
    setenv("CLQ_BACKEND", backend_arg, 1);
}

void bench_print_header(clq_context *ctx, const char *backend_arg) {
    const char *fallback = clq_context_fallback_reason(ctx);
    printf("# clquant-bench %s (library %s)\n\n", CLQ_VERSION_STRING, clq_version_string());
    printf("- backend: %s (requested: %s)\n", bench_backend_text(clq_context_backend(ctx)),
           backend_arg ? backend_arg : "default");
    printf("- device: %s\n", clq_context_device_name(ctx));
    printf("- fallback: %s\n", fallback[0] ? fallback : "none");
}

static void gran_text(const bench_case *c, char *buf, size_t size) {
    if (c->gran == CLQ_PER_TENSOR) snprintf(buf, size, "per tensor");
    else if (c->gran == CLQ_PER_AXIS) snprintf(buf, size, "per axis (axis %d)", c->axis);
    else snprintf(buf, size, "per block (%zu, axis %d)", c->block, c->axis);
}

/* IEEE binary16 from f32, round to nearest even (inputs here are finite and small). */
static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0));
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) { /* f16 subnormal: a multiple of 2^-24, exact in f32 below 1024 */
        float v;
        memcpy(&v, &ax, sizeof v);
        float s = v * 16777216.0f;
        uint32_t m = (uint32_t)s;
        float fr = s - (float)m;
        if (fr > 0.5f || (fr == 0.5f && (m & 1u))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t r = ax - 0x38000000u, h = r >> 13, rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: clquant-bench [--backend auto|opencl|cpu] [--size-mib N] [--runs N]\n"
            "                     [--ops LIST] [--quick]\n"
            "       clquant-bench gemm [options]   (int8 GEMM; clquant-bench gemm --help)\n"
            "       clquant-bench linear [options] (quantized linear layer; clquant-bench linear --help)\n"
            "       clquant-bench tool [options]   (clquant quantize vs cat; clquant-bench tool --help)\n"
            "  --backend   context backend (default: the library default, AUTO, or CLQ_BACKEND)\n"
            "  --size-mib  working set: size of the f32 tensor in MiB (default %d; --quick: %d)\n"
            "  --runs      timed runs per case, median reported, %d..%d (default %d; --quick: %d)\n"
            "  --ops       comma-separated: quantize,dequantize,minmax,dynamic,error,histogram,\n"
            "              startup (default all; error: bench_error.c, histogram: bench_calib.c)\n"
            "  --quick     small working set and fewer runs\n",
            DEFAULT_SIZE_MIB, QUICK_SIZE_MIB, MIN_RUNS, MAX_RUNS, DEFAULT_RUNS, QUICK_RUNS);
}

static long parse_long(const char *opt, const char *v, long lo, long hi) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi)
        bench_die("%s wants an integer in [%ld, %ld], got '%s'", opt, lo, hi, v ? v : "(nothing)");
    return x;
}

static void parse_ops(bench_args *a, const char *list) {
    char buf[256];
    memset(a->want, 0, sizeof a->want);
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        size_t i;
        if (!strcmp(tok, "all")) {
            for (i = 0; i < NOPS; i++) a->want[i] = 1;
            continue;
        }
        for (i = 0; i < NOPS && strcmp(tok, op_names[i]); i++) {}
        if (i == NOPS)
            bench_die("--ops: unknown op '%s' (known: quantize, dequantize, minmax, dynamic, error, "
                      "histogram, startup, all)", tok);
        a->want[i] = 1;
    }
}

static void parse_args(int argc, char **argv, bench_args *a) {
    long size = -1, runs = -1;
    memset(a, 0, sizeof *a);
    a->backend = CLQ_BACKEND_AUTO;
    for (size_t i = 0; i < NOPS; i++) a->want[i] = 1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--backend")) {
            a->backend = bench_parse_backend(v);
            a->backend_arg = v;
            i++;
        } else if (!strcmp(s, "--size-mib")) {
            size = parse_long(s, v, 1, 1 << 20);
            i++;
        } else if (!strcmp(s, "--runs")) {
            runs = parse_long(s, v, MIN_RUNS, MAX_RUNS);
            i++;
        } else if (!strcmp(s, "--ops")) {
            if (!v) bench_die("--ops wants a comma-separated list");
            parse_ops(a, v);
            i++;
        } else if (!strcmp(s, "--quick")) {
            a->quick = 1;
        } else if (!strcmp(s, "--startup-probe")) {
            a->probe = 1;
        } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            bench_die("unknown argument '%s'", s);
        }
    }
    a->size_mib = size > 0 ? (size_t)size : a->quick ? QUICK_SIZE_MIB : DEFAULT_SIZE_MIB;
    a->runs = runs > 0 ? (int)runs : a->quick ? QUICK_RUNS : DEFAULT_RUNS;
}

/* ---- the working set ------------------------------------------------------ */

static clq_buffer *make_buffer(clq_context *ctx, size_t bytes, const char *what) {
    clq_buffer *b = NULL;
    clq_status st = clq_buffer_create(ctx, bytes, &b);
    if (st != CLQ_SUCCESS)
        bench_die("clq_buffer_create(%s, %zu bytes) failed: %s: %s", what, bytes,
                  clq_status_string(st), clq_context_error_message(ctx));
    return b;
}

/* Values in [-amp, amp) with amp varying by row, so per-axis/per-block params differ. */
static void fill_data(bench_data *d) {
    float *f = malloc(FILL_CHUNK * sizeof *f);
    uint16_t *h = malloc(FILL_CHUNK * sizeof *h), *b = malloc(FILL_CHUNK * sizeof *b);
    unsigned char *qb = malloc(FILL_CHUNK);
    if (!f || !h || !b || !qb) bench_die("out of host memory filling the working set");
    uint32_t s = 0x12345678u;
    for (size_t base = 0; base < d->n; base += FILL_CHUNK) {
        size_t len = d->n - base < FILL_CHUNK ? d->n - base : FILL_CHUNK;
        for (size_t i = 0; i < len; i++) {
            s ^= s << 13, s ^= s >> 17, s ^= s << 5;
            float amp = 1.0f + (float)(((base + i) / d->cols) % 7);
            f[i] = ((float)(s >> 8) * (1.0f / 8388608.0f) - 1.0f) * amp;
            h[i] = f32_to_f16(f[i]);
            uint32_t bits;
            memcpy(&bits, &f[i], sizeof bits);
            b[i] = (uint16_t)(bits >> 16);
            qb[i] = (unsigned char)(s >> 3);
        }
        bench_check(d->ctx, clq_buffer_write(d->x32, base * 4, len * 4, f), "clq_buffer_write(x f32)");
        bench_check(d->ctx, clq_buffer_write(d->x16, base * 2, len * 2, h), "clq_buffer_write(x f16)");
        bench_check(d->ctx, clq_buffer_write(d->xbf, base * 2, len * 2, b), "clq_buffer_write(x bf16)");
        bench_check(d->ctx, clq_buffer_write(d->q, base, len, qb), "clq_buffer_write(q)");
    }
    free(f);
    free(h);
    free(b);
    free(qb);
}

static clq_buffer *input_buffer(const bench_data *d, clq_dtype t) {
    return t == CLQ_F32 ? d->x32 : t == CLQ_F16 ? d->x16 : t == CLQ_BF16 ? d->xbf : d->q;
}

/* ---- one case: prepare, call, release ------------------------------------- */

static void case_prepare(const bench_data *d, const bench_case *c, case_run *r) {
    clq_context *ctx = d->ctx;
    size_t shape[2] = {d->rows, d->cols};
    memset(r, 0, sizeof *r);
    bench_check(ctx, clq_tensor_init(&r->in, c->in, 2, shape, input_buffer(d, c->in)), "clq_tensor_init(in)");
    if (c->kind != OP_MINMAX)
        bench_check(ctx, clq_tensor_init(&r->out, c->out, 2, shape, c->out == CLQ_F32 ? d->y : d->q),
                    "clq_tensor_init(out)");
    clq_qparams_init(&r->qp);
    r->qp.qtype = c->kind == OP_DEQUANTIZE ? c->in : c->kind == OP_MINMAX ? CLQ_S8 : c->out;
    r->qp.granularity = c->gran;
    r->qp.axis = c->axis;
    r->qp.block_size = c->block;
    r->qp.scheme = CLQ_AFFINE;
    r->qp.flags = c->qflags;
    bench_check(ctx, clq_qparams_count(&r->qp, 2, shape, &r->nparams), "clq_qparams_count");
    r->mn = make_buffer(ctx, r->nparams * 4, "min");
    r->mx = make_buffer(ctx, r->nparams * 4, "max");
    size_t in_bytes = dtype_bytes(c->in, d->n);
    if (c->kind == OP_MINMAX) {
        r->bytes = in_bytes + 8 * r->nparams;
        return;
    }
    r->scale = make_buffer(ctx, r->nparams * 4, "scale");
    r->zp = make_buffer(ctx, r->nparams * 4, "zero point");
    r->qp.scale = r->scale;
    r->qp.zero_point = r->zp;
    r->bytes = in_bytes + dtype_bytes(c->out, d->n) + 8 * r->nparams;
    if (c->kind == OP_DYNAMIC) return; /* makes its own parameters */
    /* Valid parameters made once, on the device, from the f32 (or the case's own float) input. */
    clq_tensor src;
    bench_check(ctx, clq_tensor_init(&src, c->kind == OP_QUANTIZE ? c->in : CLQ_F32, 2, shape,
                                     c->kind == OP_QUANTIZE ? input_buffer(d, c->in) : d->x32),
                "clq_tensor_init(params source)");
    bench_check(ctx, clq_minmax(ctx, &src, &r->qp, r->mn, 0, r->mx, 0), "clq_minmax (params)");
    bench_check(ctx, clq_qparams_from_minmax(ctx, r->mn, 0, r->mx, 0, r->nparams, &r->qp),
                "clq_qparams_from_minmax");
    bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
}

static void case_call(clq_context *ctx, const bench_case *c, case_run *r) {
    switch (c->kind) {
    case OP_QUANTIZE:
        bench_check(ctx, clq_quantize(ctx, &r->in, &r->qp, &r->out), "clq_quantize");
        break;
    case OP_DEQUANTIZE:
        bench_check(ctx, clq_dequantize(ctx, &r->in, &r->qp, &r->out), "clq_dequantize");
        break;
    case OP_MINMAX:
        bench_check(ctx, clq_minmax(ctx, &r->in, &r->qp, r->mn, 0, r->mx, 0), "clq_minmax");
        break;
    case OP_DYNAMIC:
        bench_check(ctx, clq_quantize_dynamic(ctx, &r->in, &r->qp, &r->out), "clq_quantize_dynamic");
        break;
    }
    bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
}

static void case_release(case_run *r) {
    clq_buffer_destroy(r->mn);
    clq_buffer_destroy(r->mx);
    clq_buffer_destroy(r->scale);
    clq_buffer_destroy(r->zp);
}

/* Median seconds of the op and of its peer copy over runs, after one warm-up of
 * each (program build, first touch). The two alternate run by run, so a change in
 * the machine's load hits both alike and the ratio stays fair. */
static void case_time(clq_context *ctx, const bench_case *c, case_run *r, bench_peer *peer,
                      size_t copy_bytes, int runs, double *op_sec, double *peer_sec) {
    double t[MAX_RUNS], tp[MAX_RUNS];
    case_call(ctx, c, r);
    bench_peer_once(peer, copy_bytes);
    for (int i = 0; i < runs; i++) {
        double t0 = bench_now();
        case_call(ctx, c, r);
        t[i] = bench_now() - t0;
        tp[i] = bench_peer_once(peer, copy_bytes);
    }
    *op_sec = bench_median(t, runs);
    *peer_sec = bench_median(tp, runs);
}

/* ---- goals ---------------------------------------------------------------- */

static int same_op_per_tensor(const bench_case *a, const bench_case *b) {
    return a->kind == b->kind && a->in == b->in && a->out == b->out && b->gran == CLQ_PER_TENSOR &&
           a->qflags == b->qflags;
}

/* Writes the goal text and returns 1 PASS, 0 MISS, -1 no goal. */
static int judge(const bench_case *c, size_t idx, const row_result *res, int opencl, char *goal,
                 size_t size) {
    if (c->goal == GOAL_NONE) {
        snprintf(goal, size, "-");
        return -1;
    }
    if (!opencl) {
        const double need = 0.9; /* issue 8: every element-wise row at 0.9x copy */
        snprintf(goal, size, ">= %.2fx copy", need);
        return res[idx].ratio >= need;
    }
    if (c->goal == GOAL_CPU) {
        snprintf(goal, size, "-");
        return -1;
    }
    if (c->goal == GOAL_STREAM) {
        snprintf(goal, size, ">= 0.55x copy");
        return res[idx].ratio >= 0.55;
    }
    for (size_t j = 0; j < NCASES; j++) {
        if (!res[j].done || !same_op_per_tensor(c, &cases[j])) continue;
        /* Same element count, so the time ratio is the speed ratio (params bytes aside). */
        double vs = res[j].sec / res[idx].sec;
        snprintf(goal, size, ">= 0.55x copy, >= 0.8x per tensor (%.3fx)", vs);
        return res[idx].ratio >= 0.55 && vs >= 0.8;
    }
    snprintf(goal, size, ">= 0.55x copy (per-tensor row not run)");
    return res[idx].ratio >= 0.55;
}

/* ---- main ----------------------------------------------------------------- */

static size_t case_count_wanted(const bench_args *a) {
    size_t n = 0;
    for (size_t i = 0; i < NCASES; i++)
        for (size_t k = 0; k < NOPS; k++)
            if (a->want[k] && !strcmp(op_names[k], cases[i].op)) n++;
    return n;
}

static int wanted(const bench_args *a, const char *op) {
    for (size_t k = 0; k < NOPS; k++)
        if (a->want[k] && !strcmp(op_names[k], op)) return 1;
    return 0;
}

/* Shrinks the working set to what the OpenCL device can hold, with a note. */
static size_t fit_device(clq_context *ctx, size_t size_mib) {
    unsigned long long max_alloc = 0, global = 0;
    if (!bench_cl_limits(ctx, &max_alloc, &global)) return size_mib;
    /* All buffers together: f32 x + y, f16 + bf16 copies, s8 q, per-block params ~= 3.4x the f32 tensor. */
    size_t by_alloc = (size_t)(max_alloc / MIB);
    size_t by_global = (size_t)((double)global * 0.75 / 3.4 / (double)MIB);
    size_t fit = by_alloc < by_global ? by_alloc : by_global;
    if (size_mib <= fit) return size_mib;
    if (fit < 1) bench_die("the device's memory (max alloc %llu bytes) is too small for the bench", max_alloc);
    printf("note: working set shrunk from %zu MiB to %zu MiB: device max single allocation %llu MiB, "
           "global memory %llu MiB\n", size_mib, fit, max_alloc / MIB, global / MIB);
    return fit;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "gemm")) return bench_gemm_main(argc - 1, argv + 1, argv);
    if (argc > 1 && !strcmp(argv[1], "linear")) return bench_linear_main(argc - 1, argv + 1, argv);
    if (argc > 1 && !strcmp(argv[1], "tool")) return bench_tool_main(argc - 1, argv + 1, argv);
    bench_args a;
    parse_args(argc, argv, &a);
    bench_apply_backend_arg(a.backend_arg, a.probe);
    if (a.probe) return bench_startup_probe(a.backend);

    bench_data d;
    memset(&d, 0, sizeof d);
    d.ctx = bench_context_create(a.backend);
    clq_context *ctx = d.ctx;
    int opencl = clq_context_backend(ctx) == CLQ_BACKEND_OPENCL;
    bench_print_header(ctx, a.backend_arg);

    size_t nwant = case_count_wanted(&a);
    row_result res[NCASES];
    memset(res, 0, sizeof res);
    if (nwant > 0 || wanted(&a, "error")) {
        size_t size_mib = fit_device(ctx, a.size_mib);
        d.cols = COLS;
        d.rows = size_mib * MIB / (4 * COLS);
        d.n = d.rows * d.cols;
        int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
        printf("- working set: %zu MiB f32 tensor [%zu x %zu] = %zu elements (f16/bf16 rows read the "
               "same shape)\n", size_mib, d.rows, d.cols, d.n);
        printf("- timing: median of %d runs after 1 warm-up; monotonic clock around the call + "
               "clq_context_finish; op and peer copy alternate run by run\n", a.runs);
        printf("- GB/s: 1e9 bytes per second, bytes = read + written (input + output + scale/zero "
               "point or min/max arrays, each counted once)\n");
        printf("- quantize/dequantize rows use CLQ_QPARAMS_TRUSTED (valid params made once beforehand "
               "by clq_minmax + clq_qparams_from_minmax), except the row marked \"not TRUSTED\", which "
               "reads scale/zero point back on every call\n");
        char load_before[32], load_after[32];
        bench_loadavg(load_before, sizeof load_before);
        fprintf(stderr, "[setup] allocating and filling %zu MiB ...\n", size_mib);
        d.x32 = make_buffer(ctx, d.n * 4, "x f32");
        d.y = make_buffer(ctx, d.n * 4, "y f32");
        d.x16 = make_buffer(ctx, d.n * 2, "x f16");
        d.xbf = make_buffer(ctx, d.n * 2, "x bf16");
        d.q = make_buffer(ctx, d.n, "q");
        fill_data(&d);

        /* Largest copy any case asks of the peer: half its bytes (a copy reads and writes each). */
        size_t peer_max = d.n * 4;
        bench_peer *peer = bench_peer_create(ctx, d.x32, d.y, peer_max, threads);
        printf("- peer: %s, copying (bytes of the row) / 2, so read + written match the row\n\n",
               bench_peer_describe(peer));

        size_t k = 0;
        for (size_t i = 0; i < NCASES; i++) {
            const bench_case *c = &cases[i];
            if (!wanted(&a, c->op)) continue;
            char g[64];
            gran_text(c, g, sizeof g);
            fprintf(stderr, "[%zu/%zu] %s %s %s->%s ...\n", ++k, nwant, c->op, g, dtype_text(c->in),
                    dtype_text(c->out));
            case_run r;
            case_prepare(&d, c, &r);
            if (r.bytes / 2 > peer_max) bench_die("internal: case needs a larger peer copy");
            size_t copy = (r.bytes / 2) & ~(size_t)15;
            double peer_sec;
            case_time(ctx, c, &r, peer, copy, a.runs, &res[i].sec, &peer_sec);
            res[i].gbs = (double)r.bytes / res[i].sec * 1e-9;
            res[i].peer_gbs = 2.0 * (double)copy / peer_sec * 1e-9;
            res[i].ratio = res[i].gbs / res[i].peer_gbs;
            res[i].done = 1;
            case_release(&r);
        }
        if (wanted(&a, "error"))
            bench_error_section(ctx, d.x32, d.y, d.q, d.rows, d.cols, peer, peer_max, a.runs);
        bench_peer_destroy(peer);

        if (nwant > 0) {
            int pass = 0, miss = 0;
            printf("| op | granularity | dtype | time | GB/s | peer GB/s | ratio | goal | result |\n");
            printf("|---|---|---|---|---|---|---|---|---|\n");
            for (size_t i = 0; i < NCASES; i++) {
                if (!res[i].done) continue;
                const bench_case *c = &cases[i];
                char g[64], goal[96], op[64];
                gran_text(c, g, sizeof g);
                int verdict = judge(c, i, res, opencl, goal, sizeof goal);
                pass += verdict == 1;
                miss += verdict == 0;
                snprintf(op, sizeof op, "%s%s", c->op,
                         (c->kind == OP_QUANTIZE || c->kind == OP_DEQUANTIZE) && !(c->qflags & TRUSTED)
                             ? " (not TRUSTED)" : "");
                printf("| %s | %s | %s->%s | %.2f ms | %.2f GB/s | %.2f GB/s | %.3fx | %s | %s |\n", op, g,
                       dtype_text(c->in), dtype_text(c->out), res[i].sec * 1e3, res[i].gbs,
                       res[i].peer_gbs, res[i].ratio, goal,
                       verdict == 1 ? "PASS" : verdict == 0 ? "MISS" : "-");
            }
            printf("\ngoals: %d PASS, %d MISS (1-min load average before: %s, after: %s)\n", pass, miss,
                   load_before, bench_loadavg(load_after, sizeof load_after));
        }
        clq_buffer_destroy(d.x32);
        clq_buffer_destroy(d.y);
        clq_buffer_destroy(d.x16);
        clq_buffer_destroy(d.xbf);
        clq_buffer_destroy(d.q);
    }
    if (wanted(&a, "histogram")) bench_calib_section(ctx, fit_device(ctx, a.size_mib), a.runs);
    clq_backend used = clq_context_backend(ctx);
    clq_context_destroy(ctx);

    int rc = 0;
    if (wanted(&a, "startup")) rc = bench_startup_section(used, bench_backend_text(used));
    return rc;
}
