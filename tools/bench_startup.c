/* bench_startup.c: cold vs warm start. The bench re-runs itself as a child with
 * --startup-probe, first on fresh empty program caches (CLQ_CACHE_DIR and
 * POCL_CACHE_DIR), then again on the same, now filled, caches. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_ELEMENTS 4096
#define GOAL_WARM_OVER_COLD 0.1

int bench_startup_probe(clq_backend backend) {
    static float x[PROBE_ELEMENTS];
    for (int i = 0; i < PROBE_ELEMENTS; i++) x[i] = (float)(i % 255 - 127) * 0.03125f;
    const float scale = 0.05f;
    const int32_t zp = 3;
    clq_context *ctx = NULL;
    clq_buffer *bx = NULL, *bq = NULL, *bs = NULL, *bz = NULL;
    clq_tensor tx, tq;
    clq_qparams qp;
    size_t shape[1] = {PROBE_ELEMENTS};

    double t0 = bench_now();
    ctx = bench_context_create(backend);
    bench_check(ctx, clq_buffer_create(ctx, sizeof x, &bx), "clq_buffer_create(x)");
    bench_check(ctx, clq_buffer_create(ctx, PROBE_ELEMENTS, &bq), "clq_buffer_create(q)");
    bench_check(ctx, clq_buffer_create(ctx, sizeof scale, &bs), "clq_buffer_create(scale)");
    bench_check(ctx, clq_buffer_create(ctx, sizeof zp, &bz), "clq_buffer_create(zero point)");
    bench_check(ctx, clq_buffer_write(bx, 0, sizeof x, x), "clq_buffer_write(x)");
    bench_check(ctx, clq_buffer_write(bs, 0, sizeof scale, &scale), "clq_buffer_write(scale)");
    bench_check(ctx, clq_buffer_write(bz, 0, sizeof zp, &zp), "clq_buffer_write(zero point)");
    bench_check(ctx, clq_tensor_init(&tx, CLQ_F32, 1, shape, bx), "clq_tensor_init(x)");
    bench_check(ctx, clq_tensor_init(&tq, CLQ_S8, 1, shape, bq), "clq_tensor_init(q)");
    clq_qparams_init(&qp);
    qp.qtype = CLQ_S8;
    qp.granularity = CLQ_PER_TENSOR;
    qp.scale = bs;
    qp.zero_point = bz;
    bench_check(ctx, clq_quantize(ctx, &tx, &qp, &tq), "clq_quantize");
    bench_check(ctx, clq_context_finish(ctx), "clq_context_finish");
    double t1 = bench_now();

    clq_context_stats st;
    clq_context_stats_init(&st);
    bench_check(ctx, clq_context_get_stats(ctx, &st), "clq_context_get_stats");
    printf("startup_ms=%.3f built=%u loaded=%u rejected=%u backend=%d\n", (t1 - t0) * 1e3,
           st.programs_built, st.programs_loaded, st.cache_rejected, (int)clq_context_backend(ctx));
    fflush(stdout);
    clq_buffer_destroy(bx);
    clq_buffer_destroy(bq);
    clq_buffer_destroy(bs);
    clq_buffer_destroy(bz);
    clq_context_destroy(ctx);
    return 0;
}

typedef struct probe_result {
    double ms;
    unsigned built, loaded, rejected;
    int backend;
} probe_result;

/* Runs /proc/self/exe --startup-probe with both cache variables set to dirs under root. */
static int run_probe(const char *root, const char *backend_arg, probe_result *out) {
    char clq_dir[4096], pocl_dir[4096], text[512];
    snprintf(clq_dir, sizeof clq_dir, "%s/clq", root);
    snprintf(pocl_dir, sizeof pocl_dir, "%s/pocl", root);
    int fd[2];
    if (pipe(fd) != 0) {
        fprintf(stderr, "clquant-bench: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "clquant-bench: fork: %s\n", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        if (dup2(fd[1], STDOUT_FILENO) < 0) _exit(126);
        close(fd[1]);
        setenv("CLQ_CACHE_DIR", clq_dir, 1);
        setenv("POCL_CACHE_DIR", pocl_dir, 1);
        execl("/proc/self/exe", "clquant-bench", "--startup-probe", "--backend", backend_arg,
              (char *)NULL);
        fprintf(stderr, "clquant-bench: exec /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t got;
    while ((got = read(fd[0], text + len, sizeof text - 1 - len)) > 0) len += (size_t)got;
    close(fd[0]);
    text[len] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "clquant-bench: startup probe failed (%s %d)\n",
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    if (sscanf(text, "startup_ms=%lf built=%u loaded=%u rejected=%u backend=%d", &out->ms,
               &out->built, &out->loaded, &out->rejected, &out->backend) != 5) {
        fprintf(stderr, "clquant-bench: unexpected startup probe output: %s\n", text);
        return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0) fprintf(stderr, "clquant-bench: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

int bench_startup_section(clq_backend backend, const char *backend_arg) {
    printf("\n## startup (cold vs warm)\n\n");
    if (backend != CLQ_BACKEND_OPENCL) {
        printf("Does not apply to the CPU path: it builds no programs, so there is no cache to warm.\n");
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    char root[4096];
    snprintf(root, sizeof root, "%s/clquant-bench-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "clquant-bench: mkdtemp(%s): %s\n", root, strerror(errno));
        return 1;
    }
    probe_result cold, warm;
    fprintf(stderr, "[startup] cold probe (empty caches under %s) ...\n", root);
    int rc = run_probe(root, backend_arg, &cold);
    if (rc == 0) {
        fprintf(stderr, "[startup] warm probe (same caches) ...\n");
        rc = run_probe(root, backend_arg, &warm);
    }
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (rc != 0) {
        printf("startup probe failed (see stderr)\n");
        return 1;
    }
    if (cold.backend != CLQ_BACKEND_OPENCL || warm.backend != CLQ_BACKEND_OPENCL)
        printf("note: the probe's context did not use the OpenCL backend\n");
    double ratio = warm.ms / cold.ms;
    int pass = ratio <= GOAL_WARM_OVER_COLD;
    printf("Context creation + first quantize of %d f32 (s8, per tensor) + finish, in a fresh process;\n"
           "CLQ_CACHE_DIR and POCL_CACHE_DIR both point into one temp dir, empty for the cold run.\n\n",
           PROBE_ELEMENTS);
    printf("| start | time | programs built | programs from cache | cache entries rejected |\n");
    printf("|---|---|---|---|---|\n");
    printf("| cold | %.1f ms | %u | %u | %u |\n", cold.ms, cold.built, cold.loaded, cold.rejected);
    printf("| warm | %.1f ms | %u | %u | %u |\n\n", warm.ms, warm.built, warm.loaded, warm.rejected);
    printf("warm/cold: %.3fx (goal <= %.1fx): %s\n", ratio, GOAL_WARM_OVER_COLD, pass ? "PASS" : "MISS");
    return 0;
}
