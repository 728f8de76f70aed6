/* status.c: status strings, error messages, version, and the small type helpers
 * shared by the api layer and the backends. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

unsigned clq_version_number(void) { return CLQ_VERSION_NUMBER; }
const char *clq_version_string(void) { return CLQ_VERSION_STRING; }

const char *clq_status_string(clq_status status) {
    switch (status) {
    case CLQ_SUCCESS: return "CLQ_SUCCESS";
    case CLQ_ERROR_INVALID_ARGUMENT: return "CLQ_ERROR_INVALID_ARGUMENT";
    case CLQ_ERROR_OUT_OF_MEMORY: return "CLQ_ERROR_OUT_OF_MEMORY";
    case CLQ_ERROR_UNSUPPORTED: return "CLQ_ERROR_UNSUPPORTED";
    case CLQ_ERROR_NO_DEVICE: return "CLQ_ERROR_NO_DEVICE";
    case CLQ_ERROR_BUILD_FAILED: return "CLQ_ERROR_BUILD_FAILED";
    case CLQ_ERROR_OPENCL: return "CLQ_ERROR_OPENCL";
    case CLQ_ERROR_OVERFLOW: return "CLQ_ERROR_OVERFLOW";
    case CLQ_ERROR_CONTEXT_MISMATCH: return "CLQ_ERROR_CONTEXT_MISMATCH";
    case CLQ_ERROR_OUT_OF_BOUNDS: return "CLQ_ERROR_OUT_OF_BOUNDS";
    case CLQ_ERROR_INVALID_QPARAMS: return "CLQ_ERROR_INVALID_QPARAMS";
    case CLQ_ERROR_INTERNAL: return "CLQ_ERROR_INTERNAL";
    }
    return "CLQ_ERROR_UNKNOWN";
}

clq_status clq__error(clq_context *ctx, clq_status status, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->error, sizeof ctx->error, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* The error buffer fields are read only when the caller's struct_size covers them: an
 * older caller's smaller struct has no such fields, and reading them reads past it. */
clq_status clq__create_error(const clq_context_options *opts, clq_status status, const char *fmt,
                             ...) {
    if (opts && opts->struct_size >= offsetof(clq_context_options, error_buffer_size) +
                                         sizeof opts->error_buffer_size &&
        opts->error_buffer && opts->error_buffer_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(opts->error_buffer, opts->error_buffer_size, fmt, ap);
        va_end(ap);
    }
    return status;
}

void clq__set_build_log(clq_context *ctx, const char *log) {
    free(ctx->build_log);
    ctx->build_log = log ? strdup(log) : NULL;
}

int clq__dtype_bits(clq_dtype t) {
    switch (t) {
    case CLQ_F32: case CLQ_S32: return 32;
    case CLQ_F16: case CLQ_BF16: return 16;
    case CLQ_S8: case CLQ_U8: return 8;
    case CLQ_S4: case CLQ_U4: return 4;
    }
    return 0;
}

int clq__dtype_is_float(clq_dtype t) { return t == CLQ_F32 || t == CLQ_F16 || t == CLQ_BF16; }

/* 9 and 10: s16 and u16 (include/clquant/clquant.h), not supported yet. */
int clq__dtype_reserved(clq_dtype t) { return (int)t == 9 || (int)t == 10; }

int clq__dtype_is_quant(clq_dtype t) {
    return t == CLQ_S8 || t == CLQ_U8 || t == CLQ_S4 || t == CLQ_U4;
}

const char *clq_dtype_name(clq_dtype t) {
    switch (t) {
    case CLQ_F32: return "f32";
    case CLQ_F16: return "f16";
    case CLQ_BF16: return "bf16";
    case CLQ_S8: return "s8";
    case CLQ_U8: return "u8";
    case CLQ_S4: return "s4";
    case CLQ_U4: return "u4";
    case CLQ_S32: return "s32";
    }
    return "unknown";
}

void clq__qrange(clq_dtype t, int narrow, int *qmin, int *qmax) {
    int bits = clq__dtype_bits(t);
    if (t == CLQ_S8 || t == CLQ_S4) {
        *qmin = -(1 << (bits - 1)) + (narrow ? 1 : 0);
        *qmax = (1 << (bits - 1)) - 1;
    } else {
        *qmin = narrow ? 1 : 0;
        *qmax = (1 << bits) - 1;
    }
}

int clq__symmetric_zero_point(clq_dtype t) {
    return (t == CLQ_U8 || t == CLQ_U4) ? 1 << (clq__dtype_bits(t) - 1) : 0;
}

const char *clq__getenv(unsigned flags, const char *name) {
    if (flags & CLQ_CONTEXT_IGNORE_ENV) return NULL;
    const char *v = getenv(name);
    return (v && *v) ? v : NULL;
}
