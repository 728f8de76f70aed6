/* cpu_gemm_group_pack.c: packing of 4-bit and group-quantized weights into the CPU
 * path's group format (cpu_gemm_group.h), with the group sums cs' and the per-group
 * correction terms, one panel of 16 columns per parallel chunk. */
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm_group.h"
#include "cpu_gemm_kernel.h"
#include "cpu_internal.h"

#define P CLQ_CPU_GG_P

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

typedef struct gpack_job {
    const uint8_t *b;       /* [N][K] elements as given (4-bit: two per byte, low first) */
    clq_dtype bt;
    const clq_packed_weights *w;
    const clq_cpu_wpack *rec;
    uint8_t *data;
    int32_t *colsum;        /* w->colsum: [N][G] */
} gpack_job;

/* Values decoded per piece of a row (a multiple of 8: pieces start on k-octets). */
#define PIECE 4096

/* bu = b' + off of elements [e0, e0 + cnt) of row n into v. */
static void decode(const gpack_job *j, size_t n, size_t e0, size_t cnt, uint8_t *v) {
    size_t k = j->w->k, i0 = n * k + e0;
    const uint8_t *b = j->b;
    switch (j->bt) {
    case CLQ_S4:
    case CLQ_U4: {
        uint8_t x = j->bt == CLQ_S4 ? 8 : 0; /* s4 v + 8 is its nibble with bit 3 flipped */
        for (size_t e = 0; e < cnt; e++) {
            size_t i = i0 + e;
            v[e] = (uint8_t)(((b[i / 2] >> ((i & 1) * 4)) & 15) ^ x);
        }
        break;
    }
    case CLQ_S8:
        for (size_t e = 0; e < cnt; e++) v[e] = (uint8_t)(b[i0 + e] ^ 0x80);
        break;
    default: memcpy(v, b + i0, cnt); break;
    }
}

/* Column c's per-group entries of the panel from its group sum cs. */
static void group_terms(const gpack_job *j, size_t p, size_t c, size_t g, uint32_t cs) {
    const clq_packed_weights *w = j->w;
    const clq_cpu_wpack *r = j->rec;
    size_t G = r->ngroups, n = p * P + c, i = (p * G + g) * P + c;
    size_t pg = w->fmt.gran == CLQ_PER_BLOCK ? n * G + g : n;
    uint32_t off = r->bits == 4 ? 8u : 128u;
    uint8_t *data = j->data;
    int live = n < w->n;
    uint32_t zbv = live ? (uint32_t)((const int32_t *)w->zb->host)[w->zb_per_channel ? pg : 0] : 0;
    uint32_t len = live ? (uint32_t)clq__w_group_len(w, g) : 0;
    if (w->sb)
        ((float *)(void *)(data + r->off_sb))[i] =
            live ? ((const float *)w->sb->host)[w->sb_per_channel ? pg : 0] : 0.0f;
    if (r->zbu_const < 0) data[r->off_zbu + i] = live ? (uint8_t)(zbv + off) : 0;
    uint32_t xc = len * zbv - cs;
    ((int32_t *)(void *)(data + r->off_xc))[i] = (int32_t)xc;
    ((uint32_t *)(void *)(data + r->off_zx))[i] =
        live ? (uint32_t)(uint16_t)(0u - (zbv + off)) | xc << 16 : 0u;
    if (live && j->colsum) j->colsum[n * G + g] = (int32_t)cs;
}

static void gpack_panel(void *arg, size_t p) {
    const gpack_job *j = arg;
    const clq_packed_weights *w = j->w;
    const clq_cpu_wpack *r = j->rec;
    size_t G = r->ngroups, k = w->k, gl = w->fmt.group;
    uint32_t off = r->bits == 4 ? 8u : 128u;
    uint8_t *dst = j->data + p * r->pstride;
    memset(dst, 0, r->pstride);
    uint8_t v[PIECE];
    for (size_t c = 0; c < P; c++) {
        size_t n = p * P + c;
        size_t g = 0, gend = G ? (gl < k ? gl : k) : 0;
        uint32_t cs = 0; /* mod 2^32, as the contract says */
        for (size_t e0 = 0; n < w->n && e0 < k; e0 += PIECE) {
            size_t cnt = k - e0 < PIECE ? k - e0 : PIECE;
            decode(j, n, e0, cnt, v);
            for (size_t e = 0; e < cnt; e++) {
                size_t ke = e0 + e, q = ke / 4, x = c * 4 + ke % 4;
                if (r->bits == 8) dst[q * 64 + x] = v[e];
                else dst[(q / 2) * 64 + x] |= (uint8_t)(v[e] << ((q & 1) * 4));
                cs += (uint32_t)v[e] - off;
                if (ke + 1 == gend) {
                    group_terms(j, p, c, g, cs);
                    cs = 0;
                    g++;
                    gend = gend + gl < k ? gend + gl : k;
                }
            }
        }
        for (; g < G; g++) group_terms(j, p, c, g, 0); /* past N (or K = 0) */
    }
}

clq_status clq__cpu_gemm_group_pack(clq_context *ctx, const clq_pack_op *op,
                                    clq_packed_weights *w) {
    clq_cpu_state *st = ctx->impl;
    int bits = clq__dtype_bits(op->fmt.btype);
    size_t G = op->fmt.ngroups, n = op->n, k = op->k;
    if (op->fmt.gran == CLQ_PER_BLOCK && op->fmt.group % 16 != 0)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "cpu: group %zu: groups are a multiple of 16", op->fmt.group);
    size_t kp = round_up(k, bits == 4 ? 8 : 4), np = round_up(n, P);
    size_t pstride = round_up(bits == 4 ? kp * P / 2 : kp * P, 64);
    size_t panels = np / P;
    /* every zbu alike (per tensor, or one zero point throughout, as ggml's 8) */
    int off = bits == 4 ? 8 : 128;
    const int32_t *zb = w->zb->host;
    size_t nzb = !w->zb_per_channel ? 1 : op->fmt.gran == CLQ_PER_BLOCK ? n * G : n;
    int zconst = nzb ? (int)(zb[0] + off) : off;
    for (size_t i = 1; i < nzb && zconst >= 0; i++)
        if (zb[i] != zb[0]) zconst = -1;
    if (panels && (pstride > SIZE_MAX / panels || G > SIZE_MAX / 64 / panels))
        return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: packed weights of %zu x %zu overflow",
                          n, k);
    size_t per = panels * G * P; /* entries of each per-group array */
    size_t off_sb = round_up(panels * pstride, 64);
    size_t off_zbu = off_sb + (w->sb ? round_up(per * 4, 64) : 0);
    size_t off_xc = off_zbu + (zconst < 0 ? round_up(per, 64) : 0);
    size_t off_zx = off_xc + round_up(per * 4, 64);
    size_t total = off_zx + round_up(per * 4, 64);
    clq_cpu_wpack *rec = calloc(1, sizeof *rec);
    if (!rec) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "cpu: out of host memory packing");
    *rec = (clq_cpu_wpack){0, P, kp, np, 1, bits, op->fmt.group, G, pstride,
                           off_sb, off_zbu, off_xc, off_zx, zconst, 0, 0};
    w->impl = rec;
    w->impl_bytes = sizeof *rec;
    clq_status s = clq_buffer_create(ctx, total ? total : 64, &w->data);
    if (s != CLQ_SUCCESS) return s;
    gpack_job j = {clq__cpu_span_ptr(op->b), op->fmt.btype, w, rec, w->data->host,
                   w->colsum ? w->colsum->host : NULL};
    clq__cpu_parallel(st->pool, panels, gpack_panel, &j);
    const int32_t *xc = (const int32_t *)(const void *)(j.data + off_xc);
    rec->zx_ok = 1;
    for (size_t i = 0; i < per && rec->zx_ok; i++)
        if (xc[i] < INT16_MIN || xc[i] > INT16_MAX) rec->zx_ok = 0;
    return CLQ_SUCCESS;
}
