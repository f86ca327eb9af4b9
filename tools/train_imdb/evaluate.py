#!/usr/bin/env python3
"""Accuracy of a saved IMDB classifier on the full test split with PyTorch (the number Tessera's own CPU
evaluation is compared with): BERT directories via transformers, mamba_ssm-layout directories via
mamba_layout. Reviews run in length-sorted, right-padded batches (see the note on Mamba's mean below).

  python3 tools/train_imdb/evaluate.py --model models/imdb-bert-small --data DIR [--out results.json]
"""
import argparse
import json
import os
import time

import torch
from transformers import AutoTokenizer, BertForSequenceClassification, PreTrainedTokenizerFast

import common
import mamba_layout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--fast-scan", action="store_true",
                    help="Mamba: use fast_mamba's chunked scan (same numbers as transformers' per-step loop, ~30x faster)")
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rows = common.test_rows(args.data)
    if args.limit:
        import random
        rows = random.Random(0).sample(rows, args.limit)
    conf = json.load(open(os.path.join(args.model, "config.json")))
    if "d_model" in conf:
        model, _ = mamba_layout.load_layout(args.model)
        if args.fast_scan:  # the chunked scan, verified equal to transformers' loop (check_fast_mamba.py)
            import fast_mamba
            fast_mamba.patch_mamba(model)
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(args.model, "tokenizer.json"))
        run = lambda ids, mask: model(ids, mask)
        max_len, pad = None, 0
    else:
        model = BertForSequenceClassification.from_pretrained(args.model, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(args.model)
        run = lambda ids, mask: model(input_ids=ids, attention_mask=mask).logits
        max_len, pad = 512, tok.pad_token_id
    model = model.to(dev).eval()
    enc = [tok(r["text"], truncation=max_len is not None, max_length=max_len)["input_ids"] for r in rows]
    order = sorted(range(len(rows)), key=lambda i: len(enc[i]))
    correct, t0 = 0, time.time()
    with torch.no_grad():
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            n = max(len(enc[k]) for k in idx)
            # Right padding with a mask: BERT masks the keys; Mamba (causal) takes the mean over real tokens only,
            # which equals its unpadded mean — the reference model's behaviour on one review.
            ids = torch.tensor([enc[k] + [pad] * (n - len(enc[k])) for k in idx], device=dev)
            mask = torch.tensor([[1] * len(enc[k]) + [0] * (n - len(enc[k])) for k in idx], device=dev)
            pred = run(ids, mask).argmax(-1).cpu().tolist()
            correct += sum(int(p == rows[k]["label"]) for p, k in zip(pred, idx))
    res = {"fast_scan": bool(args.fast_scan), "model": args.model, "examples": len(rows), "accuracy": correct / len(rows), "engine": "pytorch",
           "torch": torch.__version__, "device": dev, "seconds": round(time.time() - t0, 1)}
    print(json.dumps(res))
    if args.out:
        json.dump(res, open(args.out, "w"), indent=2)


if __name__ == "__main__":
    main()
