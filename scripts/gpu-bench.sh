#!/bin/bash
# The paper-shape training-step bench on the device machine's GPU, ours and
# the PyTorch peer alternating in one run per configuration, each
# configuration's medians appended to $OUT/bench-cuda.jsonl as one record
# (`ulmfit bench --record`); commit that file under bench/results/ with the
# date in its name, and `ulmfit report --splice README.md` lays it out where
# the README marks `bench cuda`.
#
#   scripts/gpu-bench.sh build      # here: the CGO_ENABLED=0 binary, gzipped,
#                                   # at .dev/bench/ulmfit.gz (carry it)
#   scripts/gpu-bench.sh [CONFIG..] # there: CONFIG is PRECISION/BATCH,
#                                   # default tf32/64 bf16/64 tf32/128 bf16/128,
#                                   # or PRECISION/BATCH/F/B for --slices F/B
#                                   # (tf32/64/4/8: the recurrent products in
#                                   # 4 forward and 8 backward K-slices a step)
#
# STEPS, WARMUP and ROUNDS (30, 5, 3 since 2026-12-04; the records before
# took 10, 3, 2, and each record says which) are the bench's: a timed step
# takes 7-25 ms here, so thirty of them cost the run little beside its
# start-up and make each median less of a draw; PYTHON is the peer's
# Python (default: the first python3 on PATH that imports torch).
set -u -o pipefail
if [ "${1:-}" = build ]; then
  mkdir -p .dev/bench || exit 1
  CGO_ENABLED=0 go build -ldflags "-X github.com/ulmfit-go/ulmfit/runner.buildStamp=$(git rev-parse HEAD)$(git status --porcelain --untracked-files=no | grep -q . && echo +dirty)" \
    -o .dev/bench/ulmfit ./cmd/ulmfit || exit 1
  gzip -f .dev/bench/ulmfit && ls -l .dev/bench/ulmfit.gz
  exit 0
fi
: "${OUT:?OUT is the folder whose files come back}"
bin=/tmp/ulmfit-bench
gunzip -c .dev/bench/ulmfit.gz > "$bin" && chmod +x "$bin" || exit 1 # each call: a warm machine keeps the last one
py=${PYTHON:-$(command -v python3)}
"$py" -c 'import torch' 2>/dev/null || { echo "gpu-bench: $py cannot import torch; set PYTHON" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
[ $# -gt 0 ] || set -- tf32/64 bf16/64 tf32/128 bf16/128
status=0
for c in "$@"; do
  IFS=/ read -r p b f bk <<< "$c"
  slices=()
  [ -n "${f:-}" ] && slices=(--slices "$f/${bk:-0}")
  "$bin" bench --device cuda --shape paper --precision "$p" --batch "$b" "${slices[@]}" --warmup "${WARMUP:-5}" \
    --steps "${STEPS:-30}" --rounds "${ROUNDS:-3}" --python "$py" --record "$OUT/bench-cuda.jsonl" \
    2>&1 | tail -n 4 || status=1
done
exit $status
