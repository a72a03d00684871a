#!/usr/bin/env bash
# The test command: installs what it needs, then builds and runs the test suite as a Release build, as an
# AddressSanitizer + UndefinedBehaviorSanitizer build and (its threaded tests) as a ThreadSanitizer build,
# then runs the differential fuzzer (clang's libFuzzer) for a bounded time. Exits non-zero on any failure.
# SIMDROP_FUZZ_SECONDS sets the fuzzer's time (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
need_packages "${BUILD_PACKAGES[@]}"
# simdrop in PyTorch: built and tested in the Release build only (the sanitize preset turns the ops off: an
# ASan-built module cannot be loaded into an uninstrumented python3). The bench's PyTorch baseline stays off here.
need_packages "${TORCH_PACKAGES[@]}"
need_packages "${FUZZ_PACKAGES[@]}"
declare -A preset_args=([release]="-DSIMDROP_WITH_TORCH_OPS=ON -DSIMDROP_WITH_TORCH=OFF" [sanitize]="" [tsan]="")

jobs=$(nproc)
for preset in release sanitize tsan; do
  echo "== $preset: configure and build"
  # shellcheck disable=SC2086
  cmake --preset "$preset" ${preset_args[$preset]} >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: tests"
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "build/ctest-$preset.log" | grep -E "tests passed|tests failed|\*\*\*|Failed|Passed|Skipped" | tail -n 60 || true
  # ctest's own status decides (tee/grep above only shorten the log shown)
  if grep -q "100% tests passed" "build/ctest-$preset.log"; then
    echo "== $preset: $(grep -E 'tests passed' "build/ctest-$preset.log")"
  else
    echo "== $preset: FAILED (full log: build/ctest-$preset.log)"
    cat "build/ctest-$preset.log" | tail -n 80
    exit 1
  fi
  case $preset in
    release) grep -E "SKIPPED: " "build/ctest-$preset.log" || true ;;  # the over-2^31 test, where memory is short
    sanitize) echo "== sanitize: the PyTorch tests (label torch) run in the release build only" ;;
    tsan) echo "== tsan: the threaded tests (label parallel); oneTBB findings suppressed by tests/tsan.supp" ;;
  esac
done

echo "== fuzz: configure and build (clang, libFuzzer + ASan + UBSan)"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"
# New inputs go to a scratch corpus; the committed seed corpus (fuzz/corpus) is read, never written.
rm -rf build/fuzz/corpus-run && mkdir -p build/fuzz/corpus-run
echo "== fuzz: ${SIMDROP_FUZZ_SECONDS:-60} s"
status=0
build/fuzz/fuzz/simdrop_fuzz -max_total_time="${SIMDROP_FUZZ_SECONDS:-60}" -print_final_stats=1 \
  -artifact_prefix=build/fuzz/ build/fuzz/corpus-run fuzz/corpus >build/fuzz-run.log 2>&1 || status=$?
grep -E "^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^INFO: Done" build/fuzz-run.log || true
if [ "$status" -ne 0 ]; then
  echo "== fuzz: FAILED with status $status (full log: build/fuzz-run.log; the input that failed is in build/fuzz/)"
  tail -n 60 build/fuzz-run.log
  exit 1
fi
echo "== all test suites passed"
