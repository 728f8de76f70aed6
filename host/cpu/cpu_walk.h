/* cpu_walk.h: splits an element range [e0, e1) of a clq_layout into segments
 * whose parameters are either one index (run), consecutive indices (vec), or
 * consecutive blocks along the last axis (blk), so kernels see long regular runs. */
#ifndef CLQ_CPU_WALK_H
#define CLQ_CPU_WALK_H

#include "backend.h"

typedef struct clq_cpu_walker {
    /* elements [e, e+len) all use param p */
    void (*run)(void *arg, size_t e, size_t len, size_t p);
    /* element e+j uses param p+j */
    void (*vec)(void *arg, size_t e, size_t len, size_t p);
    /* PER_BLOCK with inner 1: nblocks whole blocks from element e, block k using
     * param p+k (partial blocks at a row's ends go to run) */
    void (*blocks)(void *arg, size_t e, size_t nblocks, size_t p);
    /* PER_AXIS with inner 1, optional (NULL: vec per row): nrows whole rows of len
     * elements from e, element j of each using param p+j, so a kernel can keep a
     * strip of params or accumulators in registers over several rows */
    void (*rows)(void *arg, size_t e, size_t len, size_t nrows, size_t p);
} clq_cpu_walker;

/* A row segment of PER_BLOCK (inner 1) starting at axis index c0, whose row's
 * first param is p0: a partial head block, whole blocks, a partial tail. */
static inline void clq__cpu_walk_row_blocks(const clq_layout *l, const clq_cpu_walker *w, void *arg,
                                            size_t e, size_t len, size_t c0, size_t p0) {
    size_t B = l->block, p = p0 + c0 / B, head = c0 % B;
    if (head) {
        size_t m = B - head < len ? B - head : len;
        w->run(arg, e, m, p++);
        e += m;
        len -= m;
    }
    size_t nfull = len / B;
    if (nfull) {
        w->blocks(arg, e, nfull, p);
        e += nfull * B;
        len -= nfull * B;
        p += nfull;
    }
    if (len) w->run(arg, e, len, p);
}

static inline void clq__cpu_walk(const clq_layout *l, size_t e0, size_t e1, const clq_cpu_walker *w,
                                 void *arg) {
    if (e0 >= e1) return;
    if (l->gran == CLQ_PER_TENSOR) {
        w->run(arg, e0, e1 - e0, 0);
    } else if (l->inner == 1) {
        size_t row = e0 / l->axis_len, c = e0 % l->axis_len;
        for (size_t e = e0; e < e1; row++, c = 0) {
            size_t len = l->axis_len - c, nrows = (e1 - e) / l->axis_len;
            if (w->rows && l->gran == CLQ_PER_AXIS && c == 0 && nrows > 1) {
                w->rows(arg, e, l->axis_len, nrows, 0);
                e += nrows * l->axis_len;
                row += nrows - 1;
                continue;
            }
            if (len > e1 - e) len = e1 - e;
            if (l->gran == CLQ_PER_AXIS)
                w->vec(arg, e, len, c);
            else
                clq__cpu_walk_row_blocks(l, w, arg, e, len, c, row * l->nblocks);
            e += len;
        }
    } else {
        size_t i = e0 % l->inner, oc = e0 / l->inner;
        size_t c = oc % l->axis_len, o = oc / l->axis_len;
        for (size_t e = e0; e < e1; i = 0) {
            size_t len = l->inner - i;
            if (len > e1 - e) len = e1 - e;
            if (l->gran == CLQ_PER_AXIS)
                w->run(arg, e, len, c);
            else
                w->vec(arg, e, len, (o * l->nblocks + c / l->block) * l->inner + i);
            e += len;
            if (++c == l->axis_len) c = 0, o++;
        }
    }
}

#endif
