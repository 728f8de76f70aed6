/* test_cli_parse.c: the clquant tool's readers (tools/clquant/model.h): safetensors and
 * GGUF files built in memory, valid ones parsed to their names, types, shapes, offsets
 * and metadata, and one broken variant per check, each -1 with a message that names
 * the file and the field. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "model_read.h"

/* ---- a growable byte buffer */
typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        cr_assert(b->p);
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_le(buf *b, uint64_t v, int n)
{
    unsigned char c[8];
    for (int i = 0; i < n; i++) c[i] = (unsigned char)(v >> (8 * i));
    put(b, c, (size_t)n);
}

static void put_fill(buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)(i * 7 + 1);
        put(b, &c, 1);
    }
}

/* ---- safetensors: header JSON (printf format), then data_len bytes */
static buf st_file(size_t data_len, const char *fmt, ...) CQ_PRINTF(2, 3);
static buf st_file(size_t data_len, const char *fmt, ...)
{
    char json[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    cr_assert(n > 0 && (size_t)n < sizeof json);
    buf b = {0};
    put_le(&b, (uint64_t)n, 8);
    put(&b, json, (size_t)n);
    put_fill(&b, data_len);
    return b;
}

/* Parses b as `name`, expecting failure with every one of the NULL-ended words in the
 * message (the file's name always). */
static void expect_fail(const buf *b, const char *name, ...)
{
    cq_model m;
    cq_err err = {{0}};
    int rc = cq_model_parse(&m, name, b->p, b->n, &err);
    cr_assert_eq(rc, -1, "%s parsed, but should not have", name);
    cr_assert_eq(m.n_tensors, 0);
    cr_assert_null(m.tensors);
    cr_assert(strstr(err.msg, name) == err.msg, "message does not start with the file: %s", err.msg);
    va_list ap;
    va_start(ap, name);
    for (const char *w; (w = va_arg(ap, const char *));)
        cr_assert(strstr(err.msg, w), "message lacks \"%s\": %s", w, err.msg);
    va_end(ap);
}

static void expect_st(const char *json, size_t data_len, ...)
{
    buf b = st_file(data_len, "%s", json);
    va_list ap;
    va_start(ap, data_len);
    const char *w[6] = {0};
    for (int i = 0; i < 5 && (w[i] = va_arg(ap, const char *)); i++) {}
    va_end(ap);
    expect_fail(&b, "bad.safetensors", w[0], w[1], w[2], w[3], w[4], NULL);
    free(b.p);
}

static cq_model parse_ok(const buf *b, const char *name)
{
    cq_model m;
    cq_err err = {{0}};
    int rc = cq_model_parse(&m, name, b->p, b->n, &err);
    cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
    return m;
}

/* ---- the type table */
Test(cli_parse, type_table)
{
    for (int i = 0; i < CQ_T_COUNT; i++) {
        const cq_type *t = cq_type_get((cq_type_id)i);
        cr_assert(t && t->id == (cq_type_id)i && t->name && t->block_elems && t->block_bytes, "type %d", i);
        if (t->st_name) cr_assert_eq(cq_type_from_st(t->st_name), t);
        if (t->gguf_type >= 0) cr_assert_eq(cq_type_from_gguf((uint32_t)t->gguf_type), t);
    }
    const char *st[] = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "U64", "I32",
                        "U32", "I16", "U16", "I8", "U8", "BOOL"};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) cr_assert(cq_type_from_st(st[i]), "%s", st[i]);
    cr_assert_null(cq_type_from_st("F4"));
    cr_assert_null(cq_type_from_st("Q8_0"));
    cr_assert_null(cq_type_from_gguf(31)); /* Q4_0_4_4, removed from GGUF */
    cr_assert_null(cq_type_get(CQ_T_COUNT));
    /* (id, elements per block, bytes per block) as gguf-py's GGML_QUANT_SIZES */
    static const uint32_t ggml[][3] = {
        {0, 1, 4}, {1, 1, 2}, {2, 32, 18}, {3, 32, 20}, {6, 32, 22}, {7, 32, 24}, {8, 32, 34}, {9, 32, 40},
        {10, 256, 84}, {11, 256, 110}, {12, 256, 144}, {13, 256, 176}, {14, 256, 210}, {15, 256, 292},
        {16, 256, 66}, {17, 256, 74}, {18, 256, 98}, {19, 256, 50}, {20, 32, 18}, {21, 256, 110},
        {22, 256, 82}, {23, 256, 136}, {24, 1, 1}, {25, 1, 2}, {26, 1, 4}, {27, 1, 8}, {28, 1, 8},
        {29, 256, 56}, {30, 1, 2}, {34, 256, 54}, {35, 256, 66}};
    for (size_t i = 0; i < sizeof ggml / sizeof ggml[0]; i++) {
        const cq_type *t = cq_type_from_gguf(ggml[i][0]);
        cr_assert(t, "ggml type %u", ggml[i][0]);
        cr_assert(t->block_elems == ggml[i][1] && t->block_bytes == ggml[i][2], "%s", t->name);
    }

    uint64_t n, shape[3] = {3, 2, 64};
    cq_err err;
    cr_assert_eq(cq_type_nbytes(cq_type_get(CQ_T_Q4_0), 3, shape, &n, "x", &err), 0);
    cr_assert_eq(n, 3 * 2 * 2 * 18);
    cr_assert_eq(cq_type_nbytes(cq_type_get(CQ_T_F32), 0, shape, &n, "x", &err), 0);
    cr_assert_eq(n, 4);
    shape[2] = 33;
    cr_assert_eq(cq_type_nbytes(cq_type_get(CQ_T_Q8_0), 3, shape, &n, "w", &err), -1);
    cr_assert(strstr(err.msg, "w: innermost dimension 33") && strstr(err.msg, "Q8_0"), "%s", err.msg);
    uint64_t huge[2] = {UINT64_C(1) << 32, UINT64_C(1) << 32};
    cr_assert_eq(cq_type_nbytes(cq_type_get(CQ_T_U8), 2, huge, &n, "h", &err), -1);
    cr_assert(strstr(err.msg, "overflows"), "%s", err.msg);
    huge[0] = UINT64_C(1) << 62;
    huge[1] = 1;
    cr_assert_eq(cq_type_nbytes(cq_type_get(CQ_T_F32), 2, huge, &n, "h", &err), -1);
    huge[1] = 0; /* empty: no overflow whatever the other dimension */
    cr_assert_eq(cq_type_nbytes(cq_type_get(CQ_T_F32), 2, huge, &n, "h", &err), 0);
    cr_assert_eq(n, 0);
}

/* ---- safetensors, valid */
Test(cli_parse, st_valid)
{
    /* header order is not data order; __metadata__ anywhere; unknown fields ignored */
    buf b = st_file(24 + 4,
                    "{\"b.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
                    "\"__metadata__\":{\"format\":\"pt\",\"note\":\"a \\\"q\\\"\"},"
                    "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24],\"x\":1}}   ");
    cq_model m = parse_ok(&b, "ok.safetensors");
    cr_assert_eq(m.format, CQ_FORMAT_SAFETENSORS);
    uint64_t hdr = 8 + (b.n - 8 - 28);
    cr_assert_eq(m.data_offset, hdr);
    cr_assert_eq(m.n_tensors, 2);
    cr_assert_str_eq(m.tensors[0].name, "a.weight");
    cr_assert_eq(m.tensors[0].type->id, CQ_T_F32);
    cr_assert(m.tensors[0].ndim == 2 && m.tensors[0].shape[0] == 2 && m.tensors[0].shape[1] == 3);
    cr_assert(m.tensors[0].offset == hdr && m.tensors[0].nbytes == 24);
    cr_assert_eq(m.tensors[0].data, b.p + hdr);
    cr_assert_str_eq(m.tensors[1].name, "b.bias");
    cr_assert(m.tensors[1].type->id == CQ_T_F16 && m.tensors[1].offset == hdr + 24 && m.tensors[1].nbytes == 4);
    cr_assert_eq(cq_model_find(&m, "b.bias"), &m.tensors[1]);
    cr_assert_null(cq_model_find(&m, "c"));
    cr_assert_eq(m.n_kv, 2);
    const cq_kv *kv = cq_model_kv(&m, "note");
    cr_assert(kv && kv->type == CQ_KV_STRING);
    cr_assert_str_eq(kv->str, "a \"q\"");
    /* raw as GGUF encodes a string: u64 length, bytes */
    cr_assert(kv->raw_len == 8 + 5 && kv->raw[0] == 5 && !memcmp(kv->raw + 8, "a \"q\"", 5));
    char *s = cq_kv_format(kv);
    cr_assert_str_eq(s, "\"a \\\"q\\\"\"");
    free(s);
    cq_model_free(&m);
    cr_assert_null(m.tensors);
    free(b.p);

    /* the reference crate's empty file, a scalar, and empty tensors at one offset */
    b = st_file(0, "{}      ");
    m = parse_ok(&b, "empty.safetensors");
    cr_assert(m.n_tensors == 0 && m.n_kv == 0 && m.data_offset == 16);
    cq_model_free(&m);
    free(b.p);
    b = st_file(8, "{\"z1\":{\"dtype\":\"I8\",\"shape\":[0,4],\"data_offsets\":[0,0]},"
                   "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
                   "\"z0\":{\"dtype\":\"BOOL\",\"shape\":[3,0],\"data_offsets\":[0,0]},"
                   "\"z2\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]}}");
    m = parse_ok(&b, "edge.safetensors");
    cr_assert_eq(m.n_tensors, 4);
    const char *order[] = {"z1", "z0", "s", "z2"}; /* by (begin, end), then header order */
    for (int i = 0; i < 4; i++) cr_assert_str_eq(m.tensors[i].name, order[i]);
    cr_assert(m.tensors[2].ndim == 0 && m.tensors[2].nbytes == 8);
    cq_model_free(&m);
    free(b.p);

    /* every dtype, 8 dimensions */
    const char *dt[] = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "U64", "I32",
                        "U32", "I16", "U16", "I8", "U8", "BOOL"};
    const unsigned sz[] = {8, 4, 2, 2, 1, 1, 8, 8, 4, 4, 2, 2, 1, 1, 1};
    for (size_t i = 0; i < 15; i++) {
        b = st_file(2 * sz[i], "{\"t\":{\"dtype\":\"%s\",\"shape\":[1,1,1,1,1,1,1,2],\"data_offsets\":[0,%u]}}",
                    dt[i], 2 * sz[i]);
        m = parse_ok(&b, "dt.safetensors");
        cr_assert_str_eq(m.tensors[0].type->st_name, dt[i]);
        cr_assert_eq(m.tensors[0].ndim, 8);
        cq_model_free(&m);
        free(b.p);
    }
}

/* ---- safetensors, broken */
#define T1(fields) "{\"t\":{" fields "}}"
Test(cli_parse, st_errors)
{
    buf b = {0};
    put_le(&b, 8, 7);
    expect_fail(&b, "short.safetensors", "header length", "truncated", NULL);
    b.n = 0;
    put_le(&b, 100, 8);
    put(&b, "{}", 2);
    expect_fail(&b, "past.safetensors", "header length", "past the end", NULL);
    b.n = 0;
    put_le(&b, CQ_SAFETENSORS_MAX_HEADER + 1, 8);
    expect_fail(&b, "huge.safetensors", "header length", "100000001", "limit", NULL);
    b.n = 0;
    put_le(&b, UINT64_MAX, 8);
    expect_fail(&b, "max.safetensors", "header length", "limit", NULL);
    free(b.p);

    expect_st("{\"t\":", 0, "header", "not valid JSON", NULL);
    expect_st("{} x", 0, "header", "not valid JSON", NULL);
    expect_st("[1]", 0, "header", "an array, not a JSON object", NULL);
    expect_st("{\"t\":3}", 0, "tensor 't'", "not an object", NULL);
    expect_st(T1("\"shape\":[1],\"data_offsets\":[0,1]"), 1, "tensor 't'", "dtype: missing", NULL);
    expect_st(T1("\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,1]"), 1, "dtype", "not a string", NULL);
    expect_st(T1("\"dtype\":\"F4\",\"shape\":[1],\"data_offsets\":[0,1]"), 1, "tensor 't'", "dtype",
              "unknown dtype 'F4'", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"data_offsets\":[0,1]"), 1, "shape: missing", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":{},\"data_offsets\":[0,1]"), 1, "shape", "not an array", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1,-2],\"data_offsets\":[0,1]"), 1, "shape[1]", "-2 is negative",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]"), 1, "shape[0]", "real number",
              "not an integer", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]"), 1, "shape[0]", "not an integer",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]"), 1, "shape",
              "9 dimensions", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1]"), 1, "data_offsets: missing", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]"), 1, "data_offsets", "fewer than 2",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]"), 1, "data_offsets", "more than 2",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":\"0,1\""), 1, "data_offsets", "not [begin, end]",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]"), 1, "data_offsets[0]", "negative",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1e0]"), 1, "data_offsets[1]",
              "not an integer", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,1]"), 2, "data_offsets", "begin 2 > end 1",
              NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]"), 1, "header",
              "not valid JSON", NULL);
    expect_st(T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]"), 16, "tensor 't'", "data_offsets",
              "[0, 16] hold 16 bytes, but shape [2, 3] of F32 is 24 bytes", NULL);
    expect_st(T1("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]"), 23, "tensor 't'", "data_offsets",
              "end 24 is past the end of the data (23 bytes", NULL);
    expect_st(T1("\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]"), 0, "tensor 't'",
              "shape", "overflows", NULL);
    expect_st("{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
              "\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, "header", "duplicate key",
              NULL);
    expect_st("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}", 4, "tensor 'b'",
              "overlap tensor 'a'", NULL);
    expect_st("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
              "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[6,8]}}", 8, "tensor 'b'", "[4, 6)",
              "contiguously", NULL);
    expect_st("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6, "tensor 'a'", "[0, 2)",
              NULL);
    expect_st("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 5, "data", "[4, 5)",
              "after the last tensor", NULL);
    expect_st("{\"__metadata__\":{\"k\":\"v\",\"n\":1}}", 0, "__metadata__", "'n'", "an integer, not a string",
              NULL);
    expect_st("{\"__metadata__\":[\"k\"]}", 0, "__metadata__", "not an object", NULL);
    /* a hostile name is quoted with its control bytes escaped */
    expect_st("{\"a\\u0001\\n\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,1]}}", 1,
              "tensor 'a\\x01\\x0a'", NULL);
}

/* ---- GGUF builder */
static void g_str(buf *b, const char *s)
{
    put_le(b, strlen(s), 8);
    put(b, s, strlen(s));
}

static void g_head(buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    put(b, "GGUF", 4);
    put_le(b, version, 4);
    put_le(b, n_tensors, 8);
    put_le(b, n_kv, 8);
}

static void g_kv_u32(buf *b, const char *key, uint32_t v)
{
    g_str(b, key);
    put_le(b, CQ_KV_U32, 4);
    put_le(b, v, 4);
}

static void g_kv_str(buf *b, const char *key, const char *v)
{
    g_str(b, key);
    put_le(b, CQ_KV_STRING, 4);
    g_str(b, v);
}

/* ne[] in GGUF order (innermost first) */
static void g_tensor(buf *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type, uint64_t off)
{
    g_str(b, name);
    put_le(b, nd, 4);
    for (uint32_t i = 0; i < nd; i++) put_le(b, ne[i], 8);
    put_le(b, type, 4);
    put_le(b, off, 8);
}

static void g_pad(buf *b, size_t align)
{
    while (b->n % align) put(b, "", 1);
}

/* A valid v3 file: 4 kv (architecture, alignment 64, a u8 array, a nested array of
 * strings), then a Q8_0 [2, 64] tensor at 0 and an F32 [3] tensor at 192. */
static buf g_valid(uint32_t version)
{
    buf b = {0};
    g_head(&b, version, 2, 4);
    g_kv_str(&b, "general.architecture", "llama");
    g_kv_u32(&b, "general.alignment", 64);
    g_str(&b, "bytes");
    put_le(&b, CQ_KV_ARRAY, 4);
    put_le(&b, CQ_KV_U8, 4);
    put_le(&b, 3, 8);
    put(&b, "\x01\x02\x03", 3);
    g_str(&b, "nested");
    put_le(&b, CQ_KV_ARRAY, 4);
    put_le(&b, CQ_KV_ARRAY, 4);
    put_le(&b, 2, 8);
    put_le(&b, CQ_KV_STRING, 4);
    put_le(&b, 1, 8);
    g_str(&b, "x");
    put_le(&b, CQ_KV_STRING, 4);
    put_le(&b, 0, 8);
    uint64_t ne_q[2] = {64, 2}, ne_f[1] = {3};
    g_tensor(&b, "blk.0.w", 2, ne_q, 8, 0);
    g_tensor(&b, "norm", 1, ne_f, 0, 192);
    g_pad(&b, 64);
    put_fill(&b, 192 + 12);
    return b;
}

Test(cli_parse, gguf_valid)
{
    for (uint32_t version = 2; version <= 3; version++) {
        buf b = g_valid(version);
        cq_model m = parse_ok(&b, "ok.gguf");
        cr_assert(m.format == CQ_FORMAT_GGUF && m.gguf_version == version && m.alignment == 64);
        cr_assert(m.data_offset % 64 == 0 && m.data_offset + 204 == b.n);
        cr_assert_eq(m.n_tensors, 2);
        const cq_tensor_info *t = &m.tensors[0];
        cr_assert_str_eq(t->name, "blk.0.w");
        cr_assert(t->type->id == CQ_T_Q8_0 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 64);
        cr_assert(t->offset == m.data_offset && t->nbytes == 2 * 2 * 34 && t->data == b.p + m.data_offset);
        t = &m.tensors[1];
        cr_assert(t->type->id == CQ_T_F32 && t->ndim == 1 && t->shape[0] == 3 && t->nbytes == 12);
        cr_assert_eq(t->offset, m.data_offset + 192);
        cr_assert_eq(m.n_kv, 4);
        const cq_kv *kv = cq_model_kv(&m, "general.architecture");
        cr_assert(kv && kv->type == CQ_KV_STRING && kv->raw_len == 13);
        cr_assert_str_eq(kv->str, "llama");
        kv = cq_model_kv(&m, "bytes");
        /* raw: element type, count, elements */
        cr_assert(kv && kv->type == CQ_KV_ARRAY && kv->raw_len == 4 + 8 + 3 && kv->raw[0] == CQ_KV_U8);
        cr_assert_null(kv->str);
        char *s = cq_kv_format(kv);
        cr_assert_str_eq(s, "[u8; 3] 1, 2, 3");
        free(s);
        s = cq_kv_format(cq_model_kv(&m, "nested"));
        cr_assert_str_eq(s, "[array; 2] [string; 1] \"x\", [string; 0]");
        free(s);
        s = cq_kv_format(cq_model_kv(&m, "general.alignment"));
        cr_assert_str_eq(s, "64");
        free(s);
        cq_model_free(&m);
        free(b.p);
    }

    /* default alignment 32; a zero dimension (ggml allows it); no tensors, no padding */
    buf b = {0};
    g_head(&b, 3, 2, 0);
    uint64_t ne[2] = {32, 1}, ne0[2] = {0, 5};
    g_tensor(&b, "a", 2, ne, 2, 32);
    g_tensor(&b, "e", 2, ne0, 0, 0);
    g_pad(&b, 32);
    put_fill(&b, 32 + 18);
    cq_model m = parse_ok(&b, "d.gguf");
    cr_assert(m.alignment == 32 && m.n_tensors == 2);
    cr_assert_str_eq(m.tensors[0].name, "e"); /* data order */
    cr_assert(m.tensors[1].type->id == CQ_T_Q4_0 && m.tensors[1].nbytes == 18);
    cq_model_free(&m);
    free(b.p);
    b = (buf){0};
    g_head(&b, 3, 0, 1);
    g_kv_str(&b, "k", "v");
    m = parse_ok(&b, "none.gguf");
    cr_assert(m.n_tensors == 0 && m.n_kv == 1);
    cq_model_free(&m);
    free(b.p);

    /* the builders a writer uses */
    cq_kv kv;
    cq_err err;
    cr_assert_eq(cq_kv_set_u32(&kv, "general.quantization_version", 2, &err), 0);
    cr_assert(kv.type == CQ_KV_U32 && kv.raw_len == 4 && kv.raw[0] == 2 && !kv.str);
    cr_assert_str_eq(kv.key, "general.quantization_version");
    cq_kv_clear(&kv);
    cr_assert_null(kv.key);
    cr_assert_eq(cq_kv_set_string(&kv, "k", "héllo", &err), 0);
    cr_assert(kv.type == CQ_KV_STRING && kv.raw_len == 8 + 6 && kv.raw[0] == 6 && !memcmp(kv.raw + 8, "héllo", 6));
    cr_assert_str_eq(kv.str, "héllo");
    cq_kv_clear(&kv);
    cr_assert_str_eq(cq_kv_type_name(CQ_KV_F64), "f64");
    cr_assert_str_eq(cq_kv_type_name(99), "unknown");
}

/* Patches the little-endian value of n bytes at offset at. */
static void patch(buf *b, size_t at, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) b->p[at + (size_t)i] = (unsigned char)(v >> (8 * i));
}

static void expect_g(buf *b, ...)
{
    va_list ap;
    va_start(ap, b);
    const char *w[6] = {0};
    for (int i = 0; i < 5 && (w[i] = va_arg(ap, const char *)); i++) {}
    va_end(ap);
    expect_fail(b, "bad.gguf", w[0], w[1], w[2], w[3], w[4], NULL);
    free(b->p);
    *b = (buf){0};
}

/* A one-tensor file with one kv of this type whose value the caller puts. */
static buf g_one(void)
{
    buf b = {0};
    g_head(&b, 3, 0, 1);
    g_str(&b, "k");
    return b;
}

Test(cli_parse, gguf_errors)
{
    buf b = g_valid(3);
    b.p[3] = 'E';
    expect_g(&b, "magic", "47 47 55 45", NULL);
    put(&b, "GGU", 3);
    expect_g(&b, "magic", "truncated", NULL);
    b = g_valid(3);
    patch(&b, 4, 1, 4);
    expect_g(&b, "version", "v1", NULL);
    b = g_valid(3);
    patch(&b, 4, 4, 4);
    expect_g(&b, "version", "4 is not", NULL);
    b = g_valid(3);
    patch(&b, 4, 0x03000000u, 4);
    expect_g(&b, "version", "big-endian", NULL);
    b = g_valid(3);
    b.n = 12;
    expect_g(&b, "tensor count", "truncated", NULL);
    b = g_valid(3);
    patch(&b, 8, UINT64_MAX, 8);
    expect_g(&b, "tensor count", "18446744073709551615", "cannot fit", NULL);
    b = g_valid(3);
    patch(&b, 16, UINT64_C(1) << 40, 8);
    expect_g(&b, "kv count", "cannot fit", NULL);
    b = g_valid(3);
    patch(&b, 24, UINT64_MAX - 3, 8); /* first key's length */
    expect_g(&b, "kv[0] key", "string length", "past the end", NULL);
    b = (buf){0};
    g_head(&b, 3, 0, 1);
    put_le(&b, 20, 8);
    put(&b, "general", 7);
    expect_g(&b, "kv[0] key", "string length 20", "past the end", NULL);
    b = (buf){0};
    g_head(&b, 3, 0, 1);
    g_str(&b, "general.architecture");
    put(&b, "\x08", 2); /* half of the type */
    expect_g(&b, "kv 'general.architecture'", "truncated", NULL);
    b = g_valid(3);
    patch(&b, 24 + 8 + 20, 13, 4);
    expect_g(&b, "kv 'general.architecture'", "unknown value type 13", NULL);
    b = g_valid(3);
    patch(&b, 24 + 8 + 20 + 4, 1000, 8); /* the string value's length */
    expect_g(&b, "kv 'general.architecture'", "string length 1000", NULL);

    b = g_one();
    put_le(&b, CQ_KV_ARRAY, 4);
    put_le(&b, CQ_KV_U32, 4);
    put_le(&b, UINT64_C(1) << 62, 8);
    expect_g(&b, "kv 'k'", "array count 4611686018427387904", NULL);
    b = g_one();
    put_le(&b, CQ_KV_ARRAY, 4);
    put_le(&b, 77, 4);
    put_le(&b, 0, 8);
    expect_g(&b, "kv 'k'", "unknown array element type 77", NULL);
    b = g_one();
    put_le(&b, CQ_KV_ARRAY, 4);
    for (int i = 0; i < 9; i++) {
        put_le(&b, CQ_KV_ARRAY, 4);
        put_le(&b, 1, 8);
    }
    put_le(&b, CQ_KV_U8, 4);
    put_le(&b, 0, 8);
    expect_g(&b, "kv 'k'", "nested deeper than 8", NULL);
    b = g_one();
    put_le(&b, CQ_KV_ARRAY, 4);
    put_le(&b, CQ_KV_STRING, 4);
    put_le(&b, 2, 8);
    g_str(&b, "a");
    put_le(&b, 5, 8);
    put(&b, "ab", 2);
    expect_g(&b, "kv 'k'", "string length 5", NULL);

    b = (buf){0};
    g_head(&b, 3, 0, 1);
    g_str(&b, "general.alignment");
    put_le(&b, CQ_KV_U64, 4);
    put_le(&b, 32, 8);
    expect_g(&b, "general.alignment", "u64, not u32", NULL);
    b = (buf){0};
    g_head(&b, 3, 0, 1);
    g_kv_u32(&b, "general.alignment", 48);
    expect_g(&b, "general.alignment", "48 is not a power of two", NULL);
    b = (buf){0};
    g_head(&b, 3, 0, 1);
    g_kv_u32(&b, "general.alignment", 0);
    expect_g(&b, "general.alignment", "0 is not a power of two", NULL);
    b = (buf){0};
    g_head(&b, 3, 0, 2);
    g_kv_u32(&b, "a", 1);
    g_kv_u32(&b, "a", 2);
    expect_g(&b, "kv 'a'", "duplicate name", NULL);
    b = (buf){0};
    g_head(&b, 3, 0, 1);
    put_le(&b, 3, 8);
    put(&b, "a\0b", 3);
    put_le(&b, CQ_KV_U8, 4);
    put(&b, "", 1);
    expect_g(&b, "kv[0] key", "'a\\x00b'", "NUL byte", NULL);

    uint64_t ne[5] = {32, 2, 1, 1, 1};
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    g_tensor(&b, "t", 5, ne, 0, 0);
    expect_g(&b, "tensor 't'", "n_dims: 5", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    uint64_t neg[1] = {UINT64_MAX};
    g_tensor(&b, "t", 1, neg, 0, 0);
    expect_g(&b, "tensor 't'", "ne[0]", "INT64_MAX", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    g_tensor(&b, "t", 2, ne, 31, 0);
    expect_g(&b, "tensor 't'", "type: 31", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    uint64_t odd[1] = {33};
    g_tensor(&b, "t", 1, odd, 8, 0);
    expect_g(&b, "tensor 't'", "shape", "33 is not a multiple of Q8_0", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    g_tensor(&b, "t", 2, ne, 0, 16);
    expect_g(&b, "tensor 't'", "offset", "16 is not a multiple of the alignment 32", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    g_tensor(&b, "t", 2, ne, 0, 0);
    g_pad(&b, 32);
    put_fill(&b, 255);
    expect_g(&b, "tensor 't'", "offset", "runs past the end of the data section (255 bytes", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    g_tensor(&b, "t", 2, ne, 0, UINT64_MAX - 31);
    g_pad(&b, 32);
    expect_g(&b, "tensor 't'", "offset", "past the end", NULL);
    b = (buf){0};
    g_head(&b, 3, 1, 0);
    g_tensor(&b, "t", 2, ne, 0, 0);
    expect_g(&b, "data section", "past the end", NULL);
    b = (buf){0};
    g_head(&b, 3, 2, 0);
    g_tensor(&b, "a", 2, ne, 0, 0);
    g_tensor(&b, "b", 1, ne, 0, 224);
    g_pad(&b, 32);
    put_fill(&b, 352);
    expect_g(&b, "tensor 'b'", "overlaps tensor 'a'", "[0, 256)", NULL);
    b = (buf){0};
    g_head(&b, 3, 2, 0);
    g_tensor(&b, "a", 1, ne, 0, 0);
    g_tensor(&b, "a", 1, ne, 0, 128);
    g_pad(&b, 32);
    put_fill(&b, 256);
    expect_g(&b, "tensor 'a'", "duplicate name", NULL);
    b = (buf){0};
    g_head(&b, 3, 2, 0);
    g_tensor(&b, "a", 1, ne, 0, 0);
    put_le(&b, 100, 8);
    put_fill(&b, 10);
    expect_g(&b, "tensor[1] name", "string length 100", NULL);
}

/* ---- files */
Test(cli_parse, open_files)
{
    char dir[] = "/tmp/cq_parse_XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[128];
    cq_model m;
    cq_err err;

    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    cr_assert_eq(cq_model_open(&m, path, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "cannot open"), "%s", err.msg);
    cr_assert_eq(cq_model_open(&m, dir, &err), -1);
    cr_assert(strstr(err.msg, "not a regular file"), "%s", err.msg);

    snprintf(path, sizeof path, "%s/empty.gguf", dir);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fclose(f);
    cr_assert_eq(cq_model_open(&m, path, &err), -1);
    cr_assert(strstr(err.msg, path) && strstr(err.msg, "empty file"), "%s", err.msg);
    unlink(path);

    buf b = g_valid(3);
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    f = fopen(path, "wb");
    cr_assert(f && fwrite(b.p, 1, b.n, f) == b.n);
    fclose(f);
    cr_assert_eq(cq_model_open(&m, path, &err), 0, "%s", err.msg);
    cr_assert(m.mapped && m.size == b.n && m.n_tensors == 2);
    cr_assert_str_eq(m.path, path);
    cr_assert_eq(memcmp(m.tensors[0].data, b.p + (m.tensors[0].offset), m.tensors[0].nbytes), 0);
    cq_model_free(&m);
    cr_assert_eq(m.mapped, 0);
    unlink(path);
    free(b.p);

    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    f = fopen(path, "wb");
    cr_assert(f && fwrite("\x02\0\0\0\0\0\0\0{", 1, 9, f) == 9);
    fclose(f);
    cr_assert_eq(cq_model_open(&m, path, &err), -1);
    cr_assert(strstr(err.msg, "header length") && strstr(err.msg, "past the end"), "%s", err.msg);
    unlink(path);
    rmdir(dir);
}

/* fuzz_gguf's finding: a name of control bytes quoted in a message overran the quote
 * buffer by one byte. */
Test(cli_parse, quote_long_control_name)
{
    char name[300], buf[CQ_QUOTE_SIZE + 16];
    memset(name, 1, sizeof name);
    memset(buf, 0x5a, sizeof buf);
    cq_quote(buf, name, sizeof name);
    cr_assert(strlen(buf) < CQ_QUOTE_SIZE, "%zu", strlen(buf));
    for (size_t i = CQ_QUOTE_SIZE; i < sizeof buf; i++) cr_assert_eq(buf[i], 0x5a);
}
