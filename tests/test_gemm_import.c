/* test_gemm_import.c: clq_weights_import of ggml Q8_0 / Q4_0 and ONNX MatMulNBits on
 * every backend: the same GEMM bits as clq_weights_pack of the values, scales and zero
 * points docs/API.md ("Weight layouts") says they stand for; the packed weights
 * dequantize to exactly ggml's values (tests/ref/ref_ggml.c); bad descriptors. */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "ref/ref_ggml.h"

/* A foreign weight array and what it stands for in clquant's terms, written from
 * the layouts' definitions (not from the import). */
typedef struct layout_case {
    clq_weights_import_desc d;
    unsigned char *data, *scales, *zps;
    /* expected canonical form: values [n][k] (4-bit packed), params [n][G] */
    clq_dtype qtype;
    size_t g, ngroups;
    unsigned char *vals;
    int32_t *zb;
    float *sb;
} layout_case;

static void put_f16(unsigned char *p, float f) {
    uint16_t h = ref_f32_to_f16(f);
    p[0] = (unsigned char)(h & 0xff), p[1] = (unsigned char)(h >> 8);
}

static float get_f16(const unsigned char *p) {
    return ref_f16_to_f32((uint16_t)(p[0] | (unsigned)p[1] << 8));
}

static void alloc_expected(layout_case *c, clq_dtype qt, size_t g) {
    size_t n = c->d.n, k = c->d.k;
    c->qtype = qt, c->g = g, c->ngroups = (k + g - 1) / g;
    c->vals = calloc(n * k + 1, 1);
    c->zb = calloc(n * c->ngroups + 1, sizeof *c->zb);
    c->sb = calloc(n * c->ngroups + 1, sizeof *c->sb);
}

/* One group's parameters as docs/API.md maps them: the scale made > 0 (values and
 * zero point complemented when it is negative; zero point everywhere, scale 1, when
 * it is 0). Returns the value transform: 0 keep, 1 complement, 2 zero point. */
static int expect_group(layout_case *c, size_t gi, float scale, int32_t zp, int bits) {
    int32_t mask = (1 << bits) - 1;
    if (scale == 0.0f) {
        c->zb[gi] = zp, c->sb[gi] = 1.0f;
        return 2;
    }
    if (scale < 0.0f) {
        /* ~zp in the type: for unsigned mask - zp, for signed -1 - zp */
        c->zb[gi] = c->qtype == CLQ_U4 ? mask - zp : -1 - zp;
        c->sb[gi] = -scale;
        return 1;
    }
    c->zb[gi] = zp, c->sb[gi] = scale;
    return 0;
}

static void expect_value(layout_case *c, size_t e, int32_t q, int mode, int32_t zp) {
    int32_t v = mode == 2 ? zp : mode == 1 ? (c->qtype == CLQ_U4 ? 15 - q : -1 - q) : q;
    ref_store_q(c->qtype, c->vals, e, v);
}

/* ggml rows of K floats quantized by ggml's reference quantizer; block 1 of row 0 all
 * zero (d = 0) and, for Q8_0, one block of row 1 rewritten with a negative d and a
 * -128 (ggml's quantizer never writes either). */
static void make_ggml(layout_case *c, clq_weights_layout lay, size_t n, size_t k, uint64_t seed) {
    int q8 = lay == CLQ_LAYOUT_GGML_Q8_0;
    size_t bb = q8 ? REF_GGML_Q8_0_BYTES : REF_GGML_Q4_0_BYTES, nb = k / 32;
    memset(c, 0, sizeof *c);
    clq_weights_import_desc_init(&c->d);
    c->d.layout = lay, c->d.n = n, c->d.k = k;
    c->data = malloc(n * nb * bb + 1);
    tc_rng r;
    tc_rng_seed(&r, seed);
    float *x = malloc(k * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < k; j++) x[j] = tc_rng_normal(&r) * 0.05f * (float)(1 + j % 5);
        if (i == 0 && nb > 1)
            for (size_t j = 32; j < 64; j++) x[j] = 0.0f;
        if (q8)
            ref_ggml_quantize_row_q8_0(x, c->data + i * nb * bb, k);
        else
            ref_ggml_quantize_row_q4_0(x, c->data + i * nb * bb, k);
    }
    free(x);
    if (q8 && n > 1) {
        unsigned char *blk = c->data + (1 * nb + nb - 1) * bb;
        put_f16(blk, -get_f16(blk));
        blk[2 + 5] = 0x80;
    }
    c->d.data = c->data, c->d.data_bytes = n * nb * bb;
    alloc_expected(c, q8 ? CLQ_S8 : CLQ_U4, 32);
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < nb; b++) {
            const unsigned char *blk = c->data + (i * nb + b) * bb;
            int32_t zp = q8 ? 0 : 8;
            int mode = expect_group(c, i * nb + b, get_f16(blk), zp, q8 ? 8 : 4);
            for (size_t j = 0; j < 32; j++) {
                int32_t q = q8 ? (int8_t)blk[2 + j]
                               : j < 16 ? blk[2 + j] & 15 : blk[2 + j - 16] >> 4;
                if (q8 && mode == 1) q = -1 - q;
                if (q8)
                    ref_store_q(CLQ_S8, c->vals, i * k + b * 32 + j, mode == 2 ? 0 : q);
                else
                    expect_value(c, i * k + b * 32 + j, q, mode, zp);
            }
        }
}

/* MatMulNBits arrays with random nibbles, scales (one negative, one zero) and,
 * when with_zp, random packed zero points. */
static void make_nbits(layout_case *c, clq_dtype qt, size_t n, size_t k, size_t g,
                       clq_dtype sdt, int with_zp, uint64_t seed) {
    memset(c, 0, sizeof *c);
    clq_weights_import_desc_init(&c->d);
    c->d.layout = CLQ_LAYOUT_ONNX_NBITS, c->d.n = n, c->d.k = k;
    c->d.qtype = qt, c->d.block_size = g, c->d.scales_dtype = sdt;
    alloc_expected(c, qt, g);
    size_t nb = c->ngroups, zrow = (nb + 1) / 2, ss = sdt == CLQ_F16 ? 2 : 4;
    tc_rng r;
    tc_rng_seed(&r, seed);
    c->data = malloc(n * nb * g / 2 + 1);
    c->scales = malloc(n * nb * ss + 1);
    c->zps = with_zp ? malloc(n * zrow + 1) : NULL;
    for (size_t i = 0; i < n * nb * g / 2; i++) c->data[i] = (unsigned char)tc_rng_u64(&r);
    for (size_t i = 0; with_zp && i < n * zrow; i++) c->zps[i] = (unsigned char)tc_rng_u64(&r);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nb; j++) {
            size_t gi = i * nb + j;
            float s = tc_rng_logscale(&r, 1e-3f, 1.0f);
            if (gi == 1) s = -s;
            if (gi == 2 && n * nb > 3) s = 0.0f;
            if (gi == 3 && sdt == CLQ_F16) s = 0x1p-20f; /* an f16 subnormal */
            if (sdt == CLQ_F16) {
                put_f16(c->scales + 2 * gi, s);
                s = get_f16(c->scales + 2 * gi);
            } else {
                memcpy(c->scales + 4 * gi, &s, 4);
            }
            unsigned zn = qt == CLQ_U4 ? 8u : 0u;
            if (with_zp) zn = (c->zps[i * zrow + j / 2] >> (4 * (j & 1))) & 15u;
            int32_t zp = qt == CLQ_S4 ? (int32_t)((zn ^ 8u) - 8u) : (int32_t)zn;
            int mode = expect_group(c, gi, s, zp, 4);
            for (size_t e = j * g; e < k && e < (j + 1) * g; e++) {
                unsigned char byte = c->data[gi * (g / 2) + (e - j * g) / 2];
                unsigned nib = (e & 1) ? byte >> 4 : byte & 15u; /* g even: parity of e */
                int32_t q = qt == CLQ_S4 ? (int32_t)((nib ^ 8u) - 8u) : (int32_t)nib;
                expect_value(c, i * k + e, q, mode, zp);
            }
        }
    c->d.data = c->data, c->d.data_bytes = n * nb * g / 2;
    c->d.scales = c->scales, c->d.scales_bytes = n * nb * ss;
    c->d.zero_points = c->zps, c->d.zero_points_bytes = with_zp ? n * zrow : 0;
}

static void free_case(layout_case *c) {
    free(c->data), free(c->scales), free(c->zps), free(c->vals), free(c->zb), free(c->sb);
}

static clq_packed_weights *pack_expected(clq_context *ctx, const layout_case *c) {
    size_t n = c->d.n, k = c->d.k, cnt = n * c->ngroups, vb = c->qtype == CLQ_S8 ? n * k : (n * k + 1) / 2;
    clq_buffer *bb = tc_buffer(ctx, vb, c->vals), *sb = tc_buffer(ctx, 4 * cnt, c->sb),
               *zb = tc_buffer(ctx, 4 * cnt, c->zb);
    size_t sh[2] = {n, k};
    clq_tensor b;
    clq_tensor_init(&b, c->qtype, 2, sh, bb);
    clq_qparams qp;
    clq_qparams_init(&qp);
    qp.qtype = c->qtype, qp.granularity = CLQ_PER_BLOCK, qp.axis = 1, qp.block_size = c->g;
    qp.scale = sb, qp.zero_point = zb;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_pack(ctx, &b, &qp, 0, &w));
    clq_buffer_destroy(bb), clq_buffer_destroy(sb), clq_buffer_destroy(zb);
    return w;
}

/* y f32 [m][n] = A (atype, per tensor or per row) against w. */
static void run_gemm(clq_context *ctx, clq_packed_weights *w, clq_dtype at, size_t m,
                     const void *a, const float *sa, const int32_t *za, int per_row, float *y) {
    size_t k = clq_weights_k(w), n = clq_weights_n(w), np = per_row ? m : 1;
    clq_buffer *ab = tc_buffer(ctx, m * k, a), *sab = tc_buffer(ctx, 4 * np, sa),
               *zab = tc_buffer(ctx, 4 * np, za), *yb = tc_buffer(ctx, 4 * m * n, NULL);
    size_t ash[2] = {m, k}, ysh[2] = {m, n};
    clq_tensor at_, yt;
    clq_tensor_init(&at_, at, 2, ash, ab);
    clq_tensor_init(&yt, CLQ_F32, 2, ysh, yb);
    clq_qparams aq;
    clq_qparams_init(&aq);
    aq.qtype = at, aq.scale = sab, aq.zero_point = zab;
    if (per_row) aq.granularity = CLQ_PER_AXIS, aq.axis = 0;
    clq_gemm_options o;
    clq_gemm_options_init(&o);
    TC_OK(ctx, clq_gemm(ctx, &at_, &aq, w, &o, &yt));
    tc_read(yb, 4 * m * n, y);
    clq_buffer_destroy(ab), clq_buffer_destroy(sab), clq_buffer_destroy(zab), clq_buffer_destroy(yb);
}

/* Import and direct pack give the same weights' description and the same GEMM bits,
 * A s8 per tensor and u8 per row, tests/ref's for the expected form. */
static void check_same_as_pack(clq_context *ctx, layout_case *c, const char *what) {
    clq_packed_weights *wi = NULL, *wp = pack_expected(ctx, c);
    TC_OK(ctx, clq_weights_import(ctx, &c->d, &wi));
    cr_assert_eq(clq_weights_n(wi), c->d.n, "%s", what);
    cr_assert_eq(clq_weights_k(wi), c->d.k, "%s", what);
    cr_assert_eq(clq_weights_dtype(wi), c->qtype, "%s", what);
    cr_assert_eq(clq_weights_group_size(wi), c->g, "%s", what);
    size_t m = 7, k = c->d.k, n = c->d.n;
    tc_rng r;
    tc_rng_seed(&r, 77 + k);
    unsigned char *a = malloc(m * k);
    float sa[7], *y1 = malloc(4 * m * n), *y2 = malloc(4 * m * n);
    int32_t za[7];
    int64_t *d64 = malloc(sizeof *d64 * m * n * c->ngroups + 8);
    int32_t *d32 = malloc(sizeof *d32 * c->ngroups + 4);
    float *saj = malloc(sizeof *saj * c->ngroups + 4);
    for (int pass = 0; pass < 2; pass++) {
        clq_dtype at = pass ? CLQ_U8 : CLQ_S8;
        for (size_t i = 0; i < m * k; i++) a[i] = (unsigned char)tc_rng_u64(&r);
        for (size_t i = 0; i < m; i++)
            sa[i] = tc_rng_logscale(&r, 1e-2f, 1.0f), za[i] = pass ? tc_rng_int(&r, 0, 255) : tc_rng_int(&r, -128, 127);
        run_gemm(ctx, wi, at, m, a, sa, za, pass, y1);
        run_gemm(ctx, wp, at, m, a, sa, za, pass, y2);
        /* and both are NUMERICS.md's value of the expected form (tests/ref) */
        clq_granularity ag = pass ? CLQ_PER_AXIS : CLQ_PER_TENSOR;
        ref_mat am = {at, a, 0, (ptrdiff_t)k, 1}, bm = {c->qtype, c->vals, 0, (ptrdiff_t)k, 1};
        ref_gemm_group_exact(m, n, k, c->g, &am, ag, za, &bm, CLQ_PER_BLOCK, c->zb, d64);
        for (size_t i = 0; i < m * n; i++) {
            size_t row = i / n, col = i % n, G = c->ngroups;
            for (size_t j = 0; j < G; j++) {
                d32[j] = (int32_t)d64[i * G + j];
                saj[j] = sa[pass ? row : 0];
            }
            float want = ref_gemm_group_f32(G, d32, saj, c->sb + col * G, NULL, 0);
            cr_assert(ref_f32_bits(y1[i]) == ref_f32_bits(y2[i]) &&
                          ref_f32_bits(y1[i]) == ref_f32_bits(want),
                      "%s, A %s per %s: y[%zu][%zu] = %a imported, %a packed, %a ref", what,
                      pass ? "u8" : "s8", pass ? "row" : "tensor", row, col, (double)y1[i],
                      (double)y2[i], (double)want);
        }
    }
    free(a), free(y1), free(y2), free(d64), free(d32), free(saj);
    clq_weights_destroy(wi);
    clq_weights_destroy(wp);
}

/* A = the K x K identity (s8, scale 1, zero point 0): y[m][n] = (b[n][m] - zb) * sb,
 * the packed weights' dequantized value, which must be ref's value (NaN aside none;
 * the sign of a zero is the one thing allowed to differ: docs/API.md). */
static void check_dequantized(clq_context *ctx, const layout_case *c, const float *ref,
                              const char *what) {
    size_t k = c->d.k, n = c->d.n;
    clq_packed_weights *w = NULL;
    TC_OK(ctx, clq_weights_import(ctx, &c->d, &w));
    unsigned char *a = calloc(k * k + 1, 1);
    float *y = malloc(4 * k * n + 4), one = 1.0f;
    int32_t zero = 0;
    for (size_t i = 0; i < k; i++) a[i * k + i] = 1;
    run_gemm(ctx, w, CLQ_S8, k, a, &one, &zero, 0, y);
    for (size_t m = 0; m < k; m++)
        for (size_t j = 0; j < n; j++)
            cr_assert(y[m * n + j] == ref[j * k + m],
                      "%s: element [%zu][%zu] dequantizes to %a, the layout's value is %a", what,
                      j, m, (double)y[m * n + j], (double)ref[j * k + m]);
    free(a), free(y);
    clq_weights_destroy(w);
}

static void ggml_case(clq_context *ctx, clq_weights_layout lay, size_t n, size_t k) {
    layout_case c;
    make_ggml(&c, lay, n, k, 1000 + n * 31 + k);
    const char *what = lay == CLQ_LAYOUT_GGML_Q8_0 ? "ggml Q8_0" : "ggml Q4_0";
    check_same_as_pack(ctx, &c, what);
    float *ref = malloc(n * k * sizeof *ref);
    size_t rb = (k / 32) * (lay == CLQ_LAYOUT_GGML_Q8_0 ? REF_GGML_Q8_0_BYTES : REF_GGML_Q4_0_BYTES);
    for (size_t i = 0; i < n; i++) {
        if (lay == CLQ_LAYOUT_GGML_Q8_0)
            ref_ggml_dequantize_row_q8_0(c.data + i * rb, ref + i * k, k);
        else
            ref_ggml_dequantize_row_q4_0(c.data + i * rb, ref + i * k, k);
    }
    check_dequantized(ctx, &c, ref, what);
    free(ref);
    free_case(&c);
}

TC_BACKEND_TEST(gemm_import, ggml_q8_0) {
    ggml_case(ctx, CLQ_LAYOUT_GGML_Q8_0, 7, 96);
    ggml_case(ctx, CLQ_LAYOUT_GGML_Q8_0, 3, 32);
}

TC_BACKEND_TEST(gemm_import, ggml_q4_0) {
    ggml_case(ctx, CLQ_LAYOUT_GGML_Q4_0, 5, 128);
    ggml_case(ctx, CLQ_LAYOUT_GGML_Q4_0, 2, 64);
}

/* MatMulNBits: (q - zp) * scale in f32 is the value (ONNX Runtime's dequantization). */
static void nbits_case(clq_context *ctx, clq_dtype qt, size_t n, size_t k, size_t g,
                       clq_dtype sdt, int with_zp) {
    layout_case c;
    make_nbits(&c, qt, n, k, g, sdt, with_zp, 2000 + n * 131 + k * 7 + g);
    char what[128];
    snprintf(what, sizeof what, "MatMulNBits %s N %zu K %zu g %zu scales %s%s", clq_dtype_name(qt),
             n, k, g, clq_dtype_name(sdt), with_zp ? " zero points" : "");
    check_same_as_pack(ctx, &c, what);
    float *ref = malloc(n * k * sizeof *ref);
    size_t nb = c.ngroups, zrow = (nb + 1) / 2;
    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < k; e++) {
            size_t j = e / g, gi = i * nb + j;
            unsigned char byte = c.data[gi * (g / 2) + (e - j * g) / 2];
            unsigned nib = (e & 1) ? byte >> 4 : byte & 15u;
            unsigned zn = qt == CLQ_U4 ? 8u : 0u;
            if (with_zp) zn = (c.zps[i * zrow + j / 2] >> (4 * (j & 1))) & 15u;
            int q = qt == CLQ_S4 ? (int)((nib ^ 8u) - 8u) : (int)nib;
            int z = qt == CLQ_S4 ? (int)((zn ^ 8u) - 8u) : (int)zn;
            float s;
            if (sdt == CLQ_F16)
                s = get_f16(c.scales + 2 * gi);
            else
                memcpy(&s, c.scales + 4 * gi, 4);
            ref[i * k + e] = (float)(q - z) * s;
        }
    check_dequantized(ctx, &c, ref, what);
    free(ref);
    free_case(&c);
}

TC_BACKEND_TEST(gemm_import, onnx_nbits) {
    nbits_case(ctx, CLQ_U4, 5, 64, 16, CLQ_F32, 1);   /* even G */
    nbits_case(ctx, CLQ_U4, 3, 41, 16, CLQ_F16, 1);   /* odd K, G 3: padded rows */
    nbits_case(ctx, CLQ_U4, 4, 100, 32, CLQ_F16, 0);  /* default zero point 8 */
    nbits_case(ctx, CLQ_S4, 3, 50, 32, CLQ_F32, 0);   /* s4, default 0 */
    nbits_case(ctx, CLQ_S4, 2, 70, 16, CLQ_F16, 1);
    nbits_case(ctx, CLQ_U4, 3, 40, 64, CLQ_F32, 1);   /* g > K: one partial group */
    nbits_case(ctx, CLQ_U4, 2, 300, 128, CLQ_F16, 1);
}

/* ---- bad descriptors: status, the field in the message, *out untouched ---- */
static void expect_bad(clq_context *ctx, const clq_weights_import_desc *d, clq_status want,
                       const char *field, const char *also) {
    clq_packed_weights *sentinel = (clq_packed_weights *)(uintptr_t)0x5a5a, *w = sentinel;
    clq_status st = clq_weights_import(ctx, d, &w);
    const char *msg = clq_context_error_message(ctx);
    cr_assert_eq(st, want, "%s: got %s (%s)", field, clq_status_string(st), msg);
    cr_assert(tc_names(msg, field), "the message names %s: %s", field, msg);
    if (also) cr_assert(tc_contains(msg, also), "the message has '%s': %s", also, msg);
    cr_assert(w == sentinel, "%s: *out was written", field);
}

TC_BACKEND_TEST(gemm_import, bad_input) {
    layout_case q8, nb;
    make_ggml(&q8, CLQ_LAYOUT_GGML_Q8_0, 3, 64, 11);
    make_nbits(&nb, CLQ_U4, 3, 41, 16, CLQ_F16, 1, 12);
    clq_weights_import_desc d = q8.d;
    clq_packed_weights *w = NULL;
    cr_assert_eq(clq_weights_import(NULL, &d, &w), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(clq_weights_import(ctx, &d, NULL), CLQ_ERROR_INVALID_ARGUMENT);
    expect_bad(ctx, NULL, CLQ_ERROR_INVALID_ARGUMENT, "desc", NULL);
    d.struct_size = 8;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "struct_size", NULL);
    d = q8.d, d.layout = (clq_weights_layout)99;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "layout", NULL);
    d = q8.d, d.k = 48;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "k", "48");
    d = q8.d, d.data_bytes -= 1; /* 3 rows x 2 blocks x 34 = 204 */
    expect_bad(ctx, &d, CLQ_ERROR_OUT_OF_BOUNDS, "data_bytes", "203");
    expect_bad(ctx, &d, CLQ_ERROR_OUT_OF_BOUNDS, "data_bytes", "204");
    d = q8.d, d.data = NULL;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "data", NULL);
    put_f16(q8.data + 3 * REF_GGML_Q8_0_BYTES, INFINITY); /* row 1, block 1 */
    d = q8.d;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_QPARAMS, "data", "row 1, block 1");
    q8.data[2 * REF_GGML_Q8_0_BYTES + 1] = 0x7e; /* row 1, block 0: f16 NaN */
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_QPARAMS, "data", "row 1, block 0");

    d = nb.d, d.qtype = CLQ_S8;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "qtype", NULL);
    d = nb.d, d.block_size = 24;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "block_size", "24");
    d = nb.d, d.block_size = 0;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "block_size", NULL);
    d = nb.d, d.scales_dtype = CLQ_BF16;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "scales_dtype", NULL);
    d = nb.d, d.data_bytes = 3 * 3 * 8 - 1;
    expect_bad(ctx, &d, CLQ_ERROR_OUT_OF_BOUNDS, "data_bytes", "72");
    d = nb.d, d.scales_bytes = 3 * 3 * 2 - 2;
    expect_bad(ctx, &d, CLQ_ERROR_OUT_OF_BOUNDS, "scales_bytes", "18");
    d = nb.d, d.scales_dtype = CLQ_F32; /* f32 scales need twice the bytes */
    expect_bad(ctx, &d, CLQ_ERROR_OUT_OF_BOUNDS, "scales_bytes", "36");
    d = nb.d, d.zero_points_bytes = 3 * 2 - 1;
    expect_bad(ctx, &d, CLQ_ERROR_OUT_OF_BOUNDS, "zero_points_bytes", "6");
    d = nb.d, d.scales = NULL;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_ARGUMENT, "scales", NULL);
    d = nb.d, d.n = SIZE_MAX / 4;
    expect_bad(ctx, &d, CLQ_ERROR_OVERFLOW, "desc", NULL);
    put_f16(nb.scales + 2 * 5, NAN); /* row 1, block 2 */
    d = nb.d;
    expect_bad(ctx, &d, CLQ_ERROR_INVALID_QPARAMS, "scales", "row 1, block 2");
    free_case(&q8);
    free_case(&nb);
}
