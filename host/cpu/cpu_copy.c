/* cpu_copy.c: copy_strided on the CPU: dims are merged where both views are
 * contiguous across them, then rows of the innermost dim are copied in parallel. */
#include <string.h>

#include "cpu_internal.h"

typedef struct copyjob {
    int nd; /* merged dims, innermost last */
    size_t shape[CLQ_MAX_DIMS];
    ptrdiff_t ss[CLQ_MAX_DIMS], ds[CLQ_MAX_DIMS]; /* byte strides */
    const char *src;
    char *dst;
    size_t es, rows, rows_per_chunk;
} copyjob;

static void copy_row(const copyjob *j, const char *s, char *d) {
    size_t len = j->shape[j->nd - 1];
    ptrdiff_t ss = j->ss[j->nd - 1], ds = j->ds[j->nd - 1];
    if (ss == (ptrdiff_t)j->es && ds == (ptrdiff_t)j->es) {
        memcpy(d, s, len * j->es);
    } else if (j->es == 4) {
        for (size_t i = 0; i < len; i++, s += ss, d += ds) memcpy(d, s, 4);
    } else if (j->es == 2) {
        for (size_t i = 0; i < len; i++, s += ss, d += ds) memcpy(d, s, 2);
    } else {
        for (size_t i = 0; i < len; i++, s += ss, d += ds) *d = *s;
    }
}

static void copy_chunk(void *arg, size_t chunk) {
    const copyjob *j = arg;
    size_t r0 = chunk * j->rows_per_chunk, r1 = r0 + j->rows_per_chunk;
    if (r1 > j->rows) r1 = j->rows;
    size_t idx[CLQ_MAX_DIMS] = {0};
    ptrdiff_t so = 0, dof = 0;
    size_t rem = r0;
    for (int k = j->nd - 2; k >= 0; k--) {
        idx[k] = rem % j->shape[k];
        rem /= j->shape[k];
        so += (ptrdiff_t)idx[k] * j->ss[k];
        dof += (ptrdiff_t)idx[k] * j->ds[k];
    }
    for (size_t r = r0; r < r1; r++) {
        copy_row(j, j->src + so, j->dst + dof);
        for (int k = j->nd - 2; k >= 0; k--) { /* odometer step over the outer dims */
            so += j->ss[k], dof += j->ds[k];
            if (++idx[k] < j->shape[k]) break;
            so -= (ptrdiff_t)j->shape[k] * j->ss[k], dof -= (ptrdiff_t)j->shape[k] * j->ds[k];
            idx[k] = 0;
        }
    }
}

clq_status clq__cpu_copy_strided(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst,
                                  clq_pass pass) {
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS; /* nothing here can fail */
    clq_cpu_state *st = ctx->impl;
    /* An empty view's offset and strides may be anything (nothing checks them): no
     * address or byte stride is formed from them. */
    for (int k = 0; k < src->ndim; k++)
        if (src->shape[k] == 0) return CLQ_SUCCESS;
    copyjob j;
    memset(&j, 0, sizeof j);
    j.es = clq__cpu_dtype_size(src->dtype);
    j.src = (const char *)src->buffer->host + src->offset * j.es;
    j.dst = (char *)dst->buffer->host + dst->offset * j.es;
    for (int k = 0; k < src->ndim; k++) {
        if (src->shape[k] == 1) continue;
        ptrdiff_t ss = src->strides[k] * (ptrdiff_t)j.es, ds = dst->strides[k] * (ptrdiff_t)j.es;
        int p = j.nd - 1;
        /* merge into the previous kept dim when both views step through it evenly */
        if (p >= 0 && j.ss[p] == ss * (ptrdiff_t)src->shape[k] &&
            j.ds[p] == ds * (ptrdiff_t)src->shape[k]) {
            j.shape[p] *= src->shape[k];
            j.ss[p] = ss, j.ds[p] = ds;
            continue;
        }
        j.shape[j.nd] = src->shape[k], j.ss[j.nd] = ss, j.ds[j.nd] = ds;
        j.nd++;
    }
    if (j.nd == 0) { /* a scalar, or all dims 1 */
        memcpy(j.dst, j.src, j.es);
        return CLQ_SUCCESS;
    }
    j.rows = 1;
    for (int k = 0; k < j.nd - 1; k++) j.rows *= j.shape[k];
    j.rows_per_chunk = CLQ_CPU_CHUNK / j.shape[j.nd - 1];
    if (j.rows_per_chunk == 0) j.rows_per_chunk = 1;
    clq__cpu_parallel(st->pool, clq__cpu_nchunks(j.rows, j.rows_per_chunk), copy_chunk, &j);
    return CLQ_SUCCESS;
}
