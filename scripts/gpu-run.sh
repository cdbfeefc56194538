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
#
# Packing and unpacking, so a fresh session needs no notes:
#
#   scripts/gpu-run.sh pack [DATASET...]   # here: .dev/gpu/ holds the binary,
#       # pretrain-en, IMDb's reviews (when fetched) and a tar of each shared
#       # dataset named (default: trec6 ag_news imdb-unsup), then prints which
#       # files fit in one call beside the tree (a call carries 64 MiB in all)
#   scripts/gpu-run.sh unpack              # there, in every call that carries
#       # some of them: puts each where a run reads it (bin/, data/), which
#       # stays between calls while the machine is warm
set -u
if [ "${1:-}" = pack ]; then
  shift
  [ $# -gt 0 ] || set -- trec6 ag_news imdb-unsup
  shared=${SHARED:-../shared/datasets}
  mkdir -p .dev/gpu || exit 1
  stamp=$(git rev-parse HEAD)$(git status --porcelain --untracked-files=no | grep -q . && echo +dirty)
  CGO_ENABLED=0 go build -ldflags "-X github.com/ulmfit-go/ulmfit/runner.buildStamp=$stamp" -o .dev/gpu/ulmfit-gpu ./cmd/ulmfit || exit 1
  gzip -9f .dev/gpu/ulmfit-gpu || exit 1
  [ -d data/pretrain_en ] && { tar -C data -cJf .dev/gpu/pretrain_en.txz pretrain_en || exit 1; }
  [ -s data/imdb/reviews.json ] && { xz -T0 -6 -c data/imdb/reviews.json > .dev/gpu/reviews.json.xz || exit 1; }
  for d in "$@"; do
    [ -d "$shared/$d" ] || { echo "gpu-run pack: no $shared/$d" >&2; exit 2; }
    tar -C "$shared" -cf ".dev/gpu/ds-$d.tar" "$d" || exit 1
  done
  tree=$(git ls-files -z | xargs -0 cat | wc -c)
  room=$((64 * 1024 * 1024 - tree - 1024 * 1024))
  echo "the tree: $((tree / 1048576)) MiB; each call may carry about $((room / 1048576)) MiB more:"
  call=1 used=0 list=""
  for f in $(ls -S .dev/gpu/*.gz .dev/gpu/*.txz .dev/gpu/*.xz .dev/gpu/*.tar 2>/dev/null); do
    n=$(wc -c < "$f")
    if [ $((used + n)) -gt "$room" ] && [ -n "$list" ]; then
      echo "  call $call carries:$list"; call=$((call + 1)) used=0 list=""
    fi
    used=$((used + n)) list="$list $f"
  done
  [ -n "$list" ] && echo "  call $call carries:$list"
  echo "each with 'scripts/gpu-run.sh unpack' before its command"
  exit 0
fi
if [ "${1:-}" = unpack ]; then
  mkdir -p bin data || exit 1
  for f in .dev/gpu/*; do
    [ -e "$f" ] || continue
    case $f in
    */ulmfit-gpu.gz) cp "$f" bin/ulmfit-gpu.gz && rm -f /tmp/ulmfit ;;
    */pretrain_en.txz) tar -C data -xJf "$f" ;;
    */reviews.json.xz) mkdir -p data/imdb && xz -dc "$f" > data/imdb/reviews.json ;;
    */ds-*.tar) tar -C data -xf "$f" ;;
    esac || { echo "gpu-run unpack: $f" >&2; exit 1; }
    echo "unpacked $f"
  done
  exit 0
fi
[ $# -gt 0 ] || { echo "usage: $0 'NAME|ARGS' ... | pack [DATASET...] | unpack" >&2; exit 2; }
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
