#!/usr/bin/env bash
# offline-compile.sh: compiles every OpenCL kernel program with the build options of
# every tuning row and GEMM variant the host can pick, for real GPU targets, on a
# machine without a GPU (ctest: offline_compile; docs/DESIGN.md, "Offline compilation").
#
#   scripts/offline-compile.sh --options TOOL --prelude FILE [--kernels DIR] [--work DIR]
#                              [--jobs N]
#
# TOOL is the build's clq_offline_options (tests/offline_options.c): it prints, from
# the library's own tuning code, the exact option string the host would pass on each
# described device, and the target that device stands for. FILE is the build's
# generated/clq_prelude.cl (cmake/embed_kernels.cmake: constants from clquant.h and
# kernels/clq_kernel_args.h). Each program is the host's source (the prelude, then
# kernels/common.cl, then kernels/<program>.cl and its parts) compiled by clang:
#   nvptx   nvptx64-nvidia-nvcl, -march=sm_61 (the first arch with dp4a), linked with
#           libclc's nvptx64--nvidiacl.bc, to PTX; then ptxas -arch=sm_90, sm_75 and
#           sm_61 (each arch the installed ptxas supports)
#   amdgcn  amdgcn-amd-amdhsa, -mcpu=gfx90a and gfx1100, linked with libclc's
#           amdgcn--amdhsa.bc, to a code object that must have no undefined symbol;
#           VGPRs allocated by LLVM's basic allocator: the greedy one's eviction
#           search took 140 s of CPU per target on minmax (every other compile here
#           together takes less), and what is checked is that the code compiles
#           clean, not how well its registers are allocated
#   x86     x86_64-pc-linux-gnu, -march=skylake-avx512 and haswell (the CPU rows, as
#           POCL's clang front end compiles them on AVX-512 and AVX2 hosts)
# Any error, any warning, or any other output of clang or ptxas fails the run. One line
# per (program, variant, tuning row, target). Identical preprocessed sources (options
# whose macros a program does not use) are compiled once and reported as such.
# Exit: 0 all compiled clean; 1 a failure; 77 (ctest's skip) when clang or libclc is
# missing and nothing failed. A missing ptxas skips only the ptxas step, with a line
# (PTXAS=path chooses one, PTXAS=none runs without), and the LLVM IR is then searched
# for calls to functions that nothing defines instead.
set -uo pipefail

tool="" prelude="" kernels="" work="" jobs=""
while (($#)); do
  case "$1" in
    --options) tool=$2; shift 2 ;;
    --prelude) prelude=$2; shift 2 ;;
    --kernels) kernels=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "offline-compile: unknown argument $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
kernels=${kernels:-$here/kernels}
work=${work:-${TMPDIR:-/tmp}/clq-offline-compile}
if [[ -z "$jobs" ]]; then
  jobs=$(nproc 2>/dev/null || echo 2)
  ((jobs > 4)) && jobs=4
fi
[[ -x "$tool" ]] || { echo "offline-compile: --options needs the clq_offline_options executable" >&2; exit 2; }
[[ -f "$prelude" ]] || { echo "offline-compile: --prelude needs the build's generated/clq_prelude.cl" >&2; exit 2; }
start=$SECONDS
say() { echo "offline-compile: $*"; }

# ---- tools: a clang whose bitcode version matches the installed libclc ------------
clc_dir=""
for d in /usr/lib/clc /usr/share/clc /usr/lib/llvm-*/share/clc; do
  [[ -f "$d/nvptx64--nvidiacl.bc" || -f "$d/amdgcn--amdhsa.bc" ]] && { clc_dir=$d; break; }
done
clangs=()
for v in 19 18 17 16 15 14; do command -v "clang-$v" >/dev/null && clangs+=("clang-$v"); done
command -v clang >/dev/null && clangs+=(clang)
if ((${#clangs[@]} == 0)); then
  say "skipped: clang not found (scripts/setup.sh installs clang-15 and libclc-15)"
  exit 77
fi
mkdir -p "$work" || exit 1
work=$(cd "$work" && pwd) # absolute: the job scripts cd into it (a relative one passed silently)
# Emptied first, but only a folder this script made (or an empty one).
if [[ -n "$(ls -A "$work")" && ! -f "$work/.clq-offline-compile" ]]; then
  say "--work $work is not empty and not an offline-compile folder; not touching it" >&2
  exit 2
fi
rm -rf "${work:?}"/*
touch "$work/.clq-offline-compile"
probe=$work/probe.cl
printf 'kernel void probe(global float *p, global int *q) { p[0] = rint(p[1]); q[0] = popcount(q[1]) + convert_int_sat_rte(p[3]); }\n' >"$probe"
# libclc names its triples nvptx64--nvidiacl / amdgcn--amdhsa; clang's OpenCL triples are
# nvptx64-nvidia-nvcl / amdgcn-amd-amdhsa, so linking prints "Linking two modules of
# different target triples". The probe accepts exactly that warning and nothing else,
# then the kernels are compiled with -Wno-linker-warnings (it concerns the libraries).
probe_lib() { # clang target-flags... -- lib : prints the problem, returns 1, or 0
  local cc=$1; shift
  local flags=() lib
  while [[ "$1" != "--" ]]; do flags+=("$1"); shift; done
  lib=$2
  local out
  out=$("$cc" -x cl -cl-std=CL1.2 "${flags[@]}" -Xclang -finclude-default-header \
        -Xclang -mlink-bitcode-file -Xclang "$lib" -O2 -S -o "$work/probe.s" "$probe" 2>&1)
  local rc=$?
  if ((rc != 0)); then echo "$out" | head -5; return 1; fi
  out=$(echo "$out" | grep -v -e "Linking two modules of different target triples" \
        -e "^ \[-Wlinker-warnings\]$" -e "^1 warning generated\.$" | grep -v '^$')
  [[ -z "$out" ]] || { echo "$out" | head -5; return 1; }
  return 0
}
cc="" nv_lib="" amd_lib="" missing=0
if [[ -n "$clc_dir" ]]; then
  for c in "${clangs[@]}"; do
    ok_nv=0 ok_amd=0
    [[ -f $clc_dir/nvptx64--nvidiacl.bc ]] &&
      probe_lib "$c" -target nvptx64-nvidia-nvcl -march=sm_61 -- "$clc_dir/nvptx64--nvidiacl.bc" >/dev/null && ok_nv=1
    [[ -f $clc_dir/amdgcn--amdhsa.bc ]] &&
      probe_lib "$c" -target amdgcn-amd-amdhsa -mcpu=gfx90a -nogpulib -- "$clc_dir/amdgcn--amdhsa.bc" >/dev/null && ok_amd=1
    if ((ok_nv || ok_amd)); then
      cc=$c
      ((ok_nv)) && nv_lib=$clc_dir/nvptx64--nvidiacl.bc
      ((ok_amd)) && amd_lib=$clc_dir/amdgcn--amdhsa.bc
      break
    fi
  done
fi
[[ -n "$cc" ]] || cc=${clangs[0]}
cc_path=$(command -v "$cc")
cc_version=$("$cc" --version | head -1)
clc_pkg=""
if [[ -n "$clc_dir" ]] && command -v dpkg >/dev/null; then
  lib_file=$clc_dir/nvptx64--nvidiacl.bc; [[ -f $lib_file ]] || lib_file=$clc_dir/amdgcn--amdhsa.bc
  clc_pkg=$(dpkg -S "$(readlink -f "$lib_file")" 2>/dev/null | head -1 | cut -d: -f1)
  [[ -n "$clc_pkg" ]] && clc_pkg="$clc_pkg $(dpkg-query -W -f='${Version}' "$clc_pkg" 2>/dev/null)"
fi
say "clang: $cc_version ($cc_path)"
if [[ -z "$clc_dir" ]]; then
  say "skipped: nvptx and amdgcn: libclc not found (scripts/setup.sh installs libclc-15)"
  missing=1
else
  say "libclc: $clc_dir${clc_pkg:+ ($clc_pkg)}"
  if [[ -z "$nv_lib" ]]; then
    say "FAILED: $clc_dir/nvptx64--nvidiacl.bc does not link with any installed clang (${clangs[*]}):"
    probe_lib "$cc" -target nvptx64-nvidia-nvcl -march=sm_61 -- "$clc_dir/nvptx64--nvidiacl.bc" | sed 's/^/    /'
    exit 1
  fi
  if [[ -z "$amd_lib" ]]; then
    say "FAILED: $clc_dir/amdgcn--amdhsa.bc does not link with any installed clang (${clangs[*]}):"
    probe_lib "$cc" -target amdgcn-amd-amdhsa -mcpu=gfx90a -nogpulib -- "$clc_dir/amdgcn--amdhsa.bc" | sed 's/^/    /'
    exit 1
  fi
fi

ptxas=""  # PTXAS=path picks one; PTXAS=none runs without
if [[ -n "${PTXAS:-}" ]]; then
  [[ "$PTXAS" == none ]] || ptxas=$PTXAS
else
  for p in "$(command -v ptxas 2>/dev/null)" /usr/local/cuda/bin/ptxas /usr/local/cuda-*/bin/ptxas /usr/bin/ptxas; do
    [[ -n "$p" && -x "$p" ]] && { ptxas=$p; break; }
  done
fi
archs=()
if [[ -z "$ptxas" ]]; then
  say "skipped: ptxas step: ptxas not found (the CUDA toolkit's; PTX is still generated)"
else
  ptxas_version=$("$ptxas" --version | grep -o 'release [0-9.]*, V[0-9.]*' | head -1)
  say "ptxas: ${ptxas_version:-?} ($ptxas)"
  printf '.version 7.0\n.target sm_61\n.address_size 64\n.visible .entry e() { ret; }\n' >"$work/probe.ptx"
  for a in sm_90 sm_75 sm_61; do
    if out=$("$ptxas" -arch=$a -o /dev/null "$work/probe.ptx" 2>&1) && [[ -z "$out" ]]; then
      archs+=("$a")
    else
      say "skipped: ptxas $a: this ptxas does not assemble for $a ($(echo "$out" | head -1))"
    fi
  done
fi

# ---- what to compile ---------------------------------------------------------------
if ! "$tool" >"$work/options.tsv" 2>"$work/options.err"; then
  say "FAILED: $tool:"; sed 's/^/    /' "$work/options.err"; exit 1
fi
# Parts of programs (CLQ_PROGRAM_PARTS in kernels/clq_kernel_args.h, as P(program, part)
# rows), appended to their program in the order listed, as the host does; a part is no
# program of its own.
declare -A parts_of=() is_part=()
while read -r prog part; do
  parts_of[$prog]+=" $part"; is_part[$part]=1
done < <(sed -n '/^#define CLQ_PROGRAM_PARTS(P)/,/[^\\]$/p' "$kernels/clq_kernel_args.h" |
         sed -n 's/^ *P(\([a-z0-9_]*\), *\([a-z0-9_]*\)).*/\1 \2/p')
programs=()
for f in "$kernels"/*.cl; do
  n=$(basename "$f" .cl)
  [[ "$n" == common || -n "${is_part[$n]:-}" ]] || programs+=("$n")
done
mkdir -p "$work/src" "$work/out"
for p in "${programs[@]}"; do
  files=("$prelude" "$kernels/common.cl" "$kernels/$p.cl")
  for q in ${parts_of[$p]:-}; do files+=("$kernels/$q.cl"); done
  cat "${files[@]}" >"$work/src/$p.cl"
done
prelude_lines=$(wc -l <"$prelude")
common_lines=$(( $(wc -l <"$kernels/common.cl") + prelude_lines ))
# The khr dot product: the drivers that advertise cl_khr_integer_dot_product declare
# dot(char4, char4) and link its implementation; clang declares it for SPIR only and
# libclc has none. The stand-in declares the extension's macros and defines the
# function portably, so the kernel's khr path is what gets compiled and linked.
cat >"$work/khr_dot.cl" <<'EOF'
int __attribute__((overloadable)) dot(char4 a, char4 b) {
    int4 p = convert_int4(a) * convert_int4(b);
    return (p.x + p.y) + (p.z + p.w);
}
EOF

# target name, clang flags (target, cpu, library), output kind
targets_of() { # class -> lines "name|flags|kind"
  case "$1" in
    nvptx) [[ -n "$nv_lib" ]] && echo "nvptx64 sm_61|-target nvptx64-nvidia-nvcl -march=sm_61 -Wno-linker-warnings -Xclang -mlink-bitcode-file -Xclang $nv_lib|ptx" ;;
    amdgcn) if [[ -n "$amd_lib" ]]; then
        for g in gfx90a gfx1100; do
          echo "amdgcn $g|-target amdgcn-amd-amdhsa -mcpu=$g -nogpulib -Wno-linker-warnings -mllvm -vgpr-regalloc=basic -Xclang -mlink-bitcode-file -Xclang $amd_lib|amdobj"
        done
      fi ;;
    x86-avx512) echo "x86_64 skylake-avx512|-target x86_64-pc-linux-gnu -march=skylake-avx512|obj" ;;
    x86-avx2) echo "x86_64 haswell|-target x86_64-pc-linux-gnu -march=haswell|obj" ;;
  esac
}

declare -A job_of_key=() combo_seen=()
combos=()  # "program|variant|row|target|devices|job"
njobs=0
skipped_classes=""
while IFS=$'\t' read -r class device row variant options; do
  tl=$(targets_of "$class")
  if [[ -z "$tl" ]]; then
    [[ " $skipped_classes " == *" $class "* ]] || skipped_classes+=" $class"
    continue
  fi
  while IFS='|' read -r tname tflags kind; do
    for p in "${programs[@]}"; do
      extra=""
      if [[ "$variant" == dot-khr* ]]; then
        extra="-Dcl_khr_integer_dot_product=1 -D__opencl_c_integer_dot_product_input_4x8bit=1"
        grep -q cl_khr_integer_dot_product "$work/src/$p.cl" && extra+=" -include $work/khr_dot.cl"
      fi
      ckey="$p|$variant|$row|$tname"
      if [[ -n "${combo_seen[$ckey]:-}" ]]; then # another device, same options
        i=${combo_seen[$ckey]}
        combos[i]="${combos[i]%|*}, $device|${combos[i]##*|}"
        continue
      fi
      # shellcheck disable=SC2086
      pre=$("$cc" -x cl -E -P $tflags $options $extra "$work/src/$p.cl" 2>/dev/null | sha1sum | cut -c1-16) ||
        pre="unpreprocessed $ckey" # the compile reports why
      key="$tname|$kind|$pre" # -E shows the stand-in too; the macros alone change no code
      j=${job_of_key[$key]:-}
      if [[ -z "$j" ]]; then
        j=$njobs
        njobs=$((njobs + 1))
        job_of_key[$key]=$j
        out=$work/out/$j
        {
          echo "cd $(printf '%q' "$work")"
          # The GEMM source falls back to the emulated dot product when the compiler does
          # not declare the extension: the variant must keep the kind it was built for.
          if grep -q CLQ_GEMM_DOT_NATIVE "$work/src/$p.cl"; then
            want=$(grep -o -- '-DCLQ_GEMM_DOT_NATIVE=[0-9]*' <<<"$options" | cut -d= -f2)
            echo "$(printf '%q' "$cc") -x cl -E -dM $tflags $options $extra src/$p.cl 2>/dev/null | grep -qx '#define CLQ_GEMM_DOT_NATIVE $want' || { echo 'the kernel fell back from CLQ_GEMM_DOT_NATIVE=$want' >$out.log; echo 'dot product kind' >$out.fail; exit 0; }"
          fi
          case $kind in
            ptx) echo "$(printf '%q' "$cc") -x cl $tflags $options $extra -Xclang -finclude-default-header -Wall -O2 -S -o $out.ptx src/$p.cl >$out.log 2>&1 || { echo clang >$out.fail; exit 0; }"
              if ((${#archs[@]} == 0)); then # no ptxas to refuse a call to a missing function: the IR
                echo "$(printf '%q' "$cc") -x cl $tflags $options $extra -Xclang -finclude-default-header -O2 -S -emit-llvm -o $out.ll src/$p.cl >/dev/null 2>&1"
                echo "grep '^declare' $out.ll | grep -v '@llvm\.' | sed 's/^/undefined function: /' >>$out.log"
              fi
              [[ "$variant" == dot-dp4a* && "$p" == gemm ]] &&
                echo "grep -q 'dp4a\.s32\.s32' $out.ptx || { echo 'no dp4a in the PTX' >>$out.log; echo dp4a >$out.fail; exit 0; }"
              for a in "${archs[@]}"; do
                echo "$(printf '%q' "$ptxas") -arch=$a -o $out.$a.cubin $out.ptx >>$out.log 2>&1 || { echo 'ptxas $a' >$out.fail; exit 0; }"
              done ;;
            amdobj) echo "$(printf '%q' "$cc") -x cl $tflags $options $extra -Xclang -finclude-default-header -Wall -O2 -c -o $out.o src/$p.cl >$out.log 2>&1 || { echo clang >$out.fail; exit 0; }"
              echo "readelf -sW $out.o | awk '\$7 == \"UND\" && \$8 != \"\" {print \"undefined symbol \" \$8}' >>$out.log" ;;
            obj) echo "$(printf '%q' "$cc") -x cl $tflags $options $extra -Xclang -finclude-default-header -Wall -O2 -c -o $out.o src/$p.cl >$out.log 2>&1 || { echo clang >$out.fail; exit 0; }" ;;
          esac
          echo "[ -s $out.log ] && echo output >$out.fail"
          echo "exit 0"
        } >"$out.sh"
      fi
      combo_seen[$ckey]=${#combos[@]}
      combos+=("$p|$variant|$row|$tname|$device|$j")
    done
  done <<<"$tl"
done <"$work/options.tsv"
for c in $skipped_classes; do say "skipped: $c targets (libclc not found)"; done

# ---- compile ----------------------------------------------------------------------
say "${#combos[@]} combinations, $njobs distinct compiles, $jobs at a time; ptxas archs: ${archs[*]:-none}"
if ((njobs > 0)); then
  for ((j = 0; j < njobs; j++)); do
    f=$(grep -o 'src/[a-z0-9_]*\.cl' "$work/out/$j.sh" | head -1)
    w=$(wc -c <"$work/$f")
    grep -q ' -S -o ' "$work/out/$j.sh" && w=$((w + 100000000))
    echo "$w $j"
  done | sort -rn | cut -d' ' -f2 | xargs -P "$jobs" -I{} bash "$work/out/{}.sh"
fi

# ---- report -----------------------------------------------------------------------
fails=0
declare -A first_of_job=() shown=()
for c in "${combos[@]}"; do
  IFS='|' read -r p variant row tname devices j <<<"$c"
  what="$(printf '%-10s %-18s row %s  %-22s' "$p" "$variant" "$row" "$tname")"
  if [[ -n "${first_of_job[$j]:-}" ]]; then
    status="ok (same preprocessed source as ${first_of_job[$j]})"
    [[ -f $work/out/$j.fail ]] && status="FAILED (same source as ${first_of_job[$j]})"
  else
    first_of_job[$j]="$p $variant row $row"
    if [[ -f $work/out/$j.fail ]]; then
      status="FAILED ($(cat "$work/out/$j.fail"))"
      fails=$((fails + 1))
    elif [[ $tname == nvptx64* ]]; then
      status="ok${archs[*]:+, ptxas ${archs[*]}}"
    else
      status="ok"
    fi
  fi
  echo "$what $status  [$devices]"
  if [[ -f $work/out/$j.fail && -z "${shown[$j]:-}" ]]; then
    shown[$j]=1
    echo "    (line numbers: the prelude is lines 1-$prelude_lines, kernels/common.cl up to $common_lines, $p.cl follows${parts_of[$p]:+, then the parts$(printf ' %s.cl' ${parts_of[$p]})})"
    sed 's/^/    /' "$work/out/$j.log" | head -40
  fi
done
elapsed=$((SECONDS - start))
if ((fails)); then
  say "FAILED: $fails of $njobs compiles gave an error or a warning (${elapsed} s)"
  exit 1
fi
if ((missing)) || [[ -n "$skipped_classes" ]]; then
  say "skipped in part: no failure in what ran (${elapsed} s)"
  exit 77
fi
say "every program compiled clean for every target ($njobs compiles, ${elapsed} s)"
exit 0
