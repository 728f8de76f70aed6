/* cl_gemm.c: enqueues the gemm program (kernels/gemm.cl and its parts): weight
 * packing (panels of CLQ_GEMM_NR columns, column sums on the device), row sums of A,
 * the GEMM with its output stage, and the dot-product variant's self-test, run once
 * per context before its first use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"

/* What the OpenCL path records of packed weights (w->impl): kernels/gemm.cl's panels. */
typedef struct cl_wpack {
    size_t nr;     /* columns per panel */
    size_t kp;     /* K rounded up to 4 (8-bit) or 8 (4-bit: two nibbles a byte) */
    size_t panels;
    int bits4;     /* 4-bit panels */
    clq_buffer *gp; /* per panel and group: NR zb', NR cs', NR sb (kernels/gemm.cl) */
} cl_wpack;

static cl_mem mem_of(const clq_buffer *b) { return (cl_mem)b->handle; }

/* The kernels' groups along K: grp values each, ng of them (one group of kp when the
 * weights are not grouped, so that it covers the padded panels). */
static void k_groups(const clq_wformat *fmt, size_t kp, cl_ulong *grp, cl_ulong *ng) {
    int grouped = fmt->gran == CLQ_PER_BLOCK;
    *grp = grouped ? fmt->group : kp;
    *ng = grouped ? fmt->ngroups : 1;
}

/* Every GEMM kernel runs with a fixed work-group size (CLQ_LAUNCH's local): POCL
 * compiles a kernel once per work-group size, and the sizes it picks itself
 * follow the global size. */
void clq__cl_gemm_unpack(clq_packed_weights *w) {
    cl_wpack *rec = w->impl;
    if (rec) clq_buffer_destroy(rec->gp);
    free(w->impl);
    w->impl = NULL;
}

clq_status clq__cl_gemm_pack(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w) {
    clq_cl_impl *impl = clq_cl(ctx);
    int b4 = clq__dtype_bits(op->fmt.btype) == 4;
    size_t nr = impl->tuning.gemm_nr, step = b4 ? 8 : 4;
    size_t kp = (op->k + step - 1) / step * step, panels = clq__cl_div_up(op->n, nr);
    cl_wpack *rec = malloc(sizeof *rec);
    if (!rec) return clq__error(ctx, CLQ_ERROR_OUT_OF_MEMORY, "opencl: out of host memory packing");
    *rec = (cl_wpack){nr, kp, panels, b4, NULL};
    w->impl = rec;
    cl_ulong grp, ng;
    k_groups(&op->fmt, kp, &grp, &ng);
    clq_status st = clq_buffer_create(ctx, panels * nr * (b4 ? kp / 2 : kp), &w->data);
    size_t gps = panels * ng > 0 ? panels * ng : 1;
    if (st == CLQ_SUCCESS) st = clq_buffer_create(ctx, gps * 3 * nr * 4, &rec->gp);
    w->impl_bytes = sizeof *rec + (rec->gp ? clq_buffer_size(rec->gp) : 0);
    if (st != CLQ_SUCCESS || op->n == 0) return st;
    clq_dtype bt = op->fmt.btype;
    clq_kargs_gemm_pack a = {.b = mem_of(w->colsum), .boff = 0, .n = op->n, .k = op->k,
                             .bits4 = b4, .bx = bt == CLQ_U8 ? 0x80 : bt == CLQ_U4 ? 0x08 : 0,
                             .packed = mem_of(w->data), .kp = kp, .grp = grp, .ng = ng,
                             .colsum = mem_of(w->colsum), .zb = mem_of(w->zb),
                             .zb_pc = w->zb_per_channel, .sb = mem_of(w->sb ? w->sb : w->zb),
                             .sb_pc = w->sb_per_channel, .has_sb = w->sb != NULL,
                             .gp = mem_of(rec->gp)};
    if (a.grp == 0) a.grp = 1; /* K = 0: no quad, no division */
    if (op->b.buf && op->k) st = clq__cl_span(ctx, op->b, 1, "gemm pack b", &a.b, &a.boff);
    if (st != CLQ_SUCCESS) return st;
    size_t g[1] = {panels * nr}, l[1] = {nr};
    return CLQ_LAUNCH(ctx, CLQ_PASS_RUN, CLQ_KERNEL_gemm_pack, gemm_pack, &a, 1, g, l);
}

clq_status clq__cl_rowsums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass) {
    if (op->rows == 0) return CLQ_SUCCESS;
    clq_kargs_gemm_rowsums a = {.aoff = 0, .lda = op->lda, .k = op->k,
                                .is_s8 = op->atype == CLQ_S8, .rows = op->rows,
                                .grp = op->group ? op->group : op->k,
                                .ng = op->group ? clq__cl_div_up(op->k, op->group) : 1};
    clq_status st = clq__cl_span(ctx, op->sums, 4, "row sums", &a.sums, &a.soff);
    if (st != CLQ_SUCCESS) return st;
    a.a = a.sums; /* K = 0 reads nothing */
    if (op->k && (st = clq__cl_span(ctx, op->a, 1, "row sums a", &a.a, &a.aoff)) != CLQ_SUCCESS)
        return st;
    if (a.ng == 0) return CLQ_SUCCESS; /* groups of an empty K: no sums */
    size_t g[1] = {op->rows}, l[1] = {1};
    return CLQ_LAUNCH(ctx, pass, CLQ_KERNEL_gemm_rowsums, gemm_rowsums, &a, 1, g, l);
}

/* A span's cl_mem and element offset, or (dummy, 0) with present = 0 when absent:
 * the kernels never read an absent argument, but it must be a valid cl_mem. */
typedef struct opt_arg {
    cl_mem mem;
    cl_ulong off;
    cl_int present;
} opt_arg;

static clq_status opt_span(clq_context *ctx, clq_span s, size_t elem, const char *what,
                           cl_mem dummy, opt_arg *out) {
    out->mem = dummy;
    out->off = 0;
    out->present = s.buf != NULL;
    return s.buf ? clq__cl_span(ctx, s, elem, what, &out->mem, &out->off) : CLQ_SUCCESS;
}

/* The dot-product variant's grid: blocks of bm rows x bn columns, 4 columns and
 * bm / tm rows per work item. */
static void dot_grid(const clq_cl_tuning *t, size_t m, size_t n, size_t g[2], size_t l[2]) {
    l[0] = t->gemm_dot.bn / 4;
    l[1] = t->gemm_dot.bm / t->gemm_dot.tm;
    g[0] = clq__cl_div_up(n, t->gemm_dot.bn) * l[0];
    g[1] = clq__cl_div_up(m, t->gemm_dot.bm) * l[1];
}

void (*clq__cl_dot_test_hook)(cl_int *c, size_t count) = NULL;

/* The self-test's problem: PM x PN x PK, run once with s8 A and once with u8 A (the
 * same bytes) against s8 B, C in int32 with no zero points, so C is the plain sum of
 * products. A's rows are all 0x80, 0x7f, 0xff, 0x00, then mixed bytes; B's columns all
 * -128, all 127, then mixed: the products reach the extremes of s8 x s8 (16384,
 * -16256) and u8 x s8 (-32640, 32385), and a pair of them overflows int16, so a dot
 * that takes a lane as unsigned, pairs the wrong lanes or saturates an intermediate
 * gives another sum. K = 38 spans several local-memory stages of every tuning row and
 * ends in a partial quad; N = 7 ends in a partial group of 4 columns. */
enum { PM = CLQ_CL_DOT_TEST_M, PN = CLQ_CL_DOT_TEST_N, PK = CLQ_CL_DOT_TEST_K, PKP = 40 };

static unsigned char probe_a(int r, int k) {
    static const unsigned char rows[4] = {0x80, 0x7f, 0xff, 0x00};
    return r < 4 ? rows[r] : (unsigned char)(37u * (unsigned)k + 11u * (unsigned)(k % 4) + 5u);
}
static signed char probe_b(int c, int k) {
    if (c < 2) return c == 0 ? -128 : 127;
    unsigned v = 53u * (unsigned)k + 29u * (unsigned)c + 7u * (unsigned)(k % 4);
    return (signed char)(unsigned char)v;
}

void clq__cl_dot_test_problem(unsigned char *a, signed char *b) {
    for (int k = 0; k < PK; k++) {
        for (int r = 0; r < PM; r++) a[r * PK + k] = probe_a(r, k);
        for (int c = 0; c < PN; c++) b[c * PK + k] = probe_b(c, k);
    }
}

/* Once per context, at its first GEMM on the dot-product variant (contexts that never
 * run one pay nothing): runs the variant's kernel on the fixed problem above and
 * compares with the sums computed here. A launch that fails or a wrong sum rejects the
 * variant for the context: the generic kernel runs from then on, the reason is kept in
 * impl->gemm_dot_rejected and counted in the stats, and the call goes on (the context's
 * error message is left as it was). A resource that cannot be had (a buffer, the
 * program's build, the kernel object) is the call's error, and the next GEMM tests
 * again. Runs under the context lock, within the first pass of the GEMM, on buffers
 * of its own. */
static clq_status dot_self_test(clq_context *ctx) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_cl_tuning *t = &impl->tuning;
    size_t nr = t->gemm_nr, panels = clq__cl_div_up(PN, nr);
    unsigned char a[PM * PK], packed[64 * PKP] = {0}; /* gemm_nr <= 64 (cl_tuning.c) */
    signed char b[PN * PK];
    cl_int colsum[PN], zero = 0, want[2 * PM * PN], got[2 * PM * PN];
    clq__cl_dot_test_problem(a, b);
    for (int c = 0; c < PN; c++) {
        colsum[c] = 0;
        for (int k = 0; k < PK; k++) {
            packed[(c / nr) * nr * PKP + (k / 4) * nr * 4 + (c % nr) * 4 + k % 4] =
                (unsigned char)b[c * PK + k];
            colsum[c] += b[c * PK + k];
        }
    }
    for (int u8 = 0; u8 < 2; u8++)
        for (int r = 0; r < PM; r++)
            for (int c = 0; c < PN; c++) {
                cl_int sum = 0;
                for (int k = 0; k < PK; k++)
                    sum += (u8 ? a[r * PK + k] : (signed char)a[r * PK + k]) * b[c * PK + k];
                want[(u8 * PM + r) * PN + c] = sum;
            }
    /* A, packed B, column sums, zb (0, per tensor), C */
    enum { BA, BB, BCS, BZB, BC, NBUF };
    const size_t bytes[NBUF] = {sizeof a, panels * nr * PKP, sizeof colsum, sizeof zero,
                                sizeof got};
    const void *init[NBUF] = {a, packed, colsum, &zero, NULL};
    clq_buffer *buf[NBUF] = {NULL};
    char saved[sizeof ctx->error], why[256] = ""; /* what failed, "" if nothing */
    memcpy(saved, ctx->error, sizeof saved);
    clq_status st = CLQ_SUCCESS;
    for (int i = 0; i < NBUF && st == CLQ_SUCCESS; i++) {
        st = clq_buffer_create(ctx, bytes[i], &buf[i]);
        if (st == CLQ_SUCCESS && init[i]) st = clq_buffer_write(buf[i], 0, bytes[i], init[i]);
    }
    cl_mem cs = st == CLQ_SUCCESS ? mem_of(buf[BCS]) : NULL;
    clq_kargs_gemm args = {
        .A = cs, .lda = PK, .B = cs, .kp = PKP, .m = PM, .n = PN, .k = PK, .grp = PKP, .ng = 1,
        .za = cs,
        .rowsums = cs, .colsum = cs, .zb = cs, .gp = cs, .C = cs, .ldc = PN, .ctype = CLQ_S32,
        .sa = cs, .sb = cs, .bias = cs, .sc = cs, .zc = cs, .mult = cs, .shift = cs};
    size_t g[2], l[2];
    dot_grid(t, PM, PN, g, l);
    if (st == CLQ_SUCCESS) {
        args.A = mem_of(buf[BA]);
        args.B = mem_of(buf[BB]);
        args.zb = mem_of(buf[BZB]);
        args.C = mem_of(buf[BC]);
        /* resolves the kernel: its build or creation failing is the call's error, a work
         * group above the kernel's limit on this device rejects the variant */
        st = CLQ_LAUNCH(ctx, CLQ_PASS_PREPARE, CLQ_KERNEL_gemm_dot, gemm, &args, 2, g, l);
        if (st == CLQ_ERROR_UNSUPPORTED) snprintf(why, sizeof why, "%.250s", ctx->error);
    }
    for (int u8 = 0; u8 < 2 && st == CLQ_SUCCESS; u8++) {
        args.a_u8 = u8;
        args.c_off = (cl_ulong)u8 * PM * PN;
        st = CLQ_LAUNCH(ctx, CLQ_PASS_RUN, CLQ_KERNEL_gemm_dot, gemm, &args, 2, g, l);
        if (st != CLQ_SUCCESS) snprintf(why, sizeof why, "%.250s", ctx->error);
    }
    /* a kernel that faults on the device shows here, at the first wait */
    if (st == CLQ_SUCCESS && (st = clq_buffer_read(buf[BC], 0, sizeof got, got)) != CLQ_SUCCESS)
        snprintf(why, sizeof why, "%.250s", ctx->error);
    if (st == CLQ_SUCCESS) {
        if (clq__cl_dot_test_hook) clq__cl_dot_test_hook(got, 2 * PM * PN);
        for (int i = 0; i < 2 * PM * PN && !why[0]; i++)
            if (got[i] != want[i])
                snprintf(why, sizeof why, "C[%d][%d] = %d, expected %d (%s A)",
                         i / PN % PM, i % PN, (int)got[i], (int)want[i], i < PM * PN ? "s8" : "u8");
    }
    for (int i = 0; i < NBUF; i++) clq_buffer_destroy(buf[i]);
    if (st != CLQ_SUCCESS && !why[0]) return st; /* a resource: the call's error */
    impl->gemm_dot_tested = 1;
    ctx->stats.self_tests_run++;
    if (!why[0]) return CLQ_SUCCESS;
    impl->gemm_dot = 0;
    ctx->stats.self_tests_failed++;
    snprintf(impl->gemm_dot_rejected, sizeof impl->gemm_dot_rejected,
             "the dot-product GEMM's self-test (%d x %d x %d): %s", PM, PN, PK, why);
    memcpy(ctx->error, saved, sizeof saved);
    return CLQ_SUCCESS;
}

clq_status clq__cl_gemm(clq_context *ctx, const clq_gemm_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_packed_weights *w = op->w;
    if (op->m == 0 || op->n == 0) return CLQ_SUCCESS;
    const cl_wpack *rec = w->impl;
    if (rec->nr != impl->tuning.gemm_nr)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "packed weights have %zu-column panels, "
                          "the kernels %u", rec->nr, impl->tuning.gemm_nr);
    cl_mem dummy = mem_of(w->colsum);
    size_t csize = op->ctype == CLQ_S32 || op->ctype == CLQ_F32 ? 4 : 1;
    opt_arg a, c, za, rs, sa, bias, sc, zc, mult, shift;
    clq_status st = opt_span(ctx, op->k ? op->a : (clq_span){NULL, 0}, 1, "gemm a", dummy, &a);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->c, csize, "gemm c", dummy, &c);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->za, 4, "gemm za", dummy, &za);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->rowsums, 4, "gemm row sums", dummy, &rs);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->sa, 4, "gemm sa", dummy, &sa);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->bias, 4, "gemm bias", dummy, &bias);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->sc, 4, "gemm sc", dummy, &sc);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->zc, 4, "gemm zc", dummy, &zc);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->mult, 4, "gemm multiplier", dummy, &mult);
    if (st == CLQ_SUCCESS) st = opt_span(ctx, op->shift, 4, "gemm shift", dummy, &shift);
    if (st != CLQ_SUCCESS) return st;
    clq_kargs_gemm args = {
        .A = a.mem, .a_off = a.off, .lda = op->lda, .B = mem_of(w->data),
        .kp = rec->kp, .m = op->m, .n = op->n, .k = op->k,
        .a_u8 = op->atype == CLQ_U8, .za = za.mem, .za_off = za.off, .has_za = za.present,
        .a_rs = op->a_gran == CLQ_PER_TENSOR ? 0 : op->a_gran == CLQ_PER_AXIS ? 1 : w->fmt.ngroups,
        .a_gs = op->a_gran == CLQ_PER_BLOCK,
        .rowsums = rs.mem, .rs_off = rs.off, .has_rs = rs.present,
        .colsum = mem_of(w->colsum), .zb = mem_of(w->zb), .zb_pc = w->zb_per_channel,
        .gp = mem_of(rec->gp),
        .C = c.mem, .c_off = c.off, .ldc = op->ldc, .ctype = op->ctype,
        .sa = sa.mem, .sa_off = sa.off, .sb = w->sb ? mem_of(w->sb) : dummy,
        .sb_pc = w->sb_per_channel, .bias = bias.mem, .bias_off = bias.off,
        .has_bias = bias.present, .relu = op->relu, .sc = sc.mem, .sc_off = sc.off,
        .zc = zc.mem, .zc_off = zc.off, .has_zc = zc.present, .fixed = op->fixed_point,
        .mult = mult.mem, .mult_off = mult.off, .shift = shift.mem, .shift_off = shift.off,
        .mult_pc = op->mult_per_channel, .qmin = op->qmin, .qmax = op->qmax};
    k_groups(&w->fmt, rec->kp, &args.grp, &args.ng);

    /* Before the first kernel is resolved, so that a rejected variant is never
     * prepared; it writes nothing of the caller's (see dot_self_test). */
    if (impl->gemm_dot && !impl->gemm_dot_tested && (st = dot_self_test(ctx)) != CLQ_SUCCESS)
        return st;
    int id;
    size_t g[2], l[2];
    const clq_cl_tuning *t = &impl->tuning;
    int b4 = rec->bits4;
    if (impl->gemm_dot) {
        id = b4 ? CLQ_KERNEL_gemm_dot4 : CLQ_KERNEL_gemm_dot;
        dot_grid(t, op->m, op->n, g, l);
    } else {
        int small = op->m < t->gemm_small_m;
        id = small ? (b4 ? CLQ_KERNEL_gemm_tile4_1 : CLQ_KERNEL_gemm_tile1)
                   : (b4 ? CLQ_KERNEL_gemm_tile4 : CLQ_KERNEL_gemm_tile);
        g[0] = clq__cl_div_up(op->m, small ? 1 : t->gemm_mr);
        g[1] = rec->panels;
        l[0] = t->gemm_local[0];
        l[1] = t->gemm_local[1];
    }
    return CLQ_LAUNCH(ctx, pass, id, gemm, &args, 2, g, l);
}
