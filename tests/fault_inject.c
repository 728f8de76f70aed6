/* fault_inject.c: the __wrap_X side of fault_inject.h (linked into test_faults only,
 * with -Wl,--wrap=X for every function below: tests/CMakeLists.txt). */
#include "fault_inject.h"

#include <CL/cl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int g_kind = -1; /* armed kind, -1: none */
static atomic_long g_nth, g_count, g_live;
static atomic_int g_fired;
static _Atomic(const char *) g_fired_call;

const char *fi_kind_name(fi_kind k) {
    static const char *n[FI_KINDS] = {"alloc", "opencl", "file", "thread"};
    return k >= 0 && k < FI_KINDS ? n[k] : "?";
}

void fi_arm(fi_kind kind, long nth) {
    atomic_store(&g_count, 0);
    atomic_store(&g_nth, nth);
    atomic_store(&g_fired, 0);
    atomic_store(&g_fired_call, NULL);
    atomic_store(&g_kind, (int)kind);
}

long fi_disarm(void) {
    atomic_store(&g_kind, -1);
    return atomic_load(&g_count);
}

int fi_fired(void) { return atomic_load(&g_fired); }
const char *fi_fired_call(void) {
    const char *s = atomic_load(&g_fired_call);
    return s ? s : "";
}
long fi_live_allocs(void) { return atomic_load(&g_live); }

/* 1: this call (of kind) is the one to fail. */
static int fail_now(fi_kind kind, const char *call) {
    if (atomic_load(&g_kind) != (int)kind) return 0;
    long c = atomic_fetch_add(&g_count, 1) + 1;
    if (c != atomic_load(&g_nth)) return 0;
    atomic_store(&g_fired_call, call);
    atomic_store(&g_fired, 1);
    return 1;
}

/* ---- host allocation --------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);

static void *counted(void *p) {
    if (p) atomic_fetch_add(&g_live, 1);
    return p;
}
void *__wrap_malloc(size_t n) {
    if (fail_now(FI_ALLOC, "malloc")) return errno = ENOMEM, NULL;
    return counted(__real_malloc(n));
}
void *__wrap_calloc(size_t n, size_t m) {
    if (fail_now(FI_ALLOC, "calloc")) return errno = ENOMEM, NULL;
    return counted(__real_calloc(n, m));
}
void *__wrap_realloc(void *p, size_t n) {
    if (fail_now(FI_ALLOC, "realloc")) return errno = ENOMEM, NULL;
    void *q = __real_realloc(p, n);
    if (!p && q) atomic_fetch_add(&g_live, 1);
    if (p && !q && n == 0) atomic_fetch_sub(&g_live, 1);
    return q;
}
char *__wrap_strdup(const char *s) {
    if (fail_now(FI_ALLOC, "strdup")) return errno = ENOMEM, NULL;
    return counted(__real_strdup(s));
}
int __wrap_posix_memalign(void **p, size_t align, size_t n) {
    if (fail_now(FI_ALLOC, "posix_memalign")) return ENOMEM;
    int r = __real_posix_memalign(p, align, n);
    if (r == 0) counted(*p);
    return r;
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
    if (fail_now(FI_ALLOC, "aligned_alloc")) return errno = ENOMEM, NULL;
    return counted(__real_aligned_alloc(align, n));
}
void __wrap_free(void *p) {
    if (p) atomic_fetch_sub(&g_live, 1);
    __real_free(p);
}

/* ---- OpenCL resources ---------------------------------------------------- */

#define CL_FAIL(call, ret)                                   \
    do {                                                     \
        if (fail_now(FI_CL, call)) {                         \
            if (errcode_ret) *errcode_ret = CL_OUT_OF_HOST_MEMORY; \
            return ret;                                      \
        }                                                    \
    } while (0)

typedef void(CL_CALLBACK *ctx_notify)(const char *, const void *, size_t, void *);
typedef void(CL_CALLBACK *build_notify)(cl_program, void *);

cl_context __real_clCreateContext(const cl_context_properties *, cl_uint, const cl_device_id *,
                                  ctx_notify, void *, cl_int *);
cl_context __wrap_clCreateContext(const cl_context_properties *props, cl_uint n,
                                  const cl_device_id *devs, ctx_notify fn, void *user,
                                  cl_int *errcode_ret) {
    CL_FAIL("clCreateContext", NULL);
    return __real_clCreateContext(props, n, devs, fn, user, errcode_ret);
}
cl_command_queue __real_clCreateCommandQueue(cl_context, cl_device_id, cl_command_queue_properties,
                                             cl_int *);
cl_command_queue __wrap_clCreateCommandQueue(cl_context c, cl_device_id d,
                                             cl_command_queue_properties p, cl_int *errcode_ret) {
    CL_FAIL("clCreateCommandQueue", NULL);
    return __real_clCreateCommandQueue(c, d, p, errcode_ret);
}
cl_mem __real_clCreateBuffer(cl_context, cl_mem_flags, size_t, void *, cl_int *);
cl_mem __wrap_clCreateBuffer(cl_context c, cl_mem_flags f, size_t n, void *host, cl_int *errcode_ret) {
    CL_FAIL("clCreateBuffer", NULL);
    return __real_clCreateBuffer(c, f, n, host, errcode_ret);
}
cl_program __real_clCreateProgramWithSource(cl_context, cl_uint, const char **, const size_t *,
                                            cl_int *);
cl_program __wrap_clCreateProgramWithSource(cl_context c, cl_uint n, const char **src,
                                            const size_t *len, cl_int *errcode_ret) {
    CL_FAIL("clCreateProgramWithSource", NULL);
    return __real_clCreateProgramWithSource(c, n, src, len, errcode_ret);
}
cl_program __real_clCreateProgramWithBinary(cl_context, cl_uint, const cl_device_id *,
                                            const size_t *, const unsigned char **, cl_int *,
                                            cl_int *);
cl_program __wrap_clCreateProgramWithBinary(cl_context c, cl_uint n, const cl_device_id *d,
                                            const size_t *len, const unsigned char **bin,
                                            cl_int *status, cl_int *errcode_ret) {
    CL_FAIL("clCreateProgramWithBinary", NULL);
    return __real_clCreateProgramWithBinary(c, n, d, len, bin, status, errcode_ret);
}
cl_int __real_clBuildProgram(cl_program, cl_uint, const cl_device_id *, const char *, build_notify,
                             void *);
cl_int __wrap_clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *opt,
                             build_notify fn, void *user) {
    if (fail_now(FI_CL, "clBuildProgram")) return CL_OUT_OF_HOST_MEMORY;
    return __real_clBuildProgram(p, n, d, opt, fn, user);
}
cl_kernel __real_clCreateKernel(cl_program, const char *, cl_int *);
cl_kernel __wrap_clCreateKernel(cl_program p, const char *name, cl_int *errcode_ret) {
    CL_FAIL("clCreateKernel", NULL);
    return __real_clCreateKernel(p, name, errcode_ret);
}
cl_int __real_clGetPlatformIDs(cl_uint, cl_platform_id *, cl_uint *);
cl_int __wrap_clGetPlatformIDs(cl_uint n, cl_platform_id *p, cl_uint *np) {
    if (fail_now(FI_CL, "clGetPlatformIDs")) return CL_OUT_OF_HOST_MEMORY;
    return __real_clGetPlatformIDs(n, p, np);
}
cl_int __real_clGetDeviceIDs(cl_platform_id, cl_device_type, cl_uint, cl_device_id *, cl_uint *);
cl_int __wrap_clGetDeviceIDs(cl_platform_id p, cl_device_type t, cl_uint n, cl_device_id *d,
                             cl_uint *nd) {
    if (fail_now(FI_CL, "clGetDeviceIDs")) return CL_OUT_OF_HOST_MEMORY;
    return __real_clGetDeviceIDs(p, t, n, d, nd);
}
cl_int __real_clGetProgramInfo(cl_program, cl_program_info, size_t, void *, size_t *);
cl_int __wrap_clGetProgramInfo(cl_program p, cl_program_info i, size_t n, void *v, size_t *r) {
    if (fail_now(FI_CL, "clGetProgramInfo")) return CL_OUT_OF_HOST_MEMORY;
    return __real_clGetProgramInfo(p, i, n, v, r);
}

/* ---- files (the program cache) ------------------------------------------- */

#define FILE_FAIL(call, ret)                              \
    do {                                                  \
        if (fail_now(FI_FILE, call)) return errno = EIO, ret; \
    } while (0)

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    FILE_FAIL("open", -1);
    return __real_open(path, flags, mode);
}
int __real_openat(int dir, const char *path, int flags, ...);
int __wrap_openat(int dir, const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    FILE_FAIL("openat", -1);
    return __real_openat(dir, path, flags, mode);
}
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __wrap_read(int fd, void *buf, size_t n) {
    FILE_FAIL("read", -1);
    return __real_read(fd, buf, n);
}
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n) {
    FILE_FAIL("write", -1);
    return __real_write(fd, buf, n);
}
int __real_close(int fd);
int __wrap_close(int fd) {
    int r = __real_close(fd); /* a failing close still closes (POSIX leaves it open-ended; Linux closes) */
    if (fail_now(FI_FILE, "close")) return errno = EIO, -1;
    return r;
}
int __real_fsync(int fd);
int __wrap_fsync(int fd) {
    FILE_FAIL("fsync", -1);
    return __real_fsync(fd);
}
int __real_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st) {
    FILE_FAIL("fstat", -1);
    return __real_fstat(fd, st);
}
int __real_fstatat(int dir, const char *path, struct stat *st, int flags);
int __wrap_fstatat(int dir, const char *path, struct stat *st, int flags) {
    FILE_FAIL("fstatat", -1);
    return __real_fstatat(dir, path, st, flags);
}
int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st) {
    FILE_FAIL("stat", -1);
    return __real_stat(path, st);
}
int __real_lstat(const char *path, struct stat *st);
int __wrap_lstat(const char *path, struct stat *st) {
    FILE_FAIL("lstat", -1);
    return __real_lstat(path, st);
}
int __real_mkdir(const char *path, mode_t mode);
int __wrap_mkdir(const char *path, mode_t mode) {
    FILE_FAIL("mkdir", -1);
    return __real_mkdir(path, mode);
}
int __real_rename(const char *a, const char *b);
int __wrap_rename(const char *a, const char *b) {
    FILE_FAIL("rename", -1);
    return __real_rename(a, b);
}
int __real_renameat(int da, const char *a, int db, const char *b);
int __wrap_renameat(int da, const char *a, int db, const char *b) {
    FILE_FAIL("renameat", -1);
    return __real_renameat(da, a, db, b);
}
int __real_unlink(const char *path);
int __wrap_unlink(const char *path) {
    FILE_FAIL("unlink", -1);
    return __real_unlink(path);
}
int __real_unlinkat(int dir, const char *path, int flags);
int __wrap_unlinkat(int dir, const char *path, int flags) {
    FILE_FAIL("unlinkat", -1);
    return __real_unlinkat(dir, path, flags);
}
int __real_fchmod(int fd, mode_t mode);
int __wrap_fchmod(int fd, mode_t mode) {
    FILE_FAIL("fchmod", -1);
    return __real_fchmod(fd, mode);
}
int __real_mkstemp(char *tmpl);
int __wrap_mkstemp(char *tmpl) {
    FILE_FAIL("mkstemp", -1);
    return __real_mkstemp(tmpl);
}
FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode) {
    FILE_FAIL("fopen", NULL);
    return __real_fopen(path, mode);
}
FILE *__real_fdopen(int fd, const char *mode);
FILE *__wrap_fdopen(int fd, const char *mode) {
    FILE_FAIL("fdopen", NULL);
    return __real_fdopen(fd, mode);
}
size_t __real_fread(void *p, size_t size, size_t n, FILE *f);
size_t __wrap_fread(void *p, size_t size, size_t n, FILE *f) {
    FILE_FAIL("fread", 0);
    return __real_fread(p, size, n, f);
}
size_t __real_fwrite(const void *p, size_t size, size_t n, FILE *f);
size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f) {
    FILE_FAIL("fwrite", 0);
    return __real_fwrite(p, size, n, f);
}
int __real_fclose(FILE *f);
int __wrap_fclose(FILE *f) {
    int r = __real_fclose(f);
    if (fail_now(FI_FILE, "fclose")) return errno = EIO, EOF;
    return r;
}

/* ---- threads and locks ----------------------------------------------------- */

int __real_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
    if (fail_now(FI_THREAD, "pthread_create")) return EAGAIN;
    return __real_pthread_create(t, a, fn, arg);
}
int __real_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int __wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a) {
    if (fail_now(FI_THREAD, "pthread_mutex_init")) return ENOMEM;
    return __real_pthread_mutex_init(m, a);
}
int __real_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
int __wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a) {
    if (fail_now(FI_THREAD, "pthread_cond_init")) return ENOMEM;
    return __real_pthread_cond_init(c, a);
}
