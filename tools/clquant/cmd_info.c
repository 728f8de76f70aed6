/* cmd_info.c: `clquant info FILE`: format, metadata, every tensor (dtype, shape, bytes,
 * offset, and the scheme of clquant's quantized weights), totals per dtype. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "model_read.h"
#include "quant.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: clquant info FILE   (safetensors or GGUF)\n");
}

int cq_cmd_info(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    cq_model m;
    cq_err err;
    if (cq_model_open(&m, argv[1], &err)) {
        fprintf(stderr, "clquant info: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (m.format == CQ_FORMAT_GGUF)
        printf("%s: GGUF v%u, %.3f MB, %zu tensors, %zu metadata entries, alignment %llu, "
               "data at byte %llu\n", m.path, m.gguf_version, m.size / 1e6, m.n_tensors, m.n_kv,
               (unsigned long long)m.alignment, (unsigned long long)m.data_offset);
    else
        printf("%s: safetensors, %.3f MB, %zu tensors, %zu metadata entries, data at byte %llu\n",
               m.path, m.size / 1e6, m.n_tensors, m.n_kv, (unsigned long long)m.data_offset);
    if (m.n_kv) printf("metadata:\n");
    for (size_t i = 0; i < m.n_kv; i++) {
        char *v = cq_kv_format(&m.kv[i]);
        printf("  %s (%s) = %s\n", m.kv[i].key, cq_kv_type_name(m.kv[i].type), v ? v : "?");
        free(v);
    }
    const cq_kv *sk = cq_model_kv(&m, CQ_META_SCHEME);
    const char *scheme = sk && sk->str ? sk->str : "quantized";
    uint64_t by_type[CQ_T_COUNT] = {0};
    size_t n_type[CQ_T_COUNT] = {0}, n_quant = 0;
    printf("tensors (data-offset order):\n  %-48s %-8s %-16s %12s %12s  %s\n", "name", "dtype",
           "shape", "MB", "offset", "scheme");
    for (size_t i = 0; i < m.n_tensors; i++) {
        const cq_tensor_info *t = &m.tensors[i];
        char shape[CQ_SHAPE_SIZE], qn[CQ_QUOTE_SIZE];
        const char *what = "";
        cq_qweight q;
        int found = m.format == CQ_FORMAT_SAFETENSORS ? cq_qweight_find(&m, t, &q, &err) : 0;
        if (found < 0) {
            fprintf(stderr, "clquant info: %s\n", err.msg);
            rc = 1;
        } else if (found) {
            what = scheme;
            n_quant++;
            cq_qweight_free(&q);
        } else if (m.format == CQ_FORMAT_SAFETENSORS && cq_qweight_companion(&m, t)) {
            what = "(its parameters)";
        } else if (t->type->block_elems > 1) {
            what = t->type->name;
            n_quant++;
        }
        by_type[t->type->id] += t->nbytes;
        n_type[t->type->id]++;
        printf("  %-48s %-8s %-16s %12.6f %12llu  %s\n", cq_quote(qn, t->name, strlen(t->name)),
               t->type->name, cq_shape_str(shape, t->ndim, t->shape), t->nbytes / 1e6,
               (unsigned long long)t->offset, what);
    }
    printf("by dtype:\n");
    uint64_t total = 0;
    for (int i = 0; i < CQ_T_COUNT; i++) {
        if (!n_type[i]) continue;
        printf("  %-8s %6zu tensors %12.3f MB\n", cq_type_get((cq_type_id)i)->name, n_type[i],
               by_type[i] / 1e6);
        total += by_type[i];
    }
    printf("total: %zu tensors (%zu quantized weights), %.3f MB of tensor data\n", m.n_tensors,
           n_quant, total / 1e6);
    cq_model_free(&m);
    return rc;
}
