#!/usr/bin/env python3
"""GPU (or CPU) check + benchmark of fast_mamba at the training size: the LM step (MambaForCausalLM, bf16
autocast, batch x max-len) with the fast chunked scan vs transformers' own sequential path — agreement of loss and
gradients (f32 and bf16 autocast), ms per step, peak memory.

  python3 tools/train_imdb/bench_fast_mamba.py                      # batch 32 x 512, d_model 128, 6 layers
  python3 tools/train_imdb/bench_fast_mamba.py --ref-steps 0        # skip the (slow) transformers path timing
"""
import argparse
import copy
import json
import time

import torch

import fast_mamba
import mamba_layout
from transformers import MambaForCausalLM


def step(model, ids, dev, bf16):
    with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    return loss.detach().float()


def timed(model, ids, dev, bf16, n):
    if dev == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(n):
        step(model, ids, dev, bf16)
        model.zero_grad(set_to_none=True)
    if dev == "cuda":
        torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / n * 1000
    peak = torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else float("nan")
    return ms, peak


def grad_rel(a, b):
    ga, gb = dict(a.named_parameters()), dict(b.named_parameters())
    worst = 0.0
    for k, p in ga.items():
        if p.grad is not None and gb[k].grad is not None:
            worst = max(worst, ((p.grad.float() - gb[k].grad.float()).norm() / p.grad.float().norm().clamp(min=1e-12)).item())
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--chunks", default="16,32,64")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--ref-steps", type=int, default=1, help="timed steps of transformers' sequential path")
    ap.add_argument("--check-len", type=int, default=256, help="sequence length of the agreement check")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    cfg = mamba_layout.hf_config(args.d_model, args.layers, 50277, 8)
    ref = MambaForCausalLM(cfg).to(dev).train()
    ids = torch.randint(0, 50277, (args.batch, args.max_len), device=dev)
    out = {"device": torch.cuda.get_device_name() if dev == "cuda" else "cpu", "torch": torch.__version__}

    # agreement at a shorter length (the reference path is slow), f32 and bf16 autocast
    cids = ids[:, :args.check_len]
    for bf16 in ((False, True) if dev == "cuda" else (False,)):
        fast = copy.deepcopy(ref)
        fast_mamba.patch_mamba(fast, chunk=32)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
            lr, lf = ref(input_ids=cids, labels=cids), fast(input_ids=cids, labels=cids)
        dlogit = (lr.logits.float() - lf.logits.float()).abs().max().item()
        lr.loss.backward(), lf.loss.backward()
        out["bf16" if bf16 else "f32"] = {"loss_ref": lr.loss.item(), "loss_fast": lf.loss.item(),
                                         "max_abs_dlogit": dlogit, "max_grad_rel": grad_rel(ref, fast)}
        ref.zero_grad(set_to_none=True)
        del fast, lr, lf
        print(json.dumps(out), flush=True)

    bf16 = dev == "cuda"
    for chunk in [int(c) for c in args.chunks.split(",")]:
        fast = copy.deepcopy(ref)
        fast_mamba.patch_mamba(fast, chunk=chunk)
        timed(fast, ids, dev, bf16, 2)  # warm-up
        ms, peak = timed(fast, ids, dev, bf16, args.steps)
        out[f"fast_L{chunk}"] = {"ms_per_step": round(ms, 1), "peak_GiB": round(peak, 2)}
        del fast
        print(json.dumps(out), flush=True)
    if args.ref_steps:
        ms, peak = timed(ref, ids, dev, bf16, args.ref_steps)
        out["transformers_sequential"] = {"ms_per_step": round(ms, 1), "peak_GiB": round(peak, 2)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
