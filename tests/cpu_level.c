/* cpu_level.c: runs a test program at one CPU capability level (CLQ_CPU_ISA), or
 * exits 77 (ctest: skipped, not passed) when this machine's CPU lacks that level.
 *   clq_cpu_level LEVEL PROGRAM [ARGS...]
 * The level is confirmed from the CPU context's device name, whose first word is
 * the level the library runs at ("cpu (avx2, 2 threads; ...)"). */
#include <clquant/clquant.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SKIP 77

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s LEVEL PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    const char *level = argv[1];
    if (setenv("CLQ_CPU_ISA", level, 1) != 0) {
        perror("setenv");
        return 2;
    }
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_CPU;
    o.cache_dir = "off";
    clq_context *ctx = NULL;
    clq_status st = clq_context_create(&o, &ctx);
    if (st != CLQ_SUCCESS) {
        fprintf(stderr, "cpu_level: cannot create a CPU context: %s\n", clq_status_string(st));
        return 2;
    }
    char name[256];
    snprintf(name, sizeof name, "%s", clq_context_device_name(ctx));
    clq_context_destroy(ctx);
    const char *open = strstr(name, "cpu (");
    size_t len = open ? strcspn(open + 5, ",") : 0;
    if (!open || len != strlen(level) || strncmp(open + 5, level, len) != 0) {
        printf("SKIP: CPU level %s is not on this machine (the library runs at \"%s\"): "
               "no test ran\n",
               level, name);
        return SKIP;
    }
    printf("cpu_level: %s\n", name);
    fflush(stdout);
    execv(argv[2], argv + 2);
    perror(argv[2]);
    return 2;
}
