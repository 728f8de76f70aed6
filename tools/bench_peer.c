/* bench_peer.c: the copy each op is measured against, in the same run: memcpy
 * over the library's thread count on the CPU path, a uint4 copy kernel on the
 * context's own OpenCL queue (built through the interop) otherwise. */
#include "bench.h"

#include <clquant/clquant_cl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bench_peer {
    int opencl;
    char desc[256];
    /* CPU path */
    unsigned char *src, *dst;
    int threads;
    /* OpenCL */
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernel;
};

static const char copy_source[] =
    "__kernel void bench_copy(__global const uint4 *src, __global uint4 *dst) {\n"
    "    size_t i = get_global_id(0);\n"
    "    dst[i] = src[i];\n"
    "}\n";

typedef struct copy_part {
    unsigned char *dst;
    const unsigned char *src;
    size_t bytes;
} copy_part;

static void *copy_thread(void *arg) {
    copy_part *p = arg;
    memcpy(p->dst, p->src, p->bytes);
    return NULL;
}

/* Splits the copy in 64-byte aligned parts, one per thread, the first on this thread. */
static void cpu_copy(bench_peer *p, size_t bytes) {
    enum { MAX_THREADS = 256 };
    pthread_t tid[MAX_THREADS];
    copy_part part[MAX_THREADS];
    int n = p->threads < MAX_THREADS ? p->threads : MAX_THREADS;
    size_t chunk = (bytes / (size_t)n + 63) & ~(size_t)63;
    int used = 0;
    for (int t = 0; t < n; t++) {
        size_t begin = (size_t)t * chunk;
        if (begin >= bytes) break;
        size_t len = bytes - begin < chunk ? bytes - begin : chunk;
        part[t] = (copy_part){p->dst + begin, p->src + begin, len};
        used = t + 1;
    }
    for (int t = 1; t < used; t++)
        if (pthread_create(&tid[t], NULL, copy_thread, &part[t]) != 0)
            bench_die("pthread_create failed for the memcpy peer");
    if (used > 0) copy_thread(&part[0]);
    for (int t = 1; t < used; t++) pthread_join(tid[t], NULL);
}

static void cl_fail(const char *what, cl_int err) {
    bench_die("%s failed for the copy-kernel peer: OpenCL error %d", what, (int)err);
}

static void cl_copy(bench_peer *p, size_t bytes) {
    size_t global = bytes / 16;
    if (global == 0) return;
    cl_int err = clEnqueueNDRangeKernel(p->queue, p->kernel, 1, NULL, &global, NULL, 0, NULL, NULL);
    if (err != CL_SUCCESS) cl_fail("clEnqueueNDRangeKernel", err);
    err = clFinish(p->queue);
    if (err != CL_SUCCESS) cl_fail("clFinish", err);
}

bench_peer *bench_peer_create(clq_context *ctx, clq_buffer *src, clq_buffer *dst,
                              size_t max_bytes, int threads) {
    bench_peer *p = calloc(1, sizeof *p);
    if (!p) bench_die("out of host memory for the peer copy");
    if (clq_context_backend(ctx) != CLQ_BACKEND_OPENCL) {
        p->threads = threads > 0 ? threads : 1;
        p->src = malloc(max_bytes ? max_bytes : 1);
        p->dst = malloc(max_bytes ? max_bytes : 1);
        if (!p->src || !p->dst)
            bench_die("cannot allocate 2 x %zu bytes for the memcpy peer", max_bytes);
        /* Distinct, touched pages: no zero-page tricks, no first-touch faults in the timing. */
        memset(p->src, 0x5a, max_bytes);
        memset(p->dst, 0, max_bytes);
        snprintf(p->desc, sizeof p->desc, "memcpy split over %d thread%s (the library's thread count)",
                 p->threads, p->threads == 1 ? "" : "s");
        return p;
    }
    cl_context clctx;
    cl_device_id dev;
    cl_mem msrc, mdst;
    cl_int err;
    bench_check(ctx, clq_context_get_cl(ctx, &clctx, &p->queue, &dev), "clq_context_get_cl");
    bench_check(ctx, clq_buffer_get_cl(src, &msrc), "clq_buffer_get_cl(src)");
    bench_check(ctx, clq_buffer_get_cl(dst, &mdst), "clq_buffer_get_cl(dst)");
    const char *text = copy_source;
    size_t len = sizeof copy_source - 1;
    p->opencl = 1;
    p->program = clCreateProgramWithSource(clctx, 1, &text, &len, &err);
    if (err != CL_SUCCESS) cl_fail("clCreateProgramWithSource", err);
    err = clBuildProgram(p->program, 1, &dev, "", NULL, NULL);
    if (err != CL_SUCCESS) cl_fail("clBuildProgram", err);
    p->kernel = clCreateKernel(p->program, "bench_copy", &err);
    if (err != CL_SUCCESS) cl_fail("clCreateKernel", err);
    err = clSetKernelArg(p->kernel, 0, sizeof msrc, &msrc);
    if (err == CL_SUCCESS) err = clSetKernelArg(p->kernel, 1, sizeof mdst, &mdst);
    if (err != CL_SUCCESS) cl_fail("clSetKernelArg", err);
    snprintf(p->desc, sizeof p->desc,
             "uint4 copy kernel on the context's cl_command_queue (built through clq_context_get_cl), "
             "wall time around clFinish");
    return p;
}

const char *bench_peer_describe(const bench_peer *p) { return p->desc; }

double bench_peer_once(bench_peer *p, size_t bytes) {
    bytes &= ~(size_t)15;
    double t0 = bench_now();
    if (p->opencl) cl_copy(p, bytes);
    else cpu_copy(p, bytes);
    return bench_now() - t0;
}

void bench_peer_destroy(bench_peer *p) {
    if (!p) return;
    if (p->kernel) clReleaseKernel(p->kernel);
    if (p->program) clReleaseProgram(p->program);
    free(p->src);
    free(p->dst);
    free(p);
}
