#!/usr/bin/env python3
# transformers peer for `tessera bench mamba`: times a random-init MambaModel (backbone, no LM head) of the same
# shape under the same thread count and prints one JSON report (rows in the harness's schema) plus the path taken.
import argparse
import importlib.util
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import latency_summary, percentile, rss_peak_bytes, time_steps  # noqa: E402


def scan_path(model):
    # Which implementation MambaMixer's full-sequence scan takes on this install (modeling_mamba.mamba_selective_scan).
    have = {m: importlib.util.find_spec(m) is not None for m in ("mamba_ssm", "causal_conv1d", "mambapy", "kernels")}
    mixer = model.layers[0].mixer
    if getattr(mixer, "use_mambapy", False) and have["mambapy"]:
        scan = "mambapy pscan"
    else:
        scan = "sequential recurrence in torch (materialises exp(dt*A) and dt*B*u as (B, I, T, N) f32)"
    return {"scan": scan, "conv": "torch conv1d (causal_conv1d_fn fallback)", "modules_found": have,
            "note": "CPU: the CUDA kernels of mamba_ssm / causal_conv1d / hub kernels never apply"}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", default="130m", help="'130m' (state-spaces/mamba-130m-hf shapes) or a config.json path")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps", type=int, default=2, help="timed repetitions (the slow path takes minutes at 4x4096)")
    p.add_argument("--key", required=True, help="the row key the C++ side matches on")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    import torch
    import transformers
    from transformers import MambaConfig, MambaModel

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.config == "130m":  # state-spaces/mamba-130m-hf
        cfg = MambaConfig(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24, expand=2,
                          conv_kernel=4, time_step_rank=48, use_bias=False, use_conv_bias=True)
    else:
        cfg = MambaConfig.from_json_file(a.config)
    model = MambaModel(cfg).float().eval()
    params = sum(t.numel() * t.element_size() for t in model.parameters())

    g = torch.Generator().manual_seed(a.seed + 1)
    ids = torch.randint(min(1000, cfg.vocab_size // 2), cfg.vocab_size, (a.batch_size, a.seq_len), generator=g)

    def step():
        with torch.inference_mode():
            return model(input_ids=ids, use_cache=False).last_hidden_state

    s = time_steps(step, a.warmup, a.reps)
    median = percentile(s, 0.5)
    tokens = a.batch_size * a.seq_len
    rss_peak = rss_peak_bytes()
    row = {
        "key": a.key, "engine": "pytorch", "variant": "transformers MambaModel",
        "latency_ms": latency_summary(s),
        "throughput": {"seq/s": a.batch_size / (median / 1e3), "tok/s": tokens / (median / 1e3)},
        "tensor_peak_bytes": None, "rss_peak_bytes": rss_peak,
        "params": {"batch_size": a.batch_size, "seq_len": a.seq_len, "dtype": "f32", "parameter_bytes": params,
                   "path": scan_path(model)},
    }
    env_keys = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"]
    env = {
        "engine": f"torch {torch.__version__} + transformers {transformers.__version__}",
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "path": scan_path(model),
        "env": {k: os.environ.get(k) for k in env_keys if os.environ.get(k) is not None},
    }
    json.dump({"engine": "pytorch", "environment": env, "rows": [row]}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
