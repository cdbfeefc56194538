#!/bin/bash
# Table 2 at the paper's size on the device machine's GPU, from a payload
# that arrives in parts (one call carries at most 64 MiB with the tree):
#
#   scripts/gpu-table2.sh pack          here: build the CGO_ENABLED=0 binary and
#                                       split binary + data into .dev/parts/,
#                                       parts as large as the tree leaves room
#                                       for in a call (PART_SIZE overrides)
#   scripts/gpu-table2.sh append PART   there: append a carried part
#   scripts/gpu-table2.sh start ARGS    there: unpack, then start RUNNERS (3)
#                                       runners of 'ulmfit run table2 --scale
#                                       paper ARGS', detached, sharing one cache
#   scripts/gpu-table2.sh wait SECONDS  there: wait while they run (at most
#                                       SECONDS), copy records and log tails to $OUT
#   scripts/gpu-table2.sh stages KIND   there: the finished stages of KIND
#                                       (e.g. pretrain) as $OUT/KIND.tar
#   scripts/gpu-table2.sh export KIND ID [FIRST]
#                                       there: one stage folder (ID or a prefix
#                                       of it; ID.partial for an interrupted LM
#                                       stage, to resume) as 15 MiB pieces, four
#                                       a call from piece FIRST (default 0)
#   scripts/gpu-table2.sh gather KIND ID DIR...
#                                       here: join the pieces the export calls
#                                       brought back (their files_at folders),
#                                       check the SHA-256 and unpack the stage
#                                       into .dev/stages/cache/KIND/
#
# A stage that must outlive the lease (a pretrained LM: pretraining and an
# LM fine-tuning of IMDb do not both fit in one) comes back with export and
# gather, and PACK_STAGES=1 packs .dev/stages/cache into the next payload,
# whose start puts it in the cache there. The runner checks every finished
# stage's sums before it reuses it, and a stage's ID covers its code, so a
# binary whose pretraining code differs plans new IDs and builds them again.
#
# RUN names another experiment and its flags in place of "table2 --scale
# paper" (RUN="zoo-small" pretrains the small scale's LMs on wikipedia-en);
# PACK_DATA lists the shared dataset folders to send (default: trec6
# imdb-unsup wikipedia-en) and PACK_IMDB=0 leaves IMDb's reviews out;
# PACK_BINARY=0 leaves the binary out (a second payload of data alone);
# PACK_BINARY_XZ=FILE sends that xz-compressed binary instead of a new build
# (an earlier lease's, so that one pipeline spread over leases runs one
# commit's code: `cat .dev/parts/part-* | tar -xOf - payload/ulmfit.xz`).
# A second 'start' unpacks its payload beside the first and adds RUNNERS
# more; STOP_AFTER_PRETRAIN=PATTERN then stops the runners whose command
# line matches PATTERN once both directions' pretraining is finished, so
# runners started early for the pretraining (e.g. --tasks trec6, while
# IMDb's data is still on its way) leave the GPU to the rest.
#
# Run state lives in /root/t2 (outside the carried paths), so it survives
# between calls while the machine is warm. The runners build different
# stages at once (the cache locks each stage), so both directions pretrain
# together and TREC-6 (first in the task list) runs beside IMDb.
set -u
STATE=${T2_STATE:-/root/t2}
cmd=${1:-}; shift || true
case "$cmd" in
pack)
  set -e
  SHARED=${SHARED:-../shared/datasets}
  rm -rf .dev/payload .dev/parts && mkdir -p .dev/payload/datasets/imdb .dev/parts
  if [ -n "${PACK_BINARY_XZ:-}" ]; then
    # The binary of an earlier payload (a pipeline spread over leases
    # keeps one binary, so its records name one commit).
    cp "$PACK_BINARY_XZ" .dev/payload/ulmfit.xz
  elif [ "${PACK_BINARY:-1}" = 1 ]; then
  CGO_ENABLED=0 go build -ldflags "-X github.com/ulmfit-go/ulmfit/runner.buildStamp=$(git rev-parse HEAD)$(git status --porcelain --untracked-files=no | grep -q . && echo +dirty)" \
    -o .dev/payload/ulmfit ./cmd/ulmfit
  xz -T0 -6 .dev/payload/ulmfit
  fi
  if [ "${PACK_IMDB:-1}" = 1 ]; then
    if [ ! -s .dev/reviews.json.xz ]; then xz -T0 -9 -c data/imdb/reviews.json > .dev/reviews.json.xz; fi
    cp .dev/reviews.json.xz .dev/payload/datasets/imdb/
  fi
  for d in ${PACK_DATA:-trec6 imdb-unsup wikipedia-en}; do cp -r "$SHARED/$d" .dev/payload/datasets/; done
  if [ "${PACK_STAGES:-0}" = 1 ]; then cp -r .dev/stages/cache .dev/payload/cache; fi
  # A call carries the tree (tracked files, and untracked ones git does
  # not ignore) and one part, at most 64 MiB in all: the parts take what the
  # tree leaves, less 2 MiB, unless PART_SIZE says otherwise.
  if [ -z "${PART_SIZE:-}" ]; then
    tree=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
    mib=$(( (64 * 1048576 - tree) / 1048576 - 2 ))
    if [ "$mib" -lt 1 ]; then echo "gpu-table2: the tree takes $((tree / 1048576)) MiB of a call's 64: no room for a part" >&2; exit 2; fi
    PART_SIZE=${mib}m
    echo "tree $((tree / 1048576)) MiB: parts of $PART_SIZE"
  fi
  tar -C .dev -cf - payload | split -b "$PART_SIZE" - .dev/parts/part-
  ls -l .dev/parts
  ;;
append)
  mkdir -p "$STATE" && cat "$1" >> "$STATE/payload.tar" && ls -l "$STATE/payload.tar"
  ;;
start)
  set -e
  cd "$STATE"
  # A second payload (data a later stage needs, sent while the first
  # runners pretrain) unpacks beside the first.
  tar -xf payload.tar && rm payload.tar
  if [ -f payload/ulmfit.xz ]; then xz -d payload/ulmfit.xz && chmod +x payload/ulmfit; fi
  if [ -f payload/datasets/imdb/reviews.json.xz ]; then xz -d payload/datasets/imdb/reviews.json.xz; fi
  if [ -d payload/cache ]; then mkdir -p cache && cp -r payload/cache/. cache/ && rm -r payload/cache; fi
  mkdir -p res logs
  n=$(find logs -name 'runner*.log' | wc -l)
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  for i in $(seq $((n + 1)) $((n + ${RUNNERS:-3}))); do
    # shellcheck disable=SC2086 # ARGS are flags, split on purpose
    # shellcheck disable=SC2086 # RUN is an experiment and its flags
    setsid ./payload/ulmfit run ${RUN:-table2 --scale paper} --data-dir payload/datasets \
      --cache cache --results res "$@" > "logs/runner$i.log" 2>&1 < /dev/null &
    sleep 2
  done
  if [ -n "${STOP_AFTER_PRETRAIN:-}" ]; then
    # The first runners were started for their pretraining alone: once both
    # directions' pretraining stages are finished, stop the runners whose
    # command line holds STOP_AFTER_PRETRAIN (the cache keeps what they built).
    setsid bash -c 'until [ "$(find cache/pretrain -maxdepth 1 -mindepth 1 -type d ! -name "*.partial" 2>/dev/null | wc -l)" -ge 2 ]; do sleep 5; done
      pkill -f -- "$0"' "$STOP_AFTER_PRETRAIN" > logs/stopper.log 2>&1 < /dev/null &
  fi
  echo started
  ;;
wait)
  : "${OUT:?OUT is the folder whose files come back}"
  end=$((SECONDS + ${1:-60}))
  # Anchored at the start of the command line: a shell whose command text
  # merely mentions the runner (this call's own) must not count as one.
  running() { pgrep -f '^\./payload/ulmfit run' > /dev/null; }
  while [ $SECONDS -lt $end ] && running; do sleep 5; done
  cd "$STATE" || exit 1
  cp res/*.jsonl "$OUT/" 2>/dev/null
  for f in logs/*.log; do tail -c 6000 "$f" > "$OUT/$(basename "$f")"; done
  running && echo running || echo finished
  grep -h "done in\|error\|Error" logs/*.log | tail -40
  ;;
stages)
  : "${OUT:?OUT is the folder whose files come back}"
  cd "$STATE/cache/$1" || exit 1
  # Finished stages only: a .partial folder is an interrupted one.
  find . -maxdepth 1 -mindepth 1 -type d ! -name '*.partial' -printf '%P\n' | tar -cf "$OUT/$1.tar" -T -
  tar -tvf "$OUT/$1.tar"
  ;;
export)
  set -e
  : "${OUT:?OUT is the folder whose files come back}"
  kind=${1:?KIND}; id=${2:?ID}; first=${3:-0}
  cd "$STATE/cache/$kind"
  # A prefix names one folder; a .partial folder only when asked for by name.
  mapfile -t dirs < <(find . -maxdepth 1 -mindepth 1 -type d -name "$id*" -printf '%P\n' | grep -v '\.partial$\|\.corrupt' || true)
  case "$id" in *.partial) dirs=("$id") ;; esac
  if [ "${#dirs[@]}" != 1 ] || [ ! -d "${dirs[0]}" ]; then echo "export: $kind/$id names ${#dirs[@]} stage folders" >&2; exit 2; fi
  name="$kind-${dirs[0]}.tar"
  mkdir -p "$STATE/export"
  if [ ! -f "$STATE/export/$name.sha256" ]; then
    tar -cf "$STATE/export/$name" "${dirs[0]}"
    (cd "$STATE/export" && split -b 15m -d -a 2 "$name" "$name." && sha256sum "$name" > "$name.sha256" && rm "$name")
  fi
  cd "$STATE/export"
  n=$(find . -name "$name.[0-9][0-9]" | wc -l)
  cp "$name.sha256" "$OUT/"
  for i in $(seq "$first" $((first + 3))); do
    p=$(printf '%s.%02d' "$name" "$i")
    if [ -f "$p" ]; then cp "$p" "$OUT/"; echo "sent $p"; fi
  done
  echo "$name: $n pieces (00 to $(printf '%02d' $((n - 1))))"
  ;;
gather)
  set -e
  kind=${1:?KIND}; id=${2:?ID}; shift 2
  mkdir -p .dev/stages/cache/"$kind"
  name=$(find "$@" -maxdepth 1 -name "$kind-$id*.tar.sha256" -printf '%f\n' | head -1)
  name=${name%.sha256}
  if [ -z "$name" ]; then echo "gather: no $kind-$id*.tar.sha256 in $*" >&2; exit 2; fi
  rm -f ".dev/stages/$name"
  for i in $(seq 0 99); do
    p=$(find "$@" -maxdepth 1 -name "$(printf '%s.%02d' "$name" "$i")" | head -1)
    [ -n "$p" ] || break
    cat "$p" >> ".dev/stages/$name"
  done
  want=$(find "$@" -maxdepth 1 -name "$name.sha256" | head -1)
  got=$(sha256sum ".dev/stages/$name" | cut -d' ' -f1)
  if [ "$got" != "$(cut -d' ' -f1 "$want")" ]; then
    echo "gather: .dev/stages/$name: SHA-256 $got, the export said $(cat "$want"): a piece is missing or damaged" >&2; exit 1
  fi
  echo "$name: SHA-256 $got, as exported"
  tar -C .dev/stages/cache/"$kind" -xf ".dev/stages/$name" && rm ".dev/stages/$name"
  ls -l .dev/stages/cache/"$kind"/*/
  ;;
*)
  echo "usage: $0 pack | append PART | start ARGS | wait SECONDS | stages KIND | export KIND ID [FIRST] | gather KIND ID DIR..." >&2; exit 2 ;;
esac
