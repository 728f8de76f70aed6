/* types.c: the element types of safetensors and GGUF in one table (names, ggml ids,
 * block geometry as ggml's type traits and gguf-py's GGML_QUANT_SIZES give them), and
 * the overflow-checked byte size of a tensor. */
#include "model.h"

#include <inttypes.h>
#include <string.h>

#define QK_K 256u

/* Indexed by cq_type_id. gguf_type is ggml's enum ggml_type (-1: GGUF has no such
 * type: the unsigned integers, FP8, BOOL); st_name NULL: safetensors has none. */
static const cq_type types[CQ_T_COUNT] = {
    [CQ_T_F64] = {CQ_T_F64, "F64", "F64", 28, 1, 8},
    [CQ_T_F32] = {CQ_T_F32, "F32", "F32", 0, 1, 4},
    [CQ_T_F16] = {CQ_T_F16, "F16", "F16", 1, 1, 2},
    [CQ_T_BF16] = {CQ_T_BF16, "BF16", "BF16", 30, 1, 2},
    [CQ_T_F8_E4M3] = {CQ_T_F8_E4M3, "F8_E4M3", "F8_E4M3", -1, 1, 1},
    [CQ_T_F8_E5M2] = {CQ_T_F8_E5M2, "F8_E5M2", "F8_E5M2", -1, 1, 1},
    [CQ_T_I64] = {CQ_T_I64, "I64", "I64", 27, 1, 8},
    [CQ_T_U64] = {CQ_T_U64, "U64", "U64", -1, 1, 8},
    [CQ_T_I32] = {CQ_T_I32, "I32", "I32", 26, 1, 4},
    [CQ_T_U32] = {CQ_T_U32, "U32", "U32", -1, 1, 4},
    [CQ_T_I16] = {CQ_T_I16, "I16", "I16", 25, 1, 2},
    [CQ_T_U16] = {CQ_T_U16, "U16", "U16", -1, 1, 2},
    [CQ_T_I8] = {CQ_T_I8, "I8", "I8", 24, 1, 1},
    [CQ_T_U8] = {CQ_T_U8, "U8", "U8", -1, 1, 1},
    [CQ_T_BOOL] = {CQ_T_BOOL, "BOOL", "BOOL", -1, 1, 1},
    [CQ_T_Q4_0] = {CQ_T_Q4_0, "Q4_0", NULL, 2, 32, 2 + 16},
    [CQ_T_Q4_1] = {CQ_T_Q4_1, "Q4_1", NULL, 3, 32, 2 + 2 + 16},
    [CQ_T_Q5_0] = {CQ_T_Q5_0, "Q5_0", NULL, 6, 32, 2 + 4 + 16},
    [CQ_T_Q5_1] = {CQ_T_Q5_1, "Q5_1", NULL, 7, 32, 2 + 2 + 4 + 16},
    [CQ_T_Q8_0] = {CQ_T_Q8_0, "Q8_0", NULL, 8, 32, 2 + 32},
    [CQ_T_Q8_1] = {CQ_T_Q8_1, "Q8_1", NULL, 9, 32, 4 + 4 + 32},
    [CQ_T_Q2_K] = {CQ_T_Q2_K, "Q2_K", NULL, 10, QK_K, 2 + 2 + QK_K / 16 + QK_K / 4},
    [CQ_T_Q3_K] = {CQ_T_Q3_K, "Q3_K", NULL, 11, QK_K, 2 + QK_K / 4 + QK_K / 8 + 12},
    [CQ_T_Q4_K] = {CQ_T_Q4_K, "Q4_K", NULL, 12, QK_K, 2 + 2 + QK_K / 2 + 12},
    [CQ_T_Q5_K] = {CQ_T_Q5_K, "Q5_K", NULL, 13, QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12},
    [CQ_T_Q6_K] = {CQ_T_Q6_K, "Q6_K", NULL, 14, QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16},
    [CQ_T_Q8_K] = {CQ_T_Q8_K, "Q8_K", NULL, 15, QK_K, 4 + QK_K + QK_K / 8},
    [CQ_T_IQ2_XXS] = {CQ_T_IQ2_XXS, "IQ2_XXS", NULL, 16, QK_K, 2 + QK_K / 4},
    [CQ_T_IQ2_XS] = {CQ_T_IQ2_XS, "IQ2_XS", NULL, 17, QK_K, 2 + QK_K / 4 + QK_K / 32},
    [CQ_T_IQ3_XXS] = {CQ_T_IQ3_XXS, "IQ3_XXS", NULL, 18, QK_K, 2 + QK_K / 4 + QK_K / 8},
    [CQ_T_IQ1_S] = {CQ_T_IQ1_S, "IQ1_S", NULL, 19, QK_K, 2 + QK_K / 8 + QK_K / 16},
    [CQ_T_IQ4_NL] = {CQ_T_IQ4_NL, "IQ4_NL", NULL, 20, 32, 2 + 16},
    [CQ_T_IQ3_S] = {CQ_T_IQ3_S, "IQ3_S", NULL, 21, QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4},
    [CQ_T_IQ2_S] = {CQ_T_IQ2_S, "IQ2_S", NULL, 22, QK_K, 2 + QK_K / 4 + QK_K / 16},
    [CQ_T_IQ4_XS] = {CQ_T_IQ4_XS, "IQ4_XS", NULL, 23, QK_K, 2 + 2 + QK_K / 2 + QK_K / 64},
    [CQ_T_IQ1_M] = {CQ_T_IQ1_M, "IQ1_M", NULL, 29, QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    [CQ_T_TQ1_0] = {CQ_T_TQ1_0, "TQ1_0", NULL, 34, QK_K, 2 + 4 * 13},
    [CQ_T_TQ2_0] = {CQ_T_TQ2_0, "TQ2_0", NULL, 35, QK_K, 2 + 64},
};

const cq_type *cq_type_get(cq_type_id id)
{
    if ((unsigned)id >= CQ_T_COUNT) return NULL;
    return &types[id];
}

const cq_type *cq_type_from_st(const char *st_name)
{
    if (!st_name) return NULL;
    for (int i = 0; i < CQ_T_COUNT; i++)
        if (types[i].st_name && !strcmp(types[i].st_name, st_name)) return &types[i];
    return NULL;
}

const cq_type *cq_type_from_gguf(uint32_t gguf_type)
{
    for (int i = 0; i < CQ_T_COUNT; i++)
        if (types[i].gguf_type >= 0 && (uint32_t)types[i].gguf_type == gguf_type) return &types[i];
    return NULL;
}

int cq_type_nbytes(const cq_type *t, int ndim, const uint64_t *shape, uint64_t *out,
                   const char *what, cq_err *err)
{
    /* A zero dimension makes the tensor empty whatever the others hold: no overflow. */
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) {
            *out = 0;
            return 0;
        }
    uint64_t inner = ndim > 0 ? shape[ndim - 1] : 1;
    if (inner % t->block_elems != 0)
        return cq_fail(err, "%s: innermost dimension %" PRIu64 " is not a multiple of %s's block of %" PRIu32
                       " elements", what, inner, t->name, t->block_elems);
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (n > UINT64_MAX / shape[i])
            return cq_fail(err, "%s: element count overflows 64 bits", what);
        n *= shape[i];
    }
    uint64_t blocks = n / t->block_elems;
    if (blocks > UINT64_MAX / t->block_bytes)
        return cq_fail(err, "%s: byte size of %" PRIu64 " %s elements overflows 64 bits", what, n, t->name);
    *out = blocks * t->block_bytes;
    return 0;
}
