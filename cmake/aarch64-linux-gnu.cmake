# aarch64-linux-gnu.cmake: toolchain file for a cross build to 64-bit ARM Linux with
# Debian's gcc-aarch64-linux-gnu (scripts/aarch64-check.sh sets it all up and runs it).
#   CLQ_AARCH64_ROOT  (cache or environment) a directory of unpacked arm64 .debs: the
#                     OpenCL ICD loader, Criterion and their run-time dependencies. The
#                     build finds its libraries there, and the tests run under
#                     qemu-aarch64 with it as the guest's library root.
#   CLQ_AARCH64_CC    the compiler (default aarch64-linux-gnu-gcc); "clang" builds with
#                     clang --target=aarch64-linux-gnu on the same cross sysroot.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

if(NOT CLQ_AARCH64_ROOT)
  set(CLQ_AARCH64_ROOT "$ENV{CLQ_AARCH64_ROOT}")
endif()
if(NOT CLQ_AARCH64_ROOT OR NOT IS_DIRECTORY "${CLQ_AARCH64_ROOT}")
  message(FATAL_ERROR "CLQ_AARCH64_ROOT (arm64 libraries) not set or missing: run scripts/aarch64-check.sh")
endif()
set(CLQ_AARCH64_ROOT "${CLQ_AARCH64_ROOT}" CACHE PATH "unpacked arm64 libraries")
if(NOT CLQ_AARCH64_CC)
  set(CLQ_AARCH64_CC "$ENV{CLQ_AARCH64_CC}")
endif()
# try_compile projects re-read this file: they need the same two settings.
set(ENV{CLQ_AARCH64_ROOT} "${CLQ_AARCH64_ROOT}")
set(ENV{CLQ_AARCH64_CC} "${CLQ_AARCH64_CC}")

if(CLQ_AARCH64_CC STREQUAL "clang")
  set(CMAKE_C_COMPILER clang)
  set(CMAKE_C_COMPILER_TARGET aarch64-linux-gnu)
else()
  set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
endif()

# Headers and libraries come from the cross libc (libc6-dev-arm64-cross) and the root;
# programs (nm, cmake) from the host.
set(CMAKE_FIND_ROOT_PATH "${CLQ_AARCH64_ROOT}" /usr/aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# libcriterion.so.3 needs libgit2, libnanomsg, ... which only the root holds.
set(CMAKE_EXE_LINKER_FLAGS_INIT
  "-Wl,-rpath-link,${CLQ_AARCH64_ROOT}/usr/lib/aarch64-linux-gnu:${CLQ_AARCH64_ROOT}/lib/aarch64-linux-gnu")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")

find_program(CLQ_QEMU_AARCH64 qemu-aarch64)
if(CLQ_QEMU_AARCH64)
  # ctest runs every test binary through qemu-aarch64. Criterion re-executes the test
  # binary for each test (BoxFort), which the host kernel cannot run without binfmt_misc:
  # tests/qemu_exec.c (built by tests/CMakeLists.txt), preloaded in the guest, makes that
  # exec start qemu-aarch64 again.
  # No OpenCL driver in the guest: an empty vendor dir, so the OpenCL tests skip, even
  # in scripts/test.sh, which requires a device of the host's builds.
  set(CMAKE_CROSSCOMPILING_EMULATOR env -u CLQ_TEST_REQUIRE_OPENCL
    CLQ_QEMU=${CLQ_QEMU_AARCH64} QEMU_LD_PREFIX=${CLQ_AARCH64_ROOT}
    QEMU_SET_ENV=LD_PRELOAD=${CMAKE_BINARY_DIR}/tests/clq_qemu_exec.so,OCL_ICD_VENDORS=${CLQ_AARCH64_ROOT}/etc/OpenCL/vendors
    ${CLQ_QEMU_AARCH64})
endif()
