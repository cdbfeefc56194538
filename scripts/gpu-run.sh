#!/bin/bash
# Runs small-scale experiments on the device machine's GPU (--device cuda,
# at fp32 unless ARGS say --precision tf32 or bf16), each "NAME|ARGS"
# argument as one `ulmfit run ARGS --scale small`, all of them at once on
# the one GPU, sharing one cache. Records go to $OUT/NAME.jsonl, logs to
# $OUT/NAME.log; stages are cached under cache/, so a second call on a warm
# machine resumes them.
#
# Expects, carried from this checkout (the device machine has no Go and no
# network): the CGO_ENABLED=0 binary gzipped at bin/ulmfit-gpu.gz; IMDb's
# reviews.json xz-compressed at bin/reviews.json.xz (for IMDb only);
# pretrain-en's text at bin/pretrain_en.txz; the shared datasets a run
# needs (IMDb's imdb-unsup too) under .devdata/datasets or data/ (shared/
# does not travel). Rows that start from the zoo's LM, as the small scale's
# do, read it from zoo/, which travels with the tree; rows with pretrained =
# "ours" pretrain their own. The packing commands are in
# experiments/precision-gpu.toml's header, which runs its three precisions
# this way, one process each. Two files come back per process, and the
# device machine returns at most eight: for more than four processes point
# OUT at a folder of the machine's own and tar it into the returned one
# (results/README.md has the call that ran IMDb's column as nine):
#
#   scripts/gpu-run.sh "figure3-ag|figure3 --tasks ag-news --seeds 3"
#   scripts/gpu-run.sh 'pg-tf32|precision-gpu --precision tf32 --only tf32 --seeds 3' ...
set -u
[ $# -gt 0 ] || { echo "usage: $0 'NAME|ARGS' ..." >&2; exit 2; }
: "${OUT:?OUT is the folder whose files come back}"
[ -x /tmp/ulmfit ] || { gunzip -c bin/ulmfit-gpu.gz > /tmp/ulmfit && chmod +x /tmp/ulmfit; } || exit 1
if [ ! -s data/imdb/reviews.json ] && [ -s bin/reviews.json.xz ]; then
  mkdir -p data/imdb && xz -dc bin/reviews.json.xz > data/imdb/reviews.json
fi
if [ ! -d data/pretrain_en ] && [ -s bin/pretrain_en.txz ]; then
  mkdir -p data && tar -C data -xJf bin/pretrain_en.txz
fi
export ULMFIT_DATA=data:.devdata/datasets
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for spec in "$@"; do
  name=${spec%%|*} args=${spec#*|}
  # shellcheck disable=SC2086 # ARGS is a command line, split on purpose
  timeout "${LIMIT:-560}" /tmp/ulmfit run $args --scale small --device cuda \
    --results "/tmp/res-$name" > "$OUT/$name.log" 2>&1 &
done
wait
for spec in "$@"; do
  name=${spec%%|*}
  cat /tmp/res-"$name"/*.jsonl > "$OUT/$name.jsonl" 2>/dev/null
  tail -c 20000 "$OUT/$name.log" > "$OUT/$name.tail" && mv "$OUT/$name.tail" "$OUT/$name.log"
done
