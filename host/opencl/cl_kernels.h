/* cl_kernels.h: the host side of kernels/clq_kernel_args.h: an argument struct per
 * list (clq_kargs_<list>), the kernel table (clq__cl_kernel_specs, cl_kernels.c), and
 * CLQ_LAUNCH, which sets a kernel's arguments from its struct and enqueues it. */
#ifndef CLQ_CL_KERNELS_H
#define CLQ_CL_KERNELS_H

#include <stddef.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include "clq_kernel_args.h"

typedef enum clq_cl_arg_kind { CLQ_CL_ARG_IN, CLQ_CL_ARG_OUT, CLQ_CL_ARG_VAL } clq_cl_arg_kind;

/* One kernel argument as declared: its name and OpenCL C type (for VAL the value's
 * type, for IN/OUT the element type), and where it lies in the list's struct. */
typedef struct clq_cl_arg_spec {
    const char *name;
    const char *type;
    clq_cl_arg_kind kind;
    size_t offset, size;
} clq_cl_arg_spec;

/* Host types of the kinds: buffers are cl_mem, values cl_<type> (cl_platform.h). */
#define CLQ_HOST_IN(T) cl_mem
#define CLQ_HOST_OUT(T) cl_mem
#define CLQ_HOST_VAL(T) cl_##T

/* struct clq_kargs_<list>: one field per argument, named and typed as declared. The
 * host fills it by name (designated initializers), never by position. */
#define CLQ_HOST_FIELD_(S, KIND, TYPE, NAME) CLQ_HOST_##KIND(TYPE) NAME;
#define CLQ_HOST_STRUCT_(PROGRAM, KERNEL, LIST)                                            \
    typedef struct clq_kargs_##LIST {                                                      \
        CLQ_KARGS_##LIST(CLQ_HOST_FIELD_, ~)                                               \
    } clq_kargs_##LIST;
#define CLQ_HOST_NOTHING_(PROGRAM, KERNEL, LIST)
CLQ_KERNEL_TABLE(CLQ_HOST_STRUCT_, CLQ_HOST_NOTHING_)

/* CLQ_KERNEL_<kernel>: the kernel's row in clq__cl_kernel_specs; CLQ_KLIST_<list>: its
 * list (the rows of K() in the table). */
#define CLQ_HOST_KERNEL_ID_(PROGRAM, KERNEL, LIST) CLQ_KERNEL_##KERNEL,
enum { CLQ_KERNEL_TABLE(CLQ_HOST_KERNEL_ID_, CLQ_HOST_KERNEL_ID_) CLQ_KERNEL_COUNT };
#define CLQ_HOST_LIST_ID_(PROGRAM, KERNEL, LIST) CLQ_KLIST_##LIST,
enum { CLQ_KERNEL_TABLE(CLQ_HOST_LIST_ID_, CLQ_HOST_NOTHING_) CLQ_KLIST_COUNT };

typedef struct clq_cl_kernel_spec {
    const char *program; /* kernels/<program>.cl */
    const char *name;    /* the kernel function */
    int list;            /* CLQ_KLIST_<list> */
    const char *list_name;
    const clq_cl_arg_spec *args;
    int nargs;
    size_t args_size; /* sizeof(clq_kargs_<list>) */
} clq_cl_kernel_spec;

extern const clq_cl_kernel_spec clq__cl_kernel_specs[CLQ_KERNEL_COUNT];

#endif
