/* cpu_gemm_group_avx512.c: the AVX-512 VNNI kernel of the group-format GEMM: 6 rows x
 * 4 panels of vpdpbusd (bu unsigned, a' signed: exact in int32 with no correction of
 * its own), 4-bit panels unpacked with one 64-byte load, a mask and a shift per two
 * k-quads; after each group the correction and fold of cpu_gemm_group.h. */
#include "cpu_gemm_group.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#define T_ZVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define INL static inline __attribute__((always_inline))
#define P CLQ_CPU_GG_P
#define MR 6
#define NP 4

/* GCC copies the accumulator around the vpdpbusd intrinsic (cpu_gemm_vnni.c); the
 * instruction itself keeps it in place. u: the unsigned operand, s: the signed one. */
#define DPBUSD(acc, u, s) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s))

/* Each accumulator zeroed by its own instruction: GCC gives accumulators that start
 * from one shared zero a register each only by copying around every vpdpbusd. */
#define ZERO(acc) __asm__ volatile("vpxord %0, %0, %0" : "=v"(acc))

/* The high nibbles of 64 bytes at p, shifted from memory again: keeping the loaded
 * vectors for them would take 4 of the 32 registers the 24 accumulators leave. */
T_ZVNNI INL __m512i HI4(const uint8_t *p, __m512i mask) {
    __m512i r;
    __asm__("vpsrlw $4, %1, %0" : "=v"(r) : "m"(*(const uint8_t(*)[64])p));
    return _mm512_and_si512(r, mask);
}

T_ZVNNI INL __m512i bcast4(const int8_t *p) {
    int32_t w;
    memcpy(&w, p, 4);
    return _mm512_set1_epi32(w);
}

/* One row's d_j of 16 columns (entry t of the per-group arrays) into out. rz: the row's
 * pair (rs'_j[m], za'_j[m]) with zx, else rs'_j[m] times zbu_c when the zbu are all
 * alike, else rs'_j[m]. */
T_ZVNNI INL void zfold(const clq_cpu_gg_args *g, size_t t, size_t j, __m512i acc, int32_t rz,
                       int32_t za, float sa, void *out) {
    __m512i d;
    if (g->zx)
        d = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_loadu_si512(g->zx + t),
                                                    _mm512_set1_epi32(rz)));
    else if (g->zbu)
        d = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                                                          (const __m128i *)(g->zbu + t))),
                                                      _mm512_set1_epi32(rz)));
    else
        d = _mm512_sub_epi32(acc, _mm512_set1_epi32(rz));
    if (g->xc && !g->zx)
        d = _mm512_add_epi32(d, _mm512_mullo_epi32(_mm512_loadu_si512(g->xc + t),
                                                   _mm512_set1_epi32(za)));
    if (g->mode == CLQ_CPU_GG_INT) {
        _mm512_storeu_si512(out, d);
        return;
    }
    __m512 s = _mm512_mul_ps(_mm512_set1_ps(sa), _mm512_loadu_ps(g->sb + t));
    if (g->mode == CLQ_CPU_GG_REQ) s = _mm512_div_ps(s, _mm512_set1_ps(g->sc));
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(d), s);
    (void)j; /* y was filled with -0.0: y + f is f for the first group */
    _mm512_storeu_ps(out, _mm512_add_ps(_mm512_loadu_ps((const float *)out), f));
}

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define TILE(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)

/* Named accumulators (an array of vectors would live on the stack); R, V, BITS are
 * constants per instantiation. */
T_ZVNNI INL void zbody(const clq_cpu_gg_args *g, const int8_t *a, size_t m0, size_t n0, void *out,
                       size_t ldo, const int R, const int V, const int BITS) {
    const __m512i mask = _mm512_set1_epi8(15);
    size_t p0 = n0 / P, ps = g->pstride, G = g->ngroups;
    const uint8_t *b = g->b + p0 * ps;
    /* the fold's operands in locals: the vector stores may alias g */
    const float *sb = g->sb, *sa = g->sa;
    const int32_t *rs = g->rs, *ra = g->ra, *zx = g->zx;
    size_t sa_m = g->sa_m, sa_j = g->sa_j;
    uint32_t zbu_c = (uint32_t)g->zbu_c;
    int fast = g->mode != CLQ_CPU_GG_F32 ? 0 : zx ? 2 : !g->zbu && !g->xc ? 1 : 0;
    for (size_t j = 0; j < G; j++) {
        size_t q0 = j * g->gq, q1 = q0 + g->gq < g->kq ? q0 + g->gq : g->kq;
#define INIT(i, v)  \
    __m512i c##i##v;  \
    ZERO(c##i##v);
#define INIT_ROW(i) TILE(INIT, i)
        ROWS(INIT_ROW)
#define DP(i, v) \
    if (V > v) DPBUSD(c##i##v, b##v, av);
#define ROW(i)                                  \
    if (R > i) {                                \
        __m512i av = bcast4(aq + i * 4);        \
        TILE(DP, i)                             \
    }
        if (BITS == 4) {
            for (size_t q = q0; q < q1; q += 2) {
                const uint8_t *o = b + (q / 2) * 64;
                __m512i b0 = _mm512_and_si512(_mm512_loadu_si512(o), mask);
                __m512i b1 = V > 1 ? _mm512_and_si512(_mm512_loadu_si512(o + ps), mask) : b0;
                __m512i b2 = V > 2 ? _mm512_and_si512(_mm512_loadu_si512(o + 2 * ps), mask) : b0;
                __m512i b3 = V > 3 ? _mm512_and_si512(_mm512_loadu_si512(o + 3 * ps), mask) : b0;
                const int8_t *aq = a + q * MR * 4;
                ROWS(ROW)
                b0 = HI4(o, mask);
                if (V > 1) b1 = HI4(o + ps, mask);
                if (V > 2) b2 = HI4(o + 2 * ps, mask);
                if (V > 3) b3 = HI4(o + 3 * ps, mask);
                aq += MR * 4;
                ROWS(ROW)
            }
        } else {
            for (size_t q = q0; q < q1; q++) {
                const uint8_t *o = b + q * 64;
                __m512i b0 = _mm512_loadu_si512(o);
                __m512i b1 = V > 1 ? _mm512_loadu_si512(o + ps) : b0;
                __m512i b2 = V > 2 ? _mm512_loadu_si512(o + 2 * ps) : b0;
                __m512i b3 = V > 3 ? _mm512_loadu_si512(o + 3 * ps) : b0;
                const int8_t *aq = a + q * MR * 4;
                ROWS(ROW)
            }
        }
#define FOLD(i, v) \
    if (V > v) zfold(g, ((p0 + v) * G + j) * P, j, c##i##v, rz, za, sa, (char *)o + v * P * 4);
#define FOLD_ROW(i)                                                                    \
    if (R > i) {                                                                       \
        size_t m = m0 + i;                                                             \
        int32_t rz = g->zx ? g->ra[m * G + j] : g->rs[m * G + j];                      \
        if (!g->zx && !g->zbu) rz = (int32_t)((uint32_t)rz * (uint32_t)g->zbu_c);      \
        int32_t za = g->xc ? g->za[m * g->za_m + j * g->za_j] : 0;                     \
        float sa = g->mode != CLQ_CPU_GG_INT ? g->sa[m * g->sa_m + j * g->sa_j] : 0.0f; \
        char *o = (char *)out + i * ldo * 4;                                           \
        TILE(FOLD, i)                                                                  \
    }
/* The common stages without a branch per accumulator: f32 out, and the correction one
 * broadcast (FB) or one vpmaddwd (FP); y was filled with -0.0 (y + f = f exactly). */
#define FOLD_F(i, v, CORR)                                                           \
    if (V > v) {                                                                     \
        size_t t = ((p0 + v) * G + j) * P;                                           \
        __m512 s = _mm512_mul_ps(sav, _mm512_loadu_ps(sb + t));                      \
        __m512i d = CORR(i, v, t);                                                   \
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(d), s);                          \
        float *y = o + v * P;                                                        \
        _mm512_storeu_ps(y, _mm512_add_ps(_mm512_loadu_ps(y), f));                   \
    }
#define CORR_B(i, v, t) _mm512_sub_epi32(c##i##v, rzv)
#define CORR_P(i, v, t) _mm512_add_epi32(c##i##v, _mm512_madd_epi16(_mm512_loadu_si512(zx + t), rzv))
#define FOLD_FB(i, v) FOLD_F(i, v, CORR_B)
#define FOLD_FP(i, v) FOLD_F(i, v, CORR_P)
#define FOLD_ROW_F(i, X, RZ)                                                         \
    if (R > i) {                                                                     \
        size_t m = m0 + i;                                                           \
        __m512i rzv = _mm512_set1_epi32(RZ);                                         \
        __m512 sav = _mm512_set1_ps(sa[m * sa_m + j * sa_j]);                        \
        float *o = (float *)out + i * ldo;                                           \
        TILE(X, i)                                                                   \
    }
#define FOLD_ROW_FB(i) FOLD_ROW_F(i, FOLD_FB, (int32_t)((uint32_t)rs[m * G + j] * zbu_c))
#define FOLD_ROW_FP(i) FOLD_ROW_F(i, FOLD_FP, ra[m * G + j])
        if (fast == 1) {
            ROWS(FOLD_ROW_FB)
        } else if (fast == 2) {
            ROWS(FOLD_ROW_FP)
        } else {
            ROWS(FOLD_ROW)
        }
    }
}

/* One row of 4-bit panels (decode). The tile above has only V accumulators there and
 * its shifts share the two ports of vpdpbusd. Here the low and the high nibbles'
 * k-quads go to their own accumulators (2 V chains), and the high nibbles are taken
 * in place, 16 hi, with no shift: h = 16 sum(hi a') is exact while the group is at most
 * 65536 long (|sum| <= 15 * 128 * 32768 < 2^27; z1_4 checks), and h >> 4 gives the sum
 * back. With the f32 fold's common forms y stays in registers across the groups. The
 * int32 d and the f32 additions and roundings are the tile's. */
T_ZVNNI INL void z1body4(const clq_cpu_gg_args *g, const int8_t *a, size_t m0, size_t n0, void *out,
                         const int V, const int FAST) {
    const __m512i mask = _mm512_set1_epi8(15), mhi = _mm512_set1_epi8((char)0xF0);
    size_t p0 = n0 / P, ps = g->pstride, G = g->ngroups;
    const uint8_t *b = g->b + p0 * ps;
    const float *sb = g->sb;
    const int32_t *zx = g->zx;
    __m512 y0 = _mm512_set1_ps(-0.0f), y1 = y0, y2 = y0, y3 = y0;
    for (size_t j = 0; j < G; j++) {
        size_t q0 = j * g->gq, q1 = q0 + g->gq < g->kq ? q0 + g->gq : g->kq;
        __m512i l0, l1, l2, l3, h0, h1, h2, h3;
        ZERO(l0); ZERO(l1); ZERO(l2); ZERO(l3);
        ZERO(h0); ZERO(h1); ZERO(h2); ZERO(h3);
        for (size_t q = q0; q < q1; q += 2) {
            const uint8_t *o = b + (q / 2) * 64;
            const int8_t *aq = a + q * MR * 4;
            __m512i alo = bcast4(aq), ahi = bcast4(aq + MR * 4);
#define Z1(v)                                                                       \
    if (V > v) {                                                                    \
        __m512i x = _mm512_loadu_si512(o + v * ps);                                \
        DPBUSD(l##v, _mm512_and_si512(x, mask), alo);                               \
        DPBUSD(h##v, _mm512_and_si512(x, mhi), ahi);                                \
    }
            Z1(0) Z1(1) Z1(2) Z1(3)
#undef Z1
        }
        size_t m = m0;
        if (!FAST) {
            int32_t rz = g->zx ? g->ra[m * G + j] : g->rs[m * G + j];
            if (!g->zx && !g->zbu) rz = (int32_t)((uint32_t)rz * (uint32_t)g->zbu_c);
            int32_t za = g->xc ? g->za[m * g->za_m + j * g->za_j] : 0;
            float sa = g->mode != CLQ_CPU_GG_INT ? g->sa[m * g->sa_m + j * g->sa_j] : 0.0f;
#define Z1F(v) \
    if (V > v) zfold(g, ((p0 + v) * G + j) * P, j, _mm512_add_epi32(l##v, _mm512_srai_epi32(h##v, 4)), rz, za, sa, (char *)out + v * P * 4);
            Z1F(0) Z1F(1) Z1F(2) Z1F(3)
#undef Z1F
            continue;
        }
        __m512i rzv = _mm512_set1_epi32(FAST == 2 ? g->ra[m * G + j]
                                                  : (int32_t)((uint32_t)g->rs[m * G + j] *
                                                              (uint32_t)g->zbu_c));
        __m512 sav = _mm512_set1_ps(g->sa[m * g->sa_m + j * g->sa_j]);
#define Z1Y(v)                                                                              \
    if (V > v) {                                                                            \
        size_t t = ((p0 + v) * G + j) * P;                                                  \
        __m512 s = _mm512_mul_ps(sav, _mm512_loadu_ps(sb + t));                             \
        __m512i d = _mm512_add_epi32(l##v, _mm512_srai_epi32(h##v, 4));                     \
        d = FAST == 2 ? _mm512_add_epi32(d, _mm512_madd_epi16(_mm512_loadu_si512(zx + t), rzv)) \
                      : _mm512_sub_epi32(d, rzv);                                           \
        y##v = _mm512_add_ps(y##v, _mm512_mul_ps(_mm512_cvtepi32_ps(d), s));                \
    }
        Z1Y(0) Z1Y(1) Z1Y(2) Z1Y(3)
#undef Z1Y
    }
    if (FAST) {
        float *y = out;
        if (V > 0) _mm512_storeu_ps(y, y0);
        if (V > 1) _mm512_storeu_ps(y + P, y1);
        if (V > 2) _mm512_storeu_ps(y + 2 * P, y2);
        if (V > 3) _mm512_storeu_ps(y + 3 * P, y3);
    }
}

T_ZVNNI static void z1_4(const clq_cpu_gg_args *g, const int8_t *a, size_t m0, size_t n0,
                         void *out, size_t v) {
    int fast = g->mode != CLQ_CPU_GG_F32 ? 0 : g->zx ? 2 : !g->zbu && !g->xc ? 1 : 0;
#define Z1CASE(V)                                                      \
    case V:                                                            \
        if (fast == 2) z1body4(g, a, m0, n0, out, V, 2);               \
        else if (fast == 1) z1body4(g, a, m0, n0, out, V, 1);          \
        else z1body4(g, a, m0, n0, out, V, 0);                         \
        break;
    switch (v) { Z1CASE(1) Z1CASE(2) Z1CASE(3) Z1CASE(4) default: break; }
#undef Z1CASE
}

#define ZCASE(R, V)                                                       \
    case R * 8 + V:                                                       \
        if (g->bits == 4) zbody(g, a, m0, n0, out, ldo, R, V, 4);         \
        else zbody(g, a, m0, n0, out, ldo, R, V, 8);                      \
        break;
#define ZROW(R) ZCASE(R, 1) ZCASE(R, 2) ZCASE(R, 3) ZCASE(R, 4)

T_ZVNNI static void z_tile(const clq_cpu_gg_args *g, const int8_t *a, size_t m0, size_t rows,
                           size_t n0, size_t cols, void *out, size_t ldo) {
    size_t v = (cols + P - 1) / P;
    if (g->mode != CLQ_CPU_GG_INT) /* -0.0 is the identity of the f32 addition, signs of zero included */
        for (size_t i = 0; i < rows; i++)
            for (size_t c = 0; c < v; c++)
                _mm512_storeu_ps((float *)out + i * ldo + c * P, _mm512_set1_ps(-0.0f));
    if (rows == 1 && g->bits == 4 && g->gq <= 65536 / 4) {
        z1_4(g, a, m0, n0, out, v);
        return;
    }
    switch (rows * 8 + v) {
        ZROW(1) ZROW(2) ZROW(3) ZROW(4) ZROW(5) ZROW(6)
    default:
        break;
    }
}

const clq_cpu_gemm_group clq__cpu_gemm_group_avx512vnni = {"avx512-vnni", MR, NP * P, z_tile};

#endif
