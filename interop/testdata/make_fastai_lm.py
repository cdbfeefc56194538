#!/usr/bin/env python3
"""Writes the fastai v1 AWD-LSTM language-model fixtures the interop tests read.

Run from this directory with Debian's python3-torch (torch 1.13):

    /usr/bin/python3 make_fastai_lm.py

It builds a small AWD_LSTM LM state dict under fastai v1's key names and
shapes (V 13, E 6, H 8, 3 layers; random weights, seed 0), saves it with
torch.save (zip format) as lm.pth, the vocabulary as itos.pkl (a pickled
list of str, as fastai's itos.pkl), and the logits of a fixed batch,
computed with nn.LSTM in eval mode (no dropout) and the tied decoder, as
lm_logits.json; strided.pth, a transposed view of a shared storage; and
lm_legacy.pth and strided_legacy.pth, the same in the legacy (non-zip)
format.
"""
import json
import pickle
from collections import OrderedDict

import torch
from torch import nn

V, E, H, L = 13, 6, 8, 3
T, B = 5, 2
IDS = [[1, 4], [2, 12], [0, 7], [11, 3], [5, 5]]  # (T, B), time-major

torch.manual_seed(0)
itos = ["xxunk", "xxpad", "xxbos", "the", "a", "cat", "dog", "sat",
        "on", "mat", "é", "ran", "."]
assert len(itos) == V

enc = torch.rand(V, E) * 0.2 - 0.1
sd = OrderedDict()
sd["0.encoder.weight"] = enc
sd["0.encoder_dp.emb.weight"] = enc.clone()
lstms = []
for l in range(L):
    n_in = E if l == 0 else H
    n_out = E if l == L - 1 else H
    lstm = nn.LSTM(n_in, n_out, 1)
    lstm.eval()
    lstms.append(lstm)
    sd[f"0.rnns.{l}.weight_hh_l0_raw"] = lstm.weight_hh_l0.detach().clone()
    sd[f"0.rnns.{l}.module.weight_ih_l0"] = lstm.weight_ih_l0.detach().clone()
    sd[f"0.rnns.{l}.module.bias_ih_l0"] = lstm.bias_ih_l0.detach().clone()
    sd[f"0.rnns.{l}.module.bias_hh_l0"] = lstm.bias_hh_l0.detach().clone()
sd["1.decoder.weight"] = enc.clone()
sd["1.decoder.bias"] = torch.rand(V) * 0.2 - 0.1
torch.save(sd, "lm.pth")
# The same in the legacy format of torch < 1.6 (fastai v1's published
# WikiText-103 model is in it).
torch.save(sd, "lm_legacy.pth", _use_new_zipfile_serialization=False)

with open("itos.pkl", "wb") as f:
    pickle.dump(itos, f)

with torch.no_grad():
    x = nn.functional.embedding(torch.tensor(IDS), enc)  # (T, B, E)
    for lstm in lstms:
        x, _ = lstm(x)  # zero initial state
    logits = x @ enc.t() + sd["1.decoder.bias"]  # (T, B, V)

# A tensor saved as a transposed view, with an offset, of a shared storage:
# the reader must follow size, stride and storage offset.
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
strided = OrderedDict([("base", base), ("view", base[1:].t())])
torch.save(strided, "strided.pth")
torch.save(strided, "strided_legacy.pth", _use_new_zipfile_serialization=False)

with open("lm_logits.json", "w") as f:
    json.dump({"T": T, "B": B, "ids": [i for row in IDS for i in row],
               "logits": logits.reshape(-1).tolist()}, f)
    f.write("\n")
