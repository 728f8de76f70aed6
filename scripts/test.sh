#!/usr/bin/env bash
# test.sh: sets up, builds, and runs the whole test suite (ctest driving Criterion).
# Where POCL is installed the OpenCL tests must run: no device, or a skipped OpenCL
# test, fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${CLQ_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)"
if dpkg-query -W -f='${Status}' pocl-opencl-icd 2>/dev/null | grep -q "install ok installed"; then
  export CLQ_TEST_REQUIRE_OPENCL=1
  if ! clinfo -l 2>/dev/null | grep -q "Device"; then
    echo "test.sh: POCL is installed but clinfo lists no OpenCL device" >&2
    clinfo -l >&2 || true
    exit 1
  fi
fi
cd "$build"
exec ctest --output-on-failure -j2 --timeout 600
