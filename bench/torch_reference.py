#!/usr/bin/env python3
"""Writes a small AWD-LSTM reference state with PyTorch, for oracle/torch_test.go.

The llm.c test_gpt2 idea: PyTorch computes, in float64, the loss and every gradient of a
small AWD-LSTM language model on fixed weights, inputs and dropout masks, then the losses of
five Adam steps; the Go test loads the same weights and masks into our engine and must agree
to float32 tolerance. Run by hand when the model's semantics change (Debian python3-torch):

    /usr/bin/python3 bench/torch_reference.py > oracle/testdata/torch_reference.json

Semantics (model/ documents the same contract): time-major ids (T, B); embedding dropout
scales whole rows of encoder.weight; locked dropout masks (B, C) on the embedded input,
between layers and on the output; DropConnect masks on each weight_hh; tied decoder with bias;
loss = mean cross-entropy + AR * mean(out^2) + TAR * mean((h_t - h_{t-1})^2), with out the
dropped and h the raw last-layer output.
"""
import json
import sys

import torch
import torch.nn.functional as F

V, E, H, L, T, B = 17, 6, 8, 3, 5, 3
AR, TAR = 2.0, 1.0
P = dict(embed=0.2, input=0.25, hidden=0.3, output=0.4, weight=0.5)
ADAM = dict(lr=0.01, beta1=0.7, beta2=0.99, eps=1e-8, weight_decay=0.01, clip=0.25, steps=5)


def sizes():
    ins = [E] + [H] * (L - 1)
    outs = [H] * (L - 1) + [E]
    return ins, outs


def make_params(g):
    ins, outs = sizes()
    p = {"encoder.weight": torch.rand(V, E, generator=g, dtype=torch.float64) * 0.2 - 0.1}
    for l in range(L):
        k = 1 / outs[l] ** 0.5
        u = lambda *s: (torch.rand(*s, generator=g, dtype=torch.float64) * 2 - 1) * k
        p[f"rnn.{l}.weight_ih"] = u(4 * outs[l], ins[l])
        p[f"rnn.{l}.weight_hh"] = u(4 * outs[l], outs[l])
        p[f"rnn.{l}.bias_ih"] = u(4 * outs[l])
        p[f"rnn.{l}.bias_hh"] = u(4 * outs[l])
    p["decoder.bias"] = torch.rand(V, generator=g, dtype=torch.float64) * 0.2 - 0.1
    return {k: v.requires_grad_() for k, v in p.items()}


def mask(g, shape, rate):
    keep = (torch.rand(*shape, generator=g, dtype=torch.float64) >= rate).double()
    return keep / (1 - rate)


def make_masks(g):
    ins, outs = sizes()
    return {
        "embed_rows": mask(g, (V,), P["embed"]),
        "input": mask(g, (B, E), P["input"]),
        "hidden": [mask(g, (B, outs[l]), P["hidden"]) for l in range(L - 1)],
        "output": mask(g, (B, E), P["output"]),
        "weight": [mask(g, (4 * outs[l], outs[l]), P["weight"]) for l in range(L)],
    }


def forward(p, m, ids, targets):
    """ids, targets: (T, B) long. Returns (ce, ar, tar, logits (T*B, V))."""
    ins, outs = sizes()
    w = p["encoder.weight"] * m["embed_rows"][:, None]
    x = F.embedding(ids, w) * m["input"][None]
    for l in range(L):
        lstm = torch.nn.LSTM(ins[l], outs[l]).double()  # time-major (T, B, C)
        for name in list(lstm._parameters):
            del lstm._parameters[name]
        lstm.weight_ih_l0 = p[f"rnn.{l}.weight_ih"]
        lstm.weight_hh_l0 = p[f"rnn.{l}.weight_hh"] * m["weight"][l]
        lstm.bias_ih_l0 = p[f"rnn.{l}.bias_ih"]
        lstm.bias_hh_l0 = p[f"rnn.{l}.bias_hh"]
        h, _ = lstm(x)
        if l < L - 1:
            x = h * m["hidden"][l][None]
        else:
            raw = h
            out = h * m["output"][None]
    logits = out.reshape(T * B, E) @ p["encoder.weight"].t() + p["decoder.bias"]
    ce = F.cross_entropy(logits, targets.reshape(-1))
    ar = AR * out.pow(2).mean()
    tar = TAR * (raw[1:] - raw[:-1]).pow(2).mean()
    return ce, ar, tar, logits


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


def main():
    g = torch.Generator().manual_seed(1234)
    p = make_params(g)
    m = make_masks(g)
    ids = torch.randint(0, V, (T, B), generator=g)
    targets = torch.randint(0, V, (T, B), generator=g)
    init = {k: flat(v) for k, v in p.items()}

    ce, ar, tar, logits = forward(p, m, ids, targets)
    (ce + ar + tar).backward()
    grads = {k: flat(v.grad) for k, v in p.items()}

    # Five Adam steps on the same batch and masks, from a zero state each time, with
    # global gradient-norm clipping and L2 (coupled) weight decay, as torch.optim.Adam does.
    params = list(p.values())
    opt = torch.optim.Adam(params, lr=ADAM["lr"], betas=(ADAM["beta1"], ADAM["beta2"]),
                           eps=ADAM["eps"], weight_decay=ADAM["weight_decay"])
    losses = []
    for _ in range(ADAM["steps"]):
        opt.zero_grad()
        c, a, t_, _ = forward(p, m, ids, targets)
        loss = c + a + t_
        losses.append(float(loss))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, ADAM["clip"])
        opt.step()
    c, a, t_, _ = forward(p, m, ids, targets)
    losses.append(float(c + a + t_))

    json.dump({
        "generator": f"bench/torch_reference.py, torch {torch.__version__}, float64",
        "config": dict(vocab=V, emb=E, hidden=H, layers=L, bptt=T, batch=B, ar=AR, tar=TAR),
        "dropout": P, "adam": ADAM,
        "ids": [int(v) for v in ids.reshape(-1)], "targets": [int(v) for v in targets.reshape(-1)],
        "params": init,
        "masks": {"embed_rows": flat(m["embed_rows"]), "input": flat(m["input"]),
                  "hidden": [flat(h) for h in m["hidden"]], "output": flat(m["output"]),
                  "weight": [flat(w) for w in m["weight"]]},
        "loss": {"ce": float(ce), "ar": float(ar), "tar": float(tar)},
        "logits": flat(logits),
        "grads": grads,
        "adam_losses": losses,
    }, sys.stdout, indent=None)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
