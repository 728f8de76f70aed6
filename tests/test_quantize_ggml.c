/* test_quantize_ggml.c: clq_quantize_ggml / clq_dequantize_ggml on every backend, byte
 * for byte against tests/ref/ref_ggml.c (ggml's reference formulas): random blocks,
 * exact ties of both roundings, zero blocks, the sign and first-on-ties rules of Q4_0's
 * max, d's f16 rounding, f16/bf16 inputs, strided views, odd offsets, several chunks,
 * non-finite inputs, the round trip; and every refused argument with its status. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ref/ref_ggml.h"

#define QK REF_GGML_QK

static size_t block_bytes(clq_weights_layout l) {
    return l == CLQ_LAYOUT_GGML_Q8_0 ? REF_GGML_Q8_0_BYTES : REF_GGML_Q4_0_BYTES;
}

static const char *layout_name(clq_weights_layout l) {
    return l == CLQ_LAYOUT_GGML_Q8_0 ? "Q8_0" : "Q4_0";
}

/* How a test lays out its float tensor in its buffer. */
typedef enum view_kind {
    VIEW_CONTIG,     /* row-major at offset 0 */
    VIEW_PADDED,     /* every dimension's stride padded, stride 2 along the last, offset 5 */
    VIEW_TRANSPOSED  /* 2-D [R][K] stored as [K][R] (column-major), offset 3 */
} view_kind;

/* The view of dtype t over shape, its strides and the elements its buffer needs. */
static size_t make_view(view_kind v, clq_dtype t, int ndim, const size_t *shape, clq_tensor *ten) {
    clq_tensor_init(ten, t, ndim, shape, NULL);
    if (v == VIEW_CONTIG) return clq_tensor_numel(ten);
    size_t span = 0;
    if (v == VIEW_PADDED) {
        ptrdiff_t s = 2;
        for (int d = ndim - 1; d >= 0; d--) {
            ten->strides[d] = s;
            s = s * (ptrdiff_t)shape[d] + 3;
        }
        ten->offset = 5;
    } else {
        cr_assert(ndim == 2, "VIEW_TRANSPOSED is 2-D");
        ten->strides[0] = 1;
        ten->strides[1] = (ptrdiff_t)shape[0];
        ten->offset = 3;
    }
    for (int d = 0; d < ndim; d++) span += (shape[d] - 1) * (size_t)ten->strides[d];
    return ten->offset + span + 1;
}

/* Element index in the view's buffer of the row-major logical index e. */
static size_t view_index(const clq_tensor *t, size_t e) {
    size_t idx = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        idx += (e % t->shape[d]) * (size_t)t->strides[d];
        e /= t->shape[d];
    }
    return idx;
}

static size_t elem_size(clq_dtype t) { return t == CLQ_F32 ? 4 : 2; }

/* What ggml's reference writes for the logical values v (numel of them, rows of K). */
static unsigned char *ref_blocks(clq_weights_layout l, const float *v, size_t numel) {
    unsigned char *b = malloc(numel / QK * block_bytes(l) + 1);
    if (l == CLQ_LAYOUT_GGML_Q8_0)
        ref_ggml_quantize_row_q8_0(v, b, numel);
    else
        ref_ggml_quantize_row_q4_0(v, b, numel);
    return b;
}

static void assert_bytes(const unsigned char *got, const unsigned char *want, size_t n,
                         size_t bb, const char *what) {
    for (size_t i = 0; i < n; i++)
        cr_assert(got[i] == want[i],
                  "%s: block %zu byte %zu: got 0x%02x, ggml's reference 0x%02x", what, i / bb,
                  i % bb, got[i], want[i]);
}

/* y (f32 bits) against the reference's; NaN against NaN (a device may make its own). */
static void assert_floats(const float *got, const float *want, size_t n, const char *what) {
    for (size_t i = 0; i < n; i++) {
        uint32_t g, w;
        memcpy(&g, &got[i], 4);
        memcpy(&w, &want[i], 4);
        cr_assert(g == w || (isnan(got[i]) && isnan(want[i])),
                  "%s: element %zu: got %a (0x%08x), reference %a (0x%08x)", what, i,
                  (double)got[i], g, (double)want[i], w);
    }
}

/* Quantizes v (the logical row-major values, rounded to xt first) through a view of
 * kind vk into out at out_offset; checks the blocks against the reference and every
 * other byte of out untouched; then dequantizes them into a view of kind yk and checks
 * y against the reference dequantize. Returns the blocks (malloc'd) when keep. */
static unsigned char *check_case(clq_context *ctx, clq_weights_layout l, clq_dtype xt, int ndim,
                                 const size_t *shape, const float *v, view_kind vk,
                                 size_t out_offset, view_kind yk, const char *what, int keep) {
    clq_tensor x;
    size_t cap = make_view(vk, xt, ndim, shape, &x), numel = clq_tensor_numel(&x);
    size_t es = elem_size(xt);
    unsigned char *host = malloc(cap * es + 1);
    memset(host, 0x7f, cap * es + 1); /* holes hold a large value: they must not be read */
    float *vals = malloc((numel + 1) * sizeof *vals);
    for (size_t e = 0; e < numel; e++) {
        ref_store_float(xt, host, view_index(&x, e), v[e]);
        vals[e] = ref_load_float(xt, host, view_index(&x, e));
    }
    x.buffer = tc_buffer(ctx, cap * es, host);
    size_t bb = block_bytes(l), bytes = numel / QK * bb, total = out_offset + bytes + 16;
    clq_buffer *out = tc_buffer(ctx, total, NULL);
    char msg[160];
    snprintf(msg, sizeof msg, "%s %s x=%s view=%d out_offset=%zu", what, layout_name(l),
             clq_dtype_name(xt), (int)vk, out_offset);
    TC_OK(ctx, clq_quantize_ggml(ctx, &x, l, out, out_offset));
    unsigned char *got = malloc(total);
    tc_read(out, total, got);
    unsigned char *want = ref_blocks(l, vals, numel);
    for (size_t i = 0; i < out_offset; i++)
        cr_assert(got[i] == TC_SENTINEL, "%s: byte %zu before the blocks written", msg, i);
    for (size_t i = out_offset + bytes; i < total; i++)
        cr_assert(got[i] == TC_SENTINEL, "%s: byte %zu after the blocks written", msg, i);
    assert_bytes(got + out_offset, want, bytes, bb, msg);

    /* the round trip, into y's view (holes untouched) */
    clq_tensor y;
    size_t ycap = make_view(yk, CLQ_F32, ndim, shape, &y);
    y.buffer = tc_buffer(ctx, ycap * 4, NULL);
    TC_OK(ctx, clq_dequantize_ggml(ctx, out, out_offset, l, &y));
    float *ybuf = malloc(ycap * 4), *yv = malloc((numel + 1) * 4), *yref = malloc((numel + 1) * 4);
    tc_read(y.buffer, ycap * 4, ybuf);
    for (size_t e = 0; e < numel; e++) yv[e] = ybuf[view_index(&y, e)];
    if (l == CLQ_LAYOUT_GGML_Q8_0)
        ref_ggml_dequantize_row_q8_0(want, yref, numel);
    else
        ref_ggml_dequantize_row_q4_0(want, yref, numel);
    snprintf(msg, sizeof msg, "%s %s dequantize y view=%d", what, layout_name(l), (int)yk);
    assert_floats(yv, yref, numel, msg);
    size_t holes = 0;
    for (size_t i = 0; i < ycap * 4; i++) holes += ((unsigned char *)ybuf)[i] == TC_SENTINEL;
    cr_assert(holes >= (ycap - numel) * 4, "%s: y's holes written", msg);

    clq_buffer_destroy(x.buffer);
    clq_buffer_destroy(out);
    clq_buffer_destroy(y.buffer);
    free(host), free(vals), free(ybuf), free(yv), free(yref), free(want);
    if (!keep) {
        free(got);
        return NULL;
    }
    memmove(got, got + out_offset, bytes);
    return got;
}

/* Random blocks: each of its own magnitude (log-uniform 1e-6 .. 1e4), some all zero,
 * some of one sign, some with a lone outlier. */
static void fill_random(tc_rng *r, float *v, size_t n) {
    for (size_t b = 0; b < n / QK; b++) {
        float scale = tc_rng_logscale(r, 1e-6f, 1e4f);
        int kind = tc_rng_int(r, 0, 7);
        for (int j = 0; j < QK; j++) {
            float x = tc_rng_normal(r) * scale;
            if (kind == 0) x = tc_rng_int(r, 0, 1) ? 0.0f : -0.0f;
            if (kind == 1) x = -fabsf(x);
            if (kind == 2) x = fabsf(x);
            v[b * QK + (size_t)j] = x;
        }
        if (kind == 3) v[b * QK + (size_t)tc_rng_int(r, 0, QK - 1)] = scale * 100.0f;
    }
}

static const clq_weights_layout layouts[2] = {CLQ_LAYOUT_GGML_Q8_0, CLQ_LAYOUT_GGML_Q4_0};

TC_BACKEND_TEST(ggml, random_blocks) {
    tc_rng r;
    tc_rng_seed(&r, 101);
    const size_t s2[2] = {7, 96}, s3[3] = {3, 2, 64}, s1[1] = {32};
    float v[7 * 96];
    for (int li = 0; li < 2; li++) {
        fill_random(&r, v, 7 * 96);
        free(check_case(ctx, layouts[li], CLQ_F32, 2, s2, v, VIEW_CONTIG, 0, VIEW_CONTIG,
                        "random 2-D", 0));
        fill_random(&r, v, 3 * 2 * 64);
        free(check_case(ctx, layouts[li], CLQ_F32, 3, s3, v, VIEW_CONTIG, 0, VIEW_CONTIG,
                        "random 3-D", 0));
        fill_random(&r, v, 32);
        free(check_case(ctx, layouts[li], CLQ_F32, 1, s1, v, VIEW_CONTIG, 0, VIEW_CONTIG,
                        "one block", 0));
    }
}

/* Enough blocks for several of the CPU backend's chunks (512 blocks) and a short last one. */
TC_BACKEND_TEST(ggml, many_chunks) {
    tc_rng r;
    tc_rng_seed(&r, 102);
    const size_t shape[2] = {41, 960}; /* 1230 blocks */
    float *v = malloc(41 * 960 * sizeof *v);
    for (int li = 0; li < 2; li++) {
        fill_random(&r, v, 41 * 960);
        free(check_case(ctx, layouts[li], CLQ_F32, 2, shape, v, VIEW_CONTIG, 0, VIEW_CONTIG,
                        "1230 blocks", 0));
    }
    free(v);
}

/* Q8_0 with amax 127 (d = 1, id = 1) and 63.5 (d = 0.5, id = 2): every x * id lands on
 * k + 0.5 exactly, which roundf takes away from zero. */
TC_BACKEND_TEST(ggml, q8_0_ties) {
    const size_t shape[2] = {16, 32};
    float v[16 * 32];
    for (int b = 0; b < 16; b++)
        for (int j = 0; j < QK; j++) {
            int k = (b * QK + j) % 254 - 127; /* -127 .. 126 */
            v[b * QK + j] = b < 8 ? (float)k + 0.5f : ((float)k + 0.5f) * 0.5f;
        }
    for (int b = 0; b < 16; b++) v[b * QK] = b < 8 ? 127.0f : 63.5f; /* amax */
    v[1] = 2.5f, v[2] = -2.5f, v[3] = 0.5f, v[4] = -0.5f;
    unsigned char *got = check_case(ctx, CLQ_LAYOUT_GGML_Q8_0, CLQ_F32, 2, shape, v,
                                    VIEW_CONTIG, 0, VIEW_CONTIG, "ties", 1);
    /* d = 1.0 is f16 0x3c00; half away from zero: 2.5 -> 3, -2.5 -> -3, +-0.5 -> +-1 */
    cr_assert(got[0] == 0x00 && got[1] == 0x3c, "d of block 0: %02x %02x", got[0], got[1]);
    cr_assert((int8_t)got[2 + 1] == 3 && (int8_t)got[2 + 2] == -3, "2.5 / -2.5: %d %d",
              (int8_t)got[3], (int8_t)got[4]);
    cr_assert((int8_t)got[2 + 3] == 1 && (int8_t)got[2 + 4] == -1, "0.5 / -0.5: %d %d",
              (int8_t)got[5], (int8_t)got[6]);
    free(got);
}

/* Q4_0 with max -8 (d = 1, id = 1): x + 8.5 is an integer for x = k - 0.5, and just
 * below one for the next float down, where the truncation takes the lower nibble;
 * max +8 (d = -1) mirrors it; 15 is the cap (x * id + 8.5 = 16.5 at x = max). */
TC_BACKEND_TEST(ggml, q4_0_boundaries) {
    const size_t shape[2] = {4, 32};
    float v[4 * 32];
    for (int b = 0; b < 4; b++)
        for (int j = 0; j < QK; j++) {
            float x = (float)(j % 16 - 8) + 0.5f; /* -7.5 .. 7.5 */
            if (b & 1) x = nextafterf(x, -INFINITY);
            v[b * QK + j] = b < 2 ? x : -x;
        }
    v[0] = -8.0f, v[QK] = -8.0f, v[2 * QK] = 8.0f, v[3 * QK] = 8.0f;
    v[17] = -0.5f;
    unsigned char *got = check_case(ctx, CLQ_LAYOUT_GGML_Q4_0, CLQ_F32, 2, shape, v,
                                    VIEW_CONTIG, 0, VIEW_CONTIG, "boundaries", 1);
    /* block 0: d = 1 (0x3c00); x = -8 -> 0; x[17] = -0.5 -> 8 in the high nibble of byte 1 */
    cr_assert(got[0] == 0x00 && got[1] == 0x3c, "d of block 0: %02x %02x", got[0], got[1]);
    cr_assert((got[2] & 15) == 0, "-8 -> nibble %d", got[2] & 15);
    cr_assert((got[3] >> 4) == 8, "-0.5 -> nibble %d", got[3] >> 4);
    /* block 2: max = +8, d = -1 (0xbc00), x = 8 -> 0 */
    const unsigned char *b2 = got + 2 * REF_GGML_Q4_0_BYTES;
    cr_assert(b2[0] == 0x00 && b2[1] == 0xbc, "d of block 2: %02x %02x", b2[0], b2[1]);
    free(got);
}

/* Values a few ulps around the boundaries of random d's (not powers of two): x * id
 * then lands within an ulp of k + 0.5 (Q8_0's ties) or of Q4_0's truncation steps, so
 * that x / d for x * id, or one fused x * id + 8.5f, changes some bytes. */
TC_BACKEND_TEST(ggml, near_boundaries) {
    tc_rng r;
    tc_rng_seed(&r, 107);
    enum { NB = 128 };
    const size_t shape[2] = {NB / 4, 4 * QK};
    float *v = malloc(NB * QK * sizeof *v);
    for (int li = 0; li < 2; li++) {
        int q4 = layouts[li] == CLQ_LAYOUT_GGML_Q4_0;
        for (int b = 0; b < NB; b++) {
            float amax = tc_rng_logscale(&r, 1e-3f, 1e3f);
            float d = q4 ? amax / 8.0f : amax / 127.0f; /* max = -amax for Q4_0: d > 0 */
            float *x = v + b * QK;
            x[0] = q4 ? -amax : amax;
            for (int j = 1; j < QK; j++) {
                /* Q8_0: k + 0.5 in [-127, 126.5]; Q4_0: x * id + 8.5 an integer */
                float k = q4 ? (float)tc_rng_int(&r, -7, 7) - 0.5f
                             : (float)tc_rng_int(&r, -127, 126) + 0.5f;
                float t = k * d;
                for (int u = tc_rng_int(&r, -3, 3); u != 0; u += u > 0 ? -1 : 1)
                    t = nextafterf(t, u > 0 ? INFINITY : -INFINITY);
                x[j] = fabsf(t) < amax ? t : x[0] * 0.5f;
            }
        }
        free(check_case(ctx, layouts[li], CLQ_F32, 2, shape, v, VIEW_CONTIG, 0, VIEW_CONTIG,
                        "near boundaries", 0));
    }
    free(v);
}

/* All-zero blocks (+0 and -0): id = 0; Q8_0 d = +0 and q = 0; Q4_0's max stays +0, so
 * d = +0 / -8 = -0 (f16 0x8000) and every nibble is 8. */
TC_BACKEND_TEST(ggml, zero_blocks) {
    const size_t shape[2] = {2, 64};
    float v[128];
    for (int i = 0; i < 128; i++) v[i] = (i & 1) ? -0.0f : 0.0f;
    for (int li = 0; li < 2; li++) {
        unsigned char *got = check_case(ctx, layouts[li], CLQ_F32, 2, shape, v, VIEW_CONTIG, 0,
                                        VIEW_CONTIG, "zeros", 1);
        size_t bb = block_bytes(layouts[li]);
        for (size_t i = 0; i < 4 * bb; i++) {
            unsigned want = li == 0 ? 0x00 : i % bb == 0 ? 0x00 : i % bb == 1 ? 0x80 : 0x88;
            cr_assert(got[i] == want, "%s zeros: byte %zu = 0x%02x, want 0x%02x",
                      layout_name(layouts[li]), i, got[i], want);
        }
        free(got);
    }
}

/* Q4_0's max keeps its sign and is the first of largest |x|: -5 before +5 gives
 * d = +0.625, +5 before -5 gives d = -0.625; a block of negatives has d > 0. */
TC_BACKEND_TEST(ggml, q4_0_max_sign_and_ties) {
    const size_t shape[2] = {3, 32};
    float v[3 * 32];
    for (int i = 0; i < 96; i++) v[i] = 0.25f * (float)(i % 7) - 0.75f;
    v[3] = -5.0f, v[10] = 5.0f;                 /* block 0: -5 first */
    v[32 + 3] = 5.0f, v[32 + 10] = -5.0f;       /* block 1: +5 first */
    for (int j = 0; j < QK; j++) v[64 + j] = -1.0f - (float)j * 0.125f; /* block 2 */
    unsigned char *got = check_case(ctx, CLQ_LAYOUT_GGML_Q4_0, CLQ_F32, 2, shape, v,
                                    VIEW_CONTIG, 0, VIEW_CONTIG, "max sign", 1);
    /* 0.625 is f16 0x3900 */
    cr_assert(got[0] == 0x00 && got[1] == 0x39, "block 0 d: %02x %02x", got[0], got[1]);
    cr_assert(got[18] == 0x00 && got[19] == 0xb9, "block 1 d: %02x %02x", got[18], got[19]);
    cr_assert(!(got[37] & 0x80), "block 2 (all negative): d must be positive, %02x", got[37]);
    free(got);
}

/* d over f16's whole range: amax log-uniform 1e-9 .. 1e7, so d = amax / 127 (or max / -8)
 * is an f16 subnormal, normal, or beyond 65504 (Inf), and random f16 mantissa ties. */
TC_BACKEND_TEST(ggml, d_rounding) {
    tc_rng r;
    tc_rng_seed(&r, 103);
    const size_t shape[2] = {64, 32};
    float v[64 * 32];
    for (int b = 0; b < 64; b++) {
        float amax = tc_rng_logscale(&r, 1e-9f, 1e7f);
        for (int j = 0; j < QK; j++) v[b * QK + j] = tc_rng_range(&r, -amax, amax);
        v[b * QK + tc_rng_int(&r, 0, QK - 1)] = tc_rng_int(&r, 0, 1) ? amax : -amax;
    }
    /* d exactly halfway between two f16 values: 1 + 2^-11 (Q4_0: max = -8 d) */
    for (int j = 0; j < QK; j++) v[j] = 0.0f;
    v[0] = -8.0f * (1.0f + 0x1p-11f);
    for (int li = 0; li < 2; li++)
        free(check_case(ctx, layouts[li], CLQ_F32, 2, shape, v, VIEW_CONTIG, 0, VIEW_CONTIG,
                        "d range", 0));
}

/* f16 and bf16 inputs are widened exactly, then quantized as f32. */
TC_BACKEND_TEST(ggml, half_inputs) {
    tc_rng r;
    tc_rng_seed(&r, 104);
    const size_t shape[2] = {5, 64};
    float v[5 * 64];
    const clq_dtype types[2] = {CLQ_F16, CLQ_BF16};
    for (int ti = 0; ti < 2; ti++)
        for (int li = 0; li < 2; li++) {
            for (int i = 0; i < 5 * 64; i++) v[i] = tc_rng_normal(&r) * 3.0f;
            free(check_case(ctx, layouts[li], types[ti], 2, shape, v, VIEW_CONTIG, 0,
                            VIEW_CONTIG, "half", 0));
            free(check_case(ctx, layouts[li], types[ti], 2, shape, v, VIEW_PADDED, 1,
                            VIEW_PADDED, "half strided", 0));
        }
}

/* Strided and transposed views of x and y, and odd out_offsets. */
TC_BACKEND_TEST(ggml, views_and_offsets) {
    tc_rng r;
    tc_rng_seed(&r, 105);
    const size_t s2[2] = {6, 64}, s3[3] = {2, 3, 32};
    float v[6 * 64];
    for (int li = 0; li < 2; li++) {
        fill_random(&r, v, 6 * 64);
        free(check_case(ctx, layouts[li], CLQ_F32, 2, s2, v, VIEW_PADDED, 7, VIEW_TRANSPOSED,
                        "padded", 0));
        free(check_case(ctx, layouts[li], CLQ_F32, 2, s2, v, VIEW_TRANSPOSED, 3, VIEW_PADDED,
                        "transposed", 0));
        free(check_case(ctx, layouts[li], CLQ_F32, 3, s3, v, VIEW_PADDED, 34, VIEW_CONTIG,
                        "padded 3-D", 0));
    }
}

/* Non-finite inputs: C leaves ggml's (int8_t) cast of NaN or Inf undefined (the
 * reference is not run on them); the contract's answer is x86's, 0. Q8_0 with +Inf:
 * d = Inf, id = 0, every q = 0 (Inf * 0 is NaN). Q4_0 with -Inf: d = +Inf, id = +0,
 * finite x give 8.5 -> 8, the Inf itself NaN -> 0. */
TC_BACKEND_TEST(ggml, infinities) {
    float v[QK];
    for (int j = 0; j < QK; j++) v[j] = (float)(j - 16);
    v[5] = INFINITY;
    clq_tensor x;
    size_t shape[1] = {QK};
    clq_tensor_init(&x, CLQ_F32, 1, shape, tc_buffer(ctx, sizeof v, v));
    clq_buffer *out = tc_buffer(ctx, 64, NULL);
    unsigned char got[64];
    TC_OK(ctx, clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q8_0, out, 0));
    tc_read(out, 64, got);
    cr_assert(got[0] == 0x00 && got[1] == 0x7c, "Q8_0 d: %02x %02x", got[0], got[1]);
    for (int j = 0; j < QK; j++) cr_assert(got[2 + j] == 0, "Q8_0 q[%d] = %d", j, got[2 + j]);
    v[5] = -INFINITY;
    TC_OK(ctx, clq_buffer_write(x.buffer, 0, sizeof v, v));
    TC_OK(ctx, clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q4_0, out, 0));
    tc_read(out, 64, got);
    cr_assert(got[0] == 0x00 && got[1] == 0x7c, "Q4_0 d: %02x %02x", got[0], got[1]);
    for (int j = 0; j < 16; j++) {
        unsigned want = (j == 5 ? 0u : 8u) | 8u << 4;
        cr_assert(got[2 + j] == want, "Q4_0 byte %d = 0x%02x, want 0x%02x", j, got[2 + j], want);
    }
    clq_buffer_destroy(x.buffer);
    clq_buffer_destroy(out);
}

/* NaN inputs (docs/NUMERICS.md, "ggml blocks"): a NaN element stores 0 (Q8_0 q, Q4_0
 * nibble). With the block's largest |x| after it, amax is the others' (Q8_0's MAX
 * restarts after a NaN), which is the reference's result on the same block with the
 * NaN made 0 (the reference itself is not run on NaN: C leaves the cast undefined); as
 * Q8_0's last element it becomes amax: d NaN (f16 0x7e00), every q 0. */
TC_BACKEND_TEST(ggml, nans) {
    tc_rng r;
    tc_rng_seed(&r, 108);
    enum { NB = 6 };
    float v[NB * QK], z[NB * QK];
    int at[NB];
    for (int b = 0; b < NB; b++) {
        for (int j = 0; j < QK; j++) v[b * QK + j] = tc_rng_normal(&r) * 4.0f;
        at[b] = b == NB - 1 ? QK - 1 : tc_rng_int(&r, 0, QK - 2);
        if (b != NB - 1) v[b * QK + QK - 1] = b & 1 ? 100.0f : -100.0f;
        v[b * QK + at[b]] = b & 1 ? -NAN : NAN;
    }
    memcpy(z, v, sizeof v);
    for (int b = 0; b < NB; b++) z[b * QK + at[b]] = 0.0f;
    size_t shape[2] = {2, NB / 2 * QK};
    clq_tensor x;
    clq_tensor_init(&x, CLQ_F32, 2, shape, tc_buffer(ctx, sizeof v, v));
    for (int li = 0; li < 2; li++) {
        size_t bb = block_bytes(layouts[li]), n = NB * bb;
        clq_buffer *out = tc_buffer(ctx, n, NULL);
        TC_OK(ctx, clq_quantize_ggml(ctx, &x, layouts[li], out, 0));
        unsigned char got[NB * REF_GGML_Q8_0_BYTES];
        tc_read(out, n, got);
        unsigned char *want = ref_blocks(layouts[li], z, NB * QK);
        for (int b = 0; b < NB; b++) {
            unsigned char *w = want + b * bb;
            int j = at[b];
            if (li == 0 && j == QK - 1) {
                memset(w, 0, bb);
                w[1] = 0x7e; /* fabsf made the NaN positive */
            } else if (li == 0) {
                w[2 + j] = 0;
            } else {
                w[2 + j % 16] &= j < 16 ? 0xf0 : 0x0f;
            }
        }
        assert_bytes(got, want, n, bb, layout_name(layouts[li]));
        free(want);
        clq_buffer_destroy(out);
    }
    clq_buffer_destroy(x.buffer);
}

/* A NaN restarts Q8_0's amax (ggml's MAX), so elements before it may exceed 127 * d;
 * their bytes are x86's cast, the low byte of the int32 truncation (0 for NaN and
 * beyond int32). */
TC_BACKEND_TEST(ggml, q8_0_nan_resets_amax) {
    /* amax restarts after the NaN: 127 (d = 1, id = 1) */
    float v[QK] = {200.0f, -300.0f, 3e9f, -0x1p31f, 2147483520.0f, NAN, 127.0f, 1.5f, 2.5f};
    const unsigned char want[REF_GGML_Q8_0_BYTES] = {0x00, 0x3c, 0xc8, 0xd4, 0x00, 0x00,
                                                     0x80, 0x00, 0x7f, 0x02, 0x03};
    size_t shape[1] = {QK};
    clq_tensor x;
    clq_tensor_init(&x, CLQ_F32, 1, shape, tc_buffer(ctx, sizeof v, v));
    clq_buffer *out = tc_buffer(ctx, REF_GGML_Q8_0_BYTES, NULL);
    TC_OK(ctx, clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q8_0, out, 0));
    unsigned char got[REF_GGML_Q8_0_BYTES];
    tc_read(out, sizeof got, got);
    assert_bytes(got, want, sizeof got, sizeof got, "NaN resets amax");
    clq_buffer_destroy(x.buffer);
    clq_buffer_destroy(out);
}

/* Dequantize of arbitrary block bytes (every kind of f16 d: subnormal, Inf, NaN). */
TC_BACKEND_TEST(ggml, dequantize_any_bytes) {
    tc_rng r;
    tc_rng_seed(&r, 106);
    enum { NB = 40 };
    unsigned char blocks[NB * REF_GGML_Q8_0_BYTES + 3];
    const size_t shape[2] = {4, NB / 4 * QK};
    for (int li = 0; li < 2; li++) {
        size_t bb = block_bytes(layouts[li]), n = NB * bb;
        for (size_t i = 0; i < n + 3; i++) blocks[i] = (unsigned char)tc_rng_u64(&r);
        const uint16_t specials[5] = {0x0001, 0x83ff, 0x7c00, 0xfe00, 0x7bff};
        for (int s = 0; s < 5; s++) {
            blocks[3 + s * bb] = (unsigned char)(specials[s] & 0xff);
            blocks[3 + s * bb + 1] = (unsigned char)(specials[s] >> 8);
        }
        clq_buffer *b = tc_buffer(ctx, n + 3, blocks);
        clq_tensor y;
        clq_tensor_init(&y, CLQ_F32, 2, shape, tc_buffer(ctx, NB * QK * 4, NULL));
        TC_OK(ctx, clq_dequantize_ggml(ctx, b, 3, layouts[li], &y));
        float got[NB * QK], want[NB * QK];
        tc_read(y.buffer, sizeof got, got);
        if (li == 0)
            ref_ggml_dequantize_row_q8_0(blocks + 3, want, NB * QK);
        else
            ref_ggml_dequantize_row_q4_0(blocks + 3, want, NB * QK);
        assert_floats(got, want, NB * QK, layout_name(layouts[li]));
        clq_buffer_destroy(b);
        clq_buffer_destroy(y.buffer);
    }
}

/* An empty tensor writes nothing and succeeds. */
TC_BACKEND_TEST(ggml, empty) {
    const size_t shape[2] = {0, 32};
    clq_tensor x;
    clq_tensor_init(&x, CLQ_F32, 2, shape, tc_buffer(ctx, 4, NULL));
    clq_buffer *out = tc_buffer(ctx, 8, NULL);
    TC_OK(ctx, clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q4_0, out, 8));
    TC_OK(ctx, clq_dequantize_ggml(ctx, out, 8, CLQ_LAYOUT_GGML_Q8_0, &x));
    tc_assert_untouched(out, 8, "out");
    clq_buffer_destroy(x.buffer);
    clq_buffer_destroy(out);
}

static void expect(clq_context *ctx, clq_status got, clq_status want, const char *word,
                   const char *what) {
    const char *msg = clq_context_error_message(ctx);
    cr_assert(got == want, "%s: got %s, want %s (%s)", what, clq_status_string(got),
              clq_status_string(want), msg);
    cr_assert(tc_contains(msg, word), "%s: the message names '%s': %s", what, word, msg);
}

/* Every refused argument: its status, a message naming it, nothing written. */
TC_BACKEND_TEST(ggml, bad_arguments) {
    const size_t shape[2] = {2, 64}, bad_k[2] = {2, 48};
    float v[128] = {0};
    clq_buffer *xb = tc_buffer(ctx, sizeof v, v);
    clq_buffer *out = tc_buffer(ctx, 4 * REF_GGML_Q8_0_BYTES, NULL);
    clq_tensor x, xk, x8, x0;
    clq_tensor_init(&x, CLQ_F32, 2, shape, xb);
    clq_tensor_init(&xk, CLQ_F32, 2, bad_k, xb);
    clq_tensor_init(&x8, CLQ_S8, 2, shape, xb);
    clq_tensor_init(&x0, CLQ_F32, 0, NULL, xb);
    clq_status st;
    st = clq_quantize_ggml(ctx, &xk, CLQ_LAYOUT_GGML_Q8_0, out, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "x->shape[1] = 48", "K % 32");
    st = clq_quantize_ggml(ctx, &x0, CLQ_LAYOUT_GGML_Q8_0, out, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "x->ndim = 0", "scalar x");
    st = clq_quantize_ggml(ctx, &x8, CLQ_LAYOUT_GGML_Q8_0, out, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "x->dtype = s8", "s8 x");
    st = clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_ONNX_NBITS, out, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "layout = 3", "ONNX layout");
    st = clq_quantize_ggml(ctx, &x, (clq_weights_layout)99, out, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "layout = 99", "unknown layout");
    st = clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q8_0, NULL, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL", "NULL out");
    /* 4 Q8_0 blocks fill out exactly: one byte of offset is too many */
    st = clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q8_0, out, 1);
    expect(ctx, st, CLQ_ERROR_OUT_OF_BOUNDS, "out_offset = 1", "out too small");
    st = clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q4_0, out, (size_t)-1);
    expect(ctx, st, CLQ_ERROR_OUT_OF_BOUNDS, "out_offset", "offset overflow");
    st = clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q8_0, xb, 0);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "out", "out is x's buffer");
    cr_assert(clq_quantize_ggml(NULL, &x, CLQ_LAYOUT_GGML_Q8_0, out, 0) ==
              CLQ_ERROR_INVALID_ARGUMENT, "NULL ctx");
    tc_assert_untouched(out, 4 * REF_GGML_Q8_0_BYTES, "out");

    /* dequantize */
    clq_buffer *yb = tc_buffer(ctx, sizeof v, NULL);
    clq_tensor y, yk, y16;
    clq_tensor_init(&y, CLQ_F32, 2, shape, yb);
    clq_tensor_init(&yk, CLQ_F32, 2, bad_k, yb);
    clq_tensor_init(&y16, CLQ_F16, 2, shape, yb);
    st = clq_dequantize_ggml(ctx, out, 0, CLQ_LAYOUT_GGML_Q8_0, &yk);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "y->shape[1] = 48", "dequantize K % 32");
    st = clq_dequantize_ggml(ctx, out, 0, CLQ_LAYOUT_GGML_Q8_0, &y16);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "y->dtype = f16", "f16 y");
    st = clq_dequantize_ggml(ctx, out, 0, CLQ_LAYOUT_ONNX_NBITS, &y);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "layout = 3", "dequantize ONNX layout");
    st = clq_dequantize_ggml(ctx, out, 2, CLQ_LAYOUT_GGML_Q8_0, &y);
    expect(ctx, st, CLQ_ERROR_OUT_OF_BOUNDS, "blocks", "blocks too short");
    st = clq_dequantize_ggml(ctx, NULL, 0, CLQ_LAYOUT_GGML_Q4_0, &y);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "blocks is NULL", "NULL blocks");
    st = clq_dequantize_ggml(ctx, yb, 0, CLQ_LAYOUT_GGML_Q4_0, &y);
    expect(ctx, st, CLQ_ERROR_INVALID_ARGUMENT, "blocks", "blocks in y's buffer");
    tc_assert_untouched(yb, sizeof v, "y");

    /* a buffer of another context */
    clq_context *other = tc_context(CLQ_BACKEND_CPU);
    clq_buffer *ob = tc_buffer(other, 4 * REF_GGML_Q8_0_BYTES, NULL);
    st = clq_quantize_ggml(ctx, &x, CLQ_LAYOUT_GGML_Q8_0, ob, 0);
    expect(ctx, st, CLQ_ERROR_CONTEXT_MISMATCH, "out", "other context's out");
    clq_buffer_destroy(ob);
    clq_context_destroy(other);
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(out);
}
