/* cpu_gemm_small.c: the small-M int8 GEMM (M <= 16, the token-by-token case): B streamed
 * once from memory, N split evenly over the threads, the epilogue fused per 64 columns.
 * Its tiles share the general kernels' loops (cpu_gemm_vnni.c, cpu_gemm_avx512.c,
 * cpu_gemm_avx2.c). */
#include "cpu_gemm_small.h"

#include <string.h>

#include "cpu_gemm_stage.h"
#include "cpu_internal.h"

#define NR CLQ_CPU_GEMM_SMALL_NR
#define P16 CLQ_CPU_GEMM_K4_NR
/* B smaller than this runs on the calling thread: waking the pool costs more. */
#define SMALL_SERIAL_B ((size_t)128 << 10)

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

typedef struct small_job {
    const clq_cpu_gemm_small *ks;
    clq_cpu_gemm_epi_fn epi_rows;
    clq_cpu_gemm_epi epi;
    clq_cpu_gemm_call call; /* b, corr, has_min, kp */
    const char *apack;      /* [kblocks][groups][mr or M rows][kc] as pack_a writes it */
    size_t m, n, np, kc, astride, kblock_bytes, parts;
} small_job;

/* Part t of parts: the K4 panels [t P / parts, (t + 1) P / parts), every row, all of K.
 * A static even split: a late worker leaves its part to the caller, who takes the next
 * unclaimed part from the pool's counter. */
static void small_part(void *arg, size_t t) {
    const small_job *j = arg;
    const clq_cpu_gemm_small *ks = j->ks;
    size_t panels = j->np / P16, mr = (size_t)ks->mr, kp = j->call.kp;
    size_t c0 = t * panels / j->parts * P16, c1 = (t + 1) * panels / j->parts * P16;
    _Alignas(64) int32_t acc[CLQ_CPU_GEMM_SMALL_M * NR];
    _Alignas(64) uint32_t colterm[NR], zb[NR];
    _Alignas(64) float f[NR];
    _Alignas(64) int32_t mult[NR], shift[NR];
    clq_cpu_gemm_cols cols = {colterm, zb, f, mult, shift};
    clq_cpu_gemm_call g = j->call;
    g.ldc = NR;
    for (size_t n0 = c0; n0 < c1; n0 += NR) {
        size_t cw = c1 - n0 < NR ? c1 - n0 : NR;
        size_t kb = 0;
        for (size_t k0 = 0; k0 < kp || k0 == 0; k0 += j->kc, kb++) {
            g.k0 = k0;
            g.kc = kp - k0 < j->kc ? kp - k0 : j->kc;
            const char *ap = j->apack + kb * j->kblock_bytes;
            size_t gbytes = j->astride * g.kc * (size_t)ks->a_esize;
            for (size_t i0 = 0; i0 < j->m; i0 += mr) {
                size_t r = j->m - i0 < mr ? j->m - i0 : mr;
                ks->tile(&g, ap + (i0 / mr) * gbytes, j->astride, n0, r, cw, acc + i0 * NR,
                         k0 == 0);
            }
            if (kp == 0) break;
        }
        size_t valid = (n0 + cw < j->n ? n0 + cw : j->n) - n0;
        clq__cpu_gemm_epi_cols(&j->epi, n0, valid, &cols);
        j->epi_rows(&j->epi, &cols, acc, NR, 0, j->m, n0, valid);
    }
    if (ks->finish) ks->finish();
}

clq_status clq__cpu_gemm_small(clq_context *ctx, const clq_gemm_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    const clq_cpu_gemm_small *ks = st->k.gemm_small;
    const clq_packed_weights *w = op->w;
    small_job j;
    memset(&j, 0, sizeof j);
    j.ks = ks;
    j.epi_rows = st->k.gemm_epi;
    j.m = op->m;
    j.n = op->n;
    const clq_cpu_wpack *rec = w->impl;
    size_t kp = rec->kp, np = rec->np, mr = (size_t)ks->mr;
    j.np = np;
    const int8_t *b = w->data->host;
    j.call.b = b;
    j.call.kp = kp;
    j.call.corr = (const int32_t *)(const void *)(b + np * kp);
    j.call.has_min = (const uint8_t *)(b + np * kp + np * 4);
    if (rec->off_fix) j.call.fix = (const uint32_t *)(const void *)(b + rec->off_fix);
    /* rows that fit one pass take all of K and are packed without padding rows */
    j.kc = j.m <= mr || kp <= ks->kc ? kp : ks->kc;
    if (j.kc == 0) j.kc = CLQ_CPU_GEMM_KALIGN;
    j.astride = j.m <= mr ? j.m : mr;
    size_t groups = (j.m + mr - 1) / mr;
    j.kblock_bytes = round_up(groups * j.astride * j.kc * (size_t)ks->a_esize, 64);
    size_t kblocks = kp ? (kp + j.kc - 1) / j.kc : 0;
    clq_buffer *ws = NULL;
    clq_status rc = clq__scratch(ctx, CLQ_SCRATCH_WORK, kblocks ? kblocks * j.kblock_bytes : 64, &ws);
    if (rc != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return rc;
    clq__cpu_gemm_epi_init(op, &j.epi);
    const uint8_t *a = clq__cpu_span_ptr(op->a);
    for (size_t kb = 0; kb < kblocks; kb++) {
        size_t k0 = kb * j.kc, kc = kp - k0 < j.kc ? kp - k0 : j.kc;
        ks->pack_a(a, op->lda, op->atype == CLQ_U8, j.m, k0, kc, op->k, (int)j.astride,
                   ws->host + kb * j.kblock_bytes);
    }
    j.apack = ws->host;
    size_t threads = (size_t)clq__cpu_pool_threads(st->pool), panels = np / P16;
    j.parts = np * kp < SMALL_SERIAL_B ? 1 : threads < panels ? threads : panels;
    clq__cpu_parallel(st->pool, j.parts, small_part, &j);
    return CLQ_SUCCESS;
}
