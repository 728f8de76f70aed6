#!/usr/bin/env bash
# bench.sh: sets up (benchmark peers included), builds, and runs clquant-bench on the
# default device. Extra arguments go to clquant-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --bench
build=${CLQ_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target clquant-bench
export POCL_CACHE_DIR=${POCL_CACHE_DIR:-$PWD/$build/pocl-cache}
export CLQ_CACHE_DIR=${CLQ_CACHE_DIR:-$PWD/$build/clq-cache}
exec "$build/clquant-bench" "$@"
