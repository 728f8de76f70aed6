/* cmd_dequantize.c: `clquant dequantize FILE -o OUT.safetensors`: the quantized weights
 * of a clquant safetensors file, or the Q8_0 / Q4_0 tensors of a GGUF file, back to F32
 * on the device; every other tensor copied as it is. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "model_read.h"
#include "quant.h"

/* One output tensor and where its bytes come from. */
typedef struct deq_item {
    const cq_tensor_info *in;   /* copied, or a GGUF block tensor */
    cq_qweight q;               /* q.name set: a quantized safetensors weight */
} deq_item;

static void usage(FILE *f)
{
    fprintf(f, "usage: clquant dequantize FILE -o OUT.safetensors [--device SPEC]\n"
               "  FILE: safetensors written by clquant quantize, or GGUF (Q8_0 / Q4_0 tensors)\n"
               "  quantized tensors become F32 under their own names; others are copied\n");
}

static int plan_items(const cq_model *in, deq_item *items, size_t *n, cq_out_tensor *out,
                      cq_err *err)
{
    *n = 0;
    for (size_t i = 0; i < in->n_tensors; i++) {
        const cq_tensor_info *t = &in->tensors[i];
        deq_item *it = &items[*n];
        cq_out_tensor *o = &out[*n];
        memset(it, 0, sizeof *it);
        memset(o, 0, sizeof *o);
        it->in = t;
        o->name = t->name;
        o->type = t->type;
        o->ndim = t->ndim;
        memcpy(o->shape, t->shape, sizeof o->shape);
        if (in->format == CQ_FORMAT_SAFETENSORS) {
            if (cq_qweight_companion(in, t)) continue;
            int found = cq_qweight_find(in, t, &it->q, err);
            if (found < 0) return -1;
            if (found) {
                o->name = it->q.name;
                o->type = cq_type_get(CQ_T_F32);
                o->shape[1] = it->q.k;
            }
        } else if (t->type->id == CQ_T_Q8_0 || t->type->id == CQ_T_Q4_0) {
            o->type = cq_type_get(CQ_T_F32);
        } else if (!t->type->st_name) {
            char qn[CQ_QUOTE_SIZE];
            return cq_fail(err, "%s: tensor %s: type %s: clquant dequantizes Q8_0 and Q4_0 "
                                "(and copies what safetensors can hold)", in->path,
                           cq_quote(qn, t->name, strlen(t->name)), t->type->name);
        }
        (*n)++;
    }
    return 0;
}

/* The F32 values of item it (n * k floats) into y. */
static int dequantize_item(clq_context *ctx, const cq_model *in, const deq_item *it, float *y,
                           cq_err *err)
{
    if (it->q.name) return cq_qweight_dequantize(ctx, in, &it->q, y, err);
    const cq_tensor_info *t = it->in;
    size_t shape[CQ_MAX_DIMS], numel = 1;
    for (int d = 0; d < t->ndim; d++) numel *= (shape[d] = (size_t)t->shape[d]);
    clq_weights_layout layout = t->type->id == CQ_T_Q8_0 ? CLQ_LAYOUT_GGML_Q8_0 : CLQ_LAYOUT_GGML_Q4_0;
    clq_buffer *b = NULL, *yb = NULL;
    clq_tensor yt;
    clq_status st = clq_buffer_create(ctx, t->nbytes, &b);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(b, 0, t->nbytes, t->data);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, numel * 4, &yb);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&yt, CLQ_F32, t->ndim, shape, yb);
    if (st == CLQ_SUCCESS) st = clq_dequantize_ggml(ctx, b, 0, layout, &yt);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(yb, 0, numel * 4, y);
    clq_buffer_destroy(b);
    clq_buffer_destroy(yb);
    if (st != CLQ_SUCCESS)
        return cq_fail(err, "%s: tensor '%s': dequantize: %s: %s", in->path, t->name,
                       clq_status_string(st), clq_context_error_message(ctx));
    return 0;
}

int cq_dequantize_file(const char *input, const char *output, clq_context *ctx, cq_err *errp)
{
    cq_model in;
    cq_err err;
    deq_item *items = NULL;
    cq_out_tensor *out = NULL;
    cq_kv *kv = NULL;
    size_t n = 0, n_kv = 0;
    cq_writer *w = NULL;
    float *y = NULL;
    int rc = -1, have_model = 0, tty = isatty(STDERR_FILENO);
    if (cq_model_open(&in, input, &err)) goto fail;
    have_model = 1;
    items = calloc(in.n_tensors + 1, sizeof *items);
    out = calloc(in.n_tensors + 1, sizeof *out);
    kv = calloc(in.n_kv + 1, sizeof *kv);
    if (!items || !out || !kv) {
        cq_fail(&err, "out of memory");
        goto fail;
    }
    if (plan_items(&in, items, &n, out, &err)) goto fail;
    /* the string metadata, less the scheme: the output holds no quantized tensor */
    for (size_t i = 0; i < in.n_kv; i++)
        if (in.kv[i].type == CQ_KV_STRING && strcmp(in.kv[i].key, CQ_META_SCHEME)) kv[n_kv++] = in.kv[i];
    if (cq_writer_open(&w, CQ_FORMAT_SAFETENSORS, output, out, n, kv, n_kv, &err)) goto fail;
    for (size_t i = 0; i < n; i++) {
        uint64_t bytes = cq_writer_tensor_bytes(w, i);
        if (out[i].type != items[i].in->type || items[i].q.name) {
            if (!(y = malloc(bytes ? bytes : 1))) {
                cq_fail(&err, "out of memory");
                goto fail;
            }
            if (dequantize_item(ctx, &in, &items[i], y, &err) ||
                cq_writer_write(w, i, 0, y, bytes, &err))
                goto fail;
            free(y);
            y = NULL;
        } else if (cq_writer_write(w, i, 0, items[i].in->data, bytes, &err)) {
            goto fail;
        }
        if (tty) fprintf(stderr, "\rdequantize: %zu / %zu tensors", i + 1, n);
    }
    if (tty) fputs("\r\033[K", stderr);
    cq_writer *commit = w;
    w = NULL;
    if (cq_writer_commit(commit, &err)) goto fail;
    rc = 0;
    goto done;
fail:
    if (tty) fputs("\r\033[K", stderr);
    cq_writer_abort(w);
    if (errp) *errp = err;
done:
    free(y);
    for (size_t i = 0; items && i < n; i++) cq_qweight_free(&items[i].q);
    free(items);
    free(out);
    free(kv);
    if (have_model) cq_model_free(&in);
    return rc;
}

int cq_cmd_dequantize(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"device", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *output = NULL, *device = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o') output = optarg;
        else if (c == 'd') device = optarg;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc || !output) {
        fprintf(stderr, "clquant dequantize: %s\n", !output ? "-o OUT is required" : "one FILE expected");
        usage(stderr);
        return 2;
    }
    clq_context **ctxs = NULL;
    size_t n_ctx = 0;
    if (cq_devices_open_or_say("dequantize", device, &ctxs, &n_ctx)) return 1;
    cq_err err;
    int rc = cq_dequantize_file(argv[optind], output, ctxs[0], &err);
    if (rc) fprintf(stderr, "clquant dequantize: %s\n", err.msg);
    else printf("%s -> %s, on %s\n", argv[optind], output, clq_context_device_name(ctxs[0]));
    cq_devices_close(ctxs, n_ctx);
    return rc ? 1 : 0;
}
