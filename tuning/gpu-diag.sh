#!/bin/bash
# Runs the diagnoses of tuning/README.md ("On one GPU") on the device
# machine: STEP is trec6-seeds, trec6-freez, imdb-base or imdb-lm-text. Expects the
# CGO_ENABLED=0 binary gzipped at bin/ulmfit-gpu.gz, IMDb's reviews.json
# xz-compressed at bin/reviews.json.xz, pretrain-en's text at
# bin/pretrain_en.txz, TREC-6 under data/trec6, and the small scale's
# pretrained LM under cache/pretrain (carried from the CPU runs).
# Records go to $OUT/STEP.jsonl, the log to $OUT/STEP.log.
set -u
step=$1
[ -x /tmp/ulmfit ] || { gunzip -c bin/ulmfit-gpu.gz > /tmp/ulmfit && chmod +x /tmp/ulmfit; }
if [ ! -s data/imdb/reviews.json ] && [ -s bin/reviews.json.xz ]; then
  mkdir -p data/imdb && xz -dc bin/reviews.json.xz > data/imdb/reviews.json
fi
if [ ! -d data/pretrain_en ] && [ -s bin/pretrain_en.txz ]; then
  tar -C data -xJf bin/pretrain_en.txz
fi
shared=../shared/datasets
[ -d shared/datasets ] && shared=shared/datasets
export ULMFIT_DATA=data:$shared
run() { timeout "${LIMIT:-560}" /tmp/ulmfit run "$@" --scale small --device cuda --results /tmp/res-$step >> $OUT/$step.log 2>&1; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >> $OUT/$step.log
case $step in
trec6-seeds)
  run table7 --only freez+discr+stlr --tasks trec6 --seeds 10
  run table6 --only none --tasks trec6 --seeds 10 ;;
trec6-freez)
  run table7 --only freez,freez+stlr,freez+cos,freez+discr+stlr --tasks trec6 --seeds 10 ;;
imdb-base)
  run table7 --only scratch,freez+discr+stlr --tasks imdb --seeds 3 ;;
imdb-lm-text)
  run tuning/imdb-lm-text.toml --seeds 3 ;;
esac
cat /tmp/res-$step/*.jsonl > $OUT/$step.jsonl 2>/dev/null
tail -c 20000 $OUT/$step.log > $OUT/$step.tail && mv $OUT/$step.tail $OUT/$step.log
