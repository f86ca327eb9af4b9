#!/usr/bin/env python3
# transformers peer for `tessera bench mamba`: times a random-init MambaModel (backbone, no LM head) of the same
# shape on the same device (CPU threads = ours) and prints one JSON report (rows in the harness's schema) plus the
# exact path transformers took. torch is imported only in main (CPU-only machines run it).
import argparse
import importlib.util
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import (device_environment, latency_summary, percentile, reset_tensor_peak, rss_peak_bytes,  # noqa: E402
                         synchronize, tensor_peak_bytes, time_steps, torch_device, warm_up)


def implementation_of(fn, package):
    """The function a transformers `use_kernel_func_from_hub_with_fallback` wrapper calls: its closure holds
    `implementation` (the package's kernel when `package` imported, else the torch reference)."""
    for f in (fn, getattr(fn, "__wrapped__", None)):
        code, cells = getattr(f, "__code__", None), getattr(f, "__closure__", None)
        if code is not None and cells and "implementation" in code.co_freevars:
            impl = cells[code.co_freevars.index("implementation")].cell_contents
            return f"{getattr(impl, '__module__', '?')}.{getattr(impl, '__qualname__', '?')}"
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')} ({package} " + \
        ("installed: its kernel when the wrapper takes it)" if importlib.util.find_spec(package) else "not installed)")


def scan_path(model, device, compiled=False):
    """Which implementation MambaMixer's full-sequence forward takes on this install (transformers 5.x
    modeling_mamba: causal_conv1d_fn and mamba_selective_scan, each the package kernel when causal_conv1d /
    mamba_ssm import, else torch code; hub kernels only with use_kernels=True, which the peer never sets)."""
    import transformers
    from transformers.models.mamba import modeling_mamba as mm
    have = {m: importlib.util.find_spec(m) is not None for m in ("mamba_ssm", "causal_conv1d", "mambapy", "kernels")}
    mixer = model.layers[0].mixer
    conv = implementation_of(getattr(mm, "causal_conv1d_fn", None), "causal_conv1d")
    if conv.startswith("transformers."):
        conv += " (torch F.conv1d reference)"
    scan_fn = implementation_of(getattr(mm, "mamba_selective_scan", None), "mamba_ssm")
    if not scan_fn.startswith("transformers."):
        scan = f"{scan_fn} (a package kernel)"
    elif getattr(mixer, "use_mambapy", False) and have["mambapy"]:
        scan = f"{scan_fn}: mambapy pscan"
    elif compiled and getattr(mixer, "use_associative_scan", False):
        scan = f"{scan_fn}: torch associative_scan (under torch.compile)"
    else:
        scan = (f"{scan_fn}: 'Recurrent iteration', a Python loop over the T positions per layer, after materialising "
                "exp(Δ·A) and Δ·B·u as (B, I, T, N) f32 tensors")
    summary = (f"transformers {transformers.__version__} modeling_mamba on {device.type}: causal_conv1d_fn -> {conv}; "
               f"mamba_selective_scan -> {scan}; installed: mamba_ssm {have['mamba_ssm']}, causal_conv1d "
               f"{have['causal_conv1d']}, mambapy {have['mambapy']}, kernels {have['kernels']} (hub kernels unused)")
    return {"summary": summary, "scan": scan, "conv": conv, "modules_found": have}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", default="130m", help="'130m' (state-spaces/mamba-130m-hf shapes) or a config.json path")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16", "f16"], help="the model's dtype (f16 on the CPU too)")
    p.add_argument("--variant", default="transformers MambaModel", help="the row's variant (names the dtype when the "
                   "C++ side asks for several)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--warmup-seconds", type=float, default=0.0, help="untimed runs for at least this long first")
    p.add_argument("--reps", type=int, default=2, help="timed repetitions (the slow path takes minutes at 4x4096)")
    p.add_argument("--key", required=True, help="the row key the C++ side matches on")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    import torch
    import transformers
    from transformers import MambaConfig, MambaModel

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch_device(torch, a.device, a.dtype, allow_cpu_f16=True)
    torch.manual_seed(a.seed)
    if a.config == "130m":  # state-spaces/mamba-130m-hf
        cfg = MambaConfig(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24, expand=2,
                          conv_kernel=4, time_step_rank=48, use_bias=False, use_conv_bias=True)
    else:
        cfg = MambaConfig.from_json_file(a.config)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]
    model = MambaModel(cfg).to(dtype).to(device).eval()
    params = sum(t.numel() * t.element_size() for t in model.parameters())

    g = torch.Generator().manual_seed(a.seed + 1)
    ids = torch.randint(min(1000, cfg.vocab_size // 2), cfg.vocab_size, (a.batch_size, a.seq_len), generator=g)

    def step():  # host ids in, the hidden states stay on the device (as in Tessera's bench mamba)
        with torch.inference_mode():
            model(input_ids=ids.to(device), use_cache=False).last_hidden_state
        synchronize(torch, device)

    warmed = warm_up(step, a.warmup_seconds) if a.warmup_seconds > 0 else 0  # counts as warm-up runs (slow path)
    reset_tensor_peak(torch, device)
    s = time_steps(step, max(a.warmup - warmed, 0), a.reps)
    median = percentile(s, 0.5)
    tokens = a.batch_size * a.seq_len
    path = scan_path(model, device)
    row = {
        "key": a.key, "engine": "pytorch", "variant": a.variant,
        "latency_ms": latency_summary(s),
        "throughput": {"seq/s": a.batch_size / (median / 1e3), "tok/s": tokens / (median / 1e3)},
        "tensor_peak_bytes": tensor_peak_bytes(torch, device), "rss_peak_bytes": rss_peak_bytes(),
        "params": {"batch_size": a.batch_size, "seq_len": a.seq_len, "dtype": a.dtype, "device": str(device),
                   "parameter_bytes": params, "path": path},
    }
    env_keys = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY",
                "CUDA_VISIBLE_DEVICES"]
    env = {
        "engine": f"torch {torch.__version__} + transformers {transformers.__version__}",
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "device": device_environment(torch, device),
        "path": path,
        "env": {k: os.environ.get(k) for k in env_keys if os.environ.get(k) is not None},
    }
    json.dump({"engine": "pytorch", "environment": env, "rows": [row]}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
