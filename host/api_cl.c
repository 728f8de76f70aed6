/* api_cl.c: the public interop functions of clquant_cl.h: contexts on a caller's
 * cl_context and queue, wrapped cl_mem buffers, and access to the cl objects. */
#include <stdio.h>
#include <stdlib.h>

#include <clquant/clquant_cl.h>

#include "opencl/cl_internal.h"

static int is_cl(const clq_context *ctx) { return ctx && ctx->ops == &clq__cl_ops; }

clq_status clq_context_create_from_cl(cl_context cl_ctx, cl_command_queue queue,
                                      const clq_context_options *options, clq_context **out) {
    clq_context_options defaults;
    clq_context_options_init(&defaults);
    const clq_context_options *o = options ? options : &defaults;
    /* struct_size first: no other field of a struct smaller than the oldest one is read */
    if (o->struct_size < offsetof(clq_context_options, error_buffer))
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "options->struct_size = %zu; call clq_context_options_init",
                                 o->struct_size);
    if (!cl_ctx) return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT, "cl_ctx is NULL");
    if (!queue) return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT, "queue is NULL");
    if (!out) return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT, "out is NULL");
    cl_context qctx = NULL;
    cl_device_id dev = NULL;
    cl_platform_id plat = NULL;
    cl_command_queue_properties props = 0;
    cl_int err = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof dev, &dev, NULL);
    if (err == CL_SUCCESS)
        err = clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err != CL_SUCCESS)
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "queue: clGetCommandQueueInfo failed (%s)", clq__cl_error_name(err));
    if (qctx != cl_ctx)
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "queue belongs to another cl_context than cl_ctx");
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return clq__create_error(o, CLQ_ERROR_INVALID_ARGUMENT,
                                 "queue is out-of-order; clquant needs an in-order queue");
    err = clGetDeviceInfo(dev, CL_DEVICE_PLATFORM, sizeof plat, &plat, NULL);
    if (err != CL_SUCCESS)
        return clq__create_error(o, CLQ_ERROR_OPENCL, "clGetDeviceInfo(CL_DEVICE_PLATFORM): %s",
                                 clq__cl_error_name(err));
    char why[256];
    clq__cl_device_check(dev, why, sizeof why);
    if (why[0])
        return clq__create_error(o, CLQ_ERROR_UNSUPPORTED, "the queue's device: %s", why);

    clq_context *ctx = NULL;
    clq_status st = clq__context_new(o, &ctx);
    if (st != CLQ_SUCCESS) return st;
    clq_cl_impl *impl = calloc(1, sizeof *impl);
    if (!impl) {
        clq__context_delete(ctx);
        return clq__create_error(o, CLQ_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    clRetainContext(cl_ctx);
    clRetainCommandQueue(queue);
    impl->platform = plat;
    impl->device = dev;
    impl->context = cl_ctx;
    impl->queue = queue;
    ctx->kind = CLQ_BACKEND_OPENCL;
    ctx->impl = impl;
    char reason[512];
    st = clq__cl_finish_init(ctx, reason, sizeof reason);
    if (st != CLQ_SUCCESS) {
        clq__cl_impl_free(impl);
        ctx->impl = NULL;
        clq__context_delete(ctx);
        return clq__create_error(o, st, "%s", reason);
    }
    *out = ctx;
    return CLQ_SUCCESS;
}

static const char *mem_type_name(cl_mem_object_type t) {
    switch (t) {
    case CL_MEM_OBJECT_BUFFER: return "a buffer";
    case CL_MEM_OBJECT_IMAGE2D: return "an image (CL_MEM_OBJECT_IMAGE2D)";
    case CL_MEM_OBJECT_IMAGE3D: return "an image (CL_MEM_OBJECT_IMAGE3D)";
    case CL_MEM_OBJECT_IMAGE2D_ARRAY: return "an image (CL_MEM_OBJECT_IMAGE2D_ARRAY)";
    case CL_MEM_OBJECT_IMAGE1D: return "an image (CL_MEM_OBJECT_IMAGE1D)";
    case CL_MEM_OBJECT_IMAGE1D_ARRAY: return "an image (CL_MEM_OBJECT_IMAGE1D_ARRAY)";
    case CL_MEM_OBJECT_IMAGE1D_BUFFER: return "an image (CL_MEM_OBJECT_IMAGE1D_BUFFER)";
    case 0x10F7: return "a pipe (CL_MEM_OBJECT_PIPE)";
    default: return "not a buffer (unknown CL_MEM_TYPE)";
    }
}

static clq_status buffer_wrap_cl(clq_context *ctx, cl_mem mem, clq_buffer **out) {
    if (!is_cl(ctx))
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_buffer_wrap_cl: the context is not an OpenCL context");
    if (!mem) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_wrap_cl: mem is NULL");
    if (!out) return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_wrap_cl: out is NULL");
    cl_context mctx = NULL;
    size_t size = 0;
    cl_mem_object_type type = 0;
    cl_mem_flags flags = 0;
    cl_mem parent = NULL;
    cl_int err = clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof mctx, &mctx, NULL);
    if (err == CL_SUCCESS) err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err == CL_SUCCESS) err = clGetMemObjectInfo(mem, CL_MEM_TYPE, sizeof type, &type, NULL);
    if (err == CL_SUCCESS) err = clGetMemObjectInfo(mem, CL_MEM_FLAGS, sizeof flags, &flags, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    if (err == CL_SUCCESS && type == CL_MEM_OBJECT_BUFFER && parent) {
        /* a sub-buffer: it inherits the access flags and host memory it did not set */
        cl_mem_flags pflags = 0;
        err = clGetMemObjectInfo(parent, CL_MEM_FLAGS, sizeof pflags, &pflags, NULL);
        flags |= pflags & (CL_MEM_READ_ONLY | CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR);
    }
    if (err != CL_SUCCESS)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_buffer_wrap_cl: mem is not a valid cl_mem (%s)",
                          clq__cl_error_name(err));
    if (mctx != clq_cl(ctx)->context)
        return clq__error(ctx, CLQ_ERROR_CONTEXT_MISMATCH,
                          "clq_buffer_wrap_cl: mem belongs to another cl_context than ctx");
    /* The kernels address memory linearly: an image's bytes are not the tensor's. */
    if (type != CL_MEM_OBJECT_BUFFER)
        return clq__error(ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_buffer_wrap_cl: mem is %s, not a buffer (CL_MEM_OBJECT_BUFFER)",
                          mem_type_name(type));
    clq_buffer *b = NULL;
    clq_status st = clq__buffer_new(ctx, &b);
    if (st != CLQ_SUCCESS) return st;
    clRetainMemObject(mem);
    b->handle = mem;
    b->size = size;
    b->read_only = (flags & CL_MEM_READ_ONLY) != 0;
    b->write_only = (flags & CL_MEM_WRITE_ONLY) != 0;
    b->uses_host = (flags & CL_MEM_USE_HOST_PTR) != 0;
    *out = b;
    return CLQ_SUCCESS;
}

clq_status clq_buffer_wrap_cl(clq_context *ctx, cl_mem mem, clq_buffer **out) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    return CLQ_LOCKED(ctx, buffer_wrap_cl(ctx, mem, out));
}

clq_status clq_context_get_cl(const clq_context *ctx, cl_context *cl_ctx, cl_command_queue *queue,
                              cl_device_id *device) {
    if (!ctx) return CLQ_ERROR_INVALID_ARGUMENT;
    if (!is_cl(ctx))
        return clq__error((clq_context *)ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_context_get_cl: the context runs on the CPU path");
    const clq_cl_impl *impl = ctx->impl;
    if (cl_ctx) *cl_ctx = impl->context;
    if (queue) *queue = impl->queue;
    if (device) *device = impl->device;
    return CLQ_SUCCESS;
}

clq_status clq_buffer_get_cl(const clq_buffer *buf, cl_mem *out) {
    if (!buf) return CLQ_ERROR_INVALID_ARGUMENT;
    if (!is_cl(buf->ctx))
        return clq__error(buf->ctx, CLQ_ERROR_INVALID_ARGUMENT,
                          "clq_buffer_get_cl: the buffer's context runs on the CPU path");
    if (!out) return clq__error(buf->ctx, CLQ_ERROR_INVALID_ARGUMENT, "clq_buffer_get_cl: out is NULL");
    *out = (cl_mem)buf->handle;
    return CLQ_SUCCESS;
}
