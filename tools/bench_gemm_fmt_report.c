/* bench_gemm_fmt_report.c: the format section's report: the formats table, the small-M
 * weight-read table, the peers with the clq format each is paired with, and the goals
 * (issue 10: decode read bandwidth, ONNX Runtime MatMulNBits, 4-bit vs 8-bit). */
#include "bench_gemm_fmt.h"

#include <stdio.h>
#include <string.h>

#define GOAL_READ_BW 0.8  /* CPU, M = 1: weight bytes / time >= 0.8x the memcpy read bandwidth */
#define GOAL_ORT 1.5      /* CPU, M = 1 and 128: >= 1.5x ONNX Runtime MatMulNBits */
#define GOAL_W4_W8 0.9    /* M = 128: 4-bit time <= W8 time / 0.9 */
#define GOAL_W4_M 128

static int find_format(const bench_gemm_args *a, clq_dtype w, clq_granularity g, size_t group,
                       bench_agran ag) {
    for (size_t i = 0; i < a->nformats; i++) {
        const bench_gemm_format *f = &a->formats[i];
        if (f->wtype == w && f->wgran == g && (g != CLQ_PER_BLOCK || f->group == group) && f->agran == ag)
            return (int)i;
    }
    return -1;
}

/* The 8-bit format a 4-bit one is held against: same granularities, s8 for s4 and u8
 * (else s8) for u4. -1: none in the run, or f is 8-bit. */
static int w8_of(const bench_gemm_args *a, const bench_gemm_format *f) {
    if (fmt_bits(f) != 4) return -1;
    int i = find_format(a, f->wtype == CLQ_S4 ? CLQ_S8 : CLQ_U8, f->wgran, f->group, f->agran);
    return i >= 0 || f->wtype == CLQ_S4 ? i : find_format(a, CLQ_S8, f->wgran, f->group, f->agran);
}

/* The clq format an ONNX Runtime case is paired with: MatMulNBits (4-bit, zero point
 * 8: symmetric) level 4 (A int8 symmetric per block, as MLAS quantizes it) with
 * s4:gB:sgroup, else s4:gB:group (A u8 with zero points: more work than the peer's),
 * level 0 (A f32) with s4:gB:row; DynamicQuantizeMatMul (A u8 per tensor, B s8 per
 * column) with s8:ch:tensor. */
static int ort_pair(const bench_gemm_args *a, const bench_ort_case *c) {
    if (!strcmp(c->op, "MatMulNBits") && c->level == 4) {
        int i = find_format(a, CLQ_S4, CLQ_PER_BLOCK, (size_t)c->block, AGRAN_SGROUP);
        return i >= 0 ? i : find_format(a, CLQ_S4, CLQ_PER_BLOCK, (size_t)c->block, AGRAN_GROUP);
    }
    if (!strcmp(c->op, "MatMulNBits"))
        return find_format(a, CLQ_S4, CLQ_PER_BLOCK, (size_t)c->block, AGRAN_ROW);
    return find_format(a, CLQ_S8, CLQ_PER_AXIS, 0, AGRAN_TENSOR);
}

static double gops(const fmt_shape_result *r, double sec) {
    return sec > 0 ? 2.0 * (double)r->m * (double)r->n * (double)r->k / sec * 1e-9 : 0.0;
}

static void print_formats(const bench_gemm_args *a, const fmt_shape_result *res) {
    char name[40];
    printf("| shape MxNxK | format W:G:A | pack | runs | time (A u8) | GOPS | f32 A in: time (GOPS) | W8 time / this |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (size_t s = 0; s < a->nshapes; s++) {
        const fmt_shape_result *r = &res[s];
        for (size_t v = 0; v < a->nformats; v++) {
            const fmt_result *x = &r->res[v];
            printf("| %zux%zux%zu | %s | ", r->m, r->n, r->k, fmt_text(&a->formats[v], name, sizeof name));
            if (x->status[0]) {
                printf("- | - | %s | - | - | - |\n", x->status);
                continue;
            }
            printf("%.2f ms | %d | %.3f ms | %.1f GOPS | ", x->pack_s * 1e3, x->runs, x->sec * 1e3, gops(r, x->sec));
            if (x->dyn_sec > 0) printf("%.3f ms (%.1f GOPS) | ", x->dyn_sec * 1e3, gops(r, x->dyn_sec));
            else printf("%s | ", x->dyn_status[0] ? x->dyn_status : "-");
            int w8 = w8_of(a, &a->formats[v]);
            if (w8 >= 0 && r->res[w8].sec > 0)
                printf("%.3fx (vs %s) |\n", r->res[w8].sec / x->sec, fmt_text(&a->formats[w8], name, sizeof name));
            else printf("- |\n");
        }
    }
}

static void print_reads(const bench_gemm_args *a, const fmt_shape_result *res) {
    int any = 0;
    char name[40];
    for (size_t s = 0; s < a->nshapes; s++)
        for (size_t v = 0; v < a->nformats; v++) any |= res[s].res[v].read_sec > 0;
    if (!any) return;
    printf("\n| shape MxNxK (small M) | format W:G:A | weight bytes | clq weights read | read peer (runs) | "
           "clq / read peer | memcpy read (runs) | clq / memcpy |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t s = 0; s < a->nshapes; s++)
        for (size_t v = 0; v < a->nformats; v++) {
            const fmt_shape_result *r = &res[s];
            const fmt_result *x = &r->res[v];
            if (x->read_sec <= 0 || x->sec <= 0) continue;
            double b = (double)x->bytes;
            printf("| %zux%zux%zu | %s | %.2f MiB | %.1f GB/s | %.1f GB/s (%d) | %.3fx | %.1f GB/s (%d) | %.3fx |\n",
                   r->m, r->n, r->k, fmt_text(&a->formats[v], name, sizeof name), b / 1048576.0,
                   b / x->sec * 1e-9, b / x->read_sec * 1e-9, x->read_runs, x->read_sec / x->sec,
                   b / x->copy_sec * 1e-9, x->copy_runs, x->copy_sec / x->sec);
        }
}

/* Peer time over the paired format's: f32 A in (what ONNX Runtime's calls take) and A u8. */
static void pair_cell(const bench_gemm_args *a, const fmt_shape_result *r, int pair, double peer_sec) {
    char name[40];
    if (pair < 0) {
        printf(" - (not in --formats) | - | - |\n");
        return;
    }
    const fmt_result *x = &r->res[pair];
    printf(" %s |", fmt_text(&a->formats[pair], name, sizeof name));
    if (x->dyn_sec > 0) printf(" %.3fx |", peer_sec / x->dyn_sec);
    else printf(" - |");
    if (x->sec > 0) printf(" %.3fx |\n", peer_sec / x->sec);
    else printf(" - |\n");
}

static void print_peers(const bench_gemm_args *a, int opencl, const fmt_shape_result *res) {
    int w8 = find_format(a, CLQ_S8, CLQ_PER_AXIS, 0, AGRAN_TENSOR);
    printf("\n| shape MxNxK | peer | runs | time | G(FL)OPS | paired clq format | peer time / clq f32 A in time | "
           "peer time / clq A u8 time |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t s = 0; s < a->nshapes; s++) {
        const fmt_shape_result *r = &res[s];
        for (int k = 0; k < NPEERS; k++) {
            if (!bench_gemm_peer_wanted(a, opencl, (bench_gemm_peer_kind)k)) continue;
            printf("| %zux%zux%zu | %s |", r->m, r->n, r->k, bench_gemm_peer_name((bench_gemm_peer_kind)k));
            if (r->peer_sec[k] <= 0) {
                printf(" - | not built | - | - | - | - |\n");
                continue;
            }
            printf(" %d | %.3f ms | %.1f %s |", r->peer_runs[k], r->peer_sec[k] * 1e3, gops(r, r->peer_sec[k]),
                   k == GEMM_PEER_ONEDNN ? "GOPS" : "GFLOPS");
            pair_cell(a, r, w8, r->peer_sec[k]);
        }
        if (a->no_peers || a->no_ort) continue;
        if (r->ort.skip[0]) {
            printf("| %zux%zux%zu | ONNX Runtime | - | skipped: %s | - | - | - | - |\n", r->m, r->n, r->k, r->ort.skip);
            continue;
        }
        for (int c = 0; c < r->ort.ncases; c++) {
            const bench_ort_case *o = &r->ort.cases[c];
            if (!strcmp(o->op, "MatMulNBits"))
                printf("| %zux%zux%zu | ORT MatMulNBits 4-bit block %d accuracy_level %d |", r->m, r->n, r->k,
                       o->block, o->level);
            else printf("| %zux%zux%zu | ORT %s (int8) |", r->m, r->n, r->k, o->op);
            if (o->sec <= 0) {
                printf(" - | failed: %s | - | - | - | - |\n", o->error);
                continue;
            }
            printf(" %d | %.3f ms | %.1f GOPS (rel. err %.1e) |", o->runs, o->sec * 1e3, gops(r, o->sec), o->rel_err);
            pair_cell(a, r, ort_pair(a, o), o->sec);
        }
    }
}

static void verdict(int ok, int *met, int *miss) {
    printf("%s\n", ok ? "met" : "NOT MET");
    *met += ok;
    *miss += !ok;
}

static int print_goals(const bench_gemm_args *a, int opencl, const fmt_shape_result *res, int *met) {
    int miss = 0;
    char name[40], name8[40];
    *met = 0;
    printf("\ngoals (issue 10):\n");
    for (size_t s = 0; s < a->nshapes; s++) {
        const fmt_shape_result *r = &res[s];
        for (size_t v = 0; !opencl && r->m == 1 && v < a->nformats; v++) {
            const fmt_result *x = &r->res[v];
            printf("- M = 1: weights read >= %.1fx the memcpy read bandwidth, %zux%zux%zu %s: ", GOAL_READ_BW,
                   r->m, r->n, r->k, fmt_text(&a->formats[v], name, sizeof name));
            if (x->sec <= 0 || x->copy_sec <= 0) {
                printf("not measured (%s)\n", x->status[0] ? x->status : "--no-peers");
                continue;
            }
            printf("%.2fx (read peer %.2fx): ", x->copy_sec / x->sec, x->read_sec / x->sec);
            verdict(x->copy_sec / x->sec >= GOAL_READ_BW, met, &miss);
        }
        if (!opencl && (r->m == 1 || r->m == 128) && r->ort.skip[0])
            printf("- >= %.1fx ORT MatMulNBits, %zux%zux%zu: not measured (ONNX Runtime skipped: %s)\n",
                   GOAL_ORT, r->m, r->n, r->k, r->ort.skip);
        for (int c = 0; !opencl && (r->m == 1 || r->m == 128) && c < r->ort.ncases; c++) {
            const bench_ort_case *o = &r->ort.cases[c];
            if (strcmp(o->op, "MatMulNBits")) continue;
            int p = ort_pair(a, o);
            printf("- >= %.1fx ORT MatMulNBits block %d accuracy_level %d, %zux%zux%zu (clq %s): ", GOAL_ORT,
                   o->block, o->level, r->m, r->n, r->k, p >= 0 ? fmt_text(&a->formats[p], name, sizeof name) : "-");
            if (p < 0 || r->res[p].sec <= 0 || o->sec <= 0) {
                printf("not measured (%s)\n", p < 0 ? "format not in --formats"
                                              : o->sec <= 0 ? o->error : r->res[p].status);
                continue;
            }
            /* both take f32 A: clq's f32-A-in time where it ran, else its GEMM alone */
            const fmt_result *x = &r->res[p];
            double t = x->dyn_sec > 0 ? x->dyn_sec : x->sec;
            printf("%.2fx (%s; A u8 GEMM alone %.2fx): ", o->sec / t,
                   x->dyn_sec > 0 ? "f32 A in" : "f32 A in not measured: GEMM alone", o->sec / x->sec);
            verdict(o->sec / t >= GOAL_ORT, met, &miss);
        }
        for (size_t v = 0; r->m == GOAL_W4_M && v < a->nformats; v++) {
            int w8 = w8_of(a, &a->formats[v]);
            if (w8 < 0) continue;
            const fmt_result *x = &r->res[v], *y = &r->res[w8];
            printf("- 4-bit >= %.1fx the 8-bit format's speed, %zux%zux%zu %s vs %s: ", GOAL_W4_W8, r->m, r->n,
                   r->k, fmt_text(&a->formats[v], name, sizeof name), fmt_text(&a->formats[w8], name8, sizeof name8));
            if (x->sec <= 0 || y->sec <= 0) {
                printf("not measured (%s)\n", x->status[0] ? x->status : y->status);
                continue;
            }
            printf("%.2fx: ", y->sec / x->sec);
            verdict(y->sec / x->sec >= GOAL_W4_W8, met, &miss);
        }
    }
    return miss;
}

int fmt_report(clq_context *ctx, const bench_gemm_args *a, int opencl, const fmt_shape_result *res,
               const char *load_before, const char *load_after) {
    double budget;
    int min_runs, max_runs;
    bench_gemm_run_limits(a, &budget, &min_runs, &max_runs);
    bench_print_header(ctx, a->backend_arg);
    printf("- section: weight formats, f32 out: y = sum over groups j of (float)d_j * (sa_j[m] * sb_j[n]), "
           "d_j exact int32 (docs/NUMERICS.md); A u8 [M, K] row-major, B [N, K] packed once per format "
           "(pack: clq_weights_pack + finish, after a first pack took any program build)\n");
    printf("- format W:G:A: W the weights' type (s8, s4: symmetric, no zero point; u8, u4: a zero point "
           "with each scale), G per tensor, per output channel (ch) or per group of N along K (gN), "
           "A's scale and zero point per tensor, per row (per token) or per row and group, or (sgroup) "
           "A s8 with a scale per row and group and no zero point; A's row or "
           "group sums given (as clq_quantize_rowsums writes them); A's qparams CLQ_QPARAMS_TRUSTED\n");
    printf("- each format checked bit-exactly at 16 sampled entries before timing; a format the library "
           "refuses shows the library's message (unsupported: ...) instead of numbers\n");
    bench_gemm_print_environment();
    printf("- timing: median of the runs column after 2 warm-ups (runs from --runs, or as many as fit "
           "%.1f s for the slowest format, %d..%d); wall clock around clq_gemm + clq_context_finish; the "
           "formats run back to back at M <= %d, else alternate run by run; each peer in its own block "
           "after them\n", budget, min_runs, max_runs, SMALL_M);
    printf("- f32 A in: clq_quantize_dynamic of an f32 A into u8 (sgroup: s8, symmetric) with the format's A granularity "
           "(clq_quantize_dynamic_groupsums when the weights have zero points: A's row sums for "
           "ungrouped weights, its sums per group of g for grouped ones), then the GEMM, as one timed run "
           "(the path ONNX Runtime's calls take); its result checked the same way on the A and "
           "parameters it wrote\n");
    printf("- GOPS: 2*M*N*K / median seconds * 1e-9; W8 time / this: the 8-bit format with the same "
           "granularities (s8 for s4, u8 else s8 for u4) over this one (> 1: the 4-bit one is faster)\n");
    printf("- weight bytes: values at their width + f32 scales + zero points (u types) at the values' "
           "width; read peer: those bytes summed once over the online cores; memcpy read: those bytes "
           "copied by %s, bytes / time\n", res[0].copy_desc[0] ? res[0].copy_desc : "memcpy (not run)");
    for (int k = 0; k < NPEERS; k++) {
        if (!bench_gemm_peer_wanted(a, opencl, (bench_gemm_peer_kind)k)) continue;
        const char *d = NULL;
        for (size_t s = 0; s < a->nshapes && !d; s++) d = res[s].peer_desc[k][0] ? res[s].peer_desc[k] : NULL;
        printf("- peer: %s\n", d ? d : "not found at build time");
    }
    int ort_seen = 0;
    for (size_t s = 0; s < a->nshapes && !a->no_peers && !a->no_ort; s++)
        if (res[s].ort.version[0] && !ort_seen++) {
            printf("- peer: ONNX Runtime (tools/bench_ort_peer.py, one subprocess per shape, CPU provider, "
                   "%s; A f32, quantized inside the call where the kernel is int8; weights prepacked as "
                   "initializers; rel. err: sampled entries against the f64 product, relative to sum "
                   "|a||w|): %s\n", res[s].ort.version, res[s].ort.command);
        }
    if (!ort_seen && !a->no_peers && !a->no_ort && a->nshapes)
        printf("- peer: ONNX Runtime skipped: %s\n", res[0].ort.skip);
    printf("\n");
    print_formats(a, res);
    print_reads(a, res);
    if (!a->no_peers) print_peers(a, opencl, res);
    int met = 0, miss = print_goals(a, opencl, res, &met);
    printf("\nsummary: %d goals met, %d not met (1-min load average before: %s, after: %s)\n", met, miss,
           load_before, load_after);
    return miss;
}
