#!/usr/bin/env bash
# check.sh: the suite under AddressSanitizer + UBSan, then the CPU-path tests under
# valgrind memcheck. Slow; run before calling an op done (not part of CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dpkg-query -W -f='${Status}' valgrind 2>/dev/null | grep -q "install ok installed" ||
  { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq valgrind; }
build=build-asan
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Debug -DCLQ_SANITIZE=ON >/dev/null
cmake --build $build -j"$(nproc)"
# POCL's LLVM leaks by design at exit; leaks in our code show up under valgrind below.
(cd $build && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
   ctest --output-on-failure -j2 --timeout 1200 -E install_consumer)
build=build-vg
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build $build -j"$(nproc)"
export CLQ_CACHE_DIR=$PWD/$build/clq-cache POCL_CACHE_DIR=$PWD/$build/pocl-cache
fail=0
for t in $build/tests/test_*; do
  [[ -x $t ]] || continue
  echo "valgrind: $t"
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --trace-children=yes "$t" --jobs 1 --filter "*/*_cpu" >"$t.vg.log" 2>&1 || { fail=1; tail -40 "$t.vg.log"; }
done
exit $fail
