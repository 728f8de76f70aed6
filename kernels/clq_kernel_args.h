/* clq_kernel_args.h: the one declaration of every kernel's arguments, read by both sides:
 * the host includes it (host/opencl/cl_kernels.h makes an argument struct per list and
 * the kernel table), and every OpenCL program starts with it (cmake/embed_kernels.cmake
 * puts it in the prelude, after the constants generated from clquant.h), where
 * CLQ_PARAMS(list) writes a kernel's parameter list. Valid C11 and OpenCL C 1.2.
 *
 * A list is CLQ_KARGS_<list>(X, S): one X(S, KIND, TYPE, NAME) per argument, in order.
 *   KIND IN   const global TYPE *NAME   host: cl_mem
 *        OUT  global TYPE *NAME         host: cl_mem
 *        VAL  TYPE NAME (by value)      host: cl_TYPE
 * TYPE is an OpenCL C type name (uchar, int, ulong, ulong8, ...). S is passed through
 * for the expander (the host's struct type). docs/DESIGN.md, "Host-kernel interface". */
#ifndef CLQ_KERNEL_ARGS_H
#define CLQ_KERNEL_ARGS_H

/* ---- constants both sides use that clquant.h does not define ---------------- */
/* Quantize mode bits (quantize.cl; bit 2 is the kernels' own CLQ_MODE_FAST). */
#define CLQ_MODE_RECIP 1
#define CLQ_MODE_AWAY 2
/* How a granule-wise kernel walks a layout (host/opencl/cl_layout.c, walk_granule). */
#define CLQ_WALK_TENSOR 0
#define CLQ_WALK_AXIS 1
#define CLQ_WALK_BLOCK_CONTIG 2 /* per block along an axis with inner == 1 */
#define CLQ_WALK_BLOCK_STRIDED 3
/* Error metrics (host/backend.h, clq_error_op): positions per chunk, lanes per chunk,
 * and the f32 values each chunk writes, at these indices. */
#define CLQ_ERROR_CHUNK 4096
#define CLQ_ERROR_LANES 16
#define CLQ_ERROR_NSTATS 8
#define CLQ_ERROR_E2 0    /* sum of e * e */
#define CLQ_ERROR_ABS 1   /* sum of |e| */
#define CLQ_ERROR_MAX 2   /* max of |e| (0 when none) */
#define CLQ_ERROR_X2 3    /* sum of x * x */
#define CLQ_ERROR_Y2 4    /* sum of y * y */
#define CLQ_ERROR_XY 5    /* sum of x * y */
#define CLQ_ERROR_COUNT 6 /* elements compared (exact: at most CLQ_ERROR_CHUNK) */
/* ggml blocks (host/backend.h, clq_ggml_op): elements per block, bytes per block (an
 * f16 d, little-endian, then 32 int8 or 16 bytes of nibble pairs). */
#define CLQ_GGML_QK 32
#define CLQ_GGML_Q8_0_BYTES 34
#define CLQ_GGML_Q4_0_BYTES 18

/* ---- the kernels: K(program, kernel, list) declares a kernel whose argument list
 * first appears here, A(program, kernel, list) one more kernel with an earlier row's
 * list. A new kernel is one row here (and its list below, if new) plus its body. */
#define CLQ_KERNEL_TABLE(K, A)                                                             \
    K(copy, copy_strided1, copy)                                                           \
    A(copy, copy_strided2, copy)                                                           \
    A(copy, copy_strided4, copy)                                                           \
    K(minmax, minmax_gran, minmax_gran)                                                    \
    K(minmax, minmax_finish, minmax_finish)                                                \
    K(minmax, minmax_cols, minmax_cols)                                                    \
    K(quantize, quantize_gran, quantize_gran)                                              \
    K(quantize, quantize_cols, quantize_cols)                                              \
    K(quantize, quantize_any4, quantize_any4)                                              \
    K(dequantize, dequantize_gran, dequantize_gran)                                        \
    K(dequantize, dequantize_cols, dequantize_cols)                                        \
    K(qparams, qparams, qparams)                                                           \
    K(error, error_stats, error)                                                           \
    K(gemm, gemm_pack, gemm_pack)                                                          \
    K(gemm, gemm_rowsums, gemm_rowsums)                                                    \
    K(gemm, gemm_tile, gemm)                                                               \
    A(gemm, gemm_tile1, gemm)                                                              \
    A(gemm, gemm_tile4, gemm)                                                              \
    A(gemm, gemm_tile4_1, gemm)                                                            \
    A(gemm, gemm_dot, gemm)                                                                \
    A(gemm, gemm_dot4, gemm)                                                               \
    K(histogram, histogram_zero, histogram_zero)                                           \
    K(histogram, histogram, histogram)                                                     \
    K(ggml, ggml_quantize, ggml_quantize)                                                  \
    K(ggml, ggml_dequantize, ggml_dequantize)

/* ---- programs of more than one file: P(program, part) appends kernels/<part>.cl to
 * the program's source, in this order, after the prelude, kernels/common.cl and
 * kernels/<program>.cl (host/opencl/cl_program.c, scripts/offline-compile.sh). A part
 * is no program of its own; it keeps an op family's files to a few hundred lines. */
#define CLQ_PROGRAM_PARTS(P)                                                               \
    P(gemm, gemm_isa)                                                                      \
    P(gemm, gemm_tile)                                                                     \
    P(gemm, gemm_dot)

/* ---- argument lists ------------------------------------------------------------ */
/* copy.cl: elements of 1, 2 or 4 bytes (the kernel casts); offsets and strides in
 * elements; shape/strides padded to 8 dimensions; nouter = product of all but the last. */
#define CLQ_KARGS_copy(X, S)                                                               \
    X(S, IN, uchar, src) X(S, VAL, long, soff) X(S, OUT, uchar, dst) X(S, VAL, long, doff)  \
    X(S, VAL, int, ndim) X(S, VAL, ulong8, shape) X(S, VAL, long8, sstr)                   \
    X(S, VAL, long8, dstr) X(S, VAL, ulong, nouter)

/* The granule walk of a layout (host: clq_cl_walk, cl_layout.c). */
#define CLQ_KARGS_walk(X, S)                                                               \
    X(S, VAL, int, wmode) X(S, VAL, ulong, ngran) X(S, VAL, ulong, gpi) X(S, VAL, ulong, n) \
    X(S, VAL, ulong, outer) X(S, VAL, ulong, axis_len) X(S, VAL, ulong, inner)             \
    X(S, VAL, ulong, nblocks) X(S, VAL, ulong, block)

/* minmax.cl: x (xt a clq_dtype: f32, f16 or bf16) per granule; with nparts > 1 (final
 * 0) each work item writes a partial to omin/omax[p * nparts + j], which
 * minmax_finish folds into the outputs. */
#define CLQ_KARGS_minmax_gran(X, S)                                                        \
    X(S, IN, uchar, x) X(S, VAL, ulong, xoff) X(S, VAL, int, xt) X(S, OUT, float, omin)     \
    X(S, VAL, ulong, minoff) X(S, OUT, float, omax) X(S, VAL, ulong, maxoff)               \
    X(S, VAL, int, final) X(S, VAL, ulong, nparts) CLQ_KARGS_walk(X, S)
/* Rows of rlen elements whose parameters run along the row (one per column), in
 * ngroups groups of consecutive rows: group g starts at row (g / gnb) * gal +
 * (g % gnb) * gblk, holds min(gblk, gal - (g % gnb) * gblk) rows and owns pairs
 * [g * rlen, (g + 1) * rlen); each of its nparts parts takes grows of them. */
#define CLQ_KARGS_minmax_cols(X, S)                                                        \
    X(S, IN, uchar, x) X(S, VAL, ulong, xoff) X(S, VAL, int, xt) X(S, OUT, float, omin)     \
    X(S, VAL, ulong, minoff) X(S, OUT, float, omax) X(S, VAL, ulong, maxoff)               \
    X(S, VAL, int, final) X(S, VAL, ulong, nparts) X(S, VAL, ulong, rlen)                  \
    X(S, VAL, ulong, ngroups) X(S, VAL, ulong, gal) X(S, VAL, ulong, gnb)                  \
    X(S, VAL, ulong, gblk) X(S, VAL, ulong, grows)
#define CLQ_KARGS_minmax_finish(X, S)                                                      \
    X(S, IN, float, pmin) X(S, IN, float, pmax) X(S, VAL, ulong, nparts)                   \
    X(S, OUT, float, omin) X(S, VAL, ulong, minoff) X(S, OUT, float, omax)                 \
    X(S, VAL, ulong, maxoff) X(S, VAL, ulong, ngran)

/* quantize.cl: x (xt a clq_dtype) to q (qb its element offset; bits4: s4/u4), one
 * parameter pair per granule (zp read only when has_zp); the range [qmin, qmax] and
 * mode, CLQ_MODE_RECIP | CLQ_MODE_AWAY, come last. */
#define CLQ_KARGS_quantize_io(X, S)                                                        \
    X(S, IN, uchar, x) X(S, VAL, ulong, xoff) X(S, VAL, int, xt) X(S, OUT, uchar, q)        \
    X(S, VAL, ulong, qb)
#define CLQ_KARGS_quantize_params(X, S)                                                    \
    X(S, IN, float, scale) X(S, VAL, ulong, soff) X(S, IN, int, zp) X(S, VAL, ulong, zoff)   \
    X(S, VAL, int, has_zp)
#define CLQ_KARGS_quantize_range(X, S)                                                     \
    X(S, VAL, float, qmin) X(S, VAL, float, qmax) X(S, VAL, int, mode)
#define CLQ_KARGS_quantize_gran(X, S)                                                      \
    CLQ_KARGS_quantize_io(X, S) X(S, VAL, int, bits4) CLQ_KARGS_quantize_params(X, S)       \
    CLQ_KARGS_walk(X, S) CLQ_KARGS_quantize_range(X, S)
/* Rows as dequantize_cols. */
#define CLQ_KARGS_quantize_cols(X, S)                                                      \
    CLQ_KARGS_quantize_io(X, S) X(S, VAL, int, bits4) CLQ_KARGS_quantize_params(X, S)       \
    X(S, VAL, ulong, rows) X(S, VAL, ulong, rlen) X(S, VAL, ulong, pa) X(S, VAL, ulong, pnb) \
    X(S, VAL, ulong, pblk) X(S, VAL, ulong, pin) CLQ_KARGS_quantize_range(X, S)
/* 4-bit, one output byte per work item, any layout (gran a clq_granularity). */
#define CLQ_KARGS_quantize_any4(X, S)                                                      \
    CLQ_KARGS_quantize_io(X, S) CLQ_KARGS_quantize_params(X, S) X(S, VAL, int, gran)        \
    X(S, VAL, ulong, n) X(S, VAL, ulong, axis_len) X(S, VAL, ulong, inner)                 \
    X(S, VAL, ulong, nblocks) X(S, VAL, ulong, block) CLQ_KARGS_quantize_range(X, S)

/* dequantize.cl: q (s8/u8/s4/u4 bytes, qb its element offset), y f32, one parameter
 * pair per granule (zp read only when has_zp). */
#define CLQ_KARGS_dequantize_io(X, S)                                                      \
    X(S, IN, uchar, q) X(S, VAL, ulong, qb) X(S, VAL, int, bits4) X(S, VAL, int, sgn)       \
    X(S, OUT, float, y) X(S, VAL, ulong, yoff) X(S, IN, float, scale) X(S, VAL, ulong, soff) \
    X(S, IN, int, zp) X(S, VAL, ulong, zoff) X(S, VAL, int, has_zp)
#define CLQ_KARGS_dequantize_gran(X, S) CLQ_KARGS_dequantize_io(X, S) CLQ_KARGS_walk(X, S)
/* Rows of rlen elements whose parameter index is pbase(row) + column, pbase from
 * (pa, pnb, pblk, pin) = clq__cl_cols_layout's pr[0..3]. */
#define CLQ_KARGS_dequantize_cols(X, S)                                                    \
    CLQ_KARGS_dequantize_io(X, S) X(S, VAL, ulong, rows) X(S, VAL, ulong, rlen)           \
    X(S, VAL, ulong, pa) X(S, VAL, ulong, pnb) X(S, VAL, ulong, pblk) X(S, VAL, ulong, pin)

/* qparams.cl: scale and zero point of count granules from their min and max
 * (pytorch: PyTorch's formula instead of ONNX Runtime's). */
#define CLQ_KARGS_qparams(X, S)                                                            \
    X(S, IN, float, imin) X(S, VAL, ulong, minoff) X(S, IN, float, imax)                   \
    X(S, VAL, ulong, maxoff) X(S, VAL, ulong, count) X(S, VAL, int, symmetric)             \
    X(S, VAL, int, pytorch)                                                                \
    X(S, VAL, int, qmin) X(S, VAL, int, qmax) X(S, VAL, int, sym_zp) X(S, OUT, float, oscale) \
    X(S, VAL, ulong, soff) X(S, OUT, int, ozp) X(S, VAL, ulong, zoff) X(S, VAL, int, has_zp)

/* error.cl: statistics of y - x per chunk (host/backend.h clq_error_op), work item
 * (chunk k, granule g) of nchunks x ngran, into part[poff + (g * nchunks + k) * 8 ...].
 * y (yt) is read unless quant; then y = dequantize(quantize(x)) with the parameters of
 * a layout (qgran, qaxis_len, qinner, qnblocks, qblock as clq_layout). */
#define CLQ_KARGS_error(X, S)                                                              \
    X(S, IN, uchar, x) X(S, VAL, ulong, xoff) X(S, VAL, int, xt) X(S, IN, uchar, y)         \
    X(S, VAL, ulong, yoff) X(S, VAL, int, yt) X(S, VAL, int, quant)                        \
    CLQ_KARGS_quantize_params(X, S) X(S, VAL, int, qgran) X(S, VAL, ulong, qaxis_len)       \
    X(S, VAL, ulong, qinner) X(S, VAL, ulong, qnblocks) X(S, VAL, ulong, qblock)           \
    CLQ_KARGS_quantize_range(X, S) X(S, VAL, ulong, ngran) X(S, VAL, ulong, outer)          \
    X(S, VAL, ulong, inner) X(S, VAL, ulong, nchunks) X(S, OUT, float, part)               \
    X(S, VAL, ulong, poff)

/* gemm.cl. Pack: n x k weights b (8-bit, or 4-bit with bits4: element e in the nibble
 * e of b's bytes, low first; bx 0x80 for u8, 0x08 for u4) into panels, with column sums
 * per group of grp along K (ng groups: colsum[j * ng + group]), and each panel's
 * (zb', cs', sb) per group as gp[panel][group][3][NR] from zb and sb (per channel or
 * group: [n][ng]; sb read only with has_sb). */
#define CLQ_KARGS_gemm_pack(X, S)                                                          \
    X(S, IN, uchar, b) X(S, VAL, ulong, boff) X(S, VAL, ulong, n) X(S, VAL, ulong, k)      \
    X(S, VAL, int, bits4) X(S, VAL, uchar, bx) X(S, OUT, uchar, packed) X(S, VAL, ulong, kp) \
    X(S, VAL, ulong, grp) X(S, VAL, ulong, ng) X(S, OUT, int, colsum) X(S, IN, int, zb)    \
    X(S, VAL, int, zb_pc) X(S, IN, float, sb) X(S, VAL, int, sb_pc) X(S, VAL, int, has_sb) \
    X(S, OUT, int, gp)
/* sums[soff + r * ng + j] over group j (of grp values along k) of row r. */
#define CLQ_KARGS_gemm_rowsums(X, S)                                                       \
    X(S, IN, uchar, a) X(S, VAL, ulong, aoff) X(S, VAL, ulong, lda) X(S, VAL, ulong, k)    \
    X(S, VAL, int, is_s8) X(S, OUT, int, sums) X(S, VAL, ulong, soff) X(S, VAL, ulong, rows) \
    X(S, VAL, ulong, grp) X(S, VAL, ulong, ng)
/* The GEMM kernels: A (m x k, lda), packed B (kp: K padded as the panels hold it), the
 * ng groups of grp values along K (one group of kp when the weights are not grouped),
 * and the output stage; an absent optional input (has_* 0) is any valid buffer and
 * never read. A's parameter of row r and group j is za / sa [off + r a_rs + j a_gs]
 * (per tensor 0, 0; per row 1, 0; per group ng, 1), the weights' zb / sb [n ng + j]
 * when per channel or group (zb_pc, sb_pc), colsum [n ng + j], rowsums [r ng + j]; the
 * tiled kernels read the weights' three from gp (gemm_pack) instead. */
#define CLQ_KARGS_gemm(X, S)                                                               \
    X(S, IN, uchar, A) X(S, VAL, ulong, a_off) X(S, VAL, ulong, lda) X(S, IN, char, B)     \
    X(S, VAL, ulong, kp) X(S, VAL, ulong, m) X(S, VAL, ulong, n) X(S, VAL, ulong, k)        \
    X(S, VAL, ulong, grp) X(S, VAL, ulong, ng)                                             \
    X(S, VAL, int, a_u8) X(S, IN, int, za) X(S, VAL, ulong, za_off) X(S, VAL, int, has_za)  \
    X(S, VAL, ulong, a_rs) X(S, VAL, ulong, a_gs)                                          \
    X(S, IN, int, rowsums) X(S, VAL, ulong, rs_off) X(S, VAL, int, has_rs)                 \
    X(S, IN, int, colsum) X(S, IN, int, zb) X(S, VAL, int, zb_pc) X(S, IN, int, gp)         \
    X(S, OUT, uchar, C)                                                                    \
    X(S, VAL, ulong, c_off) X(S, VAL, ulong, ldc) X(S, VAL, int, ctype) X(S, IN, float, sa) \
    X(S, VAL, ulong, sa_off) X(S, IN, float, sb) X(S, VAL, int, sb_pc)                     \
    X(S, IN, float, bias) X(S, VAL, ulong, bias_off) X(S, VAL, int, has_bias)              \
    X(S, VAL, int, relu) X(S, IN, float, sc) X(S, VAL, ulong, sc_off) X(S, IN, int, zc)     \
    X(S, VAL, ulong, zc_off) X(S, VAL, int, has_zc) X(S, VAL, int, fixed)                  \
    X(S, IN, int, mult) X(S, VAL, ulong, mult_off) X(S, IN, int, shift)                    \
    X(S, VAL, ulong, shift_off) X(S, VAL, int, mult_pc) X(S, VAL, int, qmin)               \
    X(S, VAL, int, qmax)

/* histogram.cl: counts[coff + b] = 0 for b < nbins; then counts of the n elements of
 * x (xt a clq_dtype) binned as backend.h's clq_histogram_op says, per_group elements
 * per work group, each group's counts added with atomic_add. mode: CLQ_HIST_SERIAL (one
 * work item per group: plain increments of local sub-histograms), CLQ_HIST_LOCAL
 * (local atomics), CLQ_HIST_GLOBAL (nbins >= CLQ_HIST_LOCAL_BINS: global atomics). */
#define CLQ_HIST_SERIAL 0
#define CLQ_HIST_LOCAL 1
#define CLQ_HIST_GLOBAL 2
#define CLQ_HIST_LOCAL_BINS 8192 /* uints of local memory: 32 KiB, OpenCL's minimum (bins: 8191) */
#define CLQ_KARGS_histogram_zero(X, S)                                                     \
    X(S, OUT, uint, counts) X(S, VAL, ulong, coff) X(S, VAL, ulong, nbins)
#define CLQ_KARGS_histogram(X, S)                                                          \
    X(S, IN, uchar, x) X(S, VAL, ulong, xoff) X(S, VAL, int, xt) X(S, VAL, ulong, n)        \
    X(S, VAL, int, absolute) X(S, VAL, float, lo) X(S, VAL, float, inv_width)              \
    X(S, VAL, uint, nbins) X(S, OUT, uint, counts) X(S, VAL, ulong, coff)                  \
    X(S, VAL, ulong, per_group) X(S, VAL, int, mode)

/* ggml.cl: one work item per block (clq_ggml_op): x (xt a clq_dtype; elements from
 * xoff) to the blocks from byte boff, Q4_0 when q4 else Q8_0; and back to f32 y. */
#define CLQ_KARGS_ggml_quantize(X, S)                                                      \
    X(S, IN, uchar, x) X(S, VAL, ulong, xoff) X(S, VAL, int, xt) X(S, OUT, uchar, blocks)   \
    X(S, VAL, ulong, boff) X(S, VAL, int, q4) X(S, VAL, ulong, nblocks)
#define CLQ_KARGS_ggml_dequantize(X, S)                                                    \
    X(S, IN, uchar, blocks) X(S, VAL, ulong, boff) X(S, VAL, int, q4) X(S, OUT, float, y)   \
    X(S, VAL, ulong, yoff) X(S, VAL, ulong, nblocks)

/* ---- the kernel side: CLQ_PARAMS(list) is the parameter list, CLQ_NAMES(list) the
 * same names as call arguments (for a helper taking the kernel's parameters). Each
 * entry writes ", declaration"; CLQ_TAIL_ drops the first comma. */
#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)
#define CLQ_KIND_IN(T) const global T *
#define CLQ_KIND_OUT(T) global T *
#define CLQ_KIND_VAL(T) T
#define CLQ_PARAM_(S, KIND, TYPE, NAME) , CLQ_KIND_##KIND(TYPE) NAME
#define CLQ_NAME_(S, KIND, TYPE, NAME) , NAME
#define CLQ_TAIL_(FIRST, ...) __VA_ARGS__
#define CLQ_TAIL(...) CLQ_TAIL_(__VA_ARGS__)
#define CLQ_PARAMS(LIST) CLQ_TAIL(CLQ_KARGS_##LIST(CLQ_PARAM_, ~))
#define CLQ_NAMES(LIST) CLQ_TAIL(CLQ_KARGS_##LIST(CLQ_NAME_, ~))
#endif

#endif
