/* api_gemm.h: helpers shared by the GEMM entry points (api_gemm.c, api_gemm_pack.c). */
#ifndef CLQ_API_GEMM_H
#define CLQ_API_GEMM_H

#include "validate.h"

/* Fixed-point requantization shifts are accepted in [MIN, MAX]: a left shift of 31
 * or more would move every bit out of int32, a right shift beyond 31 likewise. */
#define CLQ_GEMM_MIN_SHIFT (-31)
#define CLQ_GEMM_MAX_SHIFT 30

/* Weight groups along K are multiples of this (the kernels' K step). */
#define CLQ_GEMM_GROUP_ALIGN 16

/* Stored value minus signed-domain value: 128 for u8, 8 for u4, else 0. */
CLQ_HIDDEN int clq__signed_shift(clq_dtype t);
/* max over the values v of type t of |v - zp|. */
CLQ_HIDDEN unsigned clq__gemm_dev(clq_dtype t, int32_t zp);

/* The steps clq_weights_pack and clq_weights_import share (api_gemm_pack.c), in order:
 * the backend has a GEMM; */
CLQ_HIDDEN clq_status clq__weights_backend_check(clq_context *ctx);
/* new packed weights of this format and shape (N bounded; nothing else allocated); */
CLQ_HIDDEN clq_status clq__weights_new(clq_context *ctx, const clq_wformat *fmt, size_t n,
                                       size_t k, clq_packed_weights **out);
/* their zero points (stored values, max(count, 1) of them, turned into the signed
 * domain in place) and scales (or NULL), [n][ngroups], already checked by the caller; */
CLQ_HIDDEN clq_status clq__weights_set_qparams(clq_context *ctx, clq_packed_weights *w,
                                               int32_t *z, const float *s, size_t count);
/* then, unless st is already an error, the backend packs b (contiguous [n][k] elements
 * of w->fmt.btype; 4-bit: element e in byte e / 2, low nibble first); it waits for
 * every queued kernel in any case (b's memory may then go) and returns the first error.
 * The caller destroys w after a failure. */
CLQ_HIDDEN clq_status clq__weights_pack_data(clq_context *ctx, clq_packed_weights *w, clq_span b,
                                             clq_status st);
#endif
