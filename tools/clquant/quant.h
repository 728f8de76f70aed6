/* quant.h: the weight schemes `clquant quantize` offers, the plan that maps an input
 * model to the output's tensor list (which tensors are quantized, which stay, under
 * which names), and the per-tensor step that quantizes one on a clquant context,
 * writes it, and measures what was lost. */
#ifndef CQ_QUANT_H
#define CQ_QUANT_H

#include <clquant/clquant.h>
#include <stdio.h>

#include "model.h"
#include "writer.h"

/* Names of the tensors a quantized safetensors weight T becomes (compressed-tensors'
 * naming: docs/CLI.md): T itself (int8 values) or T_packed (4-bit values packed in
 * int32), T_scale, T_zero_point (only where not all zero), T_shape (4-bit: [N, K]). */
#define CQ_SUFFIX_PACKED "_packed"
#define CQ_SUFFIX_SCALE "_scale"
#define CQ_SUFFIX_ZERO_POINT "_zero_point"
#define CQ_SUFFIX_SHAPE "_shape"
/* __metadata__ keys the tool writes (safetensors) / GGUF keys. */
#define CQ_META_SCHEME "clquant.scheme"
#define CQ_META_VERSION "clquant.version"

typedef struct cq_scheme {
    const char *name;               /* as --scheme takes it: "s8-channel", "q4_0", ... */
    clq_dtype qtype;                /* CLQ_S8 / CLQ_S4 (the value type) */
    clq_granularity granularity;    /* PER_AXIS (channel), PER_TENSOR, PER_BLOCK (group) */
    size_t group;                   /* PER_BLOCK: elements per group along K */
    clq_linear_scheme linear;       /* the clq_linear scheme of the same weights (ggml
                                       schemes: unused, their blocks are imported) */
    clq_weights_layout ggml;        /* Q8_0 / Q4_0: the ggml layout; 0 otherwise */
    cq_format format;               /* the one format that can hold it */
} cq_scheme;

const cq_scheme *cq_scheme_find(const char *name); /* NULL: unknown */
/* All schemes, for usage text: *count receives their number. */
const cq_scheme *cq_scheme_list(size_t *count);

typedef struct cq_quantize_options {
    const cq_scheme *scheme;
    cq_format format;               /* the output's; must be scheme->format */
    const char *skip;               /* POSIX ERE: matching tensors are left out; NULL none */
    const char *keep_float;         /* POSIX ERE: matching tensors stay as they are */
    int quantize_embeddings;        /* embeddings are kept unless set */
    size_t check_linear_rows;       /* > 0: rows of seeded random x through clq_linear per
                                       quantized weight, cosine against f32 */
} cq_quantize_options;

typedef enum cq_action {
    CQ_ACT_COPY = 0,                /* bytes unchanged */
    CQ_ACT_QUANTIZE = 1
} cq_action;

typedef struct cq_plan_item {
    size_t input;                   /* index into the input model's tensors */
    cq_action action;
    const char *reason;             /* COPY: why (static text: "1-D", "--keep-float", ...) */
    size_t first_out, n_out;        /* its tensors in plan->out */
} cq_plan_item;

typedef struct cq_plan {
    cq_quantize_options options;
    size_t n_items;
    cq_plan_item *items;            /* input order; --skip'd tensors have none */
    size_t n_out;
    cq_out_tensor *out;             /* the writer's list (names owned by the plan) */
    size_t n_kv;
    cq_kv *kv;                      /* metadata to write (input's, then the tool's) */
    size_t n_kv_borrowed;           /* kv[0, n) are the input's entries (not owned) */
    uint64_t bytes_in;              /* input bytes of every item (what progress counts) */
} cq_plan;

int cq_plan_build(cq_plan *plan, const cq_model *in, const cq_quantize_options *options,
                  cq_err *err);
void cq_plan_free(cq_plan *plan);

/* One report row; double fields are NaN where not measured. */
typedef struct cq_tensor_report {
    const char *name;
    int ndim;
    uint64_t shape[CQ_MAX_DIMS];
    const char *what;               /* scheme name, or "keep" */
    const char *reason;             /* keep: why */
    uint64_t bytes_in, bytes_out;   /* the input tensor's bytes; all its output tensors' */
    clq_error_stats error;          /* quantized tensors (count 0 otherwise) */
    double linear_cosine;           /* check_linear_rows > 0: y_quantized vs y_f32 */
    const char *device;             /* clq_context_device_name of the context that ran it */
} cq_tensor_report;

/* What one worker keeps from item to item, grown to the largest item and released by
 * cq_run_scratch_free (zero-initialise it): a fresh allocation per tensor costs a page
 * fault and a page clear per 4 KiB, more than the quantization itself on the CPU path. */
typedef struct cq_run_scratch {
    clq_buffer *x, *q, *scale, *y;  /* on the context (x: where the input is not wrapped) */
    size_t x_cap, q_cap, scale_cap, y_cap;
    unsigned char *host_q, *host_out;
    float *host_scale;
    size_t host_q_cap, host_out_cap, host_scale_cap;
} cq_run_scratch;
void cq_run_scratch_free(cq_run_scratch *s);

/* Runs plan item `item`: copies or quantizes the input tensor on ctx, writes its output
 * tensors through w, fills rep. Host memory it holds (in s, kept for the next item):
 * the item's output bytes plus one f32 copy of the tensor (docs/CLI.md, "Memory").
 * Thread-safe across contexts, each with its own s. */
int cq_run_item(clq_context *ctx, const cq_model *in, const cq_plan *plan, size_t item,
                cq_writer *w, cq_run_scratch *s, cq_tensor_report *rep, cq_err *err);

/* `clquant quantize` on open contexts (items shared out between them, one thread each):
 * reads input, writes output only when every item succeeded, the report (table or
 * JSON, progress: as cq_report_create) to out. */
int cq_quantize_file(const char *input, const char *output, const cq_quantize_options *options,
                     clq_context **ctxs, size_t n_ctx, FILE *out, int json, int progress,
                     cq_err *err);
/* `clquant dequantize` on ctx: output is safetensors. */
int cq_dequantize_file(const char *input, const char *output, clq_context *ctx, cq_err *err);

/* A quantized weight as `clquant quantize` writes it to safetensors, found by its
 * names (the values T or T_packed, with T_scale and, 4-bit, T_shape). */
typedef struct cq_qweight {
    char *name;                     /* T (owned) */
    const cq_tensor_info *values;   /* T (I8 [N, K]) or T_packed (I32 [N, ceil(K / 8)]) */
    const cq_tensor_info *scale;    /* F32: [1], [N, 1] or [N, ceil(K / g)] */
    clq_dtype qtype;                /* CLQ_S8 or CLQ_S4 */
    clq_granularity granularity;
    size_t group;                   /* PER_BLOCK */
    uint64_t n, k;
} cq_qweight;

/* 1 and *q filled when t is the values tensor of a quantized weight; 0 when it is not
 * one; -1 (err names the file and the tensor) when its companions do not fit it. */
int cq_qweight_find(const cq_model *m, const cq_tensor_info *t, cq_qweight *q, cq_err *err);
/* 1 when t is the _scale, _shape or _zero_point companion of a quantized weight. */
int cq_qweight_companion(const cq_model *m, const cq_tensor_info *t);
void cq_qweight_free(cq_qweight *q);
/* The weight's f32 values [N, K], dequantized on ctx into y (N * K floats). */
int cq_qweight_dequantize(clq_context *ctx, const cq_model *m, const cq_qweight *q, float *y,
                          cq_err *err);

#endif /* CQ_QUANT_H */
