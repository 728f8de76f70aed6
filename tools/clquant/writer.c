/* writer.c: safetensors and GGUF v3 output: the header laid out from the tensor list,
 * tensor bytes written at their place (pwrite, any order, any thread) into a temporary
 * file beside the target, renamed over it only when complete; SIGINT / SIGTERM remove
 * every temporary file still open. */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_read.h"

#define GGUF_ALIGN 32u

struct cq_writer {
    char *path, *tmp;
    int fd, slot;
    size_t n;
    uint64_t *at, *bytes, *got; /* file offset of each tensor's data, its size, bytes received */
    char **names;
};

/* ---- the temporary files a signal must remove: a fixed table the handler reads
 * without locks (a slot's path is complete before its flag is set) */
enum { SLOTS = 16 };
static char slot_path[SLOTS][PATH_MAX];
static volatile sig_atomic_t slot_used[SLOTS];
static int handlers_installed;

static void on_signal(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (slot_used[i] == 2) unlink(slot_path[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int slot_take(const char *path)
{
    if (!__atomic_exchange_n(&handlers_installed, 1, __ATOMIC_ACQ_REL)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    for (int i = 0; i < SLOTS; i++) {
        sig_atomic_t free_ = 0;
        if (__atomic_compare_exchange_n(&slot_used[i], &free_, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            snprintf(slot_path[i], PATH_MAX, "%s", path);
            __atomic_store_n(&slot_used[i], 2, __ATOMIC_RELEASE);
            return i;
        }
    }
    return -1; /* more writers than slots: that file is only removed on errors */
}

static void slot_give(int i)
{
    if (i >= 0) __atomic_store_n(&slot_used[i], 0, __ATOMIC_RELEASE);
}

/* ---- layout */
static void le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

typedef struct obuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} obuf;

static void put(obuf *b, const void *d, size_t n)
{
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 256;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_le(obuf *b, uint64_t v, int n)
{
    unsigned char c[8];
    le(c, v, n);
    put(b, c, (size_t)n);
}

static void put_str(obuf *b, const char *s)
{
    put_le(b, strlen(s), 8);
    put(b, s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_names(cq_writer *w, cq_err *err)
{
    char **sorted = malloc((w->n ? w->n : 1) * sizeof *sorted);
    if (!sorted) return cq_fail(err, "%s: out of memory", w->path);
    memcpy(sorted, w->names, w->n * sizeof *sorted);
    qsort(sorted, w->n, sizeof *sorted, cmp_str);
    int rc = 0;
    for (size_t i = 1; i < w->n && !rc; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) {
            char q[CQ_QUOTE_SIZE];
            rc = cq_fail(err, "%s: tensor %s: written twice (names must be unique)", w->path,
                         cq_quote(q, sorted[i], strlen(sorted[i])));
        }
    free(sorted);
    return rc;
}

/* safetensors: 8-byte header length, the JSON (metadata first, then the tensors in list
 * order with contiguous data_offsets), padded with spaces to a multiple of 8. */
static int layout_st(cq_writer *w, const cq_out_tensor *t, const cq_kv *kv, size_t n_kv, obuf *b,
                     cq_err *err)
{
    json_t *root = json_object(), *meta = NULL;
    int rc = -1;
    for (size_t i = 0; i < n_kv; i++) {
        if (kv[i].type != CQ_KV_STRING || !kv[i].str) continue; /* all safetensors can hold */
        if (!meta) meta = json_object();
        json_object_set_new(meta, kv[i].key, json_string(kv[i].str));
    }
    if (meta) json_object_set_new(root, "__metadata__", meta);
    uint64_t at = 0;
    for (size_t i = 0; i < w->n; i++) {
        json_t *o = json_object(), *shape = json_array(), *offs = json_array();
        for (int d = 0; d < t[i].ndim; d++) json_array_append_new(shape, json_integer((json_int_t)t[i].shape[d]));
        json_array_append_new(offs, json_integer((json_int_t)at));
        json_array_append_new(offs, json_integer((json_int_t)(at + w->bytes[i])));
        json_object_set_new(o, "dtype", json_string(t[i].type->st_name));
        json_object_set_new(o, "shape", shape);
        json_object_set_new(o, "data_offsets", offs);
        if (json_object_set_new(root, w->names[i], o)) {
            char q[CQ_QUOTE_SIZE];
            cq_fail(err, "%s: tensor %s: name is not UTF-8", w->path, cq_quote(q, w->names[i], strlen(w->names[i])));
            goto done;
        }
        w->at[i] = at;
        at += w->bytes[i];
    }
    char *json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!json) {
        cq_fail(err, "%s: header: cannot encode (a metadata string not UTF-8?)", w->path);
        goto done;
    }
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    if (padded > CQ_SAFETENSORS_MAX_HEADER) {
        free(json);
        cq_fail(err, "%s: header: %zu bytes, above safetensors' limit of %u", w->path, padded,
                CQ_SAFETENSORS_MAX_HEADER);
        goto done;
    }
    put_le(b, padded, 8);
    put(b, json, len);
    for (size_t i = len; i < padded; i++) put(b, " ", 1);
    free(json);
    for (size_t i = 0; i < w->n; i++) w->at[i] += b->n;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* GGUF v3: the kv entries as given (general.alignment written as 32 when absent), the
 * tensor infos (ne[] innermost first), data aligned to 32. */
static int layout_gguf(cq_writer *w, const cq_out_tensor *t, const cq_kv *kv, size_t n_kv, obuf *b,
                       cq_err *err)
{
    int have_align = 0;
    for (size_t i = 0; i < n_kv; i++)
        if (!strcmp(kv[i].key, "general.alignment")) {
            uint64_t v = 0;
            if (kv[i].type == CQ_KV_U32 && kv[i].raw_len == 4)
                for (int k = 3; k >= 0; k--) v = v << 8 | kv[i].raw[k];
            if (v != GGUF_ALIGN)
                return cq_fail(err, "%s: kv general.alignment: the writer aligns to 32 (u32)", w->path);
            have_align = 1;
        }
    put(b, "GGUF", 4);
    put_le(b, 3, 4);
    put_le(b, w->n, 8);
    put_le(b, n_kv + !have_align, 8);
    for (size_t i = 0; i < n_kv; i++) {
        put_str(b, kv[i].key);
        put_le(b, kv[i].type, 4);
        put(b, kv[i].raw, kv[i].raw_len);
    }
    if (!have_align) {
        put_str(b, "general.alignment");
        put_le(b, CQ_KV_U32, 4);
        put_le(b, GGUF_ALIGN, 4);
    }
    uint64_t at = 0;
    for (size_t i = 0; i < w->n; i++) {
        put_str(b, w->names[i]);
        int nd = t[i].ndim ? t[i].ndim : 1;
        put_le(b, (uint64_t)nd, 4);
        for (int d = nd - 1; d >= 0; d--) put_le(b, t[i].ndim ? t[i].shape[d] : 1, 8);
        put_le(b, (uint64_t)t[i].type->gguf_type, 4);
        put_le(b, at, 8);
        w->at[i] = at;
        at = (at + w->bytes[i] + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
    }
    static const unsigned char zeros[GGUF_ALIGN] = {0};
    put(b, zeros, (GGUF_ALIGN - b->n % GGUF_ALIGN) % GGUF_ALIGN);
    for (size_t i = 0; i < w->n; i++) w->at[i] += b->n;
    return 0;
}

static int pwrite_all(int fd, const void *p, uint64_t n, uint64_t at)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t k = pwrite(fd, c, n > (1u << 30) ? (1u << 30) : (size_t)n, (off_t)at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        c += k;
        n -= (uint64_t)k;
        at += (uint64_t)k;
    }
    return 0;
}

static void writer_free(cq_writer *w)
{
    if (!w) return;
    for (size_t i = 0; w->names && i < w->n; i++) free(w->names[i]);
    free(w->names);
    free(w->at);
    free(w->bytes);
    free(w->got);
    free(w->path);
    free(w->tmp);
    free(w);
}

int cq_writer_open(cq_writer **out, cq_format format, const char *path, const cq_out_tensor *t,
                   size_t n, const cq_kv *kv, size_t n_kv, cq_err *err)
{
    *out = NULL;
    cq_writer *w = calloc(1, sizeof *w);
    obuf b = {0};
    if (!w) return cq_fail(err, "%s: out of memory", path);
    w->fd = -1;
    w->slot = -1;
    w->n = n;
    w->path = strdup(path);
    w->names = calloc(n + 1, sizeof *w->names);
    w->at = calloc(n + 1, sizeof *w->at);
    w->bytes = calloc(n + 1, sizeof *w->bytes);
    w->got = calloc(n + 1, sizeof *w->got);
    if (!w->path || !w->names || !w->at || !w->bytes || !w->got) {
        cq_fail(err, "%s: out of memory", path);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        char q[CQ_QUOTE_SIZE], what[CQ_QUOTE_SIZE + 16];
        cq_quote(q, t[i].name, strlen(t[i].name));
        if (!(w->names[i] = strdup(t[i].name))) {
            cq_fail(err, "%s: out of memory", path);
            goto fail;
        }
        if (format == CQ_FORMAT_SAFETENSORS ? !t[i].type->st_name : t[i].type->gguf_type < 0) {
            cq_fail(err, "%s: tensor %s: type %s has no %s dtype", path, q, t[i].type->name,
                    format == CQ_FORMAT_SAFETENSORS ? "safetensors" : "GGUF");
            goto fail;
        }
        snprintf(what, sizeof what, "tensor %s", q);
        cq_err e;
        if (cq_type_nbytes(t[i].type, t[i].ndim, t[i].shape, &w->bytes[i], what, &e)) {
            cq_fail(err, "%s: %s", path, e.msg);
            goto fail;
        }
    }
    if (check_names(w, err)) goto fail;
    if ((format == CQ_FORMAT_SAFETENSORS ? layout_st : layout_gguf)(w, t, kv, n_kv, &b, err)) goto fail;
    if (b.oom) {
        cq_fail(err, "%s: out of memory", path);
        goto fail;
    }
    uint64_t end = b.n;
    for (size_t i = 0; i < n; i++)
        if (w->at[i] + w->bytes[i] > end) end = w->at[i] + w->bytes[i];
    /* the temporary file beside the target, so that rename is atomic */
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t tl = strlen(path) + 16;
    if (!(w->tmp = malloc(tl))) {
        cq_fail(err, "%s: out of memory", path);
        goto fail;
    }
    snprintf(w->tmp, tl, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
    mode_t mask = umask(0);
    umask(mask);
    if ((w->fd = mkstemp(w->tmp)) < 0) {
        cq_fail(err, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        goto fail;
    }
    w->slot = slot_take(w->tmp);
    if (fchmod(w->fd, 0666 & ~mask) || ftruncate(w->fd, (off_t)end) || pwrite_all(w->fd, b.p, b.n, 0)) {
        cq_fail(err, "%s: cannot write %s: %s", path, w->tmp, strerror(errno));
        goto fail;
    }
    free(b.p);
    *out = w;
    return 0;
fail:
    free(b.p);
    cq_writer_abort(w);
    return -1;
}

uint64_t cq_writer_tensor_bytes(const cq_writer *w, size_t index)
{
    return index < w->n ? w->bytes[index] : 0;
}

int cq_writer_write(cq_writer *w, size_t index, uint64_t at, const void *data, uint64_t nbytes,
                    cq_err *err)
{
    if (index >= w->n) return cq_fail(err, "%s: tensor #%zu: no such tensor (%zu)", w->path, index, w->n);
    if (at > w->bytes[index] || nbytes > w->bytes[index] - at)
        return cq_fail(err, "%s: tensor '%s': bytes [%llu, %llu) outside its %llu", w->path,
                       w->names[index], (unsigned long long)at, (unsigned long long)(at + nbytes),
                       (unsigned long long)w->bytes[index]);
    if (pwrite_all(w->fd, data, nbytes, w->at[index] + at))
        return cq_fail(err, "%s: tensor '%s': write: %s", w->path, w->names[index], strerror(errno));
#ifdef SYNC_FILE_RANGE_WRITE
    /* Writeback of these bytes starts now, beside the next tensor's work, so that
     * commit's fsync finds little left (advice: a failure here shows at the fsync). */
    sync_file_range(w->fd, (off_t)(w->at[index] + at), (off_t)nbytes, SYNC_FILE_RANGE_WRITE);
#endif
    __atomic_fetch_add(&w->got[index], nbytes, __ATOMIC_RELAXED);
    return 0;
}

int cq_writer_commit(cq_writer *w, cq_err *err)
{
    for (size_t i = 0; i < w->n; i++)
        if (__atomic_load_n(&w->got[i], __ATOMIC_RELAXED) != w->bytes[i]) {
            cq_fail(err, "%s: tensor '%s': %llu of its %llu bytes written", w->path, w->names[i],
                    (unsigned long long)w->got[i], (unsigned long long)w->bytes[i]);
            cq_writer_abort(w);
            return -1;
        }
    int fd = w->fd;
    w->fd = -1;
    if (fsync(fd) || close(fd) || rename(w->tmp, w->path)) {
        cq_fail(err, "%s: cannot complete it from %s: %s", w->path, w->tmp, strerror(errno));
        cq_writer_abort(w);
        return -1;
    }
    slot_give(w->slot);
    writer_free(w);
    return 0;
}

void cq_writer_abort(cq_writer *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) unlink(w->tmp);
    slot_give(w->slot);
    writer_free(w);
}
