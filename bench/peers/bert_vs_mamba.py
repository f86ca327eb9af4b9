#!/usr/bin/env python3
"""PyTorch/transformers peer for `tessera bench bert-vs-mamba`: the same sample, lengths, batches, dtype and threads,
one model and variant per process; prints one JSON report {"engine", "environment", "rows"} in the harness's schema.
`--plot-png DIR` instead replots DIR/report.json as PNGs with matplotlib (used when rsvg-convert is absent)."""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "train_imdb"))
from peer_common import (device_environment, parse_variant, percentile, raise_recompile_limit,  # noqa: E402
                         reset_tensor_peak, synchronize, tensor_peak_bytes, torch_blas_summary, torch_device, warm_up)


def peak_rss_reset():
    # "5" resets VmHWM to the current RSS (Linux): each row's peak is its own, as on the C++ side.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def load_tokenizer(a):
    # Note: transformers 5's BertTokenizerFast(vocab_file=...) silently builds an empty vocabulary; from_pretrained
    # on the folder reads vocab.txt correctly.
    from transformers import AutoTokenizer, BertTokenizerFast, PreTrainedTokenizerFast
    t = a.tokenizer
    if os.path.isdir(t):
        if os.path.exists(os.path.join(t, "tokenizer.json")):
            return PreTrainedTokenizerFast(tokenizer_file=os.path.join(t, "tokenizer.json"))
        if a.model == "mamba" and os.path.exists(os.path.join(t, "vocab.txt")):
            return BertTokenizerFast.from_pretrained(t)
        return AutoTokenizer.from_pretrained(t)
    if t.endswith("vocab.txt"):
        return BertTokenizerFast.from_pretrained(os.path.dirname(t), do_lower_case=True)
    return PreTrainedTokenizerFast(tokenizer_file=t)


def build_model(a, torch):
    """(model, run(ids, mask) -> logits, description of the path taken)."""
    import mamba_layout
    from transformers import BertConfig, BertForSequenceClassification, MambaConfig
    attn, compiled, _ = parse_variant(a.variant)
    if a.model == "bert":
        if a.dir:
            m = BertForSequenceClassification.from_pretrained(a.dir, attn_implementation=attn)
        else:
            cfg = BertConfig(num_labels=2) if a.config == "base" else BertConfig.from_json_file(a.config)
            cfg.max_position_embeddings = max(cfg.max_position_embeddings, a.max_positions)
            cfg._attn_implementation = attn
            torch.manual_seed(a.seed)
            m = BertForSequenceClassification(cfg)
        run = lambda ids, mask: m(input_ids=ids, attention_mask=mask).logits
        return m, run, f"BertForSequenceClassification, attn_implementation={attn}"
    if a.dir:
        conf = json.load(open(os.path.join(a.dir, "config.json")))
        if "d_model" not in conf:
            raise SystemExit("bert_vs_mamba.py: only mamba_ssm-layout classifier directories are supported by the peer")
        if os.path.exists(os.path.join(a.dir, "model.safetensors")):
            m, _ = mamba_layout.load_layout(a.dir, use_mambapy=False)
        else:  # pytorch_model.bin: the same key mapping as mamba_layout.load_layout
            ssm = conf.get("ssm_cfg", {})
            cfg = mamba_layout.hf_config(conf["d_model"], conf["n_layer"], conf["vocab_size"],
                                         conf.get("pad_vocab_size_multiple", 8), ssm.get("d_state", 16),
                                         ssm.get("expand", 2), ssm.get("d_conv", 4), use_mambapy=False)
            sd = torch.load(os.path.join(a.dir, "pytorch_model.bin"), map_location="cpu", weights_only=True)
            m = mamba_layout.MambaClassifier(cfg, sd["classification_head.weight"].shape[0])
            m.load_state_dict({k.replace("backbone.embedding.", "backbone.embeddings."): v.float()
                               for k, v in sd.items()}, strict=False)
    else:
        if a.config == "130m":  # state-spaces/mamba-130m-hf shapes (MambaConfig() defaults have 32 layers)
            cfg = MambaConfig(vocab_size=50280, hidden_size=768, num_hidden_layers=24, state_size=16, expand=2,
                              conv_kernel=4, time_step_rank=48, use_mambapy=False)
        else:
            conf = json.load(open(a.config))
            if "d_model" in conf:
                ssm = conf.get("ssm_cfg", {})
                cfg = mamba_layout.hf_config(conf["d_model"], conf["n_layer"], conf["vocab_size"],
                                             conf.get("pad_vocab_size_multiple", 8), ssm.get("d_state", 16),
                                             ssm.get("expand", 2), ssm.get("d_conv", 4), use_mambapy=False)
            else:
                cfg = MambaConfig.from_json_file(a.config)
        torch.manual_seed(a.seed)
        m = mamba_layout.MambaClassifier(cfg, 2)
    m.backbone.config.use_associative_scan = compiled
    for layer in m.backbone.layers:
        layer.mixer.use_mambapy = False
        layer.mixer.use_associative_scan = compiled
    masked = a.pooling == "masked_mean"
    run = lambda ids, mask: m(ids, mask if masked else None)
    from mamba_peer import scan_path
    path = scan_path(m.backbone, torch.device(a.device), compiled)["summary"]
    return m, run, f"mamba_layout.MambaClassifier (transformers MambaModel + {a.pooling} + head); {path}"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--plot-png", help="replot DIR/report.json as DIR/throughput.png and memory.png, then exit")
    p.add_argument("--model", choices=["bert", "mamba"])
    p.add_argument("--name")
    p.add_argument("--variant", default="eager",
                   help="bert: eager | sdpa | sdpa+compile[:MODE]; mamba: eager | eager+compile (alias: compile)")
    p.add_argument("--dir", help="trained classifier directory (accuracy reported)")
    p.add_argument("--config", help="random weights: base | 130m | config.json")
    p.add_argument("--tokenizer")
    p.add_argument("--data", help="JSON lines {text, label}: the sample, in Tessera's order")
    p.add_argument("--max-length", default="256")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dtype", default="f32", choices=["f32", "bf16", "f16"], help="f16: --device cuda only")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--warmup-all", action="store_true",
                   help="per row, warm up with --warmup passes over every batch (GPU) instead of the longest batch")
    p.add_argument("--warmup-seconds", type=float, default=0.0,
                   help="before the first row: the longest batch of every length, untimed, for this long (GPU clocks)")
    p.add_argument("--budget", type=float, default=120.0, help="seconds per row; longer rows are then skipped")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pooling", default="masked_mean", choices=["masked_mean", "mean"])
    p.add_argument("--max-positions", type=int, default=512)
    p.add_argument("--key-template", default="{L}")
    p.add_argument("--no-sort", action="store_true")
    a = p.parse_args()
    if a.plot_png:
        return plot_png(a.plot_png)
    if a.variant == "compile":
        a.variant = "eager+compile"

    import torch
    import transformers
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch_device(torch, a.device, a.dtype)
    rows_in = [json.loads(l) for l in open(a.data) if l.strip()]
    texts, labels = [r["text"] for r in rows_in], [r["label"] for r in rows_in]
    tok = load_tokenizer(a)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    model, run, path = build_model(a, torch)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]
    model = model.to(dtype).to(device).eval()
    _, compiled, mode = parse_variant(a.variant)
    if compiled:
        # Note [Peer compile, variable lengths]: every batch has its own length, so the graph is compiled with
        # dynamic=True (one graph for all lengths, as one would serve them; dynamic=False would recompile per batch
        # length, ~40 compilations per run). The row's warm-up runs every batch first (--warmup-all), so
        # compilation, recompilation and CUDA-graph capture (reduce-overhead) stay out of the timing.
        raise_recompile_limit(torch)
        fn = torch.compile(model, mode=None if mode == "default" else mode, dynamic=True)
        run = lambda ids, mask: (fn(input_ids=ids, attention_mask=mask).logits if a.model == "bert"
                                 else fn(ids, mask if a.pooling == "masked_mean" else None))
        path += f"; torch.compile(mode={mode}, dynamic=True)"
    params = sum(t.numel() * t.element_size() for t in model.parameters())

    lengths = sorted({int(x) for x in a.max_length.split(",")})
    prepared = []  # (L, eff, enc, tokenize_s, batches), every length tokenized before any timing
    for L in lengths:
        # A trained BERT keeps its position table: longer lengths are truncated to it (as on the C++ side).
        eff = min(L, model.config.max_position_embeddings) if (a.model == "bert" and a.dir) else L
        t0 = time.perf_counter()
        enc = tok(texts, truncation=True, max_length=eff)["input_ids"]
        tokenize_s = time.perf_counter() - t0
        order = list(range(len(enc))) if a.no_sort else sorted(range(len(enc)), key=lambda i: len(enc[i]))
        prepared.append((L, eff, enc, tokenize_s, [order[i:i + a.batch_size] for i in range(0, len(order), a.batch_size)]))

    def tensors(enc, b):  # host tensors; the timed step moves them to the device (end to end, as Tessera)
        n = max(len(enc[k]) for k in b)
        ids = torch.tensor([enc[k] + [pad] * (n - len(enc[k])) for k in b])
        mask = torch.tensor([[1] * len(enc[k]) + [0] * (n - len(enc[k])) for k in b])
        return ids, mask

    def classify(ids, mask):
        pred = run(ids.to(device), mask.to(device)).argmax(-1).tolist()
        synchronize(torch, device)
        return pred

    def longest_of(enc, batches):
        return max(batches, key=lambda b: max(len(enc[k]) for k in b))

    if a.warmup_seconds > 0:  # Note [GPU warm-up] (src/bench/device_run.cpp): the first length's longest batch
        _, _, enc0, _, batches0 = prepared[0]
        first = tensors(enc0, longest_of(enc0, batches0))
        with torch.inference_mode():
            warm_up(lambda: classify(*first), a.warmup_seconds)

    out_rows, over_budget = [], None
    for L, eff, enc, tokenize_s, batches in prepared:
        real = sum(len(e) for e in enc)
        padded = sum(len(b) * max(len(enc[k]) for k in b) for b in batches)
        row = {"key": a.key_template.replace("{L}", str(L)), "engine": "pytorch", "variant": a.variant,
               "latency_ms": {"reps": 0, "median": 0.0, "p10": 0.0, "p90": 0.0}, "throughput": {},
               "tensor_peak_bytes": None, "rss_peak_bytes": None,
               "params": {"model": a.model, "model_name": a.name, "max_length": L, "effective_max_length": eff,
                          "status": "ok", "accuracy": None, "samples": len(texts), "batches": len(batches),
                          "batch_size": a.batch_size, "dtype": a.dtype, "real_tokens": real, "padded_tokens": padded,
                          "padding_fraction": 1 - real / padded if padded else 0.0, "tokenize_s": tokenize_s,
                          "kernels": path, "pooling": a.pooling if a.model == "mamba" else "",
                          "device": str(device), "parameter_bytes": params}}
        out_rows.append(row)
        if over_budget:
            row["params"]["status"] = f"skipped: {over_budget}"
            continue

        row_start = time.perf_counter()
        try:
            with torch.inference_mode():
                for _ in range(max(a.warmup, 1)):
                    for b in (batches if a.warmup_all else [longest_of(enc, batches)]):
                        classify(*tensors(enc, b))
                peak_rss_reset()
                reset_tensor_peak(torch, device)
                ms, correct, n_done = [], 0, 0
                start = time.perf_counter()
                for b in batches:
                    ids, mask = tensors(enc, b)
                    t0 = time.perf_counter()
                    pred = classify(ids, mask)
                    ms.append((time.perf_counter() - t0) * 1e3)
                    correct += sum(int(p == labels[k]) for p, k in zip(pred, b))
                    n_done += len(b)
                    if time.perf_counter() - row_start > a.budget and n_done < len(texts):
                        break
                total = time.perf_counter() - start
        except Exception as e:  # e.g. a compile failure or out of memory: report it, skip the longer lengths
            over_budget = f"failed at max_length {L}: {type(e).__name__}: {str(e)[:300]}"
            row["params"]["status"] = f"failed: {type(e).__name__}: {str(e)[:300]}"
            continue
        if n_done < len(texts):
            over_budget = (f"the {a.budget:.0f} s peer budget ran out at max_length {L} "
                           f"({len(ms)}/{len(batches)} batches, {n_done / total:.3g} samples/s on those)")
            row["params"]["status"] = f"skipped: {over_budget}"
            continue
        s = sorted(ms)
        row["latency_ms"] = {"reps": len(s), "median": percentile(s, 0.5), "p10": percentile(s, 0.1),
                             "p90": percentile(s, 0.9), "mean": sum(s) / len(s), "min": s[0], "max": s[-1]}
        row["throughput"] = {"samples/s": n_done / total, "real tok/s": real / total, "padded tok/s": padded / total}
        row["rss_peak_bytes"] = peak_rss_bytes()
        row["tensor_peak_bytes"] = tensor_peak_bytes(torch, device)
        row["params"].update({"latency_p95_ms": percentile(s, 0.95), "total_s": total,
                              "accuracy": correct / n_done if a.dir else None})
        if time.perf_counter() - row_start > a.budget:
            over_budget = f"max_length {L} already took {time.perf_counter() - row_start:.0f} s (> the {a.budget:.0f} s peer budget)"

    env = {"engine": f"torch {torch.__version__} + transformers {transformers.__version__}",
           "threads": torch.get_num_threads(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "blas_config": torch_blas_summary(torch), "device": device_environment(torch, device), "path": path,
           "timing": "per batch: host ids/mask to the device, forward, argmax copied to the host, synchronize"}
    json.dump({"engine": "pytorch", "environment": env, "rows": out_rows}, sys.stdout)
    sys.stdout.write("\n")


def plot_png(d):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rep = json.load(open(os.path.join(d, "report.json")))
    rows = list(rep["rows"]) + [r for p in rep["peers"] for r in p["rows"]]
    series = {}
    for r in rows:
        if r["params"].get("status") != "ok":
            continue
        name = f'{r["params"]["model_name"]} {r["engine"]} {r["variant"]}'.strip()
        series.setdefault(name, []).append(r)
    for stem, ylabel, get in (("throughput", "samples/s", lambda r: r["throughput"].get("samples/s")),
                              ("memory", "peak RSS (MiB)", lambda r: (r["rss_peak_bytes"] or 0) / 2**20)):
        fig, ax = plt.subplots(figsize=(8.6, 4.6))
        for name, rs in series.items():
            rs = sorted(rs, key=lambda r: r["params"]["max_length"])
            ax.plot([r["params"]["max_length"] for r in rs], [get(r) for r in rs], marker="o",
                    linestyle="-" if rs[0]["engine"] == "tessera" else "--", label=name)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("max_length (tokens)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(d, stem + ".png"), dpi=110)


if __name__ == "__main__":
    main()
