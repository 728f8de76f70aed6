/* cpu_gemm_stage.c: the GEMM epilogue on the CPU: C = acc - zb' rs' - za' cs' + K za' zb'
 * (za' per tensor or per row)
 * in uint32 wrap-around, then the s32 / f32 / requantizing output stage, one row at a time
 * with per-column terms hoisted (loops kept simple so they vectorise). */
#include <math.h>

#include "api_gemm.h"
#include "cpu_gemm_stage.h"
#include "cpu_internal.h"
#if CLQ_CPU_X86
#include "cpu_simd.h"
#endif

void clq__cpu_gemm_epi_init(const clq_gemm_op *op, clq_cpu_gemm_epi *e) {
    const clq_packed_weights *w = op->w;
    int a_u8 = op->atype == CLQ_U8;
    const int32_t *za = clq__cpu_span_ptr(op->za);
    e->ctype = op->ctype;
    e->k = (uint32_t)op->k;
    /* TRUSTED zero points may be any int32: za and zc are clamped to their types'
     * full ranges first, shifts to [CLQ_GEMM_MIN_SHIFT, CLQ_GEMM_MAX_SHIFT]
     * (docs/NUMERICS.md), as the OpenCL kernels do */
    int32_t alo = a_u8 ? 0 : -128, ahi = a_u8 ? 255 : 127;
    /* per group with one group (K <= g) is per row too */
    e->a_pr = op->a_gran != CLQ_PER_TENSOR;
    e->c_exact = 0;
    e->za_lo = alo, e->za_hi = ahi;
    e->za_shift = a_u8 ? 128u : 0u;
    e->za_row = e->a_pr ? za : NULL;
    int32_t zav = za && !e->a_pr ? *za : 0;
    e->za = e->a_pr ? 0u : (uint32_t)(zav < alo ? alo : zav > ahi ? ahi : zav) - e->za_shift;
    e->zb = w->zb->host;
    e->zb_pc = w->zb_per_channel;
    e->cs = w->colsum ? w->colsum->host : NULL;
    e->rs = clq__cpu_span_ptr(op->rowsums);
    e->rs_bias = a_u8 ? 128u * (uint32_t)op->k : 0u;
    const float *sa = clq__cpu_span_ptr(op->sa), *sc = clq__cpu_span_ptr(op->sc);
    const int32_t *zc = clq__cpu_span_ptr(op->zc);
    e->sa = sa && !e->a_pr ? *sa : 0.0f;
    e->sa_row = e->a_pr ? sa : NULL;
    e->sb = w->sb ? w->sb->host : NULL;
    e->sb_pc = w->sb_per_channel;
    e->bias = clq__cpu_span_ptr(op->bias);
    e->relu = op->relu;
    e->sc = sc ? *sc : 1.0f;
    e->zc = zc ? *zc : 0;
    if (op->ctype == CLQ_S8 || op->ctype == CLQ_U8) {
        int clo, chi;
        clq__qrange(op->ctype, 0, &clo, &chi);
        e->zc = e->zc < clo ? clo : e->zc > chi ? chi : e->zc;
    }
    e->fixed = op->fixed_point;
    e->mult = clq__cpu_span_ptr(op->mult);
    e->shift = clq__cpu_span_ptr(op->shift);
    e->mult_pc = op->mult_per_channel;
    e->qmin = op->qmin;
    e->qmax = op->qmax;
    e->c = clq__cpu_span_ptr(op->c);
    e->ldc = op->ldc;
    e->csize = clq__cpu_dtype_size(op->ctype);
}

void clq__cpu_gemm_epi_cols(const clq_cpu_gemm_epi *e, size_t n0, size_t cols,
                            const clq_cpu_gemm_cols *t) {
    int quant = e->ctype == CLQ_S8 || e->ctype == CLQ_U8;
    for (size_t j = 0; j < cols; j++) {
        size_t n = n0 + j;
        uint32_t zb = e->c_exact ? 0u : (uint32_t)e->zb[e->zb_pc ? n : 0];
        t->zb[j] = zb;
        t->colterm[j] = e->c_exact ? 0u
                        : e->a_pr  ? e->k * zb - (uint32_t)e->cs[n]
                                   : e->za * (e->k * zb - (uint32_t)e->cs[n]);
        if (e->a_pr) {
            if (e->ctype == CLQ_F32 || (quant && !e->fixed)) t->f[j] = e->sb[e->sb_pc ? n : 0];
        } else if (e->ctype == CLQ_F32) {
            t->f[j] = e->sa * e->sb[e->sb_pc ? n : 0];
        } else if (quant && !e->fixed) {
            float s = e->sa * e->sb[e->sb_pc ? n : 0];
            t->f[j] = s / e->sc;
        }
        if (quant && e->fixed) {
            t->mult[j] = e->mult[e->mult_pc ? n : 0];
            int32_t sh = e->shift[e->mult_pc ? n : 0];
            t->shift[j] = sh < CLQ_GEMM_MIN_SHIFT   ? CLQ_GEMM_MIN_SHIFT
                          : sh > CLQ_GEMM_MAX_SHIFT ? CLQ_GEMM_MAX_SHIFT
                                                    : sh;
        }
    }
}

/* gemmlowp's SaturatingRoundingDoublingHighMul(x << left, m) then RoundingDivideByPOT
 * by right, the left shift wrapping mod 2^32 as TFLite's x * (1 << left) does.
 * gemmlowp divides ab + nudge by 2^31 truncating toward zero, the nudge 2^30 for
 * ab >= 0 and 1 - 2^30 below; both branches equal floor((ab + 2^30) / 2^31): for
 * ab < 0, trunc((ab + 1 - 2^30) / 2^31) = ceil(..) = floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31).
 * The low 32 bits of that shift are the same for a logical shift, which every
 * vector ISA has for 64-bit lanes. The division by 2^right stays in 32 bits (mask,
 * remainder, threshold as gemmlowp writes it). No branch, so the loop vectorises. */
static inline __attribute__((always_inline)) int32_t mbqm(int32_t x, int32_t m, int32_t shift) {
    int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int32_t a = (int32_t)((uint32_t)x << left);
    int32_t hi = (int32_t)(uint32_t)((uint64_t)((int64_t)a * m + (INT64_C(1) << 30)) >> 31);
    /* a == m == INT32_MIN is the one product whose quotient leaves int32 */
    hi = a == m && a == INT32_MIN ? INT32_MAX : hi;
    uint32_t mask = (1u << right) - 1u; /* right <= 31: epi_cols clamps shifts to [-31, 30] */
    uint32_t rem = (uint32_t)hi & mask, threshold = (mask >> 1) + (hi < 0);
    return (hi >> right) + (rem > threshold);
}

/* Round half to even of |v| <= 2^22: v + 1.5 * 2^23 lands where the spacing of floats
 * is 1, so the addition itself rounds (default rounding mode, no contraction). */
static inline __attribute__((always_inline)) float round_even_small(float v) {
    const float magic = 12582912.0f;
    return (v + magic) - magic;
}

/* [qmin - zc, qmax - zc] (zc is clamped to C's type, so this fits int32 anyway). */
static void requant_bounds(const clq_cpu_gemm_epi *e, int32_t *lo, int32_t *hi) {
    int64_t l = (int64_t)e->qmin - e->zc, h = (int64_t)e->qmax - e->zc;
    *lo = (int32_t)(l < INT32_MIN ? INT32_MIN : l > INT32_MAX ? INT32_MAX : l);
    *hi = (int32_t)(h < INT32_MIN ? INT32_MIN : h > INT32_MAX ? INT32_MAX : h);
}

/* One row of C from its accumulators. Every field the loops use is a local: the u8
 * stores may alias anything, and would otherwise make the compiler reload e's fields
 * each element. The result + zc is added in uint32 (the same low byte) after clamping
 * to [qmin - zc, qmax - zc]. */
static inline __attribute__((always_inline)) void epi_row(
    const clq_cpu_gemm_epi *e, const uint32_t *restrict ct, const uint32_t *restrict zb,
    const float *restrict f, const int32_t *restrict mult, const int32_t *restrict shift,
    const float *restrict bias, const int32_t *restrict ar, uint32_t rs, char *crow,
    size_t cols) {
    uint32_t zc = (uint32_t)e->zc;
    int relu = e->relu, fixed = e->fixed;
    clq_dtype ctype = e->ctype;
    int32_t lo = 0, hi = 0;
    if (ctype == CLQ_S8 || ctype == CLQ_U8) requant_bounds(e, &lo, &hi);
    float flo = (float)lo, fhi = (float)hi;
    int small = lo >= -4194304 && hi <= 4194304;
    if (ctype == CLQ_S32) {
        int32_t *restrict o = (int32_t *)crow;
        for (size_t j = 0; j < cols; j++) o[j] = (int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs);
    } else if (ctype == CLQ_F32) {
        float *restrict o = (float *)crow;
        for (size_t j = 0; j < cols; j++)
            o[j] = (float)(int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs) * f[j];
        if (bias)
            for (size_t j = 0; j < cols; j++) o[j] = o[j] + bias[j];
        if (relu)
            for (size_t j = 0; j < cols; j++) o[j] = o[j] > 0.0f ? o[j] : 0.0f;
    } else if (fixed) {
        uint8_t *restrict o = (uint8_t *)crow;
        for (size_t j = 0; j < cols; j++) {
            int32_t r = mbqm((int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs), mult[j], shift[j]);
            r = r < lo ? lo : r > hi ? hi : r;
            o[j] = (uint8_t)((uint32_t)r + zc);
        }
    } else if (small) {
        uint8_t *restrict o = (uint8_t *)crow;
        for (size_t j = 0; j < cols; j++) {
            float v = (float)(int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs) * f[j];
            v = v < flo ? flo : v > fhi ? fhi : v;
            v = v == v ? v : 0.0f; /* a NaN product (TRUSTED scales) gives zc */
            o[j] = (uint8_t)((uint32_t)(int32_t)round_even_small(v) + zc);
        }
    } else {
        uint8_t *restrict o = (uint8_t *)crow;
        for (size_t j = 0; j < cols; j++) {
            float v = (float)(int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs) * f[j];
            v = v < flo ? flo : v > fhi ? fhi : v;
            v = v == v ? v : 0.0f;
            o[j] = (uint8_t)((uint32_t)(int32_t)nearbyintf(v) + zc);
        }
    }
}

/* Columns per piece of a row when A is per row: its za' and sa turn the per-column
 * terms into this row's, 64 at a time on the stack. */
#define EPI_PR_COLS 64

static inline __attribute__((always_inline)) void epi_rows(
    const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t, const int32_t *acc, size_t ldacc,
    size_t m0, size_t rows, size_t n0, size_t cols) {
    const int32_t *rsp = e->rs;
    uint32_t rs_bias = (uint32_t)e->rs_bias;
    const float *bias = e->bias ? e->bias + n0 : NULL;
    int a_pr = e->a_pr, quant = e->ctype == CLQ_S8 || e->ctype == CLQ_U8;
    int scaled = e->ctype == CLQ_F32 || (quant && !e->fixed);
    for (size_t i = 0; i < rows; i++) {
        size_t m = m0 + i;
        const int32_t *ar = acc + i * ldacc;
        uint32_t rs = rsp ? (uint32_t)rsp[m] - rs_bias : 0u;
        char *crow = e->c + (m * e->ldc + n0) * e->csize;
        if (!a_pr) {
            epi_row(e, t->colterm, t->zb, t->f, t->mult, t->shift, bias, ar, rs, crow, cols);
            continue;
        }
        int32_t zv = e->za_row ? e->za_row[m] : 0;
        uint32_t za = (uint32_t)(zv < e->za_lo ? e->za_lo : zv > e->za_hi ? e->za_hi : zv) -
                      e->za_shift;
        float sa = scaled ? e->sa_row[m] : 0.0f, sc = e->sc;
        for (size_t j0 = 0; j0 < cols; j0 += EPI_PR_COLS) {
            size_t w = cols - j0 < EPI_PR_COLS ? cols - j0 : EPI_PR_COLS;
            uint32_t ct[EPI_PR_COLS];
            float f[EPI_PR_COLS];
            for (size_t j = 0; j < w; j++) ct[j] = za * t->colterm[j0 + j];
            if (e->ctype == CLQ_F32)
                for (size_t j = 0; j < w; j++) f[j] = sa * t->f[j0 + j];
            else if (scaled)
                for (size_t j = 0; j < w; j++) f[j] = (sa * t->f[j0 + j]) / sc;
            epi_row(e, ct, t->zb + j0, f, t->mult + j0, t->shift + j0, bias ? bias + j0 : NULL,
                    ar + j0, rs, crow + j0 * e->csize, w);
        }
    }
}

#define EPI_ROWS(TARGET, NAME)                                                                  \
    TARGET void NAME(const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t,             \
                            const int32_t *acc, size_t ldacc, size_t m0, size_t rows, size_t n0, \
                            size_t cols) {                                                      \
        epi_rows(e, t, acc, ldacc, m0, rows, n0, cols);                                         \
    }

/* The same loops compiled per ISA, as the micro-kernels are: the fixed-point stage
 * needs 64-bit lane products and per-lane shifts that the baseline lacks. */
EPI_ROWS(, clq__cpu_gemm_epi_portable)
#if CLQ_CPU_X86
EPI_ROWS(CLQ_T256, clq__cpu_gemm_epi_avx2)
EPI_ROWS(CLQ_T512, clq__cpu_gemm_epi_avx512)
#endif
