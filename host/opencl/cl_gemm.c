/* cl_gemm.c: enqueues kernels/gemm.cl: weight packing (panels of CLQ_GEMM_NR columns,
 * column sums on the device), row sums of A, and the GEMM with its output stage. */
#include "cl_internal.h"

/* w->layout: [0] columns per panel, [1] K rounded up to 4, [2] panels. */
enum { LAY_NR, LAY_KP, LAY_PANELS };

static cl_mem mem_of(const clq_buffer *b) { return (cl_mem)b->handle; }

/* Every GEMM kernel runs with a fixed work-group size (CLQ_LAUNCH's local): POCL
 * compiles a kernel once per work-group size, and the sizes it picks itself
 * follow the global size. */
clq_status clq__cl_gemm_pack(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w) {
    clq_cl_impl *impl = clq_cl(ctx);
    size_t nr = impl->tuning.gemm_nr;
    size_t kp = (op->k + 3) / 4 * 4, panels = clq__cl_div_up(op->n, nr);
    w->layout[LAY_NR] = nr;
    w->layout[LAY_KP] = kp;
    w->layout[LAY_PANELS] = panels;
    clq_status st = clq_buffer_create(ctx, panels * nr * kp, &w->data);
    if (st != CLQ_SUCCESS || op->n == 0) return st;
    clq_kargs_gemm_pack a = {.b = mem_of(w->colsum), .boff = 0, .n = op->n, .k = op->k,
                             .bx = op->btype == CLQ_U8 ? 0x80 : 0, .packed = mem_of(w->data),
                             .kp = kp, .colsum = mem_of(w->colsum)};
    if (op->b.buf) st = clq__cl_span(ctx, op->b, 1, "gemm pack b", &a.b, &a.boff);
    if (st != CLQ_SUCCESS) return st;
    size_t g[1] = {panels * nr}, l[1] = {nr};
    return CLQ_LAUNCH(ctx, CLQ_PASS_RUN, CLQ_KERNEL_gemm_pack, gemm_pack, &a, 1, g, l);
}

clq_status clq__cl_rowsums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass) {
    if (op->rows == 0) return CLQ_SUCCESS;
    clq_kargs_gemm_rowsums a = {.aoff = 0, .lda = op->lda, .k = op->k,
                                .is_s8 = op->atype == CLQ_S8, .rows = op->rows};
    clq_status st = clq__cl_span(ctx, op->sums, 4, "row sums", &a.sums, &a.soff);
    if (st != CLQ_SUCCESS) return st;
    a.a = a.sums; /* K = 0 reads nothing */
    if (op->k && (st = clq__cl_span(ctx, op->a, 1, "row sums a", &a.a, &a.aoff)) != CLQ_SUCCESS)
        return st;
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

clq_status clq__cl_gemm(clq_context *ctx, const clq_gemm_op *op, clq_pass pass) {
    clq_cl_impl *impl = clq_cl(ctx);
    const clq_packed_weights *w = op->w;
    if (op->m == 0 || op->n == 0) return CLQ_SUCCESS;
    if (w->layout[LAY_NR] != impl->tuning.gemm_nr)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "packed weights have %zu-column panels, "
                          "the kernels %u", w->layout[LAY_NR], impl->tuning.gemm_nr);
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
        .kp = w->layout[LAY_KP], .m = op->m, .n = op->n, .k = op->k,
        .a_u8 = op->atype == CLQ_U8, .za = za.mem, .za_off = za.off, .has_za = za.present,
        .rowsums = rs.mem, .rs_off = rs.off, .has_rs = rs.present,
        .colsum = mem_of(w->colsum), .zb = mem_of(w->zb), .zb_pc = w->zb_per_channel,
        .C = c.mem, .c_off = c.off, .ldc = op->ldc, .ctype = op->ctype,
        .sa = sa.mem, .sa_off = sa.off, .sb = w->sb ? mem_of(w->sb) : dummy,
        .sb_pc = w->sb_per_channel, .bias = bias.mem, .bias_off = bias.off,
        .has_bias = bias.present, .relu = op->relu, .sc = sc.mem, .sc_off = sc.off,
        .zc = zc.mem, .zc_off = zc.off, .has_zc = zc.present, .fixed = op->fixed_point,
        .mult = mult.mem, .mult_off = mult.off, .shift = shift.mem, .shift_off = shift.off,
        .mult_pc = op->mult_per_channel, .qmin = op->qmin, .qmax = op->qmax};

    int id;
    size_t g[2], l[2];
    const clq_cl_tuning *t = &impl->tuning;
    if (impl->gemm_dot) {
        /* blocks of bm rows x bn columns, 4 columns and bm / tm rows per work item */
        id = CLQ_KERNEL_gemm_dot;
        l[0] = t->gemm_dot.bn / 4;
        l[1] = t->gemm_dot.bm / t->gemm_dot.tm;
        g[0] = clq__cl_div_up(op->n, t->gemm_dot.bn) * l[0];
        g[1] = clq__cl_div_up(op->m, t->gemm_dot.bm) * l[1];
    } else {
        int small = op->m < t->gemm_small_m;
        id = small ? CLQ_KERNEL_gemm_tile1 : CLQ_KERNEL_gemm_tile;
        g[0] = clq__cl_div_up(op->m, small ? 1 : t->gemm_mr);
        g[1] = w->layout[LAY_PANELS];
        l[0] = t->gemm_local[0];
        l[1] = t->gemm_local[1];
    }
    return CLQ_LAUNCH(ctx, pass, id, gemm, &args, 2, g, l);
}
