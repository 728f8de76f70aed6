/* cl_program.c: lazy per-context program builds from the embedded kernels/<name>.cl
 * (common.cl first), the on-disk program binary cache, and kernel lookup. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cl_internal.h"
#include "clq_kernels.h"

#define CACHE_MAGIC "CLQPROG\0"
#define CACHE_FORMAT 1u

/* The cache file header; the payload (the program binary) follows. */
typedef struct cache_header {
    char magic[8];
    uint32_t format;
    uint32_t header_size;
    uint64_t key[2];
    uint64_t payload_len;
    uint64_t payload_sum;
} cache_header;

/* Two independent 64-bit hashes make a 128-bit key, so a collision that would
 * load the wrong program is out of practical reach. */
typedef struct hash128 {
    uint64_t a, b;
} hash128;

static void hash_bytes(hash128 *h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ s[i]) * 0x100000001b3ull;
        h->b = (h->b ^ s[i]) * 0x9E3779B97F4A7C15ull;
        h->b ^= h->b >> 29;
    }
}
/* Length-prefixed, so ("ab","c") and ("a","bc") differ. */
static void hash_field(hash128 *h, const void *p, size_t n) {
    uint64_t len = n;
    hash_bytes(h, &len, sizeof len);
    hash_bytes(h, p, n);
}
static hash128 hash_init(void) { return (hash128){0xcbf29ce484222325ull, 0x84222325cbf29ce4ull}; }

static uint64_t checksum(const void *p, size_t n) {
    hash128 h = hash_init();
    hash_bytes(&h, p, n);
    return h.a ^ (h.b * 31);
}

static const clq_kernel_source *find_source(const char *name) {
    for (size_t i = 0; i < clq_kernel_source_count; i++)
        if (clq_kernel_sources[i].name && !strcmp(clq_kernel_sources[i].name, name))
            return &clq_kernel_sources[i];
    return NULL;
}

/* mkdir -p; errors are left to the file operations that follow. */
static void make_dirs(const char *dir) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, 0755);
        *p = '/';
    }
    mkdir(tmp, 0755);
}

static int cache_path(const clq_context *ctx, hash128 key, char *out, size_t size) {
    int n = snprintf(out, size, "%s/%016llx%016llx.bin", ctx->cache_dir, (unsigned long long)key.a,
                     (unsigned long long)key.b);
    return n > 0 && (size_t)n < size;
}

/* A built program from the cache, or NULL. *rejected is set when a file was there
 * but unusable (stale, corrupt, or refused by the runtime). */
static cl_program cache_load(clq_context *ctx, hash128 key, int *rejected) {
    clq_cl_impl *impl = clq_cl(ctx);
    char path[1200];
    *rejected = 0;
    if (!ctx->cache_dir[0] || !cache_path(ctx, key, path, sizeof path)) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    *rejected = 1;
    cl_program prog = NULL;
    unsigned char *payload = NULL;
    cache_header h;
    if (fread(&h, sizeof h, 1, f) != 1) goto done;
    if (memcmp(h.magic, CACHE_MAGIC, 8) || h.format != CACHE_FORMAT ||
        h.header_size != sizeof h || h.key[0] != key.a || h.key[1] != key.b ||
        h.payload_len == 0 || h.payload_len > ((uint64_t)1 << 31))
        goto done;
    payload = malloc((size_t)h.payload_len);
    if (!payload || fread(payload, 1, (size_t)h.payload_len, f) != h.payload_len) goto done;
    if (fgetc(f) != EOF) goto done; /* trailing bytes: not a file we wrote */
    if (checksum(payload, (size_t)h.payload_len) != h.payload_sum) goto done;
    size_t len = (size_t)h.payload_len;
    const unsigned char *bins[1] = {payload};
    cl_int bstatus = CL_SUCCESS, err;
    prog = clCreateProgramWithBinary(impl->context, 1, &impl->device, &len, bins, &bstatus, &err);
    if (err != CL_SUCCESS || bstatus != CL_SUCCESS) {
        if (prog) clReleaseProgram(prog);
        prog = NULL;
        goto done;
    }
    if (clBuildProgram(prog, 1, &impl->device, impl->options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        prog = NULL;
        goto done;
    }
    *rejected = 0;
done:
    free(payload);
    fclose(f);
    return prog;
}

/* Writes the program's binary to the cache: a unique temporary file in the same
 * directory, then rename(), so readers never see a partial file. Silent on failure. */
static void cache_store(clq_context *ctx, cl_program prog, hash128 key) {
    char path[1200], tmp[1300];
    if (!ctx->cache_dir[0] || !cache_path(ctx, key, path, sizeof path)) return;
    size_t len = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS ||
        len == 0)
        return;
    unsigned char *bin = malloc(len);
    if (!bin) return;
    unsigned char *bins[1] = {bin};
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) != CL_SUCCESS) {
        free(bin);
        return;
    }
    make_dirs(ctx->cache_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(bin);
        return;
    }
    fchmod(fd, 0644); /* mkstemp makes 0600; the cache may be shared by a user's tools */
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.format = CACHE_FORMAT;
    h.header_size = sizeof h;
    h.key[0] = key.a;
    h.key[1] = key.b;
    h.payload_len = len;
    h.payload_sum = checksum(bin, len);
    FILE *f = fdopen(fd, "wb");
    int ok = f && fwrite(&h, sizeof h, 1, f) == 1 && fwrite(bin, 1, len, f) == len;
    if (f) ok = (fclose(f) == 0) && ok;
    else close(fd);
    if (!ok || rename(tmp, path) != 0) unlink(tmp);
    free(bin);
}

static clq_status build_program(clq_context *ctx, int slot, const char *name) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_kernel_source *common = find_source("common"), *src = find_source(name);
    if (!common || !src)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "OpenCL program \"%s\" is not embedded", name);
    hash128 key = hash_init();
    hash_field(&key, common->source, common->length);
    hash_field(&key, src->source, src->length);
    hash_field(&key, impl->options, strlen(impl->options));
    hash_field(&key, impl->platform_name, strlen(impl->platform_name));
    hash_field(&key, impl->dev_name, strlen(impl->dev_name));
    hash_field(&key, impl->driver_version, strlen(impl->driver_version));
    hash_field(&key, impl->device_version, strlen(impl->device_version));
    hash_field(&key, CLQ_VERSION_STRING, strlen(CLQ_VERSION_STRING));

    int rejected = 0;
    cl_program prog = cache_load(ctx, key, &rejected);
    if (prog) {
        ctx->stats.programs_loaded++;
        impl->programs[slot] = prog;
        return CLQ_SUCCESS;
    }
    if (rejected) ctx->stats.cache_rejected++;

    const char *srcs[2] = {common->source, src->source};
    size_t lens[2] = {common->length, src->length};
    cl_int err;
    prog = clCreateProgramWithSource(impl->context, 2, srcs, lens, &err);
    if (err != CL_SUCCESS)
        return clq__error(ctx, CLQ_ERROR_OPENCL, "clCreateProgramWithSource(\"%s\"): %s", name,
                          clq__cl_error_name(err));
    err = clBuildProgram(prog, 1, &impl->device, impl->options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t n = 0;
        char *log = NULL;
        if (clGetProgramBuildInfo(prog, impl->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) ==
                CL_SUCCESS &&
            (log = malloc(n + 1)) != NULL) {
            if (clGetProgramBuildInfo(prog, impl->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) !=
                CL_SUCCESS)
                n = 0;
            log[n] = 0;
        }
        clq__set_build_log(ctx, log ? log : "");
        free(log);
        clReleaseProgram(prog);
        return clq__error(ctx, CLQ_ERROR_BUILD_FAILED,
                          "building OpenCL program \"%s\" failed (%s); see clq_context_build_log",
                          name, clq__cl_error_name(err));
    }
    ctx->stats.programs_built++;
    cache_store(ctx, prog, key);
    impl->programs[slot] = prog;
    return CLQ_SUCCESS;
}

clq_status clq__cl_kernel(clq_context *ctx, const char *program, const char *name, cl_kernel *out) {
    clq_cl_impl *impl = clq_cl(ctx);
    for (int i = 0; i < impl->nkernels; i++)
        if (!strcmp(impl->kernels[i].name, name)) {
            *out = impl->kernels[i].kernel;
            return CLQ_SUCCESS;
        }
    int slot = -1;
    for (int i = 0; i < impl->nprograms; i++)
        if (!strcmp(impl->program_names[i], program)) slot = i;
    if (slot < 0) {
        if (impl->nprograms == CLQ_CL_MAX_PROGRAMS)
            return clq__error(ctx, CLQ_ERROR_INTERNAL, "too many OpenCL programs");
        slot = impl->nprograms;
    }
    if (!impl->programs[slot]) {
        clq_status st = build_program(ctx, slot, program);
        if (st != CLQ_SUCCESS) return st;
        impl->program_names[slot] = program;
        impl->nprograms = slot + 1 > impl->nprograms ? slot + 1 : impl->nprograms;
    }
    if (impl->nkernels == CLQ_CL_MAX_KERNELS)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "too many OpenCL kernels");
    cl_int err;
    cl_kernel k = clCreateKernel(impl->programs[slot], name, &err);
    if (err != CL_SUCCESS)
        return clq__error(ctx, CLQ_ERROR_OPENCL, "clCreateKernel(\"%s\"): %s", name,
                          clq__cl_error_name(err));
    impl->kernels[impl->nkernels++] = (clq_cl_kernel){name, slot, k};
    *out = k;
    return CLQ_SUCCESS;
}
