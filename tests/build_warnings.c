/* build_warnings.c: builds every kernel program on this machine's OpenCL device the
 * way host/opencl/cl_program.c does (clq__cl_program_sources: the prelude,
 * kernels/common.cl, then kernels/<name>.cl and its parts, with the options
 * clq__cl_choose_tuning picked for the device), once as the host builds
 * by default and once with CLQ_GEMM_PORTABLE=1, and fails if a build writes anything
 * to the build log or to stderr (POCL prints "N warnings generated." there, into
 * the user's terminal). POCL's own kernel cache is turned off (POCL_KERNEL_CACHE=0):
 * a cached program is not compiled and would print nothing.
 *
 * Exit: 0 clean, 1 a warning, an error or output, 77 no OpenCL device (a failure
 * with CLQ_TEST_REQUIRE_OPENCL=1). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cl_internal.h"
#include "cl_tool.h"
#include "clq_kernels.h"

/* The text written to fd 2 while stderr went to the file f (read back from its start). */
static char *read_all(FILE *f) {
    long n = ftell(f);
    char *s = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (!s) return NULL;
    rewind(f);
    size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    s[got] = 0;
    return s;
}

static int blank(const char *s) {
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Builds program `name` in the context's device; 0 when the build succeeded and
 * printed nothing. */
static int build_one(clq_cl_impl *impl, const char *name, const char *variant) {
    const char *srcs[CLQ_CL_PROGRAM_PARTS];
    size_t lens[CLQ_CL_PROGRAM_PARTS];
    int nsrc = clq__cl_program_sources(name, srcs, lens);
    if (!nsrc) {
        printf("build_warnings: %s: not embedded\n", name);
        return 1;
    }
    cl_int err;
    cl_program prog = clCreateProgramWithSource(impl->context, (cl_uint)nsrc, srcs, lens, &err);
    if (err != CL_SUCCESS) {
        printf("build_warnings: %s %s: clCreateProgramWithSource: %s\n", name, variant,
               clq__cl_error_name(err));
        return 1;
    }
    /* stderr into a temporary file for the build (the driver writes to fd 2) */
    fflush(stderr);
    FILE *cap = tmpfile();
    int saved = dup(2);
    if (!cap || saved < 0 || dup2(fileno(cap), 2) < 0) {
        printf("build_warnings: cannot capture stderr\n");
        return 1;
    }
    double t0 = now();
    err = clBuildProgram(prog, 1, &impl->device, impl->options, NULL, NULL);
    double dt = now() - t0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *printed = read_all(cap);
    fclose(cap);
    size_t n = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, impl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) ==
            CL_SUCCESS &&
        (log = calloc(n + 1, 1)) != NULL &&
        clGetProgramBuildInfo(prog, impl->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS)
        log[0] = 0;
    clReleaseProgram(prog);
    int bad = err != CL_SUCCESS || !blank(log) || !blank(printed);
    printf("build_warnings: %-10s %-9s %s (%.1f s)\n", name, variant,
           err != CL_SUCCESS ? clq__cl_error_name(err) : bad ? "WARNINGS" : "clean", dt);
    if (!blank(log)) printf("--- build log of %s:\n%s\n---\n", name, log);
    if (!blank(printed)) printf("--- printed on stderr while building %s:\n%s\n---\n", name, printed);
    free(log);
    free(printed);
    return bad;
}

int main(void) {
    setenv("POCL_KERNEL_CACHE", "0", 1);
    int bad = 0;
    for (int portable = 0; portable < 2; portable++) {
        setenv("CLQ_GEMM_PORTABLE", portable ? "1" : "0", 1);
        clq_context *ctx;
        int rc = clq_tool_opencl_context("build_warnings", &ctx);
        if (rc) return rc;
        clq_cl_impl *impl = clq_cl(ctx);
        if (!portable)
            printf("build_warnings: %s, options: %s\n", clq_context_device_name(ctx), impl->options);
        for (size_t i = 0; i < clq_kernel_source_count; i++) {
            const char *name = clq_kernel_sources[i].name;
            if (clq__cl_is_program(name)) /* not common.cl nor a program's part */
                bad |= build_one(impl, name, portable ? "portable" : "default");
        }
        clq_context_destroy(ctx);
    }
    printf("build_warnings: %s\n", bad ? "FAILED" : "every program built without a warning");
    return bad;
}
