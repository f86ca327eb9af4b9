"""Pieces every peer script shares: the timing loop and latency statistics (the same definitions as
src/bench/harness.cpp), peak RSS, and torch's BLAS configuration for the environment record."""
import resource
import statistics
import time


def percentile(sorted_ms, q):
    # Linear interpolation between closest ranks (numpy's default), matching src/bench/harness.cpp.
    if not sorted_ms:
        return 0.0
    pos = q * (len(sorted_ms) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (pos - lo)


def time_steps(step, warmup, min_reps, min_time=0.0):
    """Runs step() `warmup` times untimed, then until both `min_reps` runs and `min_time` seconds are done;
    returns the per-run milliseconds, sorted."""
    for _ in range(warmup):
        step()
    samples = []
    start = time.perf_counter()
    while len(samples) < max(1, min_reps) or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        step()
        samples.append((time.perf_counter() - t0) * 1e3)
    return sorted(samples)


def latency_summary(s):
    """The report's latency_ms object for sorted samples `s`."""
    return {"reps": len(s), "median": percentile(s, 0.5), "p10": percentile(s, 0.1), "p90": percentile(s, 0.9),
            "mean": statistics.fmean(s), "min": s[0], "max": s[-1]}


def rss_peak_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def torch_blas_summary(torch):
    # The lines of torch.__config__.show() that say which BLAS/LAPACK/MKL/oneDNN and CPU capability it uses.
    keep = ("BLAS", "LAPACK", "MKL", "oneDNN", "OpenMP", "CPU capability", "CXX flags", "Build settings")
    return [l.strip()[:300] for l in torch.__config__.show().splitlines() if any(k in l for k in keep)]


# ---- Devices (torch is imported by the caller, lazily: these scripts must start on machines without it) ----

def torch_device(torch, name, dtype, allow_cpu_f16=False):
    """torch.device for --device cpu|cuda|cuda:N; exits with a clear message when CUDA is missing or when f16 is asked
    on the CPU (f16 GEMM on CPU is not a fair comparison), unless allow_cpu_f16 (`bench mamba`, which reports the
    f32 peer next to it)."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {name}: torch {torch.__version__} sees no CUDA device (torch.version.cuda = "
                         f"{torch.version.cuda})")
    if device.type == "cpu" and dtype == "f16" and not allow_cpu_f16:
        raise SystemExit("--dtype f16: on the CPU the peer runs f32 and bf16 only (f16 GEMM on CPU is not a fair comparison)")
    if device.type == "cuda":
        if device.index is None:  # "cuda": the current device, named by index (set_device needs one)
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    return device


def synchronize(torch, device):
    """Waits for the device's queued work, so that a host clock read afterwards covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_tensor_peak(torch, device):
    if device.type == "cuda":
        synchronize(torch, device)
        torch.cuda.reset_peak_memory_stats(device)


def tensor_peak_bytes(torch, device):
    """The caching allocator's peak of allocated (in-use) tensor bytes since the last reset; None on the CPU."""
    if device.type != "cuda":
        return None
    synchronize(torch, device)
    return int(torch.cuda.max_memory_allocated(device))


def warm_up(step, seconds):
    """Runs step() at least once and until `seconds` have passed (GPU clocks ramp up; see Note [GPU warm-up] in
    src/bench/device_run.cpp); returns the number of runs."""
    n, start = 0, time.perf_counter()
    while n == 0 or time.perf_counter() - start < seconds:
        step()
        n += 1
    return n


def device_environment(torch, device):
    """What the peer ran on: the GPU, CUDA/cuDNN versions and the math settings that change results or speed."""
    if device.type != "cuda":
        return {"device": "cpu", "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    p = torch.cuda.get_device_properties(device)
    sdpa = {}
    for name in ("flash", "mem_efficient", "math", "cudnn"):
        fn = getattr(torch.backends.cuda, f"{name}_sdp_enabled", None)
        if fn is not None:
            sdpa[name] = bool(fn())
    return {"device": str(device), "gpu": p.name, "capability": f"sm_{p.major}{p.minor}",
            "multiprocessors": p.multi_processor_count, "memory_gib": round(p.total_memory / 2**30, 1),
            "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(), "sdpa_backends_enabled": sdpa}


def parse_variant(v):
    """'sdpa+compile:reduce-overhead' -> ('sdpa', True, 'reduce-overhead'); 'eager' -> ('eager', False, None)."""
    base, _, compiled = v.partition("+")
    if not compiled:
        return base, False, None
    if compiled != "compile" and not compiled.startswith("compile:"):
        raise SystemExit(f"unknown variant '{v}': expected ATTN, ATTN+compile or ATTN+compile:MODE")
    mode = compiled.partition(":")[2] or "default"
    return base, True, mode


def raise_recompile_limit(torch, n=256):
    """Batches of many lengths would exceed dynamo's per-function recompile limit (8) and fall back to eager silently."""
    cfg = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(cfg, name):
            setattr(cfg, name, max(getattr(cfg, name), n))
