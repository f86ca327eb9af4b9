#!/usr/bin/env python3
# PyTorch/transformers peer for `tessera bench classify`: times a random-init BertForSequenceClassification of the
# same shape on the same device (CPU threads = ours) in one or more variants (eager, sdpa, torch.compile modes) and
# prints one JSON report (rows in the harness's schema). torch is imported only in main (CPU-only machines run it).
import argparse
import gc
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import (device_environment, latency_summary, parse_variant, percentile, reset_tensor_peak,  # noqa: E402
                         rss_peak_bytes, synchronize, tensor_peak_bytes, time_steps, torch_blas_summary, torch_device,
                         warm_up)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", default="base", help="'base' (bert-base-uncased shapes) or a config.json path")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16", "f16"], help="f16: --device cuda only")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--warmup-seconds", type=float, default=0.0,
                   help="untimed runs for at least this long before the first variant (GPU clocks)")
    p.add_argument("--min-time", type=float, default=5.0)
    p.add_argument("--min-reps", type=int, default=5)
    p.add_argument("--variants", default="eager",
                   help="comma-separated: eager, sdpa, sdpa+compile (mode default), sdpa+compile:MODE (reduce-overhead, "
                        "max-autotune, ...)")
    p.add_argument("--attn", help="deprecated: one variant, eager or sdpa")
    p.add_argument("--max-positions", type=int, default=0, help="enlarge the position table to this many rows")
    p.add_argument("--key", required=True, help="the row key the C++ side matches on")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    variants = [a.attn] if a.attn else [v for v in a.variants.split(",") if v]

    import torch
    import transformers
    from transformers import BertConfig, BertForSequenceClassification

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch_device(torch, a.device, a.dtype)
    if a.config == "base":
        cfg = BertConfig(num_labels=2)  # BertConfig() defaults are bert-base-uncased's shapes
    else:
        cfg = BertConfig.from_json_file(a.config)
    cfg.max_position_embeddings = max(cfg.max_position_embeddings, a.max_positions)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]

    def build(attn):
        torch.manual_seed(a.seed)  # the same weights for every variant
        cfg._attn_implementation = attn
        return BertForSequenceClassification(cfg).to(dtype).to(device).eval()

    g = torch.Generator().manual_seed(a.seed + 1)
    lo = min(1000, cfg.vocab_size // 2)  # as tools/cli/bench_classify.cpp: skip the special tokens of real vocabularies
    # Host tensors, moved inside each step (end to end, as Tessera: host ids in, logits back on the host).
    ids = torch.randint(lo, cfg.vocab_size, (a.batch_size, a.seq_len), generator=g)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    tokens = a.batch_size * a.seq_len

    rows, errors, compiled_modes = [], {}, []
    model, model_attn, warmed = None, None, False
    for variant in variants:
        attn, compiled, mode = parse_variant(variant)

        def step():
            with torch.inference_mode():
                logits = fn(input_ids=ids.to(device), attention_mask=mask.to(device),
                            token_type_ids=types.to(device)).logits
                logits.float().cpu()
            synchronize(torch, device)

        try:
            if attn != model_attn:
                model, model_attn = None, None
                gc.collect()
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                model, model_attn = build(attn), attn
            fn = model
            if compiled:
                # dynamic=False: this process times one shape, so the graph is specialised to it (the fastest case
                # for compile); compilation and CUDA-graph capture happen inside the untimed warm-up below.
                torch._dynamo.reset()
                fn = torch.compile(model, mode=None if mode == "default" else mode, dynamic=False)
                compiled_modes.append(mode)
            if not warmed and a.warmup_seconds > 0:
                warm_up(step, a.warmup_seconds)
                warmed = True
            for _ in range(3 if compiled else 0):  # compile + (reduce-overhead) record before the timed warm-up
                step()
            reset_tensor_peak(torch, device)
            s = time_steps(step, a.warmup, a.min_reps, a.min_time)
        except Exception as e:  # a failing variant (a compile error, say) must not lose the others
            errors[variant] = f"{type(e).__name__}: {str(e)[:400]}"
            continue
        median = percentile(s, 0.5)
        rows.append({
            "key": a.key, "engine": "pytorch", "variant": variant,
            "latency_ms": latency_summary(s),
            "throughput": {"seq/s": a.batch_size / (median / 1e3), "tok/s": tokens / (median / 1e3)},
            "tensor_peak_bytes": tensor_peak_bytes(torch, device), "rss_peak_bytes": rss_peak_bytes(),
            "params": {"batch_size": a.batch_size, "seq_len": a.seq_len, "dtype": a.dtype, "device": str(device),
                       "attn_implementation": attn, "compile_mode": mode, "compile_dynamic": False if compiled else None,
                       "parameter_bytes": sum(t.numel() * t.element_size() for t in model.parameters()),
                       "rss_note": "cumulative over the variants of this process" if len(variants) > 1 else ""},
        })
    env_keys = ["OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY",
                "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "CUDA_VISIBLE_DEVICES"]
    env = {
        "engine": f"torch {torch.__version__} + transformers {transformers.__version__}",
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "blas_config": torch_blas_summary(torch),
        "device": device_environment(torch, device),
        "timing": "per step: host ids to the device, forward, logits copied to the host, synchronize",
        "env": {k: os.environ.get(k) for k in env_keys if os.environ.get(k) is not None},
    }
    if compiled_modes:
        env["compile"] = {"modes": compiled_modes, "dynamic": False}
    if errors:
        env["errors"] = errors
    json.dump({"engine": "pytorch", "environment": env, "rows": rows}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
