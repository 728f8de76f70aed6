/* api_gemm_import.c: clq_weights_import: ggml block_q8_0 / block_q4_0 and ONNX
 * MatMulNBits weights turned into clquant's group format (integers copied, f16 scales
 * widened exactly) and packed by the steps clq_weights_pack uses (docs/API.md,
 * "Weight layouts"). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api_gemm.h"
#include "cpu/cpu_convert.h" /* clq__half_to_float: exact, subnormals, inf and NaN */

#define GGML_QK 32 /* elements per ggml block */

void clq_weights_import_desc_init(clq_weights_import_desc *desc) {
    if (!desc) return;
    memset(desc, 0, sizeof *desc);
    desc->struct_size = sizeof *desc;
    desc->qtype = CLQ_U4;
    desc->scales_dtype = CLQ_F32;
}

/* The import's shape in clquant's terms, and what each foreign array must hold. */
typedef struct import_plan {
    const char *name;       /* the layout, for messages */
    clq_wformat fmt;
    size_t block_bytes;     /* ggml: bytes per block; ONNX: data bytes per group (g / 2) */
    size_t data_bytes, scales_bytes, zp_bytes, zp_row; /* needed; zp_row: bytes per row */
    size_t values_bytes;    /* the canonical [n][k] copy */
} import_plan;

static int mul3(size_t a, size_t b, size_t c, size_t *out) {
    return __builtin_mul_overflow(a, b, out) || __builtin_mul_overflow(*out, c, out);
}

static clq_status too_short(clq_context *ctx, const char *field, size_t have, size_t need,
                            const import_plan *p, size_t n) {
    return clq__error(ctx, CLQ_ERROR_OUT_OF_BOUNDS,
                      "desc->%s = %zu but %s: %zu rows of %zu blocks need %zu bytes", field, have,
                      p->name, n, p->fmt.ngroups, need);
}

static clq_status plan_import(clq_context *ctx, const clq_weights_import_desc *d, import_plan *p) {
    size_t n = d->n, k = d->k;
    memset(p, 0, sizeof *p);
    if (d->layout == CLQ_LAYOUT_GGML_Q8_0 || d->layout == CLQ_LAYOUT_GGML_Q4_0) {
        int q8 = d->layout == CLQ_LAYOUT_GGML_Q8_0;
        p->name = q8 ? "ggml Q8_0" : "ggml Q4_0";
        if (k % GGML_QK != 0)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "desc->k = %zu: %s blocks are %d long, K must be a multiple of %d",
                              k, p->name, GGML_QK, GGML_QK);
        p->fmt = (clq_wformat){q8 ? CLQ_S8 : CLQ_U4, CLQ_PER_BLOCK, GGML_QK, k / GGML_QK};
        p->block_bytes = 2 + (q8 ? GGML_QK : GGML_QK / 2);
    } else if (d->layout == CLQ_LAYOUT_ONNX_NBITS) {
        p->name = "ONNX MatMulNBits";
        if (d->qtype != CLQ_U4 && d->qtype != CLQ_S4)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "desc->qtype = %s: MatMulNBits weights are u4 or s4",
                              clq_dtype_name(d->qtype));
        if (d->block_size == 0 || d->block_size % CLQ_GEMM_GROUP_ALIGN != 0)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "desc->block_size = %zu: a weight group is a multiple of %d along K",
                              d->block_size, CLQ_GEMM_GROUP_ALIGN);
        if (d->scales_dtype != CLQ_F32 && d->scales_dtype != CLQ_F16)
            return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                              "desc->scales_dtype = %s: MatMulNBits scales are f32 or f16",
                              clq_dtype_name(d->scales_dtype));
        size_t g = d->block_size;
        p->fmt = (clq_wformat){d->qtype, CLQ_PER_BLOCK, g, k / g + (k % g != 0)};
        p->block_bytes = g / 2;
    } else {
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "desc->layout = %d: not a clq_weights_layout", (int)d->layout);
    }
    size_t nb = p->fmt.ngroups, cnt;
    int bits = clq__dtype_bits(p->fmt.btype);
    if (mul3(n, nb, p->block_bytes, &p->data_bytes) || __builtin_mul_overflow(n, nb, &cnt) ||
        cnt > SIZE_MAX / 8 || mul3(n, k, (size_t)bits, &p->values_bytes))
        return clq__error(ctx, CLQ_ERROR_OVERFLOW, "desc: %zu x %zu %s weights are too many", n,
                          k, p->name);
    p->values_bytes = p->values_bytes / 8 + (p->values_bytes % 8 != 0);
    if (d->data_bytes < p->data_bytes)
        return too_short(ctx, "data_bytes", d->data_bytes, p->data_bytes, p, n);
    if (p->data_bytes && !d->data)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "desc->data is NULL");
    if (d->layout != CLQ_LAYOUT_ONNX_NBITS) return CLQ_SUCCESS;
    p->scales_bytes = cnt * (d->scales_dtype == CLQ_F16 ? 2 : 4);
    if (d->scales_bytes < p->scales_bytes)
        return too_short(ctx, "scales_bytes", d->scales_bytes, p->scales_bytes, p, n);
    if (p->scales_bytes && !d->scales)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "desc->scales is NULL: MatMulNBits weights need their scales");
    if (d->zero_points) {
        p->zp_row = nb / 2 + nb % 2;
        p->zp_bytes = n * p->zp_row; /* <= the scales' count: no overflow */
        if (d->zero_points_bytes < p->zp_bytes)
            return too_short(ctx, "zero_points_bytes", d->zero_points_bytes, p->zp_bytes, p, n);
    }
    return CLQ_SUCCESS;
}

static float load_f16le(const unsigned char *b) {
    return clq__half_to_float((uint16_t)(b[0] | (unsigned)b[1] << 8));
}

/* MatMulNBits' f32 scales are a float array in host memory (any alignment). */
static float load_f32(const void *p, size_t i) {
    float f;
    memcpy(&f, (const unsigned char *)p + 4 * i, sizeof f);
    return f;
}

static void put4(unsigned char *v, size_t e, unsigned nib) {
    unsigned char *p = v + e / 2;
    *p = (e & 1) ? (unsigned char)((*p & 0x0f) | nib << 4) : (unsigned char)((*p & 0xf0) | nib);
}

/* Raw 4-bit nibble of a stored value (s4 as two's complement) and back. */
static int32_t nib_value(clq_dtype t, unsigned nib) {
    return t == CLQ_S4 ? (int32_t)((nib ^ 8u) - 8u) : (int32_t)nib;
}

/* The canonical values, zero points and scales of every group: the foreign values
 * copied as integers. A scale must be finite; one below zero is made positive by
 * complementing the group's bits (value v -> ~v, zero point z -> ~z: ~v - ~z = z - v,
 * exact in every type), a zero one turns the group into zero points with scale 1
 * (every product of the group is 0 whatever its scale): clquant's scales are > 0. */
static clq_status convert(clq_context *ctx, const clq_weights_import_desc *d, const import_plan *p,
                          unsigned char *v, int32_t *z, float *s) {
    const unsigned char *src = d->data;
    size_t n = d->n, k = d->k, nb = p->fmt.ngroups, g = p->fmt.group;
    int onnx = d->layout == CLQ_LAYOUT_ONNX_NBITS, q8 = d->layout == CLQ_LAYOUT_GGML_Q8_0;
    clq_dtype t = p->fmt.btype;
    unsigned mask = q8 ? 0xffu : 0x0fu;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < nb; j++) {
            size_t gi = r * nb + j, c0 = j * g, len = k - c0 < g ? k - c0 : g;
            const unsigned char *blk = src + gi * p->block_bytes;
            float sc;
            unsigned zraw; /* the zero point as stored bits */
            if (onnx) {
                sc = d->scales_dtype == CLQ_F16
                         ? load_f16le((const unsigned char *)d->scales + 2 * gi)
                         : load_f32(d->scales, gi);
                zraw = t == CLQ_S4 ? 0u : 8u;
                if (d->zero_points) {
                    unsigned char zb = ((const unsigned char *)d->zero_points)[r * p->zp_row + j / 2];
                    zraw = (j & 1) ? zb >> 4 : zb & 0x0fu;
                }
            } else {
                sc = load_f16le(blk);
                blk += 2;
                zraw = q8 ? 0u : 8u;
            }
            if (!isfinite(sc))
                return clq__error(ctx, CLQ_ERROR_INVALID_QPARAMS,
                                  "desc->%s: the scale of row %zu, block %zu (block %zu of the "
                                  "array) is %g: %s scales must be finite",
                                  onnx ? "scales" : "data", r, j, gi, (double)sc, p->name);
            unsigned flip = sc < 0.0f ? mask : 0u, zero = sc == 0.0f;
            zraw ^= flip;
            z[gi] = q8 ? (int32_t)(int8_t)(unsigned char)zraw : nib_value(t, zraw);
            s[gi] = zero ? 1.0f : fabsf(sc);
            size_t e0 = r * k + c0;
            for (size_t i = 0; i < len; i++) {
                unsigned q;
                if (q8)
                    q = blk[i];
                else if (onnx)
                    q = (i & 1) ? blk[i / 2] >> 4 : blk[i / 2] & 0x0fu;
                else /* Q4_0: byte i % 16 holds element i (low) and i + 16 (high) */
                    q = i < 16 ? blk[i] & 0x0fu : blk[i - 16] >> 4;
                q = zero ? zraw : (q ^ flip) & mask;
                if (q8)
                    v[e0 + i] = (unsigned char)q;
                else
                    put4(v, e0 + i, q);
            }
        }
    return CLQ_SUCCESS;
}

static clq_status weights_import(clq_context *ctx, const clq_weights_import_desc *d,
                                 clq_packed_weights **out) {
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    if (!d) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "desc is NULL");
    if (d->struct_size < sizeof *d)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "desc->struct_size = %zu; call clq_weights_import_desc_init",
                          d->struct_size);
    clq_status st = clq__weights_backend_check(ctx);
    import_plan p;
    if (st == CLQ_SUCCESS) st = plan_import(ctx, d, &p);
    if (st != CLQ_SUCCESS) return st;
    size_t cnt = d->n * p.fmt.ngroups, alloc = cnt ? cnt : 1;
    size_t vbytes = p.values_bytes ? p.values_bytes : 1;
    unsigned char *v = calloc(vbytes, 1);
    int32_t *z = malloc(alloc * sizeof *z);
    float *s = malloc(alloc * sizeof *s);
    clq_packed_weights *w = NULL;
    clq_buffer *vb = NULL;
    if (!v || !z || !s) {
        st = clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory importing weights");
        goto done;
    }
    z[0] = 0, s[0] = 1.0f; /* read as one pair when there is none */
    st = convert(ctx, d, &p, v, z, s);
    if (st == CLQ_SUCCESS) st = clq__weights_new(ctx, &p.fmt, d->n, d->k, &w);
    if (st == CLQ_SUCCESS) st = clq__weights_set_qparams(ctx, w, z, s, cnt);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, vbytes, &vb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(vb, 0, vbytes, v);
    if (w) st = clq__weights_pack_data(ctx, w, (clq_span){vb, 0}, st);
    if (st == CLQ_SUCCESS) {
        *out = w;
        w = NULL;
    }
done:
    clq_weights_destroy(w);
    clq_buffer_destroy(vb);
    free(v);
    free(z);
    free(s);
    return st;
}

clq_status clq_weights_import(clq_context *ctx, const clq_weights_import_desc *desc,
                              clq_packed_weights **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, weights_import(ctx, desc, out));
}
