/* test_context.c: context creation (options, CLQ_BACKEND, CLQ_DEVICE, AUTO fallback),
 * buffers, interop with a caller's cl_context / cl_mem, status strings and version. */
#include "common.h"

#include <clquant/clquant_cl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options that read the environment (the tests set it) but keep the test cache dir. */
static clq_context_options env_options(clq_backend b) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = b;
    o.cache_dir = getenv("CLQ_CACHE_DIR");
    return o;
}

/* Name of OpenCL platform 0 / device 0, or skip (fail under CLQ_TEST_REQUIRE_OPENCL). */
static void first_cl_device(cl_platform_id *pl, cl_device_id *dev, char *name, size_t size) {
    cl_uint np = 0, nd = 0;
    if (clGetPlatformIDs(1, pl, &np) != CL_SUCCESS || np == 0)
        tc_skip_or_fail_no_opencl(CLQ_ERROR_NO_DEVICE, "clGetPlatformIDs found no platform");
    if (clGetDeviceIDs(*pl, CL_DEVICE_TYPE_ALL, 1, dev, &nd) != CL_SUCCESS || nd == 0)
        tc_skip_or_fail_no_opencl(CLQ_ERROR_NO_DEVICE, "platform 0 has no device");
    cr_assert_eq(clGetDeviceInfo(*dev, CL_DEVICE_NAME, size, name, NULL), CL_SUCCESS);
}

/* A small quantize on ctx, checked against the reference. */
static void smoke(clq_context *ctx) {
    tc_case c = {.name = "smoke", .op = TC_QUANTIZE, .qtype = CLQ_S4, .ndim = 2, .shape = {23, 19},
                 .gran = CLQ_PER_AXIS, .axis = 1, .values = TC_SPECIAL};
    tc_run(ctx, &c);
}

Test(context, cpu_by_option) {
    setenv("CLQ_BACKEND", "opencl", 1); /* ignored: IGNORE_ENV */
    clq_context_options o = env_options(CLQ_BACKEND_CPU);
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    clq_context *ctx = tc_context_opts(&o);
    cr_assert_eq(clq_context_backend(ctx), CLQ_BACKEND_CPU);
    cr_assert(strncmp(clq_context_device_name(ctx), "cpu", 3) == 0, "device name \"%s\"", clq_context_device_name(ctx));
    cr_assert_str_eq(clq_context_fallback_reason(ctx), "");
    cr_assert_str_eq(clq_context_error_message(ctx), "");
    cl_context clc;
    cl_command_queue q;
    cl_device_id d;
    cr_assert_eq(clq_context_get_cl(ctx, &clc, &q, &d), CLQ_ERROR_INVALID_ARGUMENT);
    clq_context_stats st;
    clq_context_stats_init(&st);
    TC_OK(ctx, clq_context_get_stats(ctx, &st));
    cr_assert(st.programs_built == 0 && st.programs_loaded == 0, "CPU context built programs");
    smoke(ctx);
    TC_OK(ctx, clq_context_finish(ctx));
    clq_context_destroy(ctx);
}

/* The level word of a CPU device name, "cpu (LEVEL, N threads; ...)", as an index
 * into CLQ_CPU_ISA's levels in docs/API.md's order (-1: not a level). */
static int cpu_level_index(clq_context *ctx, char *name, size_t size) {
    static const char *levels[] = {"portable", "neon", "neon-dot", "avx2", "avx2-vnni",
                                   "avx512", "avx512-vnni", "amx"};
    snprintf(name, size, "%s", clq_context_device_name(ctx));
    size_t len = strncmp(name, "cpu (", 5) == 0 ? strcspn(name + 5, ",") : 0;
    for (int i = 0; i < (int)(sizeof levels / sizeof *levels); i++)
        if (len == strlen(levels[i]) && strncmp(name + 5, levels[i], len) == 0) return i;
    return -1;
}

static clq_context *cpu_with_isa(const char *isa) {
    if (isa) setenv("CLQ_CPU_ISA", isa, 1);
    else unsetenv("CLQ_CPU_ISA");
    clq_context_options o = env_options(CLQ_BACKEND_CPU);
    o.flags = CLQ_CONTEXT_IGNORE_ENV; /* CLQ_CPU_ISA is read all the same */
    return tc_context_opts(&o);
}

/* CLQ_CPU_ISA caps the kernel sets at a level, never above the CPU's own; unknown
 * names are ignored; portable runs portable kernels in every family. */
Test(context, cpu_isa_caps_the_level) {
    char native[256], got[256];
    clq_context *ctx = cpu_with_isa(NULL);
    int top = cpu_level_index(ctx, native, sizeof native);
    clq_context_destroy(ctx);
    cr_assert(top >= 0, "device name \"%s\" does not start with a level", native);
    static const char *same[] = {"", "native", "bogus", "AVX2"};
    for (int i = 0; i < 4; i++) {
        ctx = cpu_with_isa(same[i]);
        cpu_level_index(ctx, got, sizeof got);
        clq_context_destroy(ctx);
        cr_assert_str_eq(got, native, "CLQ_CPU_ISA=\"%s\"", same[i]);
    }
    ctx = cpu_with_isa("portable");
    cr_assert_eq(cpu_level_index(ctx, got, sizeof got), 0, "\"%s\"", got);
    cr_assert(strstr(got, "avx") == NULL && strstr(got, "neon") == NULL, "\"%s\"", got);
    smoke(ctx);
    clq_context_destroy(ctx);
    static const char *asked[] = {"portable", "neon", "neon-dot", "avx2", "avx2-vnni",
                                  "avx512", "avx512-vnni", "amx"};
    for (int i = 0; i < 8; i++) {
        ctx = cpu_with_isa(asked[i]);
        int at = cpu_level_index(ctx, got, sizeof got);
        smoke(ctx);
        clq_context_destroy(ctx);
        cr_assert(at >= 0 && at <= i && at <= top, "CLQ_CPU_ISA=%s on \"%s\" gave \"%s\"", asked[i],
                  native, got);
    }
    unsetenv("CLQ_CPU_ISA");
}

Test(context, cpu_by_env) {
    static const clq_backend asked[] = {CLQ_BACKEND_AUTO, CLQ_BACKEND_OPENCL};
    for (int i = 0; i < 2; i++) {
        setenv("CLQ_BACKEND", i ? "CPU" : "cpu", 1);
        clq_context_options o = env_options(asked[i]);
        clq_context *ctx = NULL;
        clq_status st = clq_context_create(&o, &ctx);
        cr_assert(st == CLQ_SUCCESS, "CLQ_BACKEND=cpu with backend %d: %s", asked[i], clq_status_string(st));
        cr_assert_eq(clq_context_backend(ctx), CLQ_BACKEND_CPU, "CLQ_BACKEND=cpu must override backend %d", asked[i]);
        clq_context_destroy(ctx);
    }
    setenv("CLQ_BACKEND", "gpu-please", 1);
    clq_context_options o = env_options(CLQ_BACKEND_AUTO);
    clq_context *ctx = NULL;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_INVALID_ARGUMENT, "a bad CLQ_BACKEND must be refused");
    cr_assert(ctx == NULL);
}

Test(context, auto_and_no_fallback) {
    unsetenv("CLQ_BACKEND");
    unsetenv("CLQ_DEVICE");
    clq_context_options o = env_options(CLQ_BACKEND_AUTO);
    clq_context *ctx = NULL;
    TC_OK(NULL, clq_context_create(&o, &ctx));
    if (clq_context_backend(ctx) == CLQ_BACKEND_CPU) {
        cr_assert(clq_context_fallback_reason(ctx)[0] != 0, "AUTO fell back to the CPU without a reason");
        char why[512];
        snprintf(why, sizeof why, "%s", clq_context_fallback_reason(ctx));
        clq_context_destroy(ctx);
        o.flags = CLQ_CONTEXT_NO_FALLBACK;
        ctx = NULL;
        cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_NO_DEVICE);
        tc_skip_or_fail_no_opencl(CLQ_ERROR_NO_DEVICE, why);
    }
    cr_assert_eq(clq_context_backend(ctx), CLQ_BACKEND_OPENCL);
    cr_assert_str_eq(clq_context_fallback_reason(ctx), "");
    clq_context_destroy(ctx);
    o.flags = CLQ_CONTEXT_NO_FALLBACK;
    TC_OK(NULL, clq_context_create(&o, &ctx));
    cr_assert_eq(clq_context_backend(ctx), CLQ_BACKEND_OPENCL);
    clq_context_destroy(ctx);
}

Test(context, device_by_env_index_and_name) {
    cl_platform_id pl;
    cl_device_id dev;
    char name[256];
    first_cl_device(&pl, &dev, name, sizeof name);
    unsetenv("CLQ_BACKEND");
    setenv("CLQ_DEVICE", "0:0", 1);
    clq_context_options o = env_options(CLQ_BACKEND_OPENCL);
    clq_context *ctx = tc_context_opts(&o);
    cr_assert(strstr(clq_context_device_name(ctx), name) != NULL, "CLQ_DEVICE=0:0 gave \"%s\", not \"%s\"",
              clq_context_device_name(ctx), name);
    cl_context clc;
    cl_command_queue q;
    cl_device_id d;
    TC_OK(ctx, clq_context_get_cl(ctx, &clc, &q, &d));
    cr_assert(d == dev, "CLQ_DEVICE=0:0 did not pick platform 0 device 0");
    clq_context_destroy(ctx);

    /* a substring of the device name, in another case */
    char sub[8] = {0};
    size_t len = strlen(name), start = len > 8 ? len / 3 : 0;
    for (size_t i = 0; i < 6 && start + i < len; i++) {
        char ch = name[start + i];
        sub[i] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    setenv("CLQ_DEVICE", sub, 1);
    ctx = NULL;
    clq_status st = clq_context_create(&o, &ctx);
    if (st != CLQ_SUCCESS) {
        /* the name match may be case-sensitive: the exact substring must work */
        memcpy(sub, name + start, 6);
        setenv("CLQ_DEVICE", sub, 1);
        st = clq_context_create(&o, &ctx);
    }
    cr_assert(st == CLQ_SUCCESS, "CLQ_DEVICE=\"%s\" (part of \"%s\"): %s", sub, name, clq_status_string(st));
    cr_assert(strstr(clq_context_device_name(ctx), name) != NULL, "CLQ_DEVICE=%s gave \"%s\"", sub,
              clq_context_device_name(ctx));
    smoke(ctx);
    clq_context_destroy(ctx);

    /* the same through options, with the environment ignored */
    setenv("CLQ_DEVICE", "no-such-device-xyz", 1);
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    o.device_name = name;
    ctx = tc_context_opts(&o);
    cr_assert(strstr(clq_context_device_name(ctx), name) != NULL);
    clq_context_destroy(ctx);
    o.device_name = NULL;
    o.platform_index = 0;
    o.device_index = 0;
    ctx = tc_context_opts(&o);
    clq_context_destroy(ctx);
}

Test(context, nonsense_device) {
    cl_platform_id pl;
    cl_device_id dev;
    char name[256];
    first_cl_device(&pl, &dev, name, sizeof name);
    unsetenv("CLQ_BACKEND");
    static const char *bad[] = {"no-such-device-xyz", "7:3", "0:99"};
    for (int i = 0; i < 3; i++) {
        setenv("CLQ_DEVICE", bad[i], 1);
        clq_context_options o = env_options(CLQ_BACKEND_OPENCL);
        clq_context *ctx = NULL;
        cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_NO_DEVICE, "OPENCL with CLQ_DEVICE=%s", bad[i]);
        cr_assert(ctx == NULL);
        o.backend = CLQ_BACKEND_AUTO;
        o.flags = CLQ_CONTEXT_NO_FALLBACK;
        cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_NO_DEVICE, "AUTO|NO_FALLBACK with CLQ_DEVICE=%s", bad[i]);
        o.flags = 0;
        TC_OK(NULL, clq_context_create(&o, &ctx));
        cr_assert_eq(clq_context_backend(ctx), CLQ_BACKEND_CPU);
        const char *why = clq_context_fallback_reason(ctx);
        /* the user must see that the environment variable caused it */
        cr_assert(strstr(why, bad[i]) != NULL || strstr(why, "CLQ_DEVICE") != NULL,
                  "fallback reason \"%s\" names neither CLQ_DEVICE nor its value %s", why, bad[i]);
        clq_context_destroy(ctx);
    }
}

static void buffers_body(clq_context *ctx) {
    clq_buffer *b = NULL;
    TC_OK(ctx, clq_buffer_create(ctx, 1000, &b));
    cr_assert_eq(clq_buffer_size(b), 1000u);
    uint8_t w[1000], r[1000];
    for (int i = 0; i < 1000; i++) w[i] = (uint8_t)(i * 7);
    TC_OK(ctx, clq_buffer_write(b, 0, 1000, w));
    TC_OK(ctx, clq_buffer_write(b, 999, 1, "z"));
    TC_OK(ctx, clq_buffer_write(b, 10, 0, w));
    TC_OK(ctx, clq_buffer_read(b, 0, 1000, r));
    w[999] = 'z';
    cr_assert_arr_eq(r, w, 1000);
    TC_OK(ctx, clq_buffer_read(b, 500, 3, r));
    cr_assert(r[0] == w[500] && r[2] == w[502]);
    clq_buffer_destroy(b);

    /* wrapped host memory as input and as output */
    enum { R = 23, C = 19, N = R * C };
    size_t shape[2] = {R, C};
    float *x = malloc(4 * N);
    uint8_t *y = malloc(N + 16);
    for (int i = 0; i < N; i++) x[i] = (float)(i % 29) * 0.37f - 3.0f;
    memset(y, TC_SENTINEL, N + 16);
    clq_buffer *xb, *yb;
    TC_OK(ctx, clq_buffer_wrap_host(ctx, x, 4 * N, &xb));
    TC_OK(ctx, clq_buffer_wrap_host(ctx, y, N + 16, &yb));
    cr_assert_eq(clq_buffer_size(xb), 4u * N);
    float s = 0.05f;
    int32_t z = 100;
    clq_buffer *sb = tc_buffer(ctx, 4, &s), *zb = tc_buffer(ctx, 4, &z);
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 2, shape, xb);
    clq_tensor_init(&yt, CLQ_U8, 2, shape, yb);
    yt.offset = 8;
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_U8;
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
    uint8_t *got = malloc(N + 16);
    TC_OK(ctx, clq_buffer_read(yb, 0, N + 16, got));
    for (int i = 0; i < N + 16; i++) {
        int want = (i < 8 || i >= 8 + N) ? TC_SENTINEL : ref_quantize_one(x[i - 8], s, z, 0, 255, CLQ_ROUND_HALF_EVEN, 0);
        cr_assert_eq(got[i], want, "wrapped host buffers, %s: byte %d: expected %d got %d",
                     clq_context_device_name(ctx), i, want, got[i]);
    }
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    free(x);
    free(y);
    free(got);
}
Test(context, buffers_cpu) { tc_with_backend(CLQ_BACKEND_CPU, buffers_body); }
Test(context, buffers_opencl) { tc_with_backend(CLQ_BACKEND_OPENCL, buffers_body); }

Test(context, interop_cl) {
    cl_platform_id pl;
    cl_device_id dev;
    char name[256];
    first_cl_device(&pl, &dev, name, sizeof name);
    cl_int err;
    cl_context clc = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(clc, dev, 0, &err);
    cr_assert_eq(err, CL_SUCCESS);
    clq_context_options o = env_options(CLQ_BACKEND_AUTO);
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    clq_context *ctx = NULL;
    TC_OK(NULL, clq_context_create_from_cl(clc, q, &o, &ctx));
    cr_assert_eq(clq_context_backend(ctx), CLQ_BACKEND_OPENCL);
    cl_context c2;
    cl_command_queue q2;
    cl_device_id d2;
    TC_OK(ctx, clq_context_get_cl(ctx, &c2, &q2, &d2));
    cr_assert(c2 == clc && q2 == q && d2 == dev, "clq_context_get_cl does not give back the caller's objects");

    enum { N = 1031 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)((i * 37) % 200) * 0.11f - 11.0f;
    cl_mem xm = clCreateBuffer(clc, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    cl_mem ym = clCreateBuffer(clc, CL_MEM_READ_WRITE, N, NULL, &err);
    cr_assert_eq(clEnqueueWriteBuffer(q, xm, CL_TRUE, 0, sizeof x, x, 0, NULL, NULL), CL_SUCCESS);
    clq_buffer *xb, *yb;
    TC_OK(ctx, clq_buffer_wrap_cl(ctx, xm, &xb));
    TC_OK(ctx, clq_buffer_wrap_cl(ctx, ym, &yb));
    cr_assert_eq(clq_buffer_size(xb), sizeof x);
    cl_mem back;
    TC_OK(ctx, clq_buffer_get_cl(xb, &back));
    cr_assert(back == xm);
    /* the library retains what it wraps: dropping our references must be safe */
    clReleaseMemObject(xm);
    float s = 0.09f;
    int32_t z = -3;
    clq_buffer *sb = tc_buffer(ctx, 4, &s), *zb = tc_buffer(ctx, 4, &z);
    size_t shape[1] = {N};
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
    clq_tensor_init(&yt, CLQ_S8, 1, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.scale = sb;
    qp.zero_point = zb;
    TC_OK(ctx, clq_quantize(ctx, &xt, &qp, &yt));
    /* ordered on the caller's in-order queue: a read enqueued after it sees the result */
    int8_t y[N];
    cr_assert_eq(clEnqueueReadBuffer(q, ym, CL_TRUE, 0, N, y, 0, NULL, NULL), CL_SUCCESS);
    for (int i = 0; i < N; i++) {
        int want = ref_quantize_one(x[i], s, z, -128, 127, CLQ_ROUND_HALF_EVEN, 0);
        cr_assert_eq(y[i], want, "interop: element %d: expected %d got %d", i, want, y[i]);
    }

    /* a cl_mem of another cl_context is refused */
    cl_context other = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, 64, NULL, &err);
    clq_buffer *fb = NULL;
    cr_assert_eq(clq_buffer_wrap_cl(ctx, foreign, &fb), CLQ_ERROR_CONTEXT_MISMATCH);
    cr_assert(fb == NULL);
    cr_assert(tc_contains(clq_context_error_message(ctx), "context"), "message \"%s\"",
              clq_context_error_message(ctx));
    cr_assert_eq(clq_buffer_wrap_cl(ctx, NULL, &fb), CLQ_ERROR_INVALID_ARGUMENT);
    clReleaseMemObject(foreign);
    clReleaseContext(other);

    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    clReleaseMemObject(ym);
    /* the context keeps the queue and the cl_context alive until it is destroyed */
    clReleaseCommandQueue(q);
    clReleaseContext(clc);
    TC_OK(ctx, clq_context_finish(ctx));
    clq_context_destroy(ctx);

    cr_assert_eq(clq_context_create_from_cl(NULL, NULL, NULL, &ctx), CLQ_ERROR_INVALID_ARGUMENT);
}

Test(context, status_strings_and_version) {
    static const char *names[] = {"CLQ_SUCCESS",
                                  "CLQ_ERROR_INVALID_ARGUMENT",
                                  "CLQ_ERROR_OUT_OF_MEMORY",
                                  "CLQ_ERROR_UNSUPPORTED",
                                  "CLQ_ERROR_NO_DEVICE",
                                  "CLQ_ERROR_BUILD_FAILED",
                                  "CLQ_ERROR_OPENCL",
                                  "CLQ_ERROR_OVERFLOW",
                                  "CLQ_ERROR_CONTEXT_MISMATCH",
                                  "CLQ_ERROR_OUT_OF_BOUNDS",
                                  "CLQ_ERROR_INVALID_QPARAMS",
                                  "CLQ_ERROR_INTERNAL"};
    for (int i = 0; i < 12; i++) cr_assert_str_eq(clq_status_string((clq_status)i), names[i]);
    cr_assert(clq_status_string((clq_status)999) != NULL);
    cr_assert(clq_status_string((clq_status)-1) != NULL);
    cr_assert_eq(clq_version_number(), (unsigned)CLQ_VERSION_NUMBER);
    cr_assert_str_eq(clq_version_string(), CLQ_VERSION_STRING);
    static const clq_dtype dts[] = {CLQ_F32, CLQ_F16, CLQ_BF16, CLQ_S8, CLQ_U8, CLQ_S4, CLQ_U4, CLQ_S32};
    for (int i = 0; i < 8; i++) {
        cr_assert(clq_dtype_name(dts[i]) && clq_dtype_name(dts[i])[0], "dtype %d has no name", dts[i]);
        for (int j = 0; j < i; j++) cr_assert_str_neq(clq_dtype_name(dts[i]), clq_dtype_name(dts[j]));
    }
    cr_assert(clq_dtype_name((clq_dtype)99) != NULL);
}

Test(context, tensor_helpers) {
    clq_tensor t;
    size_t shape[3] = {7, 1, 3}, bytes = 0;
    cr_assert_eq(clq_tensor_init(&t, CLQ_S4, 3, shape, NULL), CLQ_SUCCESS);
    cr_assert_eq(clq_tensor_numel(&t), 21u);
    cr_assert_eq(t.strides[0], 3);
    cr_assert_eq(t.strides[2], 1);
    cr_assert_eq(t.offset, 0u);
    cr_assert_eq(clq_tensor_bytes(&t, &bytes), CLQ_SUCCESS);
    cr_assert_eq(bytes, 11u, "21 4-bit elements need 11 bytes, got %zu", bytes);
    t.dtype = CLQ_BF16;
    cr_assert_eq(clq_tensor_bytes(&t, &bytes), CLQ_SUCCESS);
    cr_assert_eq(bytes, 42u);
    cr_assert_eq(clq_tensor_init(&t, CLQ_F32, 0, NULL, NULL), CLQ_SUCCESS);
    cr_assert_eq(clq_tensor_numel(&t), 1u, "a scalar has one element");
    size_t big[2] = {SIZE_MAX / 2, 3};
    cr_assert_eq(clq_tensor_init(&t, CLQ_F32, 2, big, NULL), CLQ_SUCCESS);
    cr_assert_eq(clq_tensor_numel(&t), 0u);
    cr_assert_eq(clq_tensor_bytes(&t, &bytes), CLQ_ERROR_OVERFLOW);
}

/* The CPU path splits work across threads: any thread count gives the same bits. */
Test(context, cpu_thread_counts) {
    static const int threads[] = {1, 3, 7};
    for (int i = 0; i < 3; i++) {
        clq_context_options o = env_options(CLQ_BACKEND_CPU);
        o.flags = CLQ_CONTEXT_IGNORE_ENV;
        o.cpu_threads = threads[i];
        clq_context *ctx = tc_context_opts(&o);
        tc_case cases[] = {
            {.name = "threads dynamic", .op = TC_DYNAMIC, .qtype = CLQ_U8, .ndim = 2, .shape = {3, 100003}},
            {.name = "threads minmax", .op = TC_MINMAX, .ndim = 2, .shape = {3, 100003}, .gran = CLQ_PER_AXIS},
            {.name = "threads quantize s4", .op = TC_QUANTIZE, .qtype = CLQ_S4, .ndim = 2, .shape = {101, 1001},
             .gran = CLQ_PER_BLOCK, .axis = 1, .block = 64},
            {.name = "threads dequantize", .op = TC_DEQUANTIZE, .qtype = CLQ_U4, .ndim = 1, .shape = {300001}},
        };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) tc_run(ctx, &cases[k]);
        clq_context_destroy(ctx);
    }
}

/* Separate contexts on separate threads share nothing: the main thread creates the
 * contexts (concurrent first use of POCL's platform enumeration is not thread-safe),
 * each thread quantizes its own data repeatedly, and the main thread checks the bits. */
typedef struct worker {
    clq_context *ctx;
    uint64_t seed;
    float x[4099];
    uint8_t y[4099];
    float scale;
    int32_t zp;
    clq_status st;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    clq_context *ctx = w->ctx;
    tc_rng rng;
    tc_rng_seed(&rng, w->seed);
    for (int i = 0; i < 4099; i++) w->x[i] = tc_value(&rng, TC_NORMAL);
    size_t shape[1] = {4099};
    clq_buffer *xb = NULL, *yb = NULL, *sb = NULL, *zb = NULL;
    clq_status st = clq_buffer_create(ctx, sizeof w->x, &xb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(xb, 0, sizeof w->x, w->x);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, sizeof w->y, &yb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, 4, &sb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, 4, &zb);
    clq_tensor xt, yt;
    clq_tensor_init(&xt, CLQ_F32, 1, shape, xb);
    clq_tensor_init(&yt, CLQ_U8, 1, shape, yb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = CLQ_U8;
    qp.scale = sb;
    qp.zero_point = zb;
    for (int r = 0; r < 20 && st == CLQ_SUCCESS; r++) st = clq_quantize_dynamic(ctx, &xt, &qp, &yt);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(yb, 0, sizeof w->y, w->y);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(sb, 0, 4, &w->scale);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(zb, 0, 4, &w->zp);
    w->st = st;
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    return NULL;
}

/* Each thread creates its own OpenCL context, all at once (POCL itself is not safe
 * under concurrent platform enumeration; the library serialises device choice). */
static void *create_and_work(void *arg) {
    worker *w = arg;
    clq_context_options o = env_options(CLQ_BACKEND_OPENCL);
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    w->st = clq_context_create(&o, &w->ctx);
    if (w->st == CLQ_SUCCESS) worker_main(w);
    return NULL;
}

Test(context, threads_creating_contexts) {
    static worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) w[i].seed = 1900 + (uint64_t)i;
    for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&th[i], NULL, create_and_work, &w[i]), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        if (w[i].st == CLQ_ERROR_NO_DEVICE && !w[i].ctx)
            tc_skip_or_fail_no_opencl(w[i].st, "clq_context_create(OPENCL) in a thread");
        cr_assert(w[i].st == CLQ_SUCCESS, "thread %d: %s: %s", i, clq_status_string(w[i].st),
                  w[i].ctx ? clq_context_error_message(w[i].ctx) : "");
    }
    for (int i = 0; i < 4; i++) {
        ref_view v = {1, {4099}, {1}, 0};
        ref_gran g = {CLQ_PER_TENSOR, 0, 0};
        float mn, mx, s;
        int32_t z, q[4099];
        ref_minmax(CLQ_F32, w[i].x, &v, &g, &mn, &mx);
        ref_qparams(mn, mx, CLQ_AFFINE, CLQ_U8, 0, &s, &z);
        ref_quantize(CLQ_F32, w[i].x, &v, &g, &s, &z, CLQ_U8, 0, CLQ_ROUND_HALF_EVEN, 0, q);
        for (int k = 0; k < 4099; k++)
            cr_assert_eq(w[i].y[k], q[k], "thread %d element %d: expected %d got %d", i, k, q[k], w[i].y[k]);
        clq_context_destroy(w[i].ctx);
    }
}

Test(context, threads_with_separate_contexts) {
    static worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        clq_context_options o = env_options(i < 2 ? CLQ_BACKEND_CPU : CLQ_BACKEND_AUTO);
        o.flags = CLQ_CONTEXT_IGNORE_ENV;
        w[i].ctx = tc_context_opts(&o);
        w[i].seed = 900 + (uint64_t)i;
    }
    for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        cr_assert(w[i].st == CLQ_SUCCESS, "thread %d (%s): %s: %s", i, clq_context_device_name(w[i].ctx),
                  clq_status_string(w[i].st), clq_context_error_message(w[i].ctx));
        ref_view v = {1, {4099}, {1}, 0};
        ref_gran g = {CLQ_PER_TENSOR, 0, 0};
        float mn, mx, s;
        int32_t z, q[4099];
        ref_minmax(CLQ_F32, w[i].x, &v, &g, &mn, &mx);
        ref_qparams(mn, mx, CLQ_AFFINE, CLQ_U8, 0, &s, &z);
        ref_quantize(CLQ_F32, w[i].x, &v, &g, &s, &z, CLQ_U8, 0, CLQ_ROUND_HALF_EVEN, 0, q);
        cr_assert(ref_f32_bits(s) == ref_f32_bits(w[i].scale) && z == w[i].zp,
                  "thread %d: scale %.9g zp %d, expected %.9g %d", i, w[i].scale, w[i].zp, s, z);
        for (int k = 0; k < 4099; k++)
            cr_assert_eq(w[i].y[k], q[k], "thread %d element %d: expected %d got %d", i, k, q[k], w[i].y[k]);
        clq_context_destroy(w[i].ctx);
    }
}
