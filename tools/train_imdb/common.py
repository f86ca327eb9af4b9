"""Shared pieces of the IMDB training recipes: data loading with a held-out validation slice of the *train*
split (the test split is only read by evaluate_test(), after model selection), seeding, logging, f16 export."""
import gzip
import json
import os
import random
import time

import numpy as np
import torch

VAL_SIZE = 2500  # held out of the 25k train reviews for validation and model selection


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def train_val_split(data_dir, seed):
    """The train split shuffled with `seed`; the last VAL_SIZE reviews (balanced) are validation."""
    rows = read_jsonl_gz(os.path.join(data_dir, "train.jsonl.gz"))
    rng = random.Random(seed)
    pos = [r for r in rows if r["label"] == 1]
    neg = [r for r in rows if r["label"] == 0]
    rng.shuffle(pos)
    rng.shuffle(neg)
    half = VAL_SIZE // 2
    val = pos[:half] + neg[:half]
    train = pos[half:] + neg[half:]
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val


def test_rows(data_dir):
    return read_jsonl_gz(os.path.join(data_dir, "test.jsonl.gz"))


class Log:
    """Appends JSON lines to `path` (default OUT.work/train_log.jsonl) and echoes them."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.f = open(path, "a")
        self.t0 = time.time()

    def __call__(self, **kw):
        kw["elapsed_s"] = round(time.time() - self.t0, 1)
        line = json.dumps(kw)
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


def batches(items, batch_size, shuffle, seed):
    idx = list(range(len(items)))
    if shuffle:
        random.Random(seed).shuffle(idx)
    for i in range(0, len(idx), batch_size):
        yield [items[j] for j in idx[i:i + batch_size]]


def cosine_lr(step, total, warmup, peak):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return peak * 0.5 * (1 + np.cos(np.pi * min(1.0, p)))


def past_deadline(start, minutes):
    """True once `minutes` (> 0) have passed since `start` (time.time())."""
    return minutes > 0 and (time.time() - start) / 60 > minutes


def scheduled_lr(step, total, warmup, peak, phase_start, cap_minutes):
    """Linear warm-up then cosine decay over the phase, whichever ends first: `total` steps or the time cap,
    so a time-capped phase still anneals its learning rate to ~0."""
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    if cap_minutes > 0:
        p = max(p, (time.time() - phase_start) / (cap_minutes * 60))
    return peak * 0.5 * (1 + np.cos(np.pi * min(1.0, p)))
