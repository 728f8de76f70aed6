/* cpu_error.c: the error statistics op on the CPU (backend.h, clq_error_op): each task
 * owns whole chunks, so their lanes see the same additions in the same order whatever
 * the thread count; y comes from the quantize and dequantize kernels through small
 * buffers of the task's own. Also the portable statistics kernel (SIMD ones:
 * cpu_error_simd.c). */
#include <math.h>
#include <string.h>

#include "cpu_convert.h"
#include "cpu_elementwise.h"

enum { LANES = CLQ_ERROR_LANES, CHUNK = CLQ_ERROR_CHUNK, NV = CLQ_ERROR_COUNT };
/* Columns per task where a granule's elements are one per row (inner 1): the task's
 * accumulators, LANES x STRIP per statistic, stay within the L1 cache. */
enum { STRIP = 64 };

static void ek_rows(clq_dtype xt, const void *x, size_t ldx, clq_dtype yt, const void *y,
                    size_t ldy, size_t width, size_t nrows, const clq_cpu_erracc *a) {
    for (size_t r = 0; r < nrows; r++)
        for (size_t j = 0; j < width; j++) {
            float xv = clq__load_float(xt, x, r * ldx + j), yv = clq__load_float(yt, y, r * ldy + j);
            float e = yv - xv;
            if (e != e) continue;
            float ae = fabsf(e);
            a->v[CLQ_ERROR_E2][j] += e * e;
            a->v[CLQ_ERROR_ABS][j] += ae;
            if (ae > a->v[CLQ_ERROR_MAX][j]) a->v[CLQ_ERROR_MAX][j] = ae;
            a->v[CLQ_ERROR_X2][j] += xv * xv;
            a->v[CLQ_ERROR_Y2][j] += yv * yv;
            a->v[CLQ_ERROR_XY][j] += xv * yv;
            a->n[j]++;
        }
}

const clq_cpu_errkernels clq__cpu_errk_portable = {ek_rows, NULL, 0};

/* ---- the driver ------------------------------------------------------------ */

typedef struct err_job {
    const clq_error_op *op;
    const clq_cpu_errkernels *k;
    clq_dequantize_op dq;     /* quantization mode: the dequantize of q's values */
    clq_cpu_ew_job qj, dj;    /* and the two maps, one value per byte in between */
    const char *x, *y;
    size_t xs, ys;
    float *part;
    size_t per;               /* chunks per task (granule runs) */
    size_t nstrips;           /* column strips (one element per row) */
    int fused;                /* quantization mode by k->quant (fused_ok) */
} err_job;

/* One task's buffers: y's f32 values and the quantized bytes before them. */
typedef struct err_bufs {
    uint8_t q[CHUNK];
    float y[CHUNK];
} err_bufs;

/* The data of elements [e, e + len) (len <= CHUNK): x in place, y in place or made. */
static const void *y_of(const err_job *j, size_t e, size_t len, err_bufs *b, clq_dtype *yt) {
    if (j->op->y.buf) {
        *yt = j->op->ytype;
        return j->y + e * j->ys;
    }
    clq__cpu_ew_span(&j->qj, e, e + len, j->x + e * j->xs, b->q);
    clq__cpu_ew_span(&j->dj, e, e + len, b->q, b->y);
    *yt = CLQ_F32;
    return b->y;
}

/* The tree of backend.h over LANES values a[l * st]. */
static float fold_sum(const float *a, size_t st) {
    float t[LANES / 2];
    for (size_t l = 0; l < LANES / 2; l++) t[l] = a[l * st] + a[(l + LANES / 2) * st];
    for (size_t h = LANES / 4; h; h /= 2)
        for (size_t l = 0; l < h; l++) t[l] = t[l] + t[l + h];
    return t[0];
}

/* One chunk's partial from its lanes: v[s] + l * st, n + l * st. */
static void write_part(float *p, float *const v[NV], const uint32_t *n, size_t st) {
    uint32_t cnt = 0;
    float mx = 0.0f;
    for (size_t l = 0; l < LANES; l++) {
        cnt += n[l * st];
        mx = v[CLQ_ERROR_MAX][l * st] > mx ? v[CLQ_ERROR_MAX][l * st] : mx;
    }
    for (int s = 0; s < NV; s++) p[s] = s == CLQ_ERROR_MAX ? mx : fold_sum(v[s], st);
    p[CLQ_ERROR_COUNT] = (float)cnt;
    p[CLQ_ERROR_COUNT + 1] = 0.0f;
}

/* ---- granules as runs of consecutive elements (outer 1, or inner > 1) ---- */

typedef struct lanes16 {
    float v[NV][LANES];
    uint32_t n[LANES];
} lanes16;

static clq_cpu_erracc lanes_at(lanes16 *L, size_t l) {
    clq_cpu_erracc a;
    for (int s = 0; s < NV; s++) a.v[s] = L->v[s] + l;
    a.n = L->n + l;
    return a;
}

/* Elements [e, e + len) at lanes from ph on: a head up to lane 0, rows of LANES, a tail. */
static void acc_run(const err_job *j, size_t e, size_t len, size_t ph, lanes16 *L, err_bufs *b) {
    clq_dtype xt = j->op->xtype, yt;
    const char *x = j->x + e * j->xs, *y = y_of(j, e, len, b, &yt);
    size_t ys = yt == CLQ_F32 ? 4 : 2;
    size_t h = ph ? LANES - ph : 0;
    if (h > len) h = len;
    clq_cpu_erracc a = lanes_at(L, ph);
    if (h) j->k->rows(xt, x, 0, yt, y, 0, h, 1, &a);
    size_t m = (len - h) / LANES, t = (len - h) % LANES;
    a = lanes_at(L, 0);
    x += h * j->xs, y += h * ys;
    if (m) j->k->rows(xt, x, LANES, yt, y, LANES, LANES, m, &a);
    if (t) j->k->rows(xt, x + m * LANES * j->xs, 0, yt, y + m * LANES * ys, 0, t, 1, &a);
}

/* Elements from e on that share e's quantization parameter (the layout's run). */
static size_t param_run(const clq_layout *l, size_t e) {
    if (l->gran == CLQ_PER_TENSOR) return SIZE_MAX;
    if (l->gran == CLQ_PER_AXIS) return l->inner - e % l->inner;
    size_t c = e % l->axis_len, b = l->block - c % l->block; /* per block, inner 1 */
    return b < l->axis_len - c ? b : l->axis_len - c;
}

/* Whether the fused kernel takes this op's runs: quantization mode, and every run of
 * acc_run's full rows starting at lane 0 on an element that is a multiple of LANES (stats
 * per tensor, or granules of whole LANES-multiples), where the parameters change only at
 * multiples of LANES (so whole rows share one), blocks from the kernel set's
 * quant_min_block on (Q_MARK has no fallback for a block's extreme to land on, so the
 * limit is only the per-block setup's cost). */
static int fused_ok(const clq_error_op *op, const clq_cpu_errkernels *k) {
    const clq_layout *l = &op->q.lay;
    if (op->y.buf || !k->quant || op->inner == 1) return 0;
    if (!((op->ngran == 1 && op->outer == 1) || op->inner % LANES == 0)) return 0;
    if (l->gran == CLQ_PER_TENSOR) return 1;
    if (l->gran == CLQ_PER_AXIS) return l->inner % LANES == 0;
    return l->inner == 1 && l->block % LANES == 0 && l->block >= k->quant_min_block &&
           l->axis_len % LANES == 0;
}

/* acc_run by the fused kernel: the head to lane 0 and the tail the chained way, the
 * rows between in runs of one parameter. */
static void acc_fused(const err_job *j, size_t e, size_t len, size_t ph, lanes16 *L, err_bufs *b) {
    clq_dtype xt = j->op->xtype, yt;
    size_t h = ph ? LANES - ph : 0;
    if (h > len) h = len;
    clq_cpu_erracc a = lanes_at(L, ph);
    if (h) {
        const void *y = y_of(j, e, h, b, &yt);
        j->k->rows(xt, j->x + e * j->xs, 0, yt, y, 0, h, 1, &a);
    }
    e += h, len -= h;
    a = lanes_at(L, 0);
    const clq_layout *l = &j->op->q.lay;
    while (len >= LANES) {
        size_t run = param_run(l, e), p = clq_layout_param(l, e), np = 1, rpp;
        const int32_t *zp = j->qj.zp ? j->qj.zp + p : NULL;
        if (run < len && l->gran == CLQ_PER_BLOCK && run == l->block) {
            /* whole blocks from here to the axis' end, their parameters consecutive */
            size_t left = l->axis_len - e % l->axis_len;
            np = (len < left ? len : left) / l->block;
            rpp = l->block / LANES;
        } else {
            rpp = (run < len ? run : len) / LANES;
        }
        if (!rpp) break; /* fused_ok rules this out; the chained way then takes the rest */
        j->k->quant(&j->qj.cfg, j->x + e * j->xs, np, rpp, j->qj.scale + p, zp, &a);
        e += np * rpp * LANES, len -= np * rpp * LANES;
    }
    if (len) {
        const void *y = y_of(j, e, len, b, &yt);
        j->k->rows(xt, j->x + e * j->xs, 0, yt, y, 0, len, 1, &a);
    }
}

static void runs_task(void *arg, size_t task) {
    const err_job *j = arg;
    const clq_error_op *op = j->op;
    size_t cnt = op->outer * op->inner, nu = op->ngran * op->nchunks;
    err_bufs b;
    for (size_t u = task * j->per; u < nu && u < (task + 1) * j->per; u++) {
        size_t g = u / op->nchunks, k = u % op->nchunks;
        size_t p0 = k * CHUNK, p1 = cnt - p0 < CHUNK ? cnt : p0 + CHUNK;
        lanes16 L;
        memset(&L, 0, sizeof L);
        for (size_t p = p0; p < p1;) {
            size_t o = p / op->inner, i = p % op->inner, run = op->inner - i;
            if (run > p1 - p) run = p1 - p;
            (j->fused ? acc_fused : acc_run)(j, (o * op->ngran + g) * op->inner + i, run,
                                             (p - p0) % LANES, &L, &b);
            p += run;
        }
        float *v[NV];
        for (int s = 0; s < NV; s++) v[s] = L.v[s];
        write_part(j->part + u * CLQ_ERROR_NSTATS, v, L.n, 1);
    }
}

/* ---- one element per row (inner 1, outer > 1): strips of columns ---------- */

typedef struct strip_acc {
    float v[NV][LANES][STRIP];
    uint32_t n[LANES][STRIP];
} strip_acc;

static clq_cpu_erracc strip_lane(strip_acc *A, size_t l) {
    clq_cpu_erracc a;
    for (int s = 0; s < NV; s++) a.v[s] = A->v[s][l];
    a.n = A->n[l];
    return a;
}

/* Task (chunk k, strip s): rows [k CHUNK, ...) of columns [s STRIP, ...); row r's lane
 * is r % LANES. Whole rows of y are made several at a time (up to CHUNK elements). */
static void strips_task(void *arg, size_t task) {
    const err_job *j = arg;
    const clq_error_op *op = j->op;
    size_t k = task / j->nstrips, c0 = task % j->nstrips * STRIP;
    size_t w = op->ngran - c0 < STRIP ? op->ngran - c0 : STRIP;
    size_t r0 = k * CHUNK, r1 = op->outer - r0 < CHUNK ? op->outer : r0 + CHUNK;
    size_t group = w == op->ngran && CHUNK / w > 1 ? CHUNK / w : 1;
    clq_dtype xt = op->xtype, yt;
    strip_acc A;
    err_bufs b;
    memset(&A, 0, sizeof A);
    for (size_t r = r0; r < r1; r += group) {
        size_t nr = r1 - r < group ? r1 - r : group;
        size_t e = r * op->ngran + c0;
        const char *y = y_of(j, e, group == 1 ? w : nr * w, &b, &yt);
        size_t ys = yt == CLQ_F32 ? 4 : 2, ld = group == 1 ? 0 : op->ngran;
        for (size_t i = 0; i < nr; i++) {
            clq_cpu_erracc a = strip_lane(&A, (r + i - r0) % LANES);
            j->k->rows(xt, j->x + (e + i * op->ngran) * j->xs, 0, yt, y + i * ld * ys, 0, w, 1, &a);
        }
    }
    for (size_t c = 0; c < w; c++) {
        float *v[NV];
        for (int s = 0; s < NV; s++) v[s] = &A.v[s][0][c];
        write_part(j->part + ((c0 + c) * op->nchunks + k) * CLQ_ERROR_NSTATS, v, &A.n[0][c], STRIP);
    }
}

clq_status clq__cpu_error_stats(clq_context *ctx, const clq_error_op *op, clq_pass pass) {
    if (pass == CLQ_PASS_PREPARE) return CLQ_SUCCESS; /* nothing here can fail */
    clq_cpu_state *st = ctx->impl;
    err_job j;
    memset(&j, 0, sizeof j);
    j.op = op;
    j.k = st->k.error;
    j.x = clq__cpu_span_ptr(op->x);
    j.y = clq__cpu_span_ptr(op->y);
    j.xs = clq__cpu_dtype_size(op->xtype);
    j.ys = op->y.buf ? clq__cpu_dtype_size(op->ytype) : 4;
    j.part = clq__cpu_span_ptr(op->part);
    if (!op->y.buf) {
        /* the quantize and dequantize ops' own settings; their values one per byte */
        clq__cpu_quantize_job(st, &op->q, &j.qj);
        j.dq = (clq_dequantize_op){op->q.qtype, {NULL, 0}, {NULL, 0}, op->q.lay, op->q.scale,
                                   op->q.zp};
        clq__cpu_dequantize_job(st, &j.dq, &j.dj);
        j.qj.out_size = j.dj.in_size = 1;
        j.qj.cfg.stream = j.dj.cfg.stream = 0;
    }
    if (op->inner == 1 && op->outer > 1) {
        j.nstrips = (op->ngran + STRIP - 1) / STRIP;
        clq__cpu_parallel(st->pool, op->nchunks * j.nstrips, strips_task, &j);
        return CLQ_SUCCESS;
    }
    j.fused = fused_ok(op, j.k);
    j.per = 4; /* 16384 positions a task */
    clq__cpu_parallel(st->pool, (op->ngran * op->nchunks + j.per - 1) / j.per, runs_task, &j);
    return CLQ_SUCCESS;
}
