#!/usr/bin/env bash
# gpu-prepare.sh: makes gpu-kit/, everything scripts/gpu-check.sh needs on a machine
# with an NVIDIA GPU but no network and no package manager. Run it here, where the
# package registries are: it builds the library, the tests and clquant-bench (Release,
# no RPATH), lists the ctest tests with their arguments and environment, and carries
# every runtime library they load that is not glibc (the OpenCL ICD loader, Criterion
# and its dependencies, CLBlast), taken from the Debian packages that own them
# (apt-get download + dpkg -x), plus clinfo.
#   scripts/gpu-prepare.sh [--kit DIR] [--build DIR] [--no-setup]
# Defaults: --kit gpu-kit, --build build-gpu-kit (both ignored by git). The kit has no
# absolute path of this machine in it: carry it to the GPU machine as gpu-kit/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=$root/gpu-kit
build=$root/build-gpu-kit
setup=1
while (($#)); do
  case $1 in
    --kit) kit=$(realpath -m "$2"); shift 2 ;;
    --build) build=$(realpath -m "$2"); shift 2 ;;
    --no-setup) setup=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "gpu-prepare: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
# The kit must travel in at most 64 MiB together with the working tree.
max_kit_mib=56
die() { echo "gpu-prepare: $*" >&2; exit 1; }
cd "$root"

# ---- 1. packages (build deps and CLBlast, the OpenCL GEMM peer), then the build
((setup)) && bash scripts/setup.sh --gpu-kit
# No RPATH: the kit's binaries find their libraries through gpu-check.sh's
# LD_LIBRARY_PATH, wherever the kit lands. oneDNN and OpenBLAS (CPU peers) are kept
# out: the GPU check runs the OpenCL backend, and oneDNN alone would not fit.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_SKIP_BUILD_RPATH=ON \
  -DCLQ_BUILD_TESTS=ON -DCLQ_BUILD_TOOLS=ON -DCLQ_DNNL_LIBRARY=OFF -DCLQ_OPENBLAS_LIBRARY=OFF >/dev/null
cmake --build "$build" -j"$(nproc)"

# ---- 2. the binaries
rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/lib" "$kit/lib-base" "$kit/licenses"
for f in "$build"/tests/test_* "$build"/tests/clq_* "$build/clq_build_warnings" "$build/clquant-bench"; do
  [[ -f $f && -x $f ]] && cp "$f" "$kit/bin/"
done
cp -P "$build"/libclquant.so* "$kit/lib/"

# ---- 3. the tests, as ctest would run them: name, timeout, skip code, env, command.
# Not carried: offline_compile (clang, libclc, ptxas: host tools, no device),
# install_consumer (cmake and a compiler) and gpu_check_scripts (lints these scripts).
# The build dir's test-cache becomes @CACHE@, which gpu-check.sh points at its own
# temp dir, and a kit binary named as an argument @BIN@/NAME.
(cd "$build" && ctest --show-only=json-v1) >"$build/gpu-kit-tests.json"
python3 - "$build" "$kit" <<'EOF'
import json, os, shlex, sys
build, kit = sys.argv[1], sys.argv[2]
skip = {"offline_compile", "install_consumer", "gpu_check_scripts"}
rows = []
for t in json.load(open(os.path.join(build, "gpu-kit-tests.json")))["tests"]:
    if t["name"] in skip:
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    exe, args = t["command"][0], t["command"][1:]
    if not os.path.exists(os.path.join(kit, "bin", os.path.basename(exe))):
        sys.exit("gpu-prepare: test %s runs %s, which is not in the kit" % (t["name"], exe))
    env = [e.replace(os.path.join(build, "test-cache"), "@CACHE@") for e in props.get("ENVIRONMENT", [])]
    # a wrapper's program argument (clq_cpu_level LEVEL PROGRAM ...): the kit's copy
    args = ["@BIN@/" + os.path.basename(a)
            if a.startswith(build + "/") and os.path.exists(os.path.join(kit, "bin", os.path.basename(a)))
            else a for a in args]
    for s in env + args:
        if " " in s or "\t" in s or build in s or s.startswith("/"):
            sys.exit("gpu-prepare: test %s: '%s' cannot travel" % (t["name"], s))
    rows.append((t["name"], int(props.get("TIMEOUT", 600)), int(props.get("SKIP_RETURN_CODE", -1)),
                 " ".join(env) or "-", os.path.basename(exe),
                 " ".join(shlex.quote(a) for a in args) or "-"))
# The longest (by its ctest timeout) first, so it does not start last.
rows.sort(key=lambda r: -r[1])
with open(os.path.join(kit, "tests.tsv"), "w") as f:
    f.write("# name\ttimeout_s\tskip_rc\tenvironment\texecutable\targuments (shell words); - is none\n")
    for r in rows:
        f.write("\t".join(str(x) for x in r) + "\n")
print("gpu-prepare: %d tests (not carried: %s)" % (len(rows), ", ".join(sorted(skip))))
EOF

# ---- 4. the runtime libraries: ldd on everything in the kit, each library mapped to
# the Debian package that owns it, the package unpacked with dpkg -x and its shared
# libraries copied. glibc (libc6) is not carried: it must be the machine's own, and
# gpu-check.sh checks that it is new enough. libstdc++/libgcc_s go to lib-base, used
# only where the machine's own are too old.
debs=$build/gpu-kit-debs
mkdir -p "$debs"
owner() { # the package owning library path $1, or nothing
  local p cand
  for cand in "$1" "$(realpath "$1")"; do
    for p in "$cand" "${cand#/usr}" "/usr$cand"; do
      dpkg -S "$p" 2>/dev/null | grep -v '^diversion' | head -1 | cut -d: -f1 && return 0
    done
  done
  return 0
}
declare -A pkg_of_done=()
sources=()
carry_pkg() { # $1 package, $2 destination folder in the kit
  local pkg=$1 dest=$2 ver deb x
  [[ -n ${pkg_of_done[$pkg]:-} ]] && return 0
  pkg_of_done[$pkg]=1
  ver=$(dpkg-query -W -f='${Version}' "$pkg")
  x=$(mktemp -d)
  find_deb() { local d; deb=""; for d in "$debs/${pkg}_${ver//:/%3a}"_*.deb; do [[ -f $d ]] && deb=$d; done; return 0; }
  find_deb
  [[ -z $deb ]] && (cd "$debs" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1) && find_deb
  if [[ -n $deb ]]; then
    dpkg -x "$deb" "$x"
    sources+=("$pkg $ver $(basename "$deb")")
  else # no registry reachable: the installed files are the same bytes
    dpkg -L "$pkg" | while read -r f; do
      [[ -d $f ]] || { mkdir -p "$x$(dirname "$f")" && cp -P "$f" "$x$f"; }
    done
    sources+=("$pkg $ver (installed files: apt-get download failed)")
  fi
  find "$x" -maxdepth 4 -path '*/lib/x86_64-linux-gnu/*' -name '*.so*' \( -type f -o -type l \) \
    -exec cp -P {} "$dest/" \;
  [[ -f $x/usr/share/doc/$pkg/copyright ]] && cp "$x/usr/share/doc/$pkg/copyright" "$kit/licenses/$pkg.copyright"
  [[ -f $x/usr/bin/clinfo ]] && cp "$x/usr/bin/clinfo" "$kit/bin/"
  rm -rf "$x"
}
carry_pkg ocl-icd-libopencl1 "$kit/lib"
carry_pkg clinfo "$kit/lib"
for _ in 1 2 3; do
  missing=0
  while read -r lib; do
    pkg=$(owner "$lib")
    [[ -n $pkg ]] || die "no package owns $lib"
    case $pkg in
      libc6) ;;
      libstdc++6|libgcc-s1) carry_pkg "$pkg" "$kit/lib-base" ;;
      *) carry_pkg "$pkg" "$kit/lib"; missing=1 ;;
    esac
  done < <(for f in "$kit"/bin/* "$kit"/lib/*.so*; do
             LD_LIBRARY_PATH=$kit/lib:$kit/lib-base ldd "$f" 2>/dev/null || true
           done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
           grep -v -e "^$kit/")
  ((missing)) || break
done
notfound=$(for f in "$kit"/bin/* "$kit"/lib/*.so*; do
             LD_LIBRARY_PATH=$kit/lib:$kit/lib-base ldd "$f" 2>/dev/null | { grep 'not found' || true; } | sed "s|^|$(basename "$f"): |"
           done | sort -u)
[[ -z $notfound ]] || die "libraries not found: $notfound"

# ---- 5. checks: nothing of this machine's paths in the ELF headers, versions needed, size
for f in "$kit"/bin/* "$kit"/lib/*.so* "$kit"/lib-base/*.so*; do
  [[ -L $f ]] && continue
  rp=$(readelf -d "$f" 2>/dev/null | grep -E 'R(UN)?PATH' | grep -v '\$ORIGIN' || true)
  [[ -z $rp ]] || die "$(basename "$f") has an RPATH: $rp"
done
need_ver() { # the highest symbol version with prefix $1 that the kit's ELF files need
  for f in "$kit"/bin/* "$kit"/lib/*.so* "$kit"/lib-base/*.so*; do
    [[ -L $f ]] || readelf -V --wide "$f" 2>/dev/null | grep -A1000 'Version needs' | grep -o "Name: $1[0-9.]*"
  done | sed 's/Name: //' | sort -uV | tail -1
}
{
  echo "glibc libc.so.6 $(need_ver GLIBC_)"
  echo "libstdc++6 libstdc++.so.6 $(need_ver GLIBCXX_)"
  echo "libgcc-s1 libgcc_s.so.1 $(need_ver GCC_)"
} >"$kit/needs.txt"
kib=$(du -sk "$kit" | cut -f1)
((kib <= max_kit_mib * 1024)) || die "the kit is $((kib / 1024)) MiB, over $max_kit_mib MiB"
[[ -z $(find "$kit" -name '*pocl*' -o -name 'kcache' -o -name '*.clq*') ]] || die "a program cache is in the kit"
{
  echo "clquant GPU kit, made by scripts/gpu-prepare.sh; read by scripts/gpu-check.sh"
  echo "commit: $(git rev-parse HEAD)$(git diff --quiet HEAD -- host kernels include tests tools CMakeLists.txt || echo ' (plus uncommitted changes)')"
  echo "made: $(date -u '+%Y-%m-%d %H:%M UTC') on $(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -m)"
  echo "compiler: $(cc --version | head -1); cmake build type Release, no RPATH"
  echo "clquant-bench gemm peer: $(LD_LIBRARY_PATH=$kit/lib:$kit/lib-base ldd "$kit/bin/clquant-bench" | grep -c libclblast | sed "s/^0$/none/; s/^[1-9].*/CLBlast/")"
  echo "size: $((kib / 1024)) MiB"
  echo "symbol versions needed from the machine (needs.txt):"; sed 's/^/  /' "$kit/needs.txt"
  echo "packages (lib/, lib-base/, bin/clinfo):"; printf '  %s\n' "${sources[@]}"
  echo "tests: $(($(wc -l <"$kit/tests.tsv") - 1)) (tests.tsv)"
} >"$kit/MANIFEST.txt"
cat "$kit/MANIFEST.txt"
echo "gpu-prepare: kit ready in ${kit#"$root"/}; on the GPU machine: bash scripts/gpu-check.sh LOGDIR"
