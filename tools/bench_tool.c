/* bench_tool.c: `clquant-bench tool`: the clquant command-line tool's `quantize`
 * throughput (MB/s of input model) against reading the same file with cat, in the same
 * run, on a synthetic safetensors model (f32 [R, C] weights and their biases). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

/* Seconds the command took (stdout to /dev/null; stderr kept); exits when it fails. */
static double run_timed(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    double t0 = bench_now();
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ)) bench_die("cannot run %s", argv[0]);
    int status;
    waitpid(pid, &status, 0);
    double t = bench_now() - t0;
    posix_spawn_file_actions_destroy(&fa);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) bench_die("%s %s failed (status %d)", argv[0], argv[1], status);
    return t;
}

/* Empties the page cache (root only), so that the next run reads the file from the disk. */
static void drop_caches(void)
{
    sync();
    FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
    if (!f || fputs("3\n", f) < 0 || fclose(f)) bench_die("--cold: cannot write /proc/sys/vm/drop_caches (root only)");
}

/* The synthetic model: layers of f32 [rows, cols] weights with normal-ish values. */
static void write_model(const char *path, int layers, size_t rows, size_t cols)
{
    char *json = NULL;
    size_t len = 0, at = 0, wbytes = rows * cols * 4;
    FILE *h = open_memstream(&json, &len);
    fputs("{\"__metadata__\":{\"format\":\"pt\"}", h);
    for (int l = 0; l < layers; l++) {
        fprintf(h, ",\"layers.%d.linear.weight\":{\"dtype\":\"F32\",\"shape\":[%zu,%zu],\"data_offsets\":[%zu,%zu]}",
                l, rows, cols, at, at + wbytes);
        at += wbytes;
        fprintf(h, ",\"layers.%d.linear.bias\":{\"dtype\":\"F32\",\"shape\":[%zu],\"data_offsets\":[%zu,%zu]}",
                l, rows, at, at + rows * 4);
        at += rows * 4;
    }
    fputc('}', h);
    while ((ftell(h) + 8) % 8) fputc(' ', h);
    fclose(h);
    FILE *f = fopen(path, "wb");
    if (!f) bench_die("cannot write %s", path);
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(json, 1, len, f);
    float *w = malloc(wbytes);
    if (!w) bench_die("out of memory");
    uint32_t s = 12345;
    for (int l = 0; l < layers; l++) {
        for (size_t i = 0; i < rows * cols; i++) {
            /* sum of uniforms: roughly normal, spread 0.02 */
            float v = 0;
            for (int k = 0; k < 4; k++) v += (float)(bench_random(&s) >> 8) * (1.0f / 16777216.0f) - 0.5f;
            w[i] = v * 0.02f;
        }
        fwrite(w, 4, rows * cols, f);
        fwrite(w, 4, rows, f);
    }
    free(w);
    if (fclose(f)) bench_die("cannot write %s", path);
    free(json);
}

int bench_tool_main(int argc, char **argv, char **argv0)
{
    int runs = 5, layers = 8, cold = 0;
    size_t rows = 2048, cols = 2048;
    const char *device = "cpu", *schemes = "s8-channel,s4-g32,q8_0,q4_0", *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layers") && i + 1 < argc) layers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--schemes") && i + 1 < argc) schemes = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--cold")) cold = 1;
        else {
            printf("usage: clquant-bench tool [--runs N] [--layers L] [--device SPEC] "
                   "[--schemes a,b] [--dir DIR] [--cold]\n  clquant quantize on a synthetic model of L "
                   "f32 [2048, 2048] weights (16.8 MB each; default 8), median of N runs "
                   "(default 5), against cat of the same file; --cold: the page cache "
                   "dropped before every run (root)\n");
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (runs < 1 || layers < 1) bench_die("--runs and --layers take a count >= 1");
    /* the tool sits beside the bench */
    char tool[4200], self[4000];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) bench_die("cannot find the bench's own path (%s)", argv0[0]);
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(tool, sizeof tool, "%s/clquant", self);
    if (access(tool, X_OK)) bench_die("%s not found: build the target clquant_tool", tool);
    char work[4200];
    snprintf(work, sizeof work, "%.4000s/clquant-bench-tool-XXXXXX", dir ? dir : self);
    if (!mkdtemp(work)) bench_die("cannot make %s", work);
    char model[4300], out[4300];
    snprintf(model, sizeof model, "%s/model.safetensors", work);
    fprintf(stderr, "clquant-bench tool: writing a %d-layer model into %s\n", layers, work);
    write_model(model, layers, rows, cols);
    struct stat st;
    stat(model, &st);
    double mb = (double)st.st_size / 1e6;
    char cpu[256] = "?", load[32];
    FILE *ci = fopen("/proc/cpuinfo", "r");
    for (char line[512]; ci && fgets(line, sizeof line, ci);)
        if (!strncmp(line, "model name", 10)) {
            snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (ci) fclose(ci);
    printf("# clquant-bench tool: `clquant quantize` vs `cat > /dev/null`, same file, same run\n"
           "cpu: %s, %ld online cores, load %s\nmodel: %s, %.1f MB (%d x f32 [%zu, %zu] + biases), "
           "%s\ndevice: --device %s; median of %d runs\n\n",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), bench_loadavg(load, sizeof load), model, mb, layers,
           rows, cols, cold ? "read from the disk (page cache dropped before every run)" : "in the page cache",
           device, runs);
    printf("| scheme | quantize s | quantize MB/s | cat MB/s | ratio | output MB | goal (>= 0.5x) |\n"
           "|---|---|---|---|---|---|---|\n");
    char list[256];
    snprintf(list, sizeof list, "%s", schemes);
    int missed = 0;
    for (char *save = NULL, *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        int gguf = !strncmp(s, "q", 1);
        snprintf(out, sizeof out, "%s/out.%s", work, gguf ? "gguf" : "safetensors");
        double *tq = calloc((size_t)runs, sizeof *tq), *tc = calloc((size_t)runs, sizeof *tc);
        char *qa[] = {tool, "quantize", model, "-o", out, "--scheme", s, "--device", (char *)device,
                      "--no-progress", NULL};
        char *ca[] = {"cat", model, NULL};
        run_timed(qa); /* warm: the kernels compiled and cached, the output's pages made */
        for (int r = 0; r < runs; r++) {
            fprintf(stderr, "\rclquant-bench tool: %s run %d / %d", s, r + 1, runs);
            if (cold) drop_caches();
            tc[r] = run_timed(ca);
            unlink(out); /* each run writes a new file, as a first conversion does */
            if (cold) drop_caches();
            tq[r] = run_timed(qa);
        }
        fprintf(stderr, "\r\033[K");
        double q = bench_median(tq, runs), c = bench_median(tc, runs), ratio = c / q;
        stat(out, &st);
        printf("| %s | %.3f | %.0f | %.0f | %.2fx | %.1f | %s |\n", s, q, mb / q, mb / c, ratio,
               (double)st.st_size / 1e6, ratio >= 0.5 ? "met" : "missed");
        missed += ratio < 0.5;
        unlink(out);
        free(tq);
        free(tc);
    }
    unlink(model);
    rmdir(work);
    printf("\nratio: cat's time / quantize's time (input MB/s of quantize over cat's); "
           "MB = 10^6 bytes\n");
    return missed ? 1 : 0;
}
