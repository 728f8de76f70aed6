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

/* The unsigned-domain value bu = b' + off of element e of row n. */
static inline uint8_t load_bu(const gpack_job *j, size_t n, size_t e) {
    size_t k = j->w->k;
    switch (j->bt) {
    case CLQ_S4: return (uint8_t)(((j->b[(n * k + e) / 2] >> (((n * k + e) & 1) * 4)) & 15) ^ 8);
    case CLQ_U4: return (uint8_t)((j->b[(n * k + e) / 2] >> (((n * k + e) & 1) * 4)) & 15);
    case CLQ_S8: return (uint8_t)(j->b[n * k + e] ^ 0x80);
    default: return j->b[n * k + e];
    }
}

static void gpack_panel(void *arg, size_t p) {
    const gpack_job *j = arg;
    const clq_packed_weights *w = j->w;
    const clq_cpu_wpack *r = j->rec;
    size_t G = r->ngroups, kp = r->kp, n_all = w->n;
    int off = r->bits == 4 ? 8 : 128;
    uint8_t *dst = j->data + p * r->pstride;
    memset(dst, 0, r->pstride);
    float *sb = r->off_sb ? (float *)(void *)(j->data + r->off_sb) + p * G * P : NULL;
    uint8_t *zbu = r->zbu_const < 0 ? j->data + r->off_zbu + p * G * P : NULL;
    int32_t *xc = (int32_t *)(void *)(j->data + r->off_xc) + p * G * P;
    uint32_t *zx = (uint32_t *)(void *)(j->data + r->off_zx) + p * G * P;
    const int32_t *zb = w->zb->host;
    const float *sbs = w->sb ? w->sb->host : NULL;
    for (size_t c = 0; c < P; c++) {
        size_t n = p * P + c;
        int live = n < n_all;
        for (size_t e = 0; live && e < w->k; e++) {
            uint8_t v = load_bu(j, n, e);
            size_t q = e / 4, x = c * 4 + e % 4;
            if (r->bits == 8) dst[q * 64 + x] = v;
            else dst[(q / 2) * 64 + x] |= (uint8_t)(v << ((q & 1) * 4));
        }
        (void)kp;
        for (size_t g = 0; g < G; g++) {
            size_t i = g * P + c, pg = w->fmt.gran == CLQ_PER_BLOCK ? n * G + g : n;
            if (!live) {
                if (sb) sb[i] = 0.0f;
                if (zbu) zbu[i] = 0;
                xc[i] = 0;
                zx[i] = 0;
                continue;
            }
            size_t k0 = g * w->fmt.group, len = clq__w_group_len(w, g);
            uint32_t cs = 0; /* mod 2^32, as the contract says */
            for (size_t e = k0; e < k0 + len; e++) cs += (uint32_t)((int32_t)load_bu(j, n, e) - off);
            uint32_t zbv = (uint32_t)zb[w->zb_per_channel ? pg : 0];
            if (sb) sb[i] = sbs[w->sb_per_channel ? pg : 0];
            if (zbu) zbu[i] = (uint8_t)(zbv + (uint32_t)off);
            xc[i] = (int32_t)((uint32_t)len * zbv - cs);
            zx[i] = (uint32_t)(uint16_t)(0u - (zbv + (uint32_t)off)) | (uint32_t)xc[i] << 16;
            if (j->colsum) j->colsum[n * G + g] = (int32_t)cs;
        }
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
                           w->sb ? off_sb : 0, off_zbu, off_xc, off_zx, zconst, 0};
    w->impl = rec;
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
