#!/bin/bash
# Adds a model's two directions to the zoo from pretrain stages trained
# elsewhere, such as the GPU's (scripts/gpu-table2.sh with RUN="zoo-small",
# then 'scripts/gpu-table2.sh stages pretrain'):
#
#   scripts/zoo-add.sh pretrain.tar CORPUS
#
# pretrain.tar holds the finished stage folders (ID/ or cache/pretrain/ID/);
# CORPUS is their corpus stage's folder or its stage.json (the zoo records
# the corpus's digests from it, not its files). Each stage becomes MODEL-fwd
# or MODEL-bwd by the direction its stage.json records, as the row forward
# or backward of EXPERIMENT; then the zoo is verified and README.md's zoo
# table spliced. MODEL (default small-wikipedia-en), EXPERIMENT (zoo-small)
# and BIN (bin/ulmfit) name others; STORAGE (bf16, as the zoo ships them:
# each checkpoint under 2 MB; or fp32) how the parameters are stored;
# FORCE=1 replaces entries already there.
set -euo pipefail
if [ $# -ne 2 ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
tar=$1 corpus=$2
MODEL=${MODEL:-small-wikipedia-en} EXPERIMENT=${EXPERIMENT:-zoo-small} BIN=${BIN:-bin/ulmfit} STORAGE=${STORAGE:-bf16}
in=.dev/zoo-in
rm -rf "$in" && mkdir -p "$in" && tar -xf "$tar" -C "$in"
added=0
while IFS= read -r manifest; do
  grep -Eq '"kind": *"pretrain"' "$manifest" || continue
  if grep -Eq '"backward": *true' "$manifest"; then dir=bwd row=backward; else dir=fwd row=forward; fi
  "$BIN" zoo add --stage "$(dirname "$manifest")" --corpus "$corpus" --experiment "$EXPERIMENT" --row "$row" \
    --name "$MODEL-$dir" --storage "$STORAGE" ${FORCE:+--force}
  added=$((added + 1))
done < <(find "$in" -name stage.json | sort)
if [ "$added" -eq 0 ]; then
  echo "zoo-add: $tar holds no finished pretrain stage (no stage.json of kind pretrain)" >&2
  exit 2
fi
"$BIN" zoo verify
"$BIN" report --splice README.md
