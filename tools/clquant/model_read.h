/* model_read.h: what the two readers (st_read.c, gguf_read.c) share with model.c: the
 * per-format entry points and the checks both formats make on the tensor list. */
#ifndef CQ_MODEL_READ_H
#define CQ_MODEL_READ_H

#include "model.h"

/* Each fills m (whose path, base and size are set) or fails; on -1 the caller frees m. */
int cq_st_parse(cq_model *m, cq_err *err);
int cq_gguf_parse(cq_model *m, cq_err *err);

/* A name as messages print it: single-quoted, non-printable bytes as \xNN, cut after
 * about 100 bytes with "..." (a hostile file's name can be anything). Returns buf. */
#define CQ_QUOTE_SIZE 128
const char *cq_quote(char buf[CQ_QUOTE_SIZE], const char *s, size_t len);

/* "[3, 4]" into buf. */
#define CQ_SHAPE_SIZE 192
const char *cq_shape_str(char buf[CQ_SHAPE_SIZE], int ndim, const uint64_t *shape);

/* Sorts m->tensors by data offset (ties: by end, then header order) and sets each
 * tensor's data pointer (base + offset). */
int cq_model_sort_tensors(cq_model *m, cq_err *err);
/* Fails, naming it, when two of the n names are equal: the char * at byte offset
 * name_at of each of the n records of size stride from records. what: "tensor" or "kv". */
int cq_check_unique(const cq_model *m, const void *records, size_t n, size_t stride,
                    size_t name_at, const char *what, cq_err *err);

#endif /* CQ_MODEL_READ_H */
