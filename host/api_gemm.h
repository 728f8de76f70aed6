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
#endif
