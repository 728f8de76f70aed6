/* cl_program.c: lazy per-context program builds from the embedded kernels/<name>.cl
 * (the prelude and common.cl first), the on-disk program binary cache, and kernel lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* CLQ_PROGRAM_PARTS as a table: the parts of each program, in order. */
static const struct {
    const char *program, *part;
} program_parts[] = {
#define CLQ_PART_ROW(program, part) {#program, #part},
    CLQ_PROGRAM_PARTS(CLQ_PART_ROW)
#undef CLQ_PART_ROW
};
/* the prelude, common.cl and the program's file, then every part (a loose bound) */
_Static_assert(3 + sizeof program_parts / sizeof program_parts[0] <= CLQ_CL_PROGRAM_PARTS,
               "CLQ_PROGRAM_PARTS lists more parts than CLQ_CL_PROGRAM_PARTS holds");

int clq__cl_is_program(const char *name) {
    for (int i = 0; i < CLQ_KERNEL_COUNT; i++)
        if (!strcmp(clq__cl_kernel_specs[i].program, name)) return 1;
    return 0;
}

int clq__cl_program_sources(const char *program, const char *srcs[CLQ_CL_PROGRAM_PARTS],
                            size_t lens[CLQ_CL_PROGRAM_PARTS]) {
    if (!clq__cl_is_program(program)) return 0;
    const clq_kernel_source *parts[CLQ_CL_PROGRAM_PARTS] = {&clq_kernel_prelude,
                                                            find_source("common"),
                                                            find_source(program)};
    int n = 3;
    for (size_t i = 0; i < sizeof program_parts / sizeof program_parts[0]; i++)
        if (!strcmp(program_parts[i].program, program))
            parts[n++] = find_source(program_parts[i].part);
    for (int i = 0; i < n; i++) {
        if (!parts[i]) return 0;
        srcs[i] = parts[i]->source;
        lens[i] = parts[i]->length;
    }
    return n;
}

/* mkdir -p; errors are left to the opens that follow. Directories on the way are
 * made 0755 (they may be shared, as with mkdir -p), the cache directory itself 0700. */
static void make_dirs(const char *dir) {
    char tmp[1024];
    int n = snprintf(tmp, sizeof tmp, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof tmp) return;
    while (n > 1 && tmp[n - 1] == '/') tmp[--n] = 0; /* "dir/": the leaf is "dir" */
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, 0755);
        *p = '/';
    }
    mkdir(tmp, 0700);
}

/* The cache trusts what this process's user or root owns and nobody else may
 * write: on POCL a program binary is native code that the runtime runs, and the
 * checksum only catches accidents (anyone can recompute it). */
static int trusted(const struct stat *st) {
    return (st->st_uid == geteuid() || st->st_uid == 0) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

enum { CACHE_DIR_OK, CACHE_DIR_NONE, CACHE_DIR_REFUSED };

/* Opens the cache directory (a symlink to it is followed) into *out and checks it:
 * a directory that trusted() accepts. With create, a missing one is made first. */
static int cache_dir_open(const clq_context *ctx, int create, int *out) {
    if (!ctx->cache_dir[0]) return CACHE_DIR_NONE;
    int fd = open(ctx->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        make_dirs(ctx->cache_dir);
        fd = open(ctx->cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) return CACHE_DIR_NONE;
    struct stat st;
    int r = fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) ? CACHE_DIR_NONE
            : trusted(&st)                                ? CACHE_DIR_OK
                                                          : CACHE_DIR_REFUSED;
    if (r == CACHE_DIR_OK) *out = fd;
    else close(fd);
    return r;
}

/* The entry's file name inside the cache directory. */
enum { CACHE_NAME_SIZE = 48 };
static void cache_name(hash128 key, char *out) {
    snprintf(out, CACHE_NAME_SIZE, "%016llx%016llx.bin", (unsigned long long)key.a,
             (unsigned long long)key.b);
}

/* read() until n bytes or end of file: the bytes read, or -1 on an error. */
static ssize_t read_full(int fd, void *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}
static int write_full(int fd, const void *p, size_t n) {
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return 0;
        p = (const char *)p + r;
        n -= (size_t)r;
    }
    return 1;
}

enum { ENTRY_NONE, ENTRY_REJECTED, ENTRY_REFUSED };

/* A built program from the cache entry `name` in the directory dfd, or NULL; then
 * *why says whether there was no entry, an unusable one (not a regular file, stale,
 * corrupt, refused by the runtime, or without the kernel it is loaded for), or an
 * untrusted one (a symlink, or trusted() says no). Nothing but a regular file is
 * opened (a FIFO would block, a device node may act on open), and the open neither
 * follows links nor blocks, in case the entry is replaced in between. */
static cl_program cache_load(clq_context *ctx, int dfd, const char *name, hash128 key,
                             const char *kernel, int *why) {
    clq_cl_impl *impl = clq_cl(ctx);
    struct stat st;
    *why = ENTRY_NONE;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return NULL;
    *why = S_ISLNK(st.st_mode) ? ENTRY_REFUSED : ENTRY_REJECTED;
    if (!S_ISREG(st.st_mode)) return NULL;
    int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *why = errno == ENOENT ? ENTRY_NONE : errno == ELOOP ? ENTRY_REFUSED : ENTRY_REJECTED;
        return NULL;
    }
    cl_program prog = NULL;
    unsigned char *payload = NULL;
    cache_header h;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) goto done;
    if (!trusted(&st)) {
        *why = ENTRY_REFUSED;
        goto done;
    }
    /* the file must be exactly header + payload: a forged length never allocates */
    if (st.st_size < (off_t)sizeof h || read_full(fd, &h, sizeof h) != (ssize_t)sizeof h) goto done;
    if (memcmp(h.magic, CACHE_MAGIC, 8) || h.format != CACHE_FORMAT ||
        h.header_size != sizeof h || h.key[0] != key.a || h.key[1] != key.b ||
        h.payload_len == 0 || h.payload_len > ((uint64_t)1 << 31) ||
        h.payload_len != (uint64_t)st.st_size - sizeof h)
        goto done;
    size_t len = (size_t)h.payload_len;
    unsigned char extra;
    payload = malloc(len);
    if (!payload || read_full(fd, payload, len) != (ssize_t)len) goto done;
    if (read_full(fd, &extra, 1) != 0) goto done; /* it grew: not a file we wrote */
    if (checksum(payload, len) != h.payload_sum) goto done;
    const unsigned char *bins[1] = {payload};
    cl_int bstatus = CL_SUCCESS, err;
    prog = clCreateProgramWithBinary(impl->context, 1, &impl->device, &len, bins, &bstatus, &err);
    if (err != CL_SUCCESS || bstatus != CL_SUCCESS ||
        clBuildProgram(prog, 1, &impl->device, impl->options, NULL, NULL) != CL_SUCCESS)
        goto fail;
    /* A valid binary of another program under this key (copied, or a stale entry
     * that survived a key change) has no kernel of this one: kernel names are unique
     * across the library's programs, so the kernel asked for is the test. */
    cl_kernel k = clCreateKernel(prog, kernel, &err);
    if (err != CL_SUCCESS) goto fail;
    clReleaseKernel(k);
    *why = ENTRY_NONE;
    goto done;
fail:
    if (prog) clReleaseProgram(prog);
    prog = NULL;
done:
    free(payload);
    close(fd);
    return prog;
}

/* Writes the program's binary as the entry `name` of the directory dfd: a new
 * temporary file (O_EXCL, 0600 whatever the umask, as mkstemp) in the same
 * directory, then renameat(), so readers never see a partial file. Silent on failure. */
static void cache_store(cl_program prog, int dfd, const char *name, hash128 key) {
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
    char tmp[CACHE_NAME_SIZE + 32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hash128 r = hash_init();
    uint64_t seed[4] = {(uint64_t)getpid(), (uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec,
                        (uint64_t)(uintptr_t)&ts};
    hash_bytes(&r, seed, sizeof seed);
    int fd = -1;
    for (int attempt = 0; attempt < 64 && fd < 0; attempt++) {
        hash_bytes(&r, &attempt, sizeof attempt);
        snprintf(tmp, sizeof tmp, "%s.tmp.%012llx", name, (unsigned long long)(r.a >> 16));
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        free(bin);
        return;
    }
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.format = CACHE_FORMAT;
    h.header_size = sizeof h;
    h.key[0] = key.a;
    h.key[1] = key.b;
    h.payload_len = len;
    h.payload_sum = checksum(bin, len);
    int ok = fchmod(fd, 0600) == 0 && write_full(fd, &h, sizeof h) && write_full(fd, bin, len);
    ok = close(fd) == 0 && ok;
    if (!ok || renameat(dfd, tmp, dfd, name) != 0) unlinkat(dfd, tmp, 0);
    free(bin);
}

/* Builds (or loads from the cache) program `name` into slot; `kernel`, the kernel
 * wanted from it, is what a cached binary is checked against. */
static clq_status build_program(clq_context *ctx, int slot, const char *name, const char *kernel) {
    clq_cl_impl *impl = clq_cl(ctx);
    const char *srcs[CLQ_CL_PROGRAM_PARTS];
    size_t lens[CLQ_CL_PROGRAM_PARTS];
    int nsrc = clq__cl_program_sources(name, srcs, lens);
    if (!nsrc)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "OpenCL program \"%s\" is not embedded", name);
    /* every source part: the prelude (clq_kernel_args.h) changes the key as a .cl does */
    hash128 key = hash_init();
    for (int i = 0; i < nsrc; i++) hash_field(&key, srcs[i], lens[i]);
    hash_field(&key, impl->options, strlen(impl->options));
    hash_field(&key, impl->platform_name, strlen(impl->platform_name));
    hash_field(&key, impl->dev_name, strlen(impl->dev_name));
    hash_field(&key, impl->driver_version, strlen(impl->driver_version));
    hash_field(&key, impl->device_version, strlen(impl->device_version));
    hash_field(&key, CLQ_VERSION_STRING, strlen(CLQ_VERSION_STRING));

    /* The cache: a directory that is refused is neither read nor written, an entry
     * that is refused or rejected is rebuilt and replaced; either is counted. */
    char entry[CACHE_NAME_SIZE];
    cache_name(key, entry);
    int dfd = -1, why = ENTRY_NONE;
    int dir = cache_dir_open(ctx, 0, &dfd);
    if (dir == CACHE_DIR_REFUSED) ctx->stats.cache_refused++;
    cl_program prog = dir == CACHE_DIR_OK ? cache_load(ctx, dfd, entry, key, kernel, &why) : NULL;
    if (prog) {
        close(dfd);
        ctx->stats.programs_loaded++;
        impl->programs[slot] = prog;
        return CLQ_SUCCESS;
    }
    if (why == ENTRY_REJECTED) ctx->stats.cache_rejected++;
    if (why == ENTRY_REFUSED) ctx->stats.cache_refused++;

    cl_int err;
    prog = clCreateProgramWithSource(impl->context, (cl_uint)nsrc, srcs, lens, &err);
    if (err != CL_SUCCESS) {
        if (dfd >= 0) close(dfd);
        return clq__error(ctx, CLQ_ERROR_OPENCL, "clCreateProgramWithSource(\"%s\"): %s", name,
                          clq__cl_error_name(err));
    }
    err = clBuildProgram(prog, 1, &impl->device, impl->options, NULL, NULL);
    if (err != CL_SUCCESS) {
        if (dfd >= 0) close(dfd);
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
    if (dir == CACHE_DIR_NONE) { /* missing: create it (it may be there by now, or refused) */
        dir = cache_dir_open(ctx, 1, &dfd);
        if (dir == CACHE_DIR_REFUSED) ctx->stats.cache_refused++;
    }
    if (dir == CACHE_DIR_OK) {
        cache_store(prog, dfd, entry, key);
        close(dfd);
    }
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
        clq_status st = build_program(ctx, slot, program, name);
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
