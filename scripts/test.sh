#!/usr/bin/env bash
# test.sh: sets up, builds, and runs the whole test suite (ctest driving Criterion)
# three times: a Release build with the default compiler, a clang build under
# AddressSanitizer + UBSan (every UBSan report fatal), and an aarch64 cross build run
# under qemu-aarch64 (scripts/aarch64-check.sh), in one ctest run whose summary is the
# last line. Where POCL is installed the OpenCL tests must run: no device, or a skipped
# OpenCL test, fails the run (except under qemu, whose guest has no device: there they
# skip and the CPU path runs).
#   CLQ_BUILD_DIR          the Release build (default build)
#   CLQ_SAN_BUILD_DIR      the clang sanitizer build (default build-clang-asan)
#   CLQ_AARCH64_BUILD_DIR  the aarch64 cross build (default build-aarch64)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/setup.sh
build=${CLQ_BUILD_DIR:-build}
san=${CLQ_SAN_BUILD_DIR:-build-clang-asan}
a64=${CLQ_AARCH64_BUILD_DIR:-build-aarch64}
# The Release and the sanitizer build share POCL's cache dirs (tests/CMakeLists.txt,
# CLQ_TEST_POCL_CACHE): a suite's second run finds its kernels compiled by the first.
mkdir -p "$build/test-cache/shared"
pocl=$(cd "$build/test-cache/shared" && pwd)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLQ_TEST_POCL_CACHE="$pocl" >/dev/null
cmake --build "$build" -j"$(nproc)"
t1=$SECONDS
# No clquant-bench in the sanitizer build: no test runs it (the Release and the cross
# build still compile it).
cmake -S . -B "$san" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCLQ_SANITIZE=ON -DCLQ_BUILD_TOOLS=OFF -DCLQ_TEST_POCL_CACHE="$pocl" >/dev/null
cmake --build "$san" -j"$(nproc)"
t2=$SECONDS
CLQ_AARCH64_BUILD_DIR=$a64 bash scripts/aarch64-check.sh --build-only
t3=$SECONDS
if dpkg-query -W -f='${Status}' pocl-opencl-icd 2>/dev/null | grep -q "install ok installed"; then
  export CLQ_TEST_REQUIRE_OPENCL=1
  if ! clinfo -l 2>/dev/null | grep -q "Device"; then
    echo "test.sh: POCL is installed but clinfo lists no OpenCL device" >&2
    clinfo -l >&2 || true
    exit 1
  fi
fi
# One ctest over the three builds (the sanitizer build's tests are named clang_asan.*,
# the cross build's aarch64.*).
# POCL's LLVM leaks by design at exit, so no leak check here (scripts/check.sh runs
# valgrind); LLVM installs its own alternate signal stack in threads that build
# programs, which ASan's thread exit then fails to unmap: ASan keeps none of its own.
all=$build/ctest-all
mkdir -p "$all"
printf 'subdirs("%s")\n' "$(cd "$build" && pwd)" "$(cd "$san" && pwd)" "$(cd "$a64" && pwd)" \
  >"$all/CTestTestfile.cmake"
export ASAN_OPTIONS=detect_leaks=0:use_sigaltstack=0 UBSAN_OPTIONS=print_stacktrace=1
cd "$all"
# ctest ends with the list of tests that did not run; the closing line here says
# what ran: counts per outcome, and which builds.
set +e
ctest --output-on-failure -j2 --timeout 900 2>&1 | tee ctest.log
rc=${PIPESTATUS[0]}
set -e
t4=$SECONDS
echo "test.sh: times: setup + Release build $((t1 - t0)) s, sanitizer build $((t2 - t1)) s," \
  "aarch64 root + build $((t3 - t2)) s, ctest $((t4 - t3)) s"
total=$(sed -n 's/.* tests failed out of \([0-9]*\)$/\1/p' ctest.log | tail -1)
failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of .*/\1/p' ctest.log | tail -1)
skipped=$(grep -c '\*\*\*Skipped' ctest.log || true)
echo "test.sh: ${total:-?} tests (gcc Release, clang ASan+UBSan, aarch64 under qemu):" \
  "$(( ${total:-0} - ${failed:-0} - skipped )) passed, ${failed:-?} failed," \
  "$skipped not run (listed above), exit $rc"
exit "$rc"
