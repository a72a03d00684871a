#!/usr/bin/env bash
# The AVX-512 stage. Where this CPU has AVX-512 (F, BW, DQ, VL), the release stage has already run every
# test on the avx512 path natively, and this stage says so. Elsewhere it runs the avx512 path's bit-deciding
# tests on an emulated AVX-512 CPU, in one boot of Debian's Bochs (CPU model tigerlake, which has VAES for
# the ARS-5 kernel; scripts/emulate/bochs_run.sh):
#   the known answers, every path against the scalar reference ([isa]), the 16-bit entry points ([half]), the
#   family's definitions ([family]), ARS-5 against its definition ([ars]) and the fuzz corpus replay,
# on the paths this CPU lacks (SIMDROP_TEST_ISAS): avx512, and avx2 too where the CPU lacks AVX2 or F16C.
# Bochs runs ~50 M instructions a second on one guest CPU, so the exhaustive path tests' largest size is capped
# at 16411 (SIMDROP_TEST_MAX_N: still several pipelined batches and mask chunks of 8192 elements; oneTBB's
# splitting is the same code on every path and proven natively) and calibration is off (SIMDROP_CALIBRATE=0:
# the tests force each path themselves).
# Bochs' vcvtps2ph rounds exact float16 ties away from zero (real CPUs round them to even): the known-answer
# test probes that and accepts exactly those elements, counted in its summary line; the other tests compare
# float16 outputs of the emulated paths with that in mind (tests/support.hpp: is_cpu_float16_tie).
#
#   ./scripts/stages/avx512.sh [BUILD_DIR]     (default build/release, built by the release stage)
#   SIMDROP_AVX512_EMULATE=1   emulate even where the CPU has AVX-512 (to try the stage itself)
# Writes build/known-answers-avx512.log (the known-answer summary lines) and prints each step's status and time.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
source scripts/deps.sh

cpu_has() { grep -qw "$1" /proc/cpuinfo; }
rm -f build/known-answers-avx512.log
if cpu_has avx512f && cpu_has avx512bw && cpu_has avx512dq && cpu_has avx512vl && [ "${SIMDROP_AVX512_EMULATE:-0}" != 1 ]; then
  echo "== avx512: this CPU has AVX-512 F/BW/DQ/VL: the release stage ran the avx512 path natively"
  exit 0
fi
paths=avx512
if ! { cpu_has avx2 && cpu_has f16c; }; then paths=avx2,avx512; fi
echo "== avx512: emulating an AVX-512 CPU (Bochs, tigerlake) for the paths this CPU lacks: $paths"

need_packages "${BOCHS_PACKAGES[@]}"
if [ ! -f "$build/CMakeCache.txt" ]; then  # run on its own: the release preset's build
  need_packages "${BUILD_PACKAGES[@]}"
  cmake --preset release >/dev/null
  build=build/release
fi
cmake --build "$build" --target simdrop_tests simdrop_fuzz_replay -j "$(nproc)" >/dev/null
tests=$build/tests/simdrop_tests
replay=$build/fuzz/simdrop_fuzz_replay

script=$(mktemp)
log=build/avx512-stage.log
trap 'rm -f "$script"' EXIT
# The steps, "NAME|COMMAND", run by the guest's busybox sh in /work (where the build's relative paths hold).
steps=(
  "known-answers|$tests --use-colour no '[known-answers]'"
  "isa|$tests --use-colour no '[isa]'"
  "half|$tests --use-colour no '[half]~[statistics]~[converters]'"
  "family|$tests --use-colour no '[family]~[statistics]~[bad-input]'"
  "ars|$tests --use-colour no '[ars]'"
  "fuzz-replay|$replay fuzz/corpus"
)
{
  echo 'fail=0'
  for s in "${steps[@]}"; do
    echo "echo '== begin ${s%%|*}'"
    echo "${s#*|}; st=\$?"
    echo "echo \"== end ${s%%|*} \$st\"; [ \$st -eq 0 ] || fail=1"
  done
  echo 'exit $fail'
} > "$script"

set +e
scripts/emulate/bochs_run.sh --timeout "${SIMDROP_BOCHS_TIMEOUT:-900}" --script "$script" \
    --env "SIMDROP_TEST_ISAS=$paths" --env SIMDROP_TEST_MAX_N=16411 --env SIMDROP_CALIBRATE=0 \
    --file "$tests" --file "$replay" --file fuzz/corpus --file tests/data/known_answers.txt \
    --env SIMDROP_KNOWN_ANSWERS=tests/data/known_answers.txt 2>&1 |
  tee "$log" |
  while IFS= read -r line; do
    case $line in
      "== begin "*) begin=$SECONDS ;;
      "== end "*) set -- ${line#== end }; echo "== avx512: step $1: status $2, $((SECONDS - begin)) s"; continue ;;
      "known answers: "*|"float16: "*|"replay: "[0-9]*|"bochs_run"*|*"test cases"*|*"FAILED"*|*"failed"*) printf '   %s\n' "$line" ;;
    esac
  done
status=${PIPESTATUS[0]}
set -e
grep -E "^known answers: " "$log" > build/known-answers-avx512.log || true
if [ "$status" -ne 0 ]; then
  echo "== avx512: FAILED with status $status (full log: $log)"
  grep -B5 -A30 -E "FAILED|REQUIRE|CHECK\(" "$log" | tail -n 80 || tail -n 80 "$log"
  exit 1
fi
echo "== avx512: stage passed"
