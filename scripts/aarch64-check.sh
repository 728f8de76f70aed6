#!/usr/bin/env bash
# aarch64-check.sh: cross-builds clquant for 64-bit ARM Linux (Debian's
# gcc-aarch64-linux-gnu, cmake/aarch64-linux-gnu.cmake) and runs every test suite under
# qemu-aarch64: the CPU path (portable kernels) must pass, and the OpenCL tests skip
# (the guest has no OpenCL device). The last line says what ran.
#   --build-only        set up and build, run nothing (scripts/test.sh runs the tests)
#   CLQ_AARCH64_BUILD_DIR  the build (default build-aarch64); the arm64 libraries the tests
#                          link (Criterion, the OpenCL ICD loader and their dependencies)
#                          are unpacked from Debian's arm64 .debs into its arm64-root/,
#                          not installed: arm64 -dev packages beside the amd64 ones would
#                          make apt remove the host's Criterion.
#   CLQ_AARCH64_ROOT       that root elsewhere (a second build can share the first's)
#   CLQ_AARCH64_CC         clang: build with clang --target=aarch64-linux-gnu instead
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CLQ_AARCH64_BUILD_DIR:-build-aarch64}
root=${CLQ_AARCH64_ROOT:-$build/arm64-root}
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

# Host tools: the cross compiler and libc, qemu-user (scripts/setup.sh lists them too).
need=()
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "aarch64-check: installing ${need[*]}"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# The arm64 root: the run-time closure of Criterion and the ICD loader (libc included,
# for qemu's -L), plus the two -dev packages for their headers and .so links.
if [[ ! -f $root/.complete ]]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo dpkg --add-architecture arm64
    $sudo apt-get update -qq
  fi
  pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
           --no-breaks --no-replaces --no-enhances libcriterion3:arm64 ocl-icd-libopencl1:arm64 |
         grep -E '^[a-z0-9]' | sort -u)
  if [[ -z $pkgs ]]; then
    $sudo apt-get update -qq
    pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
             --no-breaks --no-replaces --no-enhances libcriterion3:arm64 ocl-icd-libopencl1:arm64 |
           grep -E '^[a-z0-9]' | sort -u)
  fi
  rm -rf "$root"
  mkdir -p "$root/debs"
  # shellcheck disable=SC2086 # one word per package
  (cd "$root/debs" && apt-get download -qq -o APT::Sandbox::User=root $pkgs \
     libcriterion-dev:arm64 ocl-icd-opencl-dev:arm64 opencl-c-headers)
  for d in "$root"/debs/*.deb; do dpkg-deb -x "$d" "$root"; done
  # An empty ICD vendor dir: the guest's loader finds no driver (not the host's POCL).
  mkdir -p "$root/etc/OpenCL/vendors"
  touch "$root/.complete"
fi
root=$(cd "$root" && pwd)

cc=${CLQ_AARCH64_CC:-gcc}
t0=$(date +%s)
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCLQ_AARCH64_ROOT="$root" -DCLQ_AARCH64_CC="${CLQ_AARCH64_CC:-}" \
  -DCMAKE_BUILD_TYPE=Release -DCLQ_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"
t1=$(date +%s)
echo "aarch64-check: cross build ($cc) took $((t1 - t0)) s"
[[ ${1:-} == --build-only ]] && exit 0

# Verbose Criterion output, to count what passed and what skipped in the last line.
log=$build/aarch64-check.log
rc=0
(cd "$build" && CRITERION_VERBOSITY_LEVEL=1 ctest -V -j2 --timeout 1800) >"$log" 2>&1 || rc=$?
t2=$(date +%s)
grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|FAILED|Failed' "$log" || true
((rc == 0)) || grep -E '\[(FAIL|----)\]' "$log" | head -60 || true
passed=$(grep -cE '\[PASS\]' "$log" || true)
failed=$(grep -cE '\[FAIL\]' "$log" || true)
skipped=$(grep -cE '\[SKIP\].*no OpenCL device' "$log" || true)
# (a test left out by a variant's --filter reads "Test is disabled": not a skip)
otherskip=$(grep -E '\[SKIP\]' "$log" | grep -v 'no OpenCL device' | grep -vc 'Test is disabled' || true)
suites=$(grep -cE '^ *[0-9]+/[0-9]+ Test' "$log" || true)
echo "aarch64-check: $suites suites under qemu-aarch64 ($cc cross build, Release) in $((t2 - t1)) s:" \
  "$passed Criterion tests passed (CPU path on its portable kernels, and API checks), $failed failed," \
  "$skipped OpenCL tests skipped (no device in the guest), $otherskip other skips;" \
  "$( ((rc == 0)) && echo "ctest passed" || echo "ctest FAILED (log: $log)")"
exit $rc
