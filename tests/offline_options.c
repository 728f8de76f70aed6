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
 * row then needs a device here), or if an options string does not fit. */
#include <stdio.h>

#include "cl_internal.h"

#define GPU CL_DEVICE_TYPE_GPU
#define CPU CL_DEVICE_TYPE_CPU
#define KHR_4x8 CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR

typedef struct offline_device {
    const char *target;
    clq_cl_device_desc desc;
} offline_device;

/* What these devices report (device type, CL_DEVICE_NATIVE_VECTOR_WIDTH_INT, the
 * extensions the choice reads). Names follow "<platform> <device>". */
static const offline_device devices[] = {
    /* NVIDIA's driver: cl_nv_device_attribute_query gives the compute capability;
     * dp4a from 6.1. Drivers that also advertise cl_khr_integer_dot_product get the
     * khr variant (it is checked first). */
    {"nvptx", {"NVIDIA CUDA NVIDIA H200", GPU, 1, "cl_khr_fp64 cl_nv_device_attribute_query", 0, 9, 0}},
    {"nvptx", {"NVIDIA CUDA NVIDIA GeForce GTX 1080", GPU, 1, "cl_nv_device_attribute_query", 0, 6, 1}},
    {"nvptx", {"NVIDIA CUDA NVIDIA GeForce GTX 980", GPU, 1, "cl_nv_device_attribute_query", 0, 5, 2}},
    {"nvptx",
     {"NVIDIA CUDA NVIDIA L40S", GPU, 1,
      "cl_nv_device_attribute_query cl_khr_integer_dot_product", KHR_4x8, 8, 9}},
    /* AMD's ROCm OpenCL: with and without the khr dot product. */
    {"amdgcn",
     {"AMD Accelerated Parallel Processing gfx90a:sramecc+:xnack-", GPU, 1,
      "cl_khr_fp64 cl_khr_integer_dot_product", KHR_4x8, 0, 0}},
    {"amdgcn", {"AMD Accelerated Parallel Processing gfx1100", GPU, 1, "cl_khr_fp64", 0, 0, 0}},
    /* CPU runtimes: POCL on AVX-512 (this machine) and AVX2 hosts, another CPU runtime. */
    {"x86-avx512",
     {"Portable Computing Language pthread-skylake-avx512-AMD EPYC", CPU, 16, "cl_khr_fp64", 0, 0, 0}},
    {"x86-avx512", {"Intel(R) OpenCL Intel(R) Xeon(R) Platinum 8480+", CPU, 16, "cl_khr_fp64", 0, 0, 0}},
    {"x86-avx2", {"Portable Computing Language pthread-haswell-AMD EPYC 7551", CPU, 8, "cl_khr_fp64", 0, 0, 0}},
};

int main(void) {
    static const char *dot_names[] = {"generic", "dot-khr", "dot-dp4a"};
    size_t nrows = clq__cl_tuning_rows();
    int row_seen[64] = {0}, dot_seen[3] = {0}, bad = 0;
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        const offline_device *d = &devices[i];
        size_t row = clq__cl_tuning_pick(&d->desc);
        int dot = clq__cl_dot_kind(&d->desc);
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
