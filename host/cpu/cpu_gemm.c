/* cpu_gemm.c: the int8 GEMM ops of the CPU path: weight packing (with column sums),
 * row sums of A, and the blocked, multi-threaded driver around the micro-kernels. */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm_kernel.h"
#include "cpu_gemm_stage.h"
#include "cpu_internal.h"

#define KALIGN CLQ_CPU_GEMM_KALIGN

/* Blocking. A K panel of one nr-column B tile (nr x kc bytes) stays in L1 (or L2,
 * at the AVX-512 VNNI kernel's kc) while the kernel walks the A block (mc x kc)
 * from L2; the int32 accumulators of a block (mc x nc) stay in L2 across K panels,
 * and the output stages run on each register tile after its last K panel. Small M
 * (at most one row group: the token-by-token case) takes all of K in one panel, so
 * every B byte is read once, straight into the registers, and the work splits
 * over N. */
#define GEMM_MC_MAX ((size_t)192)
#define GEMM_NC_MAX ((size_t)256)
#define GEMM_NC_MIN ((size_t)16)
/* Accumulators the output stages take per call (a call costs about as much as a
 * few dozen of them). */
#define GEMM_EPI_MIN ((size_t)256)
/* Tasks per thread to aim for when splitting N, so that uneven tasks and a worker
 * that wakes late even out: the tail is at most one task. Small M keeps tasks of at
 * least GEMM_NC_MIN columns with fewer of them (each task re-reads its A). */
#define GEMM_TASKS_PER_THREAD 16
#define GEMM_TASKS_PER_THREAD_SMALL_M 4

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* ---- packing B ---------------------------------------------------------- */

#define PACK_ROWS ((size_t)64)

typedef struct pack_job {
    const uint8_t *b;
    uint8_t flip;
    int format;
    size_t n, k, kp, np;
    int8_t *dst;
    int32_t *colsum, *corr;
    uint8_t *has_min;
    uint32_t *fix;         /* the fixup trailer (start[], entries), or NULL */
    size_t *count;         /* min_fix: the -128 weights per panel, SIZE_MAX once dense */
} pack_job;

static void pack_rows_chunk(void *arg, size_t chunk) {
    const pack_job *j = arg;
    size_t r1 = (chunk + 1) * PACK_ROWS;
    if (r1 > j->np) r1 = j->np;
    for (size_t r = chunk * PACK_ROWS; r < r1; r++) {
        int8_t *d = j->dst + r * j->kp;
        size_t kv = r < j->n ? j->k : 0;
        const uint8_t *s = j->b + r * j->k;
        uint32_t sum = 0; /* wraps mod 2^32, as the contract says */
        for (size_t p = 0; p < kv; p++) {
            d[p] = (int8_t)(s[p] ^ j->flip);
            sum += (uint32_t)(int32_t)d[p];
        }
        memset(d + kv, 0, j->kp - kv);
        if (r < j->n && j->colsum) j->colsum[r] = (int32_t)sum;
    }
}

static void pack_k4_chunk(void *arg, size_t p) {
    const pack_job *j = arg;
    uint32_t *fix = NULL;
    if (j->fix && j->count[p] != SIZE_MAX) fix = j->fix + j->fix[p];
    clq__cpu_gemm_pack_k4_panel(j->b, j->flip, j->n, j->k, j->kp, p,
                                j->dst + p * CLQ_CPU_GEMM_K4_NR * j->kp, j->corr, j->has_min,
                                j->colsum, fix);
}

/* min_fix: a panel with more -128 weights than this keeps them (has_min): the
 * kernel's exact slow form there costs less than that many fixups per row. */
static size_t fix_dense(size_t kp) { return kp / 4; }

static void count_k4_chunk(void *arg, size_t p) {
    const pack_job *j = arg;
    j->count[p] = clq__cpu_gemm_count_min_k4(j->b, j->flip, j->n, j->k, p, fix_dense(j->kp));
}

/* Counts each panel's -128 weights into j->count (SIZE_MAX: dense) and sets *bytes
 * to the fixup trailer's (start[] and entries); 0, j->count NULL, where the kernel
 * has no fixups or an entry's 28 bits of k (or a start's 32 bits) would not do. */
static clq_status plan_fixups(clq_context *ctx, clq_cpu_state *st, pack_job *j, size_t *bytes) {
    size_t panels = j->np / CLQ_CPU_GEMM_K4_NR;
    *bytes = 0;
    if (!st->k.gemm->min_fix || j->kp >= ((size_t)1 << 28)) return CLQ_SUCCESS;
    j->count = malloc((panels ? panels : 1) * sizeof *j->count);
    if (!j->count) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: out of host memory packing");
    clq__cpu_parallel(st->pool, panels, count_k4_chunk, j);
    size_t entries = 0;
    for (size_t p = 0; p < panels; p++) {
        if (j->count[p] > fix_dense(j->kp)) j->count[p] = SIZE_MAX;
        else entries += j->count[p];
    }
    if (entries > UINT32_MAX - panels - 1) {
        free(j->count);
        j->count = NULL;
        return CLQ_SUCCESS;
    }
    *bytes = (panels + 1 + entries) * sizeof(uint32_t);
    return CLQ_SUCCESS;
}

void clq__cpu_gemm_unpack(clq_packed_weights *w) {
    free(w->impl);
    w->impl = NULL;
}

clq_status clq__cpu_gemm_pack(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w) {
    clq_cpu_state *st = ctx->impl;
    if (clq__dtype_bits(op->fmt.btype) != 8 || op->fmt.gran == CLQ_PER_BLOCK)
        return clq__cpu_gemm_group_pack(ctx, op, w); /* cpu_gemm_group_pack.c */
    const clq_cpu_gemm_kernel *kern = st->k.gemm;
    size_t nr = (size_t)clq__cpu_gemm_panel(kern->format);
    int k4 = nr == CLQ_CPU_GEMM_K4_NR;
    size_t kp = round_up(op->k, KALIGN), np = round_up(op->n, nr);
    if (kp && np > SIZE_MAX / kp)
        return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: packed weights of %zu x %zu overflow",
                          op->n, op->k);
    pack_job j = {clq__cpu_span_ptr(op->b), op->fmt.btype == CLQ_U8 ? 0x80 : 0, kern->format,
                  op->n, op->k, kp, np, NULL, w->colsum ? w->colsum->host : NULL,
                  NULL, NULL, NULL, NULL};
    /* K4 trailers: corr[np], has_min[np / 16], then (min_fix) the fixups 4-byte aligned */
    size_t fix_bytes = 0, off_fix = round_up(np * kp + np * 4 + np / CLQ_CPU_GEMM_K4_NR, 4);
    clq_status s = k4 ? plan_fixups(ctx, st, &j, &fix_bytes) : CLQ_SUCCESS;
    size_t extra = !k4 ? 0 : fix_bytes ? off_fix - np * kp + fix_bytes : np * 4 + np / CLQ_CPU_GEMM_K4_NR;
    if (s == CLQ_SUCCESS && np * kp > SIZE_MAX - extra)
        s = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: packed weights of %zu x %zu overflow",
                       op->n, op->k);
    clq_cpu_wpack *rec = s == CLQ_SUCCESS ? malloc(sizeof *rec) : NULL;
    if (s == CLQ_SUCCESS && !rec)
        s = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: out of host memory packing");
    if (s != CLQ_SUCCESS) goto out;
    *rec = (clq_cpu_wpack){.format = kern->format, .nr = nr, .kp = kp, .np = np,
                           .off_fix = fix_bytes ? off_fix : 0};
    w->impl = rec;
    w->impl_bytes = sizeof *rec;
    s = clq_buffer_create(ctx, np * kp + extra, &w->data);
    if (s != CLQ_SUCCESS) goto out;
    int8_t *base = w->data->host;
    j.dst = base;
    if (k4) {
        j.corr = (int32_t *)(void *)(base + np * kp);
        j.has_min = (uint8_t *)(base + np * kp + np * 4);
    }
    if (fix_bytes) {
        size_t panels = np / CLQ_CPU_GEMM_K4_NR, at = panels + 1; /* indices into the trailer */
        j.fix = (uint32_t *)(void *)(base + off_fix);
        for (size_t p = 0; p < panels; p++) {
            j.fix[p] = (uint32_t)at;
            at += j.count[p] == SIZE_MAX ? 0 : j.count[p];
        }
        j.fix[panels] = (uint32_t)at;
    }
    if (k4)
        clq__cpu_parallel(st->pool, np / CLQ_CPU_GEMM_K4_NR, pack_k4_chunk, &j);
    else if (kp)
        clq__cpu_parallel(st->pool, clq__cpu_nchunks(np, PACK_ROWS), pack_rows_chunk, &j);
    else if (op->n && j.colsum)
        memset(j.colsum, 0, op->n * sizeof *j.colsum);
out:
    free(j.count);
    return s;
}

/* ---- the GEMM driver ---------------------------------------------------- */

/* States of a packed A block: its first user packs it, the others wait. */
enum { A_EMPTY, A_PACKING, A_READY };

typedef struct gemm_job {
    const clq_cpu_gemm_kernel *kern;
    clq_cpu_gemm_epi_fn epi_rows;
    clq_cpu_gemm_epi epi;
    const uint8_t *a;
    size_t lda;
    int a_u8;
    int direct;                /* the kernel reads A in place (no packing) */
    clq_cpu_gemm_call call;    /* b, corr, has_min, kp; k0, kc, ldc per use */
    size_t m, n, k, kc, mc, nc, ldacc, mb, ntasks;
    size_t kpanels, ablock;    /* K panels; bytes of one packed A block (mc x kc) */
    char *apack;               /* every block of A packed once: [mb][kpanels] blocks */
    atomic_uchar *astate;      /* [mb][kpanels]: A_EMPTY, A_PACKING, A_READY */
    char *ws;                  /* one workspace of ws_size bytes per chunk */
    size_t ws_size;
    atomic_size_t next;
} gemm_job;

/* Workspace carve-up; every piece starts 64-byte aligned. */
typedef struct gemm_ws {
    int32_t *acc;    /* mc x ldacc */
    clq_cpu_gemm_cols cols;
} gemm_ws;

static size_t ws_layout(const gemm_job *j, char *base, gemm_ws *w) {
    size_t off = 0;
#define WS_TAKE(ptr, bytes)                                      \
    do {                                                         \
        if (base) ptr = (void *)(base + off);                    \
        off += round_up((bytes), 64);                            \
    } while (0)
    gemm_ws d;
    gemm_ws *o = w ? w : &d;
    WS_TAKE(o->acc, j->mc * j->ldacc * sizeof(int32_t));
    WS_TAKE(o->cols.colterm, j->nc * 4);
    WS_TAKE(o->cols.zb, j->nc * 4);
    WS_TAKE(o->cols.f, j->nc * 4);
    WS_TAKE(o->cols.mult, j->nc * 4);
    WS_TAKE(o->cols.shift, j->nc * 4);
#undef WS_TAKE
    return off;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* The packed A block (mi, ki), packed here by the first thread that needs it: A is
 * packed once per call, by the thread that then reads it from its own cache, and
 * without a parallel pass of its own (each pass wakes the pool). Blocks of one row
 * block are claimed panel by panel, so two threads starting on the same rows pack
 * alternate K panels. A waiter yields after a while: the packer may be preempted. */
static const char *a_block(gemm_job *j, size_t mi, size_t ki) {
    size_t i = mi * j->kpanels + ki;
    atomic_uchar *s = &j->astate[i];
    char *dst = j->apack + i * j->ablock;
    if (atomic_load_explicit(s, memory_order_acquire) == A_READY) return dst;
    unsigned char want = A_EMPTY;
    if (atomic_compare_exchange_strong_explicit(s, &want, A_PACKING, memory_order_relaxed,
                                                memory_order_relaxed)) {
        size_t m0 = mi * j->mc, k0 = ki * j->kc, kp = j->call.kp;
        size_t rows = j->m - m0 < j->mc ? j->m - m0 : j->mc;
        size_t kc = kp - k0 < j->kc ? kp - k0 : j->kc;
        j->kern->pack_a(j->a + m0 * j->lda, j->lda, j->a_u8, rows, k0, kc, j->k, j->kern->mr,
                        dst);
        atomic_store_explicit(s, A_READY, memory_order_release);
        return dst;
    }
    for (unsigned spins = 0; atomic_load_explicit(s, memory_order_acquire) != A_READY; spins++)
        if (spins < 4096) cpu_relax();
        else sched_yield();
    return dst;
}

/* Prefetches for one tile call: the C lines of the tile before the kernel's last K
 * panel runs on it, so the output stage's stores find them in cache (measured: most
 * of the stage's time at 1024^3 was its s32 stores), and a slice of the next B tile,
 * which the first row group would otherwise wait on from L3. A kernel that takes
 * the list (pf_spread) issues it spread over its K loop; a burst of misses stalls
 * on the fill buffers (measured at 2048^3: 3% of the time on the prefetches). */
typedef struct gemm_pf {
    const char *line[2 * CLQ_CPU_GEMM_PF_MAX];
    size_t nc, nb;
} gemm_pf;

static void pf_c(const clq_cpu_gemm_epi *e, size_t m0, size_t rows, size_t n0, size_t cols,
                 gemm_pf *pf) {
    size_t bytes = cols * e->csize;
    for (size_t i = 0; i < rows; i++) {
        const char *p = e->c + ((m0 + i) * e->ldc + n0) * e->csize;
        /* the lines [p, p + bytes) touches */
        const char *l = (const char *)((uintptr_t)p & ~(uintptr_t)63);
        for (; l < p + bytes && pf->nc < CLQ_CPU_GEMM_PF_MAX; l += 64) pf->line[pf->nc++] = l;
    }
}

/* Slice `part` of `parts` of the K4 B tile of cols columns at n0 in this K panel. */
static void pf_b(const clq_cpu_gemm_call *g, size_t n0, size_t part, size_t parts, size_t cols,
                 gemm_pf *pf) {
    size_t bytes = g->kc * CLQ_CPU_GEMM_K4_NR, lo = bytes * part / parts,
           hi = bytes * (part + 1) / parts;
    const char **out = pf->line + CLQ_CPU_GEMM_PF_MAX;
    for (size_t p = n0; p < n0 + cols; p += CLQ_CPU_GEMM_K4_NR) {
        const char *b = (const char *)(g->b + p * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR);
        for (size_t o = lo & ~(size_t)63; o < hi && pf->nb < CLQ_CPU_GEMM_PF_MAX; o += 64)
            out[pf->nb++] = b + o;
    }
}

static void pf_now(const gemm_pf *pf) {
    for (size_t i = 0; i < pf->nc; i++) __builtin_prefetch(pf->line[i], 1, 3);
    for (size_t i = 0; i < pf->nb; i++) __builtin_prefetch(pf->line[CLQ_CPU_GEMM_PF_MAX + i], 0, 2);
}

/* One block: rows [m0, m0 + rows) x columns [n0, n0 + cols), all of K. The output
 * stages run on each register tile (or a few, for the small tiles) right after its
 * last K panel, while the tile's accumulators are still in L1. */
static void gemm_block(gemm_job *j, const gemm_ws *w, size_t mi, size_t rows, size_t n0,
                       size_t cols) {
    const clq_cpu_gemm_kernel *kern = j->kern;
    size_t mr = (size_t)kern->mr, nr = (size_t)kern->nr, ld = j->ldacc, m0 = mi * j->mc;
    size_t ncp = round_up(cols, (size_t)clq__cpu_gemm_panel(kern->format));
    size_t kp = j->call.kp;
    clq__cpu_gemm_epi_cols(&j->epi, n0, cols, &w->cols);
    if (kp == 0) {
        for (size_t i = 0; i < rows; i++) memset(w->acc + i * ld, 0, ncp * sizeof(int32_t));
        j->epi_rows(&j->epi, &w->cols, w->acc, ld, m0, rows, n0, cols);
        return;
    }
    clq_cpu_gemm_call g = j->call;
    g.ldc = ld;
    for (size_t k0 = 0, ki = 0; k0 < kp; k0 += j->kc, ki++) {
        g.k0 = k0;
        g.kc = kp - k0 < j->kc ? kp - k0 : j->kc;
        int last = k0 + g.kc >= kp;
        const char *ap = j->direct ? (const char *)j->a + m0 * j->lda + k0 : a_block(j, mi, ki);
        size_t gb = j->direct ? mr * j->lda : mr * g.kc * (size_t)kern->a_esize;
        size_t ngroups = (rows + mr - 1) / mr;
        int k4 = clq__cpu_gemm_panel(kern->format) == CLQ_CPU_GEMM_K4_NR;
        /* the output stages take at least GEMM_EPI_MIN accumulators per call: one
         * register tile of the big kernels, a few of the small ones */
        size_t span = (GEMM_EPI_MIN + mr * nr - 1) / (mr * nr);
        for (size_t jr = 0; jr < ncp; jr += nr) {
            size_t c = ncp - jr < nr ? ncp - jr : nr;
            clq_cpu_gemm_cols t = w->cols;
            t.colterm += jr, t.zb += jr, t.f += jr, t.mult += jr, t.shift += jr;
            size_t ec = cols - jr < c ? cols - jr : c;
            size_t cn = ncp - jr - c < nr ? ncp - jr - c : nr; /* the next tile's columns */
            for (size_t ir = 0, ir0 = 0; ir < rows; ir += mr) {
                size_t r = rows - ir < mr ? rows - ir : mr;
                int32_t *acc = w->acc + ir * ld + jr;
                gemm_pf pf;
                pf.nc = pf.nb = 0;
                if (last) pf_c(&j->epi, m0 + ir, r, n0 + jr, ec, &pf);
                if (k4 && cn) pf_b(&g, n0 + jr + c, ir / mr, ngroups, cn, &pf);
                if (kern->pf_spread) g.pf = pf.line, g.npf_c = pf.nc, g.npf_b = pf.nb;
                else pf_now(&pf);
                kern->tile(&g, ap + ir / mr * gb, n0 + jr, r, c, acc, k0 == 0);
                if (last && ((ir / mr + 1) % span == 0 || ir + r == rows)) {
                    j->epi_rows(&j->epi, &t, w->acc + ir0 * ld + jr, ld, m0 + ir0, ir + r - ir0,
                                n0 + jr, ec);
                    ir0 = ir + r;
                }
            }
        }
    }
}

/* A chunk is one worker's share: it takes blocks until none is left, so a thread
 * that starts late or runs slow simply takes fewer. */
static void gemm_chunk(void *arg, size_t chunk) {
    gemm_job *j = arg;
    gemm_ws w;
    ws_layout(j, j->ws + chunk * j->ws_size, &w);
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (t >= j->ntasks) break;
        /* consecutive tasks share a column block, so threads share its B in cache */
        size_t mi = t % j->mb, ni = t / j->mb;
        size_t m0 = mi * j->mc, n0 = ni * j->nc;
        size_t rows = j->m - m0 < j->mc ? j->m - m0 : j->mc;
        size_t cols = j->n - n0 < j->nc ? j->n - n0 : j->nc;
        gemm_block(j, &w, mi, rows, n0, cols);
    }
    if (j->kern->finish) j->kern->finish();
}

/* kc, mc, nc and the task grid for this shape and thread count. Row blocks are of
 * equal size (in mr-row groups, give or take one group), so tasks are even. */
static void plan(gemm_job *j, int threads) {
    const clq_cpu_gemm_kernel *kern = j->kern;
    size_t kp = j->call.kp, mr = (size_t)kern->mr, nr = (size_t)kern->nr;
    size_t np = round_up(j->n, (size_t)clq__cpu_gemm_panel(kern->format));
    size_t kmax = j->m <= mr ? kp : kern->kc;
    size_t panels = kp > kmax ? (kp + kmax - 1) / kmax : 1;
    j->kc = kp ? round_up((kp + panels - 1) / panels, KALIGN) : KALIGN;
    size_t groups = (j->m + mr - 1) / mr, gmax = GEMM_MC_MAX / mr ? GEMM_MC_MAX / mr : 1;
    size_t mb = (groups + gmax - 1) / gmax;
    j->mc = (groups + mb - 1) / mb * mr;
    if (j->mc > j->m) j->mc = j->m;
    j->mb = (j->m + j->mc - 1) / j->mc;
    size_t nc = round_up(GEMM_NC_MAX, nr);
    if (nc > np) nc = np;
    /* split N further until every thread has a few tasks (small M splits N) */
    size_t want = (size_t)threads * (j->m <= mr ? GEMM_TASKS_PER_THREAD_SMALL_M : GEMM_TASKS_PER_THREAD);
    while (j->mb * ((np + nc - 1) / nc) < want && nc / 2 >= GEMM_NC_MIN)
        nc = round_up(nc / 2, GEMM_NC_MIN);
    j->nc = nc;
    j->ldacc = round_up(nc, nr);
    j->ntasks = j->mb * ((j->n + nc - 1) / nc);
    j->kpanels = kp ? (kp + j->kc - 1) / j->kc : 0;
    j->ablock = round_up(round_up(j->mc, mr) * j->kc * (size_t)kern->a_esize, 64);
}

clq_status clq__cpu_gemm(clq_context *ctx, const clq_gemm_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    const clq_packed_weights *w = op->w;
    const clq_cpu_gemm_kernel *kern = st->k.gemm;
    const clq_cpu_wpack *rec = w->impl;
    if (rec->group_fmt) return clq__cpu_gemm_group(ctx, op, pass); /* cpu_gemm_group.c */
    if (rec->format != kern->format || rec->nr != (size_t)clq__cpu_gemm_panel(kern->format))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "cpu: the weights were packed in format %d, this context's GEMM "
                          "kernel (%s) reads format %d: pack them on this context",
                          rec->format, kern->name, kern->format);
    if (op->m == 0 || op->n == 0) return CLQ_SUCCESS;
    if (op->m <= CLQ_CPU_GEMM_SMALL_M && st->k.gemm_small &&
        clq__cpu_gemm_panel(kern->format) == CLQ_CPU_GEMM_K4_NR)
        return clq__cpu_gemm_small(ctx, op, pass); /* cpu_gemm_small.c */
    gemm_job j;
    memset(&j, 0, sizeof j);
    j.kern = kern;
    j.epi_rows = st->k.gemm_epi;
    clq__cpu_gemm_epi_init(op, &j.epi);
    j.a = clq__cpu_span_ptr(op->a);
    j.lda = op->lda;
    j.a_u8 = op->atype == CLQ_U8;
    const int8_t *b = w->data->host;
    size_t kp = rec->kp, np = rec->np;
    j.call.b = b;
    j.call.kp = kp;
    if (clq__cpu_gemm_panel(kern->format) == CLQ_CPU_GEMM_K4_NR) {
        j.call.corr = (const int32_t *)(const void *)(b + np * kp);
        j.call.has_min = (const uint8_t *)(b + np * kp + np * 4);
        if (rec->off_fix) j.call.fix = (const uint32_t *)(const void *)(b + rec->off_fix);
    }
    j.m = op->m, j.n = op->n, j.k = op->k;
    /* u8 A is the vpdpbusd kernels' A format already; in place, every K panel must
     * lie inside the rows, and rows 4 KiB apart would all fall into one L1 set (with
     * the B panels, 16 Kp bytes apart), so there A is packed */
    j.direct = kern->direct_u8 && j.a_u8 && op->k % KALIGN == 0 && op->lda % 4096 != 0;
    if (j.direct) j.call.lda = op->lda;
    int threads = clq__cpu_pool_threads(st->pool);
    plan(&j, threads);
    size_t nchunks = j.ntasks < (size_t)threads ? j.ntasks : (size_t)threads;
    j.ws_size = ws_layout(&j, NULL, NULL);
    size_t nblocks = j.direct ? 0 : j.mb * j.kpanels, abytes = nblocks * j.ablock;
    size_t sbytes = round_up(nblocks * sizeof(atomic_uchar), 64);
    clq_buffer *ws = NULL; /* 64-byte aligned, kept for the next call */
    clq_status rc =
        clq__scratch(ctx, CLQ_SCRATCH_WORK, abytes + sbytes + nchunks * j.ws_size, &ws);
    if (rc != CLQ_SUCCESS || pass == CLQ_PASS_PREPARE) return rc;
    j.apack = ws->host;
    j.astate = (atomic_uchar *)(void *)(j.apack + abytes);
    for (size_t i = 0; i < nblocks; i++) atomic_init(&j.astate[i], A_EMPTY);
    j.ws = j.apack + abytes + sbytes;
    atomic_init(&j.next, 0);
    clq__cpu_parallel(st->pool, nchunks, gemm_chunk, &j);
    return CLQ_SUCCESS;
}
