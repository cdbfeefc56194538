#!/bin/bash
# The CUDA backend's tests and measurements on the device machine's GPU, in
# one call: what a session runs before and after changing compute/cuda.
#
#   scripts/gpu-profile.sh build      # here: the test binary at .dev/cuda.test
#                                     # and its commit at .dev/cuda.commit
#                                     # (carry both)
#   scripts/gpu-profile.sh [WHAT...]  # there: WHAT from tests, step, kernels,
#                                     # gemms (default: all four), each into $OUT
#
#   tests    every test of compute/cuda with ULMFIT_CUDA_REQUIRE=1 ($OUT/tests.log;
#            prints the failures, or PASS)
#   step     TestProfilePaperStep at bf16 and tf32 ($OUT/DATE-CARD-step-P-COMMIT.log;
#            prints the full steps' lines)
#   kernels  TestProfileStepKernels under ncu at bf16 and tf32
#            ($OUT/DATE-CARD-P-COMMIT.csv.gz; prints the largest kernels of the
#            last step, scripts/ncu-kernels.py)
#
# The step logs and kernel profiles are named as bench/profiles/ keeps them
# (DATE the UTC day, CARD the GPU's model, e.g. h200), where
# `ulmfit report --splice compute/cuda/NOTES.md` lays them out (the items
# step-profile COMMIT and kernel-profile P COMMIT).
#   gemms    TestProfileGemmAlgos at tf32 and bf16 ($OUT/DATE-CARD-gemms-P-COMMIT.log)
#
# About two minutes for all four on an H200.
set -u -o pipefail
if [ "${1:-}" = build ]; then
  mkdir -p .dev || exit 1
  CGO_ENABLED=0 go test -c -o .dev/cuda.test ./compute/cuda || exit 1
  echo "$(git rev-parse --short HEAD)$(git status --porcelain --untracked-files=no | grep -q . && echo +dirty)" > .dev/cuda.commit
  ls -l .dev/cuda.test && cat .dev/cuda.commit
  exit 0
fi
: "${OUT:?OUT is the folder whose files come back}"
root=$PWD
bin=$root/.dev/cuda.test
[ -x "$bin" ] || { echo "gpu-profile: no $bin; run 'scripts/gpu-profile.sh build' here and carry it" >&2; exit 2; }
commit=$(cat .dev/cuda.commit 2>/dev/null || echo unknown)
commit=${commit/+/-} # b3e32f2+dirty: b3e32f2-dirty, a run tag as bench/profiles/ names them
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | awk '{print tolower($NF)}')
prefix=$(date -u +%F)-${card:-gpu}
[ $# -gt 0 ] || set -- tests step kernels gemms
cd compute/cuda || exit 1 # where go test runs the binary: the tests read testdata/
status=0
for what in "$@"; do
  case $what in
  tests)
    ULMFIT_CUDA_REQUIRE=1 timeout 300 "$bin" -test.v > "$OUT/tests.log" 2>&1
    rc=$?
    grep -E -- '--- FAIL|^panic' "$OUT/tests.log" | head -20
    [ $rc -eq 0 ] && echo "tests: PASS" || { echo "tests: rc $rc"; status=1; } ;;
  step)
    for p in bf16 tf32; do
      log=$OUT/$prefix-step-$p-$commit.log
      ULMFIT_CUDA_PROFILE=$p timeout 120 "$bin" -test.run TestProfilePaperStep -test.v > "$log" 2>&1 || status=1
      grep -E 'full step' "$log"
    done ;;
  kernels)
    command -v ncu >/dev/null || { echo "gpu-profile: no ncu here" >&2; status=1; continue; }
    for p in bf16 tf32; do
      f=$OUT/$prefix-$p-$commit.csv
      ULMFIT_CUDA_PROFILE_STEP=$p timeout 240 ncu --metrics gpu__time_duration.sum --csv --cache-control none \
        --clock-control none --log-file "$f" "$bin" -test.run TestProfileStepKernels > /dev/null 2>&1 || status=1
      gzip -f "$f" && python3 "$root/scripts/ncu-kernels.py" "$f.gz" | head -16
    done ;;
  gemms)
    for p in tf32 bf16; do
      ULMFIT_CUDA_GEMM_SURVEY=$p timeout 240 "$bin" -test.run TestProfileGemmAlgos -test.v > "$OUT/$prefix-gemms-$p-$commit.log" 2>&1 || status=1
      sed -n 's/^ *gemmalgo_test.go:[0-9]*: \(.*x)\); [0-9]* offers:.*/\1/p' "$OUT/$prefix-gemms-$p-$commit.log"
    done ;;
  *)
    echo "gpu-profile: unknown $what: want tests, step, kernels or gemms" >&2; exit 2 ;;
  esac
done
exit $status
