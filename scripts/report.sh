#!/usr/bin/env bash
# The main job: installs what it needs, builds simdrop_bench (Release), runs the benchmark suite on this
# CPU, then the theory lab (simdrop_theory: the seed text's claims, measured), and writes a report (tables
# and pictures) to reports/runs/<hostname>-<UTC date-time>/.
#
#   ./scripts/report.sh [--full] [--no-torch] [--out DIR]
#     --full      the full grid with 9 repetitions (hours on 2 cores) instead of the quick profile (about 8 minutes on 2 cores)
#     --no-torch  leave PyTorch out (skips installing libtorch-dev, about 1 GiB, and libjemalloc2)
#     --out DIR   where the report goes
set -euo pipefail
cd "$(dirname "$0")/.."
profile=quick torch=ON out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --full) profile=full ;;
    --no-torch) torch=OFF ;;
    --out) [ $# -ge 2 ] || { echo "error: --out needs a folder" >&2; exit 2; }; out="$2"; shift ;;
    --out=*) out="${1#--out=}" ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$1' (expected --full, --no-torch, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
source scripts/deps.sh
packages=("${BUILD_PACKAGES[@]}")
[ "$torch" = ON ] && packages+=("${TORCH_PACKAGES[@]}")   # libtorch-dev, python3-torch, libjemalloc2
need_packages "${packages[@]}"

echo "== build (Release, PyTorch baseline: $torch)"
cmake --preset release -DSIMDROP_WITH_TORCH="$torch" -DSIMDROP_WITH_TORCH_OPS="$torch" >/dev/null
cmake --build --preset release --target simdrop_bench simdrop_theory -j "$(nproc)"
# simdrop in PyTorch: the op library and package, for the Python benchmark below.
[ "$torch" = ON ] && cmake --build --preset release --target simdrop_python_package -j "$(nproc)"

stamp="$(hostname)-$(date -u +%Y%m%dT%H%M%SZ)"
[ -n "$out" ] || out="reports/runs/$stamp"
mkdir -p build/runs
json="build/runs/$stamp.json"
echo "== benchmarks: profile $profile (progress: [done/total] on each line)"
build/release/bench/simdrop_bench --profile="$profile" --benchmark_out="$json" --benchmark_out_format=json
# Theory lab (issue #13): the seed text's claims, measured (a few seconds); the report copies it to $out/theory.json.
echo "== theory lab"
build/release/bench/theory/simdrop_theory --out "build/runs/$stamp.theory.json"
echo "== report"
/usr/bin/python3 reports/simdrop_report.py "$json" --out "$out" --theory "build/runs/$stamp.theory.json"
if [ "$torch" = ON ]; then
  # simdrop in PyTorch: F.dropout against sdt.dropout, forward + backward, with glibc's allocator and with
  # jemalloc (libjemalloc2, preloaded in a child process), and the binding's overhead against the C++ library's
  # forward + regenerated backward (simdrop_bench, built above): a section, tables and a picture.
  echo "== PyTorch benchmark (bench/torch_dropout_bench.py)"
  torch_args=(--quick)
  [ "$profile" = full ] && torch_args=()
  PYTHONPATH=build/release/python /usr/bin/python3 bench/torch_dropout_bench.py "${torch_args[@]}" \
    --allocator both --simdrop-bench build/release/bench/simdrop_bench --out "$out"
  { echo; cat "$out/torch_dropout.md"; } >> "$out/report.md"
fi
echo "== done: $out/report.md"
