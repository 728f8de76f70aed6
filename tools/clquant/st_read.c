/* st_read.c: the safetensors reader: 8-byte little-endian header length, a JSON header
 * (Jansson) of tensor entries and string-only __metadata__, then the data, which the
 * tensors must cover exactly, in any header order, as the Rust reference crate requires. */
#include "model_read.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a JSON value";
}

/* v as a non-negative exact integer; field names it in the message. */
static int get_u64(const cq_model *m, const char *tq, const char *field, const json_t *v,
                   uint64_t *out, cq_err *err)
{
    if (!json_is_integer(v))
        return cq_fail(err, "%s: tensor %s: %s: %s, not an integer", m->path, tq, field, json_kind(v));
    json_int_t x = json_integer_value(v);
    if (x < 0)
        return cq_fail(err, "%s: tensor %s: %s: %" JSON_INTEGER_FORMAT " is negative", m->path, tq, field, x);
    *out = (uint64_t)x;
    return 0;
}

static int parse_metadata(cq_model *m, const json_t *meta, cq_err *err)
{
    if (!json_is_object(meta))
        return cq_fail(err, "%s: __metadata__: %s, not an object of strings", m->path, json_kind(meta));
    size_t n = json_object_size(meta);
    m->kv = n ? calloc(n, sizeof *m->kv) : NULL;
    if (n && !m->kv) return cq_fail(err, "%s: __metadata__: out of memory", m->path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        char q[CQ_QUOTE_SIZE];
        if (!json_is_string(v))
            return cq_fail(err, "%s: __metadata__: %s: %s, not a string", m->path,
                           cq_quote(q, key, strlen(key)), json_kind(v));
        if (cq_kv_set_string(&m->kv[m->n_kv], key, json_string_value(v), err) < 0)
            return cq_fail(err, "%s: __metadata__: %s: out of memory", m->path, cq_quote(q, key, strlen(key)));
        m->n_kv++;
    }
    return 0;
}

/* One header entry into t (t->name set by the caller); data_size bounds the offsets. */
static int parse_tensor(const cq_model *m, cq_tensor_info *t, const json_t *v, uint64_t data_size,
                        cq_err *err)
{
    char tq[CQ_QUOTE_SIZE], what[CQ_QUOTE_SIZE + 256], sh[CQ_SHAPE_SIZE];
    cq_quote(tq, t->name, strlen(t->name));
    if (!json_is_object(v))
        return cq_fail(err, "%s: tensor %s: %s, not an object with dtype, shape and data_offsets",
                       m->path, tq, json_kind(v));
    const json_t *dtype = json_object_get(v, "dtype");
    if (!dtype) return cq_fail(err, "%s: tensor %s: dtype: missing", m->path, tq);
    if (!json_is_string(dtype))
        return cq_fail(err, "%s: tensor %s: dtype: %s, not a string", m->path, tq, json_kind(dtype));
    t->type = cq_type_from_st(json_string_value(dtype));
    if (!t->type) {
        char dq[CQ_QUOTE_SIZE];
        return cq_fail(err, "%s: tensor %s: dtype: unknown dtype %s", m->path, tq,
                       cq_quote(dq, json_string_value(dtype), json_string_length(dtype)));
    }

    const json_t *shape = json_object_get(v, "shape");
    if (!shape) return cq_fail(err, "%s: tensor %s: shape: missing", m->path, tq);
    if (!json_is_array(shape))
        return cq_fail(err, "%s: tensor %s: shape: %s, not an array of integers", m->path, tq, json_kind(shape));
    size_t nd = json_array_size(shape);
    if (nd > CQ_MAX_DIMS)
        return cq_fail(err, "%s: tensor %s: shape: %zu dimensions, more than the %d supported", m->path, tq,
                       nd, CQ_MAX_DIMS);
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        char field[32];
        snprintf(field, sizeof field, "shape[%zu]", i);
        if (get_u64(m, tq, field, json_array_get(shape, i), &t->shape[i], err) < 0) return -1;
    }

    const json_t *off = json_object_get(v, "data_offsets");
    if (!off) return cq_fail(err, "%s: tensor %s: data_offsets: missing", m->path, tq);
    if (!json_is_array(off) || json_array_size(off) != 2)
        return cq_fail(err, "%s: tensor %s: data_offsets: %s%s, not [begin, end]", m->path, tq,
                       json_is_array(off) ? "an array of " : json_kind(off),
                       json_is_array(off) ? (json_array_size(off) < 2 ? "fewer than 2" : "more than 2") : "");
    uint64_t begin, end;
    if (get_u64(m, tq, "data_offsets[0]", json_array_get(off, 0), &begin, err) < 0 ||
        get_u64(m, tq, "data_offsets[1]", json_array_get(off, 1), &end, err) < 0)
        return -1;
    if (begin > end)
        return cq_fail(err, "%s: tensor %s: data_offsets: begin %" PRIu64 " > end %" PRIu64, m->path, tq,
                       begin, end);
    if (end > data_size)
        return cq_fail(err, "%s: tensor %s: data_offsets: end %" PRIu64 " is past the end of the data (%" PRIu64
                       " bytes after the header)", m->path, tq, end, data_size);
    snprintf(what, sizeof what, "%s: tensor %s: shape", m->path, tq);
    if (cq_type_nbytes(t->type, t->ndim, t->shape, &t->nbytes, what, err) < 0) return -1;
    if (end - begin != t->nbytes)
        return cq_fail(err, "%s: tensor %s: data_offsets: [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                       " bytes, but shape %s of %s is %" PRIu64 " bytes", m->path, tq, begin, end, end - begin,
                       cq_shape_str(sh, t->ndim, t->shape), t->type->name, t->nbytes);
    t->offset = m->data_offset + begin;
    return 0;
}

/* After sorting: the tensors must tile [0, data_size) with no gap and no overlap. */
static int check_coverage(const cq_model *m, uint64_t data_size, cq_err *err)
{
    char q[CQ_QUOTE_SIZE], p[CQ_QUOTE_SIZE];
    uint64_t at = 0;              /* relative to the data section */
    const cq_tensor_info *prev = NULL;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const cq_tensor_info *t = &m->tensors[i];
        uint64_t begin = t->offset - m->data_offset;
        if (begin < at)
            return cq_fail(err, "%s: tensor %s: data_offsets: [%" PRIu64 ", %" PRIu64 "] overlap tensor %s's [%"
                           PRIu64 ", %" PRIu64 "]", m->path, cq_quote(q, t->name, strlen(t->name)), begin,
                           begin + t->nbytes, cq_quote(p, prev->name, strlen(prev->name)),
                           prev->offset - m->data_offset, at);
        if (begin > at)
            return cq_fail(err, "%s: tensor %s: data_offsets: begins at %" PRIu64 ", leaving bytes [%" PRIu64
                           ", %" PRIu64 ") of the data to no tensor (safetensors requires the tensors to cover "
                           "the data contiguously)", m->path, cq_quote(q, t->name, strlen(t->name)), begin, at,
                           begin);
        at = begin + t->nbytes;
        prev = t;
    }
    if (at != data_size)
        return cq_fail(err, "%s: data: bytes [%" PRIu64 ", %" PRIu64 ") after the last tensor belong to no tensor "
                       "(safetensors requires the tensors to cover the data exactly)", m->path, at, data_size);
    return 0;
}

int cq_st_parse(cq_model *m, cq_err *err)
{
    m->format = CQ_FORMAT_SAFETENSORS;
    if (m->size < 8)
        return cq_fail(err, "%s: header length: truncated: the file is %" PRIu64 " bytes, less than the 8 of "
                       "the header length", m->path, m->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | m->base[i];
    if (n > CQ_SAFETENSORS_MAX_HEADER)
        return cq_fail(err, "%s: header length: %" PRIu64 " bytes is above safetensors' limit of %u", m->path, n,
                       CQ_SAFETENSORS_MAX_HEADER);
    if (n > m->size - 8)
        return cq_fail(err, "%s: header length: truncated: %" PRIu64 " bytes of header run past the end of the "
                       "file (%" PRIu64 " bytes)", m->path, n, m->size);
    m->data_offset = 8 + n;
    uint64_t data_size = m->size - m->data_offset;

    json_error_t je;
    json_t *root = json_loadb((const char *)m->base + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        int dup = json_error_code(&je) == json_error_duplicate_key;
        return cq_fail(err, "%s: header: %s at byte %lld of the file: %s", m->path,
                       dup ? "duplicate key (tensor name or field)" : "not valid JSON",
                       (long long)je.position + 8, je.text);
    }
    int rc = -1;
    if (!json_is_object(root)) {
        cq_fail(err, "%s: header: %s, not a JSON object", m->path, json_kind(root));
        goto out;
    }
    size_t count = json_object_size(root);
    if (json_object_get(root, "__metadata__")) count--;
    m->tensors = count ? calloc(count, sizeof *m->tensors) : NULL;
    if (count && !m->tensors) {
        cq_fail(err, "%s: header: out of memory for %zu tensors", m->path, count);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (parse_metadata(m, v, err) < 0) goto out;
            continue;
        }
        cq_tensor_info *t = &m->tensors[m->n_tensors];
        t->name = strdup(key);
        if (!t->name) {
            cq_fail(err, "%s: header: out of memory", m->path);
            goto out;
        }
        m->n_tensors++;
        if (parse_tensor(m, t, v, data_size, err) < 0) goto out;
    }
    if (cq_model_sort_tensors(m, err) < 0 || check_coverage(m, data_size, err) < 0) goto out;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
