#!/usr/bin/env bash
# run.sh: builds tests/fuzz/fuzz_api (clang, ASan + UBSan, libFuzzer) in build-fuzz/ and runs it.
#
#   tests/fuzz/run.sh MODE SECONDS       fuzz for SECONDS (MODE: cpu, opencl or diff)
#   tests/fuzz/run.sh MODE FILE...       run inputs once, describing each case (a reproducer)
#
# MODE is FUZZ_BACKEND: the CPU backend (1 or 2 threads, by the input), the OpenCL
# backend, or both with identical status and bytes required (diff). Each mode keeps
# its corpus, program caches and findings under build-fuzz/fuzz-MODE/ (the seeds in
# tests/fuzz/corpus are read, never written). A finding stops the run with status 1
# and leaves build-fuzz/fuzz-MODE/crash-* (or leak-*, timeout-*): rerun it with the
# second form. FUZZ_SKIP=tag,... keeps the generator off a known, reported issue (see
# the top of fuzz_api.c); the issue-7 long run uses no FUZZ_SKIP.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:?usage: run.sh cpu|opencl|diff SECONDS|FILE...}
shift
case $mode in cpu|opencl|diff) ;; *) echo "run.sh: MODE is cpu, opencl or diff" >&2; exit 2 ;; esac
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="${FUZZ_CC:-clang}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCLQ_SANITIZE=ON -DCLQ_FUZZ=ON -DCLQ_BUILD_TOOLS=OFF >/dev/null
fi
cmake --build "$build" --target fuzz_api -j"$(nproc)" >/dev/null
work=$build/fuzz-$mode
mkdir -p "$work/corpus" "$work/clq-cache" "$work/pocl-cache"
export FUZZ_BACKEND=$mode CLQ_CACHE_DIR=$work/clq-cache POCL_CACHE_DIR=$work/pocl-cache
# POCL's LLVM keeps memory to the end by design: leak checks only without OpenCL.
# LLVM's own signal stacks in compiler threads upset ASan's: ASan keeps none.
leaks=0
[[ $mode == cpu ]] && leaks=1
# A huge staging request (a broadcast view of 2^40 elements) must come back as
# CLQ_ERROR_OUT_OF_MEMORY, as malloc would answer outside ASan.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=$leaks:use_sigaltstack=0:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
  secs=$1
  echo "fuzz_api: $mode for ${secs}s (corpus $work/corpus, findings in $work)"
  rc=0
  "$build/tests/fuzz_api" -max_total_time="$secs" -timeout=60 -rss_limit_mb=6144 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$root/tests/fuzz/corpus" \
    >"$work/last.log" 2>&1 || rc=$?
  grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added" "$work/last.log" || true
  if [[ $rc -ne 0 ]]; then
    grep -E "FUZZ FINDING|runtime error|ERROR: (Address|Leak|libFuzzer)|SUMMARY" "$work/last.log" | head -5
    grep -E "Test unit written" "$work/last.log" || true
    echo "fuzz_api: $mode: FINDING (log: $work/last.log)"
    exit 1
  fi
  echo "fuzz_api: $mode: no finding in ${secs}s"
else
  FUZZ_VERBOSE=1 "$build/tests/fuzz_api" "$@"
fi
