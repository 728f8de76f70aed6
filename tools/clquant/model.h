/* model.h: a model file (safetensors or GGUF) as the tool reads it: its tensors, in
 * data-offset order, as views into the mapped file, and its metadata; the table of the element
 * types both formats name. Parsing never reads outside [data, data + size). */
#ifndef CQ_MODEL_H
#define CQ_MODEL_H

#include "cq.h"

typedef enum cq_format {
    CQ_FORMAT_SAFETENSORS = 1,
    CQ_FORMAT_GGUF = 2
} cq_format;

/* Element types of either format. Values are the tool's own; the table maps names. */
typedef enum cq_type_id {
    CQ_T_F64, CQ_T_F32, CQ_T_F16, CQ_T_BF16, CQ_T_F8_E4M3, CQ_T_F8_E5M2,
    CQ_T_I64, CQ_T_U64, CQ_T_I32, CQ_T_U32, CQ_T_I16, CQ_T_U16, CQ_T_I8, CQ_T_U8, CQ_T_BOOL,
    /* ggml block types (GGUF only; Q8_0 and Q4_0 are the ones the tool writes) */
    CQ_T_Q4_0, CQ_T_Q4_1, CQ_T_Q5_0, CQ_T_Q5_1, CQ_T_Q8_0, CQ_T_Q8_1,
    CQ_T_Q2_K, CQ_T_Q3_K, CQ_T_Q4_K, CQ_T_Q5_K, CQ_T_Q6_K, CQ_T_Q8_K,
    CQ_T_IQ2_XXS, CQ_T_IQ2_XS, CQ_T_IQ3_XXS, CQ_T_IQ1_S, CQ_T_IQ4_NL, CQ_T_IQ3_S, CQ_T_IQ2_S,
    CQ_T_IQ4_XS, CQ_T_IQ1_M, CQ_T_TQ1_0, CQ_T_TQ2_0,
    CQ_T_COUNT
} cq_type_id;

typedef struct cq_type {
    cq_type_id id;
    const char *name;        /* as `clquant info` prints it: "F32", "Q4_0", ... */
    const char *st_name;     /* safetensors dtype string, NULL when it has none */
    int gguf_type;           /* ggml_type value, -1 when GGUF has none */
    uint32_t block_elems;    /* elements per block along the innermost dimension (1: scalar) */
    uint32_t block_bytes;    /* bytes per block */
} cq_type;

const cq_type *cq_type_get(cq_type_id id);
const cq_type *cq_type_from_st(const char *st_name); /* NULL: unknown */
const cq_type *cq_type_from_gguf(uint32_t gguf_type); /* NULL: unknown */
/* Bytes of a tensor of this type and row-major shape: -1 (err names `what`) when the
 * innermost dimension is not a multiple of the block or the size overflows uint64. */
int cq_type_nbytes(const cq_type *t, int ndim, const uint64_t *shape, uint64_t *out,
                   const char *what, cq_err *err);

typedef struct cq_tensor_info {
    char *name;                   /* NUL-terminated, owned by the model */
    const cq_type *type;
    int ndim;
    uint64_t shape[CQ_MAX_DIMS];  /* row-major, outermost first (GGUF's ne[] reversed) */
    uint64_t offset;              /* of the data, from the start of the file */
    uint64_t nbytes;
    const unsigned char *data;    /* the model's base + offset */
} cq_tensor_info;

/* GGUF metadata value types (gguf_type), also used for safetensors' string metadata. */
enum {
    CQ_KV_U8 = 0, CQ_KV_I8 = 1, CQ_KV_U16 = 2, CQ_KV_I16 = 3, CQ_KV_U32 = 4, CQ_KV_I32 = 5,
    CQ_KV_F32 = 6, CQ_KV_BOOL = 7, CQ_KV_STRING = 8, CQ_KV_ARRAY = 9, CQ_KV_U64 = 10,
    CQ_KV_I64 = 11, CQ_KV_F64 = 12
};

/* One metadata entry. raw is the value exactly as GGUF encodes it (after the key and the
 * type: for an array its element type, count and elements), so that a writer copies it
 * unchanged; str is set for strings (safetensors metadata, GGUF STRING). */
typedef struct cq_kv {
    char *key;                    /* owned */
    uint32_t type;                /* CQ_KV_* */
    const unsigned char *raw;     /* into the file, or into owned */
    uint64_t raw_len;
    char *str;                    /* owned, NUL-terminated; NULL unless type is STRING */
    unsigned char *owned;         /* raw's storage when built by cq_kv_set_* (else NULL) */
} cq_kv;

/* "u8", "i8", ..., "string", "array", "u64", "i64", "f64" (gguf_type's names, short);
 * "unknown" outside them. */
const char *cq_kv_type_name(uint32_t type);
/* Bytes of one value of a scalar GGUF type; 0 for a string, an array or an unknown type. */
unsigned cq_kv_scalar_size(uint32_t type);

/* Builders for entries a writer emits (raw encoded as GGUF, str set for strings). */
int cq_kv_set_string(cq_kv *kv, const char *key, const char *value, cq_err *err);
int cq_kv_set_u32(cq_kv *kv, const char *key, uint32_t value, cq_err *err);
void cq_kv_clear(cq_kv *kv);
/* The value as `clquant info` shows it (arrays: type, count and the first few); malloc'd. */
char *cq_kv_format(const cq_kv *kv);

typedef struct cq_model {
    cq_format format;
    char *path;                   /* for messages; owned */
    const unsigned char *base;    /* the whole file */
    uint64_t size;
    int mapped;                   /* base is an mmap this model unmaps */
    uint64_t data_offset;         /* where tensor data starts (safetensors: 8 + header) */
    uint32_t gguf_version;        /* GGUF: 2 or 3 */
    uint64_t alignment;           /* GGUF: general.alignment or 32 */
    size_t n_tensors;
    cq_tensor_info *tensors;      /* data-offset order (ties: header order) */
    size_t n_kv;
    cq_kv *kv;                    /* safetensors: __metadata__ (STRING values); GGUF: all */
} cq_model;

/* Parses data[0, size) (not copied: it must outlive the model) as safetensors or GGUF,
 * told apart by GGUF's magic. path names the file in messages. Every structural error
 * (truncation, sizes, offsets out of range, overlap, unsorted data, unknown dtype,
 * shape / byte-count mismatch, duplicate names, bad magic / version / counts / string
 * lengths) is -1 with err naming the file and the field. On -1 the model is empty. */
int cq_model_parse(cq_model *m, const char *path, const void *data, uint64_t size, cq_err *err);
/* Maps the file read-only and parses it. */
int cq_model_open(cq_model *m, const char *path, cq_err *err);
void cq_model_free(cq_model *m);
const cq_tensor_info *cq_model_find(const cq_model *m, const char *name);
const cq_kv *cq_model_kv(const cq_model *m, const char *key);

#endif /* CQ_MODEL_H */
