/* cpu_gemm_kernel.h: the int8 GEMM micro-kernel interface of the CPU path (the packed
 * panel formats a kernel reads, and the per-ISA kernel table the driver picks from). */
#ifndef CLQ_CPU_GEMM_KERNEL_H
#define CLQ_CPU_GEMM_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* Packed B format CLQ_CPU_GEMM_B_ROWS (w->layout[0]): the s8-domain weights as rows
 * of Kp bytes (K padded with zeros to a multiple of CLQ_CPU_GEMM_KALIGN), N padded
 * with zero rows to a multiple of CLQ_CPU_GEMM_NR:
 *   w->layout = {CLQ_CPU_GEMM_B_ROWS, CLQ_CPU_GEMM_NR, Kp, Np}.
 * A kernel reads NR consecutive rows from a K offset that is a multiple of KALIGN.
 * Rows along K suit a dot-product kernel (reduction over K in vector lanes): a
 * K-grouped format for outer-product kernels (VNNI: [k/4][NR][4]) would get its own
 * id here and its own packer next to cpu_gemm.c's, and w->layout keeps them apart. */
#define CLQ_CPU_GEMM_B_ROWS 1
#define CLQ_CPU_GEMM_NR 4
#define CLQ_CPU_GEMM_KALIGN 64
#define CLQ_CPU_GEMM_MR_MAX 4

/* c[i * ldc + j] = sum_{p < kc} a[i * kc + p] * b[j * ldb + p] for i < rows, j < NR,
 * stored (not accumulated). a: the packed A panel, rows of kc s16 s8-domain values;
 * b: NR packed B rows; kc a positive multiple of CLQ_CPU_GEMM_KALIGN. Products are
 * within s8 x s8, and the api layer's bound on K keeps every sum within int32. */
typedef void (*clq_cpu_gemm_ukr)(size_t kc, const int16_t *a, const int8_t *b, size_t ldb,
                                 int32_t *c, size_t ldc);

/* One ISA's kernel set: ukr[r - 1] computes r rows (r <= mr), so row remainders
 * take no padded work; mr is the tile height the driver blocks M by. */
typedef struct clq_cpu_gemm_kernel {
    const char *name;
    int mr;
    clq_cpu_gemm_ukr ukr[CLQ_CPU_GEMM_MR_MAX];
} clq_cpu_gemm_kernel;

/* The portable C kernel compiled for the baseline, and (x86) the same source
 * compiled for AVX2 and AVX-512BW so the vectoriser uses wider registers; a
 * hand-written SIMD kernel replaces an entry in cpu_gemm_kernel.c's table. */
extern const clq_cpu_gemm_kernel clq__cpu_gemm_portable;
#if defined(__x86_64__) || defined(__i386__)
extern const clq_cpu_gemm_kernel clq__cpu_gemm_avx2, clq__cpu_gemm_avx512;
#endif

/* Packs rows x kc of A (stored bytes; u8 when a_u8) starting at column k0 into the
 * s16 s8-domain panel the kernels read: row r at dst + r * kc, columns at or past K
 * written as 0. Reads only columns [k0, min(K, k0 + kc)) of each row. */
void clq__cpu_gemm_pack_a(const uint8_t *a, size_t lda, int a_u8, size_t rows, size_t k0,
                          size_t kc, size_t K, int16_t *dst);

#endif
