/* cl_tuning.c: the per-device table of tuning rows passed to every program build as
 * macros, which row a device gets and whether it can run there (checked at context
 * creation), the int8 dot product the GEMM variant can use, and the build options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl_internal.h"

/* Case-insensitive: device names as users type them (CLQ_DEVICE) and as the rows' match
 * fields are written. */
int clq__cl_contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n)) return 1;
    return n == 0;
}

typedef struct tuning_entry {
    const char *name;          /* for messages */
    const char *match;         /* case-insensitive substring of "<platform> <device>"; NULL: any */
    cl_device_type type;       /* 0: any */
    unsigned min_vec_width;    /* clq__cl_vec_width at least this; 0: any */
    clq_cl_tuning tuning;
} tuning_entry;

/* The CPU rows share everything but the GEMM tile. POCL's CPU device: 4096 elements
 * per work item keeps the per-item setup (a few 64-bit divisions) far below the
 * memory time. One work item per work group: POCL compiles a kernel once per
 * work-group size, and the size it picks itself follows the global size, so every
 * new tensor length cost a compile (1.5-4.5 s each here); a fixed size compiles once. */
#define CLQ_CPU_TUNING(VEC, NR, MR)                                                           \
    {                                                                                         \
        .vec = (VEC), .quant_chunk = 4096, .minmax_chunk = 16384, .copy_chunk = 64,           \
        .local_size = 1, .gemm_nr = (NR), .gemm_mr = (MR), .gemm_small_m = 4,                 \
        .gemm_local = {1, 1}, .gemm_dot = {.bm = 16, .bn = 16, .tm = 4, .kq = 4},             \
    }

/* First match wins. CPU runtimes want long contiguous runs per work item (the
 * work-item loop is a plain loop there); GPUs want many small work items. */
static const tuning_entry table[] = {
    /* GEMM with 16 float lanes (AVX-512: 32 zmm registers): a 6 x 32 tile is 24
     * accumulators, 4 of B and one of A. */
    {.name = "POCL, 16-wide",
     .match = "Portable Computing Language",
     .type = CL_DEVICE_TYPE_CPU,
     .min_vec_width = 16,
     .tuning = CLQ_CPU_TUNING(16, 32, 6)},
    {.name = "CPU, 16-wide",
     .type = CL_DEVICE_TYPE_CPU,
     .min_vec_width = 16,
     .tuning = CLQ_CPU_TUNING(16, 32, 6)},
    /* AVX2 and narrower: 16 vector registers, a 3 x 16 tile. */
    {.name = "CPU, 8-wide or less", .type = CL_DEVICE_TYPE_CPU, .tuning = CLQ_CPU_TUNING(8, 16, 3)},
    /* GPUs: generic 4 x 16 tiles, 64 work items per group; the dot-product
     * variant 64 x 64 blocks of 256 work items, 4 x 4 each. */
    {.name = "GPU",
     .tuning = {.vec = 16, .quant_chunk = 256, .minmax_chunk = 4096, .copy_chunk = 16,
                .local_size = 0,
                .gemm_nr = 16, .gemm_mr = 4, .gemm_small_m = 4, .gemm_local = {4, 16},
                .gemm_dot = {.bm = 64, .bn = 64, .tm = 4, .kq = 8}}},
};

void (*clq__cl_tuning_test_hook)(clq_cl_tuning *t) = NULL;

size_t clq__cl_tuning_rows(void) { return sizeof table / sizeof table[0]; }

const clq_cl_tuning *clq__cl_tuning_at(size_t row) {
    return row < clq__cl_tuning_rows() ? &table[row].tuning : NULL;
}

const char *clq__cl_tuning_name(size_t row) {
    return row < clq__cl_tuning_rows() ? table[row].name : "?";
}

/* Whole words of a space-separated list (an extension string). */
static int has_word(const char *list, const char *word) {
    size_t n = strlen(word);
    for (const char *p = list; p && (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    return 0;
}

/* LLVM CPU names POCL puts in its device name ("pthread-<cpu>-<model>"; "cpu-" from
 * POCL 4), by vector width; matched as "-<cpu>-", the 16-wide ones first
 * ("-skylake-" is inside "-skylake-avx512-"). */
static const char *const cpus16[] = {
    "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
    "icelake-server", "tigerlake", "rocketlake", "sapphirerapids", "emeraldrapids",
    "graniterapids", "knl", "knm", "znver4", "znver5", "x86-64-v4", NULL};
static const char *const cpus8[] = {
    "haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake", "arrowlake",
    "lunarlake", "gracemont", "sierraforest", "grandridge", "znver1", "znver2", "znver3",
    "bdver4", "x86-64-v3", NULL};

static int names_cpu(const char *name, const char *const *cpus) {
    for (; *cpus; cpus++) {
        char pat[40];
        snprintf(pat, sizeof pat, "-%s-", *cpus);
        if (clq__cl_contains_ci(name, pat)) return 1;
    }
    return 0;
}

unsigned clq__cl_vec_width(const clq_cl_device_desc *d) {
    if (d->type & CL_DEVICE_TYPE_CPU &&
        clq__cl_contains_ci(d->name, "Portable Computing Language")) {
        if (names_cpu(d->name, cpus16)) return 16;
        if (names_cpu(d->name, cpus8)) return 8;
    }
    unsigned w = d->native_float_width ? d->native_float_width : d->preferred_float_width;
    return w ? w : 1;
}

size_t clq__cl_tuning_pick(const clq_cl_device_desc *d) {
    size_t last = clq__cl_tuning_rows() - 1;
    unsigned vw = clq__cl_vec_width(d);
    for (size_t i = 0; i <= last; i++) {
        const tuning_entry *t = &table[i];
        if (t->type && !(t->type & d->type)) continue;
        if (vw < t->min_vec_width) continue;
        if (t->match && !clq__cl_contains_ci(d->name, t->match)) continue;
        return i;
    }
    return last;
}

/* Appends one finding to why (the first one wins: checks stop at it). */
#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            snprintf(why, size, __VA_ARGS__);                                                 \
            return;                                                                           \
        }                                                                                     \
    } while (0)

void clq__cl_tuning_check(const clq_cl_tuning *t, const clq_cl_device_desc *d, char *why,
                          size_t size) {
    why[0] = 0;
    CHECK(t->vec == 8 || t->vec == 16, "vec = %u is not 8 or 16", t->vec);
    /* The quantize, dequantize and min/max kernels step 16 elements at a time. */
    CHECK(t->quant_chunk >= 16 && t->quant_chunk % 16 == 0,
          "quant_chunk = %u is not a positive multiple of 16 (the kernels' vector length)",
          t->quant_chunk);
    CHECK(t->minmax_chunk >= 16 && t->minmax_chunk % 16 == 0,
          "minmax_chunk = %u is not a positive multiple of 16 (the kernels' vector length)",
          t->minmax_chunk);
    CHECK(t->copy_chunk > 0, "copy_chunk = 0");
    /* kernels/gemm_isa.cl: an accumulator holds 8 columns with AVX-512BW (16-wide CPU
     * vectors), 4 elsewhere; a panel is a whole number of accumulators. */
    unsigned cols = d->type & CL_DEVICE_TYPE_CPU && clq__cl_vec_width(d) >= 16 ? 8 : 4;
    CHECK(t->gemm_nr > 0 && t->gemm_nr % cols == 0,
          "gemm_nr = %u is not a positive multiple of %u (the GEMM's columns per accumulator "
          "at this device's vector width %u)",
          t->gemm_nr, cols, clq__cl_vec_width(d));
    CHECK(t->gemm_nr <= 64, "gemm_nr = %u is above 64 (accumulators live in registers)",
          t->gemm_nr);
    CHECK(t->gemm_mr >= 1 && t->gemm_mr <= 16, "gemm_mr = %u is not in [1, 16]", t->gemm_mr);
    CHECK(t->gemm_dot.bm > 0 && t->gemm_dot.tm > 0 && t->gemm_dot.bm % t->gemm_dot.tm == 0,
          "gemm_dot.bm = %u is not a positive multiple of gemm_dot.tm = %u", t->gemm_dot.bm,
          t->gemm_dot.tm);
    CHECK(t->gemm_dot.bn > 0 && t->gemm_dot.bn % 4 == 0,
          "gemm_dot.bn = %u is not a positive multiple of 4 (columns per work item)",
          t->gemm_dot.bn);
    CHECK(t->gemm_dot.kq > 0, "gemm_dot.kq = 0");
    CHECK(t->gemm_local[0] > 0 && t->gemm_local[1] > 0, "gemm_local = {%zu, %zu} has a 0",
          t->gemm_local[0], t->gemm_local[1]);
    /* Work groups against the device's limits (a kernel's own CL_KERNEL_WORK_GROUP_SIZE,
     * which can be lower, is checked at launch: clq__cl_run_local). */
    size_t dx = t->gemm_dot.bn / 4, dy = t->gemm_dot.bm / t->gemm_dot.tm;
    size_t mwg = d->max_work_group;
    if (mwg) {
        CHECK(t->local_size <= mwg,
              "local_size = %zu is above CL_DEVICE_MAX_WORK_GROUP_SIZE = %zu", t->local_size,
              mwg);
        CHECK(t->gemm_local[0] * t->gemm_local[1] <= mwg,
              "gemm_local = {%zu, %zu} is a work group of %zu, above "
              "CL_DEVICE_MAX_WORK_GROUP_SIZE = %zu",
              t->gemm_local[0], t->gemm_local[1], t->gemm_local[0] * t->gemm_local[1], mwg);
        CHECK(dx * dy <= mwg,
              "gemm_dot = {bm %u, bn %u, tm %u} is a work group of %zu x %zu, above "
              "CL_DEVICE_MAX_WORK_GROUP_SIZE = %zu",
              t->gemm_dot.bm, t->gemm_dot.bn, t->gemm_dot.tm, dx, dy, mwg);
    }
    const size_t *mi = d->max_work_item;
    if (mi[0] && mi[1]) {
        CHECK(t->local_size <= mi[0],
              "local_size = %zu is above CL_DEVICE_MAX_WORK_ITEM_SIZES[0] = %zu", t->local_size,
              mi[0]);
        CHECK(t->gemm_local[0] <= mi[0] && t->gemm_local[1] <= mi[1],
              "gemm_local = {%zu, %zu} is above CL_DEVICE_MAX_WORK_ITEM_SIZES = {%zu, %zu}",
              t->gemm_local[0], t->gemm_local[1], mi[0], mi[1]);
        CHECK(dx <= mi[0] && dy <= mi[1],
              "gemm_dot's work group %zu x %zu is above CL_DEVICE_MAX_WORK_ITEM_SIZES = {%zu, %zu}",
              dx, dy, mi[0], mi[1]);
    }
    /* gemm_dot's local arrays: a_s[kq][bm + 1] and b_s[kq][bn / 4] uint4. */
    cl_ulong lmem = (cl_ulong)t->gemm_dot.kq * ((t->gemm_dot.bm + 1) * 4u + t->gemm_dot.bn * 4u);
    if (d->local_mem)
        CHECK(lmem <= d->local_mem,
              "gemm_dot = {bm %u, bn %u, kq %u} needs %llu bytes of local memory, above "
              "CL_DEVICE_LOCAL_MEM_SIZE = %llu",
              t->gemm_dot.bm, t->gemm_dot.bn, t->gemm_dot.kq, (unsigned long long)lmem,
              (unsigned long long)d->local_mem);
}
#undef CHECK

/* 1: cl_khr_integer_dot_product with 4x8-bit inputs; 2: NVIDIA compute capability
 * 6.1 or later (dp4a through PTX); 0: neither. */
int clq__cl_dot_kind(const clq_cl_device_desc *d) {
    const char *ext = d->extensions ? d->extensions : "";
    if (has_word(ext, "cl_khr_integer_dot_product") &&
        (d->dot_caps & CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR))
        return 1;
    if (has_word(ext, "cl_nv_device_attribute_query") &&
        (d->nv_cc_major > 6 || (d->nv_cc_major == 6 && d->nv_cc_minor >= 1)))
        return 2;
    return 0;
}

int clq__cl_build_options(char *out, size_t size, const clq_cl_tuning *t, int dot_native,
                          int portable) {
    int n = snprintf(out, size,
                     "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -DCLQ_VEC=%u "
                     "-DCLQ_QUANT_CHUNK=%u -DCLQ_MINMAX_CHUNK=%u -DCLQ_COPY_CHUNK=%u "
                     "-DCLQ_GEMM_NR=%u -DCLQ_GEMM_MR=%u -DCLQ_GEMM_DOT_NATIVE=%d "
                     "-DCLQ_GEMM_DOT_BM=%u -DCLQ_GEMM_DOT_BN=%u -DCLQ_GEMM_DOT_TM=%u "
                     "-DCLQ_GEMM_DOT_KQ=%u%s",
                     t->vec, t->quant_chunk, t->minmax_chunk, t->copy_chunk, t->gemm_nr,
                     t->gemm_mr, dot_native, t->gemm_dot.bm, t->gemm_dot.bn, t->gemm_dot.tm,
                     t->gemm_dot.kq, portable ? " -DCLQ_GEMM_PORTABLE" : "");
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

int clq__cl_choose_tuning(clq_cl_impl *impl, char *why, size_t size) {
    char full[260];
    snprintf(full, sizeof full, "%s %s", impl->platform_name, impl->dev_name);
    clq_cl_device_desc d = {.name = full};
    cl_device_id dev = impl->device;
    /* A query that fails leaves its field 0: no width, or a limit not checked. */
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof d.type, &d.type, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof d.native_float_width,
                    &d.native_float_width, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT,
                    sizeof d.preferred_float_width, &d.preferred_float_width, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof d.max_work_group,
                    &d.max_work_group, NULL);
    size_t items[3] = {0, 0, 0};
    cl_uint dims = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_DIMENSIONS, sizeof dims, &dims, NULL) ==
            CL_SUCCESS &&
        dims >= 2 && dims <= 3 &&
        clGetDeviceInfo(dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, dims * sizeof(size_t), items, NULL) ==
            CL_SUCCESS) {
        d.max_work_item[0] = items[0];
        d.max_work_item[1] = items[1];
    }
    clGetDeviceInfo(dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof d.local_mem, &d.local_mem, NULL);
    char *ext = device_extensions(dev);
    d.extensions = ext;
    /* Queried only where the extension that defines them is advertised. */
    if (ext && has_word(ext, "cl_khr_integer_dot_product") &&
        clGetDeviceInfo(dev, CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_CAPABILITIES_KHR,
                        sizeof d.dot_caps, &d.dot_caps, NULL) != CL_SUCCESS)
        d.dot_caps = 0;
    if (ext && has_word(ext, "cl_nv_device_attribute_query") &&
        (clGetDeviceInfo(dev, CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV,
                         sizeof d.nv_cc_major, &d.nv_cc_major, NULL) != CL_SUCCESS ||
         clGetDeviceInfo(dev, CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV,
                         sizeof d.nv_cc_minor, &d.nv_cc_minor, NULL) != CL_SUCCESS))
        d.nv_cc_major = d.nv_cc_minor = 0;
    size_t row = clq__cl_tuning_pick(&d);
    impl->tuning = *clq__cl_tuning_at(row);
    impl->gemm_dot_native = clq__cl_dot_kind(&d);
    free(ext);
    d.extensions = NULL;
    if (clq__cl_tuning_test_hook) clq__cl_tuning_test_hook(&impl->tuning);
    /* CLQ_GEMM_DOT=0 runs the generic GEMM kernel where a dot product exists, =1
     * the dot-product variant where none does (emulated: for tests only);
     * CLQ_GEMM_PORTABLE=1 builds the generic kernel without target builtins. Like
     * CLQ_CPU_ISA they change no result, so CLQ_CONTEXT_IGNORE_ENV leaves them on
     * (the tests run their OpenCL cases once per variant that way). */
    const char *dot = clq__getenv(0, "CLQ_GEMM_DOT");
    const char *portable = clq__getenv(0, "CLQ_GEMM_PORTABLE");
    impl->gemm_dot = dot ? strcmp(dot, "0") != 0 : impl->gemm_dot_native != 0;
    impl->gemm_portable = portable && strcmp(portable, "0") != 0;
    /* An invalid row is refused here, naming the field, rather than by an #error in
     * the kernel source at the first GEMM or by a launch that fails later. */
    char bad[300];
    clq__cl_tuning_check(&impl->tuning, &d, bad, sizeof bad);
    if (bad[0]) {
        snprintf(why, size, "tuning row %zu (%s) of host/opencl/cl_tuning.c: %s", row,
                 clq__cl_tuning_name(row), bad);
        return -1;
    }
    if (clq__cl_build_options(impl->options, sizeof impl->options, &impl->tuning,
                              impl->gemm_dot_native, impl->gemm_portable)) {
        snprintf(why, size, "the build options of tuning row %zu (%s) exceed %zu bytes", row,
                 clq__cl_tuning_name(row), sizeof impl->options - 1);
        return -1;
    }
    return 0;
}
