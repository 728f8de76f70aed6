# offline_compile.cmake (included from the top-level CMakeLists.txt with the tests):
#   offline_compile  every kernel program, with the build options of every tuning row
#                    and GEMM variant the host can pick (tests/offline_options.c prints
#                    them from the library's own code), compiled by clang for NVIDIA PTX
#                    (then ptxas), AMD GCN and x86 (scripts/offline-compile.sh); fails on
#                    any error or warning, skipped (77) where clang or libclc is missing.
#   build_warnings   every program built on the OpenCL device here, with the options the
#                    library picks for it: fails on a build log or stderr that is not
#                    empty (tests/build_warnings.c).
#   kernel_args      every kernel's arguments as the OpenCL compiler reports them
#                    (clGetKernelArgInfo) against the host's table from
#                    kernels/clq_kernel_args.h (tests/kernel_args.c).
# Neither is built in a sanitizer build: they check the kernels, not the host code, and
# the Release build of the same tree runs them (scripts/test.sh runs both builds). Nor in
# a cross build (cmake/aarch64-linux-gnu.cmake): they need the host's clang, ptxas and
# OpenCL device.
if(CLQ_SANITIZE OR CMAKE_CROSSCOMPILING)
  return()
endif()
add_executable(clq_offline_options ${PROJECT_SOURCE_DIR}/tests/offline_options.c)
add_executable(clq_build_warnings ${PROJECT_SOURCE_DIR}/tests/build_warnings.c
  ${PROJECT_SOURCE_DIR}/tests/cl_tool.c)
add_executable(clq_kernel_args ${PROJECT_SOURCE_DIR}/tests/kernel_args.c
  ${PROJECT_SOURCE_DIR}/tests/cl_tool.c)
foreach(t clq_offline_options clq_build_warnings clq_kernel_args)
  target_compile_options(${t} PRIVATE ${CLQ_C_FLAGS})
  target_compile_definitions(${t} PRIVATE _GNU_SOURCE CL_TARGET_OPENCL_VERSION=120)
  target_include_directories(${t} PRIVATE ${PROJECT_SOURCE_DIR}/host
    ${PROJECT_SOURCE_DIR}/host/opencl ${PROJECT_SOURCE_DIR}/kernels ${CLQ_GEN_DIR})
  # The static library: these use its internal (hidden) functions.
  target_link_libraries(${t} PRIVATE clquant_static)
endforeach()

add_test(NAME offline_compile
  COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/offline-compile.sh
          --options $<TARGET_FILE:clq_offline_options> --prelude ${CLQ_GEN_DIR}/clq_prelude.cl
          --kernels ${PROJECT_SOURCE_DIR}/kernels
          --work ${PROJECT_BINARY_DIR}/offline-compile)
# The longest test (COST: tests/CMakeLists.txt): it starts first.
set_tests_properties(offline_compile PROPERTIES TIMEOUT 900 SKIP_RETURN_CODE 77 COST 400)
# clq_build_warnings turns POCL's kernel cache off itself (a cached program is not
# compiled, so it would print nothing); its POCL cache dir is its own all the same.
add_test(NAME build_warnings COMMAND clq_build_warnings)
set_tests_properties(build_warnings PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "POCL_CACHE_DIR=${PROJECT_BINARY_DIR}/test-cache/pocl-build_warnings")
# The same on POCL compiling for AVX2 (haswell) on this host: Debian's POCL is built
# with one kernel library per x86 level and POCL_KERNELLIB_NAME picks one.
add_test(NAME build_warnings_avx2 COMMAND clq_build_warnings)
set_tests_properties(build_warnings_avx2 PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "POCL_KERNELLIB_NAME=avx2;POCL_CACHE_DIR=${PROJECT_BINARY_DIR}/test-cache/pocl-build_warnings_avx2")
add_test(NAME kernel_args COMMAND clq_kernel_args)
set_tests_properties(kernel_args PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77
  ENVIRONMENT "POCL_CACHE_DIR=${PROJECT_BINARY_DIR}/test-cache/pocl-kernel_args")
