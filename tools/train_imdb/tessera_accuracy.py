#!/usr/bin/env python3
"""Accuracy of `tessera classify` output (one JSON line per review, in input order) against the labels of the
IMDB test split, written as JSON next to evaluate.py's PyTorch figure.

  tessera classify --model DIR --input DATA/test.jsonl.gz --output preds.jsonl
  python3 tools/train_imdb/tessera_accuracy.py --data DATA --predictions preds.jsonl --command "..." --out acc.json
"""
import argparse
import json

import common


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--command", required=True, help="the tessera command that produced the predictions")
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = common.test_rows(args.data)
    with open(args.predictions) as f:
        preds = [json.loads(line) for line in f if line.strip()]
    assert len(preds) == len(rows), f"{len(preds)} predictions for {len(rows)} reviews"
    correct = sum(int((p["label"] == "POSITIVE") == (r["label"] == 1)) for p, r in zip(preds, rows))
    res = {"engine": "tessera", "device": "cpu (2 cores)", "examples": len(rows), "accuracy": correct / len(rows),
           "command": args.command}
    if args.seconds:
        res["seconds"] = args.seconds
    with open(args.out, "w") as f:
        json.dump(res, f, indent=2)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
