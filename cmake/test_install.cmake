# test_install.cmake: installs the build into BUILD_DIR/_install, then builds examples/
# (quickstart, linear) against it twice (CMake package, pkg-config) and runs them on
# the CPU path.
set(prefix ${BUILD_DIR}/_install)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
file(REMOVE_RECURSE ${prefix} ${BUILD_DIR}/_consumer)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SRC_DIR}/examples -B ${BUILD_DIR}/_consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${BUILD_DIR}/_consumer)
set(ENV{CLQ_BACKEND} cpu)
set(ENV{CLQ_CACHE_DIR} ${CACHE_DIR}/clq)
run(${BUILD_DIR}/_consumer/quickstart)
run(${BUILD_DIR}/_consumer/linear)
# pkg-config, linking the shared library found through the .pc file
find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig:${prefix}/lib64/pkgconfig)
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs clquant OUTPUT_VARIABLE flags
  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs clquant failed")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(cc -std=c11 -o ${BUILD_DIR}/_consumer/quickstart_pc ${SRC_DIR}/examples/quickstart.c ${flags}
    -Wl,-rpath,${prefix}/lib)
run(${BUILD_DIR}/_consumer/quickstart_pc)
run(cc -std=c11 -o ${BUILD_DIR}/_consumer/linear_pc ${SRC_DIR}/examples/linear.c ${flags} -lm
    -Wl,-rpath,${prefix}/lib)
run(${BUILD_DIR}/_consumer/linear_pc)
