#!/usr/bin/env bash
# bench.sh: sets up (benchmark peers included), builds, and runs clquant-bench on the
# default device: the quantization ops, the int8 GEMM, then the GEMM weight formats
# (4- and 8-bit, per group, against ONNX Runtime). Arguments, when given, go to one
# clquant-bench run instead (e.g. `bash scripts/bench.sh gemm --quick`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench
build=${CLQ_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target clquant-bench
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$PWD/$build/pocl-cache}
export CLQ_CACHE_DIR=${CLQ_CACHE_DIR:-$PWD/$build/clq-cache}
if [ $# -gt 0 ]; then exec "$build/clquant-bench" "$@"; fi
"$build/clquant-bench"
"$build/clquant-bench" gemm
exec "$build/clquant-bench" gemm --formats all
