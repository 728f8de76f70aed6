/* cl_kernels.c: the kernel table (kernels/clq_kernel_args.h expanded: each kernel's
 * program, name and argument list with the offset and size of every field), and
 * clq__cl_launch, which sets arguments from that list and enqueues the kernel. */
#include <stddef.h>

#include "cl_internal.h"

#define ARG_(S, KIND, TYPE, NAME)                                                          \
    {#NAME, #TYPE, CLQ_CL_ARG_##KIND, offsetof(S, NAME), sizeof(((S *)0)->NAME)},
#define LIST_(PROGRAM, KERNEL, LIST)                                                       \
    static const clq_cl_arg_spec args_##LIST[] = {CLQ_KARGS_##LIST(ARG_, clq_kargs_##LIST)};
#define NOTHING_(PROGRAM, KERNEL, LIST)
CLQ_KERNEL_TABLE(LIST_, NOTHING_)

#define SPEC_(PROGRAM, KERNEL, LIST)                                                       \
    [CLQ_KERNEL_##KERNEL] = {#PROGRAM,                                                     \
                             #KERNEL,                                                      \
                             CLQ_KLIST_##LIST,                                             \
                             #LIST,                                                        \
                             args_##LIST,                                                  \
                             (int)(sizeof args_##LIST / sizeof args_##LIST[0]),            \
                             sizeof(clq_kargs_##LIST)},
const clq_cl_kernel_spec clq__cl_kernel_specs[CLQ_KERNEL_COUNT] = {
    CLQ_KERNEL_TABLE(SPEC_, SPEC_)};

clq_status clq__cl_launch(clq_context *ctx, clq_pass pass, int id, int list, const void *args,
                          cl_uint dims, const size_t *global, const size_t *local) {
    if (id < 0 || id >= CLQ_KERNEL_COUNT || clq__cl_kernel_specs[id].list != list)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "kernel %d launched with argument list %d",
                          id, list);
    const clq_cl_kernel_spec *ks = &clq__cl_kernel_specs[id];
    cl_kernel k;
    clq_status st = clq__cl_kernel(ctx, ks->program, ks->name, &k);
    if (st != CLQ_SUCCESS) return st;
    /* the list as (size, pointer) pairs, in the declared order */
    clq_cl_arg set[CLQ_CL_MAX_ARGS];
    if (ks->nargs > CLQ_CL_MAX_ARGS)
        return clq__error(ctx, CLQ_ERROR_INTERNAL, "%s: %d arguments", ks->name, ks->nargs);
    for (int i = 0; i < ks->nargs; i++)
        set[i] = (clq_cl_arg){ks->args[i].size, (const char *)args + ks->args[i].offset};
    if (local) return clq__cl_run_local(ctx, pass, k, ks->name, set, ks->nargs, dims, global, local);
    return clq__cl_run(ctx, pass, k, ks->name, set, ks->nargs, dims, global);
}
