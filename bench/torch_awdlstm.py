#!/usr/bin/env python3
"""The PyTorch peer for `ulmfit bench`: one AWD-LSTM language-model training step.

It does the work our engine's step does, in PyTorch's idiom: embedding dropout (whole rows),
locked dropout on the embedded input, between layers and on the output, per-layer nn.LSTM whose
hidden-to-hidden matrix is DropConnect-ed every step, decoder tied to the embedding (with bias),
cross-entropy, AR and TAR, global gradient-norm clipping and Adam(0.7, 0.99). Apart from AR/TAR
(--no-artar drops them; they cost a few elementwise passes) it is the step of the project's
shared reference script, and its throughput agrees with that script's within noise.

CPU: Debian python3-torch (/usr/bin/python3). GPU: any CUDA PyTorch.
Prints: RESULT engine=pytorch-<version> shape=<name> tokens_per_s=N gflops=N peak_rss_mb=N
        (peak_gpu_mb on a GPU) step_s=N precision=P device=D
        (and on a GPU versions=V: PyTorch's CUDA and cuDNN, URL-escaped)
"""
import argparse
import resource
import time
import urllib.parse

import torch
import torch.nn as nn
import torch.nn.functional as F


def locked(x, p, training):  # x: (B, T, C); one mask per sequence, shared by every step
    if not training or p == 0:
        return x
    return x * x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - p).div_(1 - p)


class Net(nn.Module):
    def __init__(s, V, E, H, L, drops):
        super().__init__()
        s.drops = drops
        s.emb = nn.Embedding(V, E)
        dims = [E] + [H] * (L - 1) + [E]
        s.rnns = nn.ModuleList(nn.LSTM(dims[i], dims[i + 1], batch_first=True) for i in range(L))
        s.hh = nn.ParameterList()
        for r in s.rnns:
            s.hh.append(nn.Parameter(r.weight_hh_l0.detach().clone()))
            del r._parameters["weight_hh_l0"]
        s.bias = nn.Parameter(torch.zeros(V))

    def forward(s, x):
        out_p, hid_p, in_p, emb_p, w_p = s.drops
        w = s.emb.weight
        if s.training and emb_p > 0:
            w = w * w.new_empty(w.size(0), 1).bernoulli_(1 - emb_p).div_(1 - emb_p)
        h = locked(F.embedding(x, w), in_p, s.training)
        for i, r in enumerate(s.rnns):
            r.weight_hh_l0 = F.dropout(s.hh[i], w_p, s.training)
            h, _ = r(h)
            if i < len(s.rnns) - 1:
                h = locked(h, hid_p, s.training)
        raw = h
        out = locked(raw, out_p, s.training)
        return F.linear(out, s.emb.weight, s.bias), raw, out


def main():
    a = argparse.ArgumentParser()
    for k, v in dict(vocab=60000, emb=400, hidden=1152, layers=3, bptt=70, batch=64, steps=5,
                     warmup=1, threads=2).items():
        a.add_argument("--" + k, type=int, default=v)
    a.add_argument("--shape", default="custom")
    a.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    a.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a.add_argument("--no-artar", action="store_true")
    o = a.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    dev = o.device
    if dev == "cpu":
        torch.set_num_threads(o.threads)
    torch.backends.cuda.matmul.allow_tf32 = o.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = o.precision == "tf32"
    m = Net(o.vocab, o.emb, o.hidden, o.layers, (0.1, 0.15, 0.25, 0.02, 0.2)).to(dev).train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.7, 0.99))
    x = torch.randint(0, o.vocab, (o.batch, o.bptt), device=dev)
    y = torch.randint(0, o.vocab, (o.batch, o.bptt), device=dev)

    def step():
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=o.precision == "bf16"):
            logits, raw, out = m(x)
        loss = F.cross_entropy(logits.float().reshape(-1, o.vocab), y.reshape(-1))
        if not o.no_artar:
            loss = loss + 2 * out.float().pow(2).mean()
            loss = loss + (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 0.4)
        opt.step()

    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    for _ in range(o.warmup):
        step()
    sync()
    times = []
    for _ in range(o.steps):
        t = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    tok_s = o.batch * o.bptt / med
    dims = [o.emb] + [o.hidden] * (o.layers - 1) + [o.emb]
    fwd = sum(2 * 4 * dims[i + 1] * (dims[i] + dims[i + 1]) for i in range(o.layers)) + 2 * o.vocab * o.emb
    gflops = tok_s * 3 * fwd / 1e9
    mem = (f"peak_gpu_mb={torch.cuda.max_memory_allocated() / 2**20:.0f}" if dev == "cuda"
           else f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    name = torch.cuda.get_device_name(0).replace(" ", "_") if dev == "cuda" else "cpu"
    versions = ""
    if dev == "cuda":
        v = f"CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
        versions = " versions=" + urllib.parse.quote(v, safe="")
    print(f"RESULT engine=pytorch-{torch.__version__} shape={o.shape} tokens_per_s={tok_s:.0f} "
          f"gflops={gflops:.1f} {mem} step_s={med:.4f} precision={o.precision} device={name}{versions}",
          flush=True)


if __name__ == "__main__":
    main()
