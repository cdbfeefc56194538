#!/usr/bin/env python3
"""Sums a kernel profile of TestProfileStepKernels by kernel, for the last of its three steps.

The profile is the gzipped CSV that

    ULMFIT_CUDA_PROFILE_STEP=bf16 ncu --metrics gpu__time_duration.sum --csv \\
        --cache-control none --clock-control none --log-file OUT.csv ./cuda.test -test.run TestProfileStepKernels

writes (then gzip OUT.csv); bench/profiles/ holds the project's. Every step issues the same
kernels, once each step's embedding gather among them, so a step is as many rows as lie
between the second gather and the third, and the last step is that many rows at the end.

    scripts/ncu-kernels.py bench/profiles/2026-12-04-h200-bf16-0c1476d.csv.gz
"""
import collections
import csv
import gzip
import re
import signal
import sys


def main(path):
    rows = [r for r in csv.reader(line for line in gzip.open(path, "rt") if line.startswith('"'))]
    head, rows = rows[0], rows[1:]
    name, value = head.index("Kernel Name"), head.index("Metric Value")
    gathers = [i for i, r in enumerate(rows) if r[name].startswith("gather")]
    if len(gathers) < 3:
        sys.exit(f"{path}: {len(gathers)} steps (gather kernels), want the test's three")
    step = rows[len(rows) - (gathers[2] - gathers[1]):]
    total, by = 0.0, collections.defaultdict(lambda: [0, 0.0])
    for r in step:
        us = float(r[value].replace(",", "")) / 1e3
        k = by[re.sub(r"\(.*", "", r[name])]
        k[0] += 1
        k[1] += us
        total += us
    print(f"{path}: {len(step)} kernels, {total:.0f} us of kernel time in the last step")
    for k, (n, us) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        print(f"{us:8.0f} us {n:5d}  {k[:100]}")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/ncu-kernels.py PROFILE.csv.gz")
    main(sys.argv[1])
