/* test_tuning.c: the OpenCL tuning choice (host/opencl/cl_tuning.c): rows checked
 * against device limits with the offending field named, rows picked by the ISA the
 * device compiles for, dot-product detection, option truncation, an invalid row
 * refused at context creation, and the dot-product variant's self-test at the first
 * GEMM (host/opencl/cl_gemm.c). Reaches the library's internals: linked statically
 * (tests/CMakeLists.txt), the test hooks are in no public header. */
#include <criterion/criterion.h>
#include <stdint.h>
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

/* ---- the dot-product variant's self-test (host/opencl/cl_gemm.c) ----------------- */

enum { TM = 9, TN = 21, TK = 45 };

static int g_hook_calls;
static void count_results(cl_int *c, size_t count) {
    (void)c;
    cr_expect_eq(count, 70, "the self-test has 2 x 5 x 7 results, the hook saw %zu", count);
    g_hook_calls++;
}
static void one_wrong(cl_int *c, size_t count) {
    c[count - 1] += 1;
    g_hook_calls++;
}

/* An OpenCL context on the dot-product variant (CLQ_GEMM_DOT=1: emulated where the
 * device has no dot product, as on POCL). */
static clq_context *dot_context(void) {
    need_opencl();
    setenv("CLQ_GEMM_DOT", "1", 1);
    clq_status st;
    clq_context *ctx;
    char err[1024];
    create(CLQ_BACKEND_OPENCL, &st, &ctx, err, sizeof err);
    unsetenv("CLQ_GEMM_DOT");
    cr_assert_eq(st, CLQ_SUCCESS, "%s", err);
    cr_assert(clq_cl(ctx)->gemm_dot, "CLQ_GEMM_DOT=1 did not choose the dot-product variant");
    return ctx;
}

static clq_context_stats stats_of(clq_context *ctx) {
    clq_context_stats s;
    clq_context_stats_init(&s);
    cr_assert_eq(clq_context_get_stats(ctx, &s), CLQ_SUCCESS);
    return s;
}

static clq_buffer *buffer_of(clq_context *ctx, const void *data, size_t bytes) {
    clq_buffer *b = NULL;
    cr_assert_eq(clq_buffer_create(ctx, bytes, &b), CLQ_SUCCESS);
    if (data) cr_assert_eq(clq_buffer_write(b, 0, bytes, data), CLQ_SUCCESS);
    return b;
}

/* s8 weights [TN, TK] with per-channel zero points, packed. */
static clq_packed_weights *pack(clq_context *ctx, signed char *b, int32_t *zb,
                                clq_buffer **bufs) {
    for (int i = 0; i < TN * TK; i++) b[i] = (signed char)(unsigned char)(i * 91 + 17);
    for (int n = 0; n < TN; n++) zb[n] = n % 7 - 3;
    bufs[0] = buffer_of(ctx, b, TN * TK);
    bufs[1] = buffer_of(ctx, zb, TN * 4);
    clq_tensor bt;
    size_t shape[2] = {TN, TK};
    clq_tensor_init(&bt, CLQ_S8, 2, shape, bufs[0]);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.granularity = CLQ_PER_AXIS;
    qp.axis = 0;
    qp.zero_point = bufs[1];
    clq_packed_weights *w = NULL;
    clq_status st = clq_weights_pack(ctx, &bt, &qp, 0, &w);
    cr_assert_eq(st, CLQ_SUCCESS, "%s", clq_context_error_message(ctx));
    return w;
}

/* u8 A (zero point 3) times the packed weights in s32, against the sums computed here. */
static void gemm_exact(clq_context *ctx, clq_packed_weights *w, const signed char *b,
                       const int32_t *zb) {
    unsigned char a[TM * TK];
    int32_t za = 3, c[TM * TN];
    for (int i = 0; i < TM * TK; i++) a[i] = (unsigned char)(i * 57 + (i % 5 == 0 ? 255 : 0));
    clq_buffer *ab = buffer_of(ctx, a, sizeof a), *zab = buffer_of(ctx, &za, 4);
    clq_buffer *cb = buffer_of(ctx, NULL, sizeof c);
    clq_tensor at, ct;
    size_t ashape[2] = {TM, TK}, cshape[2] = {TM, TN};
    clq_tensor_init(&at, CLQ_U8, 2, ashape, ab);
    clq_tensor_init(&ct, CLQ_S32, 2, cshape, cb);
    clq_qparams aqp;
    clq_qparams_init(&aqp);
    aqp.qtype = CLQ_U8;
    aqp.zero_point = zab;
    clq_status st = clq_gemm(ctx, &at, &aqp, w, NULL, &ct);
    cr_assert_eq(st, CLQ_SUCCESS, "%s", clq_context_error_message(ctx));
    cr_assert_eq(clq_buffer_read(cb, 0, sizeof c, c), CLQ_SUCCESS);
    for (int m = 0; m < TM; m++)
        for (int n = 0; n < TN; n++) {
            int32_t want = 0;
            for (int k = 0; k < TK; k++) want += (a[m * TK + k] - za) * (b[n * TK + k] - zb[n]);
            cr_assert_eq(c[m * TN + n], want, "C[%d][%d] = %d, expected %d", m, n,
                         (int)c[m * TN + n], (int)want);
        }
    clq_buffer_destroy(ab);
    clq_buffer_destroy(zab);
    clq_buffer_destroy(cb);
}

/* A context on the dot-product variant with packed weights; hook set before it. */
typedef struct dot_case {
    clq_context *ctx;
    signed char b[TN * TK];
    int32_t zb[TN];
    clq_buffer *bufs[2];
    clq_packed_weights *w;
} dot_case;
static void dot_open(dot_case *d, void (*hook)(cl_int *, size_t)) {
    clq__cl_dot_test_hook = hook;
    d->ctx = dot_context();
    d->w = pack(d->ctx, d->b, d->zb, d->bufs);
}
static void dot_close(dot_case *d) {
    clq_weights_destroy(d->w);
    clq_buffer_destroy(d->bufs[0]);
    clq_buffer_destroy(d->bufs[1]);
    clq_context_destroy(d->ctx);
    clq__cl_dot_test_hook = NULL;
}

/* Lazily, once: not at context creation, not at a pack, at the first GEMM. */
Test(tuning, dot_self_test_runs_once_at_the_first_gemm) {
    dot_case d;
    dot_open(&d, count_results);
    cr_expect_eq(stats_of(d.ctx).self_tests_run, 0, "the self-test ran before the first GEMM");
    cr_expect_eq(g_hook_calls, 0);
    gemm_exact(d.ctx, d.w, d.b, d.zb);
    gemm_exact(d.ctx, d.w, d.b, d.zb);
    clq_context_stats s = stats_of(d.ctx);
    const char *why = clq_cl(d.ctx)->gemm_dot_rejected;
    cr_expect_eq(s.self_tests_run, 1, "self-tests run: %u", s.self_tests_run);
    cr_expect_eq(s.self_tests_failed, 0, "%s", why);
    cr_expect_eq(g_hook_calls, 1);
    cr_expect(clq_cl(d.ctx)->gemm_dot, "the variant was rejected: %s", why);
    cr_expect_str_empty(why);
    dot_close(&d);
}

/* A wrong answer rejects the variant: the generic kernel gives the same results, the
 * reason is kept and counted, and the call itself neither fails nor leaves a message. */
Test(tuning, dot_self_test_failure_falls_back_to_the_generic_kernel) {
    dot_case d;
    dot_open(&d, one_wrong);
    gemm_exact(d.ctx, d.w, d.b, d.zb);
    clq_context_stats s = stats_of(d.ctx);
    cr_expect_eq(s.self_tests_run, 1);
    cr_expect_eq(s.self_tests_failed, 1);
    cr_expect_not(clq_cl(d.ctx)->gemm_dot, "still on the dot-product variant");
    const char *why = clq_cl(d.ctx)->gemm_dot_rejected;
    cr_expect(strstr(why, "self-test") && strstr(why, "C[4][6]") && strstr(why, "(u8 A)"),
              "reason: \"%s\"", why);
    const char *msg = clq_context_error_message(d.ctx);
    cr_expect_str_empty(msg, "%s", msg);
    gemm_exact(d.ctx, d.w, d.b, d.zb); /* the generic kernel from now on, not tested again */
    cr_expect_eq(stats_of(d.ctx).self_tests_run, 1);
    cr_expect_eq(g_hook_calls, 1);
    dot_close(&d);
}

/* The self-test's values tell a right int8 dot product from wrong ones that a driver
 * or an instruction could give: each of these changes a sum of the 2 x 5 x 7. */
typedef int (*dot_fn)(const int *a, const int *b); /* 4 lanes of s8-domain values */
static int sat16(int v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }
static int dot_right(const int *a, const int *b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
}
static int dot_a_unsigned(const int *a, const int *b) {
    int s = 0;
    for (int i = 0; i < 4; i++) s += (a[i] & 255) * b[i];
    return s;
}
static int dot_b_unsigned(const int *a, const int *b) {
    int s = 0;
    for (int i = 0; i < 4; i++) s += a[i] * (b[i] & 255);
    return s;
}
static int dot_reversed(const int *a, const int *b) {
    return a[0] * b[3] + a[1] * b[2] + a[2] * b[1] + a[3] * b[0];
}
static int dot_pairs_swapped(const int *a, const int *b) {
    return a[0] * b[1] + a[1] * b[0] + a[2] * b[3] + a[3] * b[2];
}
static int dot_pairs_saturated(const int *a, const int *b) {
    return sat16(a[0] * b[0] + a[1] * b[1]) + sat16(a[2] * b[2] + a[3] * b[3]);
}
static int dot_saturated(const int *a, const int *b) { return sat16(dot_right(a, b)); }

/* C of the self-test's problem as the kernel computes it with `dot`: quads of A in the
 * s8 domain (u8 A as a ^ 0x80, zero past K), plus 128 times B's column sum for u8 A. */
enum { PM_ = CLQ_CL_DOT_TEST_M, PN_ = CLQ_CL_DOT_TEST_N, PK_ = CLQ_CL_DOT_TEST_K };
static void probe_sums(dot_fn dot, int *c) {
    unsigned char a[PM_ * PK_];
    signed char b[PN_ * PK_];
    clq__cl_dot_test_problem(a, b);
    for (int u8 = 0; u8 < 2; u8++)
        for (int r = 0; r < PM_; r++)
            for (int n = 0; n < PN_; n++) {
                int acc = 0, cs = 0;
                for (int k0 = 0; k0 < PK_; k0 += 4) {
                    int la[4] = {0}, lb[4] = {0};
                    for (int i = 0; i < 4 && k0 + i < PK_; i++) {
                        unsigned char v = a[r * PK_ + k0 + i];
                        la[i] = (signed char)(u8 ? v ^ 0x80 : v);
                        lb[i] = b[n * PK_ + k0 + i];
                        cs += lb[i];
                    }
                    acc += dot(la, lb);
                }
                c[(u8 * PM_ + r) * PN_ + n] = acc + (u8 ? 128 * cs : 0);
            }
}

Test(tuning, dot_self_test_values_expose_wrong_dots) {
    int right[2 * PM_ * PN_], wrong[2 * PM_ * PN_];
    probe_sums(dot_right, right);
    unsigned char a[PM_ * PK_];
    signed char b[PN_ * PK_];
    clq__cl_dot_test_problem(a, b);
    for (int r = 0; r < PM_; r++) /* the s8-domain model gives the plain sums */
        for (int n = 0; n < PN_; n++) {
            int s8 = 0, u8 = 0;
            for (int k = 0; k < PK_; k++) {
                s8 += (signed char)a[r * PK_ + k] * b[n * PK_ + k];
                u8 += a[r * PK_ + k] * b[n * PK_ + k];
            }
            cr_assert_eq(right[r * PN_ + n], s8);
            cr_assert_eq(right[(PM_ + r) * PN_ + n], u8);
        }
    static const struct {
        dot_fn dot;
        const char *name;
    } cases[] = {{dot_a_unsigned, "A lanes unsigned"},   {dot_b_unsigned, "B lanes unsigned"},
                 {dot_reversed, "lanes reversed"},       {dot_pairs_swapped, "lane pairs swapped"},
                 {dot_pairs_saturated, "pairs saturated"}, {dot_saturated, "int16 saturation"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        probe_sums(cases[i].dot, wrong);
        cr_expect(memcmp(right, wrong, sizeof right) != 0,
                  "a dot product with %s gives the self-test's right answer", cases[i].name);
    }
}
