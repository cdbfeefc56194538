#!/usr/bin/env bash
# Installs the system packages the build needs, when they are missing: oneDNN
# (libdnnl-dev) and OpenBLAS for the default CPU engine; with --tests (make test) also Debian's PyTorch
# (python3-torch, about 190 MB) for the tests that have PyTorch read and write
# our files (interop/) and recompute the oracle's reference state (oracle/),
# and g++ for the tests that compile the CUDA kernels for this CPU and run
# them (compute/cuda: TestKernelSourcesParse, TestHost*). As root it installs
# them through apt-get; otherwise it says what to install, and stops for
# oneDNN and OpenBLAS, which the build needs, not for PyTorch or g++, whose
# tests skip without them. A release without libdnnl-dev (Debian has it from
# bullseye on) builds with GOFLAGS=-tags=noonednn: OpenBLAS alone.
#
#   scripts/ensure-deps.sh            (make build, make vet, ...)
#   scripts/ensure-deps.sh --tests    (make test)
set -euo pipefail
tests=
[ "${1:-}" = --tests ] && tests=1
need=()
if ! [ -e /usr/include/x86_64-linux-gnu/cblas.h ] && ! [ -e /usr/include/cblas.h ] \
   && ! ls /usr/include/*/cblas.h >/dev/null 2>&1; then
  need+=(libopenblas-dev)
fi
if ! [ -e /usr/include/oneapi/dnnl/dnnl.h ] && ! [[ " ${GOFLAGS:-} " =~ noonednn|noopenblas ]]; then
  need+=(libdnnl-dev)
fi
# The interop tests run /usr/bin/python3, not whichever python3 is first on
# PATH: Debian's torch is installed for Debian's Python.
want_torch=
if [ -n "$tests" ] && ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
  want_torch=python3-torch
fi
want_gxx=
if [ -n "$tests" ] && ! command -v g++ >/dev/null; then
  want_gxx=g++
fi
command -v go >/dev/null || { echo "ensure-deps: Go is not on PATH; install Go 1.26 or newer" >&2; exit 1; }
[ ${#need[@]} -eq 0 ] && [ -z "$want_torch" ] && [ -z "$want_gxx" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [[ " ${need[*]} " == *" libdnnl-dev "* ]]; then
    candidate=$(apt-cache policy libdnnl-dev | awk '/Candidate:/ {print $2}')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      echo "ensure-deps: this release has no libdnnl-dev (oneDNN); build with GOFLAGS=-tags=noonednn for OpenBLAS alone" >&2
      exit 1
    fi
  fi
  if [ ${#need[@]} -gt 0 ]; then
    echo "ensure-deps: installing ${need[*]}" >&2
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [ -n "$want_torch" ]; then
    # About 190 MB from the Debian mirror (PyTorch 1.13 on bookworm); a
    # release without the package leaves the PyTorch tests skipping.
    candidate=$(apt-cache policy python3-torch | awk '/Candidate:/ {print $2}')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      echo "ensure-deps: this release has no python3-torch; the PyTorch interop tests will skip" >&2
    else
      echo "ensure-deps: installing python3-torch $candidate for the PyTorch interop tests" >&2
      apt-get install -y -qq --no-install-recommends python3-torch >/dev/null ||
        echo "ensure-deps: python3-torch did not install; the PyTorch interop tests will skip" >&2
    fi
  fi
  if [ -n "$want_gxx" ]; then
    echo "ensure-deps: installing g++ for the tests that run the CUDA kernels on this CPU" >&2
    apt-get install -y -qq --no-install-recommends g++ >/dev/null ||
      echo "ensure-deps: g++ did not install; compute/cuda's host tests will skip" >&2
  fi
  exit 0
fi
if [ -n "$want_gxx" ]; then
  echo "ensure-deps: no g++, so compute/cuda's tests that run the kernels on this CPU will skip;" >&2
  echo "  install it to run them (Debian: sudo apt-get install g++)" >&2
fi
if [ -n "$want_torch" ]; then
  echo "ensure-deps: /usr/bin/python3 cannot import torch, so the PyTorch interop tests will skip;" >&2
  echo "  install it to run them (Debian: sudo apt-get install python3-torch)" >&2
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "ensure-deps: missing ${need[*]}; install them (Debian: sudo apt-get install ${need[*]})," >&2
echo "  or build without oneDNN: make GOFLAGS=-tags=noonednn ...," >&2
echo "  or without either: make GOFLAGS=-tags=noopenblas ..." >&2
exit 1
