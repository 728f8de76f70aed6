/* model.c: a model file as the tool reads it: format by magic, mmap, lookup, and the
 * checks and message helpers both readers share (model_read.h). */
#include "model_read.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *cq_quote(char buf[CQ_QUOTE_SIZE], const char *s, size_t len)
{
    size_t o = 0;
    buf[o++] = '\'';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (o + 9 > CQ_QUOTE_SIZE) { /* room for a \\xNN, "...", the quote and NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
            buf[o++] = (char)ch;
        } else if (ch >= 0x80) {
            buf[o++] = (char)ch; /* UTF-8 passes (safetensors names are JSON strings) */
        } else {
            o += (size_t)snprintf(buf + o, CQ_QUOTE_SIZE - o, "\\x%02x", ch);
        }
    }
    buf[o++] = '\'';
    buf[o] = 0;
    return buf;
}

const char *cq_shape_str(char buf[CQ_SHAPE_SIZE], int ndim, const uint64_t *shape)
{
    size_t o = 0;
    buf[o++] = '[';
    for (int i = 0; i < ndim; i++)
        o += (size_t)snprintf(buf + o, CQ_SHAPE_SIZE - o, "%s%" PRIu64, i ? ", " : "", shape[i]);
    snprintf(buf + o, CQ_SHAPE_SIZE - o, "]");
    return buf;
}

typedef struct sort_key {
    uint64_t begin, end;
    size_t index;
} sort_key;

static int cmp_offset(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int cq_model_sort_tensors(cq_model *m, cq_err *err)
{
    size_t n = m->n_tensors;
    if (n == 0) return 0;
    sort_key *k = malloc(n * sizeof *k);
    cq_tensor_info *t = malloc(n * sizeof *t);
    if (!k || !t) {
        free(k);
        free(t);
        return cq_fail(err, "%s: out of memory sorting %zu tensors", m->path, n);
    }
    for (size_t i = 0; i < n; i++)
        k[i] = (sort_key){m->tensors[i].offset, m->tensors[i].offset + m->tensors[i].nbytes, i};
    qsort(k, n, sizeof *k, cmp_offset);
    for (size_t i = 0; i < n; i++) {
        t[i] = m->tensors[k[i].index];
        t[i].data = m->base + t[i].offset;
    }
    memcpy(m->tensors, t, n * sizeof *t);
    free(k);
    free(t);
    return 0;
}

typedef struct name_key {
    const char *name;
    size_t index;
} name_key;

static int cmp_name(const void *a, const void *b)
{
    const name_key *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

int cq_check_unique(const cq_model *m, const void *records, size_t n, size_t stride,
                    size_t name_at, const char *what, cq_err *err)
{
    if (n < 2) return 0;
    name_key *k = malloc(n * sizeof *k);
    if (!k) return cq_fail(err, "%s: out of memory checking %zu names", m->path, n);
    for (size_t i = 0; i < n; i++) {
        const char *rec = (const char *)records + i * stride;
        memcpy(&k[i].name, rec + name_at, sizeof k[i].name);
        k[i].index = i;
    }
    qsort(k, n, sizeof *k, cmp_name);
    int rc = 0;
    for (size_t i = 1; i < n && !rc; i++)
        if (!strcmp(k[i - 1].name, k[i].name)) {
            char q[CQ_QUOTE_SIZE];
            rc = cq_fail(err, "%s: %s %s: duplicate name (entries %zu and %zu)", m->path, what,
                         cq_quote(q, k[i].name, strlen(k[i].name)), k[i - 1].index, k[i].index);
        }
    free(k);
    return rc;
}

static int ends_with_gguf(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && !strcasecmp(path + n - 5, ".gguf");
}

int cq_model_parse(cq_model *m, const char *path, const void *data, uint64_t size, cq_err *err)
{
    memset(m, 0, sizeof *m);
    m->path = strdup(path ? path : "(memory)");
    if (!m->path) return cq_fail(err, "%s: out of memory", path ? path : "(memory)");
    m->base = data;
    m->size = size;
    /* The magic decides; a .gguf name only makes a missing magic a GGUF error. */
    int gguf = size >= 4 && !memcmp(data, "GGUF", 4);
    int rc = gguf || ends_with_gguf(m->path) ? cq_gguf_parse(m, err) : cq_st_parse(m, err);
    if (rc < 0) cq_model_free(m);
    return rc;
}

int cq_model_open(cq_model *m, const char *path, cq_err *err)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cq_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return cq_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cq_fail(err, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return cq_fail(err, "%s: empty file (0 bytes): neither safetensors nor GGUF", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > SIZE_MAX) {
        close(fd);
        return cq_fail(err, "%s: %" PRIu64 " bytes is more than this process can map", path, size);
    }
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file */
    if (p == MAP_FAILED) return cq_fail(err, "%s: cannot map %" PRIu64 " bytes: %s", path, size, strerror(e));
    if (cq_model_parse(m, path, p, size, err) < 0) {
        munmap(p, (size_t)size);
        return -1;
    }
    m->mapped = 1;
    return 0;
}

void cq_model_free(cq_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_tensors; i++) free(m->tensors[i].name);
    free(m->tensors);
    for (size_t i = 0; i < m->n_kv; i++) cq_kv_clear(&m->kv[i]);
    free(m->kv);
    if (m->mapped) munmap((void *)m->base, (size_t)m->size);
    free(m->path);
    memset(m, 0, sizeof *m);
}

const cq_tensor_info *cq_model_find(const cq_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

const cq_kv *cq_model_kv(const cq_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_kv; i++)
        if (!strcmp(m->kv[i].key, key)) return &m->kv[i];
    return NULL;
}
