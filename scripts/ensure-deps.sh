#!/usr/bin/env bash
# Installs the system packages the build and tests need, when they are missing:
# OpenBLAS for the default CPU engine. As root it installs them through apt-get;
# otherwise it says what to install and stops.
set -euo pipefail
need=()
if ! [ -e /usr/include/x86_64-linux-gnu/cblas.h ] && ! [ -e /usr/include/cblas.h ] \
   && ! ls /usr/include/*/cblas.h >/dev/null 2>&1; then
  need+=(libopenblas-dev)
fi
command -v go >/dev/null || { echo "ensure-deps: Go is not on PATH; install Go 1.26 or newer" >&2; exit 1; }
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-deps: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "ensure-deps: missing ${need[*]}; install them (Debian: sudo apt-get install ${need[*]})," >&2
  echo "  or build without OpenBLAS: make GOFLAGS=-tags=noopenblas ..." >&2
  exit 1
fi
