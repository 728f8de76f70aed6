/* fault_inject.h: test-only fault injection for tests/test_faults.c.
 *
 * tests/fault_inject.c defines __wrap_X for the resource calls the library makes
 * (host allocation, OpenCL object creation and program builds, the program cache's
 * file operations, thread and lock creation); tests/CMakeLists.txt links
 * test_faults against the static library with -Wl,--wrap=X for each, so only the
 * references from objects of that link (the library, this test) go through them:
 * POCL's and Criterion's own calls are untouched, and release builds carry nothing.
 *
 * While armed, the calls of one kind are counted and the Nth fails the way the real
 * call fails (NULL / ENOMEM, CL_OUT_OF_HOST_MEMORY with errcode_ret set, -1 with
 * errno EIO, EAGAIN). The wrappers also count live allocations (malloc, calloc,
 * realloc, strdup, posix_memalign, aligned_alloc less free), armed or not, so a
 * test can check that every allocation made by the library was freed. */
#ifndef CLQ_FAULT_INJECT_H
#define CLQ_FAULT_INJECT_H

typedef enum fi_kind {
    FI_ALLOC = 0, /* malloc calloc realloc strdup posix_memalign aligned_alloc */
    FI_CL,        /* clCreate* (context, queue, buffer, program, kernel), clBuildProgram,
                     clGetPlatformIDs / clGetDeviceIDs, clGetProgramInfo */
    FI_FILE,      /* open openat read write close fstat fstatat stat mkdir rename renameat
                     unlink unlinkat fchmod mkstemp fopen fdopen fread fwrite fclose fsync */
    FI_THREAD,    /* pthread_create pthread_mutex_init pthread_cond_init */
    FI_KINDS
} fi_kind;

const char *fi_kind_name(fi_kind k);
/* Counts the calls of kind from now on and makes the nth (1-based) fail. */
void fi_arm(fi_kind kind, long nth);
/* Stops counting; returns how many calls of the armed kind were made. */
long fi_disarm(void);
/* Whether the armed failure happened, and in which call ("clBuildProgram"). */
int fi_fired(void);
const char *fi_fired_call(void);
/* Allocations made through the wrappers and not yet freed. */
long fi_live_allocs(void);

#endif
