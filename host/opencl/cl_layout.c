/* cl_layout.c: how the granule-wise kernels (quantize_gran, dequantize_gran,
 * minmax_gran) split a clq_layout into work items. */
#include "cl_internal.h"

void clq__cl_walk_init(const clq_layout *l, size_t chunk, clq_cl_walk *w) {
    *w = (clq_cl_walk){0};
    w->n = l->n;
    w->outer = l->outer;
    w->axis_len = l->axis_len;
    w->inner = l->inner; /* 0 for an empty tensor: every granule then has 0 elements */
    w->nblocks = l->nblocks;
    w->block = l->block ? l->block : 1;
    w->gpi = 1;
    if (l->gran == CLQ_PER_TENSOR || l->nparams == 1) {
        /* One pair for everything: the contiguous per-tensor walk is the fastest. */
        w->mode = CLQ_WALK_TENSOR;
        w->ngran = 1;
        w->maxcnt = l->n;
    } else if (l->gran == CLQ_PER_AXIS) {
        w->mode = CLQ_WALK_AXIS;
        w->ngran = l->axis_len;
        w->maxcnt = l->outer * l->inner;
    } else {
        w->mode = l->inner == 1 ? CLQ_WALK_BLOCK_CONTIG : CLQ_WALK_BLOCK_STRIDED;
        w->ngran = l->nparams;
        w->maxcnt = l->block < l->axis_len ? l->block : l->axis_len;
        /* Blocks along a contiguous axis follow each other in memory: give a work
         * item several short ones so its setup is paid once per chunk. */
        if (w->mode == CLQ_WALK_BLOCK_CONTIG && w->maxcnt > 0 && w->maxcnt <= chunk / 2)
            w->gpi = chunk / w->block;
    }
    w->nparts = w->maxcnt > chunk ? clq__cl_div_up(w->maxcnt, chunk) : 1;
}

/* Parameters whose index runs along the contiguous rows: per axis on the last
 * (inner 1) axis, and per block on a strided axis. */
int clq__cl_cols_layout(const clq_layout *l, cl_ulong *rows, cl_ulong *rlen, cl_ulong pr[4]) {
    if (l->nparams == 1) return 0;
    if (l->gran == CLQ_PER_AXIS && l->inner == 1) {
        *rows = l->outer;
        *rlen = l->axis_len;
        pr[0] = 1, pr[1] = 0, pr[2] = 1, pr[3] = 1;
        return 1;
    }
    if (l->gran == CLQ_PER_BLOCK && l->inner > 1) {
        *rows = (cl_ulong)l->outer * l->axis_len;
        *rlen = l->inner;
        pr[0] = l->axis_len, pr[1] = l->nblocks, pr[2] = l->block, pr[3] = l->inner;
        return 1;
    }
    return 0;
}
