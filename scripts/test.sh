#!/usr/bin/env bash
# The test command: installs what it needs, then runs the stages below and exits non-zero on any failure.
#   release   the whole suite, Release build (the Python tests and the over-2^31 test run here only)
#   sanitize  the suite under AddressSanitizer + UndefinedBehaviorSanitizer (the exhaustive path tests' largest
#             size capped: SIMDROP_TEST_MAX_N in the sanitize test preset)
#   tsan      the threaded tests under ThreadSanitizer
#   fuzz      the differential fuzzer (clang's libFuzzer) for SIMDROP_FUZZ_SECONDS (default 60)
#   aarch64   cross-built for 64-bit ARM, the bit-deciding tests under qemu-aarch64 (scripts/stages/aarch64.sh);
#             on an aarch64 host the release stage already ran them natively
#   avx512    the AVX-512 paths: natively in the release stage where the CPU has AVX-512, else their
#             bit-deciding tests on an emulated AVX-512 CPU (Bochs; scripts/stages/avx512.sh)
# At the end it prints each stage's time and, for every ISA path, where the known answers were matched:
# natively, under which emulator, or not at all (and why).
# SIMDROP_TEST_STAGES="release aarch64 ..." runs only the stages named (in the order above).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
all_stages="release sanitize tsan fuzz aarch64 avx512"
wanted=" ${SIMDROP_TEST_STAGES:-$all_stages} "
for s in $wanted; do
  [[ " $all_stages " == *" $s "* ]] || { echo "error: SIMDROP_TEST_STAGES: unknown stage '$s' (stages: $all_stages)" >&2; exit 2; }
done
host=$(uname -m)
jobs=$(nproc)
mkdir -p build
# Where each path's known answers were matched: lines "path|how|cases" (stages append), and why not where not.
proven=build/paths-proven.txt
: > "$proven"

# record_paths HOW LOG: the "known answers: <path>: N cases matched" lines of a [known-answers] run in LOG.
record_paths() {
  sed -nE 's/^known answers: ([a-z0-9]+): ([0-9]+) cases matched.*/\1|'"$1"'|\2/p' "$2" >> "$proven"
  sed -nE 's/^known answers: ([a-z0-9]+): not run here \((.*)\)$/\1|-|\2/p' "$2" >> "$proven"
}

stage_times=()
run_stage() {  # run_stage NAME: runs stage_NAME if wanted, timing it
  [[ "$wanted" == *" $1 "* ]] || return 0
  local start=$SECONDS
  echo "==== stage $1"
  "stage_$1"
  stage_times+=("$(printf '%-9s %5d s' "$1" $((SECONDS - start)))")
}

ctest_preset() {  # ctest_preset PRESET: ctest's own status decides; the log shown is shortened
  local preset=$1 log=build/ctest-$1.log
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log" | grep -E "tests passed|tests failed|\*\*\*|Failed|Passed|Skipped" | tail -n 60 || true
  if grep -q "100% tests passed" "$log"; then
    echo "== $preset: $(grep -E 'tests passed' "$log")"
  else
    echo "== $preset: FAILED (full log: $log)"
    tail -n 80 "$log"
    exit 1
  fi
}

build_preset() {  # build_preset PRESET [cmake -D arguments...]
  local preset=$1
  shift
  echo "== $preset: configure and build"
  cmake --preset "$preset" "$@" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
}

stage_release() {
  need_packages "${BUILD_PACKAGES[@]}"
  # simdrop in PyTorch: built and tested here only (an ASan-built module cannot be loaded into an
  # uninstrumented python3). The bench's PyTorch baseline stays off.
  need_packages "${TORCH_PACKAGES[@]}"
  build_preset release -DSIMDROP_WITH_TORCH_OPS=ON -DSIMDROP_WITH_TORCH=OFF
  echo "== release: tests"
  ctest_preset release
  grep -E "SKIPPED: " build/ctest-release.log || true  # the over-2^31 test, where memory is short
  build/release/tests/simdrop_tests "[known-answers]" > build/known-answers-native.log 2>&1 ||
    { cat build/known-answers-native.log; exit 1; }
  grep -E "^known answers: " build/known-answers-native.log
  record_paths "native ($host)" build/known-answers-native.log
}

stage_sanitize() {
  need_packages "${BUILD_PACKAGES[@]}"
  build_preset sanitize
  echo "== sanitize: tests (label python excluded: it loads no library code; run in release)"
  ctest_preset sanitize
}

stage_tsan() {
  need_packages "${BUILD_PACKAGES[@]}"
  build_preset tsan
  echo "== tsan: the threaded tests (label parallel); oneTBB findings suppressed by tests/tsan.supp"
  ctest_preset tsan
}

stage_fuzz() {
  need_packages "${BUILD_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
  echo "== fuzz: configure and build (clang, libFuzzer + ASan + UBSan)"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  # New inputs go to a scratch corpus; the committed seed corpus (fuzz/corpus) is read, never written.
  rm -rf build/fuzz/corpus-run && mkdir -p build/fuzz/corpus-run
  echo "== fuzz: ${SIMDROP_FUZZ_SECONDS:-60} s"
  local status=0
  build/fuzz/fuzz/simdrop_fuzz -max_total_time="${SIMDROP_FUZZ_SECONDS:-60}" -print_final_stats=1 \
    -artifact_prefix=build/fuzz/ build/fuzz/corpus-run fuzz/corpus >build/fuzz-run.log 2>&1 || status=$?
  grep -E "^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^INFO: Done" build/fuzz-run.log || true
  if [ "$status" -ne 0 ]; then
    echo "== fuzz: FAILED with status $status (full log: build/fuzz-run.log; the input that failed is in build/fuzz/)"
    tail -n 60 build/fuzz-run.log
    exit 1
  fi
}

stage_aarch64() {
  if [ "$host" = aarch64 ]; then
    echo "== aarch64: this host is aarch64: the release stage ran the neon path natively"
    return 0
  fi
  if [ "$host" != x86_64 ]; then
    echo "aarch64|-|the emulated stage cross-builds on x86-64 hosts only" >> "$proven"
    return 0
  fi
  ./scripts/stages/aarch64.sh
  qemu-aarch64 build/aarch64/tests/simdrop_tests "[known-answers]" > build/known-answers-aarch64.log 2>&1 ||
    { cat build/known-answers-aarch64.log; exit 1; }
  record_paths "emulated (qemu-aarch64)" build/known-answers-aarch64.log
}

stage_avx512() {
  if [ "$host" != x86_64 ]; then
    echo "avx512|-|an x86-64 path; the emulated AVX-512 stage runs on x86-64 hosts" >> "$proven"
    return 0
  fi
  ./scripts/stages/avx512.sh build/release
  [ -f build/known-answers-avx512.log ] && record_paths "emulated (Bochs, tigerlake)" build/known-answers-avx512.log
  return 0
}

for stage in $all_stages; do run_stage "$stage"; done

echo "==== stage times"
printf '   %s\n' "${stage_times[@]}"
echo "==== ISA paths: where the known answers (tests/data/known_answers.txt) were matched"
for path in scalar sse2 avx2 avx512 neon; do
  ran=$(awk -F'|' -v p="$path" '$1 == p && $2 != "-" { printf "%s%s (%s cases)", sep, $2, $3; sep = "; " }' "$proven")
  why=$(awk -F'|' -v p="$path" '$1 == p && $2 == "-" { print $3; exit }' "$proven")
  if [ -n "$ran" ]; then
    printf '   %-7s %s\n' "$path" "$ran"
  else
    printf '   %-7s not run: %s\n' "$path" "${why:-no stage that runs it was selected}"
  fi
done
echo "== all test stages passed"
