/* fuzz_api.c: a libFuzzer target over clquant's public API.
 *
 * Each input decodes into one call (or pack + call) with small real buffers:
 * op, dtypes, ndim/shape, strides (negative, zero, huge), offsets, granularity,
 * axis, block, scheme, rounding, flags, struct sizes, qparams values (in range,
 * out of range, non-finite) and the raw bits of the data. The call runs on one
 * backend or on both (differential mode), and the harness checks:
 *   - the status is a documented one, never INTERNAL / OPENCL / BUILD_FAILED /
 *     OUT_OF_MEMORY (every buffer here is tiny and every device works), and an
 *     error leaves a message;
 *   - on error, no byte of any buffer changed;
 *   - on success, no byte outside the outputs' reach changed, the call did not
 *     accept a view the harness knows to overrun its buffer, and (single-backend
 *     modes) the outputs do not depend on what the output bytes held before
 *     (the call is run a second time over output bytes filled differently);
 *   - differential mode: both backends give the same status and, on success,
 *     the same bytes in every buffer (unless the contract leaves the values
 *     unspecified: TRUSTED parameters that break the contract, wrong row sums,
 *     an output view whose elements overlap).
 *
 * Environment:
 *   FUZZ_BACKEND=cpu|opencl|diff  backend(s); unset: chosen by the input's second byte
 *   FUZZ_SKIP=tag,tag            keep the generator away from a known, reported issue:
 *       share     arguments sharing a buffer or wrapped host memory (overlap checks)
 *       trusted   TRUSTED parameters out of the contract (issue 7 item 2)
 *       huge      huge strides, offsets, counts and block sizes (issue 7 item 2)
 *       hugedim   huge shape dims (clq_weights_pack: see the issue-7 fuzz report)
 *       struct    struct_size fields below the struct (older callers)
 *   FUZZ_VERBOSE=1               print each decoded case and its status
 *   CLQ_CACHE_DIR                the program cache (tests/fuzz/run.sh gives each mode its own)
 *
 * Build: tests/fuzz/run.sh (CMake option CLQ_FUZZ=ON in tests/CMakeLists.txt, clang only).
 * Seed corpus: tests/fuzz/corpus (tests/fuzz/make_corpus.py documents every byte). */
#include <clquant/clquant.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAXB 12                   /* buffers in one case */
#define MAXEL 4096                /* elements of any tensor the harness sizes */
#define CAP_BYTES ((size_t)1 << 16) /* no buffer is larger */

/* ------------------------------------------------------------------ input */

typedef struct rd {
    const uint8_t *p;
    size_t n, i;
    uint64_t prng; /* for data once the input is used up */
} rd;

static uint8_t u8(rd *r) { return r->i < r->n ? r->p[r->i++] : 0; }
static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Data bytes: the input's tail, then a generator seeded from the whole input. */
static uint8_t dbyte(rd *r) {
    if (r->i < r->n) return r->p[r->i++];
    return (uint8_t)(splitmix(&r->prng) >> 56);
}
static uint32_t d32(rd *r) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v |= (uint32_t)dbyte(r) << (8 * k);
    return v;
}

/* ------------------------------------------------------------- environment */

static int g_verbose;
static const char *g_skip = "";
static int skip(const char *tag) {
    size_t n = strlen(tag);
    for (const char *s = g_skip; (s = strstr(s, tag)) != NULL; s += n)
        if ((s == g_skip || s[-1] == ',') && (s[n] == 0 || s[n] == ',')) return 1;
    return 0;
}

static void vlog(const char *fmt, ...) {
    if (!g_verbose) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#define FAIL(...)                                                       \
    do {                                                                \
        fprintf(stderr, "\nFUZZ FINDING (%s:%d): ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                                   \
        fprintf(stderr, "\n");                                          \
        abort();                                                        \
    } while (0)

/* ------------------------------------------------------------- contexts */

enum { BK_CPU1, BK_CPU2, BK_OPENCL, BK_COUNT };
static clq_context *g_ctx[BK_COUNT];
static int g_mode = -1; /* -1: by input; 0 cpu; 1 opencl; 2 diff */

static clq_context *get_ctx(int bk) {
    if (g_ctx[bk]) return g_ctx[bk];
    clq_context_options o;
    clq_context_options_init(&o);
    char err[512] = "";
    o.error_buffer = err;
    o.error_buffer_size = sizeof err;
    o.backend = bk == BK_OPENCL ? CLQ_BACKEND_OPENCL : CLQ_BACKEND_CPU;
    o.cpu_threads = bk == BK_CPU1 ? 1 : 2;
    clq_status st = clq_context_create(&o, &g_ctx[bk]);
    if (st != CLQ_SUCCESS) {
        fprintf(stderr, "fuzz_api: cannot create the %s context: %s: %s\n",
                bk == BK_OPENCL ? "OpenCL" : "CPU", clq_status_string(st), err);
        exit(2);
    }
    vlog("context %d: %s\n", bk, clq_context_device_name(g_ctx[bk]));
    return g_ctx[bk];
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *v = getenv("FUZZ_VERBOSE");
    g_verbose = v && *v && *v != '0';
    v = getenv("FUZZ_SKIP");
    g_skip = v ? v : "";
    v = getenv("FUZZ_BACKEND");
    if (v && *v) {
        if (!strcmp(v, "cpu")) g_mode = 0;
        else if (!strcmp(v, "opencl")) g_mode = 1;
        else if (!strcmp(v, "diff")) g_mode = 2;
        else {
            fprintf(stderr, "fuzz_api: FUZZ_BACKEND=%s: expected cpu, opencl or diff\n", v);
            exit(2);
        }
    }
    /* Contexts up front: a missing device shows at once, not after the first input. */
    if (g_mode != 1) get_ctx(BK_CPU1), get_ctx(BK_CPU2);
    if (g_mode != 0) get_ctx(BK_OPENCL);
    return 0;
}

/* ------------------------------------------------------------- values */

static int dtype_bits(clq_dtype t) {
    switch (t) {
    case CLQ_F32: case CLQ_S32: return 32;
    case CLQ_F16: case CLQ_BF16: return 16;
    case CLQ_S8: case CLQ_U8: return 8;
    case CLQ_S4: case CLQ_U4: return 4;
    }
    return 0;
}
static int is_quant(clq_dtype t) { return t == CLQ_S8 || t == CLQ_U8 || t == CLQ_S4 || t == CLQ_U4; }
static void qrange(clq_dtype t, int narrow, int *lo, int *hi) {
    switch (t) {
    case CLQ_S8: *lo = narrow ? -127 : -128, *hi = 127; break;
    case CLQ_U8: *lo = narrow ? 1 : 0, *hi = 255; break;
    case CLQ_S4: *lo = narrow ? -7 : -8, *hi = 7; break;
    case CLQ_U4: *lo = narrow ? 1 : 0, *hi = 15; break;
    default: *lo = 0, *hi = 0; break;
    }
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint16_t f32_to_f16(float f) {
    uint32_t x = fbits(f), sign = (x >> 16) & 0x8000u;
    int e = (int)((x >> 23) & 0xff);
    uint32_t m = x & 0x7fffffu;
    if (e == 255) return (uint16_t)(sign | 0x7c00u | (m ? 0x200u | (m >> 13) : 0));
    int he = e - 127 + 15;
    if (he >= 31) return (uint16_t)(sign | 0x7c00u);
    if (he <= 0) {
        if (he < -10) return (uint16_t)sign;
        m |= 0x800000u;
        return (uint16_t)(sign | (m >> (14 - he)));
    }
    return (uint16_t)(sign | ((uint32_t)he << 10) | (m >> 13));
}

static const uint32_t special_f32[] = {
    0x00000000u, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x3f000000u, 0x3fc00000u,
    0x40200000u, 0xc0200000u, 0x42ff0000u, 0x43000000u, 0x437f8000u, 0x00000001u,
    0x00800000u, 0x0da24260u /* 1e-30 */, 0x7149f2cau /* 1e30 */, 0x7f7fffffu, 0xff7fffffu,
    0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x40400000u,
    0x3eaaaaabu, 0x477fe000u /* 65504 */, 0x477ff000u, 0xc77ff000u, 0x4effffffu,
    0xcf000000u, 0x3effffffu, 0x3f000001u, 0x807fffffu};
#define NSPECIAL (sizeof special_f32 / sizeof special_f32[0])

/* One float value from the data, by fill mode. */
static float data_float(rd *r, int mode) {
    switch (mode & 3) {
    case 0: return bitsf(d32(r));                             /* raw bits */
    case 1: return (float)(int8_t)dbyte(r) * 0.25f;           /* small, halfway values */
    case 2: {                                                 /* specials among ordinary values */
        uint8_t b = dbyte(r);
        return b < 128 ? (float)(int8_t)dbyte(r) * 0.37f : bitsf(special_f32[b % NSPECIAL]);
    }
    default: return ((float)(int16_t)(dbyte(r) | dbyte(r) << 8)) / 256.0f;
    }
}

static void put_float(uint8_t *p, clq_dtype t, float f) {
    if (t == CLQ_F16) {
        uint16_t h = f32_to_f16(f);
        memcpy(p, &h, 2);
    } else if (t == CLQ_BF16) {
        uint16_t h = (uint16_t)(fbits(f) >> 16);
        memcpy(p, &h, 2);
    } else {
        memcpy(p, &f, 4);
    }
}

static const float good_scales[] = {0.1f, 1.0f / 3.0f, 0.5f, 1.0f, 2.0f, 0.00390625f, 1e-3f, 7.25f};
static float data_scale(rd *r, int mode) {
    uint8_t b = dbyte(r);
    if (mode == 1) return bitsf(d32(r));
    if (b < 220) return good_scales[b % 8];
    static const uint32_t bad[] = {0x00000000u, 0x80000000u, 0xbf000000u, 0x7fc00000u,
                                   0x7f800000u, 0xff800000u, 0x00000001u, 0x00400000u,
                                   0x00800000u, 0x0da24260u, 0x7149f2cau, 0x7f7fffffu,
                                   0x3f800001u, 0x2edbe6ffu, 0x50000000u, 0x7f000000u};
    return bitsf(bad[b % 16]);
}
static int32_t data_zp(rd *r, clq_dtype qt, int mode) {
    int lo, hi;
    qrange(is_quant(qt) ? qt : CLQ_U8, 0, &lo, &hi);
    uint8_t b = dbyte(r);
    if (mode == 1) return (int32_t)d32(r);
    if (b < 220) return lo + (int32_t)(dbyte(r) % (unsigned)(hi - lo + 1));
    static const int32_t bad[] = {-1, 256, -129, 128, 16, -9, INT32_MIN, INT32_MAX, 1000000,
                                  -1000000, 255, -128, 8, 0, 127, 15};
    return bad[b % 16];
}

/* ------------------------------------------------------------- the case */

typedef struct bufspec {
    size_t size;
    uint8_t init[CAP_BYTES];
    uint8_t reach[CAP_BYTES]; /* 1: an output may write this byte */
    int wrap;                 /* clq_buffer_wrap_host instead of create + write */
    int filled;               /* init holds this case's bytes */
    int alias_of;             /* >= 0: wraps the host memory of that buffer, at alias_base */
    size_t alias_base;
} bufspec;

typedef struct tspec {
    int present; /* 0: pass NULL */
    clq_dtype dtype;
    int ndim;
    size_t shape[CLQ_MAX_DIMS];
    ptrdiff_t strides[CLQ_MAX_DIMS];
    size_t offset;
    int buf;
    /* the harness's view of it */
    int known;       /* numel / lo / hi computed (ndim valid, product not astronomic) */
    size_t numel;
    __int128 lo, hi; /* lowest / highest element index touched (numel > 0) */
} tspec;

typedef struct aspec { /* an array argument: count values of elem bytes at an element offset */
    int buf;           /* -1: NULL */
    size_t offset, count, elem;
} aspec;

typedef struct qpspec {
    int present; /* 0: pass NULL */
    clq_qparams qp; /* its buffers come from s / z at run time */
    aspec s, z;     /* scale (f32) and zero point (int32) arrays */
} qpspec;

enum {
    OP_QUANTIZE, OP_DEQUANTIZE, OP_MINMAX, OP_QPARAMS, OP_DYNAMIC, OP_QUANTIZE_RS,
    OP_DYNAMIC_RS, OP_PACK, OP_GEMM, OP_COUNT
};
static const char *op_names[OP_COUNT] = {"quantize", "dequantize", "minmax", "qparams_from_minmax",
                                         "quantize_dynamic", "quantize_rowsums",
                                         "quantize_dynamic_rowsums", "weights_pack", "gemm"};

typedef struct fcase {
    int op;
    int nbuf;
    bufspec *b;     /* MAXB of them */
    int nullctx;    /* pass ctx NULL */
    /* element-wise ops */
    tspec x, y;     /* x: input (float, or q for dequantize); y: output */
    qpspec qp;
    aspec mn, mx;   /* minmax outputs / qparams_from_minmax inputs */
    size_t count;   /* qparams_from_minmax count */
    aspec rs;       /* row sums output */
    /* GEMM */
    tspec bw, a, c;
    qpspec bqp, aqp, cqp;
    unsigned pack_flags;
    int opts_null;
    clq_gemm_options go; /* its buffers come from the arrays below at run time */
    aspec bias, mult, shift, arow;
    int arow_random;
    /* verdicts */
    int must_fail;
    char must_fail_why[200];
    int undefined; /* the values are unspecified by the contract: no byte comparison */
    int np_guessed; /* the harness could not count the parameters: its reach is a guess */
    char undefined_why[200];
} fcase;

static void set_must_fail(fcase *c, const char *fmt, ...) {
    if (c->must_fail) return;
    c->must_fail = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->must_fail_why, sizeof c->must_fail_why, fmt, ap);
    va_end(ap);
}
static void set_undefined(fcase *c, const char *fmt, ...) {
    if (c->undefined) return;
    c->undefined = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->undefined_why, sizeof c->undefined_why, fmt, ap);
    va_end(ap);
}

static int new_buf(fcase *c, size_t size) {
    int i = c->nbuf < MAXB ? c->nbuf++ : MAXB - 1; /* (never reaches MAXB by design) */
    c->b[i].size = size > CAP_BYTES ? CAP_BYTES : size;
    c->b[i].wrap = 0;
    c->b[i].filled = 0;
    c->b[i].alias_of = -1;
    c->b[i].alias_base = 0;
    memset(c->b[i].reach, 0, sizeof c->b[i].reach);
    return i;
}

/* ------------------------------------------------------------- decoding */

static const size_t huge_sizes[] = {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 2 + 1, (size_t)1 << 62,
                                    (size_t)1 << 32, (size_t)PTRDIFF_MAX, (size_t)1 << 40,
                                    ((size_t)1 << 31) + 1};
static const ptrdiff_t huge_strides[] = {PTRDIFF_MAX, PTRDIFF_MIN, PTRDIFF_MAX / 2,
                                         -(PTRDIFF_MAX / 2), (ptrdiff_t)1 << 40,
                                         -((ptrdiff_t)1 << 40), (ptrdiff_t)1 << 62, INT32_MAX,
                                         INT32_MIN, PTRDIFF_MIN + 1, (ptrdiff_t)1 << 33,
                                         -((ptrdiff_t)1 << 33)};

static const clq_dtype FLOATS[] = {CLQ_F32, CLQ_F16, CLQ_BF16};
static const clq_dtype QUANTS[] = {CLQ_U8, CLQ_S8, CLQ_S4, CLQ_U4};
static const clq_dtype Q8[] = {CLQ_U8, CLQ_S8};
static const clq_dtype COUT[] = {CLQ_S32, CLQ_F32, CLQ_S8, CLQ_U8};

/* A dtype of the set, or (bytes 240..255) anything, valid or not. */
static clq_dtype pick_dtype(rd *r, const clq_dtype *set, int nset) {
    uint8_t b = u8(r);
    if (b < 240) return set[b % nset];
    static const int odd[] = {0, 9, 10, 11, -1, 1000, CLQ_F32, CLQ_F16, CLQ_BF16, CLQ_S8,
                              CLQ_U8, CLQ_S4, CLQ_U4, CLQ_S32, 12, 255};
    return (clq_dtype)odd[b - 240];
}

static int pick_ndim(rd *r) {
    uint8_t b = u8(r);
    if (b < 200) return 1 + b % 4;
    if (b < 225) return 0;
    if (b < 250) return 5 + (b - 225) % 4;
    static const int odd[] = {-1, 9, 100, INT32_MIN, 1000, -8};
    return odd[(b - 250) % 6];
}

static size_t pick_dim(rd *r, int allow_huge) {
    uint8_t b = u8(r);
    if (b < 200) return (size_t)((b + 3) % 13); /* 3, 4, ..., 12, 0, 1, 2 */
    if (b < 240) return 13 + (size_t)(b - 200); /* 13 .. 52 */
    if (b < 248 || !allow_huge) return 1;
    return huge_sizes[b - 248];
}

static int clamp_ndim(int nd) { return nd < 0 ? 0 : nd > CLQ_MAX_DIMS ? CLQ_MAX_DIMS : nd; }

/* The harness's own reach of a view: numel, lowest and highest element index. */
static void view_reach(tspec *t) {
    t->known = 0;
    if (t->ndim < 0 || t->ndim > CLQ_MAX_DIMS) return;
    __int128 n = 1;
    int zero = 0, huge = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] == 0) zero = 1;
        else if (n > ((__int128)1 << 62)) huge = 1;
        else n *= t->shape[d];
    }
    if (!zero && (huge || n > ((__int128)1 << 62))) return; /* the call must refuse it: not checked here */
    t->numel = zero ? 0 : (size_t)n;
    /* numel > 0: every dim <= 2^62, so each span fits; clamped so the sum does too */
    __int128 lo = t->offset, hi = t->offset, cap = (__int128)1 << 100;
    for (int d = 0; d < t->ndim && !zero; d++) {
        if (t->shape[d] <= 1) continue;
        __int128 span = (__int128)(t->shape[d] - 1) * t->strides[d];
        if (span > cap) span = cap;
        if (span < -cap) span = -cap;
        if (span < 0) lo += span;
        else hi += span;
    }
    t->lo = lo;
    t->hi = hi;
    t->known = 1;
}

/* Strides and offset of a view, then its buffer, sized for the view with some
 * slack (sometimes too short). */
static void decode_layout(rd *r, fcase *c, tspec *t) {
    int bits = dtype_bits(t->dtype);
    size_t esz = bits >= 8 ? (size_t)bits / 8 : 1;
    int nd = clamp_ndim(t->ndim);
    ptrdiff_t s = 1; /* row-major first */
    for (int d = nd - 1; d >= 0; d--) {
        t->strides[d] = s;
        size_t len = t->shape[d] ? t->shape[d] : 1;
        if (len > (size_t)PTRDIFF_MAX || __builtin_mul_overflow(s, (ptrdiff_t)len, &s))
            s = PTRDIFF_MAX;
    }
    int allow_huge = !skip("huge");
    uint8_t mode = u8(r);
    if (mode >= 128) {
        for (int d = 0; d < nd; d++) {
            uint8_t m = u8(r);
            if (m < 100) continue;                                         /* row-major */
            if (m < 150) t->strides[d] = (ptrdiff_t)(int8_t)u8(r) % 40;    /* small, any sign */
            else if (m < 190) t->strides[d] = -t->strides[d];              /* reversed */
            else if (m < 210) t->strides[d] = 0;                           /* broadcast */
            else if (m < 240) {                                            /* gaps */
                if (t->strides[d] < PTRDIFF_MAX / 4) t->strides[d] = t->strides[d] * 2 + (m & 1);
            } else if (allow_huge) t->strides[d] = huge_strides[(m - 240) % 12];
        }
    }
    /* offset: just enough for the negative strides, plus a little; or one short; or huge */
    __int128 neg = 0;
    for (int d = 0; d < nd; d++)
        if (t->shape[d] > 1 && t->strides[d] < 0 && t->shape[d] < MAXEL * 64)
            neg -= (__int128)(t->shape[d] - 1) * t->strides[d];
    uint8_t ob = u8(r);
    if (ob >= 248 && allow_huge) {
        t->offset = huge_sizes[ob - 248];
    } else {
        __int128 off = neg + (ob < 160 ? 0 : ob % 9);
        if (ob >= 230 && ob < 248 && neg > 0) off = neg - 1;
        t->offset = off > (__int128)CAP_BYTES ? CAP_BYTES : (size_t)off;
        if (bits == 4 && ob < 220) t->offset &= ~(size_t)1;
    }
    view_reach(t);
    int slack = (int)(u8(r) % 40) - 6;
    __int128 need = 64;
    if (t->known && t->numel == 0) need = 0;
    else if (t->known && t->lo >= 0 && t->hi < (__int128)CAP_BYTES)
        need = bits == 4 ? t->hi / 2 + 1 : (t->hi + 1) * (__int128)esz;
    need += slack;
    t->buf = new_buf(c, need < 0 ? 0 : need > (__int128)CAP_BYTES ? CAP_BYTES : (size_t)need);
    c->b[t->buf].wrap = (u8(r) & 3) == 3;
}

static void shrink_shape(tspec *t) {
    int nd = clamp_ndim(t->ndim);
    for (;;) {
        __int128 n = 1;
        int big = -1;
        for (int d = 0; d < nd; d++) {
            if (t->shape[d] > (size_t)MAXEL) continue; /* huge: tested as such */
            n *= t->shape[d] ? t->shape[d] : 1;
            if (big < 0 || t->shape[d] > t->shape[big]) big = d;
        }
        if (n <= MAXEL || big < 0) break;
        t->shape[big] = (t->shape[big] + 1) / 2;
    }
}

static void decode_tensor(rd *r, fcase *c, tspec *t, const clq_dtype *set, int nset) {
    memset(t, 0, sizeof *t);
    t->present = 1;
    t->dtype = pick_dtype(r, set, nset);
    t->ndim = pick_ndim(r);
    int nd = clamp_ndim(t->ndim);
    for (int d = 0; d < nd; d++) t->shape[d] = pick_dim(r, !skip("hugedim"));
    shrink_shape(t);
    decode_layout(r, c, t);
}

/* A tensor of like's shape (quantize's y, dequantize's y), sometimes not quite. */
static void decode_like(rd *r, fcase *c, tspec *t, const tspec *like, const clq_dtype *set,
                        int nset, clq_dtype prefer) {
    memset(t, 0, sizeof *t);
    t->present = 1;
    t->dtype = u8(r) < 200 ? prefer : pick_dtype(r, set, nset);
    t->ndim = like->ndim;
    memcpy(t->shape, like->shape, sizeof t->shape);
    uint8_t m = u8(r);
    if (m >= 240 && t->ndim > 0 && t->ndim <= CLQ_MAX_DIMS) {
        t->shape[m % t->ndim] += 1;
    } else if (m >= 230 && m < 240 && t->ndim >= 0 && t->ndim <= CLQ_MAX_DIMS) {
        if (t->ndim < CLQ_MAX_DIMS) t->shape[t->ndim++] = 1;
        else t->ndim--;
    }
    decode_layout(r, c, t);
}

/* The descriptor part of a qparams (its arrays: decode_qp_arrays). */
static void decode_qp(rd *r, qpspec *q, clq_dtype prefer_qtype) {
    memset(q, 0, sizeof *q);
    q->present = 1;
    q->s.buf = q->z.buf = -1;
    clq_qparams_init(&q->qp);
    uint8_t b = u8(r);
    q->qp.qtype = b < 200 ? prefer_qtype : pick_dtype(r, QUANTS, 4);
    b = u8(r);
    q->qp.granularity = b < 250 ? (clq_granularity)(b % 3) : (clq_granularity)(b == 250 ? 3 : -1);
    q->qp.axis = (int)(int8_t)u8(r) % 10;
    b = u8(r);
    q->qp.block_size = b < 250 ? (size_t)(b % 9) : huge_sizes[(b - 250) % 8];
    b = u8(r);
    q->qp.scheme = b < 250 ? (clq_scheme)(b & 1) : (clq_scheme)(2 + b % 3);
    b = u8(r);
    q->qp.rounding = b < 250 ? (clq_rounding)(b & 1) : (clq_rounding)7;
    b = u8(r);
    q->qp.flags = b & 15u; /* NARROW_RANGE, RECIPROCAL, TRUSTED, PROFILE_PYTORCH */
    if (skip("trusted")) q->qp.flags &= ~CLQ_QPARAMS_TRUSTED;
    if (b >= 248) q->qp.flags |= 16u << (b & 3); /* bits no flag uses yet */
    b = u8(r);
    if (b >= 250 && !skip("struct")) q->qp.struct_size = b == 255 ? 0 : sizeof(clq_qparams) - 8;
}

/* An array argument: offset, and a buffer sized for count values (+ slack). */
static void decode_array(rd *r, fcase *c, aspec *a, size_t count, size_t elem, int allow_null) {
    a->count = count;
    a->elem = elem;
    uint8_t b = u8(r);
    if (allow_null && b >= 245) {
        a->buf = -1;
        a->offset = 0;
        return;
    }
    a->offset = b < 200 ? b % 6 : (b < 240 || skip("huge")) ? b % 17 : huge_sizes[b % 8];
    int slack = (int)(u8(r) % 24) - 4;
    __int128 need = ((__int128)a->offset + count) * elem;
    if (need > (__int128)CAP_BYTES) need = 16;
    need += slack;
    a->buf = new_buf(c, need < 0 ? 0 : (size_t)need);
    c->b[a->buf].wrap = (u8(r) & 3) == 3;
}

static void decode_qp_arrays(rd *r, fcase *c, qpspec *q, size_t count) {
    decode_array(r, c, &q->s, count, 4, 1);
    decode_array(r, c, &q->z, count, 4, 1);
    q->qp.scale_offset = q->s.offset;
    q->qp.zero_point_offset = q->z.offset;
}

/* nparams of qp over a shape, as the API documents it; 0 when the descriptor is
 * invalid or the count too large for the harness to size. */
static int nparams_of(const clq_qparams *qp, int ndim, const size_t *shape, size_t *out) {
    if (ndim < 0 || ndim > CLQ_MAX_DIMS) return 0;
    const __int128 lim = MAXEL * 64;
    __int128 n = 1;
    int zero = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) zero = 1;
        else if (n <= lim) n *= shape[d];
    }
    if (!zero && n > lim) return 0; /* the call refuses (overflow) or the harness cannot size it */
    if (qp->granularity == CLQ_PER_TENSOR) { *out = 1; return 1; }
    if (qp->granularity != CLQ_PER_AXIS && qp->granularity != CLQ_PER_BLOCK) return 0;
    int axis = qp->axis < 0 ? qp->axis + ndim : qp->axis;
    if (axis < 0 || axis >= ndim) return 0;
    size_t len = shape[axis];
    if (qp->granularity == CLQ_PER_AXIS) {
        if ((__int128)len > lim) return 0;
        *out = len;
        return 1;
    }
    size_t bs = qp->block_size;
    if (bs == 0 || (len > 0 && bs > len)) return 0;
    if (zero) { /* an empty dim anywhere: no block holds an element, no parameter */
        *out = 0;
        return 1;
    }
    __int128 outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer = outer * shape[d] > lim ? lim + 1 : outer * shape[d];
    for (int d = axis + 1; d < ndim; d++) inner = inner * shape[d] > lim ? lim + 1 : inner * shape[d];
    __int128 np = outer * (__int128)((len + bs - 1) / bs);
    np = np > lim ? lim + 1 : np * inner;
    if (np > lim) return 0;
    *out = (size_t)np;
    return 1;
}

/* ------------------------------------------------------------- filling */

static void fill_raw(rd *r, bufspec *b) {
    for (size_t i = 0; i < b->size; i++) b->init[i] = dbyte(r);
    b->filled = 1;
}
/* Typed fills: every whole element, then the tail bytes raw. */
static void fill_tail(rd *r, bufspec *b, size_t from) {
    for (size_t i = from; i < b->size; i++) b->init[i] = dbyte(r);
    b->filled = 1;
}
static void fill_floats(rd *r, bufspec *b, clq_dtype t, int mode) {
    size_t e = t == CLQ_F16 || t == CLQ_BF16 ? 2 : 4, i = 0;
    for (; i + e <= b->size; i += e) put_float(b->init + i, t, data_float(r, mode));
    fill_tail(r, b, i);
}
static void fill_scales(rd *r, bufspec *b, int mode) {
    size_t i = 0;
    for (; i + 4 <= b->size; i += 4) {
        float f = data_scale(r, mode);
        memcpy(b->init + i, &f, 4);
    }
    fill_tail(r, b, i);
}
static void fill_i32(rd *r, bufspec *b, int32_t (*gen)(rd *, clq_dtype, int), clq_dtype qt, int mode) {
    size_t i = 0;
    for (; i + 4 <= b->size; i += 4) {
        int32_t v = gen(r, qt, mode);
        memcpy(b->init + i, &v, 4);
    }
    fill_tail(r, b, i);
}
static int32_t gen_mult(rd *r, clq_dtype qt, int mode) {
    (void)qt;
    uint8_t b = dbyte(r);
    if (mode == 1) return (int32_t)d32(r);
    if (b >= 230) {
        static const int32_t odd[] = {0, -1, INT32_MIN, INT32_MAX, 1, 1 << 30, (1 << 30) - 1, -(1 << 30)};
        return odd[b % 8];
    }
    int32_t m;
    int s;
    double real = ldexp(1.0 + dbyte(r) / 256.0, -(int)(dbyte(r) % 24));
    if (clq_quantize_multiplier(real, &m, &s) != CLQ_SUCCESS) return 1 << 30;
    return m;
}
static int32_t gen_shift(rd *r, clq_dtype qt, int mode) {
    (void)qt;
    uint8_t b = dbyte(r);
    if (mode == 1) return (int32_t)d32(r);
    if (b >= 230) {
        static const int32_t odd[] = {31, -32, 40, -40, INT32_MIN, INT32_MAX, 30, -31};
        return odd[b % 8];
    }
    return (int32_t)(b % 34) - 30; /* [-30, 3] */
}
static void fill_qp(rd *r, fcase *c, const qpspec *q, int mode) {
    if (q->s.buf >= 0) fill_scales(r, &c->b[q->s.buf], mode & 1);
    if (q->z.buf >= 0) fill_i32(r, &c->b[q->z.buf], data_zp, q->qp.qtype, (mode >> 1) & 1);
}

/* ------------------------------------------------------------- reach and verdicts */

/* Element index of the lin-th element (row-major over the shape); 0 when negative. */
static int elem_at(const tspec *t, size_t lin, size_t *idx) {
    __int128 e = t->offset;
    for (int d = t->ndim - 1; d >= 0; d--) {
        size_t i = lin % t->shape[d];
        lin /= t->shape[d];
        e += (__int128)i * t->strides[d];
    }
    if (e < 0 || e >= ((__int128)1 << 62)) return 0;
    *idx = (size_t)e;
    return 1;
}

static int view_in_bounds(const fcase *c, const tspec *t) {
    if (!t->present || !t->known || t->buf < 0) return 0;
    int bits = dtype_bits(t->dtype);
    if (!bits) return 0;
    if (t->numel == 0) return 1;
    size_t size = c->b[t->buf].size;
    __int128 cap = bits == 4 ? (__int128)size * 2 : (__int128)(size / (size_t)(bits / 8));
    return t->lo >= 0 && t->hi < cap;
}

/* Marks an output view's bytes; returns 1 when two of its elements are one. */
static int mark_tensor(fcase *c, const tspec *t) {
    if (!view_in_bounds(c, t) || t->numel == 0 || t->numel > MAXEL * 4) return 0;
    bufspec *b = &c->b[t->buf];
    int bits = dtype_bits(t->dtype);
    size_t esz = bits >= 8 ? (size_t)bits / 8 : 1;
    static uint8_t seen[CAP_BYTES * 2];
    size_t cap = bits == 4 ? b->size * 2 : b->size / esz;
    memset(seen, 0, cap);
    int overlap = 0;
    for (size_t l = 0; l < t->numel; l++) {
        size_t e;
        if (!elem_at(t, l, &e) || e >= cap) continue;
        if (seen[e]) overlap = 1;
        seen[e] = 1;
        if (bits == 4) b->reach[e / 2] = 1;
        else memset(b->reach + e * esz, 1, esz);
    }
    return overlap;
}
static void mark_array(fcase *c, const aspec *a) {
    if (a->buf < 0) return;
    bufspec *b = &c->b[a->buf];
    for (size_t i = 0; i < a->count; i++) {
        __int128 p = ((__int128)a->offset + i) * a->elem;
        if (p + a->elem > (__int128)b->size) break;
        memset(b->reach + (size_t)p, 1, a->elem);
    }
}

/* Must-fail verdicts the harness is sure of: a view or an array that overruns its buffer. */
static void bounds_view(fcase *c, const tspec *t, const char *name) {
    if (!t->present || !t->known || t->numel == 0 || t->buf < 0 || !dtype_bits(t->dtype)) return;
    if (!view_in_bounds(c, t))
        set_must_fail(c, "%s (offset %zu) reaches elements [%lld, %lld] of a %zu-byte buffer", name,
                      t->offset, (long long)(t->lo < -(__int128)INT64_MAX ? -INT64_MAX : t->lo),
                      (long long)(t->hi > (__int128)INT64_MAX ? INT64_MAX : t->hi),
                      c->b[t->buf].size);
}
static void bounds_array(fcase *c, const aspec *a, const char *name) {
    if (a->buf < 0) return;
    __int128 end = ((__int128)a->offset + a->count) * a->elem;
    if (end > (__int128)c->b[a->buf].size)
        set_must_fail(c, "%s: offset %zu + %zu values overrun its %zu bytes", name, a->offset,
                      a->count, c->b[a->buf].size);
}

static int arr_ok(const fcase *c, const aspec *a, size_t i) {
    return a->buf >= 0 && ((__int128)a->offset + i + 1) * 4 <= (__int128)c->b[a->buf].size;
}
static float arr_f32(const fcase *c, const aspec *a, size_t i) {
    float f;
    memcpy(&f, c->b[a->buf].init + (a->offset + i) * 4, 4);
    return f;
}
static int32_t arr_i32(const fcase *c, const aspec *a, size_t i) {
    int32_t v;
    memcpy(&v, c->b[a->buf].init + (a->offset + i) * 4, 4);
    return v;
}
static int scale_ok(float s) { return isfinite(s) && s > 0.0f; }

/* TRUSTED values outside the contract: the results are unspecified. */
static void trusted_values(fcase *c, const qpspec *q, size_t count, int check_scale, const char *name) {
    if (!q->present || !(q->qp.flags & CLQ_QPARAMS_TRUSTED)) return;
    int lo, hi;
    qrange(q->qp.qtype, (q->qp.flags & CLQ_QPARAMS_NARROW_RANGE) != 0, &lo, &hi);
    for (size_t i = 0; i < count; i++) {
        if (check_scale && arr_ok(c, &q->s, i) && !scale_ok(arr_f32(c, &q->s, i)))
            set_undefined(c, "%s TRUSTED with scale[%zu] = %g", name, i, (double)arr_f32(c, &q->s, i));
        if (arr_ok(c, &q->z, i) && (arr_i32(c, &q->z, i) < lo || arr_i32(c, &q->z, i) > hi))
            set_undefined(c, "%s TRUSTED with zero_point[%zu] = %d", name, i, (int)arr_i32(c, &q->z, i));
    }
}

static size_t rows_of(const tspec *t) {
    size_t rows = 1;
    for (int d = 0; d + 1 < clamp_ndim(t->ndim); d++) rows *= t->shape[d] < MAXEL ? t->shape[d] : 1;
    return rows;
}

/* ------------------------------------------------------------- shared memory */

/* One argument of the call: a view or an array, input or output. */
typedef struct argref {
    const char *name;
    int out;
    tspec *t;
    aspec *a;
    int packed; /* an argument of clq_weights_pack, before clq_gemm: C may reuse its memory */
} argref;

static int ref_buf(const argref *r) { return r->t ? r->t->buf : r->a->buf; }
static size_t ref_align(const argref *r) {
    if (r->a) return r->a->elem;
    int bits = dtype_bits(r->t->dtype);
    return bits >= 8 ? (size_t)bits / 8 : 1;
}
/* The bytes [lo, hi) of its buffer the argument touches; 0 when none (or unknown). */
static int ref_extent(const fcase *c, const argref *r, __int128 *lo, __int128 *hi) {
    if (r->t) {
        const tspec *t = r->t;
        if (!view_in_bounds(c, t) || t->numel == 0) return 0;
        int bits = dtype_bits(t->dtype);
        if (bits == 4) *lo = t->lo / 2, *hi = t->hi / 2 + 1;
        else *lo = t->lo * (bits / 8), *hi = (t->hi + 1) * (bits / 8);
        return 1;
    }
    const aspec *a = r->a;
    if (a->buf < 0 || a->count == 0) return 0;
    *lo = (__int128)a->offset * a->elem;
    *hi = ((__int128)a->offset + a->count) * a->elem;
    return *hi <= (__int128)c->b[a->buf].size;
}
/* Moves the argument base bytes into buffer nb. */
static void ref_move(argref *r, int nb, size_t base) {
    if (r->a) {
        r->a->buf = nb;
        r->a->offset += base / r->a->elem;
        return;
    }
    tspec *t = r->t;
    int bits = dtype_bits(t->dtype);
    t->buf = nb;
    t->offset += bits == 4 ? base * 2 : bits ? base / (size_t)(bits / 8) : base;
    view_reach(t);
}

/* The arguments of the case's call that the call uses (so checks for overlap). */
static int collect_args(fcase *c, argref *refs) {
    int n = 0;
    int packed = 0;
#define REF_T(nm, o, tp) do { if ((tp)->present && (tp)->buf >= 0) refs[n++] = (argref){nm, o, tp, NULL, packed}; } while (0)
#define REF_A(nm, o, ap) do { if ((ap)->buf >= 0) refs[n++] = (argref){nm, o, NULL, ap, packed}; } while (0)
    int dyn = c->op == OP_DYNAMIC || c->op == OP_DYNAMIC_RS;
    switch (c->op) {
    case OP_QUANTIZE: case OP_QUANTIZE_RS: case OP_DYNAMIC: case OP_DYNAMIC_RS: case OP_DEQUANTIZE:
        REF_T("x", 0, &c->x);
        REF_T("y", 1, &c->y);
        if (c->qp.present) {
            REF_A("qp->scale", dyn, &c->qp.s);
            REF_A("qp->zero_point", dyn, &c->qp.z);
        }
        REF_A("rowsums", 1, &c->rs);
        break;
    case OP_MINMAX:
        REF_T("x", 0, &c->x);
        REF_A("min_out", 1, &c->mn);
        REF_A("max_out", 1, &c->mx);
        break;
    case OP_QPARAMS:
        REF_A("min_in", 0, &c->mn);
        REF_A("max_in", 0, &c->mx);
        if (c->qp.present) {
            REF_A("qp->scale", 1, &c->qp.s);
            REF_A("qp->zero_point", 1, &c->qp.z);
        }
        break;
    case OP_PACK: case OP_GEMM: {
        packed = c->op == OP_GEMM;
        REF_T("b", 0, &c->bw);
        if (c->bqp.present) {
            REF_A("b qp->scale", 0, &c->bqp.s);
            REF_A("b qp->zero_point", 0, &c->bqp.z);
        }
        if (c->op == OP_PACK) break;
        packed = 0;
        int requant = c->c.dtype == CLQ_S8 || c->c.dtype == CLQ_U8;
        int fixed = (c->go.flags & CLQ_GEMM_FIXED_POINT) != 0;
        REF_T("c", 1, &c->c);
        REF_T("a", 0, &c->a);
        if (c->aqp.present) {
            REF_A("a_qp->zero_point", 0, &c->aqp.z);
            if (c->c.dtype == CLQ_F32 || (requant && !fixed)) REF_A("a_qp->scale", 0, &c->aqp.s);
        }
        if (!c->opts_null) {
            if (c->c.dtype == CLQ_F32) REF_A("bias", 0, &c->bias);
            REF_A("a_rowsums", 0, &c->arow);
            if (requant && c->cqp.present) {
                REF_A("c_qparams->zero_point", 0, &c->cqp.z);
                if (!fixed) REF_A("c_qparams->scale", 0, &c->cqp.s);
            }
            if (requant && fixed) {
                REF_A("multiplier", 0, &c->mult);
                REF_A("shift", 0, &c->shift);
            }
        }
        break;
    }
    }
#undef REF_T
#undef REF_A
    return n;
}

/* Sometimes two arguments share memory: one buffer (disjoint or overlapping
 * ranges), or two wraps of one host array. Buffer contents are already filled. */
static void decode_share(rd *r, fcase *c, uint8_t sh, uint8_t pick, uint8_t where) {
    if (sh < 200 || skip("share")) return;
    argref refs[16];
    int n = collect_args(c, refs);
    if (n < 2) return;
    argref *p = &refs[pick % n], *q = &refs[(pick / n + 1 + pick % n) % n];
    if (p == q) return;
    int b1 = ref_buf(q), b2 = ref_buf(p); /* p moves into q's memory */
    if (b1 == b2 || c->b[b2].alias_of >= 0 || c->b[b1].alias_of >= 0) return;
    size_t s1 = c->b[b1].size, s2 = c->b[b2].size, al = ref_align(p);
    int overlap = sh >= 220 && sh < 240 ? 1 : sh >= 248;
    size_t base = overlap ? (s1 ? (size_t)(where % (s1 + 1)) : 0) : s1 + (size_t)(where % 3) * al;
    base -= base % al;
    if (base + s2 > CAP_BYTES) return;
    if (sh < 240) {
        /* one buffer: q's, grown to hold p's bytes at base */
        bufspec *B1 = &c->b[b1], *B2 = &c->b[b2];
        if (base + s2 > s1) {
            for (size_t i = s1; i < base; i++) B1->init[i] = dbyte(r);
            B1->size = base + s2;
        }
        memcpy(B1->init + base, B2->init, s2);
        ref_move(p, b1, base);
        B2->size = 0;
        vlog("share: %s moved into %s's buffer %d at byte %zu\n", p->name, q->name, b1, base);
    } else {
        /* two wraps of one host array: p's buffer wraps q's memory at base */
        bufspec *B1 = &c->b[b1], *B2 = &c->b[b2];
        B1->wrap = B2->wrap = 1;
        B2->alias_of = b1;
        B2->alias_base = base;
        if (s1 > base) memcpy(B1->init + base, B2->init, s1 - base < s2 ? s1 - base : s2);
        vlog("share: %s's buffer %d wraps %s's host memory (buffer %d) at byte %zu\n", p->name, b2,
             q->name, b1, base);
    }
}

/* An output that shares a byte of memory with another argument: the call must refuse it. */
static void check_overlaps(fcase *c) {
    argref refs[16];
    int n = collect_args(c, refs);
    for (int i = 0; i < n; i++) {
        __int128 lo1, hi1, lo2, hi2;
        if (!refs[i].out || !ref_extent(c, &refs[i], &lo1, &hi1)) continue;
        int b1 = ref_buf(&refs[i]);
        for (int j = 0; j < n; j++) {
            if (j == i || refs[j].packed || !ref_extent(c, &refs[j], &lo2, &hi2)) continue;
            int b2 = ref_buf(&refs[j]);
            __int128 o1 = 0, o2 = 0;
            int r1 = b1, r2 = b2;
            if (c->b[b1].alias_of >= 0) r1 = c->b[b1].alias_of, o1 = c->b[b1].alias_base;
            if (c->b[b2].alias_of >= 0) r2 = c->b[b2].alias_of, o2 = c->b[b2].alias_base;
            if (r1 == r2 && lo1 + o1 < hi2 + o2 && lo2 + o2 < hi1 + o1)
                set_must_fail(c, "output %s overlaps %s", refs[i].name, refs[j].name);
        }
    }
    /* what an alias may write shows through the other buffer */
    for (int i = 0; i < c->nbuf; i++) {
        bufspec *B2 = &c->b[i];
        if (B2->alias_of < 0) continue;
        bufspec *B1 = &c->b[B2->alias_of];
        for (size_t k = 0; k < B2->size && B2->alias_base + k < B1->size; k++) {
            uint8_t m = B2->reach[k] | B1->reach[B2->alias_base + k];
            B2->reach[k] = B1->reach[B2->alias_base + k] = m;
        }
    }
}

static void analyse(fcase *c) {
    int selfov = 0;
    size_t np = 0;
    switch (c->op) {
    case OP_QUANTIZE: case OP_QUANTIZE_RS: case OP_DEQUANTIZE:
    case OP_DYNAMIC: case OP_DYNAMIC_RS: {
        int dyn = c->op == OP_DYNAMIC || c->op == OP_DYNAMIC_RS;
        bounds_view(c, &c->x, "x");
        bounds_view(c, &c->y, "y");
        if (c->qp.present && nparams_of(&c->qp.qp, c->x.ndim, c->x.shape, &np) &&
            c->qp.s.count == np) {
            bounds_array(c, &c->qp.s, "qp->scale");
            bounds_array(c, &c->qp.z, "qp->zero_point");
            if (!dyn) trusted_values(c, &c->qp, np, 1, "qp");
        }
        if (c->rs.buf >= 0) bounds_array(c, &c->rs, "rowsums");
        selfov = mark_tensor(c, &c->y);
        if (dyn) {
            mark_array(c, &c->qp.s);
            mark_array(c, &c->qp.z);
        }
        mark_array(c, &c->rs);
        break;
    }
    case OP_MINMAX:
        bounds_view(c, &c->x, "x");
        if (c->qp.present && nparams_of(&c->qp.qp, c->x.ndim, c->x.shape, &np) && c->mn.count == np) {
            bounds_array(c, &c->mn, "min_out");
            bounds_array(c, &c->mx, "max_out");
        }
        mark_array(c, &c->mn);
        mark_array(c, &c->mx);
        break;
    case OP_QPARAMS:
        bounds_array(c, &c->mn, "min_in");
        bounds_array(c, &c->mx, "max_in");
        bounds_array(c, &c->qp.s, "qp->scale");
        bounds_array(c, &c->qp.z, "qp->zero_point");
        mark_array(c, &c->qp.s);
        mark_array(c, &c->qp.z);
        break;
    case OP_PACK:
    case OP_GEMM: {
        bounds_view(c, &c->bw, "b");
        int tr = (c->pack_flags & CLQ_WEIGHTS_TRANSPOSED) != 0;
        int axis = c->bqp.qp.axis < 0 ? c->bqp.qp.axis + 2 : c->bqp.qp.axis;
        if (c->bqp.qp.granularity == CLQ_PER_TENSOR ||
            (c->bqp.qp.granularity == CLQ_PER_AXIS && axis == (tr ? 1 : 0))) {
            bounds_array(c, &c->bqp.s, "b qp->scale");
            bounds_array(c, &c->bqp.z, "b qp->zero_point");
        }
        if (c->op == OP_PACK) break;
        bounds_view(c, &c->a, "a");
        bounds_view(c, &c->c, "c");
        int requant = c->c.dtype == CLQ_S8 || c->c.dtype == CLQ_U8;
        int fixed = (c->go.flags & CLQ_GEMM_FIXED_POINT) != 0;
        int need_sa = c->c.dtype == CLQ_F32 || (requant && !fixed);
        if (!c->opts_null) {
            bounds_array(c, &c->aqp.z, "a_qp->zero_point");
            if (need_sa) bounds_array(c, &c->aqp.s, "a_qp->scale");
            if (c->c.dtype == CLQ_F32) bounds_array(c, &c->bias, "bias");
            if (requant && c->cqp.present) {
                bounds_array(c, &c->cqp.z, "c_qparams->zero_point");
                if (!fixed) bounds_array(c, &c->cqp.s, "c_qparams->scale");
                if (fixed) {
                    bounds_array(c, &c->mult, "multiplier");
                    bounds_array(c, &c->shift, "shift");
                }
            }
            /* (a_rowsums is checked only when there is work: M and N > 0, reported) */
            size_t nn = c->bw.shape[(c->pack_flags & CLQ_WEIGHTS_TRANSPOSED) ? 1 : 0];
            if (c->arow.count > 0 && nn > 0) bounds_array(c, &c->arow, "a_rowsums");
        }
        selfov = mark_tensor(c, &c->c);
        /* values the contract leaves unspecified */
        if (c->arow.buf >= 0 && c->arow_random) set_undefined(c, "a_rowsums not A's row sums");
        trusted_values(c, &c->aqp, 1, need_sa, "a_qp");
        if (requant && c->cqp.present) trusted_values(c, &c->cqp, 1, !fixed, "c_qparams");
        int trusted = (c->aqp.present && (c->aqp.qp.flags & CLQ_QPARAMS_TRUSTED)) ||
                      (c->cqp.present && (c->cqp.qp.flags & CLQ_QPARAMS_TRUSTED));
        if (trusted && fixed && c->cqp.present && (c->cqp.qp.flags & CLQ_QPARAMS_TRUSTED))
            for (size_t i = 0; i < c->mult.count; i++)
                if ((arr_ok(c, &c->mult, i) && arr_i32(c, &c->mult, i) < 0) ||
                    (arr_ok(c, &c->shift, i) && (arr_i32(c, &c->shift, i) < -31 || arr_i32(c, &c->shift, i) > 30)))
                    set_undefined(c, "TRUSTED multiplier / shift [%zu] out of range", i);
        if (trusted) {
            float sa = arr_ok(c, &c->aqp.s, 0) ? arr_f32(c, &c->aqp.s, 0) : 1.0f;
            float sc = arr_ok(c, &c->cqp.s, 0) ? arr_f32(c, &c->cqp.s, 0) : 1.0f;
            float sbmax = 0.0f;
            for (size_t i = 0; i < c->bqp.s.count; i++)
                if (arr_ok(c, &c->bqp.s, i) && arr_f32(c, &c->bqp.s, i) > sbmax) sbmax = arr_f32(c, &c->bqp.s, i);
            if (c->c.dtype == CLQ_F32 && !isfinite(sa * sbmax)) set_undefined(c, "TRUSTED: sa * sb not finite");
            if (requant && !fixed && !isfinite((sa * sbmax) / sc))
                set_undefined(c, "TRUSTED: the multiplier sa * sb / sc is not finite");
        }
        break;
    }
    }
    if (selfov) set_undefined(c, "the output view's elements overlap each other");
    check_overlaps(c);
}

/* ------------------------------------------------------------- decode one case */

static void decode_case(rd *r, fcase *c) {
    c->op = u8(r) % OP_COUNT;
    (void)u8(r);                  /* the backend byte (read by the caller) */
    c->nullctx = u8(r) == 255;
    int fill_mode = u8(r);        /* how float data is drawn (data_float) */
    int param_mode = u8(r);       /* bit per qparams array: raw bits instead of mostly valid */
    uint8_t sh = u8(r), pick = u8(r), where = u8(r); /* decode_share */
    uint8_t nb = u8(r);           /* a NULL argument */
    int allow_huge = !skip("huge");

    switch (c->op) {
    case OP_QUANTIZE: case OP_QUANTIZE_RS: case OP_DYNAMIC: case OP_DYNAMIC_RS: case OP_DEQUANTIZE: {
        int deq = c->op == OP_DEQUANTIZE;
        int rs = c->op == OP_QUANTIZE_RS || c->op == OP_DYNAMIC_RS;
        if (deq) decode_tensor(r, c, &c->x, QUANTS, 4);
        else decode_tensor(r, c, &c->x, FLOATS, 3);
        clq_dtype qt = deq ? c->x.dtype : rs ? Q8[u8(r) & 1] : QUANTS[u8(r) & 3];
        decode_qp(r, &c->qp, qt);
        if (deq) decode_like(r, c, &c->y, &c->x, FLOATS, 3, CLQ_F32);
        else decode_like(r, c, &c->y, &c->x, QUANTS, 4, c->qp.qp.qtype);
        size_t np;
        if (!nparams_of(&c->qp.qp, c->x.ndim, c->x.shape, &np)) np = 1 + u8(r) % 4, c->np_guessed = 1;
        decode_qp_arrays(r, c, &c->qp, np);
        if (rs) decode_array(r, c, &c->rs, rows_of(&c->y), 4, 1);
        else c->rs.buf = -1;
        if (deq) fill_raw(r, &c->b[c->x.buf]);
        else fill_floats(r, &c->b[c->x.buf], c->x.dtype, fill_mode);
        if (!(c->op == OP_DYNAMIC || c->op == OP_DYNAMIC_RS)) fill_qp(r, c, &c->qp, param_mode);
        break;
    }
    case OP_MINMAX: {
        decode_tensor(r, c, &c->x, FLOATS, 3);
        decode_qp(r, &c->qp, CLQ_U8);
        size_t np;
        if (!nparams_of(&c->qp.qp, c->x.ndim, c->x.shape, &np)) np = 1 + u8(r) % 4, c->np_guessed = 1;
        decode_array(r, c, &c->mn, np, 4, 1);
        uint8_t share = u8(r);
        if (share >= 200 && c->mn.buf >= 0) {
            /* max_out in min_out's buffer: after it, or anywhere (the call checks overlap) */
            c->mx = c->mn;
            c->mx.offset = share >= 240 ? (size_t)(share % 5) : c->mn.offset + np;
            size_t need = (c->mx.offset + np) * 4;
            if (c->mn.offset < CAP_BYTES && need > c->b[c->mn.buf].size && need <= CAP_BYTES)
                c->b[c->mn.buf].size = need;
        } else {
            decode_array(r, c, &c->mx, np, 4, 1);
        }
        fill_floats(r, &c->b[c->x.buf], c->x.dtype, fill_mode);
        break;
    }
    case OP_QPARAMS: {
        decode_qp(r, &c->qp, QUANTS[u8(r) & 3]);
        uint8_t b = u8(r);
        c->count = b < 250 || !allow_huge ? b % 24 : huge_sizes[b % 8];
        size_t cnt = c->count > 64 ? 4 : c->count;
        decode_array(r, c, &c->mn, cnt, 4, 1);
        decode_array(r, c, &c->mx, cnt, 4, 1);
        decode_qp_arrays(r, c, &c->qp, cnt);
        c->mn.count = c->mx.count = c->qp.s.count = c->qp.z.count = c->count;
        if (c->mn.buf >= 0) fill_floats(r, &c->b[c->mn.buf], CLQ_F32, fill_mode);
        if (c->mx.buf >= 0) fill_floats(r, &c->b[c->mx.buf], CLQ_F32, fill_mode >> 2);
        break;
    }
    case OP_PACK:
    case OP_GEMM: {
        /* weights [N, K] (or [K, N] with CLQ_WEIGHTS_TRANSPOSED) */
        memset(&c->bw, 0, sizeof c->bw);
        c->bw.present = 1;
        c->bw.dtype = pick_dtype(r, Q8, 2);
        c->bw.ndim = u8(r) < 240 ? 2 : pick_ndim(r);
        size_t n = pick_dim(r, !skip("hugedim")), k = pick_dim(r, !skip("hugedim"));
        if (n > 24 && n <= MAXEL) n = 24;
        if (k > 64 && k <= MAXEL) k = (u8(r) & 1) ? 300 : 64;
        uint8_t pf = u8(r);
        c->pack_flags = pf < 250 ? (pf & 1u) : (pf & 7u);
        int tr = (c->pack_flags & CLQ_WEIGHTS_TRANSPOSED) != 0;
        for (int d = 0; d < CLQ_MAX_DIMS; d++) c->bw.shape[d] = 1;
        c->bw.shape[0] = tr ? k : n;
        c->bw.shape[1] = tr ? n : k;
        decode_layout(r, c, &c->bw);
        decode_qp(r, &c->bqp, c->bw.dtype);
        uint8_t g = u8(r);
        if (g < 230) c->bqp.qp.granularity = (g & 1) ? CLQ_PER_AXIS : CLQ_PER_TENSOR;
        if (c->bqp.qp.granularity == CLQ_PER_AXIS && g < 200) c->bqp.qp.axis = tr ? ((g & 2) ? 1 : -1) : ((g & 2) ? 0 : -2);
        size_t bnp = c->bqp.qp.granularity == CLQ_PER_AXIS ? (n <= MAXEL ? n : 1) : 1;
        decode_qp_arrays(r, c, &c->bqp, bnp);
        if (c->op == OP_PACK) {
            fill_raw(r, &c->b[c->bw.buf]);
            fill_qp(r, c, &c->bqp, param_mode);
            break;
        }

        /* A: [batch..., M, K] */
        memset(&c->a, 0, sizeof c->a);
        c->a.present = 1;
        c->a.dtype = pick_dtype(r, Q8, 2);
        uint8_t ab = u8(r);
        c->a.ndim = ab < 180 ? 2 : ab < 220 ? 3 : ab < 240 ? 4 : ab < 250 ? 1 : 0;
        for (int d = 0; d < CLQ_MAX_DIMS; d++) c->a.shape[d] = 1;
        for (int d = 0; d + 2 < c->a.ndim; d++) c->a.shape[d] = u8(r) % 4;
        size_t m = pick_dim(r, 0);
        if (m > 16) m = 16;
        if (c->a.ndim >= 2) c->a.shape[c->a.ndim - 2] = m;
        if (c->a.ndim >= 1) c->a.shape[c->a.ndim - 1] = u8(r) < 245 ? k : k + 1;
        decode_layout(r, c, &c->a);
        decode_qp(r, &c->aqp, c->a.dtype);
        if (u8(r) < 230) c->aqp.qp.granularity = CLQ_PER_TENSOR;
        decode_qp_arrays(r, c, &c->aqp, 1);
        /* C: [batch..., M, N] */
        memset(&c->c, 0, sizeof c->c);
        c->c.present = 1;
        c->c.dtype = pick_dtype(r, COUT, 4);
        c->c.ndim = c->a.ndim;
        memcpy(c->c.shape, c->a.shape, sizeof c->c.shape);
        if (c->c.ndim >= 1) c->c.shape[c->c.ndim - 1] = u8(r) < 245 ? n : n + 1;
        decode_layout(r, c, &c->c);
        /* options */
        uint8_t ob = u8(r);
        c->opts_null = ob >= 245;
        clq_gemm_options_init(&c->go);
        uint8_t gf = u8(r);
        c->go.flags = gf < 250 ? gf & 3u : gf & 7u;
        if (ob >= 235 && ob < 245 && !skip("struct")) c->go.struct_size = sizeof c->go - 8;
        uint8_t sb = u8(r);
        int requant = c->c.dtype == CLQ_S8 || c->c.dtype == CLQ_U8;
        int want_f32 = c->c.dtype == CLQ_F32 ? sb < 250 : sb >= 250;
        int want_q = requant ? sb < 250 : sb >= 250;
        c->bias.buf = c->mult.buf = c->shift.buf = c->arow.buf = -1;
        c->cqp.s.buf = c->cqp.z.buf = -1;
        size_t nn = n <= MAXEL ? n : 1;
        if (want_f32 && (u8(r) & 1)) decode_array(r, c, &c->bias, nn, 4, 0);
        if (want_q) {
            decode_qp(r, &c->cqp, c->c.dtype);
            if (u8(r) < 230) c->cqp.qp.granularity = CLQ_PER_TENSOR;
            decode_qp_arrays(r, c, &c->cqp, 1);
            c->go.multiplier_per_channel = u8(r) & 1;
            size_t mc = c->go.multiplier_per_channel ? nn : 1;
            if ((c->go.flags & CLQ_GEMM_FIXED_POINT) || u8(r) >= 250) {
                decode_array(r, c, &c->mult, mc, 4, 0);
                decode_array(r, c, &c->shift, mc, 4, 0);
            }
        }
        uint8_t rb = u8(r);
        if (rb >= 160) {
            decode_array(r, c, &c->arow, rows_of(&c->a), 4, 0);
            c->arow_random = rb >= 240;
        }
        /* data (after every descriptor byte, so that a short input is all descriptor) */
        fill_raw(r, &c->b[c->bw.buf]);
        fill_qp(r, c, &c->bqp, param_mode);
        fill_raw(r, &c->b[c->a.buf]);
        fill_raw(r, &c->b[c->c.buf]);
        fill_qp(r, c, &c->aqp, param_mode >> 2);
        if (c->cqp.present) fill_qp(r, c, &c->cqp, param_mode >> 4);
        if (c->mult.buf >= 0) fill_i32(r, &c->b[c->mult.buf], gen_mult, CLQ_S32, (param_mode >> 6) & 1);
        if (c->shift.buf >= 0) fill_i32(r, &c->b[c->shift.buf], gen_shift, CLQ_S32, (param_mode >> 7) & 1);
        if (c->bias.buf >= 0) fill_floats(r, &c->b[c->bias.buf], CLQ_F32, fill_mode >> 2);
        if (c->arow.buf >= 0) fill_raw(r, &c->b[c->arow.buf]);
        break;
    }
    }
    /* every buffer not filled above (outputs, sentinels): raw bytes from the data */
    for (int i = 0; i < c->nbuf; i++)
        if (!c->b[i].filled) fill_raw(r, &c->b[i]);

    decode_share(r, c, sh, pick, where);

    /* rare NULL arguments */
    switch (nb) {
    case 250: c->x.present = 0; c->bw.present = 0; break;
    case 251: c->y.present = 0; c->a.present = 0; break;
    case 252: c->qp.present = 0; c->bqp.present = 0; break;
    case 253: c->aqp.present = 0; break;
    case 254: c->c.present = 0; break;
    default: break;
    }
}

/* Correct row sums of A's stored values, written where a_rowsums points. */
static void write_rowsums(fcase *c) {
    if (c->op != OP_GEMM || c->arow.buf < 0 || c->arow_random || !view_in_bounds(c, &c->a) ||
        c->a.ndim < 1 || c->a.numel == 0 || c->a.numel > MAXEL * 4)
        return;
    size_t kk = c->a.shape[c->a.ndim - 1], rows = kk ? c->a.numel / kk : 0;
    for (size_t m = 0; m < rows && m < c->arow.count; m++) {
        uint32_t sum = 0;
        for (size_t k = 0; k < kk; k++) {
            size_t e;
            if (!elem_at(&c->a, m * kk + k, &e)) continue;
            uint8_t v = c->b[c->a.buf].init[e];
            sum += c->a.dtype == CLQ_S8 ? (uint32_t)(int32_t)(int8_t)v : v;
        }
        if (arr_ok(c, &c->arow, m)) memcpy(c->b[c->arow.buf].init + (c->arow.offset + m) * 4, &sum, 4);
    }
}

/* Two wraps of one host array hold one set of bytes (row sums were written after sharing). */
static void sync_aliases(fcase *c) {
    for (int i = 0; i < c->nbuf; i++) {
        bufspec *B2 = &c->b[i];
        if (B2->alias_of < 0) continue;
        bufspec *B1 = &c->b[B2->alias_of];
        if (B2->alias_base < B1->size) {
            size_t n = B1->size - B2->alias_base;
            memcpy(B2->init, B1->init + B2->alias_base, n < B2->size ? n : B2->size);
        }
    }
}

/* ------------------------------------------------------------- running */

typedef struct result {
    clq_status st;
    char msg[512];
    uint8_t *after[MAXB];
} result;

static clq_tensor make_tensor(const tspec *t, clq_buffer **bufs) {
    clq_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = t->dtype;
    x.ndim = t->ndim;
    memcpy(x.shape, t->shape, sizeof x.shape);
    memcpy(x.strides, t->strides, sizeof x.strides);
    x.offset = t->offset;
    x.buffer = t->buf >= 0 ? bufs[t->buf] : NULL;
    return x;
}
static clq_qparams make_qp(const qpspec *q, clq_buffer **bufs) {
    clq_qparams p = q->qp;
    p.scale = q->s.buf >= 0 ? bufs[q->s.buf] : NULL;
    p.zero_point = q->z.buf >= 0 ? bufs[q->z.buf] : NULL;
    p.scale_offset = q->s.offset;
    p.zero_point_offset = q->z.offset;
    return p;
}
static clq_buffer *abuf(const aspec *a, clq_buffer **bufs) { return a->buf >= 0 ? bufs[a->buf] : NULL; }

/* Runs the case on ctx over buffers holding init (alt: with the output bytes
 * complemented) and reads every buffer back into res. */
static void run_case(const fcase *c, clq_context *ctx, int alt, result *res) {
    clq_buffer *bufs[MAXB] = {0};
    uint8_t *host[MAXB] = {0}; /* wrapped memory we own (aliases point into another's) */
    size_t host_size[MAXB] = {0};
    for (int i = 0; i < c->nbuf; i++)
        if (c->b[i].wrap && c->b[i].size) host_size[i] = c->b[i].size;
    for (int i = 0; i < c->nbuf; i++) {
        const bufspec *b = &c->b[i];
        if (b->alias_of >= 0 && b->size && host_size[b->alias_of] && c->b[b->alias_of].alias_of < 0 &&
            b->alias_base + b->size > host_size[b->alias_of])
            host_size[b->alias_of] = b->alias_base + b->size;
    }
    int is_alias[MAXB];
    for (int i = 0; i < c->nbuf; i++) {
        const bufspec *b = &c->b[i];
        is_alias[i] = b->alias_of >= 0 && b->size && host_size[b->alias_of] &&
                      c->b[b->alias_of].alias_of < 0;
    }
    for (int pass = 0; pass < 2; pass++) /* owners first, then the aliases into them */
        for (int i = 0; i < c->nbuf; i++) {
            const bufspec *b = &c->b[i];
            int alias = is_alias[i];
            if ((pass == 0) == (alias != 0)) continue;
            uint8_t *init = malloc(b->size ? b->size : 1);
            memcpy(init, b->init, b->size);
            if (alt && c->op != OP_GEMM) /* GEMM: after the pack (C may reuse b's memory) */
                for (size_t j = 0; j < b->size; j++)
                    if (b->reach[j]) init[j] = (uint8_t)~init[j];
            clq_status st;
            if (alias) {
                uint8_t *mem = host[b->alias_of] + b->alias_base;
                memcpy(mem, init, b->size);
                st = clq_buffer_wrap_host(ctx, mem, b->size, &bufs[i]);
            } else if (b->wrap && b->size) {
                host[i] = malloc(host_size[i]);
                memset(host[i], 0x5a, host_size[i]);
                memcpy(host[i], init, b->size);
                st = clq_buffer_wrap_host(ctx, host[i], b->size, &bufs[i]);
            } else {
                st = clq_buffer_create(ctx, b->size, &bufs[i]);
                if (st == CLQ_SUCCESS) st = clq_buffer_write(bufs[i], 0, b->size, init);
            }
            free(init);
            if (st != CLQ_SUCCESS)
                FAIL("buffer %d of %zu bytes: %s: %s", i, b->size, clq_status_string(st),
                     clq_context_error_message(ctx));
        }
    clq_context *cx = c->nullctx ? NULL : ctx;
    clq_status st = CLQ_ERROR_INTERNAL;
    clq_tensor x = make_tensor(&c->x, bufs), y = make_tensor(&c->y, bufs);
    const clq_tensor *px = c->x.present ? &x : NULL, *py = c->y.present ? &y : NULL;
    clq_qparams qp = make_qp(&c->qp, bufs);
    const clq_qparams *pqp = c->qp.present ? &qp : NULL;
    switch (c->op) {
    case OP_QUANTIZE: st = clq_quantize(cx, px, pqp, py); break;
    case OP_DEQUANTIZE: st = clq_dequantize(cx, px, pqp, py); break;
    case OP_DYNAMIC: st = clq_quantize_dynamic(cx, px, pqp, py); break;
    case OP_QUANTIZE_RS: st = clq_quantize_rowsums(cx, px, pqp, py, abuf(&c->rs, bufs), c->rs.offset); break;
    case OP_DYNAMIC_RS:
        st = clq_quantize_dynamic_rowsums(cx, px, pqp, py, abuf(&c->rs, bufs), c->rs.offset);
        break;
    case OP_MINMAX:
        st = clq_minmax(cx, px, pqp, abuf(&c->mn, bufs), c->mn.offset, abuf(&c->mx, bufs), c->mx.offset);
        break;
    case OP_QPARAMS:
        st = clq_qparams_from_minmax(cx, abuf(&c->mn, bufs), c->mn.offset, abuf(&c->mx, bufs),
                                     c->mx.offset, c->count, pqp);
        break;
    case OP_PACK:
    case OP_GEMM: {
        clq_tensor b = make_tensor(&c->bw, bufs);
        clq_qparams bq = make_qp(&c->bqp, bufs);
        clq_packed_weights *w = NULL;
        st = clq_weights_pack(cx, c->bw.present ? &b : NULL, c->bqp.present ? &bq : NULL,
                              c->pack_flags, &w);
        if (st == CLQ_SUCCESS && !w) FAIL("clq_weights_pack succeeded without weights");
        if (st != CLQ_SUCCESS && w) FAIL("clq_weights_pack failed (%s) but set *out", clq_status_string(st));
        if (st == CLQ_SUCCESS) {
            int tr = (c->pack_flags & CLQ_WEIGHTS_TRANSPOSED) != 0;
            if (clq_weights_n(w) != c->bw.shape[tr ? 1 : 0] || clq_weights_k(w) != c->bw.shape[tr ? 0 : 1])
                FAIL("packed weights: N = %zu, K = %zu for b [%zu, %zu]%s", clq_weights_n(w),
                     clq_weights_k(w), c->bw.shape[0], c->bw.shape[1], tr ? " transposed" : "");
        }
        if (st == CLQ_SUCCESS && c->op == OP_GEMM && alt) {
            /* the output bytes complemented, now that the weights are packed */
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < c->nbuf; i++) {
                    const bufspec *bs = &c->b[i];
                    if ((pass == 0) == (bs->alias_of >= 0)) continue;
                    uint8_t *v = malloc(bs->size ? bs->size : 1);
                    int any = 0;
                    for (size_t j = 0; j < bs->size; j++) {
                        v[j] = bs->reach[j] ? (uint8_t)~bs->init[j] : bs->init[j];
                        any |= bs->reach[j];
                    }
                    if (any && clq_buffer_write(bufs[i], 0, bs->size, v) != CLQ_SUCCESS)
                        FAIL("rewriting buffer %d: %s", i, clq_context_error_message(ctx));
                    free(v);
                }
        }
        if (st == CLQ_SUCCESS && c->op == OP_GEMM) {
            clq_tensor a = make_tensor(&c->a, bufs), cc = make_tensor(&c->c, bufs);
            clq_qparams aq = make_qp(&c->aqp, bufs), cq = make_qp(&c->cqp, bufs);
            clq_gemm_options go = c->go;
            go.bias = abuf(&c->bias, bufs);
            go.bias_offset = c->bias.offset;
            go.c_qparams = c->cqp.present ? &cq : NULL;
            go.multiplier = abuf(&c->mult, bufs);
            go.multiplier_offset = c->mult.offset;
            go.shift = abuf(&c->shift, bufs);
            go.shift_offset = c->shift.offset;
            go.a_rowsums = abuf(&c->arow, bufs);
            go.a_rowsums_offset = c->arow.offset;
            st = clq_gemm(ctx, c->a.present ? &a : NULL, c->aqp.present ? &aq : NULL, w,
                          c->opts_null ? NULL : &go, c->c.present ? &cc : NULL);
        }
        clq_weights_destroy(w);
        break;
    }
    }
    res->st = st;
    snprintf(res->msg, sizeof res->msg, "%s", clq_context_error_message(ctx));
    for (int i = 0; i < c->nbuf; i++) {
        res->after[i] = malloc(c->b[i].size ? c->b[i].size : 1);
        clq_status rs = clq_buffer_read(bufs[i], 0, c->b[i].size, res->after[i]);
        if (rs != CLQ_SUCCESS)
            FAIL("reading buffer %d back: %s: %s", i, clq_status_string(rs), clq_context_error_message(ctx));
    }
    clq_status fs = clq_context_finish(ctx);
    if (fs != CLQ_SUCCESS) FAIL("clq_context_finish: %s", clq_status_string(fs));
    for (int i = 0; i < c->nbuf; i++) clq_buffer_destroy(bufs[i]);
    for (int i = 0; i < c->nbuf; i++) free(host[i]);
}

static void free_result(const fcase *c, result *r) {
    for (int i = 0; i < c->nbuf; i++) free(r->after[i]);
}

static const char *bk_name(int bk) { return bk == BK_OPENCL ? "opencl" : bk == BK_CPU1 ? "cpu1" : "cpu2"; }

/* A view with more elements than the harness sizes (a broadcast or strided view of a
 * small buffer): staging it needs that many elements of scratch, so running out of
 * memory is a fair answer there. */
static int huge_view(const tspec *t) {
    return t->present && (!t->known || t->numel > (size_t)MAXEL * 64);
}

/* The checks of one run. */
static void check_result(const fcase *c, int bk, const result *r, int alt) {
    clq_status st = r->st;
    const char *b = bk_name(bk), *op = op_names[c->op];
    if ((int)st < 0 || (int)st > CLQ_ERROR_INTERNAL) FAIL("[%s] %s returned status %d", b, op, (int)st);
    if (st == CLQ_ERROR_OUT_OF_MEMORY &&
        (huge_view(&c->x) || huge_view(&c->y) || huge_view(&c->a) || huge_view(&c->c) ||
         huge_view(&c->bw)) && r->msg[0])
        return;
    if (st == CLQ_ERROR_INTERNAL || st == CLQ_ERROR_OPENCL || st == CLQ_ERROR_BUILD_FAILED ||
        st == CLQ_ERROR_OUT_OF_MEMORY || st == CLQ_ERROR_NO_DEVICE)
        FAIL("[%s] %s returned %s: %s", b, op, clq_status_string(st), r->msg);
    if (st != CLQ_SUCCESS && !c->nullctx && !r->msg[0])
        FAIL("[%s] %s returned %s without a message", b, op, clq_status_string(st));
    if (st == CLQ_SUCCESS && c->nullctx) FAIL("[%s] %s succeeded with ctx NULL", b, op);
    if (st == CLQ_SUCCESS && c->must_fail) FAIL("[%s] %s succeeded but %s", b, op, c->must_fail_why);
    for (int i = 0; i < c->nbuf; i++) {
        const bufspec *bs = &c->b[i];
        for (size_t j = 0; j < bs->size; j++) {
            uint8_t before = alt && bs->reach[j] ? (uint8_t)~bs->init[j] : bs->init[j];
            if (r->after[i][j] == before) continue;
            if (st != CLQ_SUCCESS)
                FAIL("[%s] %s failed (%s: %s) but changed byte %zu of buffer %d (0x%02x -> 0x%02x)", b,
                     op, clq_status_string(st), r->msg, j, i, before, r->after[i][j]);
            if (!bs->reach[j])
                FAIL("[%s] %s succeeded and changed byte %zu of buffer %d, outside every output "
                     "(0x%02x -> 0x%02x)", b, op, j, i, before, r->after[i][j]);
        }
    }
}

static void compare_results(const fcase *c, int bk1, const result *r1, int bk2, const result *r2) {
    const char *op = op_names[c->op];
    if (r1->st != r2->st)
        FAIL("diff: %s gives %s (%s) on %s but %s (%s) on %s", op, clq_status_string(r1->st),
             r1->msg, bk_name(bk1), clq_status_string(r2->st), r2->msg, bk_name(bk2));
    if (r1->st != CLQ_SUCCESS || c->undefined) return;
    for (int i = 0; i < c->nbuf; i++)
        for (size_t j = 0; j < c->b[i].size; j++)
            if (r1->after[i][j] != r2->after[i][j])
                FAIL("diff: %s: byte %zu of buffer %d is 0x%02x on %s but 0x%02x on %s", op, j, i,
                     r1->after[i][j], bk_name(bk1), r2->after[i][j], bk_name(bk2));
}

static void describe_tensor(const fcase *c, const char *name, const tspec *t) {
    if (!t->present || t->buf < 0) return;
    fprintf(stderr, "  %s: %s ndim %d shape [", name, clq_dtype_name(t->dtype), t->ndim);
    for (int d = 0; d < clamp_ndim(t->ndim); d++) fprintf(stderr, "%s%zu", d ? "," : "", t->shape[d]);
    fprintf(stderr, "] strides [");
    for (int d = 0; d < clamp_ndim(t->ndim); d++) fprintf(stderr, "%s%td", d ? "," : "", t->strides[d]);
    fprintf(stderr, "] offset %zu, buffer %d (%zu bytes%s)\n", t->offset, t->buf, c->b[t->buf].size,
            c->b[t->buf].wrap ? ", wrapped" : "");
}
static void describe_array(const fcase *c, const char *name, const aspec *a) {
    if (a->buf < 0) return;
    fprintf(stderr, "  %s: %zu x %zu bytes at element %zu, buffer %d (%zu bytes%s)\n", name,
            a->count, a->elem, a->offset, a->buf, c->b[a->buf].size, c->b[a->buf].wrap ? ", wrapped" : "");
}
static void describe_qp(const fcase *c, const char *name, const qpspec *q) {
    if (!q->present) return;
    const clq_qparams *p = &q->qp;
    fprintf(stderr, "  %s: %s gran %d axis %d block %zu scheme %d rounding %d flags 0x%x struct_size %zu\n",
            name, clq_dtype_name(p->qtype), (int)p->granularity, p->axis, p->block_size,
            (int)p->scheme, (int)p->rounding, p->flags, p->struct_size);
    char sn[64], zn[64];
    snprintf(sn, sizeof sn, "%s.scale", name);
    snprintf(zn, sizeof zn, "%s.zero_point", name);
    describe_array(c, sn, &q->s);
    describe_array(c, zn, &q->z);
}
static void describe(const fcase *c) {
    fprintf(stderr, "case: %s%s%s%s%s%s\n", op_names[c->op], c->nullctx ? " ctx NULL" : "",
            c->must_fail ? "; must fail: " : "", c->must_fail ? c->must_fail_why : "",
            c->undefined ? "; values unspecified: " : "", c->undefined ? c->undefined_why : "");
    describe_tensor(c, "x", &c->x);
    describe_tensor(c, "y", &c->y);
    describe_qp(c, "qp", &c->qp);
    describe_array(c, "min", &c->mn);
    describe_array(c, "max", &c->mx);
    if (c->op == OP_QPARAMS) fprintf(stderr, "  count %zu\n", c->count);
    describe_array(c, "rowsums", &c->rs);
    describe_tensor(c, "b", &c->bw);
    if (c->op == OP_PACK || c->op == OP_GEMM) fprintf(stderr, "  pack flags 0x%x\n", c->pack_flags);
    describe_qp(c, "b_qp", &c->bqp);
    describe_tensor(c, "a", &c->a);
    describe_qp(c, "a_qp", &c->aqp);
    describe_tensor(c, "c", &c->c);
    if (c->op == OP_GEMM)
        fprintf(stderr, "  options %s flags 0x%x struct_size %zu per_channel %d\n",
                c->opts_null ? "NULL" : "given", c->go.flags, c->go.struct_size, c->go.multiplier_per_channel);
    describe_qp(c, "c_qp", &c->cqp);
    describe_array(c, "bias", &c->bias);
    describe_array(c, "multiplier", &c->mult);
    describe_array(c, "shift", &c->shift);
    describe_array(c, "a_rowsums", &c->arow);
}

static fcase g_case;
static bufspec g_bufs[MAXB];

static void init_case(fcase *c) {
    memset(c, 0, sizeof *c);
    c->b = g_bufs;
    tspec *ts[] = {&c->x, &c->y, &c->bw, &c->a, &c->c};
    for (int i = 0; i < 5; i++) ts[i]->buf = -1;
    qpspec *qs[] = {&c->qp, &c->bqp, &c->aqp, &c->cqp};
    for (int i = 0; i < 4; i++) qs[i]->s.buf = qs[i]->z.buf = -1;
    aspec *as[] = {&c->mn, &c->mx, &c->rs, &c->bias, &c->mult, &c->shift, &c->arow};
    for (int i = 0; i < 7; i++) as[i]->buf = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return -1;
    rd r = {data, size, 0, 0x1234567ull};
    for (size_t i = 0; i < size; i++) r.prng = r.prng * 131 + data[i];
    fcase *c = &g_case;
    init_case(c);
    decode_case(&r, c);
    write_rowsums(c);
    sync_aliases(c);
    analyse(c);
    if (g_verbose) describe(c);
    /* Weights with a huge N and K = 0 are empty, yet the library rightly allocates N
     * column sums (and zero points): no finding, just more memory than a run may use. */
    if ((c->op == OP_PACK || c->op == OP_GEMM) && c->bw.present && c->bw.ndim == 2 &&
        c->bw.shape[(c->pack_flags & CLQ_WEIGHTS_TRANSPOSED) ? 1 : 0] > ((size_t)1 << 20))
        return 0;
    /* Likewise a broadcast or strided view of 2^24+ elements that the call accepts: it
     * is staged through that much scratch, rightly; cases it must refuse still run. */
    const tspec *views[] = {&c->x, &c->y, &c->a, &c->c, &c->bw};
    for (int i = 0; i < 5; i++) /* the weights are packed (and staged) before any refusal */
        if ((!c->must_fail || views[i] == &c->bw) && views[i]->present && views[i]->known &&
            views[i]->numel > ((size_t)1 << 24))
            return 0;

    /* byte 1: bit 0 the CPU thread count (1 or 2), bits 1.. the backend when
     * FUZZ_BACKEND is not set (cpu, opencl, diff) */
    uint8_t bsel = size > 1 ? data[1] : 0;
    int cpu = (bsel & 1) ? BK_CPU2 : BK_CPU1;
    int mode = g_mode >= 0 ? g_mode : (bsel >> 1) % 3;
    if (mode == 2) {
        result r1, r2;
        run_case(c, get_ctx(cpu), 0, &r1);
        check_result(c, cpu, &r1, 0);
        run_case(c, get_ctx(BK_OPENCL), 0, &r2);
        check_result(c, BK_OPENCL, &r2, 0);
        vlog("  -> %s / %s: %s\n", clq_status_string(r1.st), clq_status_string(r2.st), r1.msg);
        compare_results(c, cpu, &r1, BK_OPENCL, &r2);
        free_result(c, &r1);
        free_result(c, &r2);
        return 0;
    }
    int bk = mode == 1 ? BK_OPENCL : cpu;
    result r1, r2;
    run_case(c, get_ctx(bk), 0, &r1);
    check_result(c, bk, &r1, 0);
    vlog("  -> %s: %s\n", clq_status_string(r1.st), r1.msg);
    if (r1.st == CLQ_SUCCESS && !c->undefined && !c->np_guessed) {
        /* the outputs must not depend on what the output bytes held before */
        run_case(c, get_ctx(bk), 1, &r2);
        check_result(c, bk, &r2, 1);
        if (r2.st != CLQ_SUCCESS)
            FAIL("[%s] %s: the second run failed: %s", bk_name(bk), op_names[c->op], r2.msg);
        for (int i = 0; i < c->nbuf; i++)
            for (size_t j = 0; j < c->b[i].size; j++)
                if (c->b[i].reach[j] && r1.after[i][j] != r2.after[i][j])
                    FAIL("[%s] %s: output byte %zu of buffer %d depends on its old value (0x%02x, "
                         "then 0x%02x over complemented bytes)", bk_name(bk), op_names[c->op], j, i,
                         r1.after[i][j], r2.after[i][j]);
        free_result(c, &r2);
    }
    free_result(c, &r1);
    return 0;
}
