/* cpu_ggml.c: ggml's Q8_0 / Q4_0 blocks on the CPU (docs/NUMERICS.md, "ggml blocks"):
 * quantize_row_q8_0_ref / _q4_0_ref (the portable kernel set; the vector sets in
 * cpu_ggml_simd.c) and their dequantize, the blocks cut into chunks that the pool runs. */
#include <math.h>
#include <string.h>

#include "cpu_convert.h"
#include "cpu_internal.h"

/* Blocks per chunk of parallel work: CLQ_CPU_CHUNK elements. */
#define GGML_CHUNK_BLOCKS (CLQ_CPU_CHUNK / CLQ_GGML_QK)

/* f32 to f16 bits, round to nearest even (GGML_FP32_TO_FP16): NaN to the quiet NaN of
 * its sign, >= 65520 to Inf, below 2^-14 to a subnormal (or zero). Integer steps only,
 * so that kernels/ggml.cl's copy gives the same bits on any device. */
static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;
    if (ax >= 0x477ff000u) return sign | 0x7c00u;
    if (ax < 0x33000000u) return sign; /* at most 2^-25: the tie goes to the even 0 */
    uint32_t mant = ax & 0x7fffffu, e = ax >> 23;
    uint32_t h, rem, tie;
    if (ax < 0x38800000u) {
        /* value = (mant | 2^23) * 2^(e - 150), in units of 2^-24: a shift of 126 - e
         * (14 .. 24 here) */
        uint32_t m = mant | 0x800000u, sh = 126u - e;
        h = m >> sh;
        rem = m & ((1u << sh) - 1u);
        tie = 1u << (sh - 1u);
    } else {
        h = ((e - 112u) << 10) | (mant >> 13);
        rem = mant & 0x1fffu;
        tie = 0x1000u;
    }
    if (rem > tie || (rem == tie && (h & 1u))) h++; /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

/* ggml's (int8_t) cast of a float as x86 compiles it: cvttss2si (truncation to int32;
 * NaN and values beyond int32 give 0x80000000), then the low byte. Finite values beyond
 * int8 reach it only from a Q8_0 block whose NaN reset amax (docs/NUMERICS.md, "ggml
 * blocks"); C leaves those casts undefined, this is what ggml's own builds do. */
static inline int ggml_cast_i8(float v) {
    if (!(fabsf(v) < 0x1p31f)) return 0;
    int b = (int)((uint32_t)(int32_t)v & 0xffu);
    return b >= 128 ? b - 256 : b;
}

/* roundf (half away from zero) inline, where libm's is a call per element: |v| rounded
 * to nearest even by the f32 add of 2^23 (exact for |v| < 2^23), exact halves that
 * went down pushed up (r - a is exact), the sign put back. Larger values are integers already, and they, +-Inf and NaN come
 * back as they are. */
static inline float round_away(float v) {
    float a = fabsf(v);
    if (!(a < 0x1p23f)) return v;
    float r = (a + 0x1p23f) - 0x1p23f;
    r = r - a == -0.5f ? r + 1.0f : r;
    return copysignf(r, v);
}

void clq__cpu_ggml_store_d(uint8_t *b, float d) {
    uint16_t h = f32_to_f16(d);
    b[0] = (uint8_t)(h & 0xffu);
    b[1] = (uint8_t)(h >> 8);
}

static float load_d(const uint8_t *b) {
    return clq__half_to_float((uint16_t)(b[0] | (unsigned)b[1] << 8));
}

/* The block's largest |x| over 8 lanes of 4 elements each, so that the compares run
 * side by side instead of as one chain of 32; *nan says whether any |x| is NaN. Without
 * NaN the max is order-free, so this is ggml's amax under either rule below; Q8_0
 * re-runs ggml's serial loop on a block holding NaN. */
static float block_amax(const float *x, int *nan) {
    float m[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int bad = 0;
    for (int j0 = 0; j0 < CLQ_GGML_QK; j0 += 8)
        for (int l = 0; l < 8; l++) {
            float v = fabsf(x[j0 + l]);
            bad |= v != v;
            m[l] = m[l] < v ? v : m[l];
        }
    for (int h = 4; h >= 1; h /= 2)
        for (int l = 0; l < h; l++) m[l] = m[l] < m[l + h] ? m[l + h] : m[l];
    *nan = bad;
    return m[0];
}

/* quantize_row_q8_0_ref on one block: amax by ggml's MAX (a NaN makes amax NaN and
 * the next element restarts it, as there), d = amax / 127, id from the f32 d, q = roundf(x * id). */
void clq__cpu_ggml_q8_0_block(const float *x, uint8_t *b) {
    int nan;
    float amax = block_amax(x, &nan);
    if (nan) {
        amax = 0.0f;
        for (int j = 0; j < CLQ_GGML_QK; j++) {
            float v = fabsf(x[j]);
            amax = amax > v ? amax : v;
        }
    }
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    clq__cpu_ggml_store_d(b, d);
    for (int j = 0; j < CLQ_GGML_QK; j++)
        b[2 + j] = (uint8_t)(ggml_cast_i8(round_away(x[j] * id)) & 0xff);
}

/* quantize_row_q4_0_ref on one block: max the first element of largest |x| (ggml's
 * strict <: NaN is never taken, and nothing when amax stays 0: max is then +0), d =
 * max / -8, q = min(15, (int8_t)(x * id + 8.5f)) with the product and the sum each
 * rounded (-ffp-contract=off). The lanes' amax skips NaN as the strict < does. */
static void q4_0_block(const float *x, uint8_t *b) {
    int nan;
    float amax = block_amax(x, &nan), max = 0.0f;
    if (amax > 0.0f) {
        int j = 0;
        while (fabsf(x[j]) != amax) j++;
        max = x[j];
    }
    float d = max / -8.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    clq__cpu_ggml_store_d(b, d);
    for (int j = 0; j < CLQ_GGML_QK / 2; j++) {
        int q0 = ggml_cast_i8(x[j] * id + 8.5f), q1 = ggml_cast_i8(x[j + 16] * id + 8.5f);
        q0 = q0 < 15 ? q0 : 15;
        q1 = q1 < 15 ? q1 : 15;
        b[2 + j] = (uint8_t)(q0 | q1 << 4);
    }
}

static void q8_0_blocks(const float *x, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) clq__cpu_ggml_q8_0_block(x + i * CLQ_GGML_QK, out + i * CLQ_GGML_Q8_0_BYTES);
}

static void q4_0_blocks(const float *x, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) q4_0_block(x + i * CLQ_GGML_QK, out + i * CLQ_GGML_Q4_0_BYTES);
}

const clq_cpu_ggmlkernels clq__cpu_ggmlk_portable = {q8_0_blocks, q4_0_blocks};

static void q8_0_deblock(const uint8_t *b, float *y) {
    float d = load_d(b);
    for (int j = 0; j < CLQ_GGML_QK; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

static void q4_0_deblock(const uint8_t *b, float *y) {
    float d = load_d(b);
    for (int j = 0; j < CLQ_GGML_QK / 2; j++) {
        y[j] = (float)((b[2 + j] & 0x0f) - 8) * d;
        y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
    }
}

typedef struct ggml_job {
    const clq_ggml_op *op;
    const clq_cpu_ggmlkernels *k;
    size_t bb; /* bytes per block */
} ggml_job;

/* Blocks converted to f32 at a time for an f16 / bf16 (or misaligned f32) input. */
#define GGML_STAGE_BLOCKS 8

static void quantize_chunk(void *arg, size_t c) {
    const ggml_job *j = arg;
    const clq_ggml_op *op = j->op;
    size_t b0 = c * GGML_CHUNK_BLOCKS, b1 = b0 + GGML_CHUNK_BLOCKS;
    if (b1 > op->nblocks) b1 = op->nblocks;
    const char *x = clq__cpu_span_ptr(op->x);
    uint8_t *out = clq__cpu_span_ptr(op->blocks);
    size_t xs = clq__cpu_dtype_size(op->xtype);
    void (*fn)(const float *, size_t, uint8_t *) =
        op->layout == CLQ_LAYOUT_GGML_Q4_0 ? j->k->q4_0 : j->k->q8_0;
    if (op->xtype == CLQ_F32 && (uintptr_t)x % sizeof(float) == 0) {
        fn((const float *)(const void *)x + b0 * CLQ_GGML_QK, b1 - b0, out + b0 * j->bb);
        return;
    }
    float v[GGML_STAGE_BLOCKS * CLQ_GGML_QK];
    for (size_t i = b0; i < b1; i += GGML_STAGE_BLOCKS) {
        size_t n = b1 - i < GGML_STAGE_BLOCKS ? b1 - i : GGML_STAGE_BLOCKS;
        const void *xb = x + i * CLQ_GGML_QK * xs;
        for (size_t e = 0; e < n * CLQ_GGML_QK; e++) v[e] = clq__load_float(op->xtype, xb, e);
        fn(v, n, out + i * j->bb);
    }
}

static void dequantize_chunk(void *arg, size_t c) {
    const ggml_job *j = arg;
    const clq_ggml_op *op = j->op;
    size_t b0 = c * GGML_CHUNK_BLOCKS, b1 = b0 + GGML_CHUNK_BLOCKS;
    if (b1 > op->nblocks) b1 = op->nblocks;
    const uint8_t *in = clq__cpu_span_ptr(op->blocks);
    float *y = clq__cpu_span_ptr(op->x);
    int q4 = op->layout == CLQ_LAYOUT_GGML_Q4_0;
    for (size_t i = b0; i < b1; i++) {
        if (q4)
            q4_0_deblock(in + i * j->bb, y + i * CLQ_GGML_QK);
        else
            q8_0_deblock(in + i * j->bb, y + i * CLQ_GGML_QK);
    }
}

static clq_status run(clq_context *ctx, const clq_ggml_op *op, clq_pass pass,
                      clq_cpu_chunk_fn fn) {
    /* nothing to acquire: the spans are the api layer's */
    if (pass == CLQ_PASS_PREPARE || op->nblocks == 0) return CLQ_SUCCESS;
    clq_cpu_state *st = ctx->impl;
    ggml_job j = {op, st->k.ggml, op->layout == CLQ_LAYOUT_GGML_Q4_0 ? CLQ_GGML_Q4_0_BYTES
                                                         : CLQ_GGML_Q8_0_BYTES};
    clq__cpu_parallel(st->pool, clq__cpu_nchunks(op->nblocks, GGML_CHUNK_BLOCKS), fn, &j);
    return CLQ_SUCCESS;
}

clq_status clq__cpu_ggml_quantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass) {
    return run(ctx, op, pass, quantize_chunk);
}

clq_status clq__cpu_ggml_dequantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass) {
    return run(ctx, op, pass, dequantize_chunk);
}
