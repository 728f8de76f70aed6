/* cl_tool.c: the OpenCL context of the standalone check programs (cl_tool.h). */
#include "cl_tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int clq_tool_opencl_context(const char *tool, clq_context **ctx) {
    clq_context_options o;
    clq_context_options_init(&o);
    o.backend = CLQ_BACKEND_OPENCL;
    o.cache_dir = "off";
    char why[512] = "";
    o.error_buffer = why;
    o.error_buffer_size = sizeof why;
    *ctx = NULL;
    clq_status st = clq_context_create(&o, ctx);
    if (st == CLQ_SUCCESS) return 0;
    const char *req = getenv("CLQ_TEST_REQUIRE_OPENCL");
    int required = req && !strcmp(req, "1");
    printf("%s: %s: no OpenCL context (%s): %s\n", tool, required ? "FAILED" : "skipped",
           clq_status_string(st), why);
    return required || st != CLQ_ERROR_NO_DEVICE ? 1 : 77;
}
