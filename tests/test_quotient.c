/* test_quotient.c: the claim the CPU kernels' division-free quotient (Q_MARK,
 * host/cpu/cpu_quantize_simd.h) rests on: with z = RN(1/b), q0 = RN(a z), r = RN(a - q0 b)
 * and q1 = RN(q0 + r z) (two fmas), q1 = RN(a / b). Checked exhaustively at small
 * precisions in exact integer arithmetic (the rounding is scale-free, so every pair of
 * significands is every pair of normal numbers), and in f32 itself beside ties. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef __int128 i128;

static int bitlen(i128 x) {
    int n = 0;
    for (; x > 0; x >>= 1) n++;
    return n;
}

/* x rounded to p significant bits, ties to even (x >= 0); *sh: the bits dropped. */
static i128 round_p(i128 x, int p, int *sh) {
    int s = bitlen(x) - p;
    if (s < 0) s = 0;
    i128 m = x >> s, rem = x - (m << s);
    if (s > 0) {
        i128 h = (i128)1 << (s - 1);
        if (rem > h || (rem == h && (m & 1))) m++;
    }
    if (sh) *sh = s;
    return m << s;
}

static i128 round_ps(i128 x, int p) { return x < 0 ? -round_p(-x, p, NULL) : round_p(x, p, NULL); }

/* Pairs (a, b) of p-bit significands where the correction misses RN(a / b). With a, b
 * integers: z = Z 2^(1-2p), q0 = Q0 2^(1-2p), r = R 2^(1-2p), q1 = T 2^(2-4p). */
static long misses(int p) {
    long bad = 0;
    for (int64_t b = 1 << (p - 1); b < 1 << p; b++) {
        i128 num = (i128)1 << (2 * p - 1), zq = num / b, zr = num % b;
        i128 z = zq + (2 * zr > b || (2 * zr == b && (zq & 1)));
        for (int64_t a = 1 << (p - 1); a < 1 << p; a++) {
            i128 q0 = round_p((i128)a * z, p, NULL);
            i128 r = round_ps(((i128)a << (2 * p - 1)) - q0 * b, p);
            int sh;
            i128 t = round_p((q0 << (2 * p - 1)) + r * z, p, &sh);
            /* t = RN(a / b) iff |t b - a 2^(4p-2)| <= half an ulp of t (times b), ties even */
            i128 d = t * b - ((i128)a << (4 * p - 2)), h = sh ? ((i128)1 << (sh - 1)) * b : 0;
            if (d < 0) d = -d;
            bad += !(d < h || (d == h && !((t >> sh) & 1)));
        }
    }
    return bad;
}

Test(quotient, exhaustive_small_precisions) {
    for (int p = 5; p <= 12; p++) cr_expect_eq(misses(p), 0, "precision %d: the correction missed", p);
}

/* The check has teeth: the uncorrected product q0 misses often. */
Test(quotient, product_alone_misses) {
    int p = 8;
    long bad = 0;
    for (int64_t b = 1 << (p - 1); b < 1 << p; b++) {
        i128 num = (i128)1 << (2 * p - 1), zq = num / b, zr = num % b;
        i128 z = zq + (2 * zr > b || (2 * zr == b && (zq & 1)));
        for (int64_t a = 1 << (p - 1); a < 1 << p; a++) {
            int sh;
            i128 q0 = round_p((i128)a * z, p, &sh);
            i128 d = q0 * b - ((i128)a << (2 * p - 1)), h = sh ? ((i128)1 << (sh - 1)) * b : 0;
            if (d < 0) d = -d;
            bad += !(d < h || (d == h && !((q0 >> sh) & 1)));
        }
    }
    cr_expect_gt(bad, 1000, "the product alone missed %ld of %d pairs", bad, 1 << (2 * p - 2));
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* f32 (p = 24), scales 2^-100 .. 2^100 as the kernels admit them, x at, beside and on
 * bf16's grid near (k + 0.5) scale, and anywhere below 4096 scale. */
Test(quotient, f32_beside_ties) {
    volatile float one = 1.0f; /* no constant folding of the divisions */
    uint64_t st = 0x9e3779b97f4a7c15u;
    long bad = 0, n = 0;
    for (int i = 0; i < 400000; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        uint32_t e = 27 + (uint32_t)(st % 201);
        float s = from_bits(e << 23 | (uint32_t)(st >> 20 & 0x7fffff));
        if (st >> 60 & 1) s = from_bits(to_bits(s) & 0xffff0000u); /* coarse significands */
        float z = one / s;
        for (int t = 0; t < 16; t++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            float h = (float)((int64_t)(st >> 8 & 0x1fff) - 4096) + 0.5f, x;
            switch (st & 3) {
            case 0: x = h * s; break;
            case 1: x = from_bits(to_bits(h * s) + (uint32_t)(st >> 40 & 7) - 3u); break;
            case 2: x = from_bits(to_bits(h * s) & 0xffff0000u); break;
            default: x = (float)((int32_t)(st >> 32)) * 0x1p-19f * s; break;
            }
            float q0 = x * z, q1 = fmaf(fmaf(-q0, s, x), z, q0), ref = x / s;
            bad += to_bits(q1) != to_bits(ref);
            n++;
        }
    }
    cr_expect_eq(bad, 0, "%ld of %ld quotients missed", bad, n);
}
