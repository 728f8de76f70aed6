/* report.h: what `clquant quantize` prints: one table row per tensor and a total on
 * stdout (or one JSON document with --json), and a progress bar on stderr when both
 * are terminals. Rows may come from several threads, in any order. */
#ifndef CQ_REPORT_H
#define CQ_REPORT_H

#include <stdio.h>

#include "quant.h"

typedef struct cq_report cq_report;

/* total_bytes: input bytes the progress bar counts up to. progress: -1 auto (stdout and
 * stderr are ttys), 0 off, 1 on. Returns NULL when out of memory. */
cq_report *cq_report_create(FILE *out, int json, int progress, size_t n_items,
                            uint64_t total_bytes);
void cq_report_row(cq_report *r, const cq_tensor_report *row);
/* Prints the total (bytes before / after, ratio, seconds, MB/s) and frees r. ok: 0 when
 * the run failed (JSON then says so; the table prints no total). */
void cq_report_finish(cq_report *r, int ok, const char *input, const char *output);

#endif /* CQ_REPORT_H */
