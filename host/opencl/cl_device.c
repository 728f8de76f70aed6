/* cl_device.c: the OpenCL backend's device choice (options, CLQ_DEVICE), context
 * and queue, the ops table, buffers, and the enqueue helpers the op files share. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

const char *clq__cl_error_name(cl_int err) {
    switch (err) {
#define E(x) case x: return #x;
    E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_BUILD_PROGRAM_FAILURE) E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE)
    E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
    E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
    E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS)
    E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
    E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
    E(CL_INVALID_OPERATION) E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_GLOBAL_WORK_SIZE)
    E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}

void clq__cl_device_check(cl_device_id dev, char *why, size_t size) {
    cl_device_fp_config fp = 0;
    cl_bool avail = CL_FALSE, compiler = CL_FALSE;
    why[0] = 0;
    cl_int err = clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    if (err == CL_SUCCESS) err = clGetDeviceInfo(dev, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof compiler, &compiler, NULL);
    if (err != CL_SUCCESS)
        snprintf(why, size, "clGetDeviceInfo: %s", clq__cl_error_name(err));
    else if (!avail)
        snprintf(why, size, "device not available");
    else if (!compiler)
        snprintf(why, size, "no OpenCL compiler for the device");
    else if (!(fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT))
        snprintf(why, size,
                 "no CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT in CL_DEVICE_SINGLE_FP_CONFIG "
                 "(quantize needs a correctly rounded division)");
}

static void info_str(cl_int (*fn)(void *, cl_uint, size_t, void *, size_t *), void *obj,
                     cl_uint what, char *out, size_t size) {
    out[0] = 0;
    if (fn(obj, what, size, out, NULL) != CL_SUCCESS) out[0] = 0;
    out[size - 1] = 0;
}
static cl_int plat_info(void *o, cl_uint w, size_t s, void *v, size_t *r) {
    return clGetPlatformInfo((cl_platform_id)o, w, s, v, r);
}
static cl_int dev_info(void *o, cl_uint w, size_t s, void *v, size_t *r) {
    return clGetDeviceInfo((cl_device_id)o, w, s, v, r);
}

clq_status clq__cl_finish_init(clq_context *ctx, char *reason, size_t reason_size) {
    clq_cl_impl *impl = clq_cl(ctx);
    info_str(plat_info, impl->platform, CL_PLATFORM_NAME, impl->platform_name,
             sizeof impl->platform_name);
    info_str(dev_info, impl->device, CL_DEVICE_NAME, impl->dev_name, sizeof impl->dev_name);
    info_str(dev_info, impl->device, CL_DRIVER_VERSION, impl->driver_version,
             sizeof impl->driver_version);
    info_str(dev_info, impl->device, CL_DEVICE_VERSION, impl->device_version,
             sizeof impl->device_version);
    char why[400];
    clq__cl_device_check(impl->device, why, sizeof why);
    if (why[0]) {
        snprintf(reason, reason_size, "%s / %s: %s", impl->platform_name, impl->dev_name, why);
        return CLQ_ERROR_NO_DEVICE;
    }
    if (clq__cl_choose_tuning(impl, why, sizeof why)) {
        snprintf(reason, reason_size, "%s / %s: %s", impl->platform_name, impl->dev_name, why);
        return CLQ_ERROR_NO_DEVICE;
    }
    snprintf(ctx->device_name, sizeof ctx->device_name, "%.127s / %.120s", impl->platform_name,
             impl->dev_name);
    ctx->ops = &clq__cl_ops;
    return CLQ_SUCCESS;
}

void clq__cl_impl_free(clq_cl_impl *impl) {
    if (!impl) return;
    for (int i = 0; i < impl->nkernels; i++) clReleaseKernel(impl->kernels[i].kernel);
    for (int i = 0; i < CLQ_CL_MAX_PROGRAMS; i++)
        if (impl->programs[i]) clReleaseProgram(impl->programs[i]);
    if (impl->queue) clReleaseCommandQueue(impl->queue);
    if (impl->context) clReleaseContext(impl->context);
    free(impl);
}

static void cl_destroy(clq_context *ctx) {
    clq_cl_impl *impl = clq_cl(ctx);
    if (impl && impl->queue) clFinish(impl->queue);
    clq__cl_impl_free(impl);
    ctx->impl = NULL;
}

/* Parses "P" or "P:D" (digits only); returns 0 when s is a name instead. */
static int parse_index(const char *s, int *p, int *d) {
    char *end;
    if (*s < '0' || *s > '9') return 0;
    long a = strtol(s, &end, 10), b = -1;
    if (*end == ':') {
        const char *t = end + 1;
        if (*t < '0' || *t > '9') return 0;
        b = strtol(t, &end, 10);
    }
    if (*end || a > 65535 || b > 65535) return 0;
    *p = (int)a;
    *d = (int)b;
    return 1;
}

static clq_status opencl_init_locked(clq_context *ctx, const clq_context_options *opts, char *reason,
                                     size_t reason_size) {
    int want_p = opts->platform_index, want_d = opts->device_index;
    const char *want_name = opts->device_name;
    const char *env = clq__getenv(opts->flags, "CLQ_DEVICE");
    /* Says where the selection came from, so a bad one is easy to trace. */
    char src[160] = "";
    if (env && *env) snprintf(src, sizeof src, "CLQ_DEVICE=\"%.128s\": ", env);
    else if (want_name) snprintf(src, sizeof src, "options->device_name \"%.100s\": ", want_name);
    else if (want_p >= 0 || want_d >= 0)
        snprintf(src, sizeof src, "options->platform_index %d, device_index %d: ", want_p, want_d);
    if (env && *env) {
        int p, d;
        if (parse_index(env, &p, &d)) {
            want_p = p;
            want_d = d;
            want_name = NULL;
        } else {
            want_p = want_d = -1;
            want_name = env;
        }
    }
    cl_platform_id plats[16];
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(16, plats, &np);
    if (err != CL_SUCCESS || np == 0) {
        snprintf(reason, reason_size, "no OpenCL platform (clGetPlatformIDs: %s)",
                 err == CL_SUCCESS ? "0 platforms" : clq__cl_error_name(err));
        return CLQ_ERROR_NO_DEVICE;
    }
    if (np > 16) np = 16;
    if (want_p >= (int)np) {
        snprintf(reason, reason_size, "%splatform index %d out of range (%u platforms)", src,
                 want_p, np);
        return CLQ_ERROR_NO_DEVICE;
    }
    char last_why[720] = ""; /* "platform / device: why" fits whole */
    int matched = 0;
    /* device_index without platform_index counts the devices of all platforms in order */
    int global_d = want_p < 0 ? want_d : -1;
    cl_uint seen = 0; /* devices of the platforms so far */
    for (cl_uint pi = 0; pi < np; pi++) {
        if (want_p >= 0 && (int)pi != want_p) continue;
        cl_device_id devs[32];
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[pi], CL_DEVICE_TYPE_ALL, 32, devs, &nd);
        if (err != CL_SUCCESS || nd == 0) {
            snprintf(last_why, sizeof last_why, "platform %u has no device (clGetDeviceIDs: %s)",
                     pi, err == CL_SUCCESS ? "0 devices" : clq__cl_error_name(err));
            continue;
        }
        if (nd > 32) nd = 32;
        cl_uint first = seen;
        seen += nd;
        if (global_d >= 0 && (global_d < (int)first || global_d >= (int)seen)) continue;
        if (want_p >= 0 && want_d >= (int)nd) {
            snprintf(reason, reason_size, "%sdevice index %d out of range (platform %u has %u)",
                     src, want_d, pi, nd);
            return CLQ_ERROR_NO_DEVICE;
        }
        char pname[128];
        info_str(plat_info, plats[pi], CL_PLATFORM_NAME, pname, sizeof pname);
        for (cl_uint di = 0; di < nd; di++) {
            if (want_p >= 0 && want_d >= 0 && (int)di != want_d) continue;
            if (global_d >= 0 && (int)(first + di) != global_d) continue;
            char dname[128], full[260], why[256];
            info_str(dev_info, devs[di], CL_DEVICE_NAME, dname, sizeof dname);
            snprintf(full, sizeof full, "%s %s", pname, dname);
            if (want_name && !clq__cl_contains_ci(full, want_name)) continue;
            matched = 1;
            clq__cl_device_check(devs[di], why, sizeof why);
            if (why[0]) {
                snprintf(last_why, sizeof last_why, "%s / %s: %s", pname, dname, why);
                continue;
            }
            clq_cl_impl *impl = calloc(1, sizeof *impl);
            if (!impl) {
                snprintf(reason, reason_size, "out of host memory");
                return CLQ_ERROR_OUT_OF_MEMORY;
            }
            impl->platform = plats[pi];
            impl->device = devs[di];
            cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                             (cl_context_properties)plats[pi], 0};
            impl->context = clCreateContext(props, 1, &devs[di], NULL, NULL, &err);
            if (err == CL_SUCCESS)
                impl->queue = clCreateCommandQueue(impl->context, devs[di], 0, &err);
            if (err != CL_SUCCESS) {
                snprintf(last_why, sizeof last_why, "%s / %s: context or queue creation: %s",
                         pname, dname, clq__cl_error_name(err));
                clq__cl_impl_free(impl);
                continue;
            }
            ctx->impl = impl;
            clq_status st = clq__cl_finish_init(ctx, last_why, sizeof last_why);
            if (st == CLQ_SUCCESS) return st;
            ctx->impl = NULL;
            clq__cl_impl_free(impl);
        }
    }
    if (global_d >= 0 && global_d >= (int)seen)
        snprintf(reason, reason_size,
                 "%sdevice_index %d out of range (%u devices on %u platforms, counted in order)",
                 src, global_d, seen, np);
    else if (want_name && !matched)
        snprintf(reason, reason_size, "%sno OpenCL device matches \"%s\"", src, want_name);
    else if (last_why[0])
        snprintf(reason, reason_size, "%s%s", src, last_why);
    else
        snprintf(reason, reason_size, "%sno usable OpenCL device", src);
    return CLQ_ERROR_NO_DEVICE;
}

/* ---- buffers ---------------------------------------------------------- */

static clq_status cl_buffer_create(clq_context *ctx, clq_buffer *buf, size_t bytes) {
    cl_int err;
    cl_mem m = clCreateBuffer(clq_cl(ctx)->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL,
                              &err);
    if (err != CL_SUCCESS)
        return clq__error(ctx,
                          err == CL_INVALID_BUFFER_SIZE || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                                  err == CL_OUT_OF_RESOURCES || err == CL_OUT_OF_HOST_MEMORY
                              ? CLQ_ERROR_OUT_OF_MEMORY
                              : CLQ_ERROR_OPENCL,
                          "clCreateBuffer(%zu bytes): %s", bytes, clq__cl_error_name(err));
    buf->handle = m;
    return CLQ_SUCCESS;
}

static clq_status cl_buffer_wrap_host(clq_context *ctx, clq_buffer *buf, void *ptr, size_t bytes) {
    cl_int err;
    cl_mem m = clCreateBuffer(clq_cl(ctx)->context, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes,
                              ptr, &err);
    if (err != CL_SUCCESS)
        return clq__error(ctx, CLQ_ERROR_OPENCL, "clCreateBuffer(CL_MEM_USE_HOST_PTR, %zu bytes): %s",
                          bytes, clq__cl_error_name(err));
    buf->handle = m;
    return CLQ_SUCCESS;
}

/* The caller may free or reuse its host memory as soon as destroy returns (the
 * clquant.h rule), but releasing a cl_mem only drops a reference: kernels still
 * queued on it would run on freed memory. So a buffer on the caller's host memory
 * waits for the queue first. The library's own buffers need not: OpenCL keeps them
 * until the commands that use them are done. */
static void cl_buffer_destroy(clq_buffer *buf) {
    if (buf->handle && buf->uses_host) clFinish(clq_cl(buf->ctx)->queue);
    if (buf->handle) clReleaseMemObject((cl_mem)buf->handle);
    buf->handle = NULL;
}

static clq_status cl_buffer_write(clq_buffer *buf, size_t offset, size_t bytes, const void *src) {
    cl_int err = clEnqueueWriteBuffer(clq_cl(buf->ctx)->queue, (cl_mem)buf->handle, CL_TRUE, offset,
                                      bytes, src, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return clq__error(buf->ctx, CLQ_ERROR_OPENCL, "clEnqueueWriteBuffer: %s",
                          clq__cl_error_name(err));
    return CLQ_SUCCESS;
}

static clq_status cl_buffer_read(clq_buffer *buf, size_t offset, size_t bytes, void *dst) {
    cl_int err = clEnqueueReadBuffer(clq_cl(buf->ctx)->queue, (cl_mem)buf->handle, CL_TRUE, offset,
                                     bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return clq__error(buf->ctx, CLQ_ERROR_OPENCL, "clEnqueueReadBuffer: %s",
                          clq__cl_error_name(err));
    return CLQ_SUCCESS;
}

static clq_status cl_finish(clq_context *ctx) {
    cl_int err = clFinish(clq_cl(ctx)->queue);
    if (err != CL_SUCCESS)
        return clq__error(ctx, CLQ_ERROR_OPENCL, "clFinish: %s", clq__cl_error_name(err));
    return CLQ_SUCCESS;
}

/* ---- enqueue helpers -------------------------------------------------- */

clq_status clq__cl_span(clq_context *ctx, clq_span s, size_t elem, const char *what, cl_mem *mem,
                        cl_ulong *off) {
    if (s.offset % elem)
        return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                          "%s: byte offset %zu is not a multiple of the element size %zu", what,
                          s.offset, elem);
    *mem = (cl_mem)s.buf->handle;
    *off = s.offset / elem;
    return CLQ_SUCCESS;
}

clq_status clq__cl_run_local(clq_context *ctx, clq_pass pass, cl_kernel k, const char *what,
                             const clq_cl_arg *args, int nargs, cl_uint dims, const size_t *global,
                             const size_t *local) {
    /* A kernel may allow fewer work items per group than the device (registers,
     * local memory): a tuning row whose group is too large fails here, by name, in
     * the prepare pass before anything is written (and in a launch that has no
     * prepare pass, gemm_pack's), not as CL_INVALID_WORK_GROUP_SIZE. */
    if (local) {
        size_t want = 1, max = 0;
        for (cl_uint d = 0; d < dims; d++) want *= local[d];
        cl_int err = clGetKernelWorkGroupInfo(k, clq_cl(ctx)->device, CL_KERNEL_WORK_GROUP_SIZE,
                                              sizeof max, &max, NULL);
        if (err == CL_SUCCESS && want > max)
            return clq__error(ctx, CLQ_ERROR_UNSUPPORTED,
                              "%s: the tuning's work group of %zu work items is above this "
                              "kernel's CL_KERNEL_WORK_GROUP_SIZE %zu on this device",
                              what, want, max);
    }
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS;
    for (int i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return clq__error(ctx, CLQ_ERROR_INTERNAL, "%s: clSetKernelArg(%d): %s", what, i,
                              clq__cl_error_name(err));
    }
    size_t g[3];
    for (cl_uint d = 0; d < dims; d++) {
        if (global[d] == 0) return CLQ_SUCCESS;
        /* Rounded up to the work-group size; kernels ignore the extra ids. */
        g[d] = local ? clq__cl_div_up(global[d], local[d]) * local[d] : global[d];
    }
    cl_int err = clEnqueueNDRangeKernel(clq_cl(ctx)->queue, k, dims, NULL, g, local, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return clq__error(ctx,
                          err == CL_OUT_OF_RESOURCES || err == CL_MEM_OBJECT_ALLOCATION_FAILURE ||
                                  err == CL_OUT_OF_HOST_MEMORY
                              ? CLQ_ERROR_OUT_OF_MEMORY
                              : CLQ_ERROR_OPENCL,
                          "%s: clEnqueueNDRangeKernel: %s", what, clq__cl_error_name(err));
    return CLQ_SUCCESS;
}

clq_status clq__cl_run(clq_context *ctx, clq_pass pass, cl_kernel k, const char *what,
                       const clq_cl_arg *args, int nargs, cl_uint dims, const size_t *global) {
    size_t ls = clq_cl(ctx)->tuning.local_size;
    size_t l[3] = {ls, 1, 1};
    return clq__cl_run_local(ctx, pass, k, what, args, nargs, dims, global, ls ? l : NULL);
}

const clq_backend_ops clq__cl_ops = {
    .name = "opencl",
    .destroy = cl_destroy,
    .buffer_create = cl_buffer_create,
    .buffer_wrap_host = cl_buffer_wrap_host,
    .buffer_destroy = cl_buffer_destroy,
    .buffer_write = cl_buffer_write,
    .buffer_read = cl_buffer_read,
    .finish = cl_finish,
    .copy_strided = clq__cl_copy_strided,
    .minmax = clq__cl_minmax,
    .qparams = clq__cl_qparams,
    .quantize = clq__cl_quantize,
    .dequantize = clq__cl_dequantize,
    .gemm_pack = clq__cl_gemm_pack,
    .gemm_unpack = clq__cl_gemm_unpack,
    .rowsums = clq__cl_rowsums,
    .gemm = clq__cl_gemm,
    .histogram = clq__cl_histogram,
    .error_stats = clq__cl_error_stats,
    .ggml_quantize = clq__cl_ggml_quantize,
    .ggml_dequantize = clq__cl_ggml_dequantize,
};

/* POCL 3.1 crashes when several threads enumerate platforms and create contexts at
 * once (a plain OpenCL program shows the same), so device choice is serialised
 * process-wide. The mutex guards the driver, not library state. */
static pthread_mutex_t clq_cl_init_lock = PTHREAD_MUTEX_INITIALIZER;

clq_status clq__opencl_init(clq_context *ctx, const clq_context_options *opts, char *reason,
                            size_t reason_size) {
    pthread_mutex_lock(&clq_cl_init_lock);
    clq_status st = opencl_init_locked(ctx, opts, reason, reason_size);
    pthread_mutex_unlock(&clq_cl_init_lock);
    return st;
}
