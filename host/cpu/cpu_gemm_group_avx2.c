/* cpu_gemm_group_avx2.c: the AVX2 kernel of the group-format GEMM. 4-bit: one 32-byte
 * load per eight columns and k-octet, masked and shifted into the two quads' u4 bytes,
 * vpmaddubsw (bu unsigned, a' signed: exact, a pair is at most 2 * 15 * 128) summing
 * both quads in int16 before one vpmaddwd; 8-bit: bu zero-extended and a' sign-extended
 * to int16 for vpmaddwd. After each group the correction and fold of cpu_gemm_group.h
 * on the int32 sums, in registers. */
#include "cpu_gemm_group.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INL static inline __attribute__((always_inline))
#define P CLQ_CPU_GG_P
#define MR 4
#define NP_MAX 4 /* panels per call: nr = 64 */

T_AVX2 INL __m256i bcast4(const int8_t *p) {
    int32_t w;
    memcpy(&w, p, 4);
    return _mm256_set1_epi32(w);
}

/* A broadcast per use (a load on its own): kept in registers across the panel halves,
 * four rows' quads take 8 of the 16 registers and spill the accumulators (one row
 * keeps its two). */
T_AVX2 INL __m256i bcast4v(const int8_t *p) {
    __m256i r;
    __asm__ volatile("vpbroadcastd %1, %0" : "=x"(r) : "m"(*(const int32_t *)p));
    return r;
}

/* Eight columns (h: which half of the panel) of rows' d_j folded into y / written. */
T_AVX2 INL void fold8(const clq_cpu_gg_args *g, size_t p, size_t j, int h, size_t m, __m256i acc,
                      void *out) {
    size_t t = (p * g->ngroups + j) * P + 8 * (size_t)h;
    __m256i d;
    if (g->zx) {
        __m256i zx = _mm256_loadu_si256((const __m256i *)(g->zx + t));
        d = _mm256_add_epi32(acc, _mm256_madd_epi16(zx, _mm256_set1_epi32(g->ra[m * g->ngroups + j])));
    } else {
        __m256i zbu = g->zbu ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(g->zbu + t)))
                             : _mm256_set1_epi32(g->zbu_c);
        __m256i rs = _mm256_set1_epi32(g->rs[m * g->ngroups + j]);
        d = _mm256_sub_epi32(acc, _mm256_mullo_epi32(zbu, rs));
        if (g->xc) {
            __m256i xc = _mm256_loadu_si256((const __m256i *)(g->xc + t));
            __m256i za = _mm256_set1_epi32(g->za[m * g->za_m + j * g->za_j]);
            d = _mm256_add_epi32(d, _mm256_mullo_epi32(xc, za));
        }
    }
    if (g->mode == CLQ_CPU_GG_INT) {
        _mm256_storeu_si256((__m256i *)out, d);
        return;
    }
    __m256 s = _mm256_mul_ps(_mm256_set1_ps(g->sa[m * g->sa_m + j * g->sa_j]),
                             _mm256_loadu_ps(g->sb + t));
    if (g->mode == CLQ_CPU_GG_REQ) s = _mm256_div_ps(s, _mm256_set1_ps(g->sc));
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(d), s);
    if (j) f = _mm256_add_ps(_mm256_loadu_ps((const float *)out), f);
    _mm256_storeu_ps((float *)out, f);
}

/* 4-bit: R rows x NP panels (R = 1 or NP = 1), every group. Accumulators c<i><v><h>
 * (row i, panel v, half h) are named variables: GCC keeps an array of vectors in
 * memory as well, a store per update. */
#define AV2(X, i, v) X(i, v, 0) X(i, v, 1)
#define AROW(X, i) AV2(X, i, 0) AV2(X, i, 1) AV2(X, i, 2) AV2(X, i, 3)
#define AALL(X) AROW(X, 0) AROW(X, 1) AROW(X, 2) AROW(X, 3)
#define ALIVE(i, v) (R > i && NP > v && (i == 0 || v == 0))

T_AVX2 INL void body4(const clq_cpu_gg_args *gp, const int8_t *a, size_t m0, size_t n0,
                      void *out, size_t ldo, const int R, const int NP) {
    /* a local copy: the vector stores to out may alias *gp, not it */
    const clq_cpu_gg_args gl = *gp, *g = &gl;
    const __m256i mask = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
    size_t p0 = n0 / P;
    const uint8_t *b = g->b + p0 * g->pstride;
    for (size_t j = 0; j < g->ngroups; j++) {
        size_t q0 = j * g->gq, q1 = q0 + g->gq < g->kq ? q0 + g->gq : g->kq;
#define A_INIT(i, v, h) __m256i c##i##v##h = _mm256_setzero_si256();
        AALL(A_INIT)
        for (size_t q = q0; q < q1; q += 2) {
            const int8_t *aq = a + q * MR * 4;
#define A_ROW(i, v, h)                                                                   \
    if (ALIVE(i, v)) {                                                                   \
        __m256i a0 = R == 1 ? bcast4(aq) : bcast4v(aq + i * 4);                           \
        __m256i a1 = R == 1 ? bcast4(aq + MR * 4) : bcast4v(aq + MR * 4 + i * 4);         \
        __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(lo, a0), _mm256_maddubs_epi16(hi, a1)); \
        c##i##v##h = _mm256_add_epi32(c##i##v##h, _mm256_madd_epi16(t, ones));           \
    }
#define A_HALF(v, h)                                                                     \
    if (NP > v) {                                                                        \
        const uint8_t *o = b + v * g->pstride + (q / 2) * 64 + 32 * h;                   \
        __m256i raw = _mm256_loadu_si256((const __m256i *)o);                            \
        __m256i lo = _mm256_and_si256(raw, mask);                                        \
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), mask);                  \
        A_ROW(0, v, h) A_ROW(1, v, h) A_ROW(2, v, h) A_ROW(3, v, h)                      \
    }
            A_HALF(0, 0) A_HALF(0, 1) A_HALF(1, 0) A_HALF(1, 1)
            A_HALF(2, 0) A_HALF(2, 1) A_HALF(3, 0) A_HALF(3, 1)
        }
#define A_FOLD(i, v, h) \
    if (ALIVE(i, v)) fold8(g, p0 + v, j, h, m0 + i, c##i##v##h, (char *)out + (i * ldo + v * P + 8 * h) * 4);
        AALL(A_FOLD)
    }
}

/* [c0 c1 c4 c5 | c2 c3 c6 c7] of (column, pair) lanes to eight column sums in order. */
T_AVX2 INL __m256i hsum_pairs(__m256i lo, __m256i hi) {
    return _mm256_permute4x64_epi64(_mm256_hadd_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0));
}

/* 8-bit: R <= 2 rows x one panel: vpmaddwd of a quad (widened) by quarter panels
 * (4 columns x 4 k), (column, pair) lanes summed at the group's end. */
T_AVX2 INL void body8(const clq_cpu_gg_args *gp, const int8_t *a, size_t m0, size_t n0,
                      void *out, size_t ldo, const int R) {
    const clq_cpu_gg_args gl = *gp, *g = &gl; /* as in body4 */
    size_t p = n0 / P;
    const uint8_t *b = g->b + p * g->pstride;
    for (size_t j = 0; j < g->ngroups; j++) {
        size_t q0 = j * g->gq, q1 = q0 + g->gq < g->kq ? q0 + g->gq : g->kq;
        __m256i c[2][4];
        for (int i = 0; i < R; i++)
            for (int v = 0; v < 4; v++) c[i][v] = _mm256_setzero_si256();
        for (size_t q = q0; q < q1; q++) {
            const uint8_t *bq = b + q * 64;
            __m256i bw[4];
            for (int v = 0; v < 4; v++)
                bw[v] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(bq + 16 * v)));
            for (int i = 0; i < R; i++) {
                int32_t w;
                memcpy(&w, a + q * MR * 4 + i * 4, 4);
                __m256i av = _mm256_cvtepi8_epi16(_mm_set1_epi32(w));
                for (int v = 0; v < 4; v++) c[i][v] = _mm256_add_epi32(c[i][v], _mm256_madd_epi16(av, bw[v]));
            }
        }
        for (int i = 0; i < R; i++) {
            char *o = (char *)out + i * ldo * 4;
            fold8(g, p, j, 0, m0 + i, hsum_pairs(c[i][0], c[i][1]), o);
            fold8(g, p, j, 1, m0 + i, hsum_pairs(c[i][2], c[i][3]), o + 32);
        }
    }
}

T_AVX2 static void avx2_tile(const clq_cpu_gg_args *g, const int8_t *a, size_t m0, size_t rows,
                             size_t n0, size_t cols, void *out, size_t ldo) {
    size_t np = (cols + P - 1) / P;
    if (g->bits == 8) {
        for (size_t v = 0; v < np; v++)
            for (size_t i = 0; i < rows; i += 2) {
                void *o = (char *)out + (i * ldo + v * P) * 4;
                if (rows - i >= 2) body8(g, a + i * 4, m0 + i, n0 + v * P, o, ldo, 2);
                else body8(g, a + i * 4, m0 + i, n0 + v * P, o, ldo, 1);
            }
        return;
    }
    /* one row: four panels per pass; more rows: one panel, up to 4 rows */
    if (rows == 1) {
        switch (np) {
        case 1: body4(g, a, m0, n0, out, ldo, 1, 1); break;
        case 2: body4(g, a, m0, n0, out, ldo, 1, 2); break;
        case 3: body4(g, a, m0, n0, out, ldo, 1, 3); break;
        default: body4(g, a, m0, n0, out, ldo, 1, 4); break;
        }
        return;
    }
    for (size_t v = 0; v < np; v++) {
        void *o = (char *)out + v * P * 4;
        size_t n = n0 + v * P;
        switch (rows) {
        case 2: body4(g, a, m0, n, o, ldo, 2, 1); break;
        case 3: body4(g, a, m0, n, o, ldo, 3, 1); break;
        default: body4(g, a, m0, n, o, ldo, 4, 1); break;
        }
    }
}

const clq_cpu_gemm_group clq__cpu_gemm_group_avx2 = {"avx2", MR, NP_MAX * P, avx2_tile};

#endif
