/* cpu_rowsums.c: row sums of an int8 matrix (the GEMM's zero-point correction
 * term), a reduction on the generic driver (cpu_elementwise.h) with one owner per
 * row, or per group of K along each row; and its kernels: sums wrap mod 2^32 (rows
 * longer than 2^23 bytes). */
#include "cpu_elementwise.h"
#include "cpu_simd.h"

static void rk_run(int is_signed, const uint8_t *a, size_t n, uint32_t *sum) {
    uint32_t s = 0;
    if (is_signed)
        for (size_t p = 0; p < n; p++) s += (uint32_t)(int32_t)(int8_t)a[p];
    else
        for (size_t p = 0; p < n; p++) s += a[p];
    *sum += s;
}

const clq_cpu_rskernels clq__cpu_rsk_portable = {rk_run};

#if CLQ_CPU_X86
/* vpsadbw against zero sums 8 bytes into each 64-bit lane; s8 bytes are biased to
 * u8 (x ^ 0x80 = x + 128) and 128 per byte taken off at the end, mod 2^32. */
CLQ_T512 static void rk512_run(int is_signed, const uint8_t *a, size_t n, uint32_t *sum) {
    const __m512i bias = _mm512_set1_epi8(is_signed ? (char)0x80 : 0), zero = _mm512_setzero_si512();
    __m512i acc = zero;
    size_t p = 0;
    for (; p + 64 <= n; p += 64)
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512((const void *)(a + p)), bias), zero));
    if (p < n) {
        __mmask64 m = ((__mmask64)1 << (n - p)) - 1; /* n - p < 64 */
        __m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + p), bias));
        acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, zero));
    }
    uint32_t s = (uint32_t)_mm512_reduce_add_epi64(acc);
    *sum += is_signed ? s - (uint32_t)(128u * (uint64_t)n) : s;
}

CLQ_T256 static void rk256_run(int is_signed, const uint8_t *a, size_t n, uint32_t *sum) {
    const __m256i bias = _mm256_set1_epi8(is_signed ? (char)0x80 : 0), zero = _mm256_setzero_si256();
    __m256i acc = zero;
    size_t p = 0;
    for (; p + 32 <= n; p += 32)
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + p)), bias), zero));
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    uint32_t s = (uint32_t)(_mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1));
    if (is_signed) s -= (uint32_t)(128u * (uint64_t)p);
    *sum += s;
    rk_run(is_signed, a + p, n - p, sum);
}

const clq_cpu_rskernels clq__cpu_rsk_avx512 = {rk512_run};
const clq_cpu_rskernels clq__cpu_rsk_avx2 = {rk256_run};
#endif

/* ---- the driver's side: one accumulator array, the sums -------------------- */

static void rs_run(const clq_cpu_red_job *j, const void *x, size_t n, const clq_cpu_acc *a, size_t p) {
    ((const clq_cpu_rskernels *)j->k)->run(j->xt == CLQ_S8, x, n, (uint32_t *)a->v[0] + p);
}

/* k = 1: one element per row, so a segment crosses rows (row_ld apart) */
static void rs_vec(const clq_cpu_red_job *j, const void *x, size_t n, const clq_cpu_acc *a, size_t p) {
    size_t ld = j->row_len ? j->row_ld : 1;
    for (size_t i = 0; i < n; i++) rs_run(j, (const uint8_t *)x + i * ld, 1, a, p + i);
}

static void rs_init(const clq_cpu_red_job *j, const clq_cpu_acc *a, size_t p, size_t n) {
    (void)j;
    for (size_t i = 0; i < n; i++) ((uint32_t *)a->v[0])[p + i] = 0;
}

static void rs_finish(const clq_cpu_red_job *j, const clq_cpu_acc *a, size_t p, size_t n) {
    (void)j, (void)a, (void)p, (void)n;
}

/* rows as a per-axis layout on axis 0 of [rows, k]: param r owns row r's k
 * elements, which the walk hands over as one run; no merge, so one owner each */
static const clq_cpu_red_ops rs_ops = {rs_run, rs_vec, NULL, NULL, rs_init, rs_finish, NULL, 1};

/* ---- sums per group along K: rows split into chunks, each row's groups in order ---- */

#define GS_ROWS_MIN ((size_t)1 << 16) /* bytes of A per chunk, at least */

typedef struct gsum_job {
    const clq_cpu_rskernels *k;
    const clq_rowsums_op *op;
    const uint8_t *a;
    int32_t *sums;
    size_t G, rows_per;
} gsum_job;

static void gsum_chunk(void *arg, size_t chunk) {
    const gsum_job *j = arg;
    const clq_rowsums_op *op = j->op;
    size_t r1 = (chunk + 1) * j->rows_per < op->rows ? (chunk + 1) * j->rows_per : op->rows;
    for (size_t r = chunk * j->rows_per; r < r1; r++)
        for (size_t g = 0; g < j->G; g++) {
            size_t k0 = g * op->group, len = op->k - k0 < op->group ? op->k - k0 : op->group;
            uint32_t s = 0;
            j->k->run(op->atype == CLQ_S8, j->a + r * op->lda + k0, len, &s);
            j->sums[r * j->G + g] = (int32_t)s;
        }
}

static clq_status group_sums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    if (pass == CLQ_PASS_PREPARE || op->rows == 0 || op->k == 0) return CLQ_SUCCESS;
    gsum_job j = {st->k.rowsums, op, clq__cpu_span_ptr(op->a), clq__cpu_span_ptr(op->sums),
                  (op->k + op->group - 1) / op->group, 0};
    j.rows_per = GS_ROWS_MIN / op->k ? GS_ROWS_MIN / op->k : 1;
    clq__cpu_parallel(st->pool, clq__cpu_nchunks(op->rows, j.rows_per), gsum_chunk, &j);
    return CLQ_SUCCESS;
}

clq_status clq__cpu_rowsums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass) {
    clq_cpu_state *st = ctx->impl;
    if (op->group) return group_sums(ctx, op, pass);
    clq_layout lay = {CLQ_PER_AXIS, op->rows * op->k, 1, op->rows, op->k, 0, 0, op->rows};
    clq_cpu_red_job j = {&rs_ops, st->k.rowsums, op->atype, &lay, clq__cpu_span_ptr(op->a), 1,
                         op->lda != op->k ? op->k : 0, op->lda,
                         {{clq__cpu_span_ptr(op->sums), NULL}}, 0};
    return clq__cpu_red_run(ctx, &j, pass);
}
