/* kv.c: metadata entries: the builders a writer uses (values encoded as GGUF encodes
 * them) and the text `clquant info` shows for a value. */
#include "model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Array elements `clquant info` shows before "...". */
#define FORMAT_ARRAY_ITEMS 8
/* String bytes it shows before "...". */
#define FORMAT_STRING_BYTES 120

const char *cq_kv_type_name(uint32_t type)
{
    static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
                                        "array", "u64", "i64", "f64"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int set(cq_kv *kv, const char *key, uint32_t type, const void *val, size_t len, int is_str,
               cq_err *err)
{
    memset(kv, 0, sizeof *kv);
    size_t head = is_str ? 8 : 0;
    kv->key = strdup(key);
    kv->owned = malloc(head + len + 1);
    if (is_str) kv->str = malloc(len + 1);
    if (!kv->key || !kv->owned || (is_str && !kv->str)) {
        cq_kv_clear(kv);
        return cq_fail(err, "kv '%s': out of memory", key);
    }
    if (is_str) {
        put_le(kv->owned, len, 8);
        memcpy(kv->str, val, len);
        kv->str[len] = 0;
    }
    memcpy(kv->owned + head, val, len);
    kv->type = type;
    kv->raw = kv->owned;
    kv->raw_len = head + len;
    return 0;
}

int cq_kv_set_string(cq_kv *kv, const char *key, const char *value, cq_err *err)
{
    return set(kv, key, CQ_KV_STRING, value, strlen(value), 1, err);
}

int cq_kv_set_u32(cq_kv *kv, const char *key, uint32_t value, cq_err *err)
{
    unsigned char b[4];
    put_le(b, value, 4);
    return set(kv, key, CQ_KV_U32, b, 4, 0, err);
}

void cq_kv_clear(cq_kv *kv)
{
    if (!kv) return;
    free(kv->key);
    free(kv->str);
    free(kv->owned);
    memset(kv, 0, sizeof *kv);
}

typedef struct span {
    const unsigned char *p;
    uint64_t n;
} span;

static int take(span *s, uint64_t n, const unsigned char **out)
{
    if (n > s->n) return -1;
    *out = s->p;
    s->p += n;
    s->n -= n;
    return 0;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void put_string(FILE *f, const unsigned char *p, uint64_t n)
{
    fputc('"', f);
    for (uint64_t i = 0; i < n && i < FORMAT_STRING_BYTES; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
    if (n > FORMAT_STRING_BYTES) fprintf(f, "... (%" PRIu64 " bytes)", n);
}

unsigned cq_kv_scalar_size(uint32_t type)
{
    switch (type) {
    case CQ_KV_U8: case CQ_KV_I8: case CQ_KV_BOOL: return 1;
    case CQ_KV_U16: case CQ_KV_I16: return 2;
    case CQ_KV_U32: case CQ_KV_I32: case CQ_KV_F32: return 4;
    case CQ_KV_U64: case CQ_KV_I64: case CQ_KV_F64: return 8;
    }
    return 0;
}

/* Steps over n values of this type (the elements of an array not shown). */
static int skip(span *s, uint32_t type, uint64_t n, int depth)
{
    const unsigned char *p;
    unsigned sz = cq_kv_scalar_size(type);
    if (sz) return n > s->n / sz ? -1 : take(s, n * sz, &p);
    for (uint64_t i = 0; i < n; i++) {
        if (type == CQ_KV_STRING) {
            if (take(s, 8, &p) || take(s, le(p, 8), &p)) return -1;
        } else if (type == CQ_KV_ARRAY && depth <= 8) {
            if (take(s, 12, &p) || skip(s, (uint32_t)le(p, 4), le(p + 4, 8), depth + 1)) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* One value of this type from s; -1 when s is too short (a value not built by the
 * readers or the builders). */
static int put_value(FILE *f, span *s, uint32_t type, int depth)
{
    const unsigned char *p;
    switch (type) {
    case CQ_KV_U8: if (take(s, 1, &p)) return -1; fprintf(f, "%u", p[0]); return 0;
    case CQ_KV_I8: if (take(s, 1, &p)) return -1; fprintf(f, "%d", (int8_t)p[0]); return 0;
    case CQ_KV_BOOL: if (take(s, 1, &p)) return -1; fputs(p[0] ? "true" : "false", f); return 0;
    case CQ_KV_U16: if (take(s, 2, &p)) return -1; fprintf(f, "%u", (unsigned)le(p, 2)); return 0;
    case CQ_KV_I16: if (take(s, 2, &p)) return -1; fprintf(f, "%d", (int16_t)le(p, 2)); return 0;
    case CQ_KV_U32: if (take(s, 4, &p)) return -1; fprintf(f, "%" PRIu32, (uint32_t)le(p, 4)); return 0;
    case CQ_KV_I32: if (take(s, 4, &p)) return -1; fprintf(f, "%" PRId32, (int32_t)(uint32_t)le(p, 4)); return 0;
    case CQ_KV_U64: if (take(s, 8, &p)) return -1; fprintf(f, "%" PRIu64, le(p, 8)); return 0;
    case CQ_KV_I64: if (take(s, 8, &p)) return -1; fprintf(f, "%" PRId64, (int64_t)le(p, 8)); return 0;
    case CQ_KV_F32: {
        if (take(s, 4, &p)) return -1;
        uint32_t b = (uint32_t)le(p, 4);
        float x;
        memcpy(&x, &b, 4);
        fprintf(f, "%.9g", (double)x);
        return 0;
    }
    case CQ_KV_F64: {
        if (take(s, 8, &p)) return -1;
        uint64_t b = le(p, 8);
        double x;
        memcpy(&x, &b, 8);
        fprintf(f, "%.17g", x);
        return 0;
    }
    case CQ_KV_STRING: {
        if (take(s, 8, &p)) return -1;
        uint64_t n = le(p, 8);
        if (take(s, n, &p)) return -1;
        put_string(f, p, n);
        return 0;
    }
    case CQ_KV_ARRAY: {
        if (depth > 8 || take(s, 4, &p)) return -1;
        uint32_t et = (uint32_t)le(p, 4);
        if (take(s, 8, &p)) return -1;
        uint64_t n = le(p, 8);
        fprintf(f, "[%s; %" PRIu64 "]", cq_kv_type_name(et), n);
        for (uint64_t i = 0; i < n && i < FORMAT_ARRAY_ITEMS; i++) {
            fputs(i ? ", " : " ", f);
            if (put_value(f, s, et, depth + 1) < 0) return -1;
        }
        if (n > FORMAT_ARRAY_ITEMS) fputs(", ...", f);
        return n > FORMAT_ARRAY_ITEMS ? skip(s, et, n - FORMAT_ARRAY_ITEMS, depth + 1) : 0;
    }
    }
    return -1;
}

char *cq_kv_format(const cq_kv *kv)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    span s = {kv->raw, kv->raw ? kv->raw_len : 0};
    if (put_value(f, &s, kv->type, 0) < 0) fputs(" (unreadable value)", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
