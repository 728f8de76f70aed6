#!/usr/bin/env bash
# gpu-check-lint.sh WORKDIR: the cheap ctest check of scripts/gpu-prepare.sh and
# scripts/gpu-check.sh (ctest gpu_check_scripts): bash syntax, the warnings of
# ShellCheck where it is installed, and gpu-check.sh refusing to run without a kit (code 2, a
# message naming gpu-prepare.sh) before it touches anything.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: gpu-check-lint.sh WORKDIR}
scripts=("$here/gpu-prepare.sh" "$here/gpu-check.sh" "$0")
for s in "${scripts[@]}"; do bash -n "$s"; done
if command -v shellcheck >/dev/null; then
  shellcheck -S warning "${scripts[@]}"
else
  echo "gpu-check-lint: shellcheck not installed: bash -n only"
fi
rm -rf "$work" && mkdir -p "$work"
rc=0
GPU_KIT=$work/no-kit bash "$here/gpu-check.sh" "$work/logs" >"$work/out" 2>&1 || rc=$?
if [[ $rc -ne 2 ]] || ! grep -q 'gpu-prepare.sh' "$work/out" || [[ -e $work/logs ]]; then
  echo "gpu-check-lint: gpu-check.sh without a kit gave rc $rc (want 2, a hint, no log dir):"
  cat "$work/out"
  exit 1
fi
echo "gpu-check-lint: both scripts pass bash -n$(command -v shellcheck >/dev/null && echo ' and shellcheck'); gpu-check.sh refuses a missing kit"
