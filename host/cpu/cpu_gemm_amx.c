/* cpu_gemm_amx.c: the AMX-INT8 GEMM micro-kernel: a 32 x 32 register tile held in four
 * 16 x 16 int32 tiles, tdpbusd on two A and two B tiles per 64 k. */
#include "cpu_gemm_kernel.h"
#include "cpu_gemm_small.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,amx-tile,amx-int8")))
#define INL static inline __attribute__((always_inline))
#define MR 32
#define NR 32

/* The palette-1 tile configuration (64 bytes, Intel SDM vol. 1 ch. 3.2.9 / 18). */
typedef struct tilecfg {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

/* Tiles: C 0 (rows 0-15, columns 0-15), 1 (rows 0-15, 16-31), 2 and 3 (rows 16-31);
 * A 4 (rows 0-15) and 5 (rows 16-31), 64 u8-domain bytes of k each; B 6 and 7: 16
 * k-quads x 16 columns x 4, which is 64 k of a K4 panel as stored. A tile's row count
 * is fixed by the configuration, so a short row group (the last of M) needs one of
 * its own; the thread keeps the configuration it loaded last and loads another only
 * when the row counts change. ldtilecfg zeroes every tile, and the first call of each
 * GEMM (after amx_finish released the state) loads one. */
static __thread int amx_cfg_rows = -1;

T_AMX static void amx_configure(int rows) {
    if (rows == amx_cfg_rows) return;
    int lo = rows < 16 ? rows : 16, hi = rows - lo;
    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    static const int hi_tile[3] = {2, 3, 5};
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = (uint8_t)(t >= 6 ? 16 : lo);
        cfg.colsb[t] = 64;
    }
    for (int i = 0; i < 3; i++) {
        cfg.rows[hi_tile[i]] = (uint8_t)hi;
        cfg.colsb[hi_tile[i]] = hi ? 64 : 0; /* rows 0 and colsb 0: not configured */
    }
    _tile_loadconfig(&cfg);
    amx_cfg_rows = rows;
}

/* Releases the tile state after a thread's last tile call of a GEMM (so that a context
 * switch does not save 8 KiB of tiles, and other code in this thread starts clean). */
T_AMX static void amx_finish(void) {
    if (amx_cfg_rows < 0) return;
    _tile_release();
    amx_cfg_rows = -1;
}

/* HI: rows 16-31 present; TWO: columns 16-31 present. tdpbusd is u8 x s8 like
 * vpdpbusd, so C starts from corr: loaded with stride 0, every row the same 16. A is
 * the packed group ([32][kc] rows, kc apart) or, in place, rows lda apart. */
T_AMX INL void amx_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t n0, int32_t *c,
                        int first, const int HI, const int TWO) {
    long as = g->lda ? (long)g->lda : (long)g->kc, ldc = (long)(g->ldc * sizeof(int32_t));
    const uint8_t *a1 = a + 16 * as;
    const int8_t *b0 = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
    const int8_t *b1 = b0 + CLQ_CPU_GEMM_K4_NR * g->kp;
    if (first) {
        const int32_t *cr = g->corr + n0;
        _tile_loadd(0, cr, 0);
        if (TWO) _tile_loadd(1, cr + 16, 0);
        if (HI) _tile_loadd(2, cr, 0);
        if (HI && TWO) _tile_loadd(3, cr + 16, 0);
    } else {
        _tile_loadd(0, c, ldc);
        if (TWO) _tile_loadd(1, c + 16, ldc);
        if (HI) _tile_loadd(2, c + 16 * g->ldc, ldc);
        if (HI && TWO) _tile_loadd(3, c + 16 * g->ldc + 16, ldc);
    }
    for (size_t kb = 0; kb < g->kc; kb += 64) {
        _tile_loadd(4, a + kb, as);
        _tile_loadd(6, b0 + kb * CLQ_CPU_GEMM_K4_NR, 64);
        _tile_dpbusd(0, 4, 6);
        if (TWO) {
            _tile_loadd(7, b1 + kb * CLQ_CPU_GEMM_K4_NR, 64);
            _tile_dpbusd(1, 4, 7);
        }
        if (HI) {
            _tile_loadd(5, a1 + kb, as);
            _tile_dpbusd(2, 5, 6);
            if (TWO) _tile_dpbusd(3, 5, 7);
        }
    }
    _tile_stored(0, c, ldc);
    if (TWO) _tile_stored(1, c + 16, ldc);
    if (HI) _tile_stored(2, c + 16 * g->ldc, ldc);
    if (HI && TWO) _tile_stored(3, c + 16 * g->ldc + 16, ldc);
}

T_AMX static void amx_tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                           size_t cols, int32_t *c, int first) {
    amx_configure((int)rows);
    int hi = rows > 16, two = cols > 16;
    if (hi && two) amx_body(g, a, n0, c, first, 1, 1);
    else if (hi) amx_body(g, a, n0, c, first, 1, 0);
    else if (two) amx_body(g, a, n0, c, first, 0, 1);
    else amx_body(g, a, n0, c, first, 0, 0);
}

const clq_cpu_gemm_kernel clq__cpu_gemm_amx = {"amx", CLQ_CPU_GEMM_B_K4_AMX, MR, NR, 1, 1024,
                                               clq__cpu_gemm_pack_a_rowsu8, amx_tile, 1, 0,
                                               amx_finish, 0};

/* Small M: all rows (<= 16) in the top tiles, all of K per 32 columns of the 64, A
 * (M rows of all K, packed without padding rows) read from L1 / L2 for each. */
T_AMX static void amx_small(const clq_cpu_gemm_call *g, const void *a, size_t astride, size_t n0,
                            size_t rows, size_t cols, int32_t *c, int first) {
    (void)astride; /* the A tile's stride is kc: rows as packed */
    amx_configure((int)rows);
    for (size_t j = 0; j < cols; j += NR) {
        if (cols - j > 16) amx_body(g, a, n0 + j, c + j, first, 0, 1);
        else amx_body(g, a, n0 + j, c + j, first, 0, 0);
    }
}

const clq_cpu_gemm_small clq__cpu_gemm_small_amx = {"amx", 16, 1024, 1, clq__cpu_gemm_pack_a_rowsu8,
                                                    amx_small, amx_finish};

#endif
