#!/usr/bin/env python3
"""CPU check of fast_mamba against transformers' own (sequential-scan) Mamba path: outputs, logits, gradients,
cache/eval path, stability, speed and a memory estimate.   python3 tools/train_imdb/check_fast_mamba.py [--quick]"""
import argparse
import copy
import random
import time

import torch
import torch.nn.functional as F
from transformers import MambaForCausalLM

import fast_mamba
import mamba_layout

torch.set_num_threads(max(1, torch.get_num_threads()))


def randomize(model, gen, dt_scale=1.0):
    """Non-trivial weights everywhere, incl. A_log, D, dt_proj bias, conv bias."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.rand(p.shape, generator=gen) * 3.0 - 1.0)  # A in [-e^2, -e^-1]
            elif name.endswith("mixer.D"):
                p.copy_(torch.randn(p.shape, generator=gen))
            elif name.endswith("dt_proj.bias"):
                p.copy_((torch.randn(p.shape, generator=gen) * 1.5 - 2.0) * dt_scale)
            elif name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * (0.5 / max(1, p.shape[-1]) ** 0.5))


def max_rel_grad(m_ref, m_new):
    worst, worst_name = 0.0, None
    g_ref = dict(m_ref.named_parameters())
    for name, p in m_new.named_parameters():
        a, b = g_ref[name].grad, p.grad
        if a is None and b is None:
            continue
        rel = ((a - b).norm() / a.norm().clamp(min=1e-12)).item()
        if rel > worst:
            worst, worst_name = rel, name
    return worst, worst_name


def check_config(seed, d_model, state, T, bsz, n_layer=2, chunk=32, mode="recurrent", mask=False):
    gen = torch.Generator().manual_seed(seed)
    cfg = mamba_layout.hf_config(d_model, n_layer, 100, 8, state_size=state)
    torch.manual_seed(seed)
    ref = mamba_layout.MambaClassifier(cfg)
    randomize(ref, gen)
    new = copy.deepcopy(ref)
    assert fast_mamba.patch_mamba(new, chunk=chunk, mode=mode) == n_layer
    ids = torch.randint(0, cfg.vocab_size, (bsz, T), generator=gen)
    am = None
    if mask:
        am = torch.ones(bsz, T, dtype=torch.long)
        am[0, T - max(1, T // 3):] = 0
    ref.train(), new.train()
    # backbone last hidden state (with the attention mask passed to the backbone when requested)
    h_ref = ref.backbone(input_ids=ids, attention_mask=am).last_hidden_state
    h_new = new.backbone(input_ids=ids, attention_mask=am).last_hidden_state
    dh = (h_ref - h_new).abs().max().item()
    # classifier logits + gradient of a loss w.r.t. every parameter
    y = torch.randint(0, 2, (bsz,), generator=gen)
    lo_ref, lo_new = ref(ids, am), new(ids, am)
    dl = (lo_ref - lo_new).abs().max().item()
    (F.cross_entropy(lo_ref, y) + h_ref.pow(2).mean()).backward()
    (F.cross_entropy(lo_new, y) + h_new.pow(2).mean()).backward()
    g_rel, g_name = max_rel_grad(ref, new)
    return dh, dl, g_rel, g_name


def check_lm(seed, d_model, state, T, bsz, chunk):
    """MambaForCausalLM: LM logits + loss gradients (train mode) and eval mode (which builds a DynamicCache)."""
    gen = torch.Generator().manual_seed(seed)
    cfg = mamba_layout.hf_config(d_model, 2, 100, 8, state_size=state)
    torch.manual_seed(seed)
    ref = MambaForCausalLM(cfg)
    randomize(ref, gen)
    new = copy.deepcopy(ref)
    fast_mamba.patch_mamba(new, chunk=chunk)
    ids = torch.randint(0, cfg.vocab_size, (bsz, T), generator=gen)
    ref.train(), new.train()
    o_ref, o_new = ref(input_ids=ids, labels=ids), new(input_ids=ids, labels=ids)
    dlog = (o_ref.logits - o_new.logits).abs().max().item()
    o_ref.loss.backward(), o_new.loss.backward()
    g_rel, _ = max_rel_grad(ref, new)
    ref.eval(), new.eval()
    with torch.no_grad():  # eval: use_cache defaults to True -> the prefill path with cache updates
        e_ref, e_new = ref(input_ids=ids, use_cache=True), new(input_ids=ids, use_cache=True)
        de = (e_ref.logits - e_new.logits).abs().max().item()
        ds = max((a.recurrent_states[0] - b.recurrent_states[0]).abs().max().item()
                 for a, b in zip(e_ref.cache_params.layers, e_new.cache_params.layers))
        dc = max((a.conv_states[0] - b.conv_states[0]).abs().max().item()
                 for a, b in zip(e_ref.cache_params.layers, e_new.cache_params.layers))
        # one decoding step on top of each cache (original path in both)
        nxt = ids[:, -1:]
        s_ref = ref(input_ids=nxt, cache_params=e_ref.cache_params, use_cache=True).logits
        s_new = new(input_ids=nxt, cache_params=e_new.cache_params, use_cache=True).logits
        dstep = (s_ref - s_new).abs().max().item()
    return dlog, g_rel, de, ds, dc, dstep


def scan_reference(u, delta, A, Bm, Cm, dtype=torch.float64):
    h = torch.zeros(u.shape[0], u.shape[1], A.shape[1], dtype=dtype)
    ys = []
    for t in range(u.shape[2]):
        h = torch.exp(A[None] * delta[:, :, t, None]) * h + delta[:, :, t, None] * Bm[:, None, t] * u[:, :, t, None]
        ys.append((h * Cm[:, None, t]).sum(-1))
    return torch.stack(ys, -1), h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float32)
    rng = random.Random(0)
    fails = 0
    print("== MambaClassifier (backbone last hidden state, logits, grads of CE + mean(h^2)) vs transformers ==")
    print(f"{'seed':>4} {'d':>3} {'N':>3} {'T':>4} {'B':>2} {'L':>3} {'mode':>10} {'mask':>5} "
          f"{'max|dh|':>9} {'max|dlogit|':>11} {'grad rel':>9}  worst param")
    cases = []
    for i, T in enumerate([1, 7, 64, 130]):
        for mode in ("recurrent", "quadratic"):
            for chunk in ((16, 32) if mode == "recurrent" else (8,)):
                cases.append((i * 10 + len(cases), rng.choice([32, 48, 64]), rng.choice([8, 16]), T,
                              rng.choice([2, 3]), chunk, mode, False))
    cases += [(101, 64, 16, 130, 3, 32, "recurrent", True), (102, 32, 8, 64, 2, 7, "recurrent", True),
              (103, 40, 12, 100, 2, 128, "recurrent", False), (104, 64, 16, 37, 2, 1, "recurrent", False)]
    if args.quick:
        cases = cases[::3]
    for seed, d, n, T, b, chunk, mode, mask in cases:
        dh, dl, g, gname = check_config(seed, d, n, T, b, chunk=chunk, mode=mode, mask=mask)
        ok = dh < 1e-4 and dl < 1e-4 and g < 1e-3
        fails += not ok
        print(f"{seed:>4} {d:>3} {n:>3} {T:>4} {b:>2} {chunk:>3} {mode:>10} {str(mask):>5} {dh:9.2e} {dl:11.2e} "
              f"{g:9.2e}  {gname}{'' if ok else '   <-- FAIL'}")

    print("\n== MambaForCausalLM: train logits/grads; eval (DynamicCache prefill) logits, cache states, 1 decode step ==")
    for seed, d, n, T, b, chunk in [(7, 64, 16, 130, 2, 32), (8, 32, 8, 7, 3, 16), (9, 48, 16, 64, 2, 32)]:
        dlog, g, de, ds, dc, dstep = check_lm(seed, d, n, T, b, chunk)
        ok = max(dlog, de, ds, dc, dstep) < 1e-4 and g < 1e-3
        fails += not ok
        print(f"d={d} N={n} T={T} B={b} L={chunk}: train max|dlogit| {dlog:.2e}  grad rel {g:.2e} | eval "
              f"max|dlogit| {de:.2e} ssm-state {ds:.2e} conv-state {dc:.2e} decode-step {dstep:.2e}"
              f"{'' if ok else '   <-- FAIL'}")

    print("\n== scan alone vs a float64 sequential reference, extreme Δ (stability: A·Δ down to ~ -700) ==")
    g = torch.Generator().manual_seed(5)
    Bs, D, N, T = 2, 16, 16, 200
    u = torch.randn(Bs, D, T, generator=g, dtype=torch.float64)
    delta = torch.exp(torch.randn(Bs, D, T, generator=g, dtype=torch.float64) * 2.5)  # 1e-3 ... 1e3
    delta[:, :, 50:80] = 1e-4  # long quiet stretch
    A = -torch.exp(torch.rand(D, N, generator=g, dtype=torch.float64) * 4 - 2)
    Bm, Cm = torch.randn(Bs, T, N, generator=g, dtype=torch.float64), torch.randn(Bs, T, N, generator=g, dtype=torch.float64)
    y64, h64 = scan_reference(u, delta, A, Bm, Cm)
    # yardstick: the same sequential recurrence in float32 (what transformers computes)
    y32, h32 = scan_reference(u.float(), delta.float(), A.float(), Bm.float(), Cm.float(), torch.float32)
    e32 = ((y32.double() - y64).abs().max() / y64.abs().max()).item()
    he32 = ((h32.double() - h64).abs().max() / h64.abs().max()).item()
    print(f"f32 sequential (transformers' loop): max|dy|/max|y| {e32:.2e}  last state {he32:.2e}")
    for mode, chunk in (("recurrent", 32), ("recurrent", 64), ("quadratic", 16), ("quadratic", 8)):
        y, h = fast_mamba.selective_scan_chunked(u, delta, A, Bm, Cm, chunk=chunk, mode=mode, return_last_state=True)
        finite = torch.isfinite(y).all().item() and torch.isfinite(h).all().item()
        err = ((y.double() - y64).abs().max() / y64.abs().max()).item()
        herr = ((h.double() - h64).abs().max() / h64.abs().max()).item()
        ok = finite and err < max(1e-5, 5 * e32) and herr < max(1e-5, 5 * he32)
        fails += not ok
        print(f"{mode:>10} L={chunk}: finite={finite} max|dy|/max|y| {err:.2e}  last state {herr:.2e}"
              f"{'' if ok else '   <-- FAIL'}")
    uu, dd, AA = u.float().requires_grad_(), delta.float().requires_grad_(), A.float().requires_grad_()
    y = fast_mamba.selective_scan_chunked(uu, dd, AA, Bm.float(), Cm.float())
    y.square().mean().backward()
    gfin = all(torch.isfinite(t.grad).all().item() for t in (uu, dd, AA))
    fails += not gfin
    print(f"gradients finite under extreme Δ: {gfin}")

    print("\n== speed (CPU, forward+backward of the classifier, threads=%d) ==" % torch.get_num_threads())
    for d, layers, bsz, T in ([(64, 2, 4, 256)] if args.quick else [(64, 2, 4, 256), (128, 2, 4, 512)]):
        cfg = mamba_layout.hf_config(d, layers, 1000, 8)
        torch.manual_seed(0)
        ref = mamba_layout.MambaClassifier(cfg)
        new = copy.deepcopy(ref)
        fast_mamba.patch_mamba(new)
        ids = torch.randint(0, 1000, (bsz, T))
        res = {}
        for name, m in (("transformers sequential", ref), ("fast chunked L=32", new)):
            times = []
            for rep in range(3):
                t0 = time.perf_counter()
                m(ids).float().pow(2).mean().backward()
                times.append(time.perf_counter() - t0)
                m.zero_grad()
            res[name] = min(times[1:])
        print(f"d_model={d} layers={layers} batch={bsz} T={T}: " +
              ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in res.items()) +
              f"  -> speed-up x{res['transformers sequential'] / res['fast chunked L=32']:.1f}")

    print("\n== activation memory of the scan (autograd-saved tensors, measured on CPU at a small size, scaled) ==")
    mem_probe()
    print("\nRESULT:", "ALL PASS" if fails == 0 else f"{fails} FAIL(S)")
    return fails


def mem_probe():
    """Bytes of tensors saved for backward by one mixer's fast forward (saved_tensors_hooks), per element of
    B·D·N·T, then scaled to batch 32 x 512, D = 2 * 128 = 256, N = 16."""
    cfg = mamba_layout.hf_config(64, 1, 100, 8, state_size=16)
    for mode, chunk in (("recurrent", 32), ("quadratic", 8), ("quadratic", 16)):
        torch.manual_seed(0)
        m = MambaForCausalLM(cfg)
        fast_mamba.patch_mamba(m, chunk=chunk, mode=mode)
        mixer = m.backbone.layers[0].mixer
        bsz, T = 4, 256
        x = torch.randn(bsz, T, 64, requires_grad=True)
        seen, total = set(), [0]

        def pack(t):
            key = (t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            if key not in seen:
                seen.add(key)
                total[0] += t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            mixer(x)
        E = bsz * mixer.intermediate_size * 16 * T
        per = total[0] / E
        E_big = 32 * 256 * 16 * 512
        print(f"{mode:>10} L={chunk:>2}: {per:.2f} bytes per B*D*N*T element -> {per * E_big / 2**30:.2f} GiB per "
              f"layer at batch 32x512, D=256, N=16 ({6 * per * E_big / 2**30:.1f} GiB for 6 layers)")


if __name__ == "__main__":
    raise SystemExit(main())
