/* plan.c: which input tensors `clquant quantize` quantizes, copies or leaves out, the
 * output's tensor list under compressed-tensors' names (safetensors) or the input's
 * (GGUF), and the metadata it writes. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_read.h"
#include "quant.h"

/* Embedding tables stay float unless asked: a lookup, not a matrix product. */
#define CQ_EMBEDDING_ERE "embed|wte|wpe|tok_embeddings"

static int is_float(const cq_type *t)
{
    return t->id == CQ_T_F32 || t->id == CQ_T_F16 || t->id == CQ_T_BF16;
}

static int compile(regex_t *re, const char *ere, const char *opt, cq_err *err)
{
    int rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[160];
        regerror(rc, re, why, sizeof why);
        return cq_fail(err, "%s '%s': not a POSIX extended regex: %s", opt, ere, why);
    }
    return 0;
}

/* Why tensor t is copied rather than quantized, or NULL to quantize it. */
static const char *copy_reason(const cq_tensor_info *t, const cq_quantize_options *o,
                               const regex_t *keep, const regex_t *embed)
{
    if (!is_float(t->type)) return "not float";
    if (t->ndim != 2) return t->ndim < 2 ? "1-D" : "not 2-D";
    if (t->shape[0] == 0 || t->shape[1] == 0) return "empty";
    if (keep && !regexec(keep, t->name, 0, NULL, 0)) return "--keep-float";
    if (!o->quantize_embeddings && !regexec(embed, t->name, 0, NULL, 0)) return "embedding";
    if (o->scheme->ggml && t->shape[1] % 32) return "K not a multiple of 32";
    return NULL;
}

static int add_out(cq_plan *p, const char *name, const char *suffix, cq_type_id type, int ndim,
                   uint64_t d0, uint64_t d1, cq_err *err)
{
    cq_out_tensor *o = &p->out[p->n_out];
    size_t len = strlen(name) + strlen(suffix) + 1;
    char *s = malloc(len);
    if (!s) return cq_fail(err, "plan: out of memory");
    snprintf(s, len, "%s%s", name, suffix);
    memset(o, 0, sizeof *o);
    o->name = s;
    o->type = cq_type_get(type);
    o->ndim = ndim;
    o->shape[0] = d0;
    o->shape[1] = d1;
    p->n_out++;
    return 0;
}

/* The output tensors of quantized weight t ([N, K]). */
static int add_quantized(cq_plan *p, const cq_tensor_info *t, cq_err *err)
{
    const cq_scheme *s = p->options.scheme;
    uint64_t n = t->shape[0], k = t->shape[1];
    if (s->ggml)
        return add_out(p, t->name, "", s->ggml == CLQ_LAYOUT_GGML_Q8_0 ? CQ_T_Q8_0 : CQ_T_Q4_0,
                       2, n, k, err);
    if (s->qtype == CLQ_S8) {
        if (add_out(p, t->name, "", CQ_T_I8, 2, n, k, err)) return -1;
        if (s->granularity == CLQ_PER_AXIS)
            return add_out(p, t->name, CQ_SUFFIX_SCALE, CQ_T_F32, 2, n, 1, err);
        return add_out(p, t->name, CQ_SUFFIX_SCALE, CQ_T_F32, 1, 1, 0, err);
    }
    return add_out(p, t->name, CQ_SUFFIX_PACKED, CQ_T_I32, 2, n, (k + 7) / 8, err) ||
                   add_out(p, t->name, CQ_SUFFIX_SCALE, CQ_T_F32, 2, n,
                           (k + s->group - 1) / s->group, err) ||
                   add_out(p, t->name, CQ_SUFFIX_SHAPE, CQ_T_I64, 1, 2, 0, err)
               ? -1
               : 0;
}

static int copy_out(cq_plan *p, const cq_tensor_info *t, cq_err *err)
{
    cq_out_tensor *o = &p->out[p->n_out];
    if (add_out(p, t->name, "", t->type->id, t->ndim, 0, 0, err)) return -1;
    memcpy(o->shape, t->shape, sizeof o->shape);
    return 0;
}

/* The input's metadata the output keeps: GGUF -> GGUF all of it but what the writer
 * and the tool set; otherwise the string entries (all safetensors can hold). */
static int keep_kv(const cq_model *in, const cq_kv *kv, cq_format out)
{
    if (!strncmp(kv->key, "clquant.", 8) || !strcmp(kv->key, "general.alignment") ||
        !strcmp(kv->key, "general.quantization_version"))
        return 0;
    return (in->format == CQ_FORMAT_GGUF && out == CQ_FORMAT_GGUF) || kv->type == CQ_KV_STRING;
}

static int build_kv(cq_plan *p, const cq_model *in, cq_err *err)
{
    p->kv = calloc(in->n_kv + 3, sizeof *p->kv);
    if (!p->kv) return cq_fail(err, "plan: out of memory");
    for (size_t i = 0; i < in->n_kv; i++)
        if (keep_kv(in, &in->kv[i], p->options.format)) p->kv[p->n_kv++] = in->kv[i];
    p->n_kv_borrowed = p->n_kv;
    if (cq_kv_set_string(&p->kv[p->n_kv], CQ_META_SCHEME, p->options.scheme->name, err)) return -1;
    p->n_kv++;
    if (cq_kv_set_string(&p->kv[p->n_kv], CQ_META_VERSION, clq_version_string(), err)) return -1;
    p->n_kv++;
    if (p->options.format == CQ_FORMAT_GGUF) {
        if (cq_kv_set_u32(&p->kv[p->n_kv], "general.quantization_version", 2, err)) return -1;
        p->n_kv++;
    }
    return 0;
}

int cq_plan_build(cq_plan *p, const cq_model *in, const cq_quantize_options *o, cq_err *err)
{
    memset(p, 0, sizeof *p);
    if (!o->scheme) return cq_fail(err, "--scheme: missing");
    if (o->format != o->scheme->format)
        return cq_fail(err, "--scheme %s is written as %s only: %s", o->scheme->name,
                       o->scheme->format == CQ_FORMAT_GGUF ? "GGUF" : "safetensors",
                       o->scheme->format == CQ_FORMAT_GGUF
                           ? "compressed-tensors has no type for ggml blocks"
                           : "GGUF has no type for s8/s4 with f32 scales per channel or group");
    p->options = *o;
    regex_t skip, keep, embed;
    int have_skip = 0, have_keep = 0, have_embed = 0, rc = -1;
    if (o->skip && compile(&skip, o->skip, "--skip", err)) goto done;
    have_skip = o->skip != NULL;
    if (o->keep_float && compile(&keep, o->keep_float, "--keep-float", err)) goto done;
    have_keep = o->keep_float != NULL;
    if (compile(&embed, CQ_EMBEDDING_ERE, "embedding", err)) goto done;
    have_embed = 1;
    p->items = calloc(in->n_tensors ? in->n_tensors : 1, sizeof *p->items);
    p->out = calloc(in->n_tensors * 3 + 1, sizeof *p->out);
    if (!p->items || !p->out) {
        cq_fail(err, "plan: out of memory");
        goto done;
    }
    for (size_t i = 0; i < in->n_tensors; i++) {
        const cq_tensor_info *t = &in->tensors[i];
        if (have_skip && !regexec(&skip, t->name, 0, NULL, 0)) continue;
        cq_plan_item *it = &p->items[p->n_items++];
        it->input = i;
        it->first_out = p->n_out;
        it->reason = copy_reason(t, o, have_keep ? &keep : NULL, &embed);
        it->action = it->reason ? CQ_ACT_COPY : CQ_ACT_QUANTIZE;
        if (it->reason ? copy_out(p, t, err) : add_quantized(p, t, err)) goto done;
        it->n_out = p->n_out - it->first_out;
        p->bytes_in += t->nbytes;
    }
    rc = build_kv(p, in, err);
done:
    if (have_skip) regfree(&skip);
    if (have_keep) regfree(&keep);
    if (have_embed) regfree(&embed);
    if (rc) cq_plan_free(p);
    return rc;
}

void cq_plan_free(cq_plan *p)
{
    for (size_t i = 0; i < p->n_out; i++) free((char *)p->out[i].name);
    for (size_t i = p->n_kv_borrowed; i < p->n_kv; i++) cq_kv_clear(&p->kv[i]);
    free(p->out);
    free(p->items);
    free(p->kv);
    memset(p, 0, sizeof *p);
}
