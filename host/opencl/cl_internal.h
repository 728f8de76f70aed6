/* cl_internal.h: the OpenCL backend's per-context state and the helpers its op
 * files share (program/kernel lookup, enqueue, span arguments, tuning). */
#ifndef CLQ_CL_INTERNAL_H
#define CLQ_CL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "cl_kernels.h"
#include "internal.h"

/* Tuning of one device, passed to every program as -D macros (defaults also in the
 * .cl); the rows of host/opencl/cl_tuning.c. clq__cl_tuning_check states and checks
 * what each field must be for the kernels and the device. */
typedef struct clq_cl_tuning {
    unsigned vec;          /* floats per vector in min/max per block (CLQ_VEC: 8 or 16) */
    unsigned quant_chunk;  /* elements per work item in quantize/dequantize (multiple of 16) */
    unsigned minmax_chunk; /* elements per work item in min/max (multiple of 16) */
    unsigned copy_chunk;   /* innermost elements per work item in copy_strided */
    size_t local_size;     /* 1D work-group size; 0: let the runtime choose */
    unsigned gemm_nr;      /* GEMM: columns per packed panel and per work item (multiple of 4
                              and of the columns per accumulator) */
    unsigned gemm_mr;      /* GEMM: rows per work item */
    unsigned gemm_small_m; /* GEMM: M below this runs the 1-row tile (a stream over B) */
    size_t gemm_local[2];  /* GEMM work-group size (row tiles, panels) */
    struct {
        unsigned bm, bn; /* block rows and columns of C per work group */
        unsigned tm;     /* rows per work item (bm / tm work items along M, bn / 4 along N) */
        unsigned kq;     /* quads of K per local-memory stage */
    } gemm_dot;          /* the dot-product variant */
} clq_cl_tuning;

/* Device queries not in every CL header (cl_ext.h names them without the CLQ_ prefix). */
#define CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_CAPABILITIES_KHR 0x1073
#define CLQ_CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_KHR (1u << 1)
#define CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV 0x4000
#define CLQ_CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV 0x4001

/* programs: one per kernels/ file but common.cl and parts (9 today), room for more */
enum { CLQ_CL_MAX_PROGRAMS = 12, CLQ_CL_MAX_KERNELS = 48 };

typedef struct clq_cl_kernel {
    const char *name; /* static string */
    int program;
    cl_kernel kernel;
} clq_cl_kernel;

typedef struct clq_cl_impl {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    char platform_name[128];
    char dev_name[128];
    char driver_version[128];
    char device_version[128];
    clq_cl_tuning tuning;
    int gemm_dot_native; /* int8 dot product: 0 none, 1 cl_khr_integer_dot_product, 2 NVIDIA dp4a */
    int gemm_dot;        /* run the dot-product variant (CLQ_GEMM_DOT overrides the default;
                            0 once its self-test failed) */
    int gemm_dot_tested; /* the self-test ran to its verdict (cl_gemm.c, clq__cl_gemm) */
    char gemm_dot_rejected[320]; /* why the self-test rejected the variant ("" if it did not) */
    int gemm_portable;   /* CLQ_GEMM_PORTABLE=1: generic kernel without target builtins */
    char options[512]; /* build options, tuning macros included */
    cl_program programs[CLQ_CL_MAX_PROGRAMS]; /* by index into clq_kernel_sources, lazily */
    const char *program_names[CLQ_CL_MAX_PROGRAMS];
    int nprograms;
    clq_cl_kernel kernels[CLQ_CL_MAX_KERNELS];
    int nkernels;
} clq_cl_impl;

static inline clq_cl_impl *clq_cl(clq_context *ctx) { return (clq_cl_impl *)ctx->impl; }

/* Name of an OpenCL error code ("CL_OUT_OF_RESOURCES"). */
const char *clq__cl_error_name(cl_int err);

/* Fills impl->tuning, the GEMM variant and impl->options for impl->device and checks
 * them (cl_tuning.c); 0, or -1 with why the row cannot run on the device. */
int clq__cl_choose_tuning(clq_cl_impl *impl, char *why, size_t size);

/* What the tuning choice reads from a device. clq__cl_choose_tuning fills one from
 * clGetDeviceInfo; tests/offline_options.c describes devices that are not here, so
 * the offline compile (scripts/offline-compile.sh) builds the options the host would.
 * A limit of 0 is unknown and not checked. */
typedef struct clq_cl_device_desc {
    const char *name;          /* "<platform name> <device name>" */
    cl_device_type type;       /* CL_DEVICE_TYPE */
    cl_uint native_float_width;    /* CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT */
    cl_uint preferred_float_width; /* CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT */
    const char *extensions;    /* CL_DEVICE_EXTENSIONS */
    cl_bitfield dot_caps;      /* CL_DEVICE_INTEGER_DOT_PRODUCT_CAPABILITIES_KHR (0: none) */
    cl_uint nv_cc_major, nv_cc_minor; /* CL_DEVICE_COMPUTE_CAPABILITY_*_NV (0: none) */
    size_t max_work_group;     /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    size_t max_work_item[2];   /* CL_DEVICE_MAX_WORK_ITEM_SIZES, first two dimensions */
    cl_ulong local_mem;        /* CL_DEVICE_LOCAL_MEM_SIZE */
} clq_cl_device_desc;
/* The tuning table: its rows, one row, its name, and the row a device gets (first match). */
size_t clq__cl_tuning_rows(void);
const clq_cl_tuning *clq__cl_tuning_at(size_t row);
const char *clq__cl_tuning_name(size_t row);
size_t clq__cl_tuning_pick(const clq_cl_device_desc *d);
/* Floats per vector of the ISA the device compiles kernels for: for POCL's CPU device
 * the LLVM CPU in its name ("pthread-haswell-...": 8; "pthread-skylake-avx512-...":
 * 16), since POCL reports 16-wide native vectors whatever CPU it compiles for; else
 * CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (the preferred width if that is 0), at least 1. */
unsigned clq__cl_vec_width(const clq_cl_device_desc *d);
/* Whether tuning row t can run on device d: "" or the first field that cannot,
 * named as in clq_cl_tuning ("gemm_nr = 20 is not a multiple of 8, ..."). */
void clq__cl_tuning_check(const clq_cl_tuning *t, const clq_cl_device_desc *d, char *why,
                          size_t size);
/* The int8 dot product a device has: 0 none, 1 cl_khr_integer_dot_product, 2 NVIDIA dp4a.
 * An extension counts only as a whole word of the extension string. */
int clq__cl_dot_kind(const clq_cl_device_desc *d);
/* The build options of every program for a tuning row and GEMM variant (dot_native
 * as clq__cl_dot_kind; portable: CLQ_GEMM_PORTABLE). 0, or -1 if size was too small. */
int clq__cl_build_options(char *out, size_t size, const clq_cl_tuning *t, int dot_native,
                          int portable);
/* Test-only (tests/test_tuning.c, linked statically; in no public header): when set,
 * called on the chosen row before it is checked, so a test can make it invalid. */
extern void (*clq__cl_tuning_test_hook)(clq_cl_tuning *t);
/* Test-only, likewise: when set, called on the dot-product self-test's results (the
 * int32 C of its launches, count values) before they are compared, so a test can make
 * the self-test see a wrong answer. */
extern void (*clq__cl_dot_test_hook)(cl_int *c, size_t count);
/* The self-test's problem (cl_gemm.c): A's bytes [M][K] (read as s8, then as u8) and
 * B's s8 values [N][K]; tests/test_tuning.c checks that wrong dot products change a sum. */
enum { CLQ_CL_DOT_TEST_M = 5, CLQ_CL_DOT_TEST_N = 7, CLQ_CL_DOT_TEST_K = 38 };
void clq__cl_dot_test_problem(unsigned char *a, signed char *b);

/* Completes a context whose impl has platform/device/context/queue set: queries
 * names, checks the device, fills ctx->ops/device_name (cl_device.c). On failure
 * writes why into reason and leaves the cl objects to the caller. */
clq_status clq__cl_finish_init(clq_context *ctx, char *reason, size_t reason_size);
/* Releases everything in impl (kernels, programs, queue, context) and frees it. */
void clq__cl_impl_free(clq_cl_impl *impl);
/* Whether needle is a substring of hay, ignoring case (cl_tuning.c). */
int clq__cl_contains_ci(const char *hay, const char *needle);
/* Why a device cannot be used ("" if it can). */
void clq__cl_device_check(cl_device_id dev, char *why, size_t size);

/* The sources of program `program`, in order: the prelude (constants generated from
 * clquant.h, kernels/clq_kernel_args.h), kernels/common.cl, kernels/<program>.cl, then
 * its parts (CLQ_PROGRAM_PARTS). Returns how many (at most CLQ_CL_PROGRAM_PARTS), 0 if
 * `program` is no program of the kernel table or a source is not embedded. */
enum { CLQ_CL_PROGRAM_PARTS = 8 };
int clq__cl_program_sources(const char *program, const char *srcs[CLQ_CL_PROGRAM_PARTS],
                            size_t lens[CLQ_CL_PROGRAM_PARTS]);
/* Whether `name` (an embedded source's) is a program some kernel of the table lives in:
 * not common.cl, not a part. */
int clq__cl_is_program(const char *name);

/* The kernel `name` from program `program` (a kernels/<program>.cl stem), built
 * on first use (cl_program.c). */
clq_status clq__cl_kernel(clq_context *ctx, const char *program, const char *name, cl_kernel *out);

/* Sets the arguments of kernel `id` (CLQ_KERNEL_<kernel>) from *args, a
 * clq_kargs_<list> of the kernel's own list, field by field in the declared order and
 * sizes, and enqueues it over global (dims) with the work-group size local (NULL: the
 * tuning's local_size in dimension 0, or the runtime's choice where that is 0). The
 * kernel is built on first use, then run by clq__cl_run / clq__cl_run_local (in
 * CLQ_PASS_PREPARE nothing is set or enqueued). */
clq_status clq__cl_launch(clq_context *ctx, clq_pass pass, int id, int list, const void *args,
                          cl_uint dims, const size_t *global, const size_t *local);
/* The same with the list named: args must point to a clq_kargs_LIST (else no build),
 * and the kernel must take that list (else CLQ_ERROR_INTERNAL, first launch). */
#define CLQ_LAUNCH(ctx, pass, id, LIST, args, dims, global, local)                          \
    clq__cl_launch(ctx, pass, id, CLQ_KLIST_##LIST,                                        \
                   _Generic((args), clq_kargs_##LIST *: (args),                            \
                            const clq_kargs_##LIST *: (args)),                            \
                   dims, global, local)
enum { CLQ_CL_MAX_ARGS = 64 };

/* Sets kernel arguments from a list; each entry is a size and a pointer. Only
 * clq__cl_launch builds such a list (from the kernel table); op files use CLQ_LAUNCH. */
typedef struct clq_cl_arg {
    size_t size;
    const void *value;
} clq_cl_arg;
/* In CLQ_PASS_PREPARE nothing is set or enqueued (the kernel is already resolved). */
clq_status clq__cl_run(clq_context *ctx, clq_pass pass, cl_kernel k, const char *what,
                       const clq_cl_arg *args, int nargs, cl_uint dims, const size_t *global);
/* The same with the caller's work-group size (local NULL: the runtime's choice);
 * each global size is rounded up to a multiple of it. */
clq_status clq__cl_run_local(clq_context *ctx, clq_pass pass, cl_kernel k, const char *what,
                             const clq_cl_arg *args, int nargs, cl_uint dims, const size_t *global,
                             const size_t *local);

/* The cl_mem of a span and its byte offset as an element offset (elem bytes);
 * UNSUPPORTED if the offset is not a multiple of elem. */
clq_status clq__cl_span(clq_context *ctx, clq_span s, size_t elem, const char *what, cl_mem *mem,
                        cl_ulong *off);

static inline size_t clq__cl_div_up(size_t a, size_t b) { return a / b + (a % b != 0); }

extern const clq_backend_ops clq__cl_ops;

/* Op entry points (one file each). */
clq_status clq__cl_copy_strided(clq_context *ctx, const clq_tensor *src, const clq_tensor *dst,
                                 clq_pass pass);
clq_status clq__cl_minmax(clq_context *ctx, const clq_minmax_op *op, clq_pass pass);
clq_status clq__cl_qparams(clq_context *ctx, const clq_qparams_op *op, clq_pass pass);
clq_status clq__cl_quantize(clq_context *ctx, const clq_quantize_op *op, clq_pass pass);
clq_status clq__cl_dequantize(clq_context *ctx, const clq_dequantize_op *op, clq_pass pass);
clq_status clq__cl_gemm_pack(clq_context *ctx, const clq_pack_op *op, clq_packed_weights *w);
void clq__cl_gemm_unpack(clq_packed_weights *w);
clq_status clq__cl_rowsums(clq_context *ctx, const clq_rowsums_op *op, clq_pass pass);
clq_status clq__cl_gemm(clq_context *ctx, const clq_gemm_op *op, clq_pass pass);
clq_status clq__cl_histogram(clq_context *ctx, const clq_histogram_op *op, clq_pass pass);
clq_status clq__cl_error_stats(clq_context *ctx, const clq_error_op *op, clq_pass pass);
clq_status clq__cl_ggml_quantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass);
clq_status clq__cl_ggml_dequantize(clq_context *ctx, const clq_ggml_op *op, clq_pass pass);

/* How the granule-wise kernels walk a layout (cl_layout.c): granule p covers
 * {base(p) + u * su + v : u < U(p), v < V}, v contiguous (kernels/common.cl). */
typedef struct clq_cl_walk {
    cl_int mode;     /* CLQ_WALK_* (kernels/clq_kernel_args.h) */
    cl_ulong ngran;  /* granules */
    cl_ulong maxcnt; /* elements of the largest granule */
    cl_ulong gpi;    /* granules per work item (> 1 only in mode 2 with short blocks) */
    cl_ulong nparts; /* work items per granule */
    cl_ulong n, outer, axis_len, inner, nblocks, block;
} clq_cl_walk;
/* chunk: elements per work item. */
void clq__cl_walk_init(const clq_layout *l, size_t chunk, clq_cl_walk *w);
/* Layouts whose parameter index is pbase(r) + column along contiguous rows (per
 * axis on an inner-1 axis, per block on a strided axis), with pbase(r) =
 * ((r / pr[0]) * pr[1] + (r % pr[0]) / pr[2]) * pr[3]. Returns 0 for others. */
int clq__cl_cols_layout(const clq_layout *l, cl_ulong *rows, cl_ulong *rlen, cl_ulong pr[4]);

#endif
