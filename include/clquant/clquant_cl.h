/* clquant_cl.h: interop with a caller's OpenCL objects (context, queue, memory).
 * Include after clquant.h; needs the OpenCL headers. */
#ifndef CLQUANT_CL_H
#define CLQUANT_CL_H

#include <clquant/clquant.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A context on the caller's cl_context and in-order cl_command_queue (both are
 * retained, and released at destroy). Every op is enqueued on that queue, so it
 * orders with the caller's own work; programs are built for the queue's device.
 * options may be NULL; its backend/device fields are ignored. */
CLQ_API clq_status clq_context_create_from_cl(cl_context cl_ctx, cl_command_queue queue,
                                              const clq_context_options *options,
                                              clq_context **out);

/* Wraps a caller's cl_mem (retained) that must belong to ctx's cl_context. It must be
 * a buffer or sub-buffer (CL_MEM_OBJECT_BUFFER): images and pipes are refused with
 * INVALID_ARGUMENT. Its device access flags hold: an op refuses a CL_MEM_READ_ONLY
 * buffer as an output and a CL_MEM_WRITE_ONLY one as an input (INVALID_ARGUMENT). A
 * cl_mem made with CL_MEM_USE_HOST_PTR (or a sub-buffer of one) is host memory for
 * clq_buffer_destroy, which waits for the context's ops before it drops the reference.
 * CL_MEM_HOST_* flags limit clq_buffer_read/write as they limit the OpenCL calls. */
CLQ_API clq_status clq_buffer_wrap_cl(clq_context *ctx, cl_mem mem, clq_buffer **out);

/* The OpenCL objects behind a context / buffer; INVALID_ARGUMENT on the CPU path.
 * No reference is added. */
CLQ_API clq_status clq_context_get_cl(const clq_context *ctx, cl_context *cl_ctx,
                                      cl_command_queue *queue, cl_device_id *device);
CLQ_API clq_status clq_buffer_get_cl(const clq_buffer *buf, cl_mem *out);

#ifdef __cplusplus
}
#endif
#endif /* CLQUANT_CL_H */
