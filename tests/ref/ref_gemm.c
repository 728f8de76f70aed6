/* ref_gemm.c: the int8 GEMM reference in its plain mathematical form: sum of products of
 * zero-point-corrected values in int64, then the output stages one f32 step at a time, and
 * gemmlowp/TFLite's fixed-point requantization as those libraries write it; the float
 * linear layer in double. */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

static int32_t mat_at(const ref_mat *x, size_t r, size_t c) {
    ptrdiff_t e = (ptrdiff_t)x->offset + (ptrdiff_t)r * x->rs + (ptrdiff_t)c * x->cs;
    return ref_load_q(x->dtype, x->data, (size_t)e);
}

void ref_gemm_exact(size_t m, size_t n, size_t k, const ref_mat *a, int32_t za, const ref_mat *b,
                    const int32_t *zb, int zb_per_channel, int64_t *c) {
    /* the corrected values first, so the triple loop runs over plain arrays (the large
     * shapes of the tests would be slow through the element accessors) */
    int32_t *ad = malloc(sizeof *ad * (m * k + 1)), *bd = malloc(sizeof *bd * (n * k + 1));
    for (size_t i = 0; i < m; i++)
        for (size_t p = 0; p < k; p++) ad[i * k + p] = mat_at(a, i, p) - za;
    for (size_t j = 0; j < n; j++)
        for (size_t p = 0; p < k; p++) bd[j * k + p] = mat_at(b, j, p) - zb[zb_per_channel ? j : 0];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            int64_t s = 0;
            for (size_t p = 0; p < k; p++) s += (int64_t)ad[i * k + p] * bd[j * k + p];
            c[i * n + j] = s;
        }
    free(ad);
    free(bd);
}

static int64_t max_dev(clq_dtype t, int32_t z) {
    int lo, hi;
    ref_qrange(t, 0, &lo, &hi);
    int64_t d1 = llabs((int64_t)lo - z), d2 = llabs((int64_t)hi - z);
    return d1 > d2 ? d1 : d2;
}

size_t ref_gemm_max_k(clq_dtype atype, int32_t za, clq_dtype btype, const int32_t *zb, size_t nzb) {
    int64_t db = 0;
    for (size_t j = 0; j < nzb; j++) {
        int64_t d = max_dev(btype, zb[j]);
        if (d > db) db = d;
    }
    /* no zero points at all (no channels, or no groups at K = 0): no product to bound */
    return db ? (size_t)(INT32_MAX / (max_dev(atype, za) * db)) : SIZE_MAX;
}

float ref_gemm_f32(int32_t c, float sa, float sb, const float *bias, int relu) {
    float s = sa * sb;
    float y = (float)c * s;
    if (bias) y = y + *bias;
    if (relu) y = y > 0.0f ? y : 0.0f;
    return y;
}

int32_t ref_gemm_requant_float(int32_t c, float sa, float sb, float sc, int32_t zc, int qmin, int qmax) {
    float mult = (sa * sb) / sc;
    float v = (float)c * mult;
    float lo = (float)(qmin - zc), hi = (float)(qmax - zc);
    v = v < lo ? lo : v > hi ? hi : v;
    return (int32_t)nearbyintf(v) + zc; /* default rounding mode: half to even */
}

int32_t ref_srdhm(int32_t a, int32_t b) {
    int overflow = a == b && a == INT32_MIN;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    int32_t high = (int32_t)((ab + nudge) / (INT64_C(1) << 31)); /* C division truncates, as C++'s */
    return overflow ? INT32_MAX : high;
}

int32_t ref_rdbpot(int32_t x, int exponent) {
    int64_t mask = (INT64_C(1) << exponent) - 1;
    int64_t remainder = (int64_t)x & mask;
    int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    /* floor division by 2^exponent, i.e. the arithmetic shift gemmlowp relies on */
    int64_t q = ((int64_t)x - remainder) / (INT64_C(1) << exponent);
    return (int32_t)(q + (remainder > threshold ? 1 : 0));
}

/* x * 2^s in int32 wrapping mod 2^32 (TFLite's x * (1 << left_shift), defined here) */
static int32_t wrap_shl(int32_t x, int s) {
    uint32_t u = s >= 32 ? 0u : (uint32_t)x << s;
    return u >= 0x80000000u ? (int32_t)((int64_t)u - (INT64_C(1) << 32)) : (int32_t)u;
}

int32_t ref_mbqm(int32_t x, int32_t mult, int shift) {
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    return ref_rdbpot(ref_srdhm(wrap_shl(x, left), mult), right);
}

int32_t ref_gemm_requant_fixed(int32_t c, int32_t mult, int shift, int32_t zc, int qmin, int qmax) {
    int64_t q = (int64_t)zc + ref_mbqm(c, mult, shift);
    return (int32_t)(q < qmin ? qmin : q > qmax ? qmax : q);
}

void ref_quantize_multiplier(double real, int32_t *mult, int *shift) {
    if (real == 0.0) {
        *mult = 0;
        *shift = 0;
        return;
    }
    int e;
    double q = frexp(real, &e);
    int64_t qf = (int64_t)round(q * (double)(INT64_C(1) << 31));
    if (qf == (INT64_C(1) << 31)) {
        qf /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        qf = 0;
    }
    *mult = (int32_t)qf;
    *shift = e;
}

void ref_linear_f64(size_t m, size_t n, size_t k, const float *x, const float *w, const float *bias,
                    double *y) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double acc = bias ? (double)bias[j] : 0.0;
            for (size_t c = 0; c < k; c++) acc += (double)x[i * k + c] * (double)w[j * k + c];
            y[i * n + j] = acc;
        }
}
