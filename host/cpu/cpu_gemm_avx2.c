/* cpu_gemm_avx2.c: the exact AVX2 GEMM micro-kernel: vpsignb + vpmaddubsw on K4 B
 * panels without a -128 weight, vpmaddwd on the others (no int16 saturation); its loops
 * serve the general tile and the small-M one (cpu_gemm_small.h). */
#include "cpu_gemm_kernel.h"
#include "cpu_gemm_small.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline))
#define MR 4

/* vpmaddubsw multiplies u8 by s8 and adds pairs into int16, saturating. With |a'| as
 * the u8 operand and b' signed by a' as the s8 one (vpsignb), each product is a' b';
 * |a'| <= 128 and |b'| <= 127 bound a pair by 2 * 128 * 127 = 32512 < 2^15, so the
 * form is exact exactly when the panel holds no -128 (packing records has_min), and
 * vpsignb then never negates -128. One vpmaddwd by ones widens the pairs into the
 * int32 sum of a k-quad. 4 rows x 16 columns: 8 accumulators. */
#define ROWS4(X) X(0) X(1) X(2) X(3)

/* Named accumulators, not arrays: GCC would keep an array of vectors on the stack. The
 * quad q of row i is at a + q * as_q + i * 4 (as_q: MR * 4 packed for the general tile,
 * astride * 4 for the small-M one). */
T_AVX2 INL void s_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t n0,
                       int32_t *c, int first, const int32_t *fx, const int R) {
    size_t ldc = g->ldc;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
    const __m256i ones = _mm256_set1_epi16(1);
#define S_INIT(i)                                                                   \
    __m256i c##i##0 = _mm256_setzero_si256(), c##i##1 = _mm256_setzero_si256();     \
    if (R > i && !first) {                                                          \
        c##i##0 = _mm256_loadu_si256((const __m256i *)(c + i * ldc));               \
        c##i##1 = _mm256_loadu_si256((const __m256i *)(c + i * ldc + 8));           \
    }
    ROWS4(S_INIT)
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as_q) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(b + q * 64));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + q * 64 + 32));
#define S_ROW(i)                                                                        \
    if (R > i) {                                                                        \
        int32_t w;                                                                      \
        memcpy(&w, a + i * 4, 4);                                                       \
        __m256i va = _mm256_set1_epi32(w), ua = _mm256_abs_epi8(va);                    \
        __m256i t0 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b0, va));                \
        __m256i t1 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(b1, va));                \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(t0, ones));               \
        c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(t1, ones));               \
    }
        ROWS4(S_ROW)
    }
#define S_STORE(i)                                                                    \
    if (R > i) {                                                                      \
        if (fx) {                                                                     \
            c##i##0 = _mm256_sub_epi32(c##i##0, _mm256_load_si256((const __m256i *)(fx + i * 16)));     \
            c##i##1 = _mm256_sub_epi32(c##i##1, _mm256_load_si256((const __m256i *)(fx + i * 16 + 8))); \
        }                                                                             \
        _mm256_storeu_si256((__m256i *)(c + i * ldc), c##i##0);                       \
        _mm256_storeu_si256((__m256i *)(c + i * ldc + 8), c##i##1);                   \
    }
    ROWS4(S_STORE)
}

/* [c0 c1 c4 c5 | c2 c3 c6 c7] of a half from its two (column, pair) quarters, then
 * in column order, added to o unless first. */
T_AVX2 INL void w_store(int32_t *o, __m256i lo, __m256i hi, int first) {
    __m256i x = _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
    if (!first) x = _mm256_add_epi32(x, _mm256_loadu_si256((const __m256i *)o));
    _mm256_storeu_si256((__m256i *)o, x);
}

/* Sign-extended to int16, every pair of products fits int32: vpmaddwd of an A quad
 * (broadcast, widened) by a quarter panel (4 columns x 4 k) gives (column, pair)
 * lanes, summed pairwise at the end. 2 rows x 16 columns: 8 accumulators. */
T_AVX2 INL void w_body(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t n0,
                       int32_t *c, int first, const int R) {
    size_t ldc = g->ldc;
    const int8_t *b = g->b + n0 * g->kp + g->k0 * CLQ_CPU_GEMM_K4_NR;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00;
    __m256i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    size_t steps = g->kc / 4;
    for (size_t q = 0; q < steps; q++, a += as_q) {
        const int8_t *bq = b + q * 64;
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)bq));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bq + 16)));
        __m256i b2 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bq + 32)));
        __m256i b3 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bq + 48)));
#define W_ROW(i)                                                           \
    if (R > i) {                                                           \
        int32_t w;                                                         \
        memcpy(&w, a + i * 4, 4);                                          \
        __m256i va = _mm256_cvtepi8_epi16(_mm_set1_epi32(w));              \
        c##i##0 = _mm256_add_epi32(c##i##0, _mm256_madd_epi16(va, b0));    \
        c##i##1 = _mm256_add_epi32(c##i##1, _mm256_madd_epi16(va, b1));    \
        c##i##2 = _mm256_add_epi32(c##i##2, _mm256_madd_epi16(va, b2));    \
        c##i##3 = _mm256_add_epi32(c##i##3, _mm256_madd_epi16(va, b3));    \
    }
        W_ROW(0) W_ROW(1)
    }
    w_store(c, c00, c01, first);
    w_store(c + 8, c02, c03, first);
    if (R > 1) {
        w_store(c + ldc, c10, c11, first);
        w_store(c + ldc + 8, c12, c13, first);
    }
}

/* The panel's listed -128 weights (stored as -127) within this K panel, [*lo, *end):
 * each takes 1 x a' off its column, row by row. */
static void fix_range(const clq_cpu_gemm_call *g, size_t n0, size_t *lo, size_t *end) {
    size_t p = n0 / CLQ_CPU_GEMM_K4_NR;
    const uint32_t *e = g->fix; /* start[] holds indices into the trailer itself */
    size_t l = e[p], h = e[p + 1], stop = h;
    uint32_t from = (uint32_t)(g->k0 << 4), to = (uint32_t)((g->k0 + g->kc) << 4);
    while (l < h) { /* the first entry at or past k0 */
        size_t mid = l + (h - l) / 2;
        if (e[mid] < from) l = mid + 1;
        else h = mid;
    }
    *lo = l;
    for (h = l; h < stop && e[h] < to; h++) {}
    *end = h;
}

/* 4 rows with their quads 16 bytes apart (the general tile): the corrections summed
 * into fx[4][16] before the K loop, which takes them off as it stores. Subtracting
 * from c after the tile's vector stores instead stalled each scalar load on the
 * store it overlaps (measured: 9% of a 1024^3 GEMM of random weights on Zen 1). */
T_AVX2 static void fix_rows4(const clq_cpu_gemm_call *g, const uint8_t *a, size_t lo,
                             size_t end, int32_t *fx) {
    const uint32_t *e = g->fix;
    __m128i col[16]; /* column j: its four rows' corrections */
    for (int j = 0; j < 16; j++) col[j] = _mm_setzero_si128();
    /* byte r of each row's quad, rows 0-3 into bytes 0-3 */
    static const uint32_t sel[4] = {0x0c080400u, 0x0d090501u, 0x0e0a0602u, 0x0f0b0703u};
    for (size_t i = lo; i < end; i++) {
        size_t kk = (e[i] >> 4) - g->k0;
        __m128i q = _mm_loadu_si128((const __m128i *)(a + (kk / 4) * 16));
        __m128i v = _mm_cvtepi8_epi32(_mm_shuffle_epi8(q, _mm_cvtsi32_si128((int)sel[kk % 4])));
        col[e[i] & 15] = _mm_add_epi32(col[e[i] & 15], v);
    }
    for (int j = 0; j < 16; j += 4) { /* 4 x 4 transposes into rows */
        __m128i t0 = _mm_unpacklo_epi32(col[j], col[j + 1]), t1 = _mm_unpacklo_epi32(col[j + 2], col[j + 3]);
        __m128i t2 = _mm_unpackhi_epi32(col[j], col[j + 1]), t3 = _mm_unpackhi_epi32(col[j + 2], col[j + 3]);
        _mm_store_si128((__m128i *)(fx + j), _mm_unpacklo_epi64(t0, t1));
        _mm_store_si128((__m128i *)(fx + 16 + j), _mm_unpackhi_epi64(t0, t1));
        _mm_store_si128((__m128i *)(fx + 32 + j), _mm_unpacklo_epi64(t2, t3));
        _mm_store_si128((__m128i *)(fx + 48 + j), _mm_unpackhi_epi64(t2, t3));
    }
}

/* Any rows and quad stride (the small-M tile's), after the tile. */
static void fix_after(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t lo,
                      size_t end, size_t rows, int32_t *c) {
    const uint32_t *e = g->fix;
    for (size_t i = lo; i < end; i++) {
        size_t kk = (e[i] >> 4) - g->k0, col = e[i] & 15;
        const int8_t *ap = (const int8_t *)a + (kk / 4) * as_q + kk % 4;
        for (size_t r = 0; r < rows; r++) c[r * g->ldc + col] -= ap[r * 4];
    }
}

/* One K4 panel (columns n0..n0 + 15), rows <= 4, A quads as_q bytes apart. */
T_AVX2 INL void panel(const clq_cpu_gemm_call *g, const uint8_t *a, size_t as_q, size_t n0,
                      size_t rows, int32_t *c, int first) {
    if (g->has_min[n0 / CLQ_CPU_GEMM_K4_NR]) {
        for (size_t i0 = 0; i0 < rows; i0 += 2) {
            /* row i0 of the group: its quads sit 4 * i0 bytes in */
            if (rows - i0 >= 2) w_body(g, a + 4 * i0, as_q, n0, c + i0 * g->ldc, first, 2);
            else w_body(g, a + 4 * i0, as_q, n0, c + i0 * g->ldc, first, 1);
        }
        return;
    }
    size_t lo = 0, end = 0;
    if (g->fix) fix_range(g, n0, &lo, &end);
    if (rows == 4 && as_q == 16) {
        _Alignas(32) int32_t fx[64];
        if (lo < end) fix_rows4(g, a, lo, end, fx);
        s_body(g, a, as_q, n0, c, first, lo < end ? fx : NULL, 4);
        return;
    }
    switch (rows) {
    case 1: s_body(g, a, as_q, n0, c, first, NULL, 1); break;
    case 2: s_body(g, a, as_q, n0, c, first, NULL, 2); break;
    case 3: s_body(g, a, as_q, n0, c, first, NULL, 3); break;
    default: s_body(g, a, as_q, n0, c, first, NULL, 4); break;
    }
    if (lo < end) fix_after(g, a, as_q, lo, end, rows, c);
}

T_AVX2 static void avx2_tile(const clq_cpu_gemm_call *g, const void *a, size_t n0, size_t rows,
                             size_t cols, int32_t *c, int first) {
    (void)cols; /* one panel */
    panel(g, a, MR * 4, n0, rows, c, first);
}

const clq_cpu_gemm_kernel clq__cpu_gemm_avx2 = {
    "avx2", CLQ_CPU_GEMM_B_K4_AVX2, MR, 16, 1, 512, clq__cpu_gemm_pack_a_k4s8, avx2_tile, 0, 0, NULL, 1};

/* Small M: the same 4 x 16 (2 x 16 on has_min panels) tiles, panel by panel. */
T_AVX2 static void avx2_small(const clq_cpu_gemm_call *g, const void *a, size_t astride,
                              size_t n0, size_t rows, size_t cols, int32_t *c, int first) {
    for (size_t j = 0; j < cols; j += 16) panel(g, a, astride * 4, n0 + j, rows, c + j, first);
}

const clq_cpu_gemm_small clq__cpu_gemm_small_avx2 = {
    "avx2", MR, 512, 1, clq__cpu_gemm_pack_a_k4s8, avx2_small, NULL};

#endif
