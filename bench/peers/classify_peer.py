#!/usr/bin/env python3
# PyTorch/transformers peer for `tessera bench classify`: times a random-init BertForSequenceClassification
# of the same shape under the same thread count and prints one JSON report (rows in the harness's schema).
import argparse
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import latency_summary, percentile, rss_peak_bytes, time_steps, torch_blas_summary  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", default="base", help="'base' (bert-base-uncased shapes) or a config.json path")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-time", type=float, default=5.0)
    p.add_argument("--min-reps", type=int, default=5)
    p.add_argument("--attn", default="eager", help="transformers attn_implementation: eager or sdpa")
    p.add_argument("--key", required=True, help="the row key the C++ side matches on")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    import torch
    import transformers
    from transformers import BertConfig, BertForSequenceClassification

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.config == "base":
        cfg = BertConfig(num_labels=2)  # BertConfig() defaults are bert-base-uncased's shapes
    else:
        cfg = BertConfig.from_json_file(a.config)
    cfg._attn_implementation = a.attn
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[a.dtype]
    model = BertForSequenceClassification(cfg).to(dtype).eval()
    params = sum(t.numel() * t.element_size() for t in model.parameters())

    g = torch.Generator().manual_seed(a.seed + 1)
    lo = min(1000, cfg.vocab_size // 2)  # as tools/cli/bench_classify.cpp: skip the special tokens of real vocabularies
    ids = torch.randint(lo, cfg.vocab_size, (a.batch_size, a.seq_len), generator=g)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)

    def step():
        with torch.inference_mode():
            return model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits

    s = time_steps(step, a.warmup, a.min_reps, a.min_time)
    median = percentile(s, 0.5)
    tokens = a.batch_size * a.seq_len
    rss_peak = rss_peak_bytes()
    row = {
        "key": a.key, "engine": "pytorch", "variant": a.attn,
        "latency_ms": latency_summary(s),
        "throughput": {"seq/s": a.batch_size / (median / 1e3), "tok/s": tokens / (median / 1e3)},
        "tensor_peak_bytes": None, "rss_peak_bytes": rss_peak,
        "params": {"batch_size": a.batch_size, "seq_len": a.seq_len, "dtype": a.dtype, "parameter_bytes": params},
    }
    env_keys = ["OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY",
                "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"]
    env = {
        "engine": f"torch {torch.__version__} + transformers {transformers.__version__}",
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "blas_config": torch_blas_summary(torch),
        "env": {k: os.environ.get(k) for k in env_keys if os.environ.get(k) is not None},
    }
    json.dump({"engine": "pytorch", "environment": env, "rows": [row]}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
