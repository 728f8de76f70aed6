/* scheme.c: the weight schemes `clquant quantize --scheme` takes: the library's
 * qparams (those of clq_linear's scheme of the same name) or ggml's block layout. */
#include <string.h>

#include "quant.h"

static const cq_scheme schemes[] = {
    {"s8-channel", CLQ_S8, CLQ_PER_AXIS, 0, CLQ_LINEAR_S8_CHANNEL, 0, CQ_FORMAT_SAFETENSORS},
    {"s8-tensor", CLQ_S8, CLQ_PER_TENSOR, 0, CLQ_LINEAR_S8_TENSOR, 0, CQ_FORMAT_SAFETENSORS},
    {"s4-g32", CLQ_S4, CLQ_PER_BLOCK, 32, CLQ_LINEAR_S4_GROUP, 0, CQ_FORMAT_SAFETENSORS},
    {"s4-g64", CLQ_S4, CLQ_PER_BLOCK, 64, CLQ_LINEAR_S4_GROUP, 0, CQ_FORMAT_SAFETENSORS},
    {"s4-g128", CLQ_S4, CLQ_PER_BLOCK, 128, CLQ_LINEAR_S4_GROUP, 0, CQ_FORMAT_SAFETENSORS},
    {"q8_0", CLQ_S8, CLQ_PER_BLOCK, 32, CLQ_LINEAR_S8_CHANNEL, CLQ_LAYOUT_GGML_Q8_0, CQ_FORMAT_GGUF},
    {"q4_0", CLQ_S4, CLQ_PER_BLOCK, 32, CLQ_LINEAR_S4_GROUP, CLQ_LAYOUT_GGML_Q4_0, CQ_FORMAT_GGUF},
};

const cq_scheme *cq_scheme_find(const char *name)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (!strcmp(schemes[i].name, name)) return &schemes[i];
    return NULL;
}

const cq_scheme *cq_scheme_list(size_t *count)
{
    *count = sizeof schemes / sizeof schemes[0];
    return schemes;
}
