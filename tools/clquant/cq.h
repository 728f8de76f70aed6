/* cq.h: what every part of the clquant tool shares: its error record (one message that
 * names the file and the field) and the limits it enforces. */
#ifndef CQ_H
#define CQ_H

#include <stddef.h>
#include <stdint.h>

#define CQ_MAX_DIMS 8
/* safetensors' own limit on its JSON header (the Rust reference refuses larger). */
#define CQ_SAFETENSORS_MAX_HEADER (100u * 1000u * 1000u)

/* Why a call failed: "FILE: FIELD: problem", complete and ready to print. Functions
 * return 0 on success and -1 after filling it (cq_fail); callers add no prefix. */
typedef struct cq_err {
    char msg[768];
} cq_err;

#if defined(__GNUC__)
#define CQ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CQ_PRINTF(f, a)
#endif

/* Fills err (may be NULL) with the formatted message; returns -1. */
int cq_fail(cq_err *err, const char *fmt, ...) CQ_PRINTF(2, 3);

#endif /* CQ_H */
