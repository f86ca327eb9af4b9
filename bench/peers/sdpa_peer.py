#!/usr/bin/env python3
# PyTorch peer for `tessera sdpa --run --device cuda`: times torch.nn.functional.scaled_dot_product_attention
# with one SDPA backend forced (default FLASH_ATTENTION) on the same shapes, timed with CUDA events after a
# warm-up, and prints TFLOP/s per shape (attention FLOPs = 4·B·H·Tq·Tk·D, halved for causal, as OpDef::cost).
# Usage: sdpa_peer.py [--dtype bf16] [--backend flash|efficient|cudnn|math] [--json] B,H,T,D[,causal] ...
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import device_environment, percentile, torch_device, warm_up  # noqa: E402


def parse_shape(s):
    parts = s.split(",")
    causal = parts[-1] == "causal"
    dims = [int(x) for x in (parts[:-1] if causal else parts)]
    if len(dims) != 4 or min(dims) <= 0:
        raise SystemExit(f"shape '{s}': expected B,H,T,D or B,H,T,D,causal (positive integers)")
    return dims, causal


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("shapes", nargs="+", help="B,H,T,D or B,H,T,D,causal")
    ap.add_argument("--dtype", default="bf16", choices=["f16", "bf16", "f32"])
    ap.add_argument("--backend", default="flash", choices=["flash", "efficient", "cudnn", "math"])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--warmup", type=float, default=0.5, help="warm-up seconds per shape (GPU clocks ramp up)")
    ap.add_argument("--reps", type=int, default=7, help="timed batches of calls; the median batch is reported")
    ap.add_argument("--min-ms", type=float, default=50.0, help="each timed batch runs at least this long")
    ap.add_argument("--json", action="store_true", help="print one JSON report instead of text lines")
    a = ap.parse_args()

    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F

    device = torch_device(torch, a.device, a.dtype)
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[a.dtype]
    backend = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
               "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}[a.backend]
    rows = []
    for spec in a.shapes:
        (B, H, T, D), causal = parse_shape(spec)
        g = torch.Generator(device=device).manual_seed(0)
        q, k, v = (torch.randn(B, H, T, D, device=device, dtype=dtype, generator=g) for _ in range(3))
        row = {"shape": [B, H, T, D], "causal": causal, "dtype": a.dtype, "backend": a.backend}
        try:
            with sdpa_kernel([backend]):
                step = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # noqa: E731
                warm_up(step, a.warmup)
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                step()
                stop.record()
                stop.synchronize()
                per_batch = max(1, int(a.min_ms / max(start.elapsed_time(stop), 1e-3)))
                ms = []
                for _ in range(a.reps):
                    start.record()
                    for _ in range(per_batch):
                        step()
                    stop.record()
                    stop.synchronize()
                    ms.append(start.elapsed_time(stop) / per_batch)
            ms.sort()
            flops = 4.0 * B * H * T * T * D * (0.5 if causal else 1.0)
            row.update({"median_ms": percentile(ms, 0.5), "p10_ms": percentile(ms, 0.1), "p90_ms": percentile(ms, 0.9),
                        "tflops": flops / (percentile(ms, 0.5) * 1e9)})
        except RuntimeError as e:  # the backend refuses the shape/dtype (torch says why)
            row["error"] = str(e).splitlines()[0][:300]
        rows.append(row)
        del q, k, v
        if not a.json:
            what = f"{B},{H},{T},{D}{' causal' if causal else ''} {a.dtype}"
            if "error" in row:
                print(f"torch sdpa {a.backend}: {what}: error: {row['error']}", flush=True)
            else:
                print(f"torch sdpa {a.backend}: {what}: median {row['median_ms']:.3f} ms (p10 {row['p10_ms']:.3f}, "
                      f"p90 {row['p90_ms']:.3f}), {row['tflops']:.1f} TFLOP/s", flush=True)
    if a.json:
        print(json.dumps({"torch": torch.__version__, "environment": device_environment(torch, device), "rows": rows},
                         indent=2))


if __name__ == "__main__":
    main()
