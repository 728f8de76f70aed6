/* test_tuning.c: the OpenCL tuning choice (host/opencl/cl_tuning.c): rows checked
 * against device limits with the offending field named, rows picked by the ISA the
 * device compiles for, dot-product detection, option truncation, and an invalid row
 * refused at context creation. Reaches the library's internals: linked statically
 * (tests/CMakeLists.txt), the test hook is in no public header. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

#define POCL "Portable Computing Language "

static const clq_cl_device_desc pocl512 = {
    .name = POCL "pthread-skylake-avx512-AMD EPYC", .type = CL_DEVICE_TYPE_CPU,
    .native_float_width = 16, .preferred_float_width = 16, .extensions = "cl_khr_fp64",
    .max_work_group = 4096, .max_work_item = {4096, 4096}, .local_mem = 1048576};

static const char *row_name(const clq_cl_device_desc *d) {
    return clq__cl_tuning_name(clq__cl_tuning_pick(d));
}

/* why for row `t` edited by `edit` on device d. */
typedef void (*edit_fn)(clq_cl_tuning *t);
static void check_edit(const clq_cl_device_desc *d, edit_fn edit, char *why, size_t size) {
    clq_cl_tuning t = *clq__cl_tuning_at(clq__cl_tuning_pick(d));
    if (edit) edit(&t);
    clq__cl_tuning_check(&t, d, why, size);
}

static void quant_100(clq_cl_tuning *t) { t->quant_chunk = 100; }
static void minmax_0(clq_cl_tuning *t) { t->minmax_chunk = 0; }
static void copy_0(clq_cl_tuning *t) { t->copy_chunk = 0; }
static void nr_20(clq_cl_tuning *t) { t->gemm_nr = 20; }
static void nr_18(clq_cl_tuning *t) { t->gemm_nr = 18; }
static void mr_0(clq_cl_tuning *t) { t->gemm_mr = 0; }
static void dot_bm_30(clq_cl_tuning *t) { t->gemm_dot.bm = 30; }
static void dot_bn_30(clq_cl_tuning *t) { t->gemm_dot.bn = 30; }
static void dot_big(clq_cl_tuning *t) {
    t->gemm_dot.bm = 256;
    t->gemm_dot.tm = 1;
    t->gemm_dot.bn = 256;
}
static void dot_kq_big(clq_cl_tuning *t) { t->gemm_dot.kq = 16384; }
static void local_big(clq_cl_tuning *t) { t->gemm_local[0] = 64, t->gemm_local[1] = 128; }
static void local_size_big(clq_cl_tuning *t) { t->local_size = 5000; }

Test(tuning, every_row_valid_where_picked) {
    char why[300];
    check_edit(&pocl512, NULL, why, sizeof why);
    cr_assert_str_empty(why, "%s", why);
}

Test(tuning, check_names_the_field) {
    static const struct {
        edit_fn edit;
        const char *field;
    } cases[] = {
        {quant_100, "quant_chunk = 100"},   {minmax_0, "minmax_chunk = 0"},
        {copy_0, "copy_chunk = 0"},         {nr_20, "gemm_nr = 20"},
        {mr_0, "gemm_mr = 0"},              {dot_bm_30, "gemm_dot.bm = 30"},
        {dot_bn_30, "gemm_dot.bn = 30"},    {dot_big, "gemm_dot = {bm 256, bn 256, tm 1}"},
        {dot_kq_big, "local memory"},      {local_big, "gemm_local = {64, 128}"},
        {local_size_big, "local_size = 5000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char why[300];
        check_edit(&pocl512, cases[i].edit, why, sizeof why);
        cr_expect(strstr(why, cases[i].field) != NULL, "case %zu: expected \"%s\" in \"%s\"", i,
                  cases[i].field, why);
    }
}

/* gemm_nr = 20 is 5 accumulators of 4 columns (8-wide vectors) but 2.5 of 8 (16-wide). */
Test(tuning, gemm_nr_follows_the_vector_width) {
    clq_cl_device_desc avx2 = pocl512;
    avx2.name = POCL "pthread-haswell-AMD EPYC";
    char why[300];
    check_edit(&avx2, nr_20, why, sizeof why);
    cr_expect_str_empty(why, "%s", why);
    check_edit(&avx2, nr_18, why, sizeof why);
    cr_expect(strstr(why, "gemm_nr = 18 is not a positive multiple of 4"), "%s", why);
    check_edit(&pocl512, nr_20, why, sizeof why);
    cr_expect(strstr(why, "multiple of 8"), "%s", why);
}

/* POCL says 16-wide native vectors also when it compiles for AVX2
 * (POCL_KERNELLIB_NAME=avx2: "pthread-haswell-..."): the name decides. */
Test(tuning, pick_by_the_isa_compiled_for) {
    clq_cl_device_desc d = pocl512;
    cr_expect_eq(clq__cl_vec_width(&d), 16);
    cr_expect_str_eq(row_name(&d), "POCL, 16-wide");
    d.name = POCL "pthread-haswell-AMD EPYC";
    cr_expect_eq(clq__cl_vec_width(&d), 8);
    cr_expect_str_eq(row_name(&d), "CPU, 8-wide or less");
    d.name = POCL "cpu-znver4-AMD Ryzen 9 7950X";
    cr_expect_eq(clq__cl_vec_width(&d), 16);
    d.name = POCL "pthread-znver3-AMD EPYC 7763";
    cr_expect_eq(clq__cl_vec_width(&d), 8);
    /* An LLVM CPU not in the lists: the device's native width. */
    d.name = POCL "pthread-futurecpu-X";
    d.native_float_width = 8;
    cr_expect_eq(clq__cl_vec_width(&d), 8);
    cr_expect_str_eq(row_name(&d), "CPU, 8-wide or less");
    /* Other runtimes: the native width, else the preferred one. */
    clq_cl_device_desc other = {.name = "Intel(R) OpenCL Intel(R) Xeon(R)",
                                .type = CL_DEVICE_TYPE_CPU, .native_float_width = 0,
                                .preferred_float_width = 16};
    cr_expect_eq(clq__cl_vec_width(&other), 16);
    cr_expect_str_eq(row_name(&other), "CPU, 16-wide");
    clq_cl_device_desc gpu = {.name = "NVIDIA CUDA NVIDIA H200", .type = CL_DEVICE_TYPE_GPU,
                              .native_float_width = 1};
    cr_expect_str_eq(row_name(&gpu), "GPU");
}

/* The extension must be a whole word of the string, and the khr one must also report
 * the 4x8-bit capability (a runtime once advertised the feature macros without it,
 * intel/compute-runtime#817). */
Test(tuning, dot_kind_needs_the_extension_and_the_capability) {
    clq_cl_device_desc d = {.name = "X", .type = CL_DEVICE_TYPE_GPU};
    d.extensions = "cl_khr_integer_dot_product";
    cr_expect_eq(clq__cl_dot_kind(&d), 0, "no capability bits");
    d.dot_caps = CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR;
    cr_expect_eq(clq__cl_dot_kind(&d), 1);
    d.extensions = "cl_khr_fp64 cl_khr_integer_dot_product_v2 cl_khr_int64";
    cr_expect_eq(clq__cl_dot_kind(&d), 0, "a longer name is another extension");
    d.extensions = "cl_khr_fp64 cl_nv_device_attribute_query";
    d.nv_cc_major = 6;
    d.nv_cc_minor = 0;
    cr_expect_eq(clq__cl_dot_kind(&d), 0, "sm_60 has no dp4a");
    d.nv_cc_minor = 1;
    cr_expect_eq(clq__cl_dot_kind(&d), 2);
    d.extensions = "xcl_nv_device_attribute_query";
    cr_expect_eq(clq__cl_dot_kind(&d), 0);
}

Test(tuning, build_options_truncation_reported) {
    char big[512], small[64];
    const clq_cl_tuning *t = clq__cl_tuning_at(0);
    cr_assert_eq(clq__cl_build_options(big, sizeof big, t, 2, 1), 0);
    size_t n = strlen(big);
    cr_expect_eq(clq__cl_build_options(small, sizeof small, t, 2, 1), -1);
    char exact[512];
    cr_expect_eq(clq__cl_build_options(exact, n + 1, t, 2, 1), 0);
    cr_expect_eq(clq__cl_build_options(exact, n, t, 2, 1), -1);
}

/* ---- an invalid row at context creation (the test hook edits the chosen row) ---- */

static void create(clq_backend b, clq_status *st, clq_context **ctx, char *err, size_t size) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = b;
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    o.cache_dir = getenv("CLQ_CACHE_DIR");
    o.error_buffer = err;
    o.error_buffer_size = size;
    err[0] = 0;
    *ctx = NULL;
    *st = clq_context_create(&o, ctx);
}

/* Skips (fails under CLQ_TEST_REQUIRE_OPENCL=1) when no OpenCL device is usable. */
static void need_opencl(void) {
    clq_status st;
    clq_context *ctx;
    char err[1024];
    create(CLQ_BACKEND_OPENCL, &st, &ctx, err, sizeof err);
    if (st == CLQ_SUCCESS) {
        clq_context_destroy(ctx);
        return;
    }
    const char *req = getenv("CLQ_TEST_REQUIRE_OPENCL");
    if (req && !strcmp(req, "1")) cr_assert_fail("no OpenCL device: %s", err);
    cr_skip_test("no OpenCL device: %s", err);
}

Test(tuning, invalid_row_refused_at_context_creation) {
    need_opencl();
    clq__cl_tuning_test_hook = nr_18;
    clq_status st;
    clq_context *ctx;
    char err[1024];
    create(CLQ_BACKEND_OPENCL, &st, &ctx, err, sizeof err);
    cr_expect_eq(st, CLQ_ERROR_NO_DEVICE, "status %d", (int)st);
    cr_expect_null(ctx);
    cr_expect(strstr(err, "tuning row") && strstr(err, "gemm_nr = 18 is not a positive multiple"),
              "%s", err);
    /* AUTO keeps working on the CPU path and says why. */
    create(CLQ_BACKEND_AUTO, &st, &ctx, err, sizeof err);
    cr_assert_eq(st, CLQ_SUCCESS);
    cr_expect_eq(clq_context_backend(ctx), CLQ_BACKEND_CPU);
    cr_expect(strstr(clq_context_fallback_reason(ctx), "gemm_nr = 18"), "%s",
              clq_context_fallback_reason(ctx));
    clq_context_destroy(ctx);
    /* A dot-product block the kernel's #error would have refused at the first GEMM. */
    clq__cl_tuning_test_hook = dot_bm_30;
    create(CLQ_BACKEND_OPENCL, &st, &ctx, err, sizeof err);
    cr_expect_eq(st, CLQ_ERROR_NO_DEVICE);
    cr_expect(strstr(err, "gemm_dot.bm = 30 is not a positive multiple of gemm_dot.tm"), "%s",
              err);
    clq__cl_tuning_test_hook = NULL;
    create(CLQ_BACKEND_OPENCL, &st, &ctx, err, sizeof err);
    cr_expect_eq(st, CLQ_SUCCESS, "%s", err);
    clq_context_destroy(ctx);
}
