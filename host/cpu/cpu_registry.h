/* cpu_registry.h: the CPU path's kernel registry: per op family, a table of kernel
 * sets with the capabilities each needs, resolved once per context into one struct.
 *
 * How it works
 *   - cpu_caps.h: clq_cpu_caps is a bitset, CLQ_CAP_* one bit per feature
 *     (CLQ_CAP_AVX2, _FMA, _F16C, _AVX512F, _AVX512BW, _AVX512VL, _AVX512DQ,
 *     _AVX512VNNI, _AVXVNNI, _AVX512BF16, _AMX_TILE, _AMX_INT8, _AMX_BF16, _NEON,
 *     _ASIMDDP), with the shorthands CLQ_CAPS_AVX2 (avx2|fma|f16c) and
 *     CLQ_CAPS_AVX512 (that plus avx512f|bw|vl|dq). clq__cpu_caps_detect() gives
 *     what the CPU and OS support; CLQ_CPU_ISA=<level> intersects it with a level's
 *     set (cpu_caps.c, docs/API.md).
 *   - cpu_registry.c: one table per family (clq__cpu_quantize_table,
 *     ..._dequantize_table, ..._minmax_table, ..._rowsums_table, ..._gemm_table,
 *     ..._gemm_epi_table, ..._gemm_small_table, ..._gemm_group_table,
 *     ..._histogram_table, ..._error_table, ..._ggml_table),
 *     entries {name, needs, kernel}, best first. Resolution takes, per family, the
 *     first entry whose needs are a subset of the context's caps; every table ends
 *     with a portable entry that needs nothing.
 *   - clq_cpu_state.k (cpu_internal.h) holds the result; drivers call st->k.gemm etc.
 *     The device name lists each family's chosen entry.
 *
 * Adding a kernel set: write its kernel file (x86 intrinsics inside CLQ_CPU_X86 and
 * per-function target attributes, cpu_simd.h), declare its struct (cpu_internal.h for
 * the element-wise ops, cpu_gemm_kernel.h for GEMM), and add one line to its family's
 * table in cpu_registry.c above the entries it beats, e.g.
 *     {"avx512-vnni", CLQ_CAPS_AVX512 | CLQ_CAP_AVX512VNNI, &clq__cpu_gemm_vnni512},
 * Nothing else changes; the test variants per CLQ_CPU_ISA level exercise it. */
#ifndef CLQ_CPU_REGISTRY_H
#define CLQ_CPU_REGISTRY_H

#include <stddef.h>

#include "cpu_caps.h"
#include "cpu_gemm_group.h"
#include "cpu_gemm_kernel.h"
#include "cpu_gemm_small.h"

struct clq_cpu_ewkernels;
struct clq_cpu_mmkernels;
struct clq_cpu_rskernels;
struct clq_cpu_hkernels;
struct clq_cpu_errkernels;
struct clq_cpu_ggmlkernels;
typedef struct clq_cpu_gemm_epi clq_cpu_gemm_epi;
typedef struct clq_cpu_gemm_cols clq_cpu_gemm_cols;
/* Writes C[m0 + i][n0 + j] for i < rows, j < cols from acc[i * ldacc + j]
 * (cpu_gemm_stage.h). */
typedef void (*clq_cpu_gemm_epi_fn)(const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t,
                                    const int32_t *acc, size_t ldacc, size_t m0, size_t rows,
                                    size_t n0, size_t cols);

/* One table entry per kernel set: name (for the device name), the capability
 * bits it needs, the set. */
#define CLQ_CPU_ENTRY(TYPE) \
    struct {                \
        const char *name;   \
        clq_cpu_caps needs; \
        TYPE k;             \
    }
typedef CLQ_CPU_ENTRY(const struct clq_cpu_ewkernels *) clq_cpu_quantize_entry;
typedef CLQ_CPU_ENTRY(const struct clq_cpu_ewkernels *) clq_cpu_dequantize_entry;
typedef CLQ_CPU_ENTRY(const struct clq_cpu_mmkernels *) clq_cpu_minmax_entry;
typedef CLQ_CPU_ENTRY(const struct clq_cpu_rskernels *) clq_cpu_rowsums_entry;
typedef CLQ_CPU_ENTRY(const struct clq_cpu_hkernels *) clq_cpu_histogram_entry;
typedef CLQ_CPU_ENTRY(const struct clq_cpu_errkernels *) clq_cpu_error_entry;
typedef CLQ_CPU_ENTRY(const struct clq_cpu_ggmlkernels *) clq_cpu_ggml_entry;
typedef CLQ_CPU_ENTRY(const clq_cpu_gemm_kernel *) clq_cpu_gemm_entry;
typedef CLQ_CPU_ENTRY(clq_cpu_gemm_epi_fn) clq_cpu_gemm_epi_entry;
typedef CLQ_CPU_ENTRY(const clq_cpu_gemm_small *) clq_cpu_gemm_small_entry;
typedef CLQ_CPU_ENTRY(const clq_cpu_gemm_group *) clq_cpu_gemm_group_entry;

/* A context's kernels: one resolved entry per family. */
typedef struct clq_cpu_kernels {
    const struct clq_cpu_ewkernels *quantize;
    const struct clq_cpu_ewkernels *dequantize;
    const struct clq_cpu_mmkernels *minmax;
    const struct clq_cpu_rskernels *rowsums;
    const struct clq_cpu_errkernels *error;
    const struct clq_cpu_ggmlkernels *ggml; /* ggml Q8_0 / Q4_0 quantize */
    const clq_cpu_gemm_kernel *gemm;
    clq_cpu_gemm_epi_fn gemm_epi;
    const clq_cpu_gemm_small *gemm_small; /* NULL: M <= 16 takes the general driver */
    const clq_cpu_gemm_group *gemm_group; /* 4-bit / grouped weights (cpu_gemm_group.h) */
    const struct clq_cpu_hkernels *histogram;
    const char *quantize_name, *dequantize_name, *minmax_name, *rowsums_name, *gemm_name,
        *gemm_epi_name, *gemm_small_name, *gemm_group_name, *histogram_name, *error_name, *ggml_name;
} clq_cpu_kernels;

/* Fills k with the first entry of each table that caps allows. */
void clq__cpu_kernels_resolve(clq_cpu_caps caps, clq_cpu_kernels *k);

/* "quantize X, dequantize Y, ..." into buf (truncated to n bytes). */
void clq__cpu_kernels_describe(const clq_cpu_kernels *k, char *buf, size_t n);

#endif
