/* devices.c: --device SPEC into clquant contexts, and `clquant devices`: every OpenCL
 * platform and device, whether clquant can use it, and what CLQ_BACKEND_AUTO picks. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

enum { MAX_PLATFORMS = 16, MAX_DEVICES = 32 };

/* Options for one context: the environment's cache dir kept, CLQ_BACKEND / CLQ_DEVICE
 * not read (the spec is the command line's). */
static void base_options(clq_context_options *o, char *err, size_t err_size)
{
    clq_context_options_init(o);
    const char *cache = getenv("CLQ_CACHE_DIR");
    if (cache && *cache) o->cache_dir = cache;
    o->flags = CLQ_CONTEXT_IGNORE_ENV;
    o->error_buffer = err;
    o->error_buffer_size = err_size;
}

/* "P" or "P:D", digits only, as CLQ_DEVICE reads them; 0 when s is a name. */
static int parse_index(const char *s, int *p, int *d)
{
    char *end;
    if (*s < '0' || *s > '9') return 0;
    long a = strtol(s, &end, 10), b = -1;
    if (*end == ':') {
        if (end[1] < '0' || end[1] > '9') return 0;
        b = strtol(end + 1, &end, 10);
    }
    if (*end || a > 65535 || b > 65535) return 0;
    *p = (int)a;
    *d = (int)b;
    return 1;
}

static size_t count_devices(cl_uint *per_platform, cl_uint *np)
{
    cl_platform_id plats[MAX_PLATFORMS];
    size_t total = 0;
    *np = 0;
    if (clGetPlatformIDs(MAX_PLATFORMS, plats, np) != CL_SUCCESS) *np = 0;
    if (*np > MAX_PLATFORMS) *np = MAX_PLATFORMS;
    for (cl_uint p = 0; p < *np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS) nd = 0;
        per_platform[p] = nd > MAX_DEVICES ? MAX_DEVICES : nd;
        total += per_platform[p];
    }
    return total;
}

int cq_devices_open(const char *spec, clq_context ***out, size_t *count, char *err, size_t err_size)
{
    *out = NULL;
    *count = 0;
    cl_uint per[MAX_PLATFORMS] = {0}, np = 0;
    size_t n = 1;
    int all = spec && !strcmp(spec, "all");
    if (all && (n = count_devices(per, &np)) == 0) {
        snprintf(err, err_size, "--device all: no OpenCL device");
        return -1;
    }
    clq_context **ctxs = calloc(n, sizeof *ctxs);
    if (!ctxs) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    size_t made = 0;
    for (cl_uint p = 0; made < n; p++)
        for (cl_uint d = 0; made < n && (!all || d < per[p]); d++) {
            clq_context_options o;
            char why[512] = "";
            base_options(&o, why, sizeof why);
            if (!spec || !strcmp(spec, "auto")) {
                o.backend = CLQ_BACKEND_AUTO;
            } else if (!strcmp(spec, "cpu")) {
                o.backend = CLQ_BACKEND_CPU;
            } else {
                o.backend = CLQ_BACKEND_OPENCL;
                o.flags |= CLQ_CONTEXT_NO_FALLBACK;
                if (all) {
                    o.platform_index = (int)p;
                    o.device_index = (int)d;
                } else if (!parse_index(spec, &o.platform_index, &o.device_index)) {
                    o.device_name = spec;
                }
            }
            clq_status st = clq_context_create(&o, &ctxs[made]);
            if (st != CLQ_SUCCESS) {
                snprintf(err, err_size, "--device %s: %s%s%s", spec ? spec : "auto",
                         clq_status_string(st), why[0] ? ": " : "", why);
                cq_devices_close(ctxs, made);
                return -1;
            }
            made++;
        }
    *out = ctxs;
    *count = made;
    return 0;
}

void cq_devices_close(clq_context **ctxs, size_t count)
{
    for (size_t i = 0; i < count; i++) clq_context_destroy(ctxs[i]);
    free(ctxs);
}

static void info_str(cl_device_id d, cl_device_info what, char *buf, size_t size)
{
    buf[0] = 0;
    if (clGetDeviceInfo(d, what, size, buf, NULL) != CL_SUCCESS) snprintf(buf, size, "?");
    buf[size - 1] = 0;
}

int cq_cmd_devices(int argc, char **argv)
{
    if (argc > 1) {
        int help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");
        fprintf(help ? stdout : stderr,
                "usage: clquant devices\n  lists OpenCL platforms and devices, whether clquant "
                "can use each, and what --device auto picks (CLQ_BACKEND / CLQ_DEVICE apply)\n");
        return help ? 0 : 2;
    }
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    cl_int e = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (e != CL_SUCCESS || np == 0) printf("no OpenCL platform (clGetPlatformIDs: %d)\n", (int)e);
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    for (cl_uint p = 0; p < np; p++) {
        char pname[256] = "?";
        clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof pname, pname, NULL);
        pname[sizeof pname - 1] = 0;
        printf("platform %u: %s\n", p, pname);
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd) != CL_SUCCESS) nd = 0;
        if (nd > MAX_DEVICES) nd = MAX_DEVICES;
        for (cl_uint d = 0; d < nd; d++) {
            char name[256], version[256], why[512] = "";
            cl_ulong mem = 0;
            cl_uint cus = 0;
            info_str(devs[d], CL_DEVICE_NAME, name, sizeof name);
            info_str(devs[d], CL_DEVICE_VERSION, version, sizeof version);
            clGetDeviceInfo(devs[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
            clGetDeviceInfo(devs[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
            clq_context_options o;
            base_options(&o, why, sizeof why);
            o.backend = CLQ_BACKEND_OPENCL;
            o.flags |= CLQ_CONTEXT_NO_FALLBACK;
            o.platform_index = (int)p;
            o.device_index = (int)d;
            clq_context *ctx = NULL;
            clq_status st = clq_context_create(&o, &ctx);
            printf("  device %u:%u: %s (%s, %u compute units, %.1f GB): %s%s%s\n", p, d, name,
                   version, cus, mem / 1e9, st == CLQ_SUCCESS ? "usable" : "not usable",
                   st == CLQ_SUCCESS ? "" : ": ", st == CLQ_SUCCESS ? "" : why);
            clq_context_destroy(ctx);
        }
    }
    /* AUTO as a caller of the library gets it: the environment applies. */
    clq_context_options o;
    char why[512] = "";
    clq_context_options_init(&o);
    o.error_buffer = why;
    o.error_buffer_size = sizeof why;
    clq_context *ctx = NULL;
    clq_status st = clq_context_create(&o, &ctx);
    const char *env_b = getenv("CLQ_BACKEND"), *env_d = getenv("CLQ_DEVICE");
    if (st != CLQ_SUCCESS) {
        printf("auto: no context: %s: %s\n", clq_status_string(st), why);
        return 1;
    }
    const char *fb = clq_context_fallback_reason(ctx);
    printf("auto: %s (%s%s)\n", clq_context_device_name(ctx),
           fb[0] ? "no usable OpenCL device, so the CPU path: " : "",
           fb[0] ? fb
           : env_b && *env_b ? "CLQ_BACKEND is set"
           : env_d && *env_d ? "CLQ_DEVICE is set"
           : clq_context_backend(ctx) == CLQ_BACKEND_OPENCL ? "the first usable OpenCL device"
                                                            : "the CPU path");
    clq_context_destroy(ctx);
    return 0;
}

int cq_devices_open_or_say(const char *cmd, const char *spec, clq_context ***out, size_t *count)
{
    char why[640];
    if (!cq_devices_open(spec, out, count, why, sizeof why)) return 0;
    fprintf(stderr, "clquant %s: %s\n", cmd, why);
    return -1;
}
