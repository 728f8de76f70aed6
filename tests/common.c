/* common.c: shared test helpers (contexts, generators, sentinel buffers) and tc_run,
 * which turns one case descriptor into inputs, a library call and a bit-exact check. */
#include "common.h"

#include <ctype.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- contexts ---- */

const char *tc_backend_name(clq_backend kind) {
    return kind == CLQ_BACKEND_CPU ? "cpu" : kind == CLQ_BACKEND_OPENCL ? "opencl" : "auto";
}

void tc_skip_or_fail_no_opencl(clq_status st, const char *why) {
    const char *req = getenv("CLQ_TEST_REQUIRE_OPENCL");
    if (req && strcmp(req, "1") == 0)
        cr_assert_fail("no OpenCL device but CLQ_TEST_REQUIRE_OPENCL=1: %s: %s",
                       clq_status_string(st), why);
    cr_skip_test("no OpenCL device (%s): %s", clq_status_string(st), why);
}

clq_context *tc_context_opts(const clq_context_options *opts) {
    clq_context *ctx = NULL;
    clq_status st = clq_context_create(opts, &ctx);
    if (st == CLQ_ERROR_NO_DEVICE && opts->backend == CLQ_BACKEND_OPENCL)
        tc_skip_or_fail_no_opencl(st, "clq_context_create(backend=OPENCL)");
    cr_assert(st == CLQ_SUCCESS && ctx != NULL, "clq_context_create(%s) failed: %s",
              tc_backend_name(opts->backend), clq_status_string(st));
    cr_assert(opts->backend == CLQ_BACKEND_AUTO || clq_context_backend(ctx) == opts->backend,
              "asked for %s, got backend %d",
              tc_backend_name(opts->backend), (int)clq_context_backend(ctx));
    return ctx;
}

clq_context *tc_context(clq_backend kind) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = kind;
    /* the environment must not switch the backend under a test, but the cache dir
     * ctest sets is wanted: read it here and ignore the rest of the environment */
    o.flags |= CLQ_CONTEXT_IGNORE_ENV;
    o.cache_dir = getenv("CLQ_CACHE_DIR");
    return tc_context_opts(&o);
}

void tc_with_backend(clq_backend kind, void (*body)(clq_context *ctx)) {
    clq_context *ctx = tc_context(kind);
    body(ctx);
    clq_context_destroy(ctx);
}

/* ---- random numbers ---- */

void tc_rng_seed(tc_rng *r, uint64_t seed) { r->s = seed * 0x9e3779b97f4a7c15ull + 1; }

uint64_t tc_rng_u64(tc_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double tc_rng_unit(tc_rng *r) { return (double)(tc_rng_u64(r) >> 11) * 0x1p-53; }

float tc_rng_range(tc_rng *r, float lo, float hi) { return (float)(lo + (hi - lo) * tc_rng_unit(r)); }

float tc_rng_normal(tc_rng *r) {
    double u1 = tc_rng_unit(r), u2 = tc_rng_unit(r);
    return (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
}

int tc_rng_int(tc_rng *r, int lo, int hi) {
    return lo + (int)(tc_rng_u64(r) % (uint64_t)(hi - lo + 1));
}

float tc_rng_logscale(tc_rng *r, float lo, float hi) {
    return (float)exp(log(lo) + (log(hi) - log(lo)) * tc_rng_unit(r));
}

static float rsign(tc_rng *r, float v) { return (tc_rng_u64(r) & 1) ? -v : v; }

float tc_value(tc_rng *r, tc_values kind) {
    switch (kind) {
    case TC_NORMAL: return 3.0f * tc_rng_normal(r);
    case TC_UNIFORM: return tc_rng_range(r, -10.0f, 10.0f);
    case TC_UNIFORM_POS: return tc_rng_range(r, 2.0f, 7.0f);
    case TC_UNIFORM_NEG: return tc_rng_range(r, -7.0f, -2.0f);
    case TC_CONSTANT: return 2.75f;
    case TC_ZERO: return rsign(r, 0.0f);
    case TC_HUGE: {
        static const float big[] = {1e30f, FLT_MAX, 3e38f, 1e20f, 1e38f};
        int k = tc_rng_int(r, 0, 6);
        return k < 5 ? rsign(r, big[k]) : tc_rng_normal(r) * 1e10f;
    }
    case TC_TINY: return rsign(r, tc_rng_logscale(r, 1.2e-38f, 1e-30f));
    case TC_DENORMAL: {
        int k = tc_rng_int(r, 0, 9);
        if (k == 0) return rsign(r, 0.0f);
        if (k == 1) return rsign(r, FLT_MIN);
        return rsign(r, ref_bits_f32((uint32_t)(tc_rng_u64(r) % 0x7fffffu) + 1u));
    }
    case TC_SPECIAL: {
        switch (tc_rng_int(r, 0, 9)) {
        case 0: return NAN;
        case 1: return -NAN;
        case 2: return INFINITY;
        case 3: return -INFINITY;
        case 4: return -0.0f;
        case 5: return 0.0f;
        default: return 3.0f * tc_rng_normal(r);
        }
    }
    case TC_ALL_NAN:
        return ref_bits_f32((tc_rng_u64(r) & 1 ? 0xffc00000u : 0x7fc00000u) |
                            (uint32_t)(tc_rng_u64(r) & 0x3fffffu));
    case TC_HALFWAY: return 0.0f; /* set per element by tc_run once the scales exist */
    }
    return 0.0f;
}

const char *tc_values_name(tc_values kind) {
    static const char *names[] = {"normal", "uniform", "uniform_pos", "uniform_neg", "constant", "zero",
                                  "huge", "tiny", "denormal", "special", "all_nan", "halfway"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* ---- buffers ---- */

clq_buffer *tc_buffer(clq_context *ctx, size_t bytes, const void *init) {
    if (bytes == 0) bytes = 1;
    clq_buffer *b = NULL;
    TC_OK(ctx, clq_buffer_create(ctx, bytes, &b));
    if (init) {
        TC_OK(ctx, clq_buffer_write(b, 0, bytes, init));
    } else {
        unsigned char *s = malloc(bytes);
        memset(s, TC_SENTINEL, bytes);
        TC_OK(ctx, clq_buffer_write(b, 0, bytes, s));
        free(s);
    }
    return b;
}

void tc_read(clq_buffer *buf, size_t bytes, void *dst) {
    clq_status st = clq_buffer_read(buf, 0, bytes, dst);
    cr_assert(st == CLQ_SUCCESS, "clq_buffer_read: %s", clq_status_string(st));
}

void tc_assert_untouched(clq_buffer *buf, size_t bytes, const char *what) {
    if (bytes == 0) bytes = 1;
    unsigned char *h = malloc(bytes);
    tc_read(buf, bytes, h);
    for (size_t i = 0; i < bytes; i++)
        cr_assert(h[i] == TC_SENTINEL, "%s: byte %zu written (0x%02x) by a call that failed", what, i,
                  h[i]);
    free(h);
}

/* ---- descriptions ---- */

const char *tc_gran_name(clq_granularity g) {
    return g == CLQ_PER_TENSOR ? "per_tensor" : g == CLQ_PER_AXIS ? "per_axis"
                                            : g == CLQ_PER_BLOCK ? "per_block" : "?";
}

int tc_contains(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    for (; haystack && *haystack; haystack++)
        if (strncasecmp(haystack, needle, n) == 0) return 1;
    return 0;
}

int tc_names(const char *msg, const char *word) {
    size_t n = strlen(word);
    for (const char *p = msg; (p = strstr(p, word)) != NULL; p++) {
        int before = p == msg || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (before && after) return 1;
    }
    return 0;
}

static void append(char *buf, size_t size, const char *fmt, ...) {
    size_t len = strlen(buf);
    if (len >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

static void append_dims(char *buf, size_t size, const char *label, int ndim, const void *v, int sgn) {
    append(buf, size, " %s=[", label);
    for (int d = 0; d < ndim; d++) {
        if (sgn) append(buf, size, d ? ",%td" : "%td", ((const ptrdiff_t *)v)[d]);
        else append(buf, size, d ? ",%zu" : "%zu", ((const size_t *)v)[d]);
    }
    append(buf, size, "]");
}

void tc_format_index(int ndim, const size_t *shape, size_t lin, char *buf, size_t size) {
    size_t idx[CLQ_MAX_DIMS];
    ref_unravel(ndim, shape, lin, idx);
    buf[0] = 0;
    append(buf, size, "[");
    for (int d = 0; d < ndim; d++) append(buf, size, d ? ",%zu" : "%zu", idx[d]);
    append(buf, size, "]");
}

static const char *op_name(tc_op op) {
    return op == TC_MINMAX ? "minmax" : op == TC_QUANTIZE ? "quantize"
         : op == TC_DEQUANTIZE ? "dequantize" : "quantize_dynamic";
}

void tc_describe(const tc_case *c, char *buf, size_t size) {
    buf[0] = 0;
    append(buf, size, "case '%s' op=%s x=%s q=%s", c->name ? c->name : "", op_name(c->op),
           clq_dtype_name(c->xtype), clq_dtype_name(c->qtype));
    append_dims(buf, size, "shape", c->ndim, c->shape, 0);
    if (c->xstrided) append_dims(buf, size, "xstrides", c->ndim, c->xstrides, 1);
    if (c->xoffset) append(buf, size, " xoffset=%zu", c->xoffset);
    if (c->ystrided) append_dims(buf, size, "ystrides", c->ndim, c->ystrides, 1);
    if (c->yoffset) append(buf, size, " yoffset=%zu", c->yoffset);
    append(buf, size, " gran=%s", tc_gran_name(c->gran));
    if (c->gran != CLQ_PER_TENSOR) append(buf, size, " axis=%d", c->axis);
    if (c->gran == CLQ_PER_BLOCK) append(buf, size, " block=%zu", c->block);
    append(buf, size, " scheme=%s round=%s flags=0x%x%s values=%s qparams=%s%s poffset=%zu seed=%" PRIu64,
           c->scheme == CLQ_SYMMETRIC ? "symmetric" : "affine",
           c->rounding == CLQ_ROUND_HALF_AWAY ? "half_away" : "half_even", c->qflags,
           c->no_zero_point ? " zp=NULL" : "", tc_values_name(c->values),
           c->qsource == TC_QP_RANDOM ? "random" : "ref",
           c->scales == TC_SCALE_TINY ? " scales=tiny" : c->scales == TC_SCALE_HUGE ? " scales=huge" : "",
           c->poffset, c->seed);
}

void tc_run_grid(clq_context *ctx, tc_op op, const tc_case *base, size_t nbase,
                 const clq_dtype *types, size_t ntypes, const tc_values *kinds, size_t nkinds,
                 uint64_t seed0) {
    size_t nk = kinds ? nkinds : 1;
    for (size_t i = 0; i < nbase; i++)
        for (size_t t = 0; t < ntypes; t++)
            for (size_t k = 0; k < nk; k++) {
                tc_case c = base[i];
                c.op = op;
                if (op == TC_DEQUANTIZE) c.qtype = types[t];
                else c.xtype = types[t];
                if (kinds) c.values = kinds[k];
                c.seed = seed0 + 64 * i + 8 * t + k;
                tc_run(ctx, &c);
            }
}

/* ---- tc_run: one case, every output bit checked ---- */

typedef struct run_state {
    clq_context *ctx;
    tc_case c;
    char desc[1536];
    ref_view xv, yv;
    ref_gran g;
    size_t n, np;
    int qmin, qmax, narrow;
    tc_rng rng;
} run_state;

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void make_view(ref_view *v, const tc_case *c, int strided, const ptrdiff_t *strides, size_t offset) {
    v->ndim = c->ndim;
    memcpy(v->shape, c->shape, sizeof v->shape);
    if (strided) memcpy(v->strides, strides, sizeof v->strides);
    else ref_contiguous_strides(c->ndim, c->shape, v->strides);
    v->offset = offset;
}

static void setup(run_state *s, clq_context *ctx, const tc_case *c0) {
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->c = *c0;
    tc_case *c = &s->c;
    if (!c->xtype) c->xtype = CLQ_F32;
    if (!c->qtype) c->qtype = CLQ_U8;
    if (!c->seed) c->seed = hash_name(c->name) | 1;
    tc_rng_seed(&s->rng, c->seed);
    make_view(&s->xv, c, c->xstrided, c->xstrides, c->xoffset);
    make_view(&s->yv, c, c->ystrided, c->ystrides, c->yoffset);
    s->g = (ref_gran){c->gran, c->axis, c->block};
    s->n = ref_numel(c->ndim, c->shape);
    s->np = ref_param_count(&s->g, c->ndim, c->shape);
    s->narrow = (c->qflags & CLQ_QPARAMS_NARROW_RANGE) != 0;
    ref_qrange(c->qtype, s->narrow, &s->qmin, &s->qmax);
    tc_describe(c, s->desc, sizeof s->desc);
    append(s->desc, sizeof s->desc, " backend=%s (%s)", tc_backend_name(clq_context_backend(ctx)),
           clq_context_device_name(ctx));

    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = c->qtype;
    qp.granularity = c->gran;
    qp.axis = c->axis;
    qp.block_size = c->block;
    size_t count = 0;
    TC_OK(ctx, clq_qparams_count(&qp, c->ndim, c->shape, &count));
    cr_assert(count == s->np, "%s: clq_qparams_count gave %zu, expected %zu", s->desc, count, s->np);
}

static void fill_qparams(const run_state *s, clq_qparams *qp, clq_buffer *scale, clq_buffer *zp) {
    clq_qparams_init(qp);
    qp->qtype = s->c.qtype;
    qp->granularity = s->c.gran;
    qp->axis = s->c.axis;
    qp->block_size = s->c.block;
    qp->scheme = s->c.scheme;
    qp->rounding = s->c.rounding;
    qp->flags = s->c.qflags;
    qp->scale = scale;
    qp->scale_offset = s->c.poffset;
    qp->zero_point = zp;
    qp->zero_point_offset = s->c.poffset;
}

/* Contiguous views keep the strides clq_tensor_init gives them. */
static void fill_tensor(clq_tensor *t, clq_dtype dtype, const ref_view *v, int strided, clq_buffer *buf) {
    cr_assert(clq_tensor_init(t, dtype, v->ndim, v->shape, buf) == CLQ_SUCCESS, "clq_tensor_init");
    if (strided) memcpy(t->strides, v->strides, sizeof t->strides);
    t->offset = v->offset;
}

/* Scales chosen so that (k + 0.5) * scale stays exactly halfway in narrow input types;
 * for f32 also any scale, whose rounded products land beside the half-integers (where
 * a reciprocal's product and the quotient round apart). */
static float halfway_scale(run_state *s) {
    static const float f32s[] = {0.1f, 0.37f, 1.0f / 3.0f, 0.05f, 0.0123f, 2.5f, 0.7f, 0.25f};
    static const float f16s[] = {0.25f, 0.5f, 0.125f, 1.0f, 0.375f};
    static const float bf16s[] = {0.25f, 0.5f, 0.125f, 2.0f};
    if (s->c.xtype == CLQ_F16) return f16s[tc_rng_int(&s->rng, 0, 4)];
    if (s->c.xtype == CLQ_BF16) return bf16s[tc_rng_int(&s->rng, 0, 3)];
    if (tc_rng_int(&s->rng, 0, 1)) return tc_rng_logscale(&s->rng, 1e-3f, 10.0f);
    return f32s[tc_rng_int(&s->rng, 0, 7)];
}

static void random_params(run_state *s, float *scale, int32_t *zp) {
    for (size_t p = 0; p < s->np; p++) {
        if (s->c.values == TC_HALFWAY) scale[p] = halfway_scale(s);
        else if (s->c.scales == TC_SCALE_TINY) {
            static const float tiny[] = {1e-40f, FLT_MIN, 1e-30f, 1e-45f};
            scale[p] = tiny[tc_rng_int(&s->rng, 0, 3)];
        } else if (s->c.scales == TC_SCALE_HUGE) {
            static const float huge[] = {1e30f, 3e38f, FLT_MAX};
            scale[p] = huge[tc_rng_int(&s->rng, 0, 2)];
        } else scale[p] = tc_rng_logscale(&s->rng, 1e-3f, 10.0f);
        /* inside [qmin, qmax] of the narrow range when it is asked for, which is what
         * clq_qparams_from_minmax would give */
        zp[p] = s->c.no_zero_point ? 0 : tc_rng_int(&s->rng, s->qmin, s->qmax);
    }
}

/* Input of a float type over the x view; halfway values need the parameters. */
static void *gen_x(run_state *s, size_t *bytes, const float *scale, const int32_t *zp) {
    size_t nx = ref_view_extent(&s->xv);
    if (nx == 0) nx = 1;
    size_t es = ref_elem_size(s->c.xtype);
    void *x = malloc(nx * es);
    cr_assert(x != NULL, "out of host memory for %zu elements", nx);
    tc_values kind = s->c.values == TC_HALFWAY ? TC_NORMAL : s->c.values;
    for (size_t i = 0; i < nx; i++) {
        float v = tc_value(&s->rng, kind);
        /* f32 subnormals are all 0 in f16: use f16's own subnormals (m * 2^-24) there */
        if (kind == TC_DENORMAL && s->c.xtype == CLQ_F16 && v != 0.0f)
            v = (v < 0.0f ? -1.0f : 1.0f) * (float)tc_rng_int(&s->rng, 1, 1023) * 0x1p-24f;
        ref_store_float(s->c.xtype, x, i, v);
    }
    if (s->c.values == TC_HALFWAY && scale) {
        size_t idx[CLQ_MAX_DIMS];
        for (size_t i = 0; i < s->n; i++) {
            ref_unravel(s->c.ndim, s->c.shape, i, idx);
            size_t p = ref_param_index(&s->g, s->c.ndim, s->c.shape, idx);
            int z = zp ? zp[p] : 0;
            int k = tc_rng_int(&s->rng, s->qmin - z - 2, s->qmax - z + 1);
            float v = ((float)k + 0.5f) * scale[p];
            int d = s->c.xtype == CLQ_F32 ? tc_rng_int(&s->rng, 0, 3) : 0;
            if (d >= 2) /* a quarter each one ulp nearer 0 and one further */
                v = ref_bits_f32(ref_f32_bits(v) + (d == 2 ? UINT32_MAX : 1u));
            ref_store_float(s->c.xtype, x, ref_view_elem(&s->xv, idx), v);
        }
    }
    *bytes = nx * es;
    return x;
}

static int find_logical(const ref_view *v, size_t abs, size_t *lin) {
    size_t n = ref_numel(v->ndim, v->shape), idx[CLQ_MAX_DIMS];
    for (size_t i = 0; i < n; i++) {
        ref_unravel(v->ndim, v->shape, i, idx);
        if (ref_view_elem(v, idx) == abs) {
            *lin = i;
            return 1;
        }
    }
    return 0;
}

static void fmt_elem(char *buf, size_t size, clq_dtype t, const void *base, size_t e) {
    if (t == CLQ_F32) {
        float f = ref_load_float(t, base, e);
        snprintf(buf, size, "%.9g (%a, 0x%08x)", f, f, ref_f32_bits(f));
    } else snprintf(buf, size, "%d", ref_load_q(t, base, e));
}

/* Compares a whole output buffer image; v maps logical elements to buffer elements
 * (NULL: a flat array, element index is reported as is). */
static void check_image(const run_state *s, const char *what, clq_dtype t, const ref_view *v,
                        const uint8_t *expect, const uint8_t *got, size_t bytes) {
    size_t bad = 0, first = 0;
    for (size_t b = 0; b < bytes; b++)
        if (expect[b] != got[b]) {
            if (!bad) first = b;
            bad++;
        }
    if (!bad) return;
    size_t e;
    if (ref_is_4bit(t)) e = 2 * first + ((expect[first] & 0xf) == (got[first] & 0xf));
    else e = first / ref_elem_size(t);
    char ex[96], ac[96], where[256];
    fmt_elem(ex, sizeof ex, t, expect, e);
    fmt_elem(ac, sizeof ac, t, got, e);
    size_t lin;
    if (v && find_logical(v, e, &lin)) {
        char idx[160];
        tc_format_index(v->ndim, v->shape, lin, idx, sizeof idx);
        snprintf(where, sizeof where, "element %s (buffer element %zu)", idx, e);
    } else if (v) snprintf(where, sizeof where, "buffer element %zu outside the view (sentinel)", e);
    else snprintf(where, sizeof where, "element %zu", e);
    /* not fatal: the remaining cases of the test still run and report */
    cr_expect_fail("%s\n  %s: first bad %s: expected %s, got %s; %zu bad bytes of %zu", s->desc, what,
                   where, ex, ac, bad, bytes);
}

static clq_buffer *upload(run_state *s, const void *data, size_t bytes) { return tc_buffer(s->ctx, bytes, data); }

static uint8_t *download(clq_buffer *b, size_t bytes) {
    uint8_t *h = malloc(bytes ? bytes : 1);
    tc_read(b, bytes ? bytes : 1, h);
    return h;
}

static uint8_t *sentinel_image(size_t bytes) {
    uint8_t *h = malloc(bytes ? bytes : 1);
    memset(h, TC_SENTINEL, bytes ? bytes : 1);
    return h;
}

static size_t param_array_bytes(const run_state *s) { return (s->c.poffset + s->np + 4) * 4; }

static clq_buffer *param_buffer(run_state *s, const void *vals) {
    size_t bytes = param_array_bytes(s);
    uint8_t *img = sentinel_image(bytes);
    if (vals) memcpy(img + 4 * s->c.poffset, vals, 4 * s->np);
    clq_buffer *b = upload(s, img, bytes);
    free(img);
    return b;
}

static void check_params(const run_state *s, const char *what, clq_dtype t, clq_buffer *b, const void *expect) {
    size_t bytes = param_array_bytes(s);
    uint8_t *img = sentinel_image(bytes), *got = download(b, bytes);
    memcpy(img + 4 * s->c.poffset, expect, 4 * s->np);
    check_image(s, what, t, NULL, img, got, bytes);
    free(img);
    free(got);
}

/* Quantized output image: the y view (4-bit: contiguous nibbles) in sentinel bytes. */
static size_t q_bytes(const run_state *s) {
    if (ref_is_4bit(s->c.qtype)) return (s->yv.offset + s->n + 1) / 2 + 8;
    return ref_view_extent(&s->yv) + 8;
}

static uint8_t *q_image(const run_state *s, const int32_t *q) {
    uint8_t *img = sentinel_image(q_bytes(s));
    size_t idx[CLQ_MAX_DIMS];
    for (size_t i = 0; i < s->n; i++) {
        ref_unravel(s->c.ndim, s->c.shape, i, idx);
        ref_store_q(s->c.qtype, img, ref_view_elem(&s->yv, idx), q[i]);
    }
    size_t end = s->yv.offset + s->n;
    if (ref_is_4bit(s->c.qtype) && s->n && (end & 1)) img[end / 2] &= 0x0f;
    return img;
}

static void run_minmax(run_state *s) {
    size_t xbytes;
    void *x = gen_x(s, &xbytes, NULL, NULL);
    clq_buffer *xb = upload(s, x, xbytes);
    float *mn = malloc(4 * (s->np + 1)), *mx = malloc(4 * (s->np + 1));
    ref_minmax(s->c.xtype, x, &s->xv, &s->g, mn, mx);
    clq_tensor t;
    fill_tensor(&t, s->c.xtype, &s->xv, s->c.xstrided, xb);
    clq_qparams qp;
    fill_qparams(s, &qp, NULL, NULL);
    clq_buffer *mnb = param_buffer(s, NULL), *mxb = param_buffer(s, NULL);
    clq_status st = clq_minmax(s->ctx, &t, &qp, mnb, s->c.poffset, mxb, s->c.poffset);
    cr_expect(st == CLQ_SUCCESS, "%s\n  clq_minmax: %s: %s", s->desc, clq_status_string(st),
              clq_context_error_message(s->ctx));
    if (st == CLQ_SUCCESS) {
        check_params(s, "min", CLQ_F32, mnb, mn);
        check_params(s, "max", CLQ_F32, mxb, mx);
    }
    clq_buffer_destroy(xb);
    clq_buffer_destroy(mnb);
    clq_buffer_destroy(mxb);
    free(x);
    free(mn);
    free(mx);
}

static void run_quantize(run_state *s, int dynamic) {
    size_t np1 = s->np + 1, xbytes;
    float *scale = calloc(np1, 4);
    int32_t *zp = calloc(np1, 4), *q = malloc(4 * (s->n + 1));
    void *x;
    if (dynamic || (s->c.qsource == TC_QP_REF && s->c.values != TC_HALFWAY)) {
        x = gen_x(s, &xbytes, NULL, NULL);
        float *mn = malloc(4 * np1), *mx = malloc(4 * np1);
        ref_minmax(s->c.xtype, x, &s->xv, &s->g, mn, mx);
        for (size_t p = 0; p < s->np; p++) {
            ref_qparams(mn[p], mx[p], s->c.scheme, s->c.qtype, s->narrow, &scale[p], &zp[p]);
            if (s->c.no_zero_point && !dynamic) zp[p] = 0;
        }
        free(mn);
        free(mx);
    } else {
        random_params(s, scale, zp);
        x = gen_x(s, &xbytes, scale, zp);
    }
    ref_quantize(s->c.xtype, x, &s->xv, &s->g, scale, zp, s->c.qtype, s->narrow, s->c.rounding,
                 (s->c.qflags & CLQ_QPARAMS_RECIPROCAL) != 0, q);

    clq_buffer *xb = upload(s, x, xbytes);
    clq_buffer *sb = param_buffer(s, dynamic ? NULL : scale);
    clq_buffer *zb = s->c.no_zero_point ? NULL : param_buffer(s, dynamic ? NULL : zp);
    size_t yb_bytes = q_bytes(s);
    uint8_t *img = q_image(s, q);
    uint8_t *sent = sentinel_image(yb_bytes);
    clq_buffer *yb = upload(s, sent, yb_bytes);
    clq_tensor xt, yt;
    fill_tensor(&xt, s->c.xtype, &s->xv, s->c.xstrided, xb);
    fill_tensor(&yt, s->c.qtype, &s->yv, s->c.ystrided, yb);
    clq_qparams qp;
    fill_qparams(s, &qp, sb, zb);
    clq_status st = dynamic ? clq_quantize_dynamic(s->ctx, &xt, &qp, &yt) : clq_quantize(s->ctx, &xt, &qp, &yt);
    cr_expect(st == CLQ_SUCCESS, "%s\n  %s: %s: %s", s->desc, dynamic ? "clq_quantize_dynamic" : "clq_quantize",
              clq_status_string(st), clq_context_error_message(s->ctx));
    if (st == CLQ_SUCCESS && dynamic) {
        check_params(s, "scale", CLQ_F32, sb, scale);
        if (zb) check_params(s, "zero_point", CLQ_S32, zb, zp);
    }
    uint8_t *got = download(yb, yb_bytes);
    if (st == CLQ_SUCCESS) check_image(s, "y", s->c.qtype, &s->yv, img, got, yb_bytes);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
    free(got);
    free(img);
    free(sent);
    free(x);
    free(scale);
    free(zp);
    free(q);
}

static void run_dequantize(run_state *s) {
    int qmin, qmax;
    ref_qrange(s->c.qtype, 0, &qmin, &qmax);
    size_t nq = ref_view_extent(&s->xv);
    if (nq == 0) nq = 1;
    size_t qbytes = ref_is_4bit(s->c.qtype) ? (nq + 1) / 2 : nq;
    uint8_t *qh = malloc(qbytes);
    for (size_t i = 0; i < nq; i++) ref_store_q(s->c.qtype, qh, i, tc_rng_int(&s->rng, qmin, qmax));
    float *scale = calloc(s->np + 1, 4);
    int32_t *zp = calloc(s->np + 1, 4);
    random_params(s, scale, zp);

    size_t ybytes = (ref_view_extent(&s->yv) + 4) * 4, idx[CLQ_MAX_DIMS];
    uint8_t *img = sentinel_image(ybytes);
    for (size_t i = 0; i < s->n; i++) {
        ref_unravel(s->c.ndim, s->c.shape, i, idx);
        size_t p = ref_param_index(&s->g, s->c.ndim, s->c.shape, idx);
        int32_t qv = ref_load_q(s->c.qtype, qh, ref_view_elem(&s->xv, idx));
        ref_store_float(CLQ_F32, img, ref_view_elem(&s->yv, idx), ref_dequantize_one(qv, scale[p], zp[p]));
    }
    clq_buffer *qb = upload(s, qh, qbytes), *sb = param_buffer(s, scale);
    clq_buffer *zb = s->c.no_zero_point ? NULL : param_buffer(s, zp);
    clq_buffer *yb = tc_buffer(s->ctx, ybytes, NULL);
    clq_tensor qt, yt;
    fill_tensor(&qt, s->c.qtype, &s->xv, s->c.xstrided, qb);
    fill_tensor(&yt, CLQ_F32, &s->yv, s->c.ystrided, yb);
    clq_qparams qp;
    fill_qparams(s, &qp, sb, zb);
    clq_status st = clq_dequantize(s->ctx, &qt, &qp, &yt);
    cr_expect(st == CLQ_SUCCESS, "%s\n  clq_dequantize: %s: %s", s->desc, clq_status_string(st),
              clq_context_error_message(s->ctx));
    uint8_t *got = download(yb, ybytes);
    if (st == CLQ_SUCCESS) check_image(s, "y", CLQ_F32, &s->yv, img, got, ybytes);
    clq_buffer_destroy(qb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clq_buffer_destroy(yb);
    free(got);
    free(img);
    free(qh);
    free(scale);
    free(zp);
}

void tc_run(clq_context *ctx, const tc_case *c) {
    run_state *s = malloc(sizeof *s);
    setup(s, ctx, c);
    switch (s->c.op) {
    case TC_MINMAX: run_minmax(s); break;
    case TC_QUANTIZE: run_quantize(s, 0); break;
    case TC_DYNAMIC: run_quantize(s, 1); break;
    case TC_DEQUANTIZE: run_dequantize(s); break;
    }
    free(s);
}

const tc_case tc_simd_shapes[TC_SIMD_SHAPES] = {
    {.name = "2053 per tensor", .ndim = 1, .shape = {2053}},
    {.name = "6x130 axis0", .ndim = 2, .shape = {6, 130}, .gran = CLQ_PER_AXIS, .axis = 0},
    {.name = "3x203 axis-1", .ndim = 2, .shape = {3, 203}, .gran = CLQ_PER_AXIS, .axis = -1},
    {.name = "3x1000 block32", .ndim = 2, .shape = {3, 1000}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 32},
    {.name = "5x1030 block32", .ndim = 2, .shape = {5, 1030}, .gran = CLQ_PER_BLOCK, .axis = 1, .block = 32},
};
