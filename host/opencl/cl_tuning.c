/* cl_tuning.c: the per-device table of tuning macros passed to every program
 * build, and the build options they make up. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cl_internal.h"

typedef struct tuning_entry {
    const char *match;         /* case-insensitive substring of "<platform> <device>"; NULL: any */
    cl_device_type type;       /* 0: any */
    clq_cl_tuning tuning;
} tuning_entry;

/* First match wins. CPU runtimes want long contiguous runs per work item (the
 * work-item loop is a plain loop there); GPUs want many small work items. */
static const tuning_entry table[] = {
    /* POCL's CPU device: 4096 elements per work item keeps the per-item setup
     * (a few 64-bit divisions) far below the memory time. */
    {"Portable Computing Language", CL_DEVICE_TYPE_CPU, {4096, 16384, 64, 0, 32, 6, 4, {1, 1}}},
    {NULL, CL_DEVICE_TYPE_CPU, {4096, 16384, 64, 0, 32, 6, 4, {1, 1}}},
    {NULL, 0, {256, 4096, 16, 0, 16, 4, 4, {16, 4}}},
};

void clq__cl_choose_tuning(clq_cl_impl *impl) {
    cl_device_type type = 0;
    clGetDeviceInfo(impl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    char full[260];
    snprintf(full, sizeof full, "%s %s", impl->platform_name, impl->dev_name);
    const tuning_entry *pick = &table[sizeof table / sizeof table[0] - 1];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const tuning_entry *t = &table[i];
        if (t->type && !(t->type & type)) continue;
        if (t->match) {
            size_t n = strlen(t->match);
            int found = 0;
            for (const char *h = full; *h && !found; h++) found = !strncasecmp(h, t->match, n);
            if (!found) continue;
        }
        pick = t;
        break;
    }
    impl->tuning = pick->tuning;
    snprintf(impl->options, sizeof impl->options,
             "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DCLQ_QUANT_CHUNK=%u "
             "-DCLQ_MINMAX_CHUNK=%u -DCLQ_COPY_CHUNK=%u -DCLQ_GEMM_NR=%u -DCLQ_GEMM_MR=%u",
             impl->tuning.quant_chunk, impl->tuning.minmax_chunk, impl->tuning.copy_chunk,
             impl->tuning.gemm_nr, impl->tuning.gemm_mr);
}
