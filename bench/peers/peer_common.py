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
