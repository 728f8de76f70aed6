/* cmd_quantize.c: `clquant quantize MODEL -o OUT --scheme S`: plans the output, opens
 * the device contexts, and runs the plan's items on them (one thread per context, each
 * taking the next item), rows to the report, the file committed only when all succeed. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "quant.h"
#include "report.h"

typedef struct job {
    const cq_model *in;
    const cq_plan *plan;
    cq_writer *w;
    cq_report *report;
    pthread_mutex_t lock;
    size_t next;
    int failed;
    cq_err err;
} job;

typedef struct worker {
    job *j;
    clq_context *ctx;
} worker;

static void *work(void *arg)
{
    worker *wk = arg;
    job *j = wk->j;
    cq_run_scratch scratch = {0};
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t item = j->next++;
        int stop = j->failed || item >= j->plan->n_items;
        pthread_mutex_unlock(&j->lock);
        if (stop) break;
        cq_tensor_report rep;
        cq_err err;
        if (cq_run_item(wk->ctx, j->in, j->plan, item, j->w, &scratch, &rep, &err)) {
            pthread_mutex_lock(&j->lock);
            if (!j->failed) j->err = err; /* the first failure is the one reported */
            j->failed = 1;
            pthread_mutex_unlock(&j->lock);
            break;
        }
        cq_report_row(j->report, &rep);
    }
    cq_run_scratch_free(&scratch);
    return NULL;
}

static void usage(FILE *f)
{
    size_t n;
    const cq_scheme *s = cq_scheme_list(&n);
    fprintf(f, "usage: clquant quantize MODEL -o OUT --scheme SCHEME [options]\n"
               "  MODEL            safetensors or GGUF (f32/f16/bf16 2-D weights are quantized)\n"
               "  -o, --output     the file to write (replaced only when complete)\n"
               "  --scheme         ");
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%s", s[i].name, i + 1 < n ? "|" : "\n");
    fprintf(f, "  --format         safetensors|gguf (default: the scheme's; q8_0 / q4_0 are GGUF)\n"
               "  --skip REGEX     leave matching tensors out of the output\n"
               "  --keep-float REGEX  copy matching tensors unchanged\n"
               "  --quantize-embeddings  quantize embedding tables too\n"
               "  --check-linear ROWS    also run ROWS random rows through each quantized layer\n"
               "                   (clq_linear) and report the cosine against f32\n"
               "  --device SPEC    auto|cpu|all|P:D|INDEX|NAME (as CLQ_DEVICE; docs/CLI.md)\n"
               "  --json           one JSON document on stdout instead of the table\n"
               "  --progress / --no-progress  force the progress bar on stderr on or off\n");
}

int cq_quantize_file(const char *input, const char *output, const cq_quantize_options *qo,
                     clq_context **ctxs, size_t n_ctx, FILE *out, int json, int progress,
                     cq_err *errp)
{
    cq_model in;
    cq_plan plan;
    cq_err err;
    cq_writer *w = NULL;
    cq_report *report = NULL;
    int rc = -1, have_model = 0, have_plan = 0;
    if (cq_model_open(&in, input, &err)) goto fail;
    have_model = 1;
    if (cq_plan_build(&plan, &in, qo, &err)) goto fail;
    have_plan = 1;
    if (cq_writer_open(&w, qo->format, output, plan.out, plan.n_out, plan.kv, plan.n_kv, &err)) goto fail;
    if (!(report = cq_report_create(out, json, progress, plan.n_items, plan.bytes_in))) {
        cq_fail(&err, "out of memory");
        goto fail;
    }
    job j = {.in = &in, .plan = &plan, .w = w, .report = report};
    pthread_mutex_init(&j.lock, NULL);
    worker *wk = calloc(n_ctx, sizeof *wk);
    pthread_t *th = calloc(n_ctx, sizeof *th);
    size_t started = 0;
    if (wk && th) {
        for (size_t i = 0; i < n_ctx; i++) wk[i] = (worker){&j, ctxs[i]};
        /* the main thread runs the first context itself */
        for (size_t i = 1; i < n_ctx; i++, started++)
            if (pthread_create(&th[i], NULL, work, &wk[i])) break;
        work(&wk[0]);
        for (size_t i = 1; i <= started; i++) pthread_join(th[i], NULL);
    } else {
        j.failed = 1;
        cq_fail(&j.err, "out of memory");
    }
    free(wk);
    free(th);
    pthread_mutex_destroy(&j.lock);
    if (j.failed) {
        err = j.err;
        goto fail;
    }
    cq_writer *commit = w;
    w = NULL;
    if (cq_writer_commit(commit, &err)) goto fail;
    cq_report_finish(report, 1, input, output);
    report = NULL;
    rc = 0;
    goto done;
fail:
    cq_writer_abort(w);
    if (report) cq_report_finish(report, 0, input, output);
    if (errp) *errp = err;
done:
    if (have_plan) cq_plan_free(&plan);
    if (have_model) cq_model_free(&in);
    return rc;
}

int cq_cmd_quantize(int argc, char **argv)
{
    enum { O_SCHEME = 256, O_FORMAT, O_SKIP, O_KEEP, O_EMBED, O_DEVICE, O_JSON, O_CHECK, O_PROG, O_NOPROG };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},  {"scheme", required_argument, NULL, O_SCHEME},
        {"format", required_argument, NULL, O_FORMAT}, {"skip", required_argument, NULL, O_SKIP},
        {"keep-float", required_argument, NULL, O_KEEP},
        {"quantize-embeddings", no_argument, NULL, O_EMBED},
        {"device", required_argument, NULL, O_DEVICE}, {"json", no_argument, NULL, O_JSON},
        {"check-linear", required_argument, NULL, O_CHECK},
        {"progress", no_argument, NULL, O_PROG}, {"no-progress", no_argument, NULL, O_NOPROG},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *output = NULL, *scheme = NULL, *format = NULL, *device = NULL;
    int json = 0, progress = -1, c;
    cq_quantize_options qo = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case O_SCHEME: scheme = optarg; break;
        case O_FORMAT: format = optarg; break;
        case O_SKIP: qo.skip = optarg; break;
        case O_KEEP: qo.keep_float = optarg; break;
        case O_EMBED: qo.quantize_embeddings = 1; break;
        case O_DEVICE: device = optarg; break;
        case O_JSON: json = 1; break;
        case O_PROG: progress = 1; break;
        case O_NOPROG: progress = 0; break;
        case O_CHECK: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || !*optarg || v == 0 || v > 4096) {
                fprintf(stderr, "clquant quantize: --check-linear %s: a row count in [1, 4096]\n", optarg);
                return 2;
            }
            qo.check_linear_rows = v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc || !output || !scheme) {
        fprintf(stderr, "clquant quantize: %s\n",
                optind + 1 != argc ? "one MODEL file expected" : !output ? "-o OUT is required"
                                                                         : "--scheme is required");
        usage(stderr);
        return 2;
    }
    if (!(qo.scheme = cq_scheme_find(scheme))) {
        fprintf(stderr, "clquant quantize: --scheme %s: unknown\n", scheme);
        usage(stderr);
        return 2;
    }
    qo.format = qo.scheme->format;
    if (format) {
        if (strcmp(format, "safetensors") && strcmp(format, "gguf")) {
            fprintf(stderr, "clquant quantize: --format %s: safetensors or gguf\n", format);
            return 2;
        }
        qo.format = !strcmp(format, "gguf") ? CQ_FORMAT_GGUF : CQ_FORMAT_SAFETENSORS;
    }
    clq_context **ctxs = NULL;
    size_t n_ctx = 0;
    if (cq_devices_open_or_say("quantize", device, &ctxs, &n_ctx)) return 1;
    cq_err err;
    int rc = cq_quantize_file(argv[optind], output, &qo, ctxs, n_ctx, stdout, json, progress, &err);
    if (rc) fprintf(stderr, "clquant quantize: %s\n", err.msg);
    cq_devices_close(ctxs, n_ctx);
    return rc ? 1 : 0;
}
