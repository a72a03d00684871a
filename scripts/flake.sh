#!/usr/bin/env bash
# Reruns the statistical tests ([statistics]: the core's and the family's) under 20 different fixed seed
# salts (SIMDROP_TEST_SEED_SALT=1..20, see tests/support.hpp) and counts the failures. Every threshold is
# about 6 standard deviations (two-sided tail ~2e-9 per check), so a correct kernel should show none: a
# failure here means a threshold was derived too tight, or a kernel is wrong in a way the committed seeds
# happen to miss. Not part of CI (it takes several minutes). Usage: scripts/flake.sh [runs] (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
source scripts/deps.sh
need_packages "${BUILD_PACKAGES[@]}"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target simdrop_tests
failed_runs=0
failed_assertions=0
for salt in $(seq 1 "$runs"); do
  log=build/flake-salt-$salt.log
  start=$(date +%s)
  if SIMDROP_TEST_SEED_SALT=$salt build/release/tests/simdrop_tests "[statistics]" >"$log" 2>&1; then
    echo "salt $salt: passed ($(grep -E 'All tests passed' "$log" | sed 's/All tests passed //'), $(( $(date +%s) - start )) s)"
  else
    failed_runs=$((failed_runs + 1))
    n=$(grep -cE '^\S.*FAILED:' "$log" || true)
    failed_assertions=$((failed_assertions + n))
    echo "salt $salt: FAILED ($n failed checks; log: $log)"
    grep -E -A6 'FAILED:' "$log" | head -n 30
  fi
done
echo "== $runs runs of [statistics]: $failed_runs failed runs, $failed_assertions failed checks"
[ "$failed_runs" -eq 0 ]
