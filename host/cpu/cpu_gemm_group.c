/* cpu_gemm_group.c: the GEMM driver for weights in the group format (4-bit, or in
 * groups along K): A packed once with its signed-domain group sums, register tiles
 * over all of K group by group (cpu_gemm_group.h), then the output stage: the int8
 * epilogue on d_0 when there is one group, else the f32 / requantizing finish of the
 * folded sums. Few rows (decode) split N over the threads, each streaming its panels. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "cpu_gemm_group.h"
#include "cpu_gemm_kernel.h"
#include "cpu_gemm_stage.h"
#include "cpu_internal.h"

#define P CLQ_CPU_GG_P
/* Row groups per row block when M is larger than a tile: the block's packed A (up to
 * 16 mr rows of K bytes) stays in L2 while the tiles walk N. */
#define GG_BLOCK_GROUPS 16
/* Column tasks per thread for few rows: tasks of contiguous panels, a late worker's
 * share taken by the others. */
#define GG_TASKS_PER_THREAD 4

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

typedef struct gg_job {
    const clq_cpu_gemm_group *ks;
    clq_cpu_gg_args args;
    const int8_t *apack;
    size_t agroup;        /* bytes per packed row group */
    size_t m, n, np, G;
    size_t mc, mb, ctiles, ntasks, tiles_per_task;
    int few;              /* M <= mr: tasks are column ranges */
    /* the finish */
    clq_cpu_gemm_epi epi; /* one group: the int8 epilogue, C = d_0 */
    clq_cpu_gemm_epi_fn epi_rows;
    clq_dtype ctype;
    char *c;
    size_t ldc;
    const float *bias;
    int relu;
    float flo, fhi;
    uint32_t zc;
    char *ws;
    size_t ws_size;
    atomic_size_t next;
} gg_job;

/* C of the tile from the folded y (G != 1): bias and ReLU, or the requantization. */
static void finish_fold(const gg_job *j, const float *y, size_t ldo, size_t m0, size_t rows,
                        size_t n0, size_t cols) {
    for (size_t i = 0; i < rows; i++) {
        const float *yr = y + i * ldo;
        size_t m = m0 + i;
        if (j->ctype == CLQ_F32) {
            float *o = (float *)(void *)j->c + m * j->ldc + n0;
            for (size_t c = 0; c < cols; c++) {
                float v = yr[c];
                if (j->bias) v = v + j->bias[n0 + c];
                if (j->relu) v = v > 0.0f ? v : 0.0f;
                o[c] = v;
            }
        } else {
            uint8_t *o = (uint8_t *)j->c + m * j->ldc + n0;
            for (size_t c = 0; c < cols; c++) {
                float v = yr[c];
                v = v < j->flo ? j->flo : v > j->fhi ? j->fhi : v;
                v = v == v ? v : 0.0f; /* a NaN product (TRUSTED scales) gives zc */
                o[c] = (uint8_t)((uint32_t)(int32_t)nearbyintf(v) + j->zc);
            }
        }
    }
}

/* One tile: rows [m0, m0 + rows) of row group gi, columns [n0, n0 + cols). */
static void tile(const gg_job *j, char *ws, size_t gi, size_t m0, size_t rows, size_t n0,
                 size_t cols) {
    const clq_cpu_gemm_group *ks = j->ks;
    size_t nr = (size_t)ks->nr, ldo = nr;
    void *out = ws;
    if (j->G == 0) {
        memset(out, 0, rows * ldo * sizeof(float));
    } else {
        ks->tile(&j->args, j->apack + gi * j->agroup, m0, rows, n0, cols, out, ldo);
    }
    if (j->G == 1) {
        char *cb = ws + round_up((size_t)ks->mr * nr * 4, 64);
        clq_cpu_gemm_cols t = {(uint32_t *)(void *)cb, (uint32_t *)(void *)(cb + nr * 4),
                               (float *)(void *)(cb + 2 * nr * 4),
                               (int32_t *)(void *)(cb + 3 * nr * 4),
                               (int32_t *)(void *)(cb + 4 * nr * 4)};
        clq__cpu_gemm_epi_cols(&j->epi, n0, cols, &t);
        j->epi_rows(&j->epi, &t, out, ldo, m0, rows, n0, cols);
    } else {
        finish_fold(j, out, ldo, m0, rows, n0, cols);
    }
}

static void gg_chunk(void *arg, size_t chunk) {
    gg_job *j = arg;
    char *ws = j->ws + chunk * j->ws_size;
    size_t mr = (size_t)j->ks->mr, nr = (size_t)j->ks->nr;
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (t >= j->ntasks) break;
        if (j->few) {
            size_t c0 = t * j->ctiles / j->ntasks, c1 = (t + 1) * j->ctiles / j->ntasks;
            for (size_t ct = c0; ct < c1; ct++) {
                size_t n0 = ct * nr, cols = j->n - n0 < nr ? j->n - n0 : nr;
                tile(j, ws, 0, 0, j->m, n0, cols);
            }
            continue;
        }
        /* consecutive tasks walk N over one row block, whose A stays in cache */
        size_t mi = t / j->ctiles, ct = t % j->ctiles;
        size_t n0 = ct * nr, cols = j->n - n0 < nr ? j->n - n0 : nr;
        size_t mend = (mi + 1) * j->mc < j->m ? (mi + 1) * j->mc : j->m;
        for (size_t m0 = mi * j->mc; m0 < mend; m0 += mr) {
            size_t rows = mend - m0 < mr ? mend - m0 : mr;
            tile(j, ws, m0 / mr, m0, rows, n0, cols);
        }
    }
}

/* rs'_j[m] (signed-domain sums of A over each group) and za'_j[m], from A and op. */
static void a_terms(const clq_cpu_state *st, const clq_gemm_op *op, size_t G, size_t group,
                    int32_t *rs, int32_t *za, size_t nza, int *za_zero, int *rs16) {
    int a_u8 = op->atype == CLQ_U8;
    const uint8_t *a = clq__cpu_span_ptr(op->a);
    for (size_t m = 0; m < op->m; m++)
        for (size_t g = 0; g < G; g++) {
            size_t k0 = g * group, len = op->k - k0 < group ? op->k - k0 : group;
            uint32_t s = 0;
            st->k.rowsums->run(!a_u8, a + m * op->lda + k0, len, &s);
            rs[m * G + g] = (int32_t)(s - (a_u8 ? 128u * (uint32_t)len : 0u));
        }
    *rs16 = 1;
    for (size_t i = 0; i < op->m * G; i++)
        if (rs[i] < INT16_MIN || rs[i] > INT16_MAX) *rs16 = 0;
    const int32_t *z = clq__cpu_span_ptr(op->za);
    int32_t lo = a_u8 ? 0 : -128, hi = a_u8 ? 255 : 127;
    *za_zero = 1;
    for (size_t i = 0; i < nza; i++) {
        int32_t v = z ? z[i] : 0;
        v = v < lo ? lo : v > hi ? hi : v;
        za[i] = v - (a_u8 ? 128 : 0);
        if (za[i] != 0) *za_zero = 0;
    }
}

clq_status clq__cpu_gemm_group(clq_context *ctx, const clq_gemm_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    const clq_packed_weights *w = op->w;
    const clq_cpu_wpack *rec = w->impl;
    const clq_cpu_gemm_group *ks = st->k.gemm_group;
    if (op->m == 0 || op->n == 0) return CLQ_SUCCESS;
    gg_job j;
    memset(&j, 0, sizeof j);
    size_t mr = (size_t)ks->mr, nr = (size_t)ks->nr;
    size_t G = rec->ngroups, group = G ? rec->group : 0;
    j.ks = ks;
    j.m = op->m, j.n = op->n, j.np = rec->np, j.G = G;
    size_t groups = (op->m + mr - 1) / mr;
    j.agroup = mr * rec->kp; /* as clq__cpu_gemm_pack_a_k4s8 lays the groups */
    size_t nza = op->a_gran == CLQ_PER_TENSOR ? 1 : op->a_gran == CLQ_PER_AXIS ? op->m : op->m * G;
    int threads = clq__cpu_pool_threads(st->pool);
    j.ctiles = (op->n + nr - 1) / nr;
    j.few = op->m <= mr;
    if (j.few) {
        size_t want = (size_t)threads * GG_TASKS_PER_THREAD;
        j.ntasks = j.ctiles < want ? j.ctiles : want;
    } else {
        size_t gb = groups < GG_BLOCK_GROUPS ? groups : GG_BLOCK_GROUPS;
        size_t mb = (groups + gb - 1) / gb;
        j.mc = (groups + mb - 1) / mb * mr;
        j.mb = (op->m + j.mc - 1) / j.mc;
        j.ntasks = j.mb * j.ctiles;
    }
    size_t nchunks = j.ntasks < (size_t)threads ? j.ntasks : (size_t)threads;
    j.ws_size = round_up(mr * nr * 4, 64) + round_up(5 * nr * 4, 64);
    size_t abytes = groups * j.agroup, rbytes = 2 * round_up(op->m * (G ? G : 1) * 4, 64),
           zbytes = round_up(nza * 4, 64);
    clq_buffer *ws = NULL;
    clq_status rc = clq__scratch(ctx, CLQ_SCRATCH_WORK,
                                 abytes + rbytes + zbytes + nchunks * j.ws_size, &ws);
    if (rc != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return rc;
    char *base = ws->host;
    int8_t *apack = (int8_t *)base;
    int32_t *rs = (int32_t *)(void *)(base + abytes), *za = (int32_t *)(void *)(base + abytes + rbytes);
    j.ws = base + abytes + rbytes + zbytes;
    const uint8_t *a = clq__cpu_span_ptr(op->a);
    if (rec->kp)
        clq__cpu_gemm_pack_a_k4s8(a, op->lda, op->atype == CLQ_U8, op->m, 0, rec->kp, op->k,
                                  (int)mr, apack);
    int za_zero, rs16;
    a_terms(st, op, G, group, rs, za, nza, &za_zero, &rs16);
    /* the two correction products as one vpmaddwd where every operand fits int16, unless
     * they reduce to one broadcast (zbu all alike, za' 0) */
    int32_t *ra = rs + rbytes / 8;
    int pairs = rec->zx_ok && rs16 && !(rec->zbu_const >= 0 && za_zero);
    if (pairs) {
        size_t zm = op->a_gran == CLQ_PER_TENSOR ? 0 : op->a_gran == CLQ_PER_AXIS ? 1 : G;
        size_t zj = op->a_gran == CLQ_PER_BLOCK ? 1 : 0;
        for (size_t m = 0; m < op->m; m++)
            for (size_t g = 0; g < G; g++)
                ra[m * G + g] = (int32_t)((uint32_t)(uint16_t)rs[m * G + g] |
                                          (uint32_t)za[m * zm + g * zj] << 16);
    }
    j.apack = apack;

    clq_cpu_gg_args *g = &j.args;
    const uint8_t *data = w->data->host;
    g->b = data;
    g->pstride = rec->pstride;
    g->sb = w->sb ? (const float *)(const void *)(data + rec->off_sb) : NULL;
    g->zbu = rec->zbu_const < 0 ? data + rec->off_zbu : NULL;
    g->zbu_c = rec->zbu_const;
    g->xc = za_zero ? NULL : (const int32_t *)(const void *)(data + rec->off_xc);
    g->zx = pairs ? (const int32_t *)(const void *)(data + rec->off_zx) : NULL;
    g->ra = ra;
    g->ngroups = G;
    g->gq = G ? group / 4 : 0;
    if (G == 1) g->gq = rec->kp / 4; /* one group: all of packed K */
    g->kq = rec->kp / 4;
    g->bits = rec->bits;
    g->rs = rs;
    g->za = za;
    g->za_m = op->a_gran == CLQ_PER_TENSOR ? 0 : op->a_gran == CLQ_PER_AXIS ? 1 : G;
    g->za_j = op->a_gran == CLQ_PER_BLOCK ? 1 : 0;
    g->sa = clq__cpu_span_ptr(op->sa);
    g->sa_m = g->za_m, g->sa_j = g->za_j;
    const float *sc = clq__cpu_span_ptr(op->sc);
    g->sc = sc ? *sc : 1.0f;
    int quant = op->ctype == CLQ_S8 || op->ctype == CLQ_U8;
    g->mode = G == 1 ? CLQ_CPU_GG_INT : quant ? CLQ_CPU_GG_REQ : CLQ_CPU_GG_F32;

    if (G == 1) {
        clq__cpu_gemm_epi_init(op, &j.epi);
        j.epi.c_exact = 1; /* the tile's int32 is C itself */
        j.epi.rs = NULL;
        j.epi_rows = st->k.gemm_epi;
    } else {
        j.ctype = op->ctype;
        j.c = clq__cpu_span_ptr(op->c);
        j.ldc = op->ldc;
        j.bias = clq__cpu_span_ptr(op->bias);
        j.relu = op->relu;
        if (quant) {
            const int32_t *zc = clq__cpu_span_ptr(op->zc);
            int clo, chi;
            clq__qrange(op->ctype, 0, &clo, &chi);
            int32_t z = zc ? *zc : 0;
            z = z < clo ? clo : z > chi ? chi : z;
            j.zc = (uint32_t)z;
            j.flo = (float)(op->qmin - z);
            j.fhi = (float)(op->qmax - z);
        }
    }
    atomic_init(&j.next, 0);
    clq__cpu_parallel(st->pool, nchunks, gg_chunk, &j);
    return CLQ_SUCCESS;
}
