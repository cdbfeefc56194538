#!/usr/bin/env python3
"""Has PyTorch load a fastai AWD-LSTM LM exported by ulmfit-go, and run it.

    python3 check_torch_export.py EXPORT.pth T B ID,ID,...

torch.load()s the export, then load_state_dict()s it, strictly, into a
module tree that names its parameters as fastai's AWD_LSTM language model
does (SequentialRNN(AWD_LSTM, LinearDecoder); with WeightDropout's
module.weight_hh_l0 when the export has it, as fastai v1 does, without it
as fastai v2). It checks that the tied embedding's keys share one storage,
then runs the model in eval mode (no dropout, zero initial state) on the
token ids, time-major (T, B), with one nn.LSTM per layer whose recurrent
matrix is WeightDropout's raw matrix, and the tied decoder. Prints
{"keys": [...], "tied": bool, "logits": [...]} as JSON, logits (T, B, V)
flattened. Written for torch 1.13 (Debian's python3-torch).
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


def main():
    path, T, B = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ids = torch.tensor([int(i) for i in sys.argv[4].split(",")]).reshape(T, B)
    sd = torch.load(path)
    tied = sd["0.encoder.weight"].data_ptr() == sd["1.decoder.weight"].data_ptr() \
        == sd["0.encoder_dp.emb.weight"].data_ptr()

    vocab, emb = sd["0.encoder.weight"].shape
    layers = sum(1 for k in sd if k.endswith(".weight_hh_l0_raw"))
    hidden = sd["0.rnns.0.weight_hh_l0_raw"].shape[1] if layers > 1 else emb
    v1 = "0.rnns.0.module.weight_hh_l0" in sd
    enc = Encoder(vocab, emb, hidden, layers, v1)
    model = nn.Sequential(enc, Decoder(enc.encoder))
    model.load_state_dict(sd, strict=True)
    model.eval()

    with torch.no_grad():
        x = enc.encoder(ids)  # (T, B, E)
        for rnn in enc.rnns:
            m = rnn.module
            lstm = nn.LSTM(m.input_size, m.hidden_size, 1)
            lstm.weight_ih_l0.copy_(m.weight_ih_l0)
            lstm.weight_hh_l0.copy_(rnn.weight_hh_l0_raw)
            lstm.bias_ih_l0.copy_(m.bias_ih_l0)
            lstm.bias_hh_l0.copy_(m.bias_hh_l0)
            lstm.eval()
            x, _ = lstm(x)
        logits = model[1].decoder(x)  # (T, B, V)

    json.dump({"keys": list(sd.keys()), "tied": tied,
               "logits": logits.reshape(-1).tolist()}, sys.stdout)
    print()


main()
