/* gguf_read.c: the GGUF reader (v2 and v3, little-endian): header, metadata (kv) with
 * nested arrays, tensor infos, aligned data section. Every count is bounded by the bytes
 * left in the file before anything is allocated for it, and lists grow as entries are
 * actually read, so a hostile count costs an error, not memory. */
#include "model_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Deeper nesting is refused (ggml itself reads no nested array; the spec allows them). */
#define GGUF_MAX_ARRAY_DEPTH 8
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGML_MAX_DIMS 4
/* The smallest encodings: a kv entry (key length, type, 1-byte value), a tensor info
 * (name length, n_dims, type, offset), an array element that is itself an array (type,
 * count), a string (its length). */
#define MIN_KV_BYTES 13u
#define MIN_TENSOR_BYTES 24u
#define MIN_ARRAY_BYTES 12u
#define MIN_STRING_BYTES 8u

typedef struct cursor {
    const cq_model *m;
    uint64_t pos;
    cq_err *err;
} cursor;

static uint64_t left(const cursor *c) { return c->m->size - c->pos; }

static int need(cursor *c, uint64_t n, const char *field)
{
    if (n > left(c))
        return cq_fail(c->err, "%s: %s: truncated: %" PRIu64 " bytes needed at offset %" PRIu64
                       ", the file ends at %" PRIu64, c->m->path, field, n, c->pos, c->m->size);
    return 0;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int rd_u32(cursor *c, uint32_t *v, const char *field)
{
    if (need(c, 4, field) < 0) return -1;
    *v = (uint32_t)le(c->m->base + c->pos, 4);
    c->pos += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v, const char *field)
{
    if (need(c, 8, field) < 0) return -1;
    *v = le(c->m->base + c->pos, 8);
    c->pos += 8;
    return 0;
}

/* A GGUF string (u64 length, bytes); *s points into the file. */
static int rd_str(cursor *c, const char **s, uint64_t *len, const char *field)
{
    if (rd_u64(c, len, field) < 0) return -1;
    if (*len > left(c))
        return cq_fail(c->err, "%s: %s: string length %" PRIu64 " at offset %" PRIu64 " runs past the end of "
                       "the file (%" PRIu64 " bytes)", c->m->path, field, *len, c->pos - 8, c->m->size);
    *s = (const char *)c->m->base + c->pos;
    c->pos += *len;
    return 0;
}

/* A name (key or tensor name) as an owned C string: no NUL inside. */
static int rd_name(cursor *c, char **out, const char *field)
{
    const char *s = NULL;
    uint64_t len;
    if (rd_str(c, &s, &len, field) < 0) return -1;
    if (memchr(s, 0, (size_t)len)) {
        char q[CQ_QUOTE_SIZE];
        return cq_fail(c->err, "%s: %s: %s contains a NUL byte", c->m->path, field, cq_quote(q, s, (size_t)len));
    }
    *out = malloc((size_t)len + 1);
    if (!*out) return cq_fail(c->err, "%s: %s: out of memory", c->m->path, field);
    memcpy(*out, s, (size_t)len);
    (*out)[len] = 0;
    return 0;
}

/* Steps over one value of this type; field names the entry. */
static int skip_value(cursor *c, uint32_t type, int depth, const char *field)
{
    unsigned sz = cq_kv_scalar_size(type);
    if (sz) return need(c, sz, field) < 0 ? -1 : (c->pos += sz, 0);
    if (type == CQ_KV_STRING) {
        const char *s = NULL;
        uint64_t len;
        return rd_str(c, &s, &len, field);
    }
    if (type != CQ_KV_ARRAY)
        return cq_fail(c->err, "%s: %s: unknown value type %" PRIu32, c->m->path, field, type);
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return cq_fail(c->err, "%s: %s: arrays nested deeper than %d", c->m->path, field, GGUF_MAX_ARRAY_DEPTH);
    uint32_t et;
    uint64_t n;
    if (rd_u32(c, &et, field) < 0 || rd_u64(c, &n, field) < 0) return -1;
    sz = cq_kv_scalar_size(et);
    uint64_t min = sz ? sz : et == CQ_KV_STRING ? MIN_STRING_BYTES : et == CQ_KV_ARRAY ? MIN_ARRAY_BYTES : 0;
    if (!min)
        return cq_fail(c->err, "%s: %s: unknown array element type %" PRIu32, c->m->path, field, et);
    if (n > left(c) / min)
        return cq_fail(c->err, "%s: %s: array count %" PRIu64 " is more than the %" PRIu64 " bytes left in "
                       "the file could hold", c->m->path, field, n, left(c));
    if (sz) {
        c->pos += n * sz;
        return 0;
    }
    for (uint64_t i = 0; i < n; i++)
        if (skip_value(c, et, depth + 1, field) < 0) return -1;
    return 0;
}

/* Grows *p (of *cap elements of size sz) to hold one more than used. */
static int grow(void **p, size_t *cap, size_t used, size_t sz)
{
    if (used < *cap) return 0;
    size_t n = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, n * sz);
    if (!q) return -1;
    memset((char *)q + *cap * sz, 0, (n - *cap) * sz);
    *p = q;
    *cap = n;
    return 0;
}

static int read_kv(cursor *c, uint64_t n_kv)
{
    cq_model *m = (cq_model *)c->m;
    size_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        char field[CQ_QUOTE_SIZE + 32], q[CQ_QUOTE_SIZE];
        if (grow((void **)&m->kv, &cap, m->n_kv, sizeof *m->kv) < 0)
            return cq_fail(c->err, "%s: kv: out of memory", m->path);
        cq_kv *kv = &m->kv[m->n_kv];
        snprintf(field, sizeof field, "kv[%" PRIu64 "] key", i);
        if (rd_name(c, &kv->key, field) < 0) return -1;
        m->n_kv++;
        snprintf(field, sizeof field, "kv %s", cq_quote(q, kv->key, strlen(kv->key)));
        if (rd_u32(c, &kv->type, field) < 0) return -1;
        uint64_t at = c->pos;
        if (skip_value(c, kv->type, 0, field) < 0) return -1;
        kv->raw = m->base + at;
        kv->raw_len = c->pos - at;
        if (kv->type == CQ_KV_STRING) {
            kv->str = malloc((size_t)kv->raw_len - 8 + 1);
            if (!kv->str) return cq_fail(c->err, "%s: %s: out of memory", m->path, field);
            memcpy(kv->str, kv->raw + 8, (size_t)kv->raw_len - 8);
            kv->str[kv->raw_len - 8] = 0;
        }
    }
    return cq_check_unique(m, m->kv, m->n_kv, sizeof *m->kv, offsetof(cq_kv, key), "kv", c->err);
}

static int read_alignment(cq_model *m, cq_err *err)
{
    m->alignment = GGUF_DEFAULT_ALIGNMENT;
    const cq_kv *kv = cq_model_kv(m, "general.alignment");
    if (!kv) return 0;
    if (kv->type != CQ_KV_U32)
        return cq_fail(err, "%s: kv 'general.alignment': type %s, not u32", m->path, cq_kv_type_name(kv->type));
    uint32_t a = (uint32_t)le(kv->raw, 4);
    if (a == 0 || (a & (a - 1)))
        return cq_fail(err, "%s: kv 'general.alignment': %" PRIu32 " is not a power of two", m->path, a);
    m->alignment = a;
    return 0;
}

static int read_tensor_infos(cursor *c, uint64_t n_tensors)
{
    cq_model *m = (cq_model *)c->m;
    size_t cap = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        char field[CQ_QUOTE_SIZE + 32], q[CQ_QUOTE_SIZE];
        if (grow((void **)&m->tensors, &cap, m->n_tensors, sizeof *m->tensors) < 0)
            return cq_fail(c->err, "%s: tensor infos: out of memory", m->path);
        cq_tensor_info *t = &m->tensors[m->n_tensors];
        snprintf(field, sizeof field, "tensor[%" PRIu64 "] name", i);
        if (rd_name(c, &t->name, field) < 0) return -1;
        m->n_tensors++;
        cq_quote(q, t->name, strlen(t->name));
        snprintf(field, sizeof field, "tensor %s", q);
        uint32_t nd, type;
        if (rd_u32(c, &nd, field) < 0) return -1;
        if (nd > GGML_MAX_DIMS)
            return cq_fail(c->err, "%s: tensor %s: n_dims: %" PRIu32 ", more than ggml's %d", m->path, q, nd,
                           GGML_MAX_DIMS);
        t->ndim = (int)nd;
        for (uint32_t j = 0; j < nd; j++) {
            uint64_t ne;
            if (rd_u64(c, &ne, field) < 0) return -1;
            if (ne > INT64_MAX)
                return cq_fail(c->err, "%s: tensor %s: ne[%" PRIu32 "]: %" PRIu64 " is above INT64_MAX", m->path,
                               q, j, ne);
            t->shape[nd - 1 - j] = ne; /* ne[0] is the innermost: row-major is ne reversed */
        }
        if (rd_u32(c, &type, field) < 0 || rd_u64(c, &t->offset, field) < 0) return -1;
        t->type = cq_type_from_gguf(type);
        if (!t->type)
            return cq_fail(c->err, "%s: tensor %s: type: %" PRIu32 " is no ggml type this tool knows", m->path, q,
                           type);
        if (t->offset % m->alignment)
            return cq_fail(c->err, "%s: tensor %s: offset: %" PRIu64 " is not a multiple of the alignment %" PRIu64,
                           m->path, q, t->offset, m->alignment);
        char what[CQ_QUOTE_SIZE + 256];
        snprintf(what, sizeof what, "%s: tensor %s: shape", m->path, q);
        if (cq_type_nbytes(t->type, t->ndim, t->shape, &t->nbytes, what, c->err) < 0) return -1;
    }
    return cq_check_unique(m, m->tensors, m->n_tensors, sizeof *m->tensors, offsetof(cq_tensor_info, name),
                           "tensor", c->err);
}

/* Offsets become absolute; every tensor inside the file and none over another. */
static int place_tensors(cq_model *m, cq_err *err)
{
    uint64_t data_size = m->size - m->data_offset;
    char q[CQ_QUOTE_SIZE], p[CQ_QUOTE_SIZE];
    for (size_t i = 0; i < m->n_tensors; i++) {
        cq_tensor_info *t = &m->tensors[i];
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return cq_fail(err, "%s: tensor %s: offset: data [%" PRIu64 ", +%" PRIu64 " bytes) runs past the end "
                           "of the data section (%" PRIu64 " bytes from offset %" PRIu64 ")", m->path,
                           cq_quote(q, t->name, strlen(t->name)), t->offset, t->nbytes, data_size, m->data_offset);
        t->offset += m->data_offset;
    }
    if (cq_model_sort_tensors(m, err) < 0) return -1;
    const cq_tensor_info *prev = NULL;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const cq_tensor_info *t = &m->tensors[i];
        if (!t->nbytes) continue;
        if (prev && t->offset < prev->offset + prev->nbytes)
            return cq_fail(err, "%s: tensor %s: offset: data at %" PRIu64 " overlaps tensor %s's [%" PRIu64 ", %"
                           PRIu64 ")", m->path, cq_quote(q, t->name, strlen(t->name)), t->offset - m->data_offset,
                           cq_quote(p, prev->name, strlen(prev->name)), prev->offset - m->data_offset,
                           prev->offset + prev->nbytes - m->data_offset);
        if (!prev || t->offset + t->nbytes > prev->offset + prev->nbytes) prev = t;
    }
    return 0;
}

int cq_gguf_parse(cq_model *m, cq_err *err)
{
    m->format = CQ_FORMAT_GGUF;
    cursor c = {m, 0, err};
    uint32_t magic, version;
    uint64_t n_tensors, n_kv;
    if (rd_u32(&c, &magic, "magic") < 0) return -1;
    if (memcmp(m->base, "GGUF", 4))
        return cq_fail(err, "%s: magic: bytes %02x %02x %02x %02x are not GGUF's \"GGUF\"", m->path, m->base[0],
                       m->base[1], m->base[2], m->base[3]);
    if (rd_u32(&c, &version, "version") < 0) return -1;
    if (version && !(version & 0xFFFFu))
        return cq_fail(err, "%s: version: 0x%08" PRIx32 " reads as a big-endian GGUF; only little-endian is "
                       "supported", m->path, version);
    if (version == 1)
        return cq_fail(err, "%s: version: GGUF v1 (32-bit counts) is not supported; v2 and v3 are", m->path);
    if (version != 2 && version != 3)
        return cq_fail(err, "%s: version: %" PRIu32 " is not a GGUF version this tool reads (2, 3)", m->path,
                       version);
    m->gguf_version = version;
    if (rd_u64(&c, &n_tensors, "tensor count") < 0 || rd_u64(&c, &n_kv, "kv count") < 0) return -1;
    if (n_tensors > left(&c) / MIN_TENSOR_BYTES)
        return cq_fail(err, "%s: tensor count: %" PRIu64 " tensors cannot fit in the %" PRIu64 " bytes left in "
                       "the file", m->path, n_tensors, left(&c));
    if (n_kv > (left(&c) - n_tensors * MIN_TENSOR_BYTES) / MIN_KV_BYTES)
        return cq_fail(err, "%s: kv count: %" PRIu64 " entries cannot fit in the %" PRIu64 " bytes left in the "
                       "file", m->path, n_kv, left(&c));
    if (read_kv(&c, n_kv) < 0 || read_alignment(m, err) < 0 || read_tensor_infos(&c, n_tensors) < 0) return -1;
    uint64_t pad = (m->alignment - c.pos % m->alignment) % m->alignment;
    m->data_offset = c.pos + pad;
    if (m->n_tensors && pad > left(&c))
        return cq_fail(err, "%s: data section: starts at %" PRIu64 " (aligned to %" PRIu64 "), past the end of "
                       "the file (%" PRIu64 " bytes)", m->path, m->data_offset, m->alignment, m->size);
    if (!m->n_tensors && pad > left(&c)) m->data_offset = m->size;
    return place_tensors(m, err);
}
