/* cpu_registry.c: the kernel tables of the CPU path (best first, each ending with
 * a portable entry) and their resolution against a capability set. */
#include "cpu_registry.h"

#include <stdio.h>

#include "cpu_gemm_stage.h"
#include "cpu_internal.h"

#define COUNT(t) (sizeof(t) / sizeof *(t))

static const clq_cpu_quantize_entry clq__cpu_quantize_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_qk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_qk_avx2},
#endif
    {"portable", 0, &clq__cpu_qk_portable},
};

static const clq_cpu_dequantize_entry clq__cpu_dequantize_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_dqk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_dqk_avx2},
#endif
    {"portable", 0, &clq__cpu_dqk_portable},
};

static const clq_cpu_minmax_entry clq__cpu_minmax_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_mmk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_mmk_avx2},
#endif
    {"portable", 0, &clq__cpu_mmk_portable},
};

static const clq_cpu_rowsums_entry clq__cpu_rowsums_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_rsk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_rsk_avx2},
#endif
    {"portable", 0, &clq__cpu_rsk_portable},
};

/* Error statistics (cpu_error.c, cpu_error_simd.c). */
static const clq_cpu_error_entry clq__cpu_error_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_errk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_errk_avx2},
#endif
    {"portable", 0, &clq__cpu_errk_portable},
};

/* ggml block quantizers (cpu_ggml.c, cpu_ggml_simd.c). */
static const clq_cpu_ggml_entry clq__cpu_ggml_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_ggmlk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_ggmlk_avx2},
#endif
    {"portable", 0, &clq__cpu_ggmlk_portable},
};

/* GEMM micro-kernels (cpu_gemm_kernel.h): one line per kernel set. */
static const clq_cpu_gemm_entry clq__cpu_gemm_table[] = {
#if CLQ_CPU_X86
    {"amx", CLQ_CAPS_AVX512 | CLQ_CAP_AMX_TILE | CLQ_CAP_AMX_INT8, &clq__cpu_gemm_amx},
    {"avx512-vnni", CLQ_CAPS_AVX512 | CLQ_CAP_AVX512VNNI, &clq__cpu_gemm_avx512vnni},
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_gemm_avx512bw},
    {"avx2-vnni", CLQ_CAPS_AVX2 | CLQ_CAP_AVXVNNI, &clq__cpu_gemm_avxvnni},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_gemm_avx2},
#endif
    {"portable", 0, &clq__cpu_gemm_portable},
};

/* GEMM output stages (cpu_gemm_stage.c). */
static const clq_cpu_gemm_epi_entry clq__cpu_gemm_epi_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, clq__cpu_gemm_epi_avx512},
    {"avx2", CLQ_CAPS_AVX2, clq__cpu_gemm_epi_avx2},
#endif
    {"portable", 0, clq__cpu_gemm_epi_portable},
};

/* Small-M GEMM tiles (cpu_gemm_small.h); they read every K4 format, so the level's
 * packed weights whatever its general kernel. The portable level keeps the general
 * driver (its B_ROWS format is not K4). */
static const clq_cpu_gemm_small_entry clq__cpu_gemm_small_table[] = {
#if CLQ_CPU_X86
    {"amx", CLQ_CAPS_AVX512 | CLQ_CAP_AMX_TILE | CLQ_CAP_AMX_INT8, &clq__cpu_gemm_small_amx},
    {"avx512-vnni", CLQ_CAPS_AVX512 | CLQ_CAP_AVX512VNNI, &clq__cpu_gemm_small_avx512vnni},
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_gemm_small_avx512bw},
    {"avx2-vnni", CLQ_CAPS_AVX2 | CLQ_CAP_AVXVNNI, &clq__cpu_gemm_small_avxvnni},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_gemm_small_avx2},
#endif
    {"general", 0, NULL},
};

/* GEMM of 4-bit and group-quantized weights (cpu_gemm_group.h): one packed format for
 * every level, so weights packed at one level run at any. */
static const clq_cpu_gemm_group_entry clq__cpu_gemm_group_table[] = {
#if CLQ_CPU_X86
    {"avx512-vnni", CLQ_CAPS_AVX512 | CLQ_CAP_AVX512VNNI, &clq__cpu_gemm_group_avx512vnni},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_gemm_group_avx2},
#endif
    {"portable", 0, &clq__cpu_gemm_group_portable},
};

/* Calibration histogram kernels (cpu_histogram.c, cpu_histogram_simd.c). */
static const clq_cpu_histogram_entry clq__cpu_histogram_table[] = {
#if CLQ_CPU_X86
    {"avx512", CLQ_CAPS_AVX512, &clq__cpu_hk_avx512},
    {"avx2", CLQ_CAPS_AVX2, &clq__cpu_hk_avx2},
#endif
    {"portable", 0, &clq__cpu_hk_portable},
};

/* The first entry whose needs caps covers; the last needs nothing, so it always fits. */
#define RESOLVE(table, caps, field)                                              \
    do {                                                                         \
        size_t i_ = 0;                                                           \
        while (i_ + 1 < COUNT(table) && (table[i_].needs & ~(caps)) != 0) i_++; \
        k->field = table[i_].k;                                                  \
        k->field##_name = table[i_].name;                                        \
    } while (0)

void clq__cpu_kernels_resolve(clq_cpu_caps caps, clq_cpu_kernels *k) {
    RESOLVE(clq__cpu_quantize_table, caps, quantize);
    RESOLVE(clq__cpu_dequantize_table, caps, dequantize);
    RESOLVE(clq__cpu_minmax_table, caps, minmax);
    RESOLVE(clq__cpu_rowsums_table, caps, rowsums);
    RESOLVE(clq__cpu_gemm_table, caps, gemm);
    RESOLVE(clq__cpu_gemm_epi_table, caps, gemm_epi);
    RESOLVE(clq__cpu_gemm_small_table, caps, gemm_small);
    RESOLVE(clq__cpu_gemm_group_table, caps, gemm_group);
    RESOLVE(clq__cpu_histogram_table, caps, histogram);
    RESOLVE(clq__cpu_error_table, caps, error);
    RESOLVE(clq__cpu_ggml_table, caps, ggml);
}

void clq__cpu_kernels_describe(const clq_cpu_kernels *k, char *buf, size_t n) {
    snprintf(buf, n,
             "quantize %s, dequantize %s, minmax %s, rowsums %s, gemm %s, gemm-epilogue %s, "
             "gemm-small %s, gemm-group %s, histogram %s, error %s, ggml %s",
             k->quantize_name, k->dequantize_name, k->minmax_name, k->rowsums_name, k->gemm_name,
             k->gemm_epi_name, k->gemm_small_name, k->gemm_group_name, k->histogram_name,
             k->error_name, k->ggml_name);
}
