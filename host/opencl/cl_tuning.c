/* cl_tuning.c: the per-device table of tuning macros passed to every program
 * build, the int8 dot product the GEMM variant can use, and the build options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_internal.h"

typedef struct tuning_entry {
    const char *match;         /* case-insensitive substring of "<platform> <device>"; NULL: any */
    cl_device_type type;       /* 0: any */
    cl_uint min_int_width;     /* CL_DEVICE_NATIVE_VECTOR_WIDTH_INT at least this; 0: any */
    clq_cl_tuning tuning;
} tuning_entry;

/* First match wins. CPU runtimes want long contiguous runs per work item (the
 * work-item loop is a plain loop there); GPUs want many small work items. */
static const tuning_entry table[] = {
    /* POCL's CPU device: 4096 elements per work item keeps the per-item setup
     * (a few 64-bit divisions) far below the memory time. One work item per work
     * group: POCL compiles a kernel once per work-group size, and the size it picks
     * itself follows the global size, so every new tensor length cost a compile
     * (1.5-4.5 s each here); a fixed size compiles once. GEMM: with 16 int lanes
     * (AVX-512: 32 zmm registers) a 6 x 32 tile is 24 accumulators, 4 of B and
     * one of A; one work item per work group. */
    {"Portable Computing Language", CL_DEVICE_TYPE_CPU, 16,
     {4096, 16384, 64, 1, 32, 6, 4, {1, 1}, {16, 16, 4, 4}}},
    {NULL, CL_DEVICE_TYPE_CPU, 16, {4096, 16384, 64, 1, 32, 6, 4, {1, 1}, {16, 16, 4, 4}}},
    /* AVX2 and narrower: 16 vector registers, a 3 x 16 tile. */
    {NULL, CL_DEVICE_TYPE_CPU, 0, {4096, 16384, 64, 1, 16, 3, 4, {1, 1}, {16, 16, 4, 4}}},
    /* GPUs: generic 4 x 16 tiles, 64 work items per group; the dot-product
     * variant 64 x 64 blocks of 256 work items, 4 x 4 each. */
    {NULL, 0, 0, {256, 4096, 16, 0, 16, 4, 4, {4, 16}, {64, 64, 4, 8}}},
};

/* 1: cl_khr_integer_dot_product with 4x8-bit inputs; 2: NVIDIA compute capability
 * 6.1 or later (dp4a through PTX); 0: neither. */
static int dot_product_kind(cl_device_id dev) {
    size_t n = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &n) != CL_SUCCESS || n == 0) return 0;
    char *ext = malloc(n + 1);
    if (!ext) return 0;
    int kind = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, n, ext, NULL) == CL_SUCCESS) {
        ext[n] = 0;
        cl_bitfield caps = 0;
        if (strstr(ext, "cl_khr_integer_dot_product") &&
            clGetDeviceInfo(dev, CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_CAPABILITIES_KHR, sizeof caps,
                            &caps, NULL) == CL_SUCCESS &&
            (caps & CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR))
            kind = 1;
        cl_uint major = 0, minor = 0;
        if (!kind && strstr(ext, "cl_nv_device_attribute_query") &&
            clGetDeviceInfo(dev, CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV, sizeof major, &major,
                            NULL) == CL_SUCCESS &&
            clGetDeviceInfo(dev, CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV, sizeof minor, &minor,
                            NULL) == CL_SUCCESS &&
            (major > 6 || (major == 6 && minor >= 1)))
            kind = 2;
    }
    free(ext);
    return kind;
}

void clq__cl_choose_tuning(clq_cl_impl *impl) {
    cl_device_type type = 0;
    cl_uint int_width = 0;
    clGetDeviceInfo(impl->device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(impl->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_INT, sizeof int_width, &int_width,
                    NULL);
    char full[260];
    snprintf(full, sizeof full, "%s %s", impl->platform_name, impl->dev_name);
    const tuning_entry *pick = &table[sizeof table / sizeof table[0] - 1];
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const tuning_entry *t = &table[i];
        if (t->type && !(t->type & type)) continue;
        if (int_width < t->min_int_width) continue;
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
    impl->gemm_dot_native = dot_product_kind(impl->device);
    /* CLQ_GEMM_DOT=0 runs the generic GEMM kernel where a dot product exists, =1
     * the dot-product variant where none does (emulated: for tests only);
     * CLQ_GEMM_PORTABLE=1 builds the generic kernel without target builtins. Like
     * CLQ_CPU_ISA they change no result, so CLQ_CONTEXT_IGNORE_ENV leaves them on
     * (the tests run their OpenCL cases once per variant that way). */
    const char *dot = clq__getenv(0, "CLQ_GEMM_DOT");
    const char *portable = clq__getenv(0, "CLQ_GEMM_PORTABLE");
    impl->gemm_dot = dot ? strcmp(dot, "0") != 0 : impl->gemm_dot_native != 0;
    impl->gemm_portable = portable && strcmp(portable, "0") != 0;
    snprintf(impl->options, sizeof impl->options,
             "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DCLQ_QUANT_CHUNK=%u "
             "-DCLQ_MINMAX_CHUNK=%u -DCLQ_COPY_CHUNK=%u -DCLQ_GEMM_NR=%u -DCLQ_GEMM_MR=%u "
             "-DCLQ_GEMM_DOT_NATIVE=%d -DCLQ_GEMM_DOT_BM=%u -DCLQ_GEMM_DOT_BN=%u "
             "-DCLQ_GEMM_DOT_TM=%u -DCLQ_GEMM_DOT_KQ=%u%s",
             impl->tuning.quant_chunk, impl->tuning.minmax_chunk, impl->tuning.copy_chunk,
             impl->tuning.gemm_nr, impl->tuning.gemm_mr, impl->gemm_dot_native,
             impl->tuning.gemm_dot[0], impl->tuning.gemm_dot[1], impl->tuning.gemm_dot[2],
             impl->tuning.gemm_dot[3], impl->gemm_portable ? " -DCLQ_GEMM_PORTABLE" : "");
}
