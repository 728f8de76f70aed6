/* qweight.c: the quantized weights of a clquant safetensors file (compressed-tensors'
 * names), recognised for `clquant info` and turned back into f32 for `dequantize`. */
#include <stdlib.h>
#include <string.h>

#include "model_read.h"
#include "quant.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

static const cq_tensor_info *find2(const cq_model *m, const char *base, size_t len, const char *suffix)
{
    char name[1024];
    if (len + strlen(suffix) >= sizeof name) return NULL;
    memcpy(name, base, len);
    strcpy(name + len, suffix);
    return cq_model_find(m, name);
}

int cq_qweight_companion(const cq_model *m, const cq_tensor_info *t)
{
    static const char *const suffixes[] = {CQ_SUFFIX_SCALE, CQ_SUFFIX_SHAPE, CQ_SUFFIX_ZERO_POINT};
    for (size_t i = 0; i < 3; i++) {
        if (!ends_with(t->name, suffixes[i])) continue;
        size_t len = strlen(t->name) - strlen(suffixes[i]);
        if (!find2(m, t->name, len, CQ_SUFFIX_SCALE)) return 0;
        const cq_tensor_info *v = find2(m, t->name, len, "");
        const cq_tensor_info *p = find2(m, t->name, len, CQ_SUFFIX_PACKED);
        return (v && v->type->id == CQ_T_I8) || (p && p->type->id == CQ_T_I32);
    }
    return 0;
}

void cq_qweight_free(cq_qweight *q)
{
    free(q->name);
    memset(q, 0, sizeof *q);
}

/* The group of 4-bit weights: the scheme's when the file names one, else the first
 * usual length that gives the scale's column count. */
static size_t group_of(const cq_model *m, uint64_t k, uint64_t cols)
{
    const cq_kv *kv = cq_model_kv(m, CQ_META_SCHEME);
    const cq_scheme *s = kv && kv->str ? cq_scheme_find(kv->str) : NULL;
    if (s && s->granularity == CLQ_PER_BLOCK && !s->ggml && (k + s->group - 1) / s->group == cols)
        return s->group;
    static const size_t groups[] = {32, 64, 128, 256, 16};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if ((k + groups[i] - 1) / groups[i] == cols) return groups[i];
    return 0;
}

int cq_qweight_find(const cq_model *m, const cq_tensor_info *t, cq_qweight *q, cq_err *err)
{
    memset(q, 0, sizeof *q);
    int packed = ends_with(t->name, CQ_SUFFIX_PACKED);
    size_t len = strlen(t->name) - (packed ? strlen(CQ_SUFFIX_PACKED) : 0);
    if (t->type->id != (packed ? CQ_T_I32 : CQ_T_I8)) return 0;
    const cq_tensor_info *scale = find2(m, t->name, len, CQ_SUFFIX_SCALE);
    if (!scale) return 0;
    char qn[CQ_QUOTE_SIZE];
    cq_quote(qn, t->name, strlen(t->name));
    if (t->ndim != 2) return cq_fail(err, "%s: tensor %s: quantized values are 2-D", m->path, qn);
    if (find2(m, t->name, len, CQ_SUFFIX_ZERO_POINT))
        return cq_fail(err, "%s: tensor %s: zero points (_zero_point) are not supported: clquant "
                            "writes symmetric weights only", m->path, qn);
    if (scale->type->id != CQ_T_F32)
        return cq_fail(err, "%s: tensor %s_scale: dtype %s: F32 scales only", m->path, qn,
                       scale->type->name);
    q->values = t;
    q->scale = scale;
    q->n = t->shape[0];
    q->k = t->shape[1];
    uint64_t count = 1;
    for (int i = 0; i < scale->ndim; i++) count *= scale->shape[i];
    if (packed) {
        const cq_tensor_info *sh = find2(m, t->name, len, CQ_SUFFIX_SHAPE);
        if (!sh || sh->type->id != CQ_T_I64 || sh->ndim != 1 || sh->shape[0] != 2)
            return cq_fail(err, "%s: tensor %s: 4-bit weights need an I64 [2] _shape", m->path, qn);
        uint64_t dims[2] = {0, 0};
        for (int d = 0; d < 2; d++)
            for (int b = 7; b >= 0; b--) dims[d] = dims[d] << 8 | sh->data[8 * d + b];
        if (dims[0] != t->shape[0] || dims[1] == 0 || (dims[1] + 7) / 8 != t->shape[1])
            return cq_fail(err, "%s: tensor %s: _shape [%llu, %llu] does not fit packed [%llu, %llu]",
                           m->path, qn, (unsigned long long)dims[0], (unsigned long long)dims[1],
                           (unsigned long long)t->shape[0], (unsigned long long)t->shape[1]);
        q->k = dims[1];
        q->qtype = CLQ_S4;
        q->granularity = CLQ_PER_BLOCK;
        if (scale->ndim != 2 || scale->shape[0] != q->n || !(q->group = group_of(m, q->k, scale->shape[1])))
            return cq_fail(err, "%s: tensor %s_scale: shape does not give groups of 16 to 256 "
                                "along K = %llu", m->path, qn, (unsigned long long)q->k);
    } else {
        q->qtype = CLQ_S8;
        if (count == 1 && scale->ndim <= 1) q->granularity = CLQ_PER_TENSOR;
        else if (scale->ndim == 2 && scale->shape[0] == q->n && scale->shape[1] == 1)
            q->granularity = CLQ_PER_AXIS;
        else
            return cq_fail(err, "%s: tensor %s_scale: [1] or [N, 1] for 8-bit weights", m->path, qn);
    }
    if (!(q->name = strndup(t->name, len))) return cq_fail(err, "out of memory");
    return 1;
}

int cq_qweight_dequantize(clq_context *ctx, const cq_model *m, const cq_qweight *q, float *y,
                          cq_err *err)
{
    size_t shape[2] = {(size_t)q->n, (size_t)q->k}, qbytes = 0, count = 0;
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = q->qtype;
    qp.granularity = q->granularity;
    qp.axis = q->granularity == CLQ_PER_AXIS ? 0 : 1;
    qp.block_size = q->group < q->k ? q->group : q->k; /* as quantize made it: one group of K */
    clq_tensor qt, yt;
    clq_buffer *qb = NULL, *sb = NULL, *yb = NULL;
    unsigned char *s4 = NULL;
    const void *values = q->values->data;
    clq_status st = clq_tensor_init(&qt, q->qtype, 2, shape, NULL);
    if (st == CLQ_SUCCESS) st = clq_tensor_bytes(&qt, &qbytes);
    if (st == CLQ_SUCCESS) st = clq_qparams_count(&qp, 2, shape, &count);
    if (st == CLQ_SUCCESS && q->qtype == CLQ_S4) {
        /* compressed-tensors' int32 words (value j at bits 4j, +8) back to clquant's s4 */
        uint64_t row_bytes = (q->k + 7) / 8 * 4;
        if (!(s4 = calloc(qbytes, 1))) st = CLQ_ERROR_OUT_OF_MEMORY;
        for (uint64_t r = 0; s4 && r < q->n; r++)
            for (uint64_t j = 0; j < q->k; j++) {
                uint64_t e = r * q->k + j;
                unsigned v = (q->values->data[r * row_bytes + j / 2] >> (4 * (j & 1)) & 15) ^ 8;
                s4[e / 2] |= (unsigned char)(v << (4 * (e & 1)));
            }
        values = s4;
    }
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, qbytes, &qb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(qb, 0, qbytes, values);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, count * 4, &sb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(sb, 0, count * 4, q->scale->data);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, q->n * q->k * 4, &yb);
    if (st == CLQ_SUCCESS) st = clq_tensor_init(&yt, CLQ_F32, 2, shape, yb);
    qt.buffer = qb;
    qp.scale = sb;
    if (st == CLQ_SUCCESS) st = clq_dequantize(ctx, &qt, &qp, &yt);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(yb, 0, q->n * q->k * 4, y);
    clq_buffer_destroy(qb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(yb);
    free(s4);
    if (st != CLQ_SUCCESS)
        return cq_fail(err, "%s: tensor '%s': dequantize: %s: %s", m->path, q->name,
                       clq_status_string(st), clq_context_error_message(ctx));
    return 0;
}
