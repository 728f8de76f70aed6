/* bench_ort.c: ONNX Runtime's peer for the format section: runs tools/bench_ort_peer.py
 * (Python: ONNX Runtime has no C API package here) on one shape, back to back with
 * clq's runs, with the bench's thread count, and parses its "ort ..." lines. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLQ_BENCH_ORT_SCRIPT
#define CLQ_BENCH_ORT_SCRIPT "tools/bench_ort_peer.py"
#endif
#ifndef CLQ_BENCH_VENV_PYTHON
#define CLQ_BENCH_VENV_PYTHON ".bench-venv/bin/python3"
#endif

/* CLQ_BENCH_PYTHON, else the venv scripts/setup.sh --bench makes, else python3. */
static const char *python_path(void) {
    const char *env = getenv("CLQ_BENCH_PYTHON");
    if (env && *env) return env;
    if (access(CLQ_BENCH_VENV_PYTHON, X_OK) == 0) return CLQ_BENCH_VENV_PYTHON;
    return "python3";
}

static const char *script_path(void) {
    const char *env = getenv("CLQ_BENCH_ORT_SCRIPT");
    return env && *env ? env : CLQ_BENCH_ORT_SCRIPT;
}

/* The value of key=VALUE in line (up to the next space, or the rest with rest != 0). */
static int field(const char *line, const char *key, char *out, size_t size, int rest) {
    char pat[48];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(line, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t len = rest ? strcspn(p, "\n") : strcspn(p, " \n");
    if (len >= size) len = size - 1;
    memcpy(out, p, len);
    out[len] = 0;
    return 1;
}

static int int_field(const char *line, const char *key) {
    char v[32];
    return field(line, key, v, sizeof v, 0) ? atoi(v) : 0;
}

static void parse_case(const char *line, bench_ort_result *out) {
    if (out->ncases == ORT_MAX_CASES) return;
    bench_ort_case *c = &out->cases[out->ncases++];
    char v[64];
    memset(c, 0, sizeof *c);
    field(line, "op", c->op, sizeof c->op, 0);
    c->bits = int_field(line, "bits");
    c->block = int_field(line, "block");
    c->level = int_field(line, "accuracy_level");
    c->runs = int_field(line, "runs");
    if (field(line, "median_s", v, sizeof v, 0)) c->sec = strtod(v, NULL);
    if (field(line, "check_rel_err", v, sizeof v, 0)) c->rel_err = strtod(v, NULL);
    if (field(line, "error", c->error, sizeof c->error, 1)) c->sec = 0;
}

void bench_ort_run(const bench_gemm_args *a, size_t m, size_t n, size_t k, int threads,
                   bench_ort_result *out) {
    memset(out, 0, sizeof *out);
    const char *py = python_path(), *script = script_path();
    if (access(script, R_OK) != 0) {
        snprintf(out->skip, sizeof out->skip, "peer script %s not found (CLQ_BENCH_ORT_SCRIPT)", script);
        return;
    }
    if (strchr(py, '\'') || strchr(script, '\'')) {
        snprintf(out->skip, sizeof out->skip, "a quote in the python or script path");
        return;
    }
    double budget;
    int min_runs, max_runs;
    bench_gemm_run_limits(a, &budget, &min_runs, &max_runs);
    snprintf(out->command, sizeof out->command,
             "'%s' '%s' --m %zu --n %zu --k %zu --threads %d --runs %d --budget %.2f --min-runs %d "
             "--max-runs %d", py, script, m, n, k, threads, a->runs, budget, min_runs, max_runs);
    fflush(stdout);
    FILE *f = popen(out->command, "r");
    if (!f) {
        snprintf(out->skip, sizeof out->skip, "could not start %s", py);
        return;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "ort skip", 8)) {
            if (!field(line, "reason", out->skip, sizeof out->skip, 1))
                snprintf(out->skip, sizeof out->skip, "(no reason given)");
        } else if (!strncmp(line, "ort version", 11)) {
            snprintf(out->version, sizeof out->version, "%.*s", (int)strcspn(line + 12, "\n"), line + 12);
        } else if (!strncmp(line, "ort case", 8)) {
            parse_case(line, out);
        }
    }
    int st = pclose(f);
    if (!out->skip[0] && !out->ncases) {
        if (st == -1 || !WIFEXITED(st))
            snprintf(out->skip, sizeof out->skip, "%s did not exit normally", py);
        else
            snprintf(out->skip, sizeof out->skip, "%s %s exited with status %d and no result",
                     py, script, WEXITSTATUS(st));
    }
}
