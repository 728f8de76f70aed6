/* cpu_quantize_simd.h: what the AVX-512 and AVX2 quantize kernel sets
 * (cpu_quantize_avx512.c, cpu_quantize_avx2.c) share: the kernel kinds, the
 * scalar tails, the reciprocal fast path's proof, the per-kind tables. Both are
 * bit-identical to the portable kernels (cpu_quantize.c). */
#ifndef CLQ_CPU_QUANTIZE_SIMD_H
#define CLQ_CPU_QUANTIZE_SIMD_H

#include "cpu_convert.h"
#include "cpu_internal.h"
#include "cpu_simd.h"

#if CLQ_CPU_X86

/* Kernel kinds, compiled as separate loops so the hot loop has no branch on the
 * mode: Q_FAST is the default division mode through the reciprocal (the proof
 * below), the others are the plain formulas. */
enum { Q_FAST, Q_DIV_EVEN, Q_DIV_AWAY, Q_REC_EVEN, Q_REC_AWAY };

#define fast_ok clq__q_fast_ok

/* The plain kind of a configuration (never Q_FAST). */
static inline int plain_kind(const clq_cpu_ewcfg *cfg) {
    return cfg->reciprocal ? (cfg->half_away ? Q_REC_AWAY : Q_REC_EVEN)
                           : (cfg->half_away ? Q_DIV_AWAY : Q_DIV_EVEN);
}

/* Whether 1 / scale is exact: scale a power of two within 2^-126..2^126. */
static inline int pow2_scale(float scale) {
    uint32_t b;
    memcpy(&b, &scale, sizeof b);
    return (b & 0x007fffffu) == 0 && b >= 0x00800000u && b <= 0x7e800000u;
}

/* The kind for one (scale, zero point) of a configuration. */
static inline int run_kind(const clq_cpu_ewcfg *cfg, float scale, int32_t zp) {
    if (cfg->reciprocal) return plain_kind(cfg);
    if (pow2_scale(scale)) return cfg->half_away ? Q_REC_AWAY : Q_REC_EVEN; /* = the division */
    return fast_ok(scale, clq__zp_clamp(zp, cfg->zlo, cfg->zhi), cfg->qmin, cfg->qmax) ? Q_FAST
                                                                                      : plain_kind(cfg);
}

static inline int xrow(clq_dtype t) { return t == CLQ_F32 ? 0 : t == CLQ_F16 ? 1 : 2; }

/* Elements [j, n) the scalar way into bytes, or (packed) nibbles from byte j / 2:
 * the tails of the vector loops (j even when packed; an odd n leaves the last
 * high nibble 0). */
static inline void q_tail(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t j, size_t n,
                          float scale, int32_t zp) {
    float s = cfg->reciprocal ? 1.0f / scale : scale, zpf = clq__zp_clamp(zp, cfg->zlo, cfg->zhi);
    for (; j < n; j += cfg->packed ? 2 : 1) {
        unsigned v = clq__quantize_one(clq__load_float(cfg->xtype, x, j), s, zpf, cfg->qmin,
                                       cfg->qmax, cfg->half_away, cfg->reciprocal);
        if (!cfg->packed) {
            q[j] = (uint8_t)v;
            continue;
        }
        unsigned h = j + 1 < n ? clq__quantize_one(clq__load_float(cfg->xtype, x, j + 1), s, zpf,
                                                   cfg->qmin, cfg->qmax, cfg->half_away,
                                                   cfg->reciprocal)
                               : 0;
        q[j / 2] = (uint8_t)((v & 15u) | (h & 15u) << 4);
    }
}

/* Q_FAST: the bits of q = clamp(R(RN(x / scale)) + zp, qmin, qmax) (R = rint or
 * round half away, zp the clamped zero point) without a division, for
 * 2^-100 <= scale <= 2^100 and qmin <= zp <= qmax (fast_ok). Per lane, with
 * rcp = RN(1 / scale) (a normal number), u = 2^-24, z = x / scale (exact real),
 * v = RN(z) (the reference's quotient):
 *
 * 1. u' = fma(x, rcp, zp) (one rounding), k = rint(u') as int32 (cvtps2dq),
 *    d = u' - (float)k. The lane is accepted iff |d| < 0.5 - 2^-12 (NaN fails);
 *    the result is then clamp(k, qmin, qmax), done on the packed bytes
 *    (saturating packs, then byte min/max).
 *    Case A, |z| <= 2^10: x * rcp = z (1 + e), |e| <= u, so |x * rcp - z| <=
 *    2^-14; |x * rcp + zp| < 2^11 (|zp| <= 255), so the fma's rounding adds at
 *    most 2^-14: |u' - (z + zp)| <= 2^-13. With |v - z| <= ulp(v) / 2 <= 2^-14,
 *    |u' - (v + zp)| < 2^-12. Accepted, and k = rint(u') (|u'| < 2^11, the
 *    conversion is exact): v + zp lies in (k - 0.5, k + 0.5), so it is no tie,
 *    R(v) + zp = R(v + zp) = k, and the reference is clamp(k) (R is monotonic
 *    and fixes integers, so it commutes with a clamp to integer bounds).
 *    Case B, |z| > 2^10 or x = +-Inf: u' has the sign of z and |u'| > 700 (or is
 *    +-Inf), as has v (|R(v)| >= 1024), so the reference is qmax or qmin by the
 *    sign, as is clamp(k) when accepted. u' >= 2^31, u' < -2^31 and +-Inf give
 *    k = INT32_MIN and a huge or infinite d: rejected, never a wrong int.
 * 2. A rejected lane (NaN, |u'| >= 2^31, or within 2^-12 of a half-integer:
 *    about 2^-11 of random lanes, more with bf16's coarse grid, which puts many
 *    values on exact or rounded ties) sends its group of four vectors to
 *    q*_slow1: the correctly rounded division for every lane of the group, the
 *    reference formula itself, whose results lie in [qmin, qmax] (NaN: zp), so
 *    the byte clamp leaves them alone. (An exact division-free decision for the
 *    near-tie lanes, by the residual fma(-h, scale, x) against the spacing of
 *    f32 around the half-integer h, measured 1.5-2x slower per rejected group
 *    on Zen 5, whose divider is fast.)
 * The argument holds for any vector width. A scale that is a power of two has an
 * exact reciprocal, x * (1 / scale) = x / scale before rounding, so such scales
 * take the plain reciprocal kinds, which are then the division, bit for bit, and
 * never fall back (bf16 data with a power-of-two range would put a third of its
 * lanes on exact ties).
 *
 * Q_MARK, the same values without a fallback (the fused error kernels,
 * cpu_error_simd.c; q*_mark in cpu_quantize_vec.h), for the scales fast_ok admits and
 * R = rint: q0 = RN(x rcp), r = fma(-q0, scale, x), q1 = fma(r, rcp, q0) is Markstein's
 * correction of a quotient by a reciprocal (P. Markstein, IBM J. Res. Dev. 34, 1990;
 * J.-M. Muller, "Accelerating floating-point division when the divisor is known in
 * advance", 2002), and q1 = v exactly, so clamp(R(q1) + zp) is the reference. The
 * published theorem asks for a faithful q0, which RN(x rcp) is not always (1.4% of the
 * pairs at 12 bits); the claim itself was checked over every pair of significands at
 * precisions 5 to 12, 14 and 16 (rounding is scale-free away from under- and overflow,
 * which 2^-100 <= scale <= 2^100 and |x| < 2^13 scale keep out: r's bits start above
 * 2^-149) and on 1.6e9 f32 cases at, beside and on bf16's grid near half-integers;
 * tests/test_quotient.c repeats it to 12 bits and on 6.4e6 f32 cases. Lanes with
 * |x| >= 2^13 scale keep q0: their quotient saturates whatever its last bit. Its
 * chain (multiply, two fmas, a rounding) is shorter than Q_FAST's (fma, two
 * conversions, then the clamp and the conversion back in the error kernels), and it
 * has no branch: 5-10% faster per element in the error kernels on rows without ties,
 * 20-25% on symmetric blocks, which put an extreme on a tie in half of them. */

/* One function per (input type, kind): the mode tests fold away at compile time. */
typedef void (*q_run_fn)(const clq_cpu_ewcfg *, const void *, uint8_t *, size_t, float, int32_t);
typedef void (*q_b32_fn)(const clq_cpu_ewcfg *, const void *, uint8_t *, size_t, const float *,
                         const int32_t *);
#define Q_FNS(T, P, SUF, XT, K)                                                                  \
    T static void P##r_##SUF(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t n,      \
                             float scale, int32_t zp) {                                          \
        P##_run_body(cfg, x, q, n, scale, zp, XT, K);                                            \
    }                                                                                            \
    T static void P##b_##SUF(const clq_cpu_ewcfg *cfg, const void *x, uint8_t *q, size_t nblk,   \
                             const float *scale, const int32_t *zp) {                            \
        P##_b32_body(cfg, x, q, nblk, scale, zp, XT, K);                                         \
    }
#define Q_KINDS(T, P, X, XT)                                                                     \
    Q_FNS(T, P, X##_fast, XT, Q_FAST)                                                            \
    Q_FNS(T, P, X##_de, XT, Q_DIV_EVEN)                                                          \
    Q_FNS(T, P, X##_da, XT, Q_DIV_AWAY)                                                          \
    Q_FNS(T, P, X##_re, XT, Q_REC_EVEN)                                                          \
    Q_FNS(T, P, X##_ra, XT, Q_REC_AWAY)
#define Q_ROW(P, X) {P##_##X##_fast, P##_##X##_de, P##_##X##_da, P##_##X##_re, P##_##X##_ra}
#define Q_TABLES(T, P)                                                                           \
    Q_KINDS(T, P, f32, CLQ_F32)                                                                  \
    Q_KINDS(T, P, f16, CLQ_F16)                                                                  \
    Q_KINDS(T, P, bf16, CLQ_BF16)                                                                \
    static const q_run_fn P##_runs[3][5] = {Q_ROW(P##r, f32), Q_ROW(P##r, f16),                  \
                                            Q_ROW(P##r, bf16)};                                  \
    /* Q_FAST is chosen per block inside the plain kinds (the _fast entries go unused) */        \
    static const q_b32_fn P##_b32s[3][5] = {Q_ROW(P##b, f32), Q_ROW(P##b, f16), Q_ROW(P##b, bf16)};

#endif /* CLQ_CPU_X86 */

#endif
