/* bench_gemm_fmt.c: `clquant-bench gemm --formats`: clq_gemm on the weight formats
 * (s8/u8/s4/u4 weights per tensor, channel or group along K; A per tensor, row or
 * group; f32 out), each checked bit-exactly against docs/NUMERICS.md before it is
 * timed, then the peers of the same shape back to back. Tables: bench_gemm_fmt_report.c. */
#include "bench_gemm_fmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char bench_gemm_formats_all[] =
    "s8:ch:tensor,s8:ch:row,s8:g128:row,s8:g32:row,s4:ch:row,s4:g128:row,s4:g32:row,"
    "u4:g128:row,u4:g32:row,s8:g128:group,s8:g32:group,s4:g128:group,s4:g32:group,s4:g128:sgroup,"
    "s4:g32:sgroup";

#define NCHECK 16

/* ---- --formats ------------------------------------------------------------ */

/* A per group of the weights' g (u8 with zero points, or s8 symmetric). */
static int fmt_a_grouped(const bench_gemm_format *f) { return f->agran == AGRAN_GROUP || f->agran == AGRAN_SGROUP; }
static int fmt_a_s8(const bench_gemm_format *f) { return f->agran == AGRAN_SGROUP; }
static const char *const agran_names[] = {"tensor", "row", "group", "sgroup"};

static void parse_one(bench_gemm_args *a, const char *tok) {
    char w[8], g[16], ag[16], tail;
    bench_gemm_format f = {0};
    if (sscanf(tok, "%7[^:]:%15[^:]:%15[^:]%c", w, g, ag, &tail) != 3)
        bench_die("--formats: '%s' is not W:G:A (e.g. s4:g32:row)", tok);
    if (!strcmp(w, "s8")) f.wtype = CLQ_S8;
    else if (!strcmp(w, "u8")) f.wtype = CLQ_U8;
    else if (!strcmp(w, "s4")) f.wtype = CLQ_S4;
    else if (!strcmp(w, "u4")) f.wtype = CLQ_U4;
    else bench_die("--formats: '%s': weights are s8, u8, s4 or u4", tok);
    char *end;
    if (!strcmp(g, "ch")) f.wgran = CLQ_PER_AXIS;
    else if (!strcmp(g, "tensor")) f.wgran = CLQ_PER_TENSOR;
    else if (g[0] == 'g' && (f.group = strtoul(g + 1, &end, 10)) > 0 && !*end && f.group % 16 == 0)
        f.wgran = CLQ_PER_BLOCK;
    else bench_die("--formats: '%s': the weights' granularity is ch, tensor or gN (N a multiple of 16)", tok);
    if (!strcmp(ag, "tensor")) f.agran = AGRAN_TENSOR;
    else if (!strcmp(ag, "row")) f.agran = AGRAN_ROW;
    else if (!strcmp(ag, "group")) f.agran = AGRAN_GROUP;
    else if (!strcmp(ag, "sgroup")) f.agran = AGRAN_SGROUP;
    else bench_die("--formats: '%s': A is per tensor, row, group or sgroup (s8 symmetric per group)", tok);
    if (fmt_a_grouped(&f) && f.wgran != CLQ_PER_BLOCK)
        bench_die("--formats: '%s': A per group needs weights in groups (gN)", tok);
    if (a->nformats == MAX_FORMATS) bench_die("--formats: at most %d formats", MAX_FORMATS);
    a->formats[a->nformats++] = f;
}

void bench_gemm_parse_formats(bench_gemm_args *a, const char *list) {
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "all")) {
            parse_one(a, tok);
            continue;
        }
        char all[sizeof bench_gemm_formats_all], *s2 = NULL;
        memcpy(all, bench_gemm_formats_all, sizeof all);
        for (char *t = strtok_r(all, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) parse_one(a, t);
    }
    if (!a->nformats) bench_die("--formats wants at least one format");
}

/* ---- the format's shape ---------------------------------------------------- */

int fmt_bits(const bench_gemm_format *f) { return f->wtype == CLQ_S4 || f->wtype == CLQ_U4 ? 4 : 8; }
static int fmt_has_zp(const bench_gemm_format *f) { return f->wtype == CLQ_U8 || f->wtype == CLQ_U4; }

size_t fmt_groups(const bench_gemm_format *f, size_t k) {
    return f->wgran == CLQ_PER_BLOCK ? (k + f->group - 1) / f->group : 1;
}

static size_t fmt_pairs(const bench_gemm_format *f, size_t n, size_t k) {
    return f->wgran == CLQ_PER_TENSOR ? 1 : f->wgran == CLQ_PER_AXIS ? n : n * fmt_groups(f, k);
}

size_t fmt_bytes(const bench_gemm_format *f, size_t n, size_t k) {
    size_t bits = (size_t)fmt_bits(f), pairs = fmt_pairs(f, n, k);
    return (n * k * bits + 7) / 8 + pairs * 4 + (fmt_has_zp(f) ? (pairs * bits + 7) / 8 : 0);
}

const char *fmt_text(const bench_gemm_format *f, char *buf, size_t size) {
    char g[24];
    if (f->wgran == CLQ_PER_BLOCK) snprintf(g, sizeof g, "g%zu", f->group);
    else snprintf(g, sizeof g, "%s", f->wgran == CLQ_PER_AXIS ? "ch" : "tensor");
    snprintf(buf, size, "%s:%s:%s", clq_dtype_name(f->wtype), g,
             agran_names[f->agran]);
    return buf;
}

/* A's stored byte as the value it holds (s8 for sgroup). */
static int32_t a_value(const bench_gemm_format *f, uint8_t v) { return fmt_a_s8(f) ? (int32_t)(int8_t)v : (int32_t)v; }

static int type_index(clq_dtype t) { return t == CLQ_S8 ? 0 : t == CLQ_U8 ? 1 : t == CLQ_S4 ? 2 : 3; }

/* Stored weight values of type t, [n][k], one byte each (4-bit: -8..7 or 0..15). */
static const unsigned char *shape_values(fmt_shape *d, clq_dtype t) {
    int i = type_index(t);
    if (d->bvals[i]) return d->bvals[i];
    unsigned char *v = malloc(d->n * d->k + 1);
    if (!v) bench_die("out of host memory for %zux%zu weights", d->n, d->k);
    uint32_t s = 0x2545f491u + (uint32_t)i;
    for (size_t e = 0; e < d->n * d->k; e++) {
        uint32_t r = bench_random(&s) >> 11;
        v[e] = t == CLQ_S4 ? (unsigned char)(int8_t)((int)(r & 15) - 8) : t == CLQ_U4 ? (unsigned char)(r & 15)
                                                                                      : (unsigned char)r;
    }
    return d->bvals[i] = v;
}

static int32_t value(const unsigned char *v, clq_dtype t, size_t e) {
    return t == CLQ_S8 || t == CLQ_S4 ? (int32_t)(int8_t)v[e] : (int32_t)v[e];
}

static void fmt_shape_setup(clq_context *ctx, fmt_shape *d) {
    size_t ash[2] = {d->m, d->k}, csh[2] = {d->m, d->n};
    uint32_t s = 0x9e3779b9u ^ (uint32_t)(d->m * 31 + d->n * 7 + d->k);
    d->ctx = ctx;
    d->a = malloc(d->m * d->k + 1);
    if (!d->a) bench_die("out of host memory for A");
    for (size_t i = 0; i < d->m * d->k; i++) d->a[i] = (uint8_t)(bench_random(&s) >> 11);
    d->ba = bench_upload(ctx, d->a, d->m * d->k, "A u8");
    d->bc = bench_upload(ctx, NULL, d->m * d->n * 4, "C f32");
    float *x = malloc(d->m * d->k * sizeof *x + 4);
    if (!x) bench_die("out of host memory for A f32");
    for (size_t i = 0; i < d->m * d->k; i++) /* rows of different ranges, each around 0 */
        x[i] = ((float)(bench_random(&s) >> 8) * (1.0f / 8388608.0f) - 0.9f) * (float)(1 + (i / d->k) % 5);
    d->bx = bench_upload(ctx, x, d->m * d->k * 4, "A f32");
    free(x);
    d->bad = bench_upload(ctx, NULL, d->m * d->k, "A u8 (dynamic)");
    bench_check(ctx, clq_tensor_init(&d->tx, CLQ_F32, 2, ash, d->bx), "clq_tensor_init(A f32)");
    bench_check(ctx, clq_tensor_init(&d->tad, CLQ_U8, 2, ash, d->bad), "clq_tensor_init(A dynamic)");
    bench_check(ctx, clq_tensor_init(&d->ta, CLQ_U8, 2, ash, d->ba), "clq_tensor_init(A)");
    /* the same bytes as s8 (sgroup), and the dynamic quantization's s8 output */
    bench_check(ctx, clq_tensor_init(&d->ta_s8, CLQ_S8, 2, ash, d->ba), "clq_tensor_init(A s8)");
    bench_check(ctx, clq_tensor_init(&d->tad_s8, CLQ_S8, 2, ash, d->bad), "clq_tensor_init(A s8 dynamic)");
    bench_check(ctx, clq_tensor_init(&d->tc, CLQ_F32, 2, csh, d->bc), "clq_tensor_init(C f32)");
}

static const int8_t *fmt_shape_s8(fmt_shape *d) { return (const int8_t *)shape_values(d, CLQ_S8); }

static void fmt_shape_release(fmt_shape *d) {
    clq_buffer_destroy(d->ba);
    clq_buffer_destroy(d->bc);
    clq_buffer_destroy(d->bx);
    clq_buffer_destroy(d->bad);
    free(d->a);
    for (int i = 0; i < 4; i++) free(d->bvals[i]);
}

/* ---- one format on the shape ----------------------------------------------- */

/* Records a refusal of the library in status (256 bytes); 0 when st is success. */
static int refused(char *status, const clq_context *ctx, clq_status st, const char *what) {
    if (st == CLQ_SUCCESS) return 0;
    const char *msg = clq_context_error_message(ctx);
    if (st == CLQ_ERROR_UNSUPPORTED) snprintf(status, 256, "unsupported: %s", msg);
    else snprintf(status, 256, "%s failed: %s: %s", what, clq_status_string(st), msg);
    return 1;
}

/* A's and B's parameters (host copies kept for the check), B packed, A's group
 * or row sums given as clq_quantize_rowsums writes them. Returns 0 when refused. */
static int run_prepare(fmt_shape *d, fmt_run *r, double *pack_s) {
    clq_context *ctx = d->ctx;
    const bench_gemm_format *f = r->f;
    size_t n = d->n, k = d->k, m = d->m, G = fmt_groups(f, k), pairs = fmt_pairs(f, n, k);
    size_t na = f->agran == AGRAN_TENSOR ? 1 : f->agran == AGRAN_ROW ? m : m * G;
    r->groups = G;
    r->sb = malloc(pairs * sizeof *r->sb);
    r->zb = calloc(pairs, sizeof *r->zb);
    r->sa = malloc(na * sizeof *r->sa);
    r->za = malloc(na * sizeof *r->za);
    r->rs = calloc(m * G + 1, sizeof *r->rs);
    if (!r->sb || !r->zb || !r->sa || !r->za || !r->rs) bench_die("out of host memory for qparams");
    for (size_t i = 0; i < pairs; i++) {
        size_t col = f->wgran == CLQ_PER_BLOCK ? i / G : i, j = f->wgran == CLQ_PER_BLOCK ? i % G : 0;
        r->sb[i] = 0.001f * (float)(1 + (col * 7 + j) % 13);
        if (f->wtype == CLQ_U4) r->zb[i] = 6 + (int32_t)((col + 3 * j) % 5);
        else if (f->wtype == CLQ_U8) r->zb[i] = 124 + (int32_t)((col + 3 * j) % 9);
    }
    for (size_t i = 0; i < na; i++) {
        if (f->agran == AGRAN_TENSOR) r->za[i] = 131, r->sa[i] = 0.02f;
        else if (f->agran == AGRAN_ROW) r->za[i] = 120 + (int32_t)(i % 23), r->sa[i] = 0.01f * (float)(1 + i % 5);
        else r->za[i] = fmt_a_s8(f) ? 0 : 110 + (int32_t)((i * 7) % 37), r->sa[i] = 0.005f * (float)(1 + i % 7);
    }
    for (size_t row = 0; row < m; row++)
        for (size_t kk = 0; kk < k; kk++)
            r->rs[row * G + kk / (f->wgran == CLQ_PER_BLOCK ? f->group : k)] += a_value(f, d->a[row * k + kk]);

    /* B as clq_weights_pack takes it: [n][k] of wtype, 4-bit element e in byte e / 2, low nibble first */
    const unsigned char *v = shape_values(d, f->wtype);
    int bits = fmt_bits(f);
    size_t bbytes = bits == 4 ? (n * k + 1) / 2 : n * k;
    unsigned char *packed = bits == 4 ? calloc(bbytes ? bbytes : 1, 1) : NULL;
    if (bits == 4 && !packed) bench_die("out of host memory packing 4-bit weights");
    for (size_t e = 0; bits == 4 && e < n * k; e++) packed[e / 2] |= (unsigned char)((v[e] & 15u) << (4 * (e & 1)));
    clq_buffer *bb = bench_upload(ctx, bits == 4 ? packed : v, bbytes, "B"), *bsb = bench_upload(ctx, r->sb, pairs * 4, "sb"),
               *bzb = bench_upload(ctx, r->zb, pairs * 4, "zb");
    free(packed);
    size_t bsh[2] = {n, k};
    clq_tensor tb;
    clq_qparams qb;
    bench_check(ctx, clq_tensor_init(&tb, f->wtype, 2, bsh, bb), "clq_tensor_init(B)");
    clq_qparams_init(&qb);
    qb.qtype = f->wtype;
    qb.granularity = f->wgran;
    qb.axis = f->wgran == CLQ_PER_BLOCK ? 1 : 0;
    qb.block_size = f->wgran == CLQ_PER_BLOCK ? f->group : 0;
    qb.scale = bsb;
    qb.zero_point = fmt_has_zp(f) ? bzb : NULL;
    /* A first pack takes any program build, so the timed one is the steady-state cost. */
    clq_status st = clq_weights_pack(ctx, &tb, &qb, 0, &r->w);
    clq_weights_destroy(r->w);
    r->w = NULL;
    double t0 = bench_now();
    if (st == CLQ_SUCCESS) st = clq_weights_pack(ctx, &tb, &qb, 0, &r->w);
    if (st == CLQ_SUCCESS) st = clq_context_finish(ctx);
    *pack_s = bench_now() - t0;
    clq_buffer_destroy(bb);
    clq_buffer_destroy(bsb);
    clq_buffer_destroy(bzb);
    if (refused(r->status, ctx, st, "clq_weights_pack")) return 0;

    r->bsa = bench_upload(ctx, r->sa, na * 4, "sa");
    r->bza = bench_upload(ctx, r->za, na * 4, "za");
    r->brs = bench_upload(ctx, r->rs, m * G * 4, "A's sums");
    clq_qparams_init(&r->qa);
    r->qa.qtype = fmt_a_s8(f) ? CLQ_S8 : CLQ_U8;
    r->qa.granularity = f->agran == AGRAN_TENSOR ? CLQ_PER_TENSOR : CLQ_PER_BLOCK;
    r->qa.axis = 1;
    r->qa.block_size = fmt_a_grouped(f) ? f->group : k; /* per row: one block of K */
    r->qa.scale = r->bsa;
    r->qa.zero_point = fmt_a_s8(f) ? NULL : r->bza;
    r->qa.flags = CLQ_QPARAMS_TRUSTED;
    clq_gemm_options_init(&r->opts);
    r->opts.a_rowsums = r->brs;

    /* f32 A in: the same granularity, parameters and sums made on the device */
    r->dsa = bench_upload(ctx, NULL, na * 4, "sa (dynamic)");
    r->dza = bench_upload(ctx, NULL, na * 4, "za (dynamic)");
    r->drs = bench_upload(ctx, NULL, m * G * 4, "A's sums (dynamic)");
    r->qdyn = r->qa;
    r->qdyn.scheme = fmt_a_s8(f) ? CLQ_SYMMETRIC : CLQ_AFFINE;
    r->qdyn.scale = r->dsa;
    r->qdyn.zero_point = fmt_a_s8(f) ? NULL : r->dza;
    r->qdyn.flags = 0;
    r->qdyn_gemm = r->qdyn;
    r->qdyn_gemm.flags = CLQ_QPARAMS_TRUSTED; /* made by the call before: valid */
    /* The quantization writes the sums the GEMM reads: per row for ungrouped weights,
     * per row and group of g for grouped ones (clq_quantize_dynamic_groupsums, whatever
     * A's granularity); without zero points none are read. */
    clq_gemm_options_init(&r->dopts);
    r->dgroup = f->wgran == CLQ_PER_BLOCK ? f->group : 0;
    r->dopts.a_rowsums = fmt_has_zp(f) ? r->drs : NULL;
    return 1;
}

static clq_status run_call(fmt_shape *d, fmt_run *r) {
    clq_status st = clq_gemm(d->ctx, fmt_a_s8(r->f) ? &d->ta_s8 : &d->ta, &r->qa, r->w, &r->opts, &d->tc);
    return st == CLQ_SUCCESS ? clq_context_finish(d->ctx) : st;
}

/* The activation path of a quantized linear layer, f32 A in: A's sums from the
 * quantization where they are the GEMM's (see run_prepare). */
static clq_status run_dyn_call(fmt_shape *d, fmt_run *r) {
    const clq_tensor *ad = fmt_a_s8(r->f) ? &d->tad_s8 : &d->tad;
    clq_status st = r->dopts.a_rowsums
                        ? clq_quantize_dynamic_groupsums(d->ctx, &d->tx, &r->qdyn, ad, r->dgroup, r->drs, 0)
                        : clq_quantize_dynamic(d->ctx, &d->tx, &r->qdyn, ad);
    if (st == CLQ_SUCCESS) st = clq_gemm(d->ctx, ad, &r->qdyn_gemm, r->w, &r->dopts, &d->tc);
    return st == CLQ_SUCCESS ? clq_context_finish(d->ctx) : st;
}

/* Sampled entries in the contract's order: d_j exact, s_j = sa_j[m] * sb_j[n],
 * y = (float)d_0 * s_0, then y = y + (float)d_j * s_j, one rounding a step. */
static int run_check(fmt_shape *d, fmt_run *r, const uint8_t *a, const int32_t *za, const float *sa,
                     char *status) {
    const bench_gemm_format *f = r->f;
    size_t G = r->groups, g = f->wgran == CLQ_PER_BLOCK ? f->group : d->k;
    float *y = malloc(d->m * d->n * sizeof *y + 4);
    if (!y) bench_die("out of host memory reading C back");
    bench_check(d->ctx, clq_buffer_read(d->bc, 0, d->m * d->n * 4, y), "clq_buffer_read(C)");
    const unsigned char *v = shape_values(d, f->wtype);
    uint32_t s = 12345;
    int ok = 1;
    for (int i = 0; ok && i < NCHECK; i++) {
        size_t m = i == 0 ? 0 : i == 1 ? d->m - 1 : bench_random(&s) % d->m;
        size_t n = i == 0 ? 0 : i == 1 ? d->n - 1 : bench_random(&s) % d->n;
        float want = 0.0f;
        for (size_t j = 0; j < G; j++) {
            size_t ia = f->agran == AGRAN_TENSOR ? 0 : f->agran == AGRAN_ROW ? m : m * G + j;
            size_t ib = f->wgran == CLQ_PER_TENSOR ? 0 : f->wgran == CLQ_PER_AXIS ? n : n * G + j;
            int64_t dj = 0;
            for (size_t kk = j * g; kk < d->k && kk < (j + 1) * g; kk++)
                dj += (int64_t)(a_value(f, a[m * d->k + kk]) - za[ia]) *
                      (value(v, f->wtype, n * d->k + kk) - r->zb[ib]);
            float sj = sa[ia] * r->sb[ib], t = (float)(int32_t)dj * sj;
            want = j ? want + t : t;
        }
        float got = y[m * d->n + n];
        if (memcmp(&got, &want, sizeof got)) {
            snprintf(status, 256, "WRONG: C[%zu][%zu] = %.9g, the contract gives %.9g",
                     m, n, (double)got, (double)want);
            ok = 0;
        }
    }
    free(y);
    return ok;
}

/* The f32-A-in call's result against the contract, on the A and parameters its
 * quantization wrote (read back). */
static int run_dyn_check(fmt_shape *d, fmt_run *r) {
    const bench_gemm_format *f = r->f;
    size_t na = f->agran == AGRAN_TENSOR ? 1 : f->agran == AGRAN_ROW ? d->m : d->m * r->groups;
    uint8_t *a = malloc(d->m * d->k + 1);
    int32_t *za = malloc(na * 4);
    float *sa = malloc(na * 4);
    if (!a || !za || !sa) bench_die("out of host memory reading A back");
    bench_check(d->ctx, clq_buffer_read(d->bad, 0, d->m * d->k, a), "clq_buffer_read(A dynamic)");
    if (fmt_a_s8(f)) memset(za, 0, na * 4); /* symmetric: no zero point */
    else bench_check(d->ctx, clq_buffer_read(r->dza, 0, na * 4, za), "clq_buffer_read(za dynamic)");
    bench_check(d->ctx, clq_buffer_read(r->dsa, 0, na * 4, sa), "clq_buffer_read(sa dynamic)");
    int ok = run_check(d, r, a, za, sa, r->dyn_status);
    free(a);
    free(za);
    free(sa);
    return ok;
}

static void run_release(fmt_run *r) {
    clq_weights_destroy(r->w);
    clq_buffer_destroy(r->dsa);
    clq_buffer_destroy(r->dza);
    clq_buffer_destroy(r->drs);
    clq_buffer_destroy(r->bsa);
    clq_buffer_destroy(r->bza);
    clq_buffer_destroy(r->brs);
    free(r->sa);
    free(r->za);
    free(r->sb);
    free(r->zb);
    free(r->rs);
}

typedef struct timing_arg {
    fmt_shape *d;
    fmt_run *runs;
} timing_arg;

/* Variant 2f: format f's GEMM; 2f + 1: its f32-A-in path. */
static double format_once(void *arg, int v) {
    timing_arg *t = arg;
    double t0 = bench_now();
    clq_status st = v & 1 ? run_dyn_call(t->d, &t->runs[v / 2]) : run_call(t->d, &t->runs[v / 2]);
    if (st != CLQ_SUCCESS) bench_check(t->d->ctx, st, v & 1 ? "f32 A in (format section)" : "clq_gemm (format section)");
    return bench_now() - t0;
}

typedef struct copy_arg {
    bench_peer *p;
    size_t bytes;
} copy_arg;

static double copy_once(void *arg) {
    copy_arg *c = arg;
    return bench_peer_once(c->p, c->bytes);
}

/* One shape: every format prepared and checked, timed together, then at small M
 * (CPU path) the read and copy peers over each format's bytes, the GEMM peers and
 * ONNX Runtime: all back to back. */
static void run_shape(clq_context *ctx, const bench_gemm_args *a, int opencl, size_t idx,
                      fmt_shape_result *sr) {
    fmt_shape d;
    memset(&d, 0, sizeof d);
    d.m = sr->m, d.n = sr->n, d.k = sr->k;
    int nf = (int)a->nformats, threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    char label[96], name[40];
    snprintf(label, sizeof label, "[%zu/%zu] %zux%zux%zu", idx + 1, a->nshapes, d.m, d.n, d.k);
    fmt_shape_setup(ctx, &d);
    fmt_run runs[MAX_FORMATS];
    int skip[2 * MAX_FORMATS];
    double warm = 0.0, med[2 * MAX_FORMATS];
    memset(runs, 0, sizeof runs);
    for (int v = 0; v < nf; v++) {
        fmt_run *r = &runs[v];
        r->f = &a->formats[v];
        fprintf(stderr, "%s: %s: packing, warm-up and check ...\n", label, fmt_text(r->f, name, sizeof name));
        skip[2 * v] = skip[2 * v + 1] = 1;
        if (!run_prepare(&d, r, &sr->res[v].pack_s) || refused(r->status, ctx, run_call(&d, r), "clq_gemm") ||
            !run_check(&d, r, d.a, r->za, r->sa, r->status)) {
            fprintf(stderr, "%s: %s: %s\n", label, name, r->status);
            continue;
        }
        for (int dyn = 0; dyn < 2; dyn++) {
            if (dyn && (refused(r->dyn_status, ctx, run_dyn_call(&d, r), "f32 A in") || !run_dyn_check(&d, r))) {
                fprintf(stderr, "%s: %s, f32 A in: %s\n", label, name, r->dyn_status);
                break;
            }
            double t0 = bench_now();
            clq_status st = dyn ? run_dyn_call(&d, r) : run_call(&d, r);
            bench_check(ctx, st, "clq_gemm (format section, warm-up)");
            double t = bench_now() - t0;
            warm = t > warm ? t : warm;
            skip[2 * v + dyn] = 0;
        }
    }
    int nruns = bench_gemm_runs_for(a, warm);
    fprintf(stderr, "%s: clq_gemm, %d formats x 2 (A u8, f32) x %d runs (%.3f s the slowest) ...\n", label,
            nf, nruns, warm);
    bench_gemm_settle();
    timing_arg targ = {&d, runs};
    bench_gemm_time_variants(d.m, 2 * nf, skip, nruns, format_once, &targ, med);
    for (int v = 0; v < nf; v++) {
        fmt_result *res = &sr->res[v];
        snprintf(res->status, sizeof res->status, "%s", runs[v].status);
        snprintf(res->dyn_status, sizeof res->dyn_status, "%s", runs[v].dyn_status);
        res->sec = med[2 * v];
        res->dyn_sec = med[2 * v + 1];
        res->runs = skip[2 * v] ? 0 : nruns;
        res->bytes = fmt_bytes(&a->formats[v], d.n, d.k);
    }
    if (!opencl && !a->no_peers && d.m <= SMALL_M) {
        size_t most = 0;
        for (int v = 0; v < nf; v++) most = sr->res[v].bytes > most ? sr->res[v].bytes : most;
        bench_peer *cp = bench_peer_create(ctx, NULL, NULL, most, threads);
        snprintf(sr->copy_desc, sizeof sr->copy_desc, "%s", bench_peer_describe(cp));
        for (int v = 0; v < nf; v++) {
            fmt_result *res = &sr->res[v];
            if (skip[2 * v]) continue;
            fprintf(stderr, "%s: read and memcpy peers over %s's %zu bytes ...\n", label,
                    fmt_text(&a->formats[v], name, sizeof name), res->bytes);
            res->read_sec = bench_gemm_time_read(a, res->bytes, 1, &res->read_runs);
            copy_arg c = {cp, res->bytes};
            res->copy_sec = bench_gemm_median_of(a, copy_once, &c, &res->copy_runs);
        }
        bench_peer_destroy(cp);
        bench_gemm_settle();
    }
    for (int v = 0; v < nf; v++) run_release(&runs[v]);
    bench_gemm_shape ps = {d.m, d.n, d.k, d.a, FMT_ZA_PEER, fmt_shape_s8(&d), FMT_ZB_PEER};
    bench_gemm_run_peers(ctx, a, opencl, label, &ps, sr->peer_runs, sr->peer_sec, sr->peer_desc);
    if (!a->no_peers && !a->no_ort) {
        fprintf(stderr, "%s: ONNX Runtime (subprocess) ...\n", label);
        bench_ort_run(a, d.m, d.n, d.k, threads, &sr->ort);
        if (sr->ort.skip[0]) fprintf(stderr, "%s: ONNX Runtime skipped: %s\n", label, sr->ort.skip);
        bench_gemm_settle();
    }
    fmt_shape_release(&d);
}

int bench_gemm_formats_run(clq_context *ctx, const bench_gemm_args *a, int opencl) {
    fmt_shape_result *res = calloc(a->nshapes, sizeof *res);
    if (!res) bench_die("out of host memory for the results");
    char load_before[32], load_after[32];
    bench_loadavg(load_before, sizeof load_before);
    for (size_t i = 0; i < a->nshapes; i++) {
        res[i].m = a->shapes[i].m;
        res[i].n = a->shapes[i].n;
        res[i].k = a->shapes[i].k;
        run_shape(ctx, a, opencl, i, &res[i]);
    }
    bench_loadavg(load_after, sizeof load_after);
    int miss = fmt_report(ctx, a, opencl, res, load_before, load_after);
    free(res);
    (void)miss;
    return 0;
}
