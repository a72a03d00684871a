#!/usr/bin/env bash
# The test command: installs what it needs, then builds and runs the whole test suite twice, as a
# Release build and as an AddressSanitizer + UndefinedBehaviorSanitizer build. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
need_packages "${BUILD_PACKAGES[@]}"
# simdrop in PyTorch: built and tested in the Release build only (the sanitize preset turns the ops off: an
# ASan-built module cannot be loaded into an uninstrumented python3). The bench's PyTorch baseline stays off here.
need_packages "${TORCH_PACKAGES[@]}"
declare -A preset_args=([release]="-DSIMDROP_WITH_TORCH_OPS=ON -DSIMDROP_WITH_TORCH=OFF" [sanitize]="")

jobs=$(nproc)
for preset in release sanitize; do
  echo "== $preset: configure and build"
  # shellcheck disable=SC2086
  cmake --preset "$preset" ${preset_args[$preset]} >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: tests"
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "build/ctest-$preset.log" | grep -E "tests passed|tests failed|\*\*\*|Failed|Passed" | tail -n 60 || true
  # ctest's own status decides (tee/grep above only shorten the log shown)
  if grep -q "100% tests passed" "build/ctest-$preset.log"; then
    echo "== $preset: $(grep -E 'tests passed' "build/ctest-$preset.log")"
  else
    echo "== $preset: FAILED (full log: build/ctest-$preset.log)"
    cat "build/ctest-$preset.log" | tail -n 80
    exit 1
  fi
  if [ "$preset" = sanitize ]; then echo "== sanitize: the PyTorch tests (label torch) run in the release build only"; fi
done
echo "== all test suites passed"
