/* test_faults.c: every op under injected resource failures (tests/fault_inject.h).
 *
 * For each op and backend, and for each kind of resource (host allocation, OpenCL
 * object creation / program build, the program cache's file operations, thread and
 * lock creation), with a cold program cache and (OpenCL) a warm one: for N = 1, 2, ...
 * until the op runs without reaching an Nth call, on a fresh context:
 *   - the Nth call of that kind fails inside the op;
 *   - the op returns a documented resource status (OUT_OF_MEMORY, OPENCL,
 *     BUILD_FAILED; NO_DEVICE for context creation) with a message, or succeeds
 *     with the right result when the library recovers (a cache that cannot be read
 *     or written is rebuilt or skipped, a missing worker thread is not needed);
 *   - on error no output byte changed (sentinels) and *out was not written;
 *   - inputs never change;
 *   - the same call again, unarmed, on the same context succeeds with the right bytes;
 *   - after everything is destroyed, every allocation the library made was freed
 *     (counted by the wrappers; scripts/check.sh also runs this under LSan).
 * The right bytes are those of the same op on a healthy context. Only resource
 * acquisition fails, never an enqueue: a run-time failure in the middle of a
 * composite op may leave outputs partly written by design.
 * Each test collects every problem of its walk and fails once at the end with the list. */
#include <criterion/criterion.h>
#include <clquant/clquant.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault_inject.h"

#define SENTINEL 0xA5
#define MAXBUF 16
#define MAXN 2000 /* no op makes this many calls of one kind */

/* ---- problems (static storage: the leak count must not see our own allocations) */

static char g_problems[32768];
static size_t g_plen;
static int g_nproblems;

static void problem(const char *fmt, ...) {
    g_nproblems++;
    if (g_plen + 400 >= sizeof g_problems) return;
    va_list ap;
    va_start(ap, fmt);
    g_plen += (size_t)vsnprintf(g_problems + g_plen, sizeof g_problems - g_plen, fmt, ap);
    va_end(ap);
    g_problems[g_plen++] = '\n';
    g_problems[g_plen] = 0;
}

/* ---- the fixture of one op --------------------------------------------------- */

typedef struct fx {
    clq_context *ctx;
    clq_buffer *b[MAXBUF];
    size_t size[MAXBUF];
    int out[MAXBUF];
    unsigned char init[MAXBUF][4096];
    int nb;
    clq_tensor x, y, a, c, bw;
    clq_qparams qp, aqp, cqp, bqp;
    clq_gemm_options go;
    clq_buffer *rs, *mn, *mx;
    size_t count;
    clq_packed_weights *w;     /* setup's (gemm) or the op's (weights_pack) */
    clq_linear *layer;         /* setup's (linear_forward) */
    clq_calibrator *cal;       /* setup's (calibrator_*) */
    clq_buffer *made;          /* buffer_create's */
    clq_context *made_ctx;     /* context_create's */
    clq_backend backend;
    const char *cache_dir;
} fx;

static uint32_t g_rng;
static float frand(void) {
    g_rng = g_rng * 1664525u + 1013904223u;
    return (float)((g_rng >> 8) % 4801) / 400.0f - 6.0f; /* [-6, 6], steps of 1/400 */
}

/* A buffer holding init (inputs) or sentinel bytes (outputs). 0 on failure. */
static clq_buffer *mk(fx *f, size_t bytes, const void *init, int out) {
    int i = f->nb++;
    cr_assert(i < MAXBUF && bytes <= sizeof f->init[0]);
    f->size[i] = bytes;
    f->out[i] = out;
    if (init) memcpy(f->init[i], init, bytes);
    else memset(f->init[i], SENTINEL, bytes);
    clq_status st = clq_buffer_create(f->ctx, bytes, &f->b[i]);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(f->b[i], 0, bytes, f->init[i]);
    cr_assert(st == CLQ_SUCCESS, "buffer of %zu bytes: %s: %s", bytes, clq_status_string(st),
              clq_context_error_message(f->ctx));
    return f->b[i];
}
static clq_buffer *mk_f32(fx *f, size_t n) {
    float v[1024];
    cr_assert(n <= 1024);
    for (size_t i = 0; i < n; i++) v[i] = frand();
    return mk(f, n * 4, v, 0);
}
static clq_buffer *mk_u8(fx *f, size_t n) {
    unsigned char v[4096];
    for (size_t i = 0; i < n; i++) v[i] = (unsigned char)(int)(frand() * 21.0f); /* any byte */
    return mk(f, n, v, 0);
}
static clq_buffer *mk_value(fx *f, float s) { return mk(f, 4, &s, 0); }
static clq_buffer *mk_i32(fx *f, int32_t z) { return mk(f, 4, &z, 0); }
static clq_buffer *mk_f32_pos(fx *f, size_t n, float lo, float step) {
    float v[1024];
    for (size_t i = 0; i < n; i++) v[i] = lo + step * (float)i;
    return mk(f, n * 4, v, 0);
}
static clq_buffer *mk_i32_range(fx *f, size_t n, int lo, int hi) {
    int32_t v[1024];
    for (size_t i = 0; i < n; i++) v[i] = lo + (int)((i * 7) % (size_t)(hi - lo + 1));
    return mk(f, n * 4, v, 0);
}
static clq_buffer *mk_out(fx *f, size_t bytes) { return mk(f, bytes, NULL, 1); }

static void tensor(clq_tensor *t, clq_dtype dt, size_t r, size_t c, clq_buffer *b) {
    size_t shape[2] = {r, c};
    clq_tensor_init(t, dt, 2, shape, b);
}

enum { R = 9, C = 13, N = 11, K = 13, M = 7 };

/* ---- the ops ------------------------------------------------------------------ */

static void setup_quantize(fx *f) { /* x strided (a gather through scratch), per channel u8 */
    tensor(&f->x, CLQ_F32, R, C, mk_f32(f, R * 2 * C));
    f->x.strides[0] = 2 * C, f->x.strides[1] = 2;
    tensor(&f->y, CLQ_U8, R, C, mk_out(f, R * C + 8));
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_U8;
    f->qp.granularity = CLQ_PER_AXIS;
    f->qp.axis = 1;
    f->qp.scale = mk_f32_pos(f, C, 0.02f, 0.005f);
    f->qp.zero_point = mk_i32_range(f, C, 100, 160);
}
static clq_status run_quantize(fx *f) { return clq_quantize(f->ctx, &f->x, &f->qp, &f->y); }

static void setup_dequantize(fx *f) { /* y strided (a scatter through scratch), per row s8 */
    tensor(&f->x, CLQ_S8, R, C, mk_u8(f, R * C));
    tensor(&f->y, CLQ_F32, R, C, mk_out(f, (R * 2 * C) * 4));
    f->y.strides[0] = 2 * C, f->y.strides[1] = 2;
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_S8;
    f->qp.granularity = CLQ_PER_AXIS;
    f->qp.axis = 0;
    f->qp.scale = mk_f32_pos(f, R, 0.1f, 0.01f);
    f->qp.zero_point = mk_i32_range(f, R, -5, 5);
}
static clq_status run_dequantize(fx *f) { return clq_dequantize(f->ctx, &f->x, &f->qp, &f->y); }

static void setup_minmax(fx *f) { /* f16 per block */
    uint16_t h[R * C];
    for (int i = 0; i < R * C; i++) h[i] = (uint16_t)(0x3c00 + (i * 37) % 2000 - ((i & 1) << 15));
    tensor(&f->x, CLQ_F16, R, C, mk(f, sizeof h, h, 0));
    clq_qparams_init(&f->qp);
    f->qp.granularity = CLQ_PER_BLOCK;
    f->qp.axis = 1;
    f->qp.block_size = 4;
    f->count = R * 4;
    f->mn = mk_out(f, f->count * 4 + 8);
    f->mx = mk_out(f, f->count * 4 + 8);
}
static clq_status run_minmax(fx *f) {
    return clq_minmax(f->ctx, &f->x, &f->qp, f->mn, 1, f->mx, 2);
}

static void setup_qparams(fx *f) {
    f->count = C;
    f->mn = mk_f32(f, C);
    f->mx = mk_f32_pos(f, C, 0.5f, 0.25f);
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_U8;
    f->qp.scale = mk_out(f, C * 4 + 4);
    f->qp.zero_point = mk_out(f, C * 4 + 4);
}
static clq_status run_qparams(fx *f) {
    return clq_qparams_from_minmax(f->ctx, f->mn, 0, f->mx, 0, f->count, &f->qp);
}

static void setup_dynamic(fx *f) { /* x strided, u8 per tensor: ONNX DynamicQuantizeLinear */
    tensor(&f->x, CLQ_F32, R, C, mk_f32(f, R * 2 * C));
    f->x.strides[0] = 2 * C, f->x.strides[1] = 2;
    tensor(&f->y, CLQ_U8, R, C, mk_out(f, R * C + 8));
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_U8;
    f->qp.scale = mk_out(f, 8);
    f->qp.zero_point = mk_out(f, 8);
}
static clq_status run_dynamic(fx *f) { return clq_quantize_dynamic(f->ctx, &f->x, &f->qp, &f->y); }

static void setup_rowsums(fx *f) { /* y strided: row sums, then the scatter */
    tensor(&f->x, CLQ_F32, R, C, mk_f32(f, R * C));
    tensor(&f->y, CLQ_U8, R, C, mk_out(f, R * 2 * C));
    f->y.strides[0] = 2 * C;
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_U8;
    f->qp.scale = mk_value(f, 0.05f);
    f->qp.zero_point = mk_i32(f, 120);
    f->rs = mk_out(f, R * 4 + 8);
}
static clq_status run_rowsums(fx *f) {
    return clq_quantize_rowsums(f->ctx, &f->x, &f->qp, &f->y, f->rs, 1);
}

static void setup_dynamic_rowsums(fx *f) { /* bf16 in, s8 symmetric, y strided */
    uint16_t h[R * C];
    for (int i = 0; i < R * C; i++) h[i] = (uint16_t)(0x3f80 + (i * 53) % 600 - ((i % 3 == 0) << 15));
    tensor(&f->x, CLQ_BF16, R, C, mk(f, sizeof h, h, 0));
    tensor(&f->y, CLQ_S8, R, C, mk_out(f, R * 2 * C));
    f->y.strides[0] = 2 * C;
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_S8;
    f->qp.scheme = CLQ_SYMMETRIC;
    f->qp.scale = mk_out(f, 8);
    f->qp.zero_point = mk_out(f, 8);
    f->rs = mk_out(f, R * 4 + 8);
}
static clq_status run_dynamic_rowsums(fx *f) {
    return clq_quantize_dynamic_rowsums(f->ctx, &f->x, &f->qp, &f->y, f->rs, 0);
}

/* weights s8 [N, K] per channel with zero points (row sums needed) */
static void weights(fx *f) {
    tensor(&f->bw, CLQ_S8, N, K, mk_u8(f, N * K));
    clq_qparams_init(&f->bqp);
    f->bqp.qtype = CLQ_S8;
    f->bqp.granularity = CLQ_PER_AXIS;
    f->bqp.axis = 0;
    f->bqp.scale = mk_f32_pos(f, N, 0.01f, 0.002f);
    f->bqp.zero_point = mk_i32_range(f, N, -3, 3);
}
static void activations(fx *f, clq_dtype ctype, int a_strided, int c_strided) {
    tensor(&f->a, CLQ_U8, M, K, mk_u8(f, M * K * (a_strided ? 2 : 1)));
    if (a_strided) f->a.strides[0] = 2 * K, f->a.strides[1] = 2;
    size_t esz = ctype == CLQ_S32 || ctype == CLQ_F32 ? 4 : 1;
    tensor(&f->c, ctype, M, N, mk_out(f, M * N * esz * (c_strided ? 2 : 1) + 8));
    if (c_strided) f->c.strides[0] = 2 * N, f->c.strides[1] = 2;
    clq_qparams_init(&f->aqp);
    f->aqp.qtype = CLQ_U8;
    f->aqp.scale = mk_value(f, 0.05f);
    f->aqp.zero_point = mk_i32(f, 121);
    clq_gemm_options_init(&f->go);
}
static void pack_now(fx *f) {
    clq_status st = clq_weights_pack(f->ctx, &f->bw, &f->bqp, 0, &f->w);
    cr_assert(st == CLQ_SUCCESS, "setup: clq_weights_pack: %s: %s", clq_status_string(st),
              clq_context_error_message(f->ctx));
}

static void setup_pack(fx *f) {
    weights(f);
    activations(f, CLQ_F32, 0, 0);
}
static char g_not_written_obj[64]; /* *out before the call: must stay on error */
#define g_not_written (*(clq_packed_weights *)g_not_written_obj)
static clq_status run_pack(fx *f) {
    f->w = &g_not_written;
    return clq_weights_pack(f->ctx, &f->bw, &f->bqp, 0, &f->w);
}
/* After a successful pack: the weights must work (the GEMM, unarmed). */
static clq_status post_pack(fx *f) { return clq_gemm(f->ctx, &f->a, &f->aqp, f->w, &f->go, &f->c); }

static void setup_gemm_s32(fx *f) {
    weights(f);
    pack_now(f);
    activations(f, CLQ_S32, 0, 0); /* row sums computed by the call */
}
static void setup_gemm_f32(fx *f) {
    weights(f);
    pack_now(f);
    activations(f, CLQ_F32, 1, 0); /* A gathered */
    f->go.bias = mk_f32(f, N);
    f->go.flags = CLQ_GEMM_RELU;
}
static void setup_gemm_s8(fx *f) {
    weights(f);
    pack_now(f);
    activations(f, CLQ_S8, 0, 1); /* C scattered */
    clq_qparams_init(&f->cqp);
    f->cqp.qtype = CLQ_S8;
    f->cqp.scale = mk_value(f, 0.5f);
    f->cqp.zero_point = mk_i32(f, -4);
    f->go.c_qparams = &f->cqp;
}
static void setup_gemm_u8_fixed(fx *f) {
    weights(f);
    pack_now(f);
    activations(f, CLQ_U8, 0, 0);
    clq_qparams_init(&f->cqp);
    f->cqp.qtype = CLQ_U8;
    f->cqp.zero_point = mk_i32(f, 130);
    f->go.c_qparams = &f->cqp;
    f->go.flags = CLQ_GEMM_FIXED_POINT;
    f->go.multiplier = mk_i32(f, 1518500250); /* 2^-9 * sqrt 2, as clq_quantize_multiplier */
    f->go.shift = mk_i32(f, -8);
}
static clq_status run_gemm(fx *f) { return clq_gemm(f->ctx, &f->a, &f->aqp, f->w, &f->go, &f->c); }

/* A u4 layer with zero points (group sums), a bias, x strided (gathered), per token:
 * the forward's first call grows the layer's own buffers under the injected faults. */
static void setup_linear(fx *f) {
    tensor(&f->bw, CLQ_F32, N, K, mk_f32(f, N * K));
    clq_linear_options o;
    clq_linear_options_init(&o);
    o.scheme = CLQ_LINEAR_U4_GROUP;
    o.act_granularity = CLQ_LINEAR_PER_TOKEN;
    o.bias = mk_f32(f, N);
    clq_status st = clq_linear_create(f->ctx, &f->bw, &o, &f->layer);
    cr_assert(st == CLQ_SUCCESS, "setup: clq_linear_create: %s: %s", clq_status_string(st),
              clq_context_error_message(f->ctx));
    tensor(&f->x, CLQ_F32, M, K, mk_f32(f, M * K * 2));
    f->x.strides[0] = 2 * K, f->x.strides[1] = 2;
    tensor(&f->c, CLQ_F32, M, N, mk_out(f, M * N * 4));
}
static clq_status run_linear(fx *f) { return clq_linear_forward(f->layer, &f->x, &f->c); }

/* The calibrator (CPU path; its device work is the minmax and histogram ops): an MSE
 * calibrator that has seen one batch in [0, 1). observe: a second batch in [-6, 6] grows
 * the histogram; a failed one must leave the state as it was, which the qparams after the
 * next, unarmed call show. qparams: the MSE search's own host memory. */
static void setup_calib(fx *f) {
    clq_calibrator_options o;
    clq_calibrator_options_init(&o);
    o.method = CLQ_CALIB_MSE;
    o.bins = 256;
    clq_status st = clq_calibrator_create(f->ctx, &o, &f->cal);
    clq_tensor first;
    tensor(&first, CLQ_F32, R, C, mk_f32_pos(f, R * C, 0.0f, 1.0f / 128));
    if (st == CLQ_SUCCESS) st = clq_calibrator_observe(f->cal, &first);
    cr_assert(st == CLQ_SUCCESS, "setup: calibrator: %s: %s", clq_status_string(st),
              clq_context_error_message(f->ctx));
    tensor(&f->x, CLQ_F32, R, C, mk_f32(f, R * C));
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_S8;
    f->qp.scale = mk_out(f, 4);
    f->qp.zero_point = mk_out(f, 4);
}
static clq_status run_calib_qparams(fx *f) { return clq_calibrator_qparams(f->cal, &f->qp); }
static clq_status run_calib_observe(fx *f) { return clq_calibrator_observe(f->cal, &f->x); }

/* The error metrics (CPU path): x strided (gathered), per axis; out on the host. */
static void setup_error(fx *f) {
    tensor(&f->x, CLQ_F32, R, C, mk_f32(f, R * 2 * C));
    f->x.strides[0] = 2 * C, f->x.strides[1] = 2;
    tensor(&f->y, CLQ_F32, R, C, mk_f32(f, R * C));
    clq_qparams_init(&f->qp);
    f->qp.qtype = CLQ_U8;
    f->qp.scale = mk_value(f, 0.05f);
    f->qp.zero_point = mk_i32(f, 121);
}
static clq_status run_error_q(fx *f) {
    clq_error_options o;
    clq_error_options_init(&o);
    o.granularity = CLQ_PER_AXIS;
    o.axis = 1;
    clq_error_stats s[C];
    return clq_quantization_error(f->ctx, &f->x, &f->qp, &o, s, C);
}
static clq_status run_error_t(fx *f) {
    clq_error_stats s;
    return clq_tensor_error(f->ctx, &f->x, &f->y, NULL, &s, 1);
}

/* Creation itself (weights quantized, packed, bias and static qparams copied) under the
 * faults; after a success the new layer must run. */
static void setup_linear_create(fx *f) {
    tensor(&f->bw, CLQ_F32, N, K, mk_f32(f, N * K));
    tensor(&f->x, CLQ_F32, M, K, mk_f32(f, M * K));
    tensor(&f->c, CLQ_F32, M, N, mk_out(f, M * N * 4));
    clq_qparams_init(&f->aqp);
    f->aqp.qtype = CLQ_U8;
    f->aqp.scale = mk_value(f, 0.05f);
    f->aqp.zero_point = mk_i32(f, 121);
    f->rs = mk_f32(f, N); /* the bias */
}
#define g_layer_not_written ((clq_linear *)(void *)g_not_written_obj)
static clq_status run_linear_create(fx *f) {
    clq_linear_options o;
    clq_linear_options_init(&o);
    o.scheme = CLQ_LINEAR_S4_GROUP;
    o.act_qparams = &f->aqp;
    o.bias = f->rs;
    f->layer = g_layer_not_written;
    return clq_linear_create(f->ctx, &f->bw, &o, &f->layer);
}
static clq_status post_linear_create(fx *f) { return run_linear(f); }

static void setup_buffer(fx *f) { (void)f; }
static clq_status run_buffer(fx *f) {
    f->made = (clq_buffer *)&g_not_written;
    return clq_buffer_create(f->ctx, 1000, &f->made);
}
static clq_status post_buffer(fx *f) { /* the new buffer must work */
    unsigned char v[1000], back[1000];
    for (int i = 0; i < 1000; i++) v[i] = (unsigned char)(i * 7);
    clq_status st = clq_buffer_write(f->made, 0, sizeof v, v);
    if (st == CLQ_SUCCESS) st = clq_buffer_read(f->made, 0, sizeof back, back);
    if (st == CLQ_SUCCESS && memcmp(v, back, sizeof v)) st = CLQ_ERROR_INTERNAL;
    return st;
}

static clq_status make_context(fx *f, clq_context **out) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = f->backend;
    o.cache_dir = f->cache_dir;
    o.cpu_threads = 2;
    o.flags = CLQ_CONTEXT_IGNORE_ENV | CLQ_CONTEXT_NO_FALLBACK;
    return clq_context_create(&o, out);
}
static void setup_context(fx *f) { (void)f; }
static clq_status run_context(fx *f) {
    f->made_ctx = (clq_context *)&g_not_written;
    return make_context(f, &f->made_ctx);
}
static clq_status post_context(fx *f) { /* the new context must work: a quantize on it */
    clq_context *cx = f->made_ctx;
    float xs[R * C];
    for (int i = 0; i < R * C; i++) xs[i] = frand();
    float s = 0.05f;
    int32_t z = 7;
    clq_buffer *xb = NULL, *yb = NULL, *sb = NULL, *zb = NULL;
    clq_status st = clq_buffer_create(cx, sizeof xs, &xb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(cx, R * C, &yb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(cx, 4, &sb);
    if (st == CLQ_SUCCESS) st = clq_buffer_create(cx, 4, &zb);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(xb, 0, sizeof xs, xs);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(sb, 0, 4, &s);
    if (st == CLQ_SUCCESS) st = clq_buffer_write(zb, 0, 4, &z);
    clq_tensor x, y;
    clq_qparams qp;
    tensor(&x, CLQ_F32, R, C, xb);
    tensor(&y, CLQ_S8, R, C, yb);
    clq_qparams_init(&qp);
    qp.scale = sb;
    qp.zero_point = zb;
    if (st == CLQ_SUCCESS) st = clq_quantize(cx, &x, &qp, &y);
    signed char q[R * C];
    if (st == CLQ_SUCCESS) st = clq_buffer_read(yb, 0, sizeof q, q);
    for (int i = 0; st == CLQ_SUCCESS && i < R * C; i++) {
        float v = rintf(xs[i] / s) + 7.0f;
        int want = v < -128 ? -128 : v > 127 ? 127 : (int)v;
        if (q[i] != want) st = CLQ_ERROR_INTERNAL;
    }
    clq_buffer_destroy(xb);
    clq_buffer_destroy(yb);
    clq_buffer_destroy(sb);
    clq_buffer_destroy(zb);
    return st;
}

typedef struct opdef {
    const char *name;
    void (*setup)(fx *f);
    clq_status (*run)(fx *f);  /* armed */
    clq_status (*post)(fx *f); /* unarmed, after a successful run: uses what it made */
    int makes;                 /* 1: *out of a pack / buffer / context */
} opdef;

static const opdef OPS[] = {
    {"quantize", setup_quantize, run_quantize, NULL, 0},
    {"dequantize", setup_dequantize, run_dequantize, NULL, 0},
    {"minmax", setup_minmax, run_minmax, NULL, 0},
    {"qparams_from_minmax", setup_qparams, run_qparams, NULL, 0},
    {"quantize_dynamic", setup_dynamic, run_dynamic, NULL, 0},
    {"quantize_rowsums", setup_rowsums, run_rowsums, NULL, 0},
    {"quantize_dynamic_rowsums", setup_dynamic_rowsums, run_dynamic_rowsums, NULL, 0},
    {"weights_pack", setup_pack, run_pack, post_pack, 1},
    {"gemm_s32", setup_gemm_s32, run_gemm, NULL, 0},
    {"gemm_f32", setup_gemm_f32, run_gemm, NULL, 0},
    {"gemm_s8", setup_gemm_s8, run_gemm, NULL, 0},
    {"gemm_u8_fixed", setup_gemm_u8_fixed, run_gemm, NULL, 0},
    {"linear_forward", setup_linear, run_linear, NULL, 0},
    {"linear_create", setup_linear_create, run_linear_create, post_linear_create, 1},
    {"calibrator_observe", setup_calib, run_calib_observe, run_calib_qparams, 0},
    {"calibrator_qparams", setup_calib, run_calib_qparams, NULL, 0},
    {"quantization_error", setup_error, run_error_q, NULL, 0},
    {"tensor_error", setup_error, run_error_t, NULL, 0},
    {"buffer_create", setup_buffer, run_buffer, post_buffer, 1},
    {"context_create", setup_context, run_context, post_context, 1},
};

/* ---- the walk ------------------------------------------------------------------- */

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void copy_dir(const char *from, const char *to) {
    mkdir(to, 0700);
    DIR *d = opendir(from);
    if (!d) return;
    struct dirent *e;
    char a[1024], b[1024];
    static char data[1 << 20];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(a, sizeof a, "%s/%s", from, e->d_name);
        snprintf(b, sizeof b, "%s/%s", to, e->d_name);
        int in = open(a, O_RDONLY), out = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ssize_t n;
        while (in >= 0 && out >= 0 && (n = read(in, data, sizeof data)) > 0)
            if (write(out, data, (size_t)n) != n) break;
        if (in >= 0) close(in);
        if (out >= 0) close(out);
    }
    closedir(d);
}

/* Output bytes of a healthy run (all buffers, in order). */
typedef struct snapshot {
    size_t n;
    unsigned char bytes[MAXBUF * 4096];
} snapshot;

static void destroy_fx(fx *f) {
    for (int i = 0; i < f->nb; i++) clq_buffer_destroy(f->b[i]);
    if (f->w && f->w != &g_not_written) clq_weights_destroy(f->w);
    if (f->layer != g_layer_not_written) clq_linear_destroy(f->layer);
    clq_calibrator_destroy(f->cal);
    if (f->made && f->made != (clq_buffer *)&g_not_written) clq_buffer_destroy(f->made);
    if (f->made_ctx && f->made_ctx != (clq_context *)&g_not_written) clq_context_destroy(f->made_ctx);
    clq_context_destroy(f->ctx);
    memset(f, 0, sizeof *f);
}

/* A fresh context, then the op's arguments (never armed). */
static int setup_fx(fx *f, const opdef *op, clq_backend backend, const char *cache_dir) {
    memset(f, 0, sizeof *f);
    f->backend = backend;
    f->cache_dir = cache_dir;
    g_rng = 12345;
    clq_status st = make_context(f, &f->ctx);
    if (st != CLQ_SUCCESS) return 0;
    op->setup(f);
    return 1;
}

static void snap(fx *f, snapshot *s) {
    s->n = 0;
    for (int i = 0; i < f->nb; i++) {
        clq_status st = clq_buffer_read(f->b[i], 0, f->size[i], s->bytes + s->n);
        cr_assert(st == CLQ_SUCCESS, "reading buffer %d back: %s", i, clq_context_error_message(f->ctx));
        s->n += f->size[i];
    }
}

/* Every output byte is a sentinel again, for the second run. */
static void reset_outputs(fx *f) {
    for (int i = 0; i < f->nb; i++)
        if (f->out[i]) clq_buffer_write(f->b[i], 0, f->size[i], f->init[i]);
}

static const char *where_diff(fx *f, const snapshot *a, const snapshot *b, char *msg, size_t size) {
    size_t off = 0;
    for (int i = 0; i < f->nb; i++) {
        for (size_t j = 0; j < f->size[i]; j++)
            if (a->bytes[off + j] != b->bytes[off + j]) {
                snprintf(msg, size, "%s buffer %d byte %zu: 0x%02x, expected 0x%02x",
                         f->out[i] ? "output" : "input", i, j, b->bytes[off + j], a->bytes[off + j]);
                return msg;
            }
        off += f->size[i];
    }
    return NULL;
}

static int status_ok(clq_status st, const opdef *op) {
    return st == CLQ_ERROR_OUT_OF_MEMORY || st == CLQ_ERROR_OPENCL || st == CLQ_ERROR_BUILD_FAILED ||
           (st == CLQ_ERROR_NO_DEVICE && op->run == run_context);
}

static int out_written(const fx *f, const opdef *op) {
    if (op->run == run_pack) return f->w != &g_not_written;
    if (op->run == run_linear_create) return f->layer != g_layer_not_written;
    if (op->run == run_buffer) return f->made != (clq_buffer *)&g_not_written;
    if (op->run == run_context) return f->made_ctx != (clq_context *)&g_not_written;
    return 0;
}
static void forget_out(fx *f, const opdef *op) { /* *out was not written: nothing to destroy */
    if (op->run == run_pack && f->w == &g_not_written) f->w = NULL;
    if (op->run == run_linear_create && f->layer == g_layer_not_written) f->layer = NULL;
    if (op->run == run_buffer && f->made == (clq_buffer *)&g_not_written) f->made = NULL;
    if (op->run == run_context && f->made_ctx == (clq_context *)&g_not_written) f->made_ctx = NULL;
}

static clq_status run_and_post(fx *f, const opdef *op) {
    clq_status st = op->run(f);
    if (st == CLQ_SUCCESS && op->post) st = op->post(f);
    return st;
}

static int g_healthy_calls[FI_KINDS];

/* One armed run (kind, n) on a fresh fixture; returns 0 once n is past the op's calls. */
static int one(const opdef *op, clq_backend backend, const char *cache, const char *cname,
               fi_kind kind, long n, const snapshot *golden, const snapshot *start) {
    fx F, *f = &F;
    long live0 = fi_live_allocs();
    cr_assert(setup_fx(f, op, backend, cache), "setup: no context");
    fi_arm(kind, n);
    clq_status st = op->run(f);
    long calls = fi_disarm();
    int fired = fi_fired();
    char what[160];
    snprintf(what, sizeof what, "%s [%s, %s cache] %s call #%ld (%s)", op->name,
             backend == CLQ_BACKEND_CPU ? "cpu" : "opencl", cname, fi_kind_name(kind), n,
             fired ? fi_fired_call() : "not reached");
    snapshot *s = malloc(sizeof *s);
    char msg[256];
    if (!fired) {
        if (st != CLQ_SUCCESS)
            problem("%s: failed without an injected failure: %s: %s", what, clq_status_string(st),
                    clq_context_error_message(f->ctx));
        g_healthy_calls[kind] = (int)calls;
    } else if (st == CLQ_SUCCESS) {
        /* recovered: the result must be right */
        if (op->post && (st = op->post(f)) != CLQ_SUCCESS)
            problem("%s: succeeded, then using what it made failed: %s: %s", what,
                    clq_status_string(st), clq_context_error_message(f->ctx));
        snap(f, s);
        if (where_diff(f, golden, s, msg, sizeof msg)) problem("%s: succeeded with a wrong result: %s", what, msg);
    } else {
        if (!status_ok(st, op))
            problem("%s: returned %s (%s)", what, clq_status_string(st), clq_context_error_message(f->ctx));
        else if (op->run != run_context && !clq_context_error_message(f->ctx)[0])
            problem("%s: returned %s without a message", what, clq_status_string(st));
        if (out_written(f, op)) problem("%s: returned %s but wrote *out", what, clq_status_string(st));
        forget_out(f, op);
        snap(f, s);
        if (where_diff(f, start, s, msg, sizeof msg))
            problem("%s: returned %s (%s) but changed %s", what, clq_status_string(st),
                    clq_context_error_message(f->ctx), msg);
        /* the next call, unarmed, on the same context */
        reset_outputs(f);
        st = run_and_post(f, op);
        if (st != CLQ_SUCCESS) {
            problem("%s: the next call, unarmed, failed: %s: %s", what, clq_status_string(st),
                    clq_context_error_message(f->ctx));
            forget_out(f, op);
        } else {
            snap(f, s);
            if (where_diff(f, golden, s, msg, sizeof msg))
                problem("%s: the next call, unarmed, gave a wrong result: %s", what, msg);
        }
    }
    free(s);
    destroy_fx(f);
    long live = fi_live_allocs();
    if (live != live0)
        problem("%s: %ld allocation%s not freed after everything was destroyed", what,
                live - live0, live - live0 == 1 ? "" : "s");
    return fired;
}

static int opencl_present(void) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_OPENCL;
    o.cache_dir = "off";
    o.flags = CLQ_CONTEXT_IGNORE_ENV;
    clq_context *ctx = NULL;
    if (clq_context_create(&o, &ctx) != CLQ_SUCCESS) return 0;
    clq_context_destroy(ctx);
    return 1;
}

static void walk(const char *opname, clq_backend backend) {
    const opdef *op = NULL;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].name, opname)) op = &OPS[i];
    cr_assert(op, "no op %s", opname);
    if (backend == CLQ_BACKEND_OPENCL && !opencl_present()) {
        const char *req = getenv("CLQ_TEST_REQUIRE_OPENCL");
        if (req && *req == '1') cr_assert_fail("no OpenCL device (CLQ_TEST_REQUIRE_OPENCL=1)");
        cr_skip_test("no OpenCL device");
    }
    const char *tmp = getenv("CLQ_FAULTS_DIR");
    char base[512];
    if (tmp && *tmp) mkdir(tmp, 0700);
    snprintf(base, sizeof base, "%s/faults-%s-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", opname,
             backend == CLQ_BACKEND_CPU ? "cpu" : "opencl");
    cr_assert(mkdtemp(base), "mkdtemp(%s): %s", base, strerror(errno));

    /* the healthy run: the expected bytes, and (OpenCL) the warm cache */
    char golden_dir[600], dir[700];
    snprintf(golden_dir, sizeof golden_dir, "%s/warm", base);
    fx F, *f = &F;
    snapshot *golden = malloc(sizeof *golden), *start = malloc(sizeof *start);
    cr_assert(setup_fx(f, op, backend, golden_dir), "no context");
    snap(f, start);
    clq_status st = run_and_post(f, op);
    cr_assert(st == CLQ_SUCCESS, "%s: the healthy run failed: %s: %s", opname,
              clq_status_string(st), clq_context_error_message(f->ctx));
    snap(f, golden);
    destroy_fx(f);

    int caches = backend == CLQ_BACKEND_OPENCL ? 2 : 1;
    int runs = 0;
    for (int warm = 0; warm < caches; warm++)
        for (int kind = 0; kind < FI_KINDS; kind++) {
            long n = 1;
            for (;; n++, runs++) {
                snprintf(dir, sizeof dir, "%s/%s-%d-%ld", base, warm ? "warm" : "cold", kind, n);
                if (warm) copy_dir(golden_dir, dir);
                int fired = one(op, backend, dir, warm ? "warm" : "cold", (fi_kind)kind, n, golden, start);
                rm_tree(dir);
                if (!fired) break;
                if (n == MAXN) {
                    problem("%s: still failing at %s call %d", opname, fi_kind_name(kind), MAXN);
                    break;
                }
            }
            cr_log_info("%s [%s, %s cache]: %s: %ld call%s", opname,
                        backend == CLQ_BACKEND_CPU ? "cpu" : "opencl", warm ? "warm" : "cold",
                        fi_kind_name((fi_kind)kind), n - 1, n == 2 ? "" : "s");
        }
    free(golden);
    free(start);
    rm_tree(base);
    if (g_nproblems)
        cr_assert_fail("%d problem%s under injected failures (%d runs):\n%s", g_nproblems,
                       g_nproblems == 1 ? "" : "s", runs, g_problems);
}

#define FAULT_TEST(op)                                                                  \
    Test(faults, op##_cpu, .timeout = 300) { walk(#op, CLQ_BACKEND_CPU); }               \
    Test(faults, op##_opencl, .timeout = 300) { walk(#op, CLQ_BACKEND_OPENCL); }

FAULT_TEST(quantize)
FAULT_TEST(dequantize)
FAULT_TEST(minmax)
FAULT_TEST(qparams_from_minmax)
FAULT_TEST(quantize_dynamic)
FAULT_TEST(quantize_rowsums)
FAULT_TEST(quantize_dynamic_rowsums)
FAULT_TEST(weights_pack)
FAULT_TEST(gemm_s32)
FAULT_TEST(gemm_f32)
FAULT_TEST(gemm_s8)
FAULT_TEST(gemm_u8_fixed)
FAULT_TEST(linear_forward)
/* Creation on the CPU path only: on OpenCL its walk takes some 45 s (each failure point
 * on a fresh context, five programs built cold), and its OpenCL resources are those of
 * quantize_dynamic and weights_pack, walked above. */
Test(faults, linear_create_cpu, .timeout = 300) { walk("linear_create", CLQ_BACKEND_CPU); }
/* The calibrator on the CPU path: its OpenCL resources are those of minmax, walked above,
 * and the histogram's, built alike. */
Test(faults, calibrator_observe_cpu, .timeout = 300) { walk("calibrator_observe", CLQ_BACKEND_CPU); }
Test(faults, calibrator_qparams_cpu, .timeout = 300) { walk("calibrator_qparams", CLQ_BACKEND_CPU); }
Test(faults, error_metrics_cpu, .timeout = 300) {
    walk("quantization_error", CLQ_BACKEND_CPU);
    walk("tensor_error", CLQ_BACKEND_CPU);
}
FAULT_TEST(buffer_create)
FAULT_TEST(context_create)
