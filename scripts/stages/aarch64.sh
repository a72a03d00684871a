#!/usr/bin/env bash
# The emulated aarch64 stage: installs the cross toolchain, qemu-user and the arm64 libraries (Debian
# multiarch), cross-builds everything (preset aarch64: cmake/toolchains/aarch64-linux-gnu.cmake), then runs
# under qemu-aarch64 the tests that decide bits (ctest label "emulated": the ISA-path, reference, half,
# family-definition, reproducibility, Philox and ARS tags, the forced SIMDROP_ISA=... and SIMDROP_CALIBRATE=0
# runs, the fuzz corpus replay and the package consumer) and a smoke run of simdrop_bench whose JSON the report
# generator renders. Not run here: the statistical tests ([statistics]: slow under emulation and not
# bit-deciding) and the Python tests (run natively by scripts/test.sh). Timings under qemu say nothing about
# ARM hardware. Prints each step's time; exits non-zero on any failure.
#
#   ./scripts/stages/aarch64.sh            (as root where packages are missing)
#   SIMDROP_STAGE_JOBS=N                   build and ctest parallelism (default: nproc)
#   QEMU_CPU=cortex-a72 ./scripts/stages/aarch64.sh   another emulated CPU (qemu-user reads QEMU_CPU)
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs="${SIMDROP_STAGE_JOBS:-$(nproc)}"
build=build/aarch64
steps=()
stage_start=$SECONDS
step_start=$SECONDS
finish_step() {  # finish_step NAME: records and prints the time since the previous step ended
  local t=$((SECONDS - step_start))
  steps+=("$(printf '%-28s %4d s' "$1" "$t")")
  echo "== aarch64: $1 took ${t} s"
  step_start=$SECONDS
}
summary() {
  echo "== aarch64: step times"
  printf '   %s\n' "${steps[@]}"
  echo "   total                        $((SECONDS - stage_start)) s"
}
trap 'status=$?; if [ $status -ne 0 ]; then summary; echo "== aarch64: FAILED (status $status)"; fi' EXIT

echo "== aarch64: packages"
source scripts/deps.sh
# The host's tools and the architecture-independent headers (Catch2 2.x from amd64 catch2, Eigen, Random123).
need_packages cmake ninja-build catch2 libeigen3-dev librandom123-dev python3 python3-matplotlib python3-numpy
enable_arm64_multiarch
need_packages "${AARCH64_PACKAGES[@]}"
finish_step "packages"

echo "== aarch64: configure and build (cross, $jobs jobs)"
cmake --preset aarch64 >/dev/null
cmake --build --preset aarch64 -j "$jobs"
finish_step "cross build"

echo "== aarch64: bit-deciding tests under qemu-aarch64 (ctest -L emulated)"
log=$build/ctest-emulated.log
status=0
ctest --preset aarch64 -L emulated -j "$jobs" >"$log" 2>&1 || status=$?
grep -E "Test +#|tests passed|tests failed|Total Test time" "$log" || true
if [ "$status" -ne 0 ]; then
  echo "== aarch64: tests FAILED (full log: $log)"
  grep -A40 -E "\*\*\*Failed|Output from these tests" "$log" | tail -n 80 || true
  exit 1
fi
echo "== aarch64: slowest under qemu:"
grep -E "Test +#" "$log" | sed -E 's/.*Test +#[0-9]+: ([^.]+) \.+.* ([0-9.]+) sec$/\2 s  \1/' | sort -rn | head -n 5 | sed 's/^/   /'
finish_step "tests under qemu"

echo "== aarch64: simdrop_bench smoke run under qemu, and its report"
runs=$build/runs
rm -rf "$runs" && mkdir -p "$runs"
json=$runs/aarch64-smoke.json
# forward, fp32, 65,536 elements, 1 thread: simdrop, its NEON path forced where built, and copy's floor (whose
# prepare step times every way of this CPU, the STNP streaming stores included, and checks the output).
filter='^forward/(simdrop|simdrop_neon|copy)/f32/n:65536/p:30/threads:1/'
qemu-aarch64 $build/bench/simdrop_bench --benchmark_filter="$filter" --benchmark_min_time=0.01 \
  --benchmark_repetitions=2 --benchmark_out="$json" --benchmark_out_format=json >"$runs/bench.log" 2>&1 \
  || { echo "== aarch64: simdrop_bench FAILED"; tail -n 40 "$runs/bench.log"; exit 1; }
grep -E "^forward/" "$runs/bench.log" | head -n 10 || true
/usr/bin/python3 - "$json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, n = d["context"], len(d["benchmarks"])
print("   paths:", c.get("simdrop_supported_isas"), "| cpu_model:", c.get("cpu_model"), "| caches:",
      c.get("l1d_bytes"), c.get("l2_bytes"), c.get("l3_bytes"), f"({c.get('cache_source')})", "|", n, "entries")
sys.exit(0 if n else "simdrop_bench ran no benchmark: the filter matched nothing")
PY
/usr/bin/python3 reports/simdrop_report.py "$json" --out "$runs/report" >"$runs/report.log" 2>&1 \
  || { echo "== aarch64: report generator FAILED"; cat "$runs/report.log"; exit 1; }
grep -q "## Machine and build" "$runs/report/report.md"
echo "   report: $runs/report/report.md"
finish_step "bench smoke + report"

summary
echo "== aarch64: stage passed"
