/* offline_options.c: prints the OpenCL build options the host would pass for
 * devices that are not on this machine, one line per (device, GEMM variant), for
 * scripts/offline-compile.sh. The options come from the library's own
 * clq__cl_tuning_pick / clq__cl_dot_kind / clq__cl_build_options, so the offline
 * compile builds exactly what clq__cl_choose_tuning would build on that device.
 *
 * Line: <target>\t<device>\t<row>\t<variant>\t<options>
 *   target   which offline compiler targets stand for the device: nvptx, amdgcn,
 *            x86-avx512, x86-avx2 (the script maps them to clang targets)
 *   row      the tuning table row the device gets
 *   variant  generic | dot-khr | dot-dp4a (the int8 dot product the host detects),
 *            with "+portable" for CLQ_GEMM_PORTABLE=1. The gemm program holds every
 *            GEMM kernel, so "generic" also compiles the emulated dot-product kernel
 *            that CLQ_GEMM_DOT=1 runs (no other option changes with CLQ_GEMM_DOT).
 *
 * Exits 1 if some tuning row or dot-product kind is picked by no device below (a new
 * row then needs a device here), if a row is invalid on a device that picks it
 * (clq__cl_tuning_check, as context creation runs it), or if an options string
 * does not fit. */
#include <stdio.h>

#include "cl_internal.h"

#define GPU CL_DEVICE_TYPE_GPU
#define CPU CL_DEVICE_TYPE_CPU
#define KHR_4x8 CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR

typedef struct offline_device {
    const char *target;
    clq_cl_device_desc desc;
} offline_device;

/* What these devices report (device type, native and preferred float vector
 * widths, the extensions and limits the choice reads). Names follow
 * "<platform> <device>". */
#define NV_LIMITS .max_work_group = 1024, .max_work_item = {1024, 1024}, .local_mem = 49152
#define AMD_LIMITS .max_work_group = 256, .max_work_item = {1024, 1024}, .local_mem = 65536
#define POCL_LIMITS .max_work_group = 4096, .max_work_item = {4096, 4096}, .local_mem = 1048576
#define POCL "Portable Computing Language "
static const offline_device devices[] = {
    /* NVIDIA's driver: cl_nv_device_attribute_query gives the compute capability;
     * dp4a from 6.1. Drivers that also advertise cl_khr_integer_dot_product get the
     * khr variant (it is checked first). */
    {"nvptx", {.name = "NVIDIA CUDA NVIDIA H200", .type = GPU, .native_float_width = 1,
               .extensions = "cl_khr_fp64 cl_nv_device_attribute_query", .nv_cc_major = 9,
               NV_LIMITS}},
    {"nvptx", {.name = "NVIDIA CUDA NVIDIA GeForce GTX 1080", .type = GPU,
               .native_float_width = 1, .extensions = "cl_nv_device_attribute_query",
               .nv_cc_major = 6, .nv_cc_minor = 1, NV_LIMITS}},
    {"nvptx", {.name = "NVIDIA CUDA NVIDIA GeForce GTX 980", .type = GPU,
               .native_float_width = 1, .extensions = "cl_nv_device_attribute_query",
               .nv_cc_major = 5, .nv_cc_minor = 2, NV_LIMITS}},
    {"nvptx", {.name = "NVIDIA CUDA NVIDIA L40S", .type = GPU, .native_float_width = 1,
               .extensions = "cl_nv_device_attribute_query cl_khr_integer_dot_product",
               .dot_caps = KHR_4x8, .nv_cc_major = 8, .nv_cc_minor = 9, NV_LIMITS}},
    /* AMD's ROCm OpenCL: with and without the khr dot product. */
    {"amdgcn", {.name = "AMD Accelerated Parallel Processing gfx90a:sramecc+:xnack-", .type = GPU,
                .native_float_width = 1, .extensions = "cl_khr_fp64 cl_khr_integer_dot_product",
                .dot_caps = KHR_4x8, AMD_LIMITS}},
    {"amdgcn", {.name = "AMD Accelerated Parallel Processing gfx1100", .type = GPU,
                .native_float_width = 1, .extensions = "cl_khr_fp64", AMD_LIMITS}},
    /* CPU runtimes. POCL reports 16-wide native vectors whether it compiles for
     * AVX-512 or AVX2 (POCL 3.1 on this machine with POCL_KERNELLIB_NAME=avx2), so
     * its rows follow the LLVM CPU in the device name. */
    {"x86-avx512", {.name = POCL "pthread-skylake-avx512-AMD EPYC", .type = CPU,
                    .native_float_width = 16, .preferred_float_width = 16,
                    .extensions = "cl_khr_fp64", POCL_LIMITS}},
    {"x86-avx512", {.name = "Intel(R) OpenCL Intel(R) Xeon(R) Platinum 8480+", .type = CPU,
                    .native_float_width = 16, .preferred_float_width = 1,
                    .extensions = "cl_khr_fp64", .max_work_group = 8192,
                    .max_work_item = {8192, 8192}, .local_mem = 32768}},
    {"x86-avx2", {.name = POCL "pthread-haswell-AMD EPYC 7551", .type = CPU,
                  .native_float_width = 16, .preferred_float_width = 16,
                  .extensions = "cl_khr_fp64", POCL_LIMITS}},
    {"x86-avx2", {.name = POCL "pthread-znver1-AMD EPYC 7551", .type = CPU,
                  .native_float_width = 8, .preferred_float_width = 8,
                  .extensions = "cl_khr_fp64", POCL_LIMITS}},
};

int main(void) {
    static const char *dot_names[] = {"generic", "dot-khr", "dot-dp4a"};
    size_t nrows = clq__cl_tuning_rows();
    int row_seen[64] = {0}, dot_seen[3] = {0}, bad = 0;
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        const offline_device *d = &devices[i];
        size_t row = clq__cl_tuning_pick(&d->desc);
        int dot = clq__cl_dot_kind(&d->desc);
        char why[300];
        clq__cl_tuning_check(clq__cl_tuning_at(row), &d->desc, why, sizeof why);
        if (why[0]) {
            fprintf(stderr, "offline_options: tuning row %zu (%s) is invalid on %s: %s\n", row,
                    clq__cl_tuning_name(row), d->desc.name, why);
            bad = 1;
        }
        if (row < 64) row_seen[row] = 1;
        dot_seen[dot] = 1;
        for (int portable = 0; portable < 2; portable++) {
            /* the size of clq_cl_impl.options */
            char options[sizeof ((clq_cl_impl *)0)->options];
            if (clq__cl_build_options(options, sizeof options, clq__cl_tuning_at(row), dot,
                                      portable)) {
                fprintf(stderr, "offline_options: the options of %s do not fit\n", d->desc.name);
                bad = 1;
            }
            printf("%s\t%s\t%zu\t%s%s\t%s\n", d->target, d->desc.name, row, dot_names[dot],
                   portable ? "+portable" : "", options);
        }
    }
    for (size_t r = 0; r < nrows && r < 64; r++)
        if (!row_seen[r]) {
            fprintf(stderr, "offline_options: tuning row %zu is picked by no device listed here\n",
                    r);
            bad = 1;
        }
    for (int k = 0; k < 3; k++)
        if (!dot_seen[k]) {
            fprintf(stderr, "offline_options: no device listed here has the %s GEMM\n",
                    dot_names[k]);
            bad = 1;
        }
    return bad;
}
