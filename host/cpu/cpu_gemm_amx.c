/* cpu_gemm_amx.c: the AMX-INT8 GEMM micro-kernel (tdpbusd on 16 x 16 int32 tiles).
 * Never run: no machine this project ran on since it was written has AMX (see
 * docs/BENCHMARKS.md); the registry resolves it only where AMX-TILE/INT8 and the
 * OS's tile-data permission are present. */
#include "cpu_gemm_kernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,amx-tile,amx-int8")))
#define MR 16

/* The palette-1 tile configuration (64 bytes, Intel SDM vol. 1 ch. 18). */
typedef struct tilecfg {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

/* Tile 0: C (16 x 16 int32), tile 1: A (16 rows x 64 u8-domain bytes, rows of the
 * [16][kc] A panel), tile 2: B (16 k-quads x 16 columns x 4: 64 k of a K4 panel,
 * which is that tile's layout). tdpbusd is u8 x s8 like vpdpbusd, so C starts from
 * corr the same way. */
T_AMX static void amx_tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                           size_t cols, int32_t *c, int first) {
    (void)cols; /* one panel */
    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 3; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
    int32_t buf[16 * 16] __attribute__((aligned(64)));
    for (size_t i = 0; i < 16; i++)
        for (size_t j = 0; j < 16; j++)
            buf[i * 16 + j] = i >= rows ? 0 : first ? g->corr[n0 + j] : c[i * g->ldc + j];
    _tile_loadd(0, buf, 64);
    const uint8_t *ap = a;
    const int8_t *bp = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
    for (size_t kb = 0; kb < g->kc; kb += 64) {
        _tile_loadd(1, ap + kb, (long)g->kc);
        _tile_loadd(2, bp + kb * CLQ_CPU_GEMM_K4_NR, 64);
        _tile_dpbusd(0, 1, 2);
    }
    _tile_stored(0, buf, 64);
    _tile_release();
    for (size_t i = 0; i < rows; i++) memcpy(c + i * g->ldc, buf + i * 16, 16 * sizeof(int32_t));
}

const clq_cpu_gemm_kernel clq__cpu_gemm_amx = {
    "amx", CLQ_CPU_GEMM_B_K4_AMX, MR, 16, 1, 512, clq__cpu_gemm_pack_a_rowsu8, amx_tile, 0, 0};

#endif
