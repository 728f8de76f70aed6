#!/usr/bin/env bash
# gpu-check.sh LOGDIR: the one-shot check on a machine with an NVIDIA GPU and no network
# or package manager, from the kit scripts/gpu-prepare.sh made (gpu-kit/, or $GPU_KIT).
# It registers the NVIDIA OpenCL driver where no ICD file names it (in a vendors dir of
# its own, never /etc), lists the platforms and devices, runs every ctest test of the
# kit on the GPU (the only platform the tests see when NVIDIA's loads; else whatever
# OpenCL device there is, and it says so), then clquant-bench and clquant-bench gemm
# there. Everything fits in $GPU_CHECK_BUDGET_S (default 470 s). LOGDIR gets six
# files: summary.txt, platforms.txt, tests.log, bench.log, gemm.log, logs.tar.gz (each
# test's own log, the ICD files used, the environment). Exit 0 when every test passed
# and both benches ran, 1 otherwise, 2 without a kit or LOGDIR.
# Knobs: GPU_CHECK_JOBS (tests at a time; default the cores, at most 8),
# GPU_CHECK_BENCH_ARGS / GPU_CHECK_GEMM_ARGS (default none, --quick on a CPU device).
set -uo pipefail
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,13p' "$0"
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${GPU_KIT:-$root/gpu-kit}
if [[ ! -f $kit/tests.tsv || ! -d $kit/bin ]]; then
  echo "gpu-check: no kit at $kit: run scripts/gpu-prepare.sh on a machine with the package registries and carry gpu-kit/" >&2
  exit 2
fi
kit=$(cd "$kit" && pwd)
mkdir -p "$1" || exit 2
logdir=$(cd "$1" && pwd)
t0=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-470}
deadline=$((t0 + budget - 10))          # 10 s for the summary and the archive
tests_until=$((t0 + budget * 64 / 100)) # then clquant-bench and gemm share the rest
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{cache,xdg,nv,t,work,logs,res,vendors-all,vendors-run}
summary=$logdir/summary.txt
: >"$summary"
say() { printf 'gpu-check: %s\n' "$*"; printf '%s\n' "$*" >>"$summary"; }
elapsed() { echo $(($(date +%s) - t0)); }
# The caller's CLQ_* settings would change what the tests check (some are read even by
# contexts that ignore the environment).
for v in $(compgen -e | grep -E '^(CLQ_|POCL_)'); do unset "$v"; done

say "clquant GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), budget ${budget} s"
say "kit: $(sed -n 2p "$kit/MANIFEST.txt" 2>/dev/null); $(grep -m1 '^made:' "$kit/MANIFEST.txt" 2>/dev/null)"
say "machine: $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}"), $(uname -srm), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"

# ---- libraries: glibc must be the machine's own; libstdc++/libgcc_s the machine's when new enough
sys_lib() { # the machine's x86-64 copy of soname $1
  local p
  p=$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}')
  [[ -z $p ]] && for p in /lib/x86_64-linux-gnu/$1 /usr/lib/x86_64-linux-gnu/$1 /lib64/$1 /usr/lib64/$1 ""; do
    [[ -e $p ]] && break
  done
  echo "$p"
}
ld=$kit/lib
base_note="the machine's"
while read -r what soname ver; do
  [[ -n $ver ]] || continue
  sys=$(sys_lib "$soname")
  if [[ -n $sys ]] && grep -qaF "$ver" "$sys"; then continue; fi
  if [[ $what == glibc ]]; then
    say "PROBLEM: this machine's glibc (${sys:-not found}) lacks $ver, which the kit's binaries need: make the kit on an older distribution"
  else
    base_note="the kit's ($soname: the machine's ${sys:-is missing}${sys:+ lacks $ver})"
  fi
done <"$kit/needs.txt"
[[ $base_note == "the machine's" ]] || ld=$ld:$kit/lib-base
say "libstdc++/libgcc_s: $base_note"

# ---- the NVIDIA OpenCL driver: find libnvidia-opencl, and an ICD file naming it
nv_lib=""
for c in $(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 / && /x86-64/ {print $NF}') \
         /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/local/nvidia/lib/libnvidia-opencl.so.1 \
         /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 /usr/lib64/libnvidia-opencl.so.1 \
         /usr/lib/x86_64-linux-gnu/nvidia/current/libnvidia-opencl.so.1 /usr/lib/nvidia*/libnvidia-opencl.so.1; do
  [[ -e $c ]] && { nv_lib=$c; break; }
done
if [[ -z $nv_lib ]]; then
  nv_lib=$(timeout 20 find /usr /opt -maxdepth 6 -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
fi
sys_vendors=/etc/OpenCL/vendors
for d in "${OCL_ICD_VENDORS:-}" "${OPENCL_VENDOR_PATH:-}"; do [[ -n $d && -d $d ]] && { sys_vendors=$d; break; }; done
unset OCL_ICD_VENDORS OPENCL_VENDOR_PATH OCL_ICD_FILENAMES
cp "$sys_vendors"/*.icd "$tmp/vendors-all/" 2>/dev/null
sys_icds=$(cd "$tmp/vendors-all" && ls *.icd 2>/dev/null | tr '\n' ' ')
say "ICD files in $sys_vendors: ${sys_icds:-none}"
nv_icd=$(grep -lis 'nvidia' "$tmp"/vendors-all/*.icd | head -1)
no_nvidia=""
if [[ -z $nv_lib ]]; then
  no_nvidia="NO NVIDIA OPENCL DRIVER: libnvidia-opencl.so.1 is not on this machine (ldconfig, /usr/local/nvidia, /usr/lib*, /opt)"
elif [[ -n $nv_icd ]]; then
  say "NVIDIA OpenCL driver: $nv_lib, named by $sys_vendors/$(basename "$nv_icd")"
else
  echo "$nv_lib" >"$tmp/vendors-all/nvidia.icd"
  nv_icd=$tmp/vendors-all/nvidia.icd
  say "NVIDIA OpenCL driver: $nv_lib, named by no ICD file: registered it in this run's own vendors dir ($nv_icd, in logs.tar.gz; /etc left alone)"
fi
# The driver's folder (often /usr/local/nvidia/lib64, outside the loader's paths) holds
# the libraries libnvidia-opencl loads in turn.
[[ -n $nv_lib ]] && ld=$ld:$(dirname "$nv_lib")

run_env=(LD_LIBRARY_PATH="$ld" XDG_CACHE_HOME="$tmp/xdg" CUDA_CACHE_PATH="$tmp/nv" TMPDIR="$tmp/t")
kit_run() { # VENDORS_DIR SECONDS cmd...: a kit binary under the kit's libraries, with a timeout
  local vend=$1 secs=$2
  shift 2
  timeout -k 5 "$secs" env "${run_env[@]}" OCL_ICD_VENDORS="$vend" POCL_CACHE_DIR="$tmp/cache/pocl" \
    CLQ_CACHE_DIR="$tmp/cache/clq" "$@"
}

# ---- platforms and devices
plat=$logdir/platforms.txt
# Where each library of the kit's binaries comes from: only glibc, libstdc++/libgcc_s
# and the driver should be the machine's.
for f in clquant-bench test_gemm clinfo; do
  echo "== $f"; env "${run_env[@]}" ldd "$kit/bin/$f" 2>&1
done >"$tmp/logs/ldd.txt"
if grep -q 'not found' "$tmp/logs/ldd.txt"; then
  say "PROBLEM: libraries not found: $(grep 'not found' "$tmp/logs/ldd.txt" | awk '{print $1}' | sort -u | tr '\n' ' ')(ldd.txt in logs.tar.gz)"
fi
{
  echo "== nvidia-smi"
  if command -v nvidia-smi >/dev/null; then timeout 20 nvidia-smi 2>&1; else echo "(no nvidia-smi)"; fi
  echo; echo "== clinfo -l (ICD files: $(ls "$tmp/vendors-all" | tr '\n' ' '))"
} >"$plat"
list=$(kit_run "$tmp/vendors-all" 30 "$kit/bin/clinfo" -l 2>&1)
echo "$list" >>"$plat"
ndev=$(grep -c 'Device #' <<<"$list")
nv_listed=$(grep -i 'Platform #' <<<"$list" | grep -ci nvidia)
if [[ -n $nv_lib && $nv_listed -eq 0 ]]; then
  no_nvidia="NO NVIDIA OPENCL PLATFORM: $nv_lib is there but the ICD loader lists no NVIDIA platform (platforms.txt has the loader's debug output)"
  { echo; echo "== OCL_ICD_DEBUG=15 clinfo -l"; kit_run "$tmp/vendors-all" 30 env OCL_ICD_DEBUG=15 "$kit/bin/clinfo" -l 2>&1; } >>"$plat"
fi
if ((nv_listed)); then
  grep -lis nvidia "$tmp"/vendors-all/*.icd | xargs -I{} cp {} "$tmp/vendors-run/"
  run_on="the NVIDIA platform alone (the run's ICD dir names only it)"
else
  cp "$tmp"/vendors-all/*.icd "$tmp/vendors-run/" 2>/dev/null
  run_on="every platform listed (the library takes the first usable device)"
fi
{ echo; echo "== clinfo (full)"; kit_run "$tmp/vendors-all" 60 "$kit/bin/clinfo" 2>&1; } >>"$plat"
dev_type=$(kit_run "$tmp/vendors-run" 30 "$kit/bin/clinfo" 2>/dev/null | grep -m1 'Device Type' | awk '{print $NF}')
[[ -n $no_nvidia ]] && say "$no_nvidia: running on whatever OpenCL device there is"
say "platforms and devices ($ndev devices; full clinfo in platforms.txt):"
sed 's/^/  /' <<<"$list" | tee -a "$summary"
if ((ndev == 0)); then
  say "NO OPENCL DEVICE: the OpenCL tests skip (CLQ_TEST_REQUIRE_OPENCL unset) and the benches do not run"
  require=()
else
  say "tests and benches run on: $run_on; device type ${dev_type:-?}"
  require=(CLQ_TEST_REQUIRE_OPENCL=1)
fi

# ---- the tests, as ctest runs them (tests.tsv: arguments and environment from
# tests/CMakeLists.txt), several at a time, each with its own log and time limit
jobs_max=${GPU_CHECK_JOBS:-$(($(nproc) < 8 ? $(nproc) : 8))}
run_test() { # one tests.tsv row
  local name=$1 tmo=$2 skip=$3 envs=$4 exe=$5 args=$6 start left rc status
  local -a envv=() argv=()
  start=$(date +%s)
  left=$((tests_until - start))
  if ((left < 10)); then
    echo "NOT-RUN 0 - out of time" >"$tmp/res/$name"
    return
  fi
  ((tmo > left)) && tmo=$left
  [[ $envs == - ]] || read -ra envv <<<"${envs//@CACHE@/$tmp/cache}"
  [[ $args == - ]] || eval "argv=(${args//@BIN@/$(printf %q "$kit/bin")})"
  # Criterion lists each test, the skipped ones too (clq_cpu_level passes it on)
  [[ $exe == test_* || $exe == clq_cpu_level ]] && argv+=(--verbose)
  mkdir -p "$tmp/work/$name"
  (cd "$tmp/work/$name" && timeout -k 5 "$tmo" env "${run_env[@]}" OCL_ICD_VENDORS="$tmp/vendors-run" \
    "${require[@]}" "${envv[@]}" "$kit/bin/$exe" "${argv[@]}") >"$tmp/logs/$name.log" 2>&1
  rc=$?
  if ((rc == 0)); then status=PASS
  elif ((rc == skip)); then status=SKIP
  elif ((rc == 124 || rc == 137)); then status=TIMEOUT
  else status=FAIL
  fi
  # Criterion's totals (its filtered-out tests are "[SKIP] ...: Test is disabled", not
  # counted), else the program's last line
  local synth skipped
  synth=$(grep -a 'Synthesis:' "$tmp/logs/$name.log" | tail -1 | sed 's/.*Synthesis: //; s/ *$//')
  [[ -n $synth ]] || synth=$(tail -1 "$tmp/logs/$name.log" | cut -c1-100)
  skipped=$(grep -a '^\[SKIP\]' "$tmp/logs/$name.log" | grep -vc 'Test is disabled$')
  ((skipped)) && synth="$synth | skipped: $skipped"
  echo "$status $(($(date +%s) - start)) $rc $synth (limit ${tmo} s)" >"$tmp/res/$name"
}
say "tests: $(($(grep -vc '^#' "$kit/tests.tsv"))) from tests.tsv, $jobs_max at a time, until $((tests_until - t0)) s"
while IFS=$'\t' read -r name tmo skip envs exe args; do
  [[ $name == \#* || -z $name ]] && continue
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n; done
  run_test "$name" "$tmo" "$skip" "$envs" "$exe" "$args" &
done <"$kit/tests.tsv"
wait
pass=0 fail=0
: >"$logdir/tests.log"
while IFS=$'\t' read -r name tmo skip envs exe args; do
  [[ $name == \#* || -z $name ]] && continue
  read -r status secs rest <"$tmp/res/$name"
  case $status in PASS|SKIP) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
  printf '  %-34s %-8s %4s s  rc %s\n' "$name" "$status" "$secs" "$rest" >>"$tmp/table"
  { echo "==== $name: $status after $secs s (rc ${rest%% *})"; echo "env: $envs"; echo "run: $exe $args"
    cat "$tmp/logs/$name.log" 2>/dev/null; echo; } >>"$logdir/tests.log"
done <"$kit/tests.tsv"
say "tests: $pass passed or skipped as a whole, $fail not (FAIL, TIMEOUT or NOT-RUN), at $(elapsed) s:"
tee -a "$summary" <"$tmp/table"

# ---- clquant-bench and clquant-bench gemm on the same device
quick=()
[[ $dev_type == CPU ]] && quick=(--quick)
read -ra bench_args <<<"${GPU_CHECK_BENCH_ARGS-${quick[*]}}"
read -ra gemm_args <<<"${GPU_CHECK_GEMM_ARGS-${quick[*]}}"
bench_ok=1
bench() { # LOG SECONDS args...
  local log=$1 secs=$2 rc
  shift 2
  if ((ndev == 0)); then
    echo "not run: no OpenCL device" >"$log"
    say "$(basename "$log" .log): not run (no OpenCL device)"
    bench_ok=0
    return
  fi
  ((secs < 10)) && secs=10
  echo "run: clquant-bench $* (limit $secs s)" >"$log"
  kit_run "$tmp/vendors-run" "$secs" "$kit/bin/clquant-bench" "$@" >>"$log" 2>&1
  rc=$?
  ((rc == 0)) || bench_ok=0
  say "clquant-bench $*: rc $rc$( ((rc == 124 || rc == 137)) && echo ' (TIMEOUT)') at $(elapsed) s; its tables:"
  grep -a -e '^|' -e '^- device' -e '^device' "$log" | sed 's/^/  /' | tee -a "$summary"
}
left=$((deadline - $(date +%s)))
bench "$logdir/bench.log" $((left - 100 < 150 ? left - 100 : 150)) --backend opencl "${bench_args[@]}"
left=$((deadline - $(date +%s)))
bench "$logdir/gemm.log" $((left < 200 ? left : 200)) gemm --backend opencl "${gemm_args[@]}"

# ---- the archive and the verdict
{ echo "kit: $kit"; echo "LD_LIBRARY_PATH=$ld"; echo "jobs: $jobs_max"; env | sort; } >"$tmp/logs/environment.txt"
cp "$kit/MANIFEST.txt" "$tmp/logs/kit-MANIFEST.txt" 2>/dev/null
tar -czf "$logdir/logs.tar.gz" -C "$tmp" logs vendors-all vendors-run 2>/dev/null
[[ -n $no_nvidia ]] && say "$no_nvidia"
verdict=PASS
((fail == 0 && bench_ok)) || verdict=FAIL
say "verdict: $verdict ($pass/$((pass + fail)) tests passed or skipped, benches $( ((bench_ok)) && echo ran || echo 'failed or did not run')) in $(elapsed) s; logs in $logdir"
[[ $verdict == PASS ]]
