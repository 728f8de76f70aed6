/* report.c: `clquant quantize`'s output: a table row per tensor and a total on stdout
 * (sizes in MB = 10^6 bytes), or one JSON document with --json; a progress bar on stderr
 * when stdout and stderr are terminals. */
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model_read.h"

struct cq_report {
    FILE *out;
    int json, progress, bar_shown;
    size_t n_items, done, quantized;
    uint64_t total_bytes, done_bytes, bytes_in, bytes_out;
    double t0;
    json_t *rows;
    pthread_mutex_t lock;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

cq_report *cq_report_create(FILE *out, int json, int progress, size_t n_items, uint64_t total_bytes)
{
    cq_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->out = out;
    r->json = json;
    r->progress = progress < 0 ? isatty(fileno(out)) && isatty(STDERR_FILENO) : progress;
    r->n_items = n_items;
    r->total_bytes = total_bytes;
    r->t0 = now();
    pthread_mutex_init(&r->lock, NULL);
    if (json && !(r->rows = json_array())) {
        free(r);
        return NULL;
    }
    if (!json)
        fprintf(out, "%-44s %-14s %-10s %10s %10s %10s %10s %8s\n", "tensor", "shape", "scheme",
                "before MB", "after MB", "MSE", "max |err|", "SNR dB");
    return r;
}

static void bar_clear(cq_report *r)
{
    if (r->bar_shown) fputs("\r\033[K", stderr);
    r->bar_shown = 0;
}

static void bar_draw(cq_report *r)
{
    enum { WIDTH = 30 };
    double f = r->total_bytes ? (double)r->done_bytes / (double)r->total_bytes : 1.0;
    int fill = (int)(f * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '=' : ' ';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r[%s] %3.0f%%  %.1f / %.1f MB  %zu / %zu tensors", bar, f * 100,
            r->done_bytes / 1e6, r->total_bytes / 1e6, r->done, r->n_items);
    fflush(stderr);
    r->bar_shown = 1;
}

/* A double as JSON: null where not measured (NaN), a string for the infinite SNR of an
 * exact tensor (JSON has no infinity). */
static json_t *jnum(double v)
{
    if (isnan(v)) return json_null();
    if (isinf(v)) return json_string(v > 0 ? "inf" : "-inf");
    return json_real(v);
}

static void row_json(cq_report *r, const cq_tensor_report *row)
{
    json_t *o = json_object(), *shape = json_array();
    for (int i = 0; i < row->ndim; i++) json_array_append_new(shape, json_integer((json_int_t)row->shape[i]));
    json_object_set_new(o, "name", json_string(row->name));
    json_object_set_new(o, "shape", shape);
    json_object_set_new(o, "scheme", json_string(row->what));
    if (row->reason) json_object_set_new(o, "reason", json_string(row->reason));
    json_object_set_new(o, "bytes_before", json_integer((json_int_t)row->bytes_in));
    json_object_set_new(o, "bytes_after", json_integer((json_int_t)row->bytes_out));
    if (row->error.count) {
        json_object_set_new(o, "mse", jnum(row->error.mse));
        json_object_set_new(o, "max_abs_error", jnum(row->error.max_abs));
        json_object_set_new(o, "mean_abs_error", jnum(row->error.mean_abs));
        json_object_set_new(o, "snr_db", jnum(row->error.snr_db));
        json_object_set_new(o, "cosine", jnum(row->error.cosine));
    }
    if (!isnan(row->linear_cosine)) json_object_set_new(o, "linear_cosine", jnum(row->linear_cosine));
    if (row->device) json_object_set_new(o, "device", json_string(row->device));
    json_array_append_new(r->rows, o);
}

static void row_text(cq_report *r, const cq_tensor_report *row)
{
    char shape[CQ_SHAPE_SIZE], mse[32] = "-", maxe[32] = "-", snr[32] = "-";
    cq_shape_str(shape, row->ndim, row->shape);
    if (row->error.count) {
        snprintf(mse, sizeof mse, "%.3e", row->error.mse);
        snprintf(maxe, sizeof maxe, "%.3e", row->error.max_abs);
        snprintf(snr, sizeof snr, "%.2f", row->error.snr_db);
    }
    fprintf(r->out, "%-44s %-14s %-10s %10.3f %10.3f %10s %10s %8s", row->name, shape,
            row->what, row->bytes_in / 1e6, row->bytes_out / 1e6, mse, maxe, snr);
    if (row->reason) fprintf(r->out, "  (%s)", row->reason);
    if (!isnan(row->linear_cosine)) fprintf(r->out, "  linear cos %.6f", row->linear_cosine);
    fputc('\n', r->out);
}

void cq_report_row(cq_report *r, const cq_tensor_report *row)
{
    pthread_mutex_lock(&r->lock);
    r->done++;
    r->done_bytes += row->bytes_in;
    r->bytes_in += row->bytes_in;
    r->bytes_out += row->bytes_out;
    if (row->error.count) r->quantized++;
    if (r->json) {
        row_json(r, row);
    } else {
        bar_clear(r);
        row_text(r, row);
        fflush(r->out);
    }
    if (r->progress) bar_draw(r);
    pthread_mutex_unlock(&r->lock);
}

void cq_report_finish(cq_report *r, int ok, const char *input, const char *output)
{
    double secs = now() - r->t0;
    double ratio = r->bytes_out ? (double)r->bytes_in / (double)r->bytes_out : 0;
    double mbs = secs > 0 ? r->bytes_in / 1e6 / secs : 0;
    if (r->progress) {
        bar_clear(r);
        fflush(stderr);
    }
    if (r->json) {
        json_t *doc = json_object(), *total = json_object();
        json_object_set_new(doc, "ok", json_boolean(ok));
        json_object_set_new(doc, "input", json_string(input));
        json_object_set_new(doc, "output", json_string(output));
        json_object_set_new(doc, "tensors", r->rows);
        json_object_set_new(total, "tensors", json_integer((json_int_t)r->done));
        json_object_set_new(total, "quantized", json_integer((json_int_t)r->quantized));
        json_object_set_new(total, "bytes_before", json_integer((json_int_t)r->bytes_in));
        json_object_set_new(total, "bytes_after", json_integer((json_int_t)r->bytes_out));
        json_object_set_new(total, "ratio", json_real(ratio));
        json_object_set_new(total, "seconds", json_real(secs));
        json_object_set_new(total, "mb_per_s", json_real(mbs));
        json_object_set_new(doc, "total", total);
        json_dumpf(doc, r->out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', r->out);
        json_decref(doc);
    } else if (ok) {
        fprintf(r->out,
                "total: %zu tensors (%zu quantized), %.3f MB -> %.3f MB (%.2fx smaller), "
                "%.3f s, %.1f MB/s of input: %s -> %s\n",
                r->done, r->quantized, r->bytes_in / 1e6, r->bytes_out / 1e6, ratio, secs, mbs,
                input, output);
    }
    fflush(r->out);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
