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

size_t clq__cl_tuning_rows(void) { return sizeof table / sizeof table[0]; }

const clq_cl_tuning *clq__cl_tuning_at(size_t row) {
    return row < clq__cl_tuning_rows() ? &table[row].tuning : NULL;
}

size_t clq__cl_tuning_pick(const clq_cl_device_desc *d) {
    size_t last = clq__cl_tuning_rows() - 1;
    for (size_t i = 0; i <= last; i++) {
        const tuning_entry *t = &table[i];
        if (t->type && !(t->type & d->type)) continue;
        if (d->native_int_width < t->min_int_width) continue;
        if (t->match) {
            size_t n = strlen(t->match);
            int found = 0;
            for (const char *h = d->name; *h && !found; h++) found = !strncasecmp(h, t->match, n);
            if (!found) continue;
        }
        return i;
    }
    return last;
}

/* 1: cl_khr_integer_dot_product with 4x8-bit inputs; 2: NVIDIA compute capability
 * 6.1 or later (dp4a through PTX); 0: neither. */
int clq__cl_dot_kind(const clq_cl_device_desc *d) {
    const char *ext = d->extensions ? d->extensions : "";
    if (strstr(ext, "cl_khr_integer_dot_product") &&
        (d->dot_caps & CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR))
        return 1;
    if (strstr(ext, "cl_nv_device_attribute_query") &&
        (d->nv_cc_major > 6 || (d->nv_cc_major == 6 && d->nv_cc_minor >= 1)))
        return 2;
    return 0;
}

int clq__cl_build_options(char *out, size_t size, const clq_cl_tuning *t, int dot_native,
                          int portable) {
    int n = snprintf(out, size,
                     "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DCLQ_QUANT_CHUNK=%u "
                     "-DCLQ_MINMAX_CHUNK=%u -DCLQ_COPY_CHUNK=%u -DCLQ_GEMM_NR=%u -DCLQ_GEMM_MR=%u "
                     "-DCLQ_GEMM_DOT_NATIVE=%d -DCLQ_GEMM_DOT_BM=%u -DCLQ_GEMM_DOT_BN=%u "
                     "-DCLQ_GEMM_DOT_TM=%u -DCLQ_GEMM_DOT_KQ=%u%s",
                     t->quant_chunk, t->minmax_chunk, t->copy_chunk, t->gemm_nr, t->gemm_mr,
                     dot_native, t->gemm_dot[0], t->gemm_dot[1], t->gemm_dot[2], t->gemm_dot[3],
                     portable ? " -DCLQ_GEMM_PORTABLE" : "");
    return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* The device's extension string, malloc'd ("" on failure; NULL only without memory). */
static char *device_extensions(cl_device_id dev) {
    size_t n = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &n) != CL_SUCCESS) n = 0;
    char *ext = malloc(n + 1);
    if (!ext) return NULL;
    if (n == 0 || clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, n, ext, NULL) != CL_SUCCESS) n = 0;
    ext[n] = 0;
    return ext;
}

void clq__cl_choose_tuning(clq_cl_impl *impl) {
    char full[260];
    snprintf(full, sizeof full, "%s %s", impl->platform_name, impl->dev_name);
    clq_cl_device_desc d = {.name = full};
    clGetDeviceInfo(impl->device, CL_DEVICE_TYPE, sizeof d.type, &d.type, NULL);
    clGetDeviceInfo(impl->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_INT, sizeof d.native_int_width,
                    &d.native_int_width, NULL);
    char *ext = device_extensions(impl->device);
    d.extensions = ext;
    /* Queried only where the extension that defines them is advertised. */
    if (ext && strstr(ext, "cl_khr_integer_dot_product") &&
        clGetDeviceInfo(impl->device, CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_CAPABILITIES_KHR,
                        sizeof d.dot_caps, &d.dot_caps, NULL) != CL_SUCCESS)
        d.dot_caps = 0;
    if (ext && strstr(ext, "cl_nv_device_attribute_query") &&
        (clGetDeviceInfo(impl->device, CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV,
                         sizeof d.nv_cc_major, &d.nv_cc_major, NULL) != CL_SUCCESS ||
         clGetDeviceInfo(impl->device, CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV,
                         sizeof d.nv_cc_minor, &d.nv_cc_minor, NULL) != CL_SUCCESS))
        d.nv_cc_major = d.nv_cc_minor = 0;
    impl->tuning = *clq__cl_tuning_at(clq__cl_tuning_pick(&d));
    impl->gemm_dot_native = clq__cl_dot_kind(&d);
    free(ext);
    /* CLQ_GEMM_DOT=0 runs the generic GEMM kernel where a dot product exists, =1
     * the dot-product variant where none does (emulated: for tests only);
     * CLQ_GEMM_PORTABLE=1 builds the generic kernel without target builtins. Like
     * CLQ_CPU_ISA they change no result, so CLQ_CONTEXT_IGNORE_ENV leaves them on
     * (the tests run their OpenCL cases once per variant that way). */
    const char *dot = clq__getenv(0, "CLQ_GEMM_DOT");
    const char *portable = clq__getenv(0, "CLQ_GEMM_PORTABLE");
    impl->gemm_dot = dot ? strcmp(dot, "0") != 0 : impl->gemm_dot_native != 0;
    impl->gemm_portable = portable && strcmp(portable, "0") != 0;
    clq__cl_build_options(impl->options, sizeof impl->options, &impl->tuning,
                          impl->gemm_dot_native, impl->gemm_portable);
}
