/* bench_gemm_peer.c: the GEMMs clq_gemm is measured against in the same run:
 * CLBlast SGEMM on the context's own OpenCL queue, oneDNN's u8s8s32 matmul and
 * OpenBLAS SGEMM on the CPU. Each is optional (CLQ_HAVE_*), timed by wall clock. */
#include "bench.h"

#include <clquant/clquant_cl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CLQ_HAVE_CLBLAST
#include <clblast_c.h>
#endif
#ifdef CLQ_HAVE_DNNL
#include <dnnl.h>
#endif
#ifdef CLQ_HAVE_OPENBLAS
#include <cblas.h>
#endif

struct bench_gemm_peer {
    bench_gemm_peer_kind kind;
    size_t m, n, k;
    char desc[400];
    /* SGEMMs: C = (A - za) (B - zb)^T in f32 */
    float *fa, *fb, *fc;
#ifdef CLQ_HAVE_CLBLAST
    cl_command_queue queue;
    cl_mem ma, mb, mc;
#endif
#ifdef CLQ_HAVE_DNNL
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_t prim;
    dnnl_memory_t src, wei, dst;
    int32_t *c32;
#endif
};

static const char *const peer_names[] = {"CLBlast SGEMM", "oneDNN u8s8s32 matmul", "OpenBLAS SGEMM"};

const char *bench_gemm_peer_name(bench_gemm_peer_kind kind) { return peer_names[kind]; }

int bench_gemm_peer_built(bench_gemm_peer_kind kind) {
    switch (kind) {
#ifdef CLQ_HAVE_CLBLAST
    case GEMM_PEER_CLBLAST: return 1;
#endif
#ifdef CLQ_HAVE_DNNL
    case GEMM_PEER_ONEDNN: return 1;
#endif
#ifdef CLQ_HAVE_OPENBLAS
    case GEMM_PEER_OPENBLAS: return 1;
#endif
    default: return 0;
    }
}

/* f32 copies of the zero-point-corrected operands: integers, so both SGEMMs
 * multiply the very values the int8 GEMM does. */
static void make_float_operands(bench_gemm_peer *p, const bench_gemm_shape *s) {
    p->fa = malloc(s->m * s->k * sizeof *p->fa);
    p->fb = malloc(s->n * s->k * sizeof *p->fb);
    p->fc = malloc(s->m * s->n * sizeof *p->fc + 1);
    if (!p->fa || !p->fb || !p->fc) bench_die("out of host memory for the SGEMM peer's operands");
    for (size_t i = 0; i < s->m * s->k; i++) p->fa[i] = (float)((int32_t)s->a[i] - s->za);
    for (size_t i = 0; i < s->n * s->k; i++) p->fb[i] = (float)((int32_t)s->b[i] - s->zb);
}

/* Exact C[m][n] of the operands the peers see, for their one-off check. */
static int64_t ref_entry(const bench_gemm_shape *s, size_t m, size_t n) {
    int64_t acc = 0;
    for (size_t k = 0; k < s->k; k++)
        acc += (int64_t)((int32_t)s->a[m * s->k + k] - s->za) * ((int32_t)s->b[n * s->k + k] - s->zb);
    return acc;
}

static void peer_run(bench_gemm_peer *p, int read_back);

/* One call (program builds, first touch), then a few entries compared with the
 * exact result (f32 to a relative 1e-5: the sums exceed 2^24). A mismatch is
 * noted in the description, not fatal: oneDNN's u8s8 kernels for CPUs without
 * VNNI saturate to 16 bits, and its speed there is still worth a line. */
static void check_peer(bench_gemm_peer *p, const bench_gemm_shape *s) {
    peer_run(p, 1);
    size_t pts[4][2] = {{0, 0}, {s->m - 1, s->n - 1}, {s->m / 2, s->n / 3}, {s->m - 1, 0}};
    for (int i = 0; i < 4; i++) {
        size_t m = pts[i][0], n = pts[i][1];
        double want = (double)ref_entry(s, m, n), got;
#ifdef CLQ_HAVE_DNNL
        if (p->kind == GEMM_PEER_ONEDNN) got = p->c32[m * s->n + n];
        else
#endif
            got = p->fc[m * s->n + n];
        double tol = p->kind == GEMM_PEER_ONEDNN ? 0.0 : 1e-5 * (want < 0 ? -want : want) + 1.0;
        if (got - want > tol || want - got > tol) {
            size_t len = strlen(p->desc);
            snprintf(p->desc + len, sizeof p->desc - len, "; INEXACT: C[%zu][%zu] = %.0f, exact %.0f", m,
                     n, got, want);
            return;
        }
    }
}

#ifdef CLQ_HAVE_CLBLAST
static void cl_fail(const char *what, int err) {
    bench_die("%s failed for the CLBlast peer: error %d", what, err);
}

static cl_mem cl_upload(cl_context clctx, const float *host, size_t count) {
    cl_int err;
    cl_mem m = clCreateBuffer(clctx, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              count * sizeof(float), (void *)host, &err);
    if (err != CL_SUCCESS) cl_fail("clCreateBuffer", err);
    return m;
}

static void clblast_create(bench_gemm_peer *p, clq_context *ctx) {
    cl_context clctx;
    cl_device_id dev;
    char name[128] = "?";
    bench_check(ctx, clq_context_get_cl(ctx, &clctx, &p->queue, &dev), "clq_context_get_cl");
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    p->ma = cl_upload(clctx, p->fa, p->m * p->k);
    p->mb = cl_upload(clctx, p->fb, p->n * p->k);
    p->mc = cl_upload(clctx, NULL, p->m * p->n);
    snprintf(p->desc, sizeof p->desc,
             "CLBlast SGEMM (row-major, B transposed) on the clquant context's cl_command_queue "
             "(device %s), wall time around the call + clFinish", name);
}

static void clblast_once(bench_gemm_peer *p, int read_back) {
    CLBlastStatusCode st = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                        p->m, p->n, p->k, 1.0f, p->ma, 0, p->k, p->mb, 0, p->k, 0.0f,
                                        p->mc, 0, p->n, &p->queue, NULL);
    if (st != CLBlastSuccess) cl_fail("CLBlastSgemm", st);
    cl_int err = clFinish(p->queue);
    if (err != CL_SUCCESS) cl_fail("clFinish", err);
    if (read_back) {
        err = clEnqueueReadBuffer(p->queue, p->mc, CL_TRUE, 0, p->m * p->n * sizeof(float), p->fc, 0,
                                  NULL, NULL);
        if (err != CL_SUCCESS) cl_fail("clEnqueueReadBuffer", err);
    }
}
#endif

#ifdef CLQ_HAVE_DNNL
static void dnnl_ok(dnnl_status_t st, const char *what) {
    if (st != dnnl_success) bench_die("%s failed for the oneDNN peer: dnnl status %d", what, (int)st);
}

static const char *isa_text(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

/* src u8 [M, K] with zero point za, weights s8 [K, N] read from B's [N, K] rows
 * (strides {1, K}) and reordered once into the layout the primitive asks for
 * (outside the timing, as clq's packing is), dst s32 [M, N]. oneDNN 2.x takes a
 * weights zero point per tensor only (a per-channel mask is refused). */
static void onednn_create(bench_gemm_peer *p, const bench_gemm_shape *s) {
    dnnl_memory_desc_t src_md, wei_md, wei_user_md, dst_md;
    dnnl_dims_t sd = {(dnnl_dim_t)s->m, (dnnl_dim_t)s->k}, wd = {(dnnl_dim_t)s->k, (dnnl_dim_t)s->n},
                dd = {(dnnl_dim_t)s->m, (dnnl_dim_t)s->n}, wstr = {1, (dnnl_dim_t)s->k};
    dnnl_ok(dnnl_engine_create(&p->engine, dnnl_cpu, 0), "dnnl_engine_create");
    dnnl_ok(dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags), "dnnl_stream_create");
    dnnl_ok(dnnl_memory_desc_init_by_tag(&src_md, 2, sd, dnnl_u8, dnnl_ab), "src md");
    dnnl_ok(dnnl_memory_desc_init_by_tag(&wei_md, 2, wd, dnnl_s8, dnnl_format_tag_any), "weights md");
    dnnl_ok(dnnl_memory_desc_init_by_strides(&wei_user_md, 2, wd, dnnl_s8, wstr), "user weights md");
    dnnl_ok(dnnl_memory_desc_init_by_tag(&dst_md, 2, dd, dnnl_s32, dnnl_ab), "dst md");

    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t pd, rpd;
    int32_t za = s->za, zb = s->zb;
    dnnl_ok(dnnl_matmul_desc_init(&md, &src_md, &wei_md, NULL, &dst_md), "dnnl_matmul_desc_init");
    dnnl_ok(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create");
    dnnl_ok(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &za), "src zero point");
    dnnl_ok(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_WEIGHTS, 1, 0, &zb), "weights zero point");
    dnnl_ok(dnnl_primitive_desc_create(&pd, &md, attr, p->engine, NULL), "matmul primitive desc");
    dnnl_primitive_attr_destroy(attr);
    const char *impl = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *wei_pd_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);

    dnnl_ok(dnnl_memory_create(&p->src, &src_md, p->engine, (void *)s->a), "src memory");
    dnnl_ok(dnnl_memory_create(&p->wei, wei_pd_md, p->engine, DNNL_MEMORY_ALLOCATE), "weights memory");
    p->c32 = malloc(s->m * s->n * sizeof *p->c32 + 1);
    if (!p->c32) bench_die("out of host memory for the oneDNN peer's output");
    dnnl_ok(dnnl_memory_create(&p->dst, &dst_md, p->engine, p->c32), "dst memory");

    dnnl_memory_t wuser;
    dnnl_primitive_t reorder;
    dnnl_ok(dnnl_memory_create(&wuser, &wei_user_md, p->engine, (void *)s->b), "user weights memory");
    dnnl_ok(dnnl_reorder_primitive_desc_create(&rpd, &wei_user_md, p->engine, wei_pd_md, p->engine, NULL),
            "weights reorder desc");
    dnnl_ok(dnnl_primitive_create(&reorder, rpd), "weights reorder");
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, wuser}, {DNNL_ARG_TO, p->wei}};
    dnnl_ok(dnnl_primitive_execute(reorder, p->stream, 2, rargs), "weights reorder execute");
    dnnl_ok(dnnl_stream_wait(p->stream), "dnnl_stream_wait");
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(wuser);

    dnnl_ok(dnnl_primitive_create(&p->prim, pd), "matmul primitive");
    const dnnl_version_t *v = dnnl_version();
    snprintf(p->desc, sizeof p->desc,
             "oneDNN %d.%d.%d matmul u8 x s8 -> s32 (%s, ISA %s), src zero point %d, weights zero "
             "point %d per tensor (oneDNN %d.x refuses a per-channel one), weights reordered once "
             "outside the timing", v->major, v->minor, v->patch, impl,
             isa_text(dnnl_get_effective_cpu_isa()), (int)s->za, (int)s->zb, v->major);
    dnnl_primitive_desc_destroy(pd);
}

static void onednn_once(bench_gemm_peer *p) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, p->src}, {DNNL_ARG_WEIGHTS, p->wei}, {DNNL_ARG_DST, p->dst}};
    dnnl_ok(dnnl_primitive_execute(p->prim, p->stream, 3, args), "matmul execute");
    dnnl_ok(dnnl_stream_wait(p->stream), "dnnl_stream_wait");
}
#endif

#ifdef CLQ_HAVE_OPENBLAS
static void openblas_create(bench_gemm_peer *p) {
    const char *env = getenv("OPENBLAS_CORETYPE");
    snprintf(p->desc, sizeof p->desc,
             "OpenBLAS SGEMM (row-major, B transposed), %s, core %s (OPENBLAS_CORETYPE=%s), %d threads",
             openblas_get_config(), openblas_get_corename(), env ? env : "unset",
             openblas_get_num_threads());
}
#endif

bench_gemm_peer *bench_gemm_peer_create(bench_gemm_peer_kind kind, clq_context *ctx,
                                        const bench_gemm_shape *s) {
    if (!bench_gemm_peer_built(kind) || s->m == 0 || s->n == 0 || s->k == 0) return NULL;
    bench_gemm_peer *p = calloc(1, sizeof *p);
    if (!p) bench_die("out of host memory for a GEMM peer");
    p->kind = kind;
    p->m = s->m;
    p->n = s->n;
    p->k = s->k;
    if (kind != GEMM_PEER_ONEDNN) make_float_operands(p, s);
    switch (kind) {
#ifdef CLQ_HAVE_CLBLAST
    case GEMM_PEER_CLBLAST:
        clblast_create(p, ctx);
        break;
#endif
#ifdef CLQ_HAVE_DNNL
    case GEMM_PEER_ONEDNN: onednn_create(p, s); break;
#endif
#ifdef CLQ_HAVE_OPENBLAS
    case GEMM_PEER_OPENBLAS: openblas_create(p); break;
#endif
    default: break;
    }
    (void)ctx;
    check_peer(p, s);
    return p;
}

const char *bench_gemm_peer_describe(const bench_gemm_peer *p) { return p->desc; }

static void peer_run(bench_gemm_peer *p, int read_back) {
    switch (p->kind) {
#ifdef CLQ_HAVE_CLBLAST
    case GEMM_PEER_CLBLAST: clblast_once(p, read_back); break;
#endif
#ifdef CLQ_HAVE_DNNL
    case GEMM_PEER_ONEDNN: onednn_once(p); break;
#endif
#ifdef CLQ_HAVE_OPENBLAS
    case GEMM_PEER_OPENBLAS:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->m, (int)p->n, (int)p->k, 1.0f,
                    p->fa, (int)p->k, p->fb, (int)p->k, 0.0f, p->fc, (int)p->n);
        break;
#endif
    default: break;
    }
    (void)read_back;
}

double bench_gemm_peer_once(bench_gemm_peer *p) {
    double t0 = bench_now();
    peer_run(p, 0);
    return bench_now() - t0;
}

void bench_gemm_peer_destroy(bench_gemm_peer *p) {
    if (!p) return;
#ifdef CLQ_HAVE_CLBLAST
    if (p->ma) clReleaseMemObject(p->ma);
    if (p->mb) clReleaseMemObject(p->mb);
    if (p->mc) clReleaseMemObject(p->mc);
#endif
#ifdef CLQ_HAVE_DNNL
    if (p->prim) dnnl_primitive_destroy(p->prim);
    if (p->src) dnnl_memory_destroy(p->src);
    if (p->wei) dnnl_memory_destroy(p->wei);
    if (p->dst) dnnl_memory_destroy(p->dst);
    if (p->stream) dnnl_stream_destroy(p->stream);
    if (p->engine) dnnl_engine_destroy(p->engine);
    free(p->c32);
#endif
    free(p->fa);
    free(p->fb);
    free(p->fc);
    free(p);
}
