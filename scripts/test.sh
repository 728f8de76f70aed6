#!/usr/bin/env bash
# test.sh: sets up, builds, and runs the whole test suite (ctest driving Criterion)
# twice: a Release build with the default compiler, and a clang build under
# AddressSanitizer + UBSan (every UBSan report fatal), in one ctest run whose
# summary is the last line. Where POCL is installed the OpenCL tests must run: no
# device, or a skipped OpenCL test, fails the run.
#   CLQ_BUILD_DIR      the Release build (default build)
#   CLQ_SAN_BUILD_DIR  the clang sanitizer build (default build-clang-asan)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${CLQ_BUILD_DIR:-build}
san=${CLQ_SAN_BUILD_DIR:-build-clang-asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)"
cmake -S . -B "$san" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCLQ_SANITIZE=ON >/dev/null
cmake --build "$san" -j"$(nproc)"
if dpkg-query -W -f='${Status}' pocl-opencl-icd 2>/dev/null | grep -q "install ok installed"; then
  export CLQ_TEST_REQUIRE_OPENCL=1
  if ! clinfo -l 2>/dev/null | grep -q "Device"; then
    echo "test.sh: POCL is installed but clinfo lists no OpenCL device" >&2
    clinfo -l >&2 || true
    exit 1
  fi
fi
# One ctest over both builds (the sanitizer build's tests are named clang_asan.*).
# POCL's LLVM leaks by design at exit, so no leak check here (scripts/check.sh runs
# valgrind); LLVM installs its own alternate signal stack in threads that build
# programs, which ASan's thread exit then fails to unmap: ASan keeps none of its own.
all=$build/ctest-all
mkdir -p "$all"
printf 'subdirs("%s")\nsubdirs("%s")\n' "$(cd "$build" && pwd)" "$(cd "$san" && pwd)" \
  >"$all/CTestTestfile.cmake"
export ASAN_OPTIONS=detect_leaks=0:use_sigaltstack=0 UBSAN_OPTIONS=print_stacktrace=1
cd "$all"
exec ctest --output-on-failure -j2 --timeout 900
