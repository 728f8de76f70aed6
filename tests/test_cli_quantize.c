/* test_cli_quantize.c: `clquant quantize` and `dequantize` end to end on a small
 * synthetic model, on each backend: which tensors are quantized, kept or left out; the
 * written values, scales and ggml blocks against tests/ref bit for bit; the reported
 * loss against the reference's; the round trip back to F32; failures that leave the
 * target untouched. */
#include <criterion/criterion.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_files.h"
#include "commands.h"
#include "common.h"
#include "model.h"
#include "quant.h"
#include "ref/ref_ggml.h"

/* ---- the model: every kind of tensor the plan tells apart */
enum { N_IN = 8 };
typedef struct model_spec {
    const char *name, *dtype;
    clq_dtype ct;
    int ndim;
    uint64_t shape[2];
} model_spec;
static const model_spec spec[N_IN] = {
    {"model.embed_tokens.weight", "F32", CLQ_F32, 2, {40, 64}},
    {"model.layers.0.q_proj.weight", "F32", CLQ_F32, 2, {24, 64}},
    {"model.layers.0.q_proj.bias", "F32", CLQ_F32, 1, {24, 0}},
    {"model.layers.0.k_proj.weight", "F16", CLQ_F16, 2, {16, 96}},
    {"model.layers.0.v_proj.weight", "BF16", CLQ_BF16, 2, {8, 40}},
    {"lm.keep.weight", "F32", CLQ_F32, 2, {8, 64}},
    {"position_ids", "I64", 0, 2, {1, 8}},
    {"skipme.weight", "F32", CLQ_F32, 2, {4, 32}},
};

typedef struct model {
    char *dir, *path;
    unsigned char *data[N_IN];
    size_t bytes[N_IN];
} model;

static size_t numel(const model_spec *s) { return s->shape[0] * (s->ndim == 2 ? s->shape[1] : 1); }

/* Normal values, one row all zero, one row with an outlier, rows of other scales. */
static model make_model(void)
{
    model m = {0};
    m.dir = tf_tempdir();
    m.path = tf_path(m.dir, "in.safetensors");
    tc_rng r;
    tc_rng_seed(&r, 12);
    tf_tensor t[N_IN];
    for (int i = 0; i < N_IN; i++) {
        const model_spec *s = &spec[i];
        size_t n = numel(s), es = s->ct ? ref_elem_size(s->ct) : 8;
        m.bytes[i] = n * es;
        m.data[i] = malloc(m.bytes[i]);
        cr_assert(m.data[i]);
        for (size_t e = 0; e < n; e++) {
            if (!s->ct) {
                int64_t v = (int64_t)e;
                memcpy(m.data[i] + 8 * e, &v, 8);
                continue;
            }
            size_t row = s->ndim == 2 ? e / s->shape[1] : 0;
            float v = tc_rng_normal(&r) * (float)(1 + row % 3) * 0.05f;
            if (row == 1) v = 0.0f;
            if (row == 2 && e % 7 == 3) v = 1.5f;
            ref_store_float(s->ct, m.data[i], e, v);
        }
        t[i] = (tf_tensor){s->name, s->dtype, s->ndim, {s->shape[0], s->shape[1]}, m.data[i], m.bytes[i]};
    }
    static const char *const meta[] = {"format", "pt", NULL};
    tf_write_safetensors(m.path, t, N_IN, meta);
    return m;
}

static void free_model(model *m)
{
    for (int i = 0; i < N_IN; i++) free(m->data[i]);
    free(m->path);
    free(m->dir);
}

static cq_quantize_options options(const char *scheme)
{
    cq_quantize_options o = {0};
    o.scheme = cq_scheme_find(scheme);
    cr_assert(o.scheme, "%s", scheme);
    o.format = o.scheme->format;
    o.skip = "^skipme";
    o.keep_float = "keep";
    return o;
}

/* Quantizes m into dir/out.* on ctx; the JSON report parsed. */
static json_t *run_quantize(clq_context *ctx, const model *m, const cq_quantize_options *o,
                            const char *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cq_err err = {{0}};
    int rc = cq_quantize_file(m->path, out, o, &ctx, 1, f, 1, 0, &err);
    fclose(f);
    cr_assert_eq(rc, 0, "quantize: %s", err.msg);
    json_error_t je;
    json_t *doc = json_loads(buf, 0, &je);
    cr_assert(doc, "report is not JSON: %s: %s", je.text, buf);
    free(buf);
    return doc;
}

static json_t *row_of(json_t *doc, const char *name)
{
    json_t *rows = json_object_get(doc, "tensors"), *r;
    size_t i;
    json_array_foreach(rows, i, r) if (!strcmp(json_string_value(json_object_get(r, "name")), name)) return r;
    return NULL;
}

/* The reference quantization of input i under scheme s: q values and scales. */
/* Tensor i of m as tests/ref quantizes it for scheme s: its values q, scales (zero points
 * all 0), and the layout of the scales. */
typedef struct ref_w {
    uint64_t n, k;
    int32_t q[4096];
    float scale[4096];
    size_t count;
    ref_gran g;
} ref_w;

static void ref_weight(const model *m, int i, const cq_scheme *s, ref_w *r)
{
    const model_spec *sp = &spec[i];
    r->n = sp->shape[0];
    r->k = sp->shape[1];
    ref_view v = {.ndim = 2, .shape = {r->n, r->k}};
    ref_contiguous_strides(2, v.shape, v.strides);
    r->g = (ref_gran){s->granularity, s->granularity == CLQ_PER_AXIS ? 0 : 1,
                      s->group < r->k ? s->group : r->k};
    r->count = ref_param_count(&r->g, 2, v.shape);
    float mn[4096], mx[4096];
    int32_t zp[4096];
    cr_assert(r->count <= 4096 && r->n * r->k <= 4096);
    ref_minmax(sp->ct, m->data[i], &v, &r->g, mn, mx);
    for (size_t p = 0; p < r->count; p++)
        ref_qparams(mn[p], mx[p], CLQ_SYMMETRIC, s->qtype, 0, &r->scale[p], &zp[p]);
    ref_quantize(sp->ct, m->data[i], &v, &r->g, r->scale, zp, s->qtype, 0, CLQ_ROUND_HALF_EVEN, 0, r->q);
    for (size_t p = 0; p < r->count; p++) cr_assert_eq(zp[p], 0);
}

/* Element e of the reference's dequantized tensor. */
static float ref_w_value(const ref_w *r, size_t e)
{
    size_t idx[2] = {e / r->k, e % r->k}, shape[2] = {r->n, r->k};
    return ref_dequantize_one(r->q[e], r->scale[ref_param_index(&r->g, 2, shape, idx)], 0);
}

static const cq_tensor_info *find(const cq_model *out, const char *name, const char *suffix)
{
    char full[256];
    snprintf(full, sizeof full, "%s%s", name, suffix);
    const cq_tensor_info *t = cq_model_find(out, full);
    cr_assert(t, "output lacks %s", full);
    return t;
}

/* Checks a safetensors output of a library scheme against tests/ref, and its report. */
static void check_lib_output(const model *m, const char *path, const cq_scheme *s, json_t *doc)
{
    cq_model out;
    cq_err err;
    cr_assert_eq(cq_model_open(&out, path, &err), 0, "%s", err.msg);
    const cq_kv *kv = cq_model_kv(&out, CQ_META_SCHEME);
    cr_assert(kv && !strcmp(kv->str, s->name));
    cr_assert(cq_model_kv(&out, CQ_META_VERSION));
    kv = cq_model_kv(&out, "format");
    cr_assert(kv && !strcmp(kv->str, "pt"), "input metadata kept");
    cr_assert_null(cq_model_find(&out, "skipme.weight"));
    /* kept tensors byte for byte */
    static const int kept[] = {0, 2, 5, 6};
    for (size_t k = 0; k < 4; k++) {
        const cq_tensor_info *t = find(&out, spec[kept[k]].name, "");
        cr_assert(t->nbytes == m->bytes[kept[k]] && !memcmp(t->data, m->data[kept[k]], t->nbytes),
                  "%s not copied", t->name);
        json_t *r = row_of(doc, t->name);
        cr_assert(r && !strcmp(json_string_value(json_object_get(r, "scheme")), "keep"));
    }
    cr_assert_str_eq(json_string_value(json_object_get(row_of(doc, spec[0].name), "reason")), "embedding");
    cr_assert_str_eq(json_string_value(json_object_get(row_of(doc, spec[5].name), "reason")), "--keep-float");
    static const int quant[] = {1, 3, 4};
    for (size_t k = 0; k < 3; k++) {
        int i = quant[k];
        ref_w rw;
        ref_weight(m, i, s, &rw);
        uint64_t n = rw.n, kk = rw.k;
        const int32_t *q = rw.q;
        size_t count = rw.count;
        const cq_tensor_info *sc = find(&out, spec[i].name, CQ_SUFFIX_SCALE);
        cr_assert_eq(sc->type->id, CQ_T_F32);
        cr_assert_eq(sc->nbytes, count * 4);
        cr_assert(!memcmp(sc->data, rw.scale, count * 4), "%s: scales differ from tests/ref", spec[i].name);
        if (s->qtype == CLQ_S8) {
            const cq_tensor_info *t = find(&out, spec[i].name, "");
            cr_assert(t->type->id == CQ_T_I8 && t->shape[0] == n && t->shape[1] == kk);
            for (size_t e = 0; e < n * kk; e++)
                cr_assert_eq((int8_t)t->data[e], q[e], "%s[%zu]", t->name, e);
        } else {
            const cq_tensor_info *t = find(&out, spec[i].name, CQ_SUFFIX_PACKED);
            uint64_t words = (kk + 7) / 8;
            cr_assert(t->type->id == CQ_T_I32 && t->shape[0] == n && t->shape[1] == words);
            cr_assert(sc->shape[0] == n && sc->shape[1] == (kk + s->group - 1) / s->group);
            for (size_t r = 0; r < n; r++)
                for (size_t j = 0; j < words * 8; j++) {
                    const unsigned char *w = t->data + (r * words + j / 8) * 4;
                    uint32_t word = w[0] | w[1] << 8 | w[2] << 16 | (uint32_t)w[3] << 24;
                    int v = (int)(word >> (4 * (j % 8)) & 15);
                    if (j >= kk) cr_assert_eq(v, 0, "padding of row %zu", r);
                    else cr_assert_eq(v - 8, q[r * kk + j], "%s row %zu col %zu", t->name, r, j);
                }
            const cq_tensor_info *sh = find(&out, spec[i].name, CQ_SUFFIX_SHAPE);
            int64_t dims[2];
            memcpy(dims, sh->data, 16);
            cr_assert(sh->type->id == CQ_T_I64 && dims[0] == (int64_t)n && dims[1] == (int64_t)kk);
        }
        /* the reported loss is the reference's (sums in another order: a relative bound) */
        double se = 0, maxe = 0;
        for (size_t e = 0; e < n * kk; e++) {
            double d = (double)ref_w_value(&rw, e) - ref_load_float(spec[i].ct, m->data[i], e);
            se += d * d;
            maxe = fmax(maxe, fabs(d));
        }
        json_t *r = row_of(doc, spec[i].name);
        cr_assert(r, "no row for %s", spec[i].name);
        double mse = json_real_value(json_object_get(r, "mse"));
        cr_assert(fabs(mse - se / (double)(n * kk)) <= 1e-5 * mse + 1e-30, "%s: mse %g, ref %g",
                  spec[i].name, mse, se / (double)(n * kk));
        cr_assert_eq(json_real_value(json_object_get(r, "max_abs_error")), (double)(float)maxe);
        cr_assert(json_real_value(json_object_get(r, "snr_db")) > 10.0);
    }
    json_t *total = json_object_get(doc, "total");
    cr_assert_eq(json_integer_value(json_object_get(total, "tensors")), 7);
    cr_assert_eq(json_integer_value(json_object_get(total, "quantized")), 3);
    cr_assert(json_is_true(json_object_get(doc, "ok")));
    cq_model_free(&out);
}

static void roundtrip_lib(clq_context *ctx, const model *m, const char *qpath, const cq_scheme *s)
{
    char *dpath = tf_path(m->dir, "deq.safetensors");
    cq_err err;
    cr_assert_eq(cq_dequantize_file(qpath, dpath, ctx, &err), 0, "%s", err.msg);
    cq_model d;
    cr_assert_eq(cq_model_open(&d, dpath, &err), 0, "%s", err.msg);
    cr_assert_eq(d.n_tensors, 7);
    cr_assert_null(cq_model_kv(&d, CQ_META_SCHEME));
    static const int quant[] = {1, 3, 4};
    for (size_t k = 0; k < 3; k++) {
        int i = quant[k];
        ref_w rw;
        ref_weight(m, i, s, &rw);
        const cq_tensor_info *t = find(&d, spec[i].name, "");
        cr_assert(t->type->id == CQ_T_F32 && t->shape[0] == rw.n && t->shape[1] == rw.k);
        for (size_t e = 0; e < rw.n * rw.k; e++) {
            float want = ref_w_value(&rw, e), got;
            memcpy(&got, t->data + 4 * e, 4);
            cr_assert_eq(ref_f32_bits(got), ref_f32_bits(want), "%s[%zu]: %a, want %a", t->name, e, got, want);
        }
    }
    cr_assert(find(&d, spec[2].name, "")->type->id == CQ_T_F32, "others copied");
    cq_model_free(&d);
    free(dpath);
}

static void lib_scheme(clq_context *ctx, const char *name)
{
    model m = make_model();
    cq_quantize_options o = options(name);
    char *out = tf_path(m.dir, "out.safetensors");
    json_t *doc = run_quantize(ctx, &m, &o, out);
    check_lib_output(&m, out, o.scheme, doc);
    roundtrip_lib(ctx, &m, out, o.scheme);
    json_decref(doc);
    free(out);
    free_model(&m);
}

TC_BACKEND_TEST(cli_quantize, s8_channel) { lib_scheme(ctx, "s8-channel"); }
TC_BACKEND_TEST(cli_quantize, s8_tensor) { lib_scheme(ctx, "s8-tensor"); }
TC_BACKEND_TEST(cli_quantize, s4_g32) { lib_scheme(ctx, "s4-g32"); }
TC_BACKEND_TEST(cli_quantize, s4_g64) { lib_scheme(ctx, "s4-g64"); }
TC_BACKEND_TEST(cli_quantize, s4_g128) { lib_scheme(ctx, "s4-g128"); }

/* ggml blocks: the bytes of ggml's reference quantizers, and back. */
static void ggml_scheme(clq_context *ctx, const char *name, int q8)
{
    model m = make_model();
    cq_quantize_options o = options(name);
    char *out = tf_path(m.dir, "out.gguf");
    json_t *doc = run_quantize(ctx, &m, &o, out);
    cq_model g;
    cq_err err;
    cr_assert_eq(cq_model_open(&g, out, &err), 0, "%s", err.msg);
    cr_assert_eq(g.format, CQ_FORMAT_GGUF);
    cr_assert_eq(g.gguf_version, 3);
    cr_assert_eq(g.alignment, 32);
    const cq_kv *kv = cq_model_kv(&g, "general.quantization_version");
    cr_assert(kv && kv->type == CQ_KV_U32 && kv->raw[0] == 2);
    for (size_t i = 0; i < g.n_tensors; i++) cr_assert_eq(g.tensors[i].offset % 32, 0);
    size_t bb = q8 ? REF_GGML_Q8_0_BYTES : REF_GGML_Q4_0_BYTES;
    static const int quant[] = {1, 3};
    for (size_t k = 0; k < 2; k++) {
        int i = quant[k];
        size_t n = numel(&spec[i]);
        float *x = malloc(n * 4), *y = malloc(n * 4);
        unsigned char *blocks = malloc(n / 32 * bb);
        for (size_t e = 0; e < n; e++) x[e] = ref_load_float(spec[i].ct, m.data[i], e);
        (q8 ? ref_ggml_quantize_row_q8_0 : ref_ggml_quantize_row_q4_0)(x, blocks, n);
        const cq_tensor_info *t = find(&g, spec[i].name, "");
        cr_assert_eq(t->type->id, q8 ? CQ_T_Q8_0 : CQ_T_Q4_0);
        cr_assert(t->shape[0] == spec[i].shape[0] && t->shape[1] == spec[i].shape[1]);
        cr_assert_eq(t->nbytes, n / 32 * bb);
        for (size_t b = 0; b < n / 32; b++)
            cr_assert(!memcmp(t->data + b * bb, blocks + b * bb, bb), "%s: block %zu differs from ggml's", t->name, b);
        /* the loss against ggml's dequantized values */
        (q8 ? ref_ggml_dequantize_row_q8_0 : ref_ggml_dequantize_row_q4_0)(blocks, y, n);
        double se = 0;
        for (size_t e = 0; e < n; e++) se += ((double)y[e] - x[e]) * ((double)y[e] - x[e]);
        double mse = json_real_value(json_object_get(row_of(doc, spec[i].name), "mse"));
        cr_assert(fabs(mse - se / (double)n) <= 1e-5 * mse, "%s: mse %g, ref %g", t->name, mse, se / n);
        free(x);
        free(y);
        free(blocks);
    }
    /* K = 40 is no whole number of blocks: kept */
    cr_assert_eq(find(&g, spec[4].name, "")->type->id, CQ_T_BF16);
    cr_assert_str_eq(json_string_value(json_object_get(row_of(doc, spec[4].name), "reason")),
                     "K not a multiple of 32");
    /* back to F32: ggml's dequantize */
    char *dpath = tf_path(m.dir, "deq.safetensors");
    cr_assert_eq(cq_dequantize_file(out, dpath, ctx, &err), 0, "%s", err.msg);
    cq_model d;
    cr_assert_eq(cq_model_open(&d, dpath, &err), 0, "%s", err.msg);
    const cq_tensor_info *gt = find(&g, spec[1].name, ""), *dt = find(&d, spec[1].name, "");
    size_t n = numel(&spec[1]);
    float *y = malloc(n * 4);
    (q8 ? ref_ggml_dequantize_row_q8_0 : ref_ggml_dequantize_row_q4_0)(gt->data, y, n);
    cr_assert(dt->type->id == CQ_T_F32 && !memcmp(dt->data, y, n * 4), "dequantized values differ");
    free(y);
    cq_model_free(&d);
    cq_model_free(&g);
    json_decref(doc);
    free(dpath);
    free(out);
    free_model(&m);
}

TC_BACKEND_TEST(cli_quantize, q8_0) { ggml_scheme(ctx, "q8_0", 1); }
TC_BACKEND_TEST(cli_quantize, q4_0) { ggml_scheme(ctx, "q4_0", 0); }

/* The layer check: the quantized layer's output close to the f32 one. */
TC_BACKEND_TEST(cli_quantize, check_linear)
{
    static const char *const schemes[] = {"s8-channel", "s4-g32", "q8_0", "q4_0"};
    for (size_t s = 0; s < 4; s++) {
        model m = make_model();
        cq_quantize_options o = options(schemes[s]);
        o.check_linear_rows = 4;
        char *out = tf_path(m.dir, o.format == CQ_FORMAT_GGUF ? "o.gguf" : "o.safetensors");
        json_t *doc = run_quantize(ctx, &m, &o, out);
        double cos = json_real_value(json_object_get(row_of(doc, spec[1].name), "linear_cosine"));
        cr_assert(cos > (schemes[s][1] == '8' ? 0.995 : 0.95) && cos <= 1.0 + 1e-9, "%s: cosine %g",
                  schemes[s], cos);
        json_decref(doc);
        free(out);
        free_model(&m);
    }
}

/* Two contexts share the items: the file is the one a single context writes. */
Test(cli_quantize, two_contexts_opencl)
{
    clq_context *ctx[2] = {tc_context(CLQ_BACKEND_OPENCL), tc_context(CLQ_BACKEND_CPU)};
    model m = make_model();
    cq_quantize_options o = options("s4-g32");
    char *a = tf_path(m.dir, "a.safetensors"), *b = tf_path(m.dir, "b.safetensors");
    cq_err err;
    FILE *null = fopen("/dev/null", "w");
    cr_assert_eq(cq_quantize_file(m.path, a, &o, ctx, 2, null, 0, 0, &err), 0, "%s", err.msg);
    cr_assert_eq(cq_quantize_file(m.path, b, &o, ctx + 1, 1, null, 0, 0, &err), 0, "%s", err.msg);
    fclose(null);
    size_t na, nb;
    unsigned char *fa = tf_read_file(a, &na), *fb = tf_read_file(b, &nb);
    cr_assert(na == nb && !memcmp(fa, fb, na), "two contexts wrote another file than one");
    free(fa);
    free(fb);
    free(a);
    free(b);
    free_model(&m);
    clq_context_destroy(ctx[0]);
    clq_context_destroy(ctx[1]);
}

/* A failed run leaves the existing target as it was and no temporary file. */
Test(cli_quantize, failures_keep_target)
{
    clq_context *ctx = tc_context(CLQ_BACKEND_CPU);
    model m = make_model();
    char *out = tf_path(m.dir, "out.safetensors");
    tf_write_file(out, "old", 3);
    cq_err err = {{0}};
    FILE *null = fopen("/dev/null", "w");
    /* a scheme in the other format */
    cq_quantize_options o = options("q8_0");
    o.format = CQ_FORMAT_SAFETENSORS;
    cr_assert_eq(cq_quantize_file(m.path, out, &o, &ctx, 1, null, 0, 0, &err), -1);
    cr_assert(strstr(err.msg, "q8_0") && strstr(err.msg, "GGUF"), "%s", err.msg);
    /* a bad regex */
    o = options("s8-channel");
    o.keep_float = "(";
    cr_assert_eq(cq_quantize_file(m.path, out, &o, &ctx, 1, null, 0, 0, &err), -1);
    cr_assert(strstr(err.msg, "--keep-float"), "%s", err.msg);
    /* a truncated input */
    size_t n;
    unsigned char *f = tf_read_file(m.path, &n);
    char *cut = tf_path(m.dir, "cut.safetensors");
    tf_write_file(cut, f, n - 100);
    o = options("s8-channel");
    cr_assert_eq(cq_quantize_file(cut, out, &o, &ctx, 1, null, 0, 0, &err), -1);
    cr_assert(strstr(err.msg, "cut.safetensors"), "%s", err.msg);
    /* an output name the input already holds: the writer refuses the duplicate */
    static const float w[64] = {1};
    tf_tensor t[2] = {{"a", "F32", 2, {2, 32}, w, 256}, {"a_scale", "F32", 1, {1}, w, 4}};
    char *dup = tf_path(m.dir, "dup.safetensors");
    tf_write_safetensors(dup, t, 2, NULL);
    cr_assert_eq(cq_quantize_file(dup, out, &o, &ctx, 1, null, 0, 0, &err), -1);
    cr_assert(strstr(err.msg, "a_scale"), "%s", err.msg);
    fclose(null);
    unsigned char *now = tf_read_file(out, &n);
    cr_assert(n == 3 && !memcmp(now, "old", 3), "target clobbered by a failed run");
    cr_assert_eq(tf_count_entries(m.dir), 4, "a temporary file was left behind");
    free(now);
    free(f);
    free(cut);
    free(dup);
    free(out);
    free_model(&m);
    clq_context_destroy(ctx);
}

/* The commands' own checks: usage errors are 2, info and devices run. */
Test(cli_quantize, commands)
{
    cr_assert(freopen("/dev/null", "w", stdout)); /* the commands print their tables */
    model m = make_model();
    char *out = tf_path(m.dir, "o.safetensors");
    char *qa[] = {"quantize", m.path, "-o", out, "--scheme", "s8-channel", "--device", "cpu", "--no-progress", NULL};
    cr_assert_eq(cq_cmd_quantize(9, qa), 0);
    char *ia[] = {"info", out, NULL};
    cr_assert_eq(cq_cmd_info(2, ia), 0);
    char *bad[] = {"quantize", m.path, "-o", out, "--scheme", "s9", NULL};
    cr_assert_eq(cq_cmd_quantize(6, bad), 2);
    char *nox[] = {"quantize", m.path, "--scheme", "q4_0", NULL};
    cr_assert_eq(cq_cmd_quantize(4, nox), 2);
    char *miss[] = {"info", "/nonexistent/x.safetensors", NULL};
    cr_assert_eq(cq_cmd_info(2, miss), 1);
    char *da[] = {"dequantize", out, "-o", m.path, "--device", "cpu", NULL};
    cr_assert_eq(cq_cmd_dequantize(6, da), 0);
    char *dv[] = {"devices", NULL};
    cr_assert_eq(cq_cmd_devices(1, dv), 0);
    free(out);
    free_model(&m);
}
