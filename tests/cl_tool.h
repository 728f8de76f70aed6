/* cl_tool.h: what the standalone OpenCL check programs (build_warnings, kernel_args)
 * share: an OpenCL context opened under the suite's skip rule. */
#ifndef CLQ_TEST_CL_TOOL_H
#define CLQ_TEST_CL_TOOL_H

#include <clquant/clquant.h>

/* Opens a context on the OpenCL backend with the program cache off. Returns 0 with
 * *ctx set, or the exit code the program should return after this has printed why:
 * 77 (ctest's skip) when there is no OpenCL device, 1 when CLQ_TEST_REQUIRE_OPENCL=1
 * or the failure is anything but CLQ_ERROR_NO_DEVICE. */
int clq_tool_opencl_context(const char *tool, clq_context **ctx);

#endif
