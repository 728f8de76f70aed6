/* bench_gemm.c: `clquant-bench gemm`: clq_gemm's median GOPS on square and LLM shapes,
 * zero points off vs on, the f32 stage, and the peers measured in the same run. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DIM 65536
#define AUTO_MIN_RUNS 3
#define AUTO_MAX_RUNS 101
#define BUDGET_S 2.0       /* timed seconds per variant when --runs is not given */
#define QUICK_BUDGET_S 0.5
#define SETTLE_S 0.2       /* pause before a block of another library's runs: spinning pools idle */
#define SA 0.02f          /* A's scale (f32 stage) */
#define ZA_ON 131          /* A's zero point (u8) with zero points on */
#define ZB_PEER 3          /* oneDNN's weights zero point: per tensor only (see bench_gemm_peer.c) */
#define GOAL_ZP_RATIO 1.10 /* zero points on / off time, K >= 256 */
#define GOAL_ZP_MIN_K 256
#define GOAL_CLBLAST 2.0   /* POCL: int8 GOPS / CLBlast SGEMM GFLOPS at 1024 and 2048 */
#define AIM_CLBLAST 4.0
/* CPU path (issue 8): int8 time against oneDNN u8s8s32 and OpenBLAS SGEMM at 1024^3,
 * 2048^3 and 128x4096x4096; small M (<= 16): B bytes / time against the read peer */
#define GOAL_ONEDNN 1.0
#define GOAL_OPENBLAS 3.0
#define GOAL_READ 0.8
#define NCHECK 16          /* sampled entries of C checked per variant */
#define XSTR(x) STR(x)
#define STR(x) #x

/* ---- the cases: the shapes; --sizes picks some or adds others ---- */

static const bench_gemm_case gemm_cases[] = {
    {"square", 256, 256, 256},   {"square", 512, 512, 512},   {"square", 1024, 1024, 1024},
    {"square", 2048, 2048, 2048}, {"llm", 1, 4096, 4096},     {"llm", 16, 4096, 4096},
    {"llm", 128, 4096, 4096},
};
#define NGEMM_CASES (sizeof gemm_cases / sizeof gemm_cases[0])
static const char QUICK_SIZES[] = "256,512,1x4096x4096";

/* clq_gemm variants timed per shape, interleaved run by run. */
typedef enum variant { V_OFF, V_ON, V_F32, NVARIANTS } variant;
static const char *const variant_text[NVARIANTS] = {
    "s32 out, s8 A (za 0) x s8 B (zb 0)",
    "s32 out, u8 A (za " XSTR(ZA_ON) ") x s8 B (per-channel zb 1..5), A's row sums computed by the call",
    "f32 out of the zero-points-on call: per-channel sb, bias"};

typedef struct shape_result {
    size_t m, n, k;
    double pack_s;
    int runs;
    double sec[NVARIANTS];
    int peer_runs[NPEERS];
    double peer_sec[NPEERS]; /* 0: not run */
    int read_runs;
    double read_sec;         /* CPU, M <= SMALL_M: the read peer; 0: not run */
    /* the same with B from DRAM: runs rotate over cold_copies copies of B */
    size_t cold_copies, llc;
    int cold_runs, cold_read_runs;
    double cold_sec, cold_read_sec; /* 0: not run */
} shape_result;

static void usage(FILE *f) {
    fprintf(f,
            "usage: clquant-bench gemm [--backend auto|opencl|cpu] [--sizes LIST] [--runs N]\n"
            "                          [--quick] [--no-f32] [--no-peers] [--formats LIST] [--no-ort]\n"
            "  --sizes     comma-separated: S (S x S x S), MxNxK, square, llm or all (default all:\n"
            "              256, 512, 1024, 2048 and M = 1, 16, 128 with N = K = 4096; with\n"
            "              --formats: llm)\n"
            "  --runs      timed runs per variant, median reported, 1..%d (default: from the\n"
            "              warm-up, %.1f s per variant, %d..%d runs)\n"
            "  --quick     --sizes %s, %.1f s per variant\n"
            "  --no-f32    skip the f32 output stage\n"
            "  --no-peers  skip CLBlast / oneDNN / OpenBLAS (and ONNX Runtime, the read and\n"
            "              copy peers)\n"
            "  --formats   the weight-format section instead of the int8 variants: a comma-\n"
            "              separated list of W:G:A (W s8, u8, s4 or u4; G ch, tensor or gN with N a\n"
            "              multiple of 16; A tensor, row, group or sgroup: s8 symmetric per group, as ONNX Runtime's accuracy_level 4), or all (%s)\n"
            "  --no-ort    skip the ONNX Runtime peer (%s)\n",
            GEMM_MAX_RUNS, BUDGET_S, AUTO_MIN_RUNS, AUTO_MAX_RUNS, QUICK_SIZES, QUICK_BUDGET_S,
            bench_gemm_formats_all, "tools/bench_ort_peer.py");
}

static void add_shape(bench_gemm_args *a, const char *set, size_t m, size_t n, size_t k) {
    if (a->nshapes == MAX_SHAPES) bench_die("--sizes: at most %d shapes", MAX_SHAPES);
    a->shapes[a->nshapes++] = (bench_gemm_case){set, m, n, k};
}

static void parse_sizes(bench_gemm_args *a, const char *list) {
    char buf[512];
    a->nshapes = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int all = !strcmp(tok, "all"), named = all || !strcmp(tok, "square") || !strcmp(tok, "llm");
        if (named) {
            for (size_t i = 0; i < NGEMM_CASES; i++)
                if (all || !strcmp(tok, gemm_cases[i].set))
                    add_shape(a, gemm_cases[i].set, gemm_cases[i].m, gemm_cases[i].n, gemm_cases[i].k);
            continue;
        }
        unsigned long d[3];
        char tail;
        int got = sscanf(tok, "%lux%lux%lu%c", &d[0], &d[1], &d[2], &tail);
        if (got == 1) d[1] = d[2] = d[0];
        if ((got != 1 && got != 3) || !d[0] || !d[1] || !d[2] || d[0] > MAX_DIM || d[1] > MAX_DIM ||
            d[2] > MAX_DIM)
            bench_die("--sizes: '%s' is not S, MxNxK (each 1..%d), square, llm or all", tok, MAX_DIM);
        add_shape(a, "custom", d[0], d[1], d[2]);
    }
    if (!a->nshapes) bench_die("--sizes wants at least one shape");
}

static void parse_args(int argc, char **argv, bench_gemm_args *a) {
    const char *sizes = NULL;
    memset(a, 0, sizeof *a);
    a->backend = CLQ_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--backend")) {
            a->backend = bench_parse_backend(v);
            a->backend_arg = v;
            i++;
        } else if (!strcmp(s, "--sizes")) {
            if (!v) bench_die("--sizes wants a comma-separated list");
            sizes = v;
            i++;
        } else if (!strcmp(s, "--runs")) {
            char *end;
            long r = v ? strtol(v, &end, 10) : 0;
            if (!v || !*v || *end || r < 1 || r > GEMM_MAX_RUNS)
                bench_die("--runs wants an integer in [1, %d], got '%s'", GEMM_MAX_RUNS, v ? v : "(nothing)");
            a->runs = (int)r;
            i++;
        } else if (!strcmp(s, "--quick")) {
            a->quick = 1;
        } else if (!strcmp(s, "--no-f32")) {
            a->no_f32 = 1;
        } else if (!strcmp(s, "--no-peers")) {
            a->no_peers = 1;
        } else if (!strcmp(s, "--no-ort")) {
            a->no_ort = 1;
        } else if (!strcmp(s, "--formats")) {
            if (!v) bench_die("--formats wants a comma-separated list or all");
            bench_gemm_parse_formats(a, v);
            i++;
        } else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            bench_die("gemm: unknown argument '%s'", s);
        }
    }
    parse_sizes(a, sizes ? sizes : a->nformats ? "llm" : a->quick ? QUICK_SIZES : "all");
}

/* OpenBLAS reads OPENBLAS_CORETYPE once, when it loads, so the bench sets it and
 * re-runs itself (only this process and its children see it; a value already set
 * is kept): Zen on AMD CPUs, SkylakeX on Intel CPUs with AVX-512, which some
 * OpenBLAS versions misdetect on newer models. OpenMP binding is left alone: it would pin the main thread, and
 * with it every thread it starts (clq's pool, OpenBLAS's), to one core. */
void bench_gemm_peer_environment(char **self) {
#ifdef CLQ_HAVE_OPENBLAS
    if (getenv("OPENBLAS_CORETYPE")) return;
    __builtin_cpu_init();
    if (__builtin_cpu_is("amd")) setenv("OPENBLAS_CORETYPE", "Zen", 1);
    else if (__builtin_cpu_supports("avx512bw")) setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    else return;
    execv("/proc/self/exe", self);
    bench_die("could not re-run itself with OPENBLAS_CORETYPE set (execv /proc/self/exe)");
#else
    (void)self;
#endif
}

void bench_gemm_print_environment(void) {
    const char *names[] = {"OPENBLAS_CORETYPE", "OMP_PROC_BIND", "OMP_PLACES", "OMP_NUM_THREADS",
                           "OPENBLAS_NUM_THREADS", "CLQ_CPU_ISA"};
    printf("- environment:");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        printf(" %s=%s", names[i], v ? v : "(unset)");
    }
    printf("\n");
}

/* ---- one shape ------------------------------------------------------------- */

typedef struct shape_data {
    clq_context *ctx;
    size_t m, n, k;
    uint8_t *a_u8;
    int8_t *a_s8, *b;
    int32_t *zb;
    float *sb, *bias;
    clq_buffer *ba_s8, *ba_u8, *bb, *bc32, *bcf, *bzb, *bsb, *bbias, *bza, *bsa;
    clq_packed_weights *w_off, *w_on;
    clq_tensor ta_s8, ta_u8, tc32, tcf, tb;
    clq_qparams qa_off, qa_on, qb_on;
    clq_gemm_options f32_opts;
} shape_data;

static void shape_fill_host(shape_data *d) {
    uint32_t s = 0x9e3779b9u ^ (uint32_t)(d->m * 31 + d->n * 7 + d->k);
    d->a_u8 = malloc(d->m * d->k);
    d->a_s8 = malloc(d->m * d->k);
    d->b = malloc(d->n * d->k);
    d->zb = malloc(d->n * sizeof *d->zb);
    d->sb = malloc(d->n * sizeof *d->sb);
    d->bias = malloc(d->n * sizeof *d->bias);
    if (!d->a_u8 || !d->a_s8 || !d->b || !d->zb || !d->sb || !d->bias)
        bench_die("out of host memory for a %zux%zux%zu GEMM", d->m, d->n, d->k);
    for (size_t i = 0; i < d->m * d->k; i++) {
        d->a_u8[i] = (uint8_t)(bench_random(&s) >> 11);
        d->a_s8[i] = (int8_t)(d->a_u8[i] ^ 0x80u);
    }
    for (size_t i = 0; i < d->n * d->k; i++) d->b[i] = (int8_t)(uint8_t)(bench_random(&s) >> 11);
    for (size_t j = 0; j < d->n; j++) {
        d->zb[j] = 1 + (int32_t)(j % 5);
        d->sb[j] = 0.001f * (float)(1 + j % 13);
        d->bias[j] = 0.25f * (float)((int)(j % 9) - 4);
    }
}

static void shape_setup(clq_context *ctx, shape_data *d, double *pack_s) {
    const float sa = SA;
    const int32_t za = ZA_ON;
    size_t ash[2] = {d->m, d->k}, bsh[2] = {d->n, d->k}, csh[2] = {d->m, d->n};
    shape_fill_host(d);
    d->ba_s8 = bench_upload(ctx, d->a_s8, d->m * d->k, "A s8");
    d->ba_u8 = bench_upload(ctx, d->a_u8, d->m * d->k, "A u8");
    d->bb = bench_upload(ctx, d->b, d->n * d->k, "B");
    d->bc32 = bench_upload(ctx, NULL, d->m * d->n * 4, "C s32");
    d->bcf = bench_upload(ctx, NULL, d->m * d->n * 4, "C f32");
    d->bzb = bench_upload(ctx, d->zb, d->n * 4, "zb");
    d->bsb = bench_upload(ctx, d->sb, d->n * 4, "sb");
    d->bbias = bench_upload(ctx, d->bias, d->n * 4, "bias");
    d->bza = bench_upload(ctx, &za, 4, "za");
    d->bsa = bench_upload(ctx, &sa, 4, "sa");
    bench_check(ctx, clq_tensor_init(&d->ta_s8, CLQ_S8, 2, ash, d->ba_s8), "clq_tensor_init(A s8)");
    bench_check(ctx, clq_tensor_init(&d->ta_u8, CLQ_U8, 2, ash, d->ba_u8), "clq_tensor_init(A u8)");
    bench_check(ctx, clq_tensor_init(&d->tc32, CLQ_S32, 2, csh, d->bc32), "clq_tensor_init(C s32)");
    bench_check(ctx, clq_tensor_init(&d->tcf, CLQ_F32, 2, csh, d->bcf), "clq_tensor_init(C f32)");

    clq_tensor tb;
    clq_qparams qb;
    bench_check(ctx, clq_tensor_init(&tb, CLQ_S8, 2, bsh, d->bb), "clq_tensor_init(B)");
    d->tb = tb;
    clq_qparams_init(&qb);
    qb.qtype = CLQ_S8;
    qb.granularity = CLQ_PER_AXIS;
    qb.axis = 0;
    qb.scale = d->bsb;
    /* The zero-points-off pack goes first: it takes any program build, so the
     * timed pack below is the steady-state cost. */
    bench_check(ctx, clq_weights_pack(ctx, &tb, &qb, 0, &d->w_off), "clq_weights_pack(zb 0)");
    bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
    qb.zero_point = d->bzb;
    double t0 = bench_now();
    bench_check(ctx, clq_weights_pack(ctx, &tb, &qb, 0, &d->w_on), "clq_weights_pack(per-channel zb)");
    bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
    *pack_s = bench_now() - t0;
    d->qb_on = qb;
    size_t max_k = clq_gemm_max_k(CLQ_U8, ZA_ON, d->w_on);
    if (d->k > max_k) bench_die("K = %zu is past clq_gemm_max_k = %zu for these zero points", d->k, max_k);

    clq_qparams_init(&d->qa_off);
    d->qa_off.qtype = CLQ_S8;
    d->qa_off.granularity = CLQ_PER_TENSOR;
    d->qa_off.scale = d->bsa;
    d->qa_off.flags = CLQ_QPARAMS_TRUSTED;
    d->qa_on = d->qa_off;
    d->qa_on.qtype = CLQ_U8;
    d->qa_on.zero_point = d->bza;
    clq_gemm_options_init(&d->f32_opts);
    d->f32_opts.bias = d->bbias;
}

static void shape_release(shape_data *d) {
    clq_weights_destroy(d->w_off);
    clq_weights_destroy(d->w_on);
    clq_buffer *bufs[] = {d->ba_s8, d->ba_u8, d->bb,  d->bc32, d->bcf,
                          d->bzb,   d->bsb,   d->bbias, d->bza, d->bsa};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) clq_buffer_destroy(bufs[i]);
    free(d->a_u8);
    free(d->a_s8);
    free(d->b);
    free(d->zb);
    free(d->sb);
    free(d->bias);
}

static double variant_once(clq_context *ctx, shape_data *d, variant v) {
    double t0 = bench_now();
    clq_status st;
    if (v == V_OFF) st = clq_gemm(ctx, &d->ta_s8, &d->qa_off, d->w_off, NULL, &d->tc32);
    else if (v == V_ON) st = clq_gemm(ctx, &d->ta_u8, &d->qa_on, d->w_on, NULL, &d->tc32);
    else st = clq_gemm(ctx, &d->ta_u8, &d->qa_on, d->w_on, &d->f32_opts, &d->tcf);
    bench_check(ctx, st, v == V_OFF ? "clq_gemm(zero points off)" : v == V_ON ? "clq_gemm(zero points on)"
                                                                         : "clq_gemm(f32)");
    bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
    return bench_now() - t0;
}

static double variant_call(void *d, int v) {
    shape_data *s = d;
    return variant_once(s->ctx, s, (variant)v);
}

/* Sampled entries against exact int64 sums, the f32 stage in its documented order
 * (s = sa * sb[n]; y = (float)C * s + bias[n], each step rounded): speed of a
 * wrong answer is no result. */
static void check_result(clq_context *ctx, shape_data *d, variant v) {
    int32_t *c = malloc(d->m * d->n * sizeof *c);
    float *y = (float *)(void *)c;
    if (!c) bench_die("out of host memory reading C back");
    bench_check(ctx, clq_buffer_read(v == V_F32 ? d->bcf : d->bc32, 0, d->m * d->n * 4, c),
                "clq_buffer_read(C)");
    uint32_t s = 12345;
    for (int i = 0; i < NCHECK; i++) {
        size_t m = i == 0 ? 0 : i == 1 ? d->m - 1 : bench_random(&s) % d->m;
        size_t n = i == 0 ? 0 : i == 1 ? d->n - 1 : bench_random(&s) % d->n;
        int64_t want = 0;
        for (size_t k = 0; k < d->k; k++) {
            int32_t a = v == V_OFF ? d->a_s8[m * d->k + k] : (int32_t)d->a_u8[m * d->k + k] - ZA_ON;
            int32_t b = d->b[n * d->k + k] - (v == V_OFF ? 0 : d->zb[n]);
            want += (int64_t)a * b;
        }
        if (v == V_F32) {
            float scale = SA * d->sb[n], fy = (float)(int32_t)want * scale;
            fy = fy + d->bias[n];
            if (memcmp(&fy, &y[m * d->n + n], sizeof fy))
                bench_die("clq_gemm (%s) gave C[%zu][%zu] = %.9g, expected %.9g", variant_text[v], m, n,
                          (double)y[m * d->n + n], (double)fy);
        } else if (c[m * d->n + n] != want) {
            bench_die("clq_gemm (%s) gave C[%zu][%zu] = %d, expected %lld", variant_text[v], m, n,
                      (int)c[m * d->n + n], (long long)want);
        }
    }
    free(c);
}

void bench_gemm_run_limits(const bench_gemm_args *a, double *budget_s, int *min_runs, int *max_runs) {
    *budget_s = a->quick ? QUICK_BUDGET_S : BUDGET_S;
    *min_runs = AUTO_MIN_RUNS;
    *max_runs = AUTO_MAX_RUNS;
}

int bench_gemm_runs_for(const bench_gemm_args *a, double warm_s) {
    if (a->runs) return a->runs;
    double budget = a->quick ? QUICK_BUDGET_S : BUDGET_S;
    double r = warm_s > 0 ? budget / warm_s : AUTO_MAX_RUNS;
    return r < AUTO_MIN_RUNS ? AUTO_MIN_RUNS : r > AUTO_MAX_RUNS ? AUTO_MAX_RUNS : (int)r;
}

void bench_gemm_settle(void) {
    struct timespec ts = {0, (long)(SETTLE_S * 1e9)};
    nanosleep(&ts, NULL);
}

int bench_gemm_peer_wanted(const bench_gemm_args *a, int opencl, bench_gemm_peer_kind kind) {
    if (a->no_peers) return 0;
    return opencl ? kind == GEMM_PEER_CLBLAST : kind != GEMM_PEER_CLBLAST;
}

/* Warm-up call, runs from its time (or --runs), median seconds of once(arg). */
double bench_gemm_median_of(const bench_gemm_args *a, double (*once)(void *), void *arg, int *runs) {
    double warm = once(arg), t[GEMM_MAX_RUNS];
    *runs = bench_gemm_runs_for(a, warm);
    for (int i = 0; i < *runs; i++) t[i] = once(arg);
    return bench_median(t, *runs);
}

/* Variants alternate so that load spreads over them evenly, except at small M: each
 * variant has its own packed B (16 MiB at K = N = 4096), and two of them alternating
 * fill a 32 MiB L3, so a run read B from L3 or from DRAM by chance (M = 1 was bimodal,
 * 22 or 43 GB/s); the read peer reads one buffer, from L3. Small M runs each variant's
 * runs back to back, as the peer does. */
void bench_gemm_time_variants(size_t m, int nv, const int *skip, int runs,
                              double (*once)(void *, int), void *arg, double *median) {
    double *t = malloc((size_t)(nv ? nv : 1) * GEMM_MAX_RUNS * sizeof *t);
    if (!t) bench_die("out of host memory for the timings");
    if (m <= SMALL_M) {
        for (int v = 0; v < nv; v++)
            for (int i = 0; i < runs && !(skip && skip[v]); i++) t[v * GEMM_MAX_RUNS + i] = once(arg, v);
    } else {
        for (int i = 0; i < runs; i++)
            for (int v = 0; v < nv; v++)
                if (!(skip && skip[v])) t[v * GEMM_MAX_RUNS + i] = once(arg, v);
    }
    for (int v = 0; v < nv; v++)
        median[v] = skip && skip[v] ? 0.0 : bench_median(t + v * GEMM_MAX_RUNS, runs);
    free(t);
}

static double peer_once(void *p) { return bench_gemm_peer_once(p); }

void bench_gemm_run_peers(clq_context *ctx, const bench_gemm_args *a, int opencl, const char *label,
                          const bench_gemm_shape *ps, int runs[NPEERS], double sec[NPEERS],
                          char desc[NPEERS][PEER_DESC_SIZE]) {
    for (int k = 0; k < NPEERS; k++) {
        bench_gemm_peer_kind kind = (bench_gemm_peer_kind)k;
        if (!bench_gemm_peer_wanted(a, opencl, kind) || !bench_gemm_peer_built(kind)) continue;
        fprintf(stderr, "%s: %s: set-up, warm-up, check and runs ...\n", label,
                bench_gemm_peer_name(kind));
        bench_gemm_peer *p = bench_gemm_peer_create(kind, ctx, ps);
        snprintf(desc[k], PEER_DESC_SIZE, "%s", bench_gemm_peer_describe(p));
        bench_gemm_settle();
        sec[k] = bench_gemm_median_of(a, peer_once, p, &runs[k]);
        bench_gemm_peer_destroy(p);
        bench_gemm_settle();
    }
}

static double read_once(void *r) { return bench_gemm_read_once(r); }

double bench_gemm_time_read(const bench_gemm_args *a, size_t bytes, size_t parts, int *runs) {
    bench_gemm_read *rp = bench_gemm_read_create(bytes, parts, (int)sysconf(_SC_NPROCESSORS_ONLN));
    double sec = bench_gemm_median_of(a, read_once, rp, runs);
    bench_gemm_read_destroy(rp);
    bench_gemm_settle();
    return sec;
}

static double variant_call(void *d, int v);

/* B from DRAM: the zero-points-on call over copies of B packed alike, one per run in
 * turn, so that every run finds its B evicted (a decode step's weights, which the
 * other layers' push out of the caches), and the read peer over as many buffers. */
typedef struct cold_set {
    shape_data *d;
    clq_packed_weights **w;
    size_t copies, next;
} cold_set;

static double cold_once(void *arg) {
    cold_set *cs = arg;
    shape_data *d = cs->d;
    clq_packed_weights *keep = d->w_on;
    d->w_on = cs->w[cs->next];
    cs->next = (cs->next + 1) % cs->copies;
    double t = variant_once(d->ctx, d, V_ON);
    d->w_on = keep;
    return t;
}

static void time_cold(const bench_gemm_args *a, shape_data *d, const char *label, shape_result *r) {
    size_t bytes = d->n * d->k;
    cold_set cs = {d, NULL, bench_gemm_cold_copies(bytes, &r->llc), 0};
    cs.w = calloc(cs.copies, sizeof *cs.w);
    if (!cs.w) bench_die("out of host memory for %zu copies of B", cs.copies);
    fprintf(stderr, "%s: B from DRAM: packing %zu copies (%.0f MiB) ...\n", label, cs.copies,
            (double)(cs.copies * bytes) / 1048576.0);
    for (size_t i = 0; i < cs.copies; i++)
        bench_check(d->ctx, clq_weights_pack(d->ctx, &d->tb, &d->qb_on, 0, &cs.w[i]),
                    "clq_weights_pack(a copy of B)");
    for (size_t i = 0; i < cs.copies; i++) cold_once(&cs); /* every copy's first call */
    fprintf(stderr, "%s: B from DRAM: clq_gemm and the read peer over %zu copies ...\n", label,
            cs.copies);
    bench_gemm_settle();
    r->cold_sec = bench_gemm_median_of(a, cold_once, &cs, &r->cold_runs);
    for (size_t i = 0; i < cs.copies; i++) clq_weights_destroy(cs.w[i]);
    free(cs.w);
    r->cold_copies = cs.copies;
    r->cold_read_sec = bench_gemm_time_read(a, bytes, cs.copies, &r->cold_read_runs);
}

static void run_shape(clq_context *ctx, const bench_gemm_args *a, int opencl, size_t idx, shape_result *r,
                      char peer_desc[NPEERS][PEER_DESC_SIZE]) {
    shape_data d;
    memset(&d, 0, sizeof d);
    d.ctx = ctx;
    d.m = r->m;
    d.n = r->n;
    d.k = r->k;
    int nv = a->no_f32 ? V_F32 : NVARIANTS;
    char label[96];
    snprintf(label, sizeof label, "[%zu/%zu] %zux%zux%zu", idx + 1, a->nshapes, d.m, d.n, d.k);
    fprintf(stderr, "%s: packing, warm-up and check ...\n", label);
    shape_setup(ctx, &d, &r->pack_s);
    /* The first call of each variant may build programs; the second one sizes the runs. */
    double warm = 0;
    for (int v = 0; v < nv; v++) {
        variant_once(ctx, &d, (variant)v);
        check_result(ctx, &d, (variant)v);
        double t = variant_once(ctx, &d, (variant)v);
        warm = t > warm ? t : warm;
    }
    r->runs = bench_gemm_runs_for(a, warm);
    fprintf(stderr, "%s: clq_gemm, %d variants x %d runs (%.3f s each) ...\n", label, nv, r->runs, warm);
    bench_gemm_settle();
    bench_gemm_time_variants(d.m, nv, NULL, r->runs, variant_call, &d, r->sec);

    bench_gemm_shape ps = {d.m, d.n, d.k, d.a_u8, ZA_ON, d.b, ZB_PEER};
    bench_gemm_run_peers(ctx, a, opencl, label, &ps, r->peer_runs, r->peer_sec, peer_desc);
    if (!opencl && !a->no_peers && d.m <= SMALL_M) {
        r->read_sec = bench_gemm_time_read(a, d.n * d.k, 1, &r->read_runs);
        time_cold(a, &d, label, r);
    }
    shape_release(&d);
}

/* ---- report ---------------------------------------------------------------- */

static double gops(const shape_result *r, double sec) {
    return sec > 0 ? 2.0 * (double)r->m * (double)r->n * (double)r->k / sec * 1e-9 : 0.0;
}

static void print_table(const bench_gemm_args *a, int opencl, const shape_result *res) {
    printf("| shape MxNxK | pack | runs | s32 zp off | s32 zp on | zp on/off time |%s",
           a->no_f32 ? "" : " f32 zp on |");
    for (int k = 0; k < NPEERS; k++)
        if (bench_gemm_peer_wanted(a, opencl, (bench_gemm_peer_kind)k))
            printf(" %s | int8 / %s |", bench_gemm_peer_name((bench_gemm_peer_kind)k),
                   k == GEMM_PEER_ONEDNN ? "oneDNN" : k == GEMM_PEER_CLBLAST ? "CLBlast" : "OpenBLAS");
    printf("\n|---|---|---|---|---|---|%s", a->no_f32 ? "" : "---|");
    for (int k = 0; k < NPEERS; k++)
        if (bench_gemm_peer_wanted(a, opencl, (bench_gemm_peer_kind)k)) printf("---|---|");
    printf("\n");
    for (size_t i = 0; i < a->nshapes; i++) {
        const shape_result *r = &res[i];
        printf("| %zux%zux%zu | %.3f ms | %d | %.1f GOPS | %.1f GOPS (%.3f ms) | %.3fx |", r->m, r->n, r->k,
               r->pack_s * 1e3, r->runs, gops(r, r->sec[V_OFF]), gops(r, r->sec[V_ON]), r->sec[V_ON] * 1e3,
               r->sec[V_ON] / r->sec[V_OFF]);
        if (!a->no_f32) printf(" %.1f GOPS |", gops(r, r->sec[V_F32]));
        for (int k = 0; k < NPEERS; k++) {
            if (!bench_gemm_peer_wanted(a, opencl, (bench_gemm_peer_kind)k)) continue;
            if (r->peer_sec[k] <= 0) {
                printf(" not built | - |");
                continue;
            }
            printf(" %.1f %s (%d runs) | %.3fx |", gops(r, r->peer_sec[k]),
                   k == GEMM_PEER_ONEDNN ? "GOPS" : "GFLOPS", r->peer_runs[k], r->peer_sec[k] / r->sec[V_ON]);
        }
        printf("\n");
    }
}

/* Small M: B read by the GEMM (bytes of B / time) against the read peer. */
static void print_read_table(const shape_result *res, size_t n) {
    int any = 0;
    for (size_t i = 0; i < n; i++) any |= res[i].read_sec > 0;
    if (!any) return;
    printf("\n| shape MxNxK (small M) | B bytes | clq B read (s32 zp on) | read peer (runs) | clq / peer |\n"
           "|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        const shape_result *r = &res[i];
        if (r->read_sec <= 0) continue;
        double b = (double)r->n * (double)r->k;
        printf("| %zux%zux%zu | %.1f MiB | %.1f GB/s | %.1f GB/s (%d) | %.3fx |\n", r->m, r->n, r->k,
               b / 1048576.0, b / r->sec[V_ON] * 1e-9, b / r->read_sec * 1e-9, r->read_runs,
               r->read_sec / r->sec[V_ON]);
    }
    size_t llc = 0, cold = 0;
    for (size_t i = 0; i < n; i++)
        if (res[i].cold_sec > 0) cold = 1, llc = res[i].llc;
    if (!cold) return;
    printf("\nB from DRAM: each run takes the next of the copies of B (packed alike for clq, "
           "raw bytes for the read peer), together at least 4x the last-level cache (%.0f MiB%s) "
           "and 128 MiB; every copy had its first call before the runs.\n\n"
           "| shape MxNxK (small M, B from DRAM) | copies of B | clq B read (s32 zp on, runs) | "
           "read peer (runs) | clq / peer |\n|---|---|---|---|---|\n",
           (double)(llc ? llc : (size_t)32 << 20) / 1048576.0,
           llc ? "" : ", assumed: the machine did not say");
    for (size_t i = 0; i < n; i++) {
        const shape_result *r = &res[i];
        if (r->cold_sec <= 0 || r->cold_read_sec <= 0) continue;
        double b = (double)r->n * (double)r->k;
        printf("| %zux%zux%zu | %zu (%.0f MiB) | %.1f GB/s (%d) | %.1f GB/s (%d) | %.3fx |\n", r->m,
               r->n, r->k, r->cold_copies, b * (double)r->cold_copies / 1048576.0,
               b / r->cold_sec * 1e-9, r->cold_runs, b / r->cold_read_sec * 1e-9, r->cold_read_runs,
               r->cold_read_sec / r->cold_sec);
    }
}

static int big_shape(const shape_result *r) {
    return (r->m == r->n && r->n == r->k && (r->k == 1024 || r->k == 2048)) ||
           (r->m == 128 && r->n == 4096 && r->k == 4096);
}

/* The CPU path's goals against oneDNN, OpenBLAS and the read peer. */
static void cpu_goals(const shape_result *r, int *met, int *miss) {
    static const struct {
        bench_gemm_peer_kind kind;
        double goal;
    } g[] = {{GEMM_PEER_ONEDNN, GOAL_ONEDNN}, {GEMM_PEER_OPENBLAS, GOAL_OPENBLAS}};
    for (size_t i = 0; big_shape(r) && i < 2; i++) {
        const char *name = bench_gemm_peer_name(g[i].kind);
        if (r->peer_sec[g[i].kind] <= 0) {
            printf("- int8 (s32, zero points on) >= %.1fx %s, %zux%zux%zu: not measured\n", g[i].goal,
                   name, r->m, r->n, r->k);
            continue;
        }
        double q = r->peer_sec[g[i].kind] / r->sec[V_ON];
        int ok = q >= g[i].goal;
        printf("- int8 (s32, zero points on) >= %.1fx %s, %zux%zux%zu: %.2fx: %s\n", g[i].goal, name,
               r->m, r->n, r->k, q, ok ? "met" : "NOT MET");
        *met += ok;
        *miss += !ok;
    }
    if (r->read_sec > 0) {
        double q = r->read_sec / r->sec[V_ON];
        int ok = q >= GOAL_READ;
        printf("- small M: B read >= %.1fx the read peer's bandwidth, %zux%zux%zu: %.2fx: %s\n",
               GOAL_READ, r->m, r->n, r->k, q, ok ? "met" : "NOT MET");
        *met += ok;
        *miss += !ok;
    }
    if (r->cold_sec > 0 && r->cold_read_sec > 0) {
        double q = r->cold_read_sec / r->cold_sec;
        int ok = q >= GOAL_READ;
        printf("- small M, B from DRAM: B read >= %.1fx the read peer's bandwidth, %zux%zux%zu: "
               "%.2fx: %s\n", GOAL_READ, r->m, r->n, r->k, q, ok ? "met" : "NOT MET");
        *met += ok;
        *miss += !ok;
    }
}

/* One line per goal and shape; returns the number not met. */
static int print_goals(const bench_gemm_args *a, int opencl, const shape_result *res, int *met) {
    int miss = 0;
    *met = 0;
    printf("\ngoals:\n");
    for (size_t i = 0; i < a->nshapes; i++) {
        const shape_result *r = &res[i];
        if (r->k < GOAL_ZP_MIN_K) continue;
        double q = r->sec[V_ON] / r->sec[V_OFF];
        int ok = q <= GOAL_ZP_RATIO;
        printf("- zero points on / off time <= %.2fx (K >= %d), %zux%zux%zu: %.3fx: %s\n", GOAL_ZP_RATIO,
               GOAL_ZP_MIN_K, r->m, r->n, r->k, q, ok ? "met" : "NOT MET");
        *met += ok;
        miss += !ok;
    }
    for (size_t i = 0; opencl && i < a->nshapes; i++) {
        const shape_result *r = &res[i];
        if (r->m != r->n || r->n != r->k || (r->k != 1024 && r->k != 2048)) continue;
        if (r->peer_sec[GEMM_PEER_CLBLAST] <= 0) {
            printf("- int8 (s32, zero points on) >= %.0fx CLBlast SGEMM, %zux%zux%zu: not measured "
                   "(CLBlast %s)\n", GOAL_CLBLAST, r->m, r->n, r->k,
                   a->no_peers ? "skipped by --no-peers" : "not found at build time");
            continue;
        }
        double q = r->peer_sec[GEMM_PEER_CLBLAST] / r->sec[V_ON];
        int ok = q >= GOAL_CLBLAST;
        const char *verdict = !ok ? "NOT MET" : q >= AIM_CLBLAST ? "met, aim met" : "met";
        printf("- int8 (s32, zero points on) >= %.0fx CLBlast SGEMM (aim %.0fx), %zux%zux%zu: %.2fx: %s\n",
               GOAL_CLBLAST, AIM_CLBLAST, r->m, r->n, r->k, q, verdict);
        *met += ok;
        miss += !ok;
    }
    for (size_t i = 0; !opencl && i < a->nshapes; i++) cpu_goals(&res[i], met, &miss);
    return miss;
}

int bench_gemm_main(int argc, char **argv, char **self) {
    bench_gemm_args a;
    parse_args(argc, argv, &a);
    bench_gemm_peer_environment(self);
    bench_apply_backend_arg(a.backend_arg, 0);
    clq_context *ctx = bench_context_create(a.backend);
    int opencl = clq_context_backend(ctx) == CLQ_BACKEND_OPENCL;
    if (a.nformats) {
        int rc = bench_gemm_formats_run(ctx, &a, opencl);
        clq_context_destroy(ctx);
        return rc;
    }
    shape_result res[MAX_SHAPES];
    char peer_desc[NPEERS][PEER_DESC_SIZE];
    memset(res, 0, sizeof res);
    memset(peer_desc, 0, sizeof peer_desc);
    char load_before[32], load_after[32];
    bench_loadavg(load_before, sizeof load_before);
    for (size_t i = 0; i < a.nshapes; i++) {
        res[i].m = a.shapes[i].m;
        res[i].n = a.shapes[i].n;
        res[i].k = a.shapes[i].k;
        run_shape(ctx, &a, opencl, i, &res[i], peer_desc);
    }
    bench_loadavg(load_after, sizeof load_after);

    bench_print_header(ctx, a.backend_arg);
    printf("- section: int8 GEMM, C = (A - za)(B - zb)^T, A [M, K] row-major, B [N, K] packed once "
           "(pack time: the per-channel-zb weights, after a first pack took any program build)\n");
    for (int v = 0; v < (a.no_f32 ? V_F32 : NVARIANTS); v++)
        printf("- variant %s: %s\n", v == V_OFF ? "s32 zp off" : v == V_ON ? "s32 zp on" : "f32 zp on",
               variant_text[v]);
    bench_gemm_print_environment();
    printf("- A's qparams are CLQ_QPARAMS_TRUSTED (no read-back per call)\n");
    printf("- timing: median of the runs column after 2 warm-ups (runs from --runs, or as many as fit "
           "%.1f s per variant, %d..%d); wall clock around clq_gemm + clq_context_finish; the clq "
           "variants alternate run by run, each peer runs in its own block after a %.1f s pause\n",
           a.quick ? QUICK_BUDGET_S : BUDGET_S, AUTO_MIN_RUNS, AUTO_MAX_RUNS,
           SETTLE_S);
    printf("- GOPS: 2*M*N*K / median seconds * 1e-9 (GFLOPS for the SGEMM peers, same count); int8 / "
           "peer columns: peer time / clq_gemm s32 zp on time (> 1: clq faster); each clq variant's "
           "result checked bit-exactly at %d sampled entries, each peer's at 4\n", NCHECK);
    for (int k = 0; k < NPEERS; k++) {
        if (!bench_gemm_peer_wanted(&a, opencl, (bench_gemm_peer_kind)k)) continue;
        if (peer_desc[k][0]) printf("- peer: %s\n", peer_desc[k]);
        else printf("- peer: %s not found at build time\n", bench_gemm_peer_name((bench_gemm_peer_kind)k));
    }
    if (!opencl && !a.no_peers)
        printf("- peer: read-only (small M): a buffer of B's bytes summed once, split over the online "
               "cores (threads created per run, as the memcpy peer does)\n");
    printf("\n");
    print_table(&a, opencl, res);
    print_read_table(res, a.nshapes);
    int met = 0, miss = print_goals(&a, opencl, res, &met);
    printf("\nsummary: %d goals met, %d not met (1-min load average before: %s, after: %s)\n", met, miss,
           load_before, load_after);
    clq_context_destroy(ctx);
    return 0;
}
