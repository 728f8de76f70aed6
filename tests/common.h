/* common.h: what every suite shares: contexts per backend, seeded generators, sentinel
 * buffers, and the case descriptor that drives one op check against tests/ref. */
#ifndef CLQ_TEST_COMMON_H
#define CLQ_TEST_COMMON_H

#include <criterion/criterion.h>
#include <clquant/clquant.h>
#include <stddef.h>
#include <stdint.h>

#include "ref/ref.h"

/* ---- contexts ---- */
/* A context of this backend, with the test cache dir from the environment. For
 * OpenCL without a device: the test fails when CLQ_TEST_REQUIRE_OPENCL=1, else skips. */
clq_context *tc_context(clq_backend kind);
/* Same, from caller-filled options (backend field used as given). */
clq_context *tc_context_opts(const clq_context_options *opts);
const char *tc_backend_name(clq_backend kind);
void tc_skip_or_fail_no_opencl(clq_status st, const char *why);

/* One Criterion test per backend, each with its own context (Criterion forks per test). */
#define TC_BACKEND_TEST(suite, name)                                          \
    static void suite##_##name(clq_context *ctx);                             \
    Test(suite, name##_cpu) { tc_with_backend(CLQ_BACKEND_CPU, suite##_##name); } \
    Test(suite, name##_opencl) { tc_with_backend(CLQ_BACKEND_OPENCL, suite##_##name); } \
    static void suite##_##name(clq_context *ctx)
void tc_with_backend(clq_backend kind, void (*body)(clq_context *ctx));

/* Asserts CLQ_SUCCESS, printing the status and the context's message. */
#define TC_OK(ctx, call)                                                            \
    do {                                                                            \
        clq_status tc_st_ = (call);                                                 \
        cr_assert(tc_st_ == CLQ_SUCCESS, "%s failed: %s: %s", #call,                \
                  clq_status_string(tc_st_), (ctx) ? clq_context_error_message(ctx) : ""); \
    } while (0)

/* ---- random numbers (explicit seeds, splitmix64) ---- */
typedef struct tc_rng {
    uint64_t s;
} tc_rng;
void tc_rng_seed(tc_rng *r, uint64_t seed);
uint64_t tc_rng_u64(tc_rng *r);
double tc_rng_unit(tc_rng *r); /* [0, 1) */
float tc_rng_range(tc_rng *r, float lo, float hi);
float tc_rng_normal(tc_rng *r);
int tc_rng_int(tc_rng *r, int lo, int hi); /* inclusive */
float tc_rng_logscale(tc_rng *r, float lo, float hi);

typedef enum tc_values {
    TC_NORMAL = 0,   /* N(0, 3^2) */
    TC_UNIFORM,      /* U(-10, 10) */
    TC_UNIFORM_POS,  /* U(2, 7): a range without 0 */
    TC_UNIFORM_NEG,  /* U(-7, -2) */
    TC_CONSTANT,     /* all 2.75 */
    TC_ZERO,         /* +0.0 and -0.0 */
    TC_HUGE,         /* +-1e30, +-FLT_MAX, ... with some ordinary values */
    TC_TINY,         /* normal magnitudes 1e-38 .. 1e-30 */
    TC_DENORMAL,     /* subnormals, zeros, FLT_MIN */
    TC_SPECIAL,      /* NaN, +-Inf, +-0 among ordinary values */
    TC_ALL_NAN,      /* NaN only (several payloads and signs) */
    TC_HALFWAY       /* (k + 0.5) * scale of the element's parameter */
} tc_values;
float tc_value(tc_rng *r, tc_values kind);
const char *tc_values_name(tc_values kind);

/* ---- buffers ---- */
#define TC_SENTINEL 0xA5
/* Creates a buffer of bytes (at least 1) holding init (or sentinel bytes when init is NULL). */
clq_buffer *tc_buffer(clq_context *ctx, size_t bytes, const void *init);
void tc_read(clq_buffer *buf, size_t bytes, void *dst);
/* Asserts the buffer still holds only sentinel bytes. */
void tc_assert_untouched(clq_buffer *buf, size_t bytes, const char *what);

/* ---- the case descriptor ---- */
typedef enum tc_op { TC_MINMAX, TC_QUANTIZE, TC_DEQUANTIZE, TC_DYNAMIC } tc_op;
typedef enum tc_qsource {
    TC_QP_REF = 0, /* quantize: ref minmax + ref qparams of the input */
    TC_QP_RANDOM   /* random scale (log-uniform) and zero point in range */
} tc_qsource;
typedef enum tc_scales { TC_SCALE_NORMAL = 0, TC_SCALE_TINY, TC_SCALE_HUGE } tc_scales;

typedef struct tc_case {
    const char *name;
    tc_op op;
    clq_dtype xtype; /* float side: input (minmax, quantize, dynamic) or output (dequantize); 0: f32 */
    clq_dtype qtype; /* 0: u8 */
    int ndim;
    size_t shape[CLQ_MAX_DIMS];
    /* input view (the q input for dequantize) and output view; contiguous unless *_strided */
    int xstrided;
    ptrdiff_t xstrides[CLQ_MAX_DIMS];
    size_t xoffset;
    int ystrided;
    ptrdiff_t ystrides[CLQ_MAX_DIMS];
    size_t yoffset;
    clq_granularity gran;
    int axis;
    size_t block;
    clq_scheme scheme;
    clq_rounding rounding;
    unsigned qflags;
    int no_zero_point; /* pass zero_point NULL (all zero) */
    tc_values values;
    tc_qsource qsource;
    tc_scales scales;
    size_t poffset; /* element offset of scale / zero point / min / max arrays */
    uint64_t seed;  /* 0: derived from name */
} tc_case;

/* Runs the case on ctx and checks every output bit against tests/ref, including the
 * sentinel bytes around and between the output elements. */
void tc_run(clq_context *ctx, const tc_case *c);
/* Runs every base case as op for every input dtype in types (the quantized dtype
 * for TC_DEQUANTIZE, the float one otherwise) and every value kind in kinds (NULL:
 * each case's own), seeded seed0 + 64 * case + 8 * type + kind. */
void tc_run_grid(clq_context *ctx, tc_op op, const tc_case *base, size_t nbase,
                 const clq_dtype *types, size_t ntypes, const tc_values *kinds, size_t nkinds,
                 uint64_t seed0);
/* "name op=... x=f32 q=u8 shape=[..] ... seed=N" for messages. */
void tc_describe(const tc_case *c, char *buf, size_t size);

/* Shapes that reach every loop of the CPU SIMD kernel sets: 64-element runs and
 * their tails, even-length runs (packed 4-bit), per-element parameters, blocks of 32
 * in pairs with an odd one left and a short block per row (the *_simd_paths tests). */
#define TC_SIMD_SHAPES 5
extern const tc_case tc_simd_shapes[TC_SIMD_SHAPES];

/* Helpers for the hand-written suites. */
const char *tc_gran_name(clq_granularity g);
void tc_format_index(int ndim, const size_t *shape, size_t lin, char *buf, size_t size);
/* Case-insensitive substring test. */
int tc_contains(const char *haystack, const char *needle);
/* An error message names `word` as an identifier (not inside a longer one). */
int tc_names(const char *msg, const char *word);

#endif
