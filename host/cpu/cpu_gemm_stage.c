/* cpu_gemm_stage.c: the GEMM epilogue on the CPU: C = acc - zb' rs' - za' cs' + K za' zb'
 * in uint32 wrap-around, then the s32 / f32 / requantizing output stage, one row at a time
 * with per-column terms hoisted (loops kept simple so they vectorise). */
#include <math.h>

#include "cpu_gemm_stage.h"
#include "cpu_internal.h"

void clq__cpu_gemm_epi_init(const clq_gemm_op *op, clq_cpu_gemm_epi *e) {
    const clq_packed_weights *w = op->w;
    int a_u8 = op->atype == CLQ_U8;
    const int32_t *za = clq__cpu_span_ptr(op->za);
    e->ctype = op->ctype;
    e->k = (uint32_t)op->k;
    e->za = (uint32_t)(za ? *za : 0) - (a_u8 ? 128u : 0u);
    e->zb = w->zb->host;
    e->zb_pc = w->zb_per_channel;
    e->cs = w->colsum ? w->colsum->host : NULL;
    e->rs = clq__cpu_span_ptr(op->rowsums);
    e->rs_bias = a_u8 ? 128u * (uint32_t)op->k : 0u;
    const float *sa = clq__cpu_span_ptr(op->sa), *sc = clq__cpu_span_ptr(op->sc);
    const int32_t *zc = clq__cpu_span_ptr(op->zc);
    e->sa = sa ? *sa : 0.0f;
    e->sb = w->sb ? w->sb->host : NULL;
    e->sb_pc = w->sb_per_channel;
    e->bias = clq__cpu_span_ptr(op->bias);
    e->relu = op->relu;
    e->sc = sc ? *sc : 1.0f;
    e->zc = zc ? *zc : 0;
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
        uint32_t zb = (uint32_t)e->zb[e->zb_pc ? n : 0];
        t->zb[j] = zb;
        t->colterm[j] = e->za * (e->k * zb - (uint32_t)e->cs[n]);
        if (e->ctype == CLQ_F32) {
            t->f[j] = e->sa * e->sb[e->sb_pc ? n : 0];
        } else if (quant && !e->fixed) {
            float s = e->sa * e->sb[e->sb_pc ? n : 0];
            t->f[j] = s / e->sc;
        } else if (quant) {
            t->mult[j] = e->mult[e->mult_pc ? n : 0];
            t->shift[j] = e->shift[e->mult_pc ? n : 0];
        }
    }
}

/* gemmlowp's SaturatingRoundingDoublingHighMul(x << left, m) then RoundingDivideByPOT
 * by right, the left shift wrapping mod 2^32 as TFLite's x * (1 << left) does. */
static int32_t mbqm(int32_t x, int32_t m, int shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int32_t a = (int32_t)((uint32_t)x << left);
    int64_t ab = (int64_t)a * m;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    /* a == m == INT32_MIN is the one product whose quotient leaves int32 */
    int32_t hi = a == m && a == INT32_MIN ? INT32_MAX
                                          : (int32_t)((ab + nudge) / (INT64_C(1) << 31));
    int64_t mask = (INT64_C(1) << right) - 1;
    int64_t rem = hi & mask, threshold = (mask >> 1) + (hi < 0);
    return (int32_t)(((int64_t)hi >> right) + (rem > threshold));
}

/* Round half to even of |v| <= 2^22: v + 1.5 * 2^23 lands where the spacing of floats
 * is 1, so the addition itself rounds (default rounding mode, no contraction). */
static inline float round_even_small(float v) {
    const float magic = 12582912.0f;
    return (v + magic) - magic;
}

void clq__cpu_gemm_epi_rows(const clq_cpu_gemm_epi *e, const clq_cpu_gemm_cols *t,
                            const int32_t *acc, size_t ldacc, size_t m0, size_t rows, size_t n0,
                            size_t cols) {
    const uint32_t *ct = t->colterm, *zb = t->zb;
    const float *f = t->f;
    for (size_t i = 0; i < rows; i++) {
        size_t m = m0 + i;
        const int32_t *ar = acc + i * ldacc;
        uint32_t rs = e->rs ? (uint32_t)e->rs[m] - e->rs_bias : 0u;
        char *crow = e->c + (m * e->ldc + n0) * e->csize;
        if (e->ctype == CLQ_S32) {
            int32_t *o = (int32_t *)crow;
            for (size_t j = 0; j < cols; j++) o[j] = (int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs);
        } else if (e->ctype == CLQ_F32) {
            float *o = (float *)crow;
            for (size_t j = 0; j < cols; j++)
                o[j] = (float)(int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs) * f[j];
            if (e->bias)
                for (size_t j = 0; j < cols; j++) o[j] = o[j] + e->bias[n0 + j];
            if (e->relu)
                for (size_t j = 0; j < cols; j++) o[j] = o[j] > 0.0f ? o[j] : 0.0f;
        } else if (!e->fixed) {
            /* bounds as integers first: qmin - zc is exact in float */
            float lo = (float)((int64_t)e->qmin - e->zc), hi = (float)((int64_t)e->qmax - e->zc);
            int small = lo >= -4194304.0f && hi <= 4194304.0f;
            uint8_t *o = (uint8_t *)crow;
            /* + zc in uint32: the same low byte, and no overflow for a trusted zc out of range */
            uint32_t zc = (uint32_t)e->zc;
            if (small)
                for (size_t j = 0; j < cols; j++) {
                    float v = (float)(int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs) * f[j];
                    v = v < lo ? lo : v > hi ? hi : v;
                    o[j] = (uint8_t)((uint32_t)(int32_t)round_even_small(v) + zc);
                }
            else
                for (size_t j = 0; j < cols; j++) {
                    float v = (float)(int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs) * f[j];
                    v = v < lo ? lo : v > hi ? hi : v;
                    o[j] = (uint8_t)((uint32_t)(int32_t)nearbyintf(v) + zc);
                }
        } else {
            uint8_t *o = (uint8_t *)crow;
            for (size_t j = 0; j < cols; j++) {
                int32_t c = (int32_t)((uint32_t)ar[j] + ct[j] - zb[j] * rs);
                int64_t q = (int64_t)e->zc + mbqm(c, t->mult[j], t->shift[j]);
                o[j] = (uint8_t)(q < e->qmin ? e->qmin : q > e->qmax ? e->qmax : q);
            }
        }
    }
}
