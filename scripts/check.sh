#!/usr/bin/env bash
# check.sh: the suite under AddressSanitizer + UBSan (built with gcc, then clang), then
# the CPU-path tests under valgrind memcheck, test_faults under LSan and a bounded run of the
# fuzz target per backend mode. Slow; run before calling an op done (not part of CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dpkg-query -W -f='${Status}' valgrind 2>/dev/null | grep -q "install ok installed" ||
  { [[ $(id -u) -eq 0 ]] && apt-get install -y -qq valgrind; }
# POCL's LLVM leaks by design at exit; leaks in our code show up under valgrind below.
# LLVM installs its own alternate signal stack in threads that build programs, which
# ASan's thread exit then fails to unmap (a CHECK failure): ASan keeps none of its own.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:use_sigaltstack=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for cc in gcc clang; do
  build=build-asan-$cc
  cmake -S . -B $build -DCMAKE_C_COMPILER=$cc -DCMAKE_BUILD_TYPE=Debug -DCLQ_SANITIZE=ON >/dev/null
  cmake --build $build -j"$(nproc)"
  (cd $build && ctest --output-on-failure -j2 --timeout 1200)
done
unset ASAN_OPTIONS UBSAN_OPTIONS
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
# Fault injection under LeakSanitizer (tests/test_faults.c, clang ASan build): the
# wrappers already count the library's allocations; LSan sees what they cannot. POCL's
# LLVM (C++) keeps memory to the end by design: its frames are suppressed (the library
# is C). Criterion ignores a child's LSan exit status, hence the grep.
build=build-asan-clang
printf 'leak:libLLVM\nleak:libpocl\nleak:libOpenCL\nleak:libstdc++\n' >$build/lsan-faults.supp
echo "test_faults under LSan"
LSAN_OPTIONS=suppressions=$PWD/$build/lsan-faults.supp \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:use_sigaltstack=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
CLQ_FAULTS_DIR=$PWD/$build/test-cache/faults POCL_CACHE_DIR=$PWD/$build/test-cache/pocl-test_faults \
  $build/tests/test_faults --jobs 1 >$build/faults-lsan.log 2>&1 || { fail=1; tail -40 $build/faults-lsan.log; }
if grep -q "ERROR: LeakSanitizer" $build/faults-lsan.log; then
  fail=1
  grep -A25 "ERROR: LeakSanitizer" $build/faults-lsan.log | head -80
fi
# The libFuzzer target over the public API (tests/fuzz/run.sh; clang, ASan + UBSan):
# CLQ_FUZZ_SECONDS per mode (default 60). Issue 7's long run: tests/fuzz/run.sh MODE 1800.
for mode in cpu opencl diff; do
  bash tests/fuzz/run.sh $mode "${CLQ_FUZZ_SECONDS:-60}" || fail=1
done
# The tool's model readers (tests/fuzz/fuzz_model.c, built by the clang ASan build above).
for fmt in safetensors gguf; do
  b=build-asan-clang
  cmake --build $b --target fuzz_$fmt -j"$(nproc)" >/dev/null
  mkdir -p $b/fuzz-$fmt/corpus
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    $b/tests/fuzz_$fmt -max_total_time="${CLQ_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix=$b/fuzz-$fmt/ $b/fuzz-$fmt/corpus tests/fuzz/corpus-$fmt \
    >$b/fuzz-$fmt.log 2>&1 || { fail=1; tail -30 $b/fuzz-$fmt.log; }
done
exit $fail
