/* writer.h: writes a safetensors or GGUF file whose tensor list is known up front,
 * into a temporary file in the target's directory renamed over the target only when
 * every byte is written: a failure, or SIGINT / SIGTERM, leaves no partial file and
 * the previous target untouched. */
#ifndef CQ_WRITER_H
#define CQ_WRITER_H

#include "model.h"

typedef struct cq_out_tensor {
    const char *name;             /* copied */
    const cq_type *type;
    int ndim;
    uint64_t shape[CQ_MAX_DIMS];  /* row-major (the GGUF writer reverses it into ne[]) */
} cq_out_tensor;

typedef struct cq_writer cq_writer;

/* Lays the file out (safetensors: header JSON with data_offsets in list order and the
 * kv entries, STRING only, as __metadata__; GGUF v3: the kv entries then the tensor
 * infos, data aligned to 32 with general.alignment written) and writes the header.
 * Tensor names must be unique. */
int cq_writer_open(cq_writer **out, cq_format format, const char *path,
                   const cq_out_tensor *tensors, size_t n_tensors, const cq_kv *kv,
                   size_t n_kv, cq_err *err);
/* The byte size each tensor must receive. */
uint64_t cq_writer_tensor_bytes(const cq_writer *w, size_t index);
/* Writes bytes [at, at + nbytes) of tensor index; any order, from any thread. */
int cq_writer_write(cq_writer *w, size_t index, uint64_t at, const void *data,
                    uint64_t nbytes, cq_err *err);
/* Checks every tensor got all its bytes, flushes, and renames the file into place.
 * Frees w whatever happens (on -1 the temporary file is removed). */
int cq_writer_commit(cq_writer *w, cq_err *err);
/* Removes the temporary file and frees w (NULL is fine). */
void cq_writer_abort(cq_writer *w);

#endif /* CQ_WRITER_H */
