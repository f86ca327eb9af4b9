#!/usr/bin/env python3
"""Accuracy of a saved IMDB classifier on the full test split with PyTorch (the number Tessera's own CPU
evaluation is compared with): BERT directories via transformers, mamba_ssm-layout directories via
mamba_layout. Each review runs unpadded in length-sorted batches (Mamba's mean pools every position).

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
    args = ap.parse_args()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    rows = common.test_rows(args.data)
    if args.limit:
        import random
        rows = random.Random(0).sample(rows, args.limit)
    conf = json.load(open(os.path.join(args.model, "config.json")))
    if "d_model" in conf:
        model, _ = mamba_layout.load_layout(args.model)
        tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(args.model, "tokenizer.json"))
        run = lambda ids: model(ids)
        max_len = None
    else:
        model = BertForSequenceClassification.from_pretrained(args.model, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(args.model)
        run = lambda ids: model(input_ids=ids).logits
        max_len = 512
    model = model.to(dev).eval()
    enc = [tok(r["text"], truncation=max_len is not None, max_length=max_len)["input_ids"] for r in rows]
    order = sorted(range(len(rows)), key=lambda i: len(enc[i]))
    correct, t0 = 0, time.time()
    with torch.no_grad():
        i = 0
        while i < len(order):  # batches of equal length only: no padding enters Mamba's mean
            n = len(enc[order[i]])
            j = i
            while j < len(order) and len(enc[order[j]]) == n and j - i < 64:
                j += 1
            ids = torch.tensor([enc[k] for k in order[i:j]], device=dev)
            pred = run(ids).argmax(-1).cpu().tolist()
            correct += sum(int(p == rows[k]["label"]) for p, k in zip(pred, order[i:j]))
            i = j
    res = {"model": args.model, "examples": len(rows), "accuracy": correct / len(rows), "engine": "pytorch",
           "torch": torch.__version__, "device": dev, "seconds": round(time.time() - t0, 1)}
    print(json.dumps(res))
    if args.out:
        json.dump(res, open(args.out, "w"), indent=2)


if __name__ == "__main__":
    main()
