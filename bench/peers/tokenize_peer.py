#!/usr/bin/env python3
# HF tokenizers peer for `tessera bench tokenize`: times Tokenizer.encode_batch single-threaded (or --threads) on the
# same texts and prints one JSON report (rows in the harness's schema) with the total token count for comparison.
import argparse
import gzip
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import latency_summary, percentile, rss_peak_bytes, time_steps  # noqa: E402


def read_texts(path, limit):
    # The same rules as tools/cli/text_input.cpp: one JSON string or {"text": ...} per line, blank lines skipped.
    opener = gzip.open if path.endswith(".gz") else open
    texts = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            v = json.loads(line)
            texts.append(v if isinstance(v, str) else v["text"])
            if limit and len(texts) >= limit:
                break
    return texts


def load(args):
    from tokenizers import Tokenizer
    if args.tokenizer:
        return Tokenizer.from_file(args.tokenizer), "tokenizers.Tokenizer.from_file"
    if os.path.exists(os.path.join(args.model, "tokenizer.json")):
        return Tokenizer.from_file(os.path.join(args.model, "tokenizer.json")), "tokenizers.Tokenizer.from_file"
    from transformers import AutoTokenizer, BertTokenizerFast, GPT2TokenizerFast
    if os.path.exists(os.path.join(args.model, "vocab.json")):  # GPT-2 style: vocab.json + merges.txt
        return GPT2TokenizerFast.from_pretrained(args.model).backend_tokenizer, "GPT2TokenizerFast.backend_tokenizer"
    if os.path.exists(os.path.join(args.model, "vocab.txt")):  # reads tokenizer_config.json (do_lower_case) when present
        return BertTokenizerFast.from_pretrained(args.model).backend_tokenizer, "BertTokenizerFast.backend_tokenizer"
    return AutoTokenizer.from_pretrained(args.model).backend_tokenizer, "AutoTokenizer.backend_tokenizer"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="")
    p.add_argument("--tokenizer", default="")
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--min-time", type=float, default=0.0)
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--key", required=True)
    a = p.parse_args()

    # Single-threaded unless asked: both must be set before tokenizers starts its Rayon pool.
    os.environ["RAYON_NUM_THREADS"] = str(max(1, a.threads))
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if a.threads > 1 else "false"
    import tokenizers

    tok, how = load(a)
    tok.no_padding()
    tok.no_truncation()
    texts = read_texts(a.data, a.limit)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)

    tokens = 0

    def step():
        nonlocal tokens
        tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=True))

    s = time_steps(step, a.warmup, a.min_reps, a.min_time)
    median = percentile(s, 0.5)
    row = {
        "key": a.key, "engine": "hf-tokenizers", "variant": "encode_batch",
        "latency_ms": latency_summary(s),
        "throughput": {"texts/s": len(texts) / (median / 1e3), "tok/s": tokens / (median / 1e3),
                       "MB/s": nbytes / 1e6 / (median / 1e3)},
        "tensor_peak_bytes": None, "rss_peak_bytes": rss_peak_bytes(),
        "params": {"texts": len(texts), "bytes": nbytes, "tokens": tokens, "threads": a.threads, "loaded_with": how},
    }
    env = {
        "engine": f"tokenizers {tokenizers.__version__}",
        "python": platform.python_version(),
        "env": {k: os.environ.get(k) for k in ("RAYON_NUM_THREADS", "TOKENIZERS_PARALLELISM")},
    }
    json.dump({"engine": "hf-tokenizers", "environment": env, "rows": [row]}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
