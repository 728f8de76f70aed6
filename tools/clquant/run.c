/* run.c: one plan item of `clquant quantize`: the input tensor copied, or quantized on a
 * clquant context with its loss measured there (the error-metrics op; for ggml blocks
 * against their dequantized values), and its output tensors written. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "quant.h"

/* Scratch space of at least need bytes: kept when large enough, else made again. */
static clq_status grow_buffer(clq_context *ctx, clq_buffer **b, size_t *cap, size_t need)
{
    if (*b && *cap >= need) return CLQ_SUCCESS;
    clq_buffer_destroy(*b);
    *b = NULL;
    *cap = 0;
    clq_status st = clq_buffer_create(ctx, need ? need : 1, b);
    if (st == CLQ_SUCCESS) *cap = need;
    return st;
}

static int grow_host(void *pp, size_t *cap, size_t need)
{
    void **p = pp;
    if (*p && *cap >= need) return 0;
    void *n = realloc(*p, need ? need : 1);
    if (!n) return -1;
    *p = n;
    *cap = need;
    return 0;
}

/* A scratch buffer and the host copy the writer reads. On the CPU path the buffer wraps
 * that host memory itself, so that results need no copy back (fetch). */
static clq_status grow_pair(clq_context *ctx, clq_buffer **b, size_t *cap, void *hostp, size_t *hcap,
                            size_t need)
{
    if (clq_context_backend(ctx) != CLQ_BACKEND_CPU) {
        clq_status st = grow_buffer(ctx, b, cap, need);
        if (st == CLQ_SUCCESS && grow_host(hostp, hcap, need)) st = CLQ_ERROR_OUT_OF_MEMORY;
        return st;
    }
    if (*b && *cap >= need) return CLQ_SUCCESS;
    clq_buffer_destroy(*b); /* before the memory it wraps moves */
    *b = NULL;
    *cap = 0;
    if (grow_host(hostp, hcap, need)) return CLQ_ERROR_OUT_OF_MEMORY;
    clq_status st = clq_buffer_wrap_host(ctx, *(void **)hostp, need ? need : 1, b);
    if (st == CLQ_SUCCESS) *cap = need;
    return st;
}

/* The first bytes of a grow_pair buffer in its host copy. */
static clq_status fetch(clq_context *ctx, clq_buffer *b, void *host, size_t bytes)
{
    if (clq_context_backend(ctx) == CLQ_BACKEND_CPU) return clq_context_finish(ctx);
    return clq_buffer_read(b, 0, bytes, host);
}

void cq_run_scratch_free(cq_run_scratch *s)
{
    clq_buffer_destroy(s->x);
    clq_buffer_destroy(s->q);
    clq_buffer_destroy(s->scale);
    clq_buffer_destroy(s->y);
    free(s->host_q);
    free(s->host_out);
    free(s->host_scale);
    memset(s, 0, sizeof *s);
}

static int lib_fail(clq_context *ctx, clq_status st, const char *name, const char *what,
                    cq_err *err)
{
    return cq_fail(err, "tensor '%s': %s: %s: %s", name, what, clq_status_string(st),
                   clq_context_error_message(ctx));
}

static clq_dtype lib_dtype(const cq_type *t)
{
    return t->id == CQ_T_F16 ? CLQ_F16 : t->id == CQ_T_BF16 ? CLQ_BF16 : CLQ_F32;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The input tensor on the context: the mapped bytes themselves on the CPU path when
 * its elements are aligned to their size, as the CPU kernels need (read only: the
 * mapping is read-only, so a stray write would fault; *wrap is the item's to destroy),
 * else a copy in s->x. safetensors files pad their header to 8 bytes only, so asking
 * for more (64 bytes, as this did) copied every tensor of a real model. */
static clq_status upload(clq_context *ctx, const cq_tensor_info *t, cq_run_scratch *s,
                         clq_buffer **wrap, clq_buffer **out)
{
    if (clq_context_backend(ctx) == CLQ_BACKEND_CPU && (uintptr_t)t->data % t->type->block_bytes == 0) {
        clq_status st = clq_buffer_wrap_host(ctx, (void *)(uintptr_t)t->data, t->nbytes, wrap);
        *out = *wrap;
        return st;
    }
    clq_status st = grow_buffer(ctx, &s->x, &s->x_cap, t->nbytes);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(s->x, 0, t->nbytes, t->data);
    *out = s->x;
    return st;
}

/* compressed-tensors' pack_to_int32 of 4-bit values: per row, 8 values per int32, value
 * j of a word in bits 4j, each offset by +8; the last word of a row padded with 0. From
 * clquant's s4 (two per byte, low nibble first, rows not byte aligned when K is odd),
 * whose nibble v + 8 (mod 16) is v ^ 8. */
static void pack_int32(const unsigned char *s4, uint64_t n, uint64_t k, unsigned char *out)
{
    uint64_t row_bytes = (k + 7) / 8 * 4;
    if (k % 8 == 0) {
        for (uint64_t i = 0; i < n * k / 2; i++) out[i] = s4[i] ^ 0x88;
        return;
    }
    memset(out, 0, n * row_bytes);
    for (uint64_t r = 0; r < n; r++)
        for (uint64_t j = 0; j < k; j++) {
            uint64_t e = r * k + j;
            unsigned v = (s4[e / 2] >> (4 * (e & 1)) & 15) ^ 8;
            out[r * row_bytes + j / 2] |= (unsigned char)(v << (4 * (j & 1)));
        }
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = h >> 10 & 31, m = h & 1023;
    float v;
    if (e == 0) v = ldexpf((float)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexpf((float)(m | 1024), (int)e - 25);
    return sign ? -v : v;
}

/* Element i of a float tensor as f32 (little-endian file bytes). */
static float load_f32(const cq_tensor_info *t, uint64_t i)
{
    const unsigned char *p = t->data;
    if (t->type->id == CQ_T_F32) {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
    if (t->type->id == CQ_T_F16) return f16_to_f32(h);
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Rows of seeded random x through the quantized layer against x W^T in f32 (sums in
 * double): the cosine of the two outputs, on the context. */
static int linear_check(clq_context *ctx, const cq_plan *plan, const cq_tensor_info *t,
                        const clq_tensor *w, const unsigned char *blocks, uint64_t blocks_bytes,
                        cq_tensor_report *rep, cq_err *err)
{
    const cq_scheme *s = plan->options.scheme;
    size_t rows = plan->options.check_linear_rows, n = (size_t)t->shape[0], k = (size_t)t->shape[1];
    float *x = malloc(rows * k * sizeof *x), *yref = malloc(rows * n * sizeof *yref);
    clq_buffer *xb = NULL, *yb = NULL, *rb = NULL;
    clq_linear *layer = NULL;
    clq_packed_weights *pw = NULL;
    clq_status st = CLQ_ERROR_OUT_OF_MEMORY;
    const char *what = "linear check";
    int rc = -1;
    if (!x || !yref) goto done;
    uint64_t seed = 1469598103934665603u; /* FNV-1a of the name: one input per tensor */
    for (const char *c = t->name; *c; c++) seed = (seed ^ (unsigned char)*c) * 1099511628211u;
    for (size_t i = 0; i < rows * k; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++) {
            double acc = 0;
            for (size_t i = 0; i < k; i++) acc += (double)x[r * k + i] * load_f32(t, j * k + i);
            yref[r * n + j] = (float)acc;
        }
    clq_linear_options o;
    clq_linear_options_init(&o);
    if (s->ggml) {
        clq_weights_import_desc d;
        clq_weights_import_desc_init(&d);
        d.layout = s->ggml;
        d.n = n;
        d.k = k;
        d.data = blocks;
        d.data_bytes = blocks_bytes;
        st = clq_weights_import(ctx, &d, &pw);
        if (st == CLQ_SUCCESS) st = clq_linear_create_packed(ctx, pw, &o, &layer);
        if (st == CLQ_SUCCESS) pw = NULL; /* the layer owns it */
    } else {
        o.scheme = s->linear;
        if (s->group) o.group_size = s->group;
        st = clq_linear_create(ctx, w, &o, &layer);
    }
    clq_tensor xt, yt, rt;
    size_t xs[2] = {rows, k}, ys[2] = {rows, n};
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, rows * k * 4, &xb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, rows * n * 4, &yb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, rows * n * 4, &rb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(xb, 0, rows * k * 4, x);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(rb, 0, rows * n * 4, yref);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&xt, CLQ_F32, 2, xs, xb);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&yt, CLQ_F32, 2, ys, yb);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&rt, CLQ_F32, 2, ys, rb);
    if (st == CLQ_SUCCESS) st = clq_linear_forward(layer, &xt, &yt);
    clq_error_stats es;
    if (st == CLQ_SUCCESS) st = clq_tensor_error(ctx, &rt, &yt, NULL, &es, 1);
    if (st == CLQ_SUCCESS) {
        rep->linear_cosine = es.cosine;
        rc = 0;
    }
done:
    if (rc) lib_fail(ctx, st, t->name, what, err);
    clq_linear_destroy(layer);
    clq_weights_destroy(pw);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(rb);
    free(x);
    free(yref);
    return rc;
}

/* A library scheme: clq_quantize_dynamic with clq_linear's qparams for the scheme (the
 * same bits its layer holds), the loss from clq_quantization_error. */
static int quantize_lib(clq_context *ctx, const cq_plan *plan, const cq_plan_item *it,
                        const cq_tensor_info *t, const clq_tensor *x, cq_run_scratch *m, cq_writer *w,
                        cq_tensor_report *rep, cq_err *err)
{
    const cq_scheme *s = plan->options.scheme;
    size_t shape[2] = {(size_t)t->shape[0], (size_t)t->shape[1]}, count = 0, qbytes = 0;
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = s->qtype;
    qp.granularity = s->granularity;
    qp.scheme = CLQ_SYMMETRIC;
    qp.axis = s->granularity == CLQ_PER_AXIS ? 0 : 1;
    qp.block_size = s->group < shape[1] ? s->group : shape[1];
    clq_tensor q;
    const char *what = "quantize";
    clq_status st = clq_qparams_count(&qp, 2, shape, &count);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&q, s->qtype, 2, shape, NULL);
    if (st == CLQ_SUCCESS) st = clq_tensor_bytes(&q, &qbytes);
    if (st == CLQ_SUCCESS) st = grow_pair(ctx, &m->q, &m->q_cap, &m->host_q, &m->host_q_cap, qbytes);
    if (st == CLQ_SUCCESS)
        st = grow_pair(ctx, &m->scale, &m->scale_cap, &m->host_scale, &m->host_scale_cap, count * 4);
    q.buffer = m->q;
    qp.scale = m->scale;
    if (st == CLQ_SUCCESS) st = clq_quantize_dynamic(ctx, x, &qp, &q);
    qp.flags |= CLQ_QPARAMS_TRUSTED; /* made by the library just now */
    if (st == CLQ_SUCCESS) what = "error metrics";
    if (st == CLQ_SUCCESS) st = clq_quantization_error(ctx, x, &qp, NULL, &rep->error, 1);
    if (st == CLQ_SUCCESS) what = "read back";
    if (st == CLQ_SUCCESS) st = fetch(ctx, m->q, m->host_q, qbytes);
    if (st == CLQ_SUCCESS) st = fetch(ctx, m->scale, m->host_scale, count * 4);
    if (st != CLQ_SUCCESS) return lib_fail(ctx, st, t->name, what, err);
    size_t o = it->first_out;
    if (s->qtype == CLQ_S8) {
        if (cq_writer_write(w, o, 0, m->host_q, qbytes, err)) return -1;
    } else {
        uint64_t packed = cq_writer_tensor_bytes(w, o);
        if (grow_host(&m->host_out, &m->host_out_cap, packed)) return cq_fail(err, "tensor '%s': out of memory", t->name);
        pack_int32(m->host_q, shape[0], shape[1], m->host_out);
        unsigned char dims[16];
        put_le64(dims, shape[0]);
        put_le64(dims + 8, shape[1]);
        if (cq_writer_write(w, o, 0, m->host_out, packed, err) ||
            cq_writer_write(w, o + 2, 0, dims, sizeof dims, err))
            return -1;
    }
    if (cq_writer_write(w, o + 1, 0, m->host_scale, count * 4, err)) return -1;
    return plan->options.check_linear_rows ? linear_check(ctx, plan, t, x, NULL, 0, rep, err) : 0;
}

/* A ggml scheme: clq_quantize_ggml's blocks, the loss against clq_dequantize_ggml of them. */
static int quantize_ggml(clq_context *ctx, const cq_plan *plan, const cq_plan_item *it,
                         const cq_tensor_info *t, const clq_tensor *x, cq_run_scratch *m, cq_writer *w,
                         cq_tensor_report *rep, cq_err *err)
{
    clq_weights_layout layout = plan->options.scheme->ggml;
    uint64_t bytes = cq_writer_tensor_bytes(w, it->first_out);
    size_t shape[2] = {(size_t)t->shape[0], (size_t)t->shape[1]};
    clq_tensor y;
    const char *what = "quantize";
    clq_status st = grow_pair(ctx, &m->q, &m->q_cap, &m->host_q, &m->host_q_cap, bytes);
    if (st == CLQ_SUCCESS) st = clq_quantize_ggml(ctx, x, layout, m->q, 0);
    if (st == CLQ_SUCCESS) what = "dequantize";
    if (st == CLQ_SUCCESS) st = grow_buffer(ctx, &m->y, &m->y_cap, shape[0] * shape[1] * 4);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&y, CLQ_F32, 2, shape, m->y);
    if (st == CLQ_SUCCESS) st = clq_dequantize_ggml(ctx, m->q, 0, layout, &y);
    if (st == CLQ_SUCCESS) what = "error metrics";
    if (st == CLQ_SUCCESS) st = clq_tensor_error(ctx, x, &y, NULL, &rep->error, 1);
    if (st == CLQ_SUCCESS) what = "read back";
    if (st == CLQ_SUCCESS) st = fetch(ctx, m->q, m->host_q, bytes);
    if (st != CLQ_SUCCESS) return lib_fail(ctx, st, t->name, what, err);
    if (cq_writer_write(w, it->first_out, 0, m->host_q, bytes, err)) return -1;
    return plan->options.check_linear_rows
               ? linear_check(ctx, plan, t, x, m->host_q, bytes, rep, err)
               : 0;
}

/* Drops the mapped input pages wholly inside t once it is done (a neighbour's shared page
 * stays), so that the resident set stays near one tensor whatever the model's size. */
static void release_input(const cq_model *in, const cq_tensor_info *t)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!in->mapped || page <= 0) return;
    uintptr_t lo = ((uintptr_t)t->data + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t hi = ((uintptr_t)t->data + t->nbytes) & ~((uintptr_t)page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int cq_run_item(clq_context *ctx, const cq_model *in, const cq_plan *plan, size_t item,
                cq_writer *w, cq_run_scratch *s, cq_tensor_report *rep, cq_err *err)
{
    const cq_plan_item *it = &plan->items[item];
    const cq_tensor_info *t = &in->tensors[it->input];
    /* No read-ahead advice: the kernel's own (8 MiB windows on the disk measured) kept
     * pace, and MADV_WILLNEED of the next items, here or from a reader thread, measured
     * slower on a model read from the disk (docs/BENCHMARKS.md, "The clquant tool"). */
    memset(rep, 0, sizeof *rep);
    rep->name = t->name;
    rep->ndim = t->ndim;
    memcpy(rep->shape, t->shape, sizeof rep->shape);
    rep->bytes_in = t->nbytes;
    for (size_t i = 0; i < it->n_out; i++) rep->bytes_out += cq_writer_tensor_bytes(w, it->first_out + i);
    rep->error.mse = rep->error.max_abs = rep->error.mean_abs = rep->error.snr_db =
        rep->error.cosine = rep->linear_cosine = NAN;
    rep->device = clq_context_device_name(ctx);
    if (it->action == CQ_ACT_COPY) {
        rep->what = "keep";
        rep->reason = it->reason;
        int rc = cq_writer_write(w, it->first_out, 0, t->data, t->nbytes, err);
        release_input(in, t);
        return rc;
    }
    rep->what = plan->options.scheme->name;
    clq_buffer *wrap = NULL, *xb = NULL;
    size_t shape[2] = {(size_t)t->shape[0], (size_t)t->shape[1]};
    clq_tensor x;
    int rc = -1;
    clq_status st = upload(ctx, t, s, &wrap, &xb);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&x, lib_dtype(t->type), 2, shape, xb);
    if (st != CLQ_SUCCESS) {
        lib_fail(ctx, st, t->name, "upload", err);
        goto done;
    }
    rc = plan->options.scheme->ggml ? quantize_ggml(ctx, plan, it, t, &x, s, w, rep, err)
                                    : quantize_lib(ctx, plan, it, t, &x, s, w, rep, err);
done:
    clq_buffer_destroy(wrap); /* waits for the ops that read the mapped bytes */
    release_input(in, t);
    return rc;
}
