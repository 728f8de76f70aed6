/* kernel_args.c: the host's kernel table (clq__cl_kernel_specs, from
 * kernels/clq_kernel_args.h) against what the OpenCL compiler reports: every program
 * built as the host builds it plus -cl-kernel-arg-info, then for each kernel its
 * argument count, and per argument name, type, address space, const and size
 * (clGetKernelArgInfo); and every kernel a program holds must be in the table.
 * It first checks itself: a table row with two arguments swapped must be refused.
 *
 * Exit: 0 all agree, 1 a mismatch, 77 no OpenCL device (a failure with
 * CLQ_TEST_REQUIRE_OPENCL=1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl_internal.h"
#include "cl_tool.h"
#include "clq_kernels.h"

/* Sizes of the OpenCL C types the lists use, written out here (not taken from the
 * cl_<type> the host fields are made of), so a wrong host type shows. */
static size_t cl_type_size(const char *t) {
    static const struct {
        const char *name;
        size_t size;
    } sizes[] = {{"char", 1}, {"uchar", 1}, {"short", 2}, {"ushort", 2}, {"int", 4},
                 {"uint", 4}, {"long", 8},  {"ulong", 8}, {"float", 4}, {"ulong8", 64},
                 {"long8", 64}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (!strcmp(sizes[i].name, t)) return sizes[i].size;
    return 0;
}

static int arg_info_str(cl_kernel k, cl_uint i, cl_kernel_arg_info what, char *out, size_t size) {
    out[0] = 0;
    return clGetKernelArgInfo(k, i, what, size, out, NULL) == CL_SUCCESS;
}

/* Mismatches of kernel k (built with -cl-kernel-arg-info) against spec, each printed
 * unless quiet; 0 when they agree. */
static int check_kernel(cl_kernel k, const clq_cl_kernel_spec *ks, int quiet) {
    int bad = 0;
#define MISMATCH(...)                                                                      \
    do {                                                                                   \
        bad++;                                                                             \
        if (!quiet) {                                                                      \
            printf("kernel_args: %s: ", ks->name);                                         \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
        }                                                                                  \
    } while (0)
    cl_uint n = 0;
    if (clGetKernelInfo(k, CL_KERNEL_NUM_ARGS, sizeof n, &n, NULL) != CL_SUCCESS) n = 0;
    if (n != (cl_uint)ks->nargs)
        MISMATCH("%u arguments, the table (list %s) has %d", n, ks->list_name, ks->nargs);
    size_t end = 0;
    for (int i = 0; i < ks->nargs && (cl_uint)i < n; i++) {
        const clq_cl_arg_spec *a = &ks->args[i];
        char name[128], type[128], want[136];
        cl_kernel_arg_address_qualifier aq = 0;
        cl_kernel_arg_type_qualifier tq = 0;
        if (!arg_info_str(k, (cl_uint)i, CL_KERNEL_ARG_NAME, name, sizeof name) ||
            !arg_info_str(k, (cl_uint)i, CL_KERNEL_ARG_TYPE_NAME, type, sizeof type) ||
            clGetKernelArgInfo(k, (cl_uint)i, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof aq, &aq,
                               NULL) != CL_SUCCESS ||
            clGetKernelArgInfo(k, (cl_uint)i, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof tq, &tq,
                               NULL) != CL_SUCCESS) {
            MISMATCH("argument %d: clGetKernelArgInfo failed (built without -cl-kernel-arg-info?)", i);
            continue;
        }
        int buf = a->kind != CLQ_CL_ARG_VAL;
        snprintf(want, sizeof want, "%s%s", a->type, buf ? "*" : "");
        if (strcmp(name, a->name))
            MISMATCH("argument %d is \"%s\", the table says \"%s\"", i, name, a->name);
        if (strcmp(type, want))
            MISMATCH("argument %d (%s) has type %s, the table says %s", i, name, type, want);
        cl_kernel_arg_address_qualifier want_aq =
            buf ? CL_KERNEL_ARG_ADDRESS_GLOBAL : CL_KERNEL_ARG_ADDRESS_PRIVATE;
        if (aq != want_aq)
            MISMATCH("argument %d (%s) is in address space 0x%x, the table says 0x%x", i, name,
                     (unsigned)aq, (unsigned)want_aq);
        int is_const = (tq & CL_KERNEL_ARG_TYPE_CONST) != 0;
        if (buf && is_const != (a->kind == CLQ_CL_ARG_IN))
            MISMATCH("argument %d (%s) is %sconst, the table says %s", i, name,
                     is_const ? "" : "not ", a->kind == CLQ_CL_ARG_IN ? "IN" : "OUT");
        size_t want_size = buf ? sizeof(cl_mem) : cl_type_size(a->type);
        if (a->size != want_size)
            MISMATCH("argument %d (%s): the host sets %zu bytes, %s takes %zu", i, name, a->size,
                     want, want_size);
        if (a->offset < end || a->offset + a->size > ks->args_size)
            MISMATCH("argument %d (%s) lies outside its struct field order", i, name);
        end = a->offset + a->size;
    }
    return bad;
#undef MISMATCH
}

/* The program holds only kernels of the table that name it. */
static int check_program_kernels(cl_program prog, const char *program) {
    size_t n = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, 0, NULL, &n) != CL_SUCCESS || !n) {
        printf("kernel_args: %s: CL_PROGRAM_KERNEL_NAMES failed\n", program);
        return 1;
    }
    char *names = calloc(n + 1, 1);
    if (!names || clGetProgramInfo(prog, CL_PROGRAM_KERNEL_NAMES, n, names, NULL) != CL_SUCCESS) {
        free(names);
        printf("kernel_args: %s: CL_PROGRAM_KERNEL_NAMES failed\n", program);
        return 1;
    }
    int bad = 0;
    for (char *save = NULL, *t = strtok_r(names, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
        int found = 0;
        for (int i = 0; i < CLQ_KERNEL_COUNT; i++)
            found |= !strcmp(clq__cl_kernel_specs[i].name, t) &&
                     !strcmp(clq__cl_kernel_specs[i].program, program);
        if (!found) {
            printf("kernel_args: %s.cl has kernel %s, which the table does not list\n", program, t);
            bad = 1;
        }
    }
    free(names);
    return bad;
}

/* Whether the embedded source `src` goes into some program's build (common.cl and
 * the parts do, but for no program of their own): a kernels/ file that nothing builds
 * is a kernel the table forgot. */
static int source_used(const char *src) {
    for (int i = 0; i < CLQ_KERNEL_COUNT; i++) {
        const char *srcs[CLQ_CL_PROGRAM_PARTS];
        size_t lens[CLQ_CL_PROGRAM_PARTS];
        int n = clq__cl_program_sources(clq__cl_kernel_specs[i].program, srcs, lens);
        for (int j = 0; j < n; j++)
            if (srcs[j] == src) return 1;
    }
    return 0;
}

/* A copy of spec with arguments 0 and 1 swapped must fail check_kernel: the check
 * can tell a wrong table from a right one. */
static int self_check(cl_kernel k, const clq_cl_kernel_spec *ks) {
    clq_cl_arg_spec args[64];
    if (ks->nargs < 2 || ks->nargs > 64) return 1;
    memcpy(args, ks->args, sizeof args[0] * (size_t)ks->nargs);
    clq_cl_arg_spec t = args[0];
    args[0] = args[1];
    args[1] = t;
    clq_cl_kernel_spec wrong = *ks;
    wrong.args = args;
    int refused = check_kernel(k, &wrong, 1) > 0;
    wrong.args = ks->args;
    wrong.nargs = ks->nargs - 1;
    refused &= check_kernel(k, &wrong, 1) > 0;
    printf("kernel_args: self-check on %s (two arguments swapped, one missing): %s\n", ks->name,
           refused ? "refused, as it must be" : "NOT REFUSED");
    return !refused;
}

int main(void) {
    clq_context *ctx;
    int rc = clq_tool_opencl_context("kernel_args", &ctx);
    if (rc) return rc;
    clq_cl_impl *impl = clq_cl(ctx);
    char options[sizeof impl->options + 32];
    snprintf(options, sizeof options, "%s -cl-kernel-arg-info", impl->options);
    int bad = 0, checked = 0;
    /* every table row names an embedded program */
    for (int i = 0; i < CLQ_KERNEL_COUNT; i++) {
        const char *srcs[CLQ_CL_PROGRAM_PARTS];
        size_t lens[CLQ_CL_PROGRAM_PARTS];
        if (!clq__cl_program_sources(clq__cl_kernel_specs[i].program, srcs, lens)) {
            printf("kernel_args: program %s of kernel %s is not embedded\n",
                   clq__cl_kernel_specs[i].program, clq__cl_kernel_specs[i].name);
            bad = 1;
        }
    }
    /* every embedded program, its kernels against the table */
    for (size_t pi = 0; pi < clq_kernel_source_count; pi++) {
        const char *program = clq_kernel_sources[pi].name;
        if (!clq__cl_is_program(program)) { /* common.cl, a program's part */
            if (!source_used(clq_kernel_sources[pi].source)) {
                printf("kernel_args: kernels/%s.cl is in no program (not in the kernel table, "
                       "nor in CLQ_PROGRAM_PARTS)\n", program);
                bad = 1;
            }
            continue;
        }
        const char *srcs[CLQ_CL_PROGRAM_PARTS];
        size_t lens[CLQ_CL_PROGRAM_PARTS];
        int nsrc = clq__cl_program_sources(program, srcs, lens);
        if (!nsrc) continue;
        cl_int err;
        cl_program prog = clCreateProgramWithSource(impl->context, (cl_uint)nsrc, srcs, lens, &err);
        if (err == CL_SUCCESS) err = clBuildProgram(prog, 1, &impl->device, options, NULL, NULL);
        if (err != CL_SUCCESS) {
            printf("kernel_args: building %s: %s\n", program, clq__cl_error_name(err));
            if (prog) clReleaseProgram(prog);
            bad = 1;
            continue;
        }
        bad |= check_program_kernels(prog, program);
        for (int j = 0; j < CLQ_KERNEL_COUNT; j++) {
            const clq_cl_kernel_spec *ks = &clq__cl_kernel_specs[j];
            if (strcmp(ks->program, program)) continue;
            cl_kernel k = clCreateKernel(prog, ks->name, &err);
            if (err != CL_SUCCESS) {
                printf("kernel_args: %s.cl has no kernel %s: %s\n", program, ks->name,
                       clq__cl_error_name(err));
                bad = 1;
                continue;
            }
            int m = check_kernel(k, ks, 0);
            if (!checked++) bad |= self_check(k, ks);
            printf("kernel_args: %-10s %-16s %2d arguments (list %s): %s\n", program, ks->name,
                   ks->nargs, ks->list_name, m ? "MISMATCH" : "as declared");
            bad |= m != 0;
            clReleaseKernel(k);
        }
        clReleaseProgram(prog);
    }
    clq_context_destroy(ctx);
    printf("kernel_args: %s\n", bad ? "FAILED"
                                    : "every kernel takes the arguments the host table declares");
    return bad;
}
