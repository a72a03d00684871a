#!/usr/bin/env bash
# The main job: installs what it needs, builds simdrop_bench (Release), runs the benchmark suite on this
# CPU, then the theory lab (simdrop_theory: the seed text's claims, measured), and writes a report (tables
# and pictures) to reports/runs/<hostname>-<UTC date-time>/. The terminal shows the stages, the benchmarks'
# progress ([done/total] name: one updating line on a terminal, a line every 10 s or so otherwise) and the
# report's path; the build's output and the benchmarks' console table go to build.log and benchmark.log
# beside the report.
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
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$1' (expected --full, --no-torch, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
source scripts/deps.sh
packages=("${BUILD_PACKAGES[@]}")
[ "$torch" = ON ] && packages+=("${TORCH_PACKAGES[@]}")   # libtorch-dev, python3-torch, libjemalloc2
need_packages "${packages[@]}"

mkdir -p build
build_log=build/report-build.log
# build: configure and build into $build_log; one line on success, the log's end on failure.
build() {
  cmake --preset release -DSIMDROP_WITH_TORCH="$torch" -DSIMDROP_WITH_TORCH_OPS="$torch" &&
    cmake --build --preset release --target simdrop_bench simdrop_theory -j "$(nproc)" &&
    # simdrop in PyTorch: the op library and package, for the Python benchmark below.
    { [ "$torch" = OFF ] || cmake --build --preset release --target simdrop_python_package -j "$(nproc)"; }
}
echo "== build (Release, PyTorch baseline: $torch; log: $build_log)"
start=$SECONDS
if ! build > "$build_log" 2>&1; then
  tail -n 40 "$build_log"
  echo "error: the build failed (whole log: $build_log)" >&2
  exit 1
fi
echo "   built in $((SECONDS - start)) s"

stamp="$(hostname)-$(date -u +%Y%m%dT%H%M%SZ)"
[ -n "$out" ] || out="reports/runs/$stamp"
mkdir -p build/runs
json="build/runs/$stamp.json"
# The logs are written under build/ while the job runs and copied beside the report at the end (the report
# generator replaces $out as a whole once the report is complete).
bench_log="build/runs/$stamp.benchmark.log"

# show_progress LOG: reads simdrop_bench's stderr; every line goes to LOG, the "[done/total] name" lines to
# the terminal: on a terminal one line rewritten in place, otherwise a line at most every 10 s (and the last).
show_progress() {
  local line="" pending="" next=0 width=80 tty=0
  if [ -t 1 ]; then
    tty=1
    width=$(tput cols 2>/dev/null) && [ "$width" -ge 20 ] 2>/dev/null || width=80
  fi
  while IFS= read -r line; do
    printf '%s\n' "$line" >&3
    [[ "$line" =~ ^\[[0-9]+/[0-9]+\]\  ]] || continue
    line="   $line ($((SECONDS - start)) s)"
    if [ "$tty" = 1 ]; then
      printf '\r\033[K%s' "${line:0:$((width - 1))}"
    elif [ "$SECONDS" -ge "$next" ]; then
      printf '%s\n' "$line"
      pending="" next=$((SECONDS + 10))
    else
      pending=$line
    fi
  done 3>> "$1"
  if [ "$tty" = 1 ]; then
    printf '\n'
  elif [ -n "$pending" ]; then
    printf '%s\n' "$pending"
  fi
}
echo "== benchmarks: profile $profile (console output: $bench_log)"
start=$SECONDS
# The console table (stdout, line-buffered so that it interleaves with the progress lines) goes to the log;
# stderr (the context header, the progress, any error) to show_progress.
if ! stdbuf -oL build/release/bench/simdrop_bench --profile="$profile" --benchmark_out="$json" \
     --benchmark_out_format=json 2>&1 >> "$bench_log" | show_progress "$bench_log"; then
  tail -n 40 "$bench_log"
  echo "error: simdrop_bench failed (whole log: $bench_log)" >&2
  exit 1
fi
# The bench's console reporter always writes colours: the log keeps plain text.
sed -i 's/\x1b\[[0-9;]*m//g' "$bench_log"
echo "   $(grep -cE '^\[[0-9]+/[0-9]+\] ' "$bench_log") benchmarks in $((SECONDS - start)) s"
# Theory lab (issue #13): the seed text's claims, measured (a few seconds); the report copies it to $out/theory.json.
echo "== theory lab"
build/release/theory/simdrop_theory --out "build/runs/$stamp.theory.json"
if [ "$torch" = ON ]; then
  # Part two (issue #22): the claims about trained networks, on real training runs with simdrop.torch (about 4
  # minutes); merged into the same JSON, so the report's theory section shows them with the others.
  echo "== theory lab on trained networks (theory/trained_networks.py)"
  PYTHONPATH=build/release/python /usr/bin/python3 theory/trained_networks.py --theory "build/runs/$stamp.theory.json"
else
  echo "   (the trained-network claims need PyTorch: left out with --no-torch)"
fi
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
cp "$build_log" "$out/build.log"
cp "$bench_log" "$out/benchmark.log"
# The run's raw JSON kept gzip-compressed (about a fifteenth of the bytes; the report generator reads .json.gz
# as it is), so that committed runs stay small.
for raw in "$out"/raw/*.json; do
  if [ -f "$raw" ]; then gzip -9 -n -f "$raw"; fi
done
echo "== done: $out/report.md"
echo "   logs: $out/build.log (build), $out/benchmark.log (the benchmarks' console output)"
