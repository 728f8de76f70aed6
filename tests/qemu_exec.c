/* qemu_exec.c: preloaded into test binaries run under qemu-user (cross builds,
 * cmake/aarch64-linux-gnu.cmake): turns an exec of a guest binary into an exec of
 * qemu ($CLQ_QEMU) running it, as binfmt_misc would, which containers rarely have.
 * Criterion needs it: BoxFort re-executes the test binary for every test. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

typedef int execve_fn(const char *, char *const[], char *const[]);

static int real_execve(const char *path, char *const argv[], char *const envp[]) {
    execve_fn *f = (execve_fn *)dlsym(RTLD_NEXT, "execve");
    if (!f) {
        errno = ENOSYS;
        return -1;
    }
    return f(path, argv, envp);
}

/* Only binaries of the guest's own machine go to qemu; host programs run as they are. */
static int is_guest_elf(const char *path) {
    Elf64_Ehdr h;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, &h, sizeof h);
    close(fd);
    return n == (ssize_t)sizeof h && memcmp(h.e_ident, ELFMAG, SELFMAG) == 0 &&
           h.e_machine == EM_AARCH64;
}

/* qemu -0 ARGV0 PATH ARGS...; LD_PRELOAD (this guest library) is left out of the
 * host process's environment: qemu gives it back to the guest from QEMU_SET_ENV. */
int execve(const char *path, char *const argv[], char *const envp[]) {
    const char *qemu = getenv("CLQ_QEMU");
    if (!qemu || !*qemu || !is_guest_elf(path)) return real_execve(path, argv, envp);
    size_t na = 0, ne = 0;
    while (argv[na]) na++;
    while (envp && envp[ne]) ne++;
    char **a = calloc(na + 5, sizeof *a), **e = calloc(ne + 1, sizeof *e);
    int rc = -1;
    if (!a || !e) {
        errno = ENOMEM;
        goto done;
    }
    size_t k = 0;
    a[k++] = (char *)qemu;
    if (na) {
        a[k++] = "-0";
        a[k++] = argv[0];
    }
    a[k++] = (char *)path;
    for (size_t i = 1; i < na; i++) a[k++] = argv[i];
    k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(envp[i], "LD_PRELOAD=", 11) != 0) e[k++] = envp[i];
    rc = real_execve(qemu, a, e);
done:
    free(a);
    free(e);
    return rc;
}

int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

/* BoxFort calls execl, which glibc runs through its internal execve (not this one). */
int execl(const char *path, const char *arg, ...) {
    char *argv[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *s = arg; s && n < 63; s = va_arg(ap, const char *)) argv[n++] = (char *)s;
    va_end(ap);
    argv[n] = NULL;
    return execve(path, argv, environ);
}
