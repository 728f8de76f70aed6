#!/usr/bin/env bash
# setup.sh: installs the Debian packages clquant needs (only those missing).
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --bench  also the benchmark peers (CLBlast, oneDNN, OpenBLAS, gemmlowp,
#                             and ONNX Runtime from PyPI in the venv .bench-venv)
#   scripts/setup.sh --gpu-kit  also CLBlast alone: the OpenCL GEMM peer that
#                               scripts/gpu-prepare.sh builds into the GPU kit
set -euo pipefail
# clang + its sanitizer runtime (libclang-rt-dev: Debian's default clang version's
# libclang-rt-N-dev) for scripts/test.sh's ASan + UBSan build; clang-15 and libclc-15
# (libclc's NVIDIA PTX and AMD GCN builtins, built by LLVM 15) for the offline compile
# of the kernels (ctest offline_compile, scripts/offline-compile.sh). ptxas is not a
# Debian package here: it comes from the CUDA toolkit where one is installed. The aarch64
# cross compiler, its libc and qemu-user for the cross build (scripts/aarch64-check.sh,
# which unpacks the arm64 libraries it links into its build dir). Jansson parses the JSON
# of the clquant tool (safetensors headers, --json).
pkgs=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
      libcriterion-dev libjansson-dev clang libclang-rt-dev clang-15 libclc-15
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(libclblast-dev libdnnl-dev libopenblas-dev libgemmlowp-dev)
  # a python3 that makes venvs, for the ONNX Runtime peer below (one on PATH will do)
  python3 -c "import venv, ensurepip" 2>/dev/null || pkgs+=(python3 python3-venv)
elif [[ "${1:-}" == "--gpu-kit" ]]; then
  pkgs+=(libclblast-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#pkgs[@]} packages present"
fi

# ONNX Runtime, the Python peer of `clquant-bench gemm --formats` (tools/bench_ort_peer.py),
# from PyPI into a venv at the repo root that clquant-bench finds by itself. Benchmarks
# only: no test uses it. Where PyPI cannot be reached the bench skips that peer with a line.
if [[ "${1:-}" == "--bench" ]]; then
  venv="$(cd "$(dirname "$0")/.." && pwd)/.bench-venv"
  if "$venv/bin/python3" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then
    echo "setup: ONNX Runtime peer present ($venv)"
  else
    echo "setup: installing onnxruntime, onnx, numpy (PyPI) into $venv"
    { python3 -m venv "$venv" && "$venv/bin/python3" -m pip install -q onnxruntime onnx numpy; } ||
      echo "setup: could not install the ONNX Runtime peer: clquant-bench gemm --formats will skip it"
  fi
fi
