#!/usr/bin/env python3
"""Checks that a safetensors file exported by ulmfit-go loads in Python.

    python3 check_safetensors.py EXPORT.safetensors REFERENCE.pth

Reads the export with the safetensors package when it is installed, else
with a reader of the format written here from its specification (8-byte
little-endian header length, JSON header, raw data), and checks that it
holds exactly the reference state dict's keys, shapes and values, so that
fastai's model.load_state_dict would take it. Exits non-zero on a mismatch.
"""
import json
import struct
import sys

import torch


def read_safetensors(path):
    try:
        from safetensors.torch import load_file
    except ImportError:
        pass
    else:
        return load_file(path), "safetensors"
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.float32)
        out[name] = t.reshape(e["shape"])
    return out, "a reader of the format"


def main():
    got, how = read_safetensors(sys.argv[1])
    want = torch.load(sys.argv[2])
    if set(got) != set(want):
        sys.exit(f"keys differ: extra {set(got) - set(want)}, missing {set(want) - set(got)}")
    for k, w in want.items():
        if got[k].shape != w.shape or not torch.equal(got[k], w):
            sys.exit(f"{k}: shape {tuple(got[k].shape)} vs {tuple(w.shape)}, or values differ")
    print(f"ok: {len(got)} tensors read with {how}")


main()
