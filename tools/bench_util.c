/* bench_util.c: clquant-bench's clock, median, fatal-error reporting, buffer upload,
 * random numbers and the OpenCL device limits it reads through the public interop. */
#include "bench.h"

#include <clquant/clquant_cl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return (n & 1) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

const char *bench_loadavg(char *buf, size_t size) {
    FILE *f = fopen("/proc/loadavg", "r");
    double one = 0.0;
    if (!f || fscanf(f, "%lf", &one) != 1) snprintf(buf, size, "?");
    else snprintf(buf, size, "%.2f", one);
    if (f) fclose(f);
    return buf;
}

void bench_die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("clquant-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void bench_check(const clq_context *ctx, clq_status st, const char *what) {
    if (st == CLQ_SUCCESS) return;
    const char *msg = ctx ? clq_context_error_message(ctx) : "";
    const char *log = ctx ? clq_context_build_log(ctx) : "";
    if (st == CLQ_ERROR_BUILD_FAILED && log[0])
        bench_die("%s failed: %s: %s\nbuild log:\n%s", what, clq_status_string(st),
                  msg[0] ? msg : "(no message)", log);
    bench_die("%s failed: %s: %s", what, clq_status_string(st), msg[0] ? msg : "(no message)");
}

clq_context *bench_context_create(clq_backend backend) {
    char why[1024] = "";
    clq_context_options opt;
    clq_context *ctx = NULL;
    clq_context_options_init(&opt);
    opt.backend = backend;
    opt.error_buffer = why;
    opt.error_buffer_size = sizeof why;
    clq_status st = clq_context_create(&opt, &ctx);
    if (st != CLQ_SUCCESS)
        bench_die("clq_context_create failed: %s: %s", clq_status_string(st), why[0] ? why : "(no message)");
    return ctx;
}

int bench_cl_limits(const clq_context *ctx, unsigned long long *max_alloc,
                    unsigned long long *global_mem) {
    cl_context clctx;
    cl_command_queue queue;
    cl_device_id dev;
    if (clq_context_backend(ctx) != CLQ_BACKEND_OPENCL) return 0;
    bench_check(ctx, clq_context_get_cl(ctx, &clctx, &queue, &dev), "clq_context_get_cl");
    cl_ulong a = 0, g = 0;
    cl_int err = clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof a, &a, NULL);
    if (err == CL_SUCCESS) err = clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof g, &g, NULL);
    if (err != CL_SUCCESS) bench_die("clGetDeviceInfo(memory sizes) failed: OpenCL error %d", (int)err);
    *max_alloc = a;
    *global_mem = g;
    return 1;
}

clq_buffer *bench_upload(clq_context *ctx, const void *host, size_t bytes, const char *what) {
    clq_buffer *b = NULL;
    clq_status st = clq_buffer_create(ctx, bytes ? bytes : 1, &b);
    if (st != CLQ_SUCCESS)
        bench_die("clq_buffer_create(%s, %zu bytes) failed: %s: %s", what, bytes, clq_status_string(st),
                  clq_context_error_message(ctx));
    if (host && bytes) bench_check(ctx, clq_buffer_write(b, 0, bytes, host), what);
    return b;
}

uint32_t bench_random(uint32_t *s) {
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}
