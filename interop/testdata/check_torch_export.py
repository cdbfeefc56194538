#!/usr/bin/env python3
"""Has PyTorch load a fastai AWD-LSTM model exported by ulmfit-go, and run it.

    python3 check_torch_export.py lm EXPORT.pth T B ID,ID,...
    python3 check_torch_export.py classifier EXPORT.pth ID,ID,...[;ID,...]

torch.load()s the export, then load_state_dict()s it, strictly, into a
module tree that names its parameters as fastai's does: the language model
SequentialRNN(AWD_LSTM, LinearDecoder), or fastai v1's text classifier
SequentialRNN(MultiBatchEncoder(AWD_LSTM), PoolingLinearClassifier); with
WeightDropout's module.weight_hh_l0 when the export has it, as fastai v1
does, without it as fastai v2. It checks that the tied embedding's keys
share one storage, then runs the model in eval mode (no dropout, zero
initial state), with one nn.LSTM per layer whose recurrent matrix is
WeightDropout's raw matrix.

lm: on the token ids, time-major (T, B), through the tied decoder; prints
{"keys": [...], "tied": bool, "logits": [...]}, logits (T, B, V) flattened.
classifier: each document (ids separated by ";") alone, its last LSTM's
outputs concat-pooled as [last, max, mean] and fed to the head; prints
{"keys": [...], "tied": bool, "probs": [[...], ...]}.

Written for torch 1.13 (Debian's python3-torch).
"""
import json
import sys

import torch
from torch import nn


class WeightDropped(nn.Module):
    """fastai's WeightDropout's parameter names around one LSTM."""

    def __init__(self, lstm, keep_module_copy):
        super().__init__()
        self.weight_hh_l0_raw = nn.Parameter(lstm.weight_hh_l0.detach().clone())
        if not keep_module_copy:
            del lstm._parameters["weight_hh_l0"]
        self.module = lstm


class EmbeddingDropped(nn.Module):
    """fastai's EmbeddingDropout: it holds the encoder itself as emb."""

    def __init__(self, emb):
        super().__init__()
        self.emb = emb


class Encoder(nn.Module):
    """fastai's AWD_LSTM: encoder, encoder_dp and rnns."""

    def __init__(self, vocab, emb, hidden, layers, v1):
        super().__init__()
        self.encoder = nn.Embedding(vocab, emb)
        self.encoder_dp = EmbeddingDropped(self.encoder)
        sizes = [emb] + [hidden] * (layers - 1) + [emb]
        self.rnns = nn.ModuleList(
            WeightDropped(nn.LSTM(sizes[l], sizes[l + 1], 1), v1) for l in range(layers))


class Decoder(nn.Module):
    """fastai's LinearDecoder, tied to the encoder."""

    def __init__(self, encoder):
        super().__init__()
        self.decoder = nn.Linear(encoder.weight.shape[1], encoder.weight.shape[0])
        self.decoder.weight = encoder.weight


class PooledEncoder(nn.Module):
    """fastai v1's MultiBatchEncoder: it holds the AWD_LSTM as module."""

    def __init__(self, module):
        super().__init__()
        self.module = module


class PoolingLinear(nn.Module):
    """fastai v1's PoolingLinearClassifier: bn_drop_lin blocks as layers.

    Which index holds what is read from the keys: a batch norm has a
    running mean, a linear layer a 2-d weight; between them the block's
    Dropout, after a linear layer (but the last) its ReLU.
    """

    def __init__(self, sd):
        super().__init__()
        n = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("1.layers."))
        mods, prev = [], None
        for i in range(n):
            w = sd.get(f"1.layers.{i}.weight")
            if f"1.layers.{i}.running_mean" in sd:
                mods.append(nn.BatchNorm1d(w.shape[0]))
            elif w is not None:
                mods.append(nn.Linear(w.shape[1], w.shape[0]))
            elif isinstance(prev, nn.Linear):
                mods.append(nn.ReLU())
            else:
                mods.append(nn.Dropout(0.5))
            prev = mods[-1]
        self.layers = nn.Sequential(*mods)


def encoder_for(sd, prefix):
    """The AWD_LSTM whose keys in sd start with prefix."""
    vocab, emb = sd[prefix + "encoder.weight"].shape
    layers = sum(1 for k in sd if k.startswith(prefix) and k.endswith(".weight_hh_l0_raw"))
    hidden = sd[prefix + "rnns.0.weight_hh_l0_raw"].shape[1] if layers > 1 else emb
    v1 = prefix + "rnns.0.module.weight_hh_l0" in sd
    return Encoder(vocab, emb, hidden, layers, v1)


def run_lstms(enc, x):
    """x (T, B, E) through enc's LSTMs in eval mode, zero initial state."""
    for rnn in enc.rnns:
        m = rnn.module
        lstm = nn.LSTM(m.input_size, m.hidden_size, 1)
        lstm.weight_ih_l0.copy_(m.weight_ih_l0)
        lstm.weight_hh_l0.copy_(rnn.weight_hh_l0_raw)
        lstm.bias_ih_l0.copy_(m.bias_ih_l0)
        lstm.bias_hh_l0.copy_(m.bias_hh_l0)
        lstm.eval()
        x, _ = lstm(x)
    return x


def main():
    mode, path = sys.argv[1], sys.argv[2]
    sd = torch.load(path)
    if mode == "lm":
        prefix, tied_keys = "0.", ["0.encoder.weight", "0.encoder_dp.emb.weight", "1.decoder.weight"]
    else:
        prefix, tied_keys = "0.module.", ["0.module.encoder.weight", "0.module.encoder_dp.emb.weight"]
    tied = len({sd[k].data_ptr() for k in tied_keys}) == 1
    enc = encoder_for(sd, prefix)
    out = {"keys": list(sd.keys()), "tied": tied}

    if mode == "lm":
        T, B = int(sys.argv[3]), int(sys.argv[4])
        ids = torch.tensor([int(i) for i in sys.argv[5].split(",")]).reshape(T, B)
        model = nn.Sequential(enc, Decoder(enc.encoder))
        model.load_state_dict(sd, strict=True)
        model.eval()
        with torch.no_grad():
            x = run_lstms(enc, enc.encoder(ids))  # (T, B, E)
            out["logits"] = model[1].decoder(x).reshape(-1).tolist()  # (T, B, V)
    else:
        head = PoolingLinear(sd)
        model = nn.Sequential(PooledEncoder(enc), head)
        model.load_state_dict(sd, strict=True)
        model.eval()
        out["probs"] = []
        with torch.no_grad():
            for doc in sys.argv[3].split(";"):
                ids = torch.tensor([int(i) for i in doc.split(",")]).reshape(-1, 1)
                h = run_lstms(enc, enc.encoder(ids))[:, 0]  # (T, E)
                pooled = torch.cat([h[-1], h.max(0).values, h.mean(0)]).unsqueeze(0)  # (1, 3E)
                probs = torch.softmax(head.layers(pooled), 1)[0]
                out["probs"].append(probs.tolist())

    json.dump(out, sys.stdout)
    print()


main()
