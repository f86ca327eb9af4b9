#!/usr/bin/env python3
"""Train the embedded small Mamba IMDB classifier (mamba_ssm classifier layout, GPT-NeoX tokenizer): causal-LM
pre-training on the train texts, then fine-tuning of backbone + head over the mean of the final hidden states;
the best validation checkpoint (held-out slice of the train split) is saved with f16 safetensors.
Without mamba-ssm (and mambapy) transformers' Mamba scans with a Python loop over every time step, so by default
every MambaMixer is patched with fast_mamba's chunked scan (same function, same weights; --no-fast-scan to
train through transformers' own path). evaluate.py always uses the untouched transformers path.

  python3 tools/train_imdb/train_mamba.py --data DIR --tokenizer DIR/tokenizer.json --out models/imdb-mamba-small
"""
import argparse
import os
import shutil
import time

import torch
import torch.nn.functional as F
from transformers import MambaForCausalLM, PreTrainedTokenizerFast

import common
import fast_mamba
import mamba_layout


def encode(tok, texts, max_len, dev):
    enc = tok(texts, truncation=True, max_length=max_len, padding="longest", return_tensors="pt")
    return enc["input_ids"].to(dev), enc["attention_mask"].to(dev)


@torch.no_grad()
def accuracy(model, tok, rows, max_len, dev, bs=128):
    model.eval()
    correct = 0
    for b in common.batches(rows, bs, False, 0):
        ids, mask = encode(tok, [r["text"] for r in b], max_len, dev)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
            logits = model(ids, mask)
        correct += (logits.argmax(-1).cpu() == torch.tensor([r["label"] for r in b])).sum().item()
    model.train()
    return correct / len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True, help="gpt-neox-20b tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", help="JSON-lines training log (default OUT.work/train_log.jsonl)")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--lm-epochs", type=float, default=2)
    ap.add_argument("--ft-epochs", type=float, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lm-lr", type=float, default=2e-3)
    ap.add_argument("--ft-lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--lm-minutes", type=float, default=0, help="cap the LM phase at this many minutes (0 = no cap)")
    ap.add_argument("--ft-minutes", type=float, default=0, help="cap fine-tuning at this many minutes (0 = no cap)")
    ap.add_argument("--fast-scan", action=argparse.BooleanOptionalAction, default=True,
                    help="patch every MambaMixer with fast_mamba's chunked scan (default on)")
    ap.add_argument("--scan-chunk", type=int, default=32, help="chunk length of the fast scan")
    args = ap.parse_args()
    common.seed_all(args.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    log = common.Log(args.log or os.path.join(args.out + ".work", "train_log.jsonl"))
    log(event="start", args=vars(args), torch=torch.__version__, device=dev)
    train, val = common.train_val_split(args.data, args.seed)
    if args.limit:
        train, val = train[:args.limit], val[:max(16, args.limit // 8)]
    tok = PreTrainedTokenizerFast(tokenizer_file=args.tokenizer, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    vocab_size, pad_multiple = 50277, 8
    cfg = mamba_layout.hf_config(args.d_model, args.layers, vocab_size, pad_multiple)
    steps_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size

    # 1. Causal-LM pre-training (next token) on the train texts.
    lm = MambaForCausalLM(cfg).to(dev)
    if args.fast_scan:
        log(event="fast_scan", phase="lm", mixers_patched=fast_mamba.patch_mamba(lm, chunk=args.scan_chunk))
    opt = torch.optim.AdamW(lm.parameters(), lr=args.lm_lr, weight_decay=0.01)
    total, step, phase_start = int(args.lm_epochs * steps_per_epoch), 0, time.time()
    texts = [r["text"] for r in train]
    while step < total:
        for b in common.batches(texts, args.batch_size, True, args.seed + step):
            if step >= total:
                break
            ids, mask = encode(tok, b, args.max_len, dev)
            labels = ids.masked_fill(mask == 0, -100)
            for g in opt.param_groups:
                g["lr"] = common.scheduled_lr(step, total, 200, args.lm_lr, phase_start, args.lm_minutes)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                loss = lm(input_ids=ids, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if step % 50 == 0:
                log(event="lm", step=step, total=total, loss=round(loss.item(), 4))
            step += 1
            if common.past_deadline(phase_start, args.lm_minutes):
                log(event="lm_time_cap", step=step)
                total = step
                break

    # 2. Classification fine-tuning; keep the best validation checkpoint.
    model = mamba_layout.MambaClassifier(cfg).to(dev)
    model.backbone.load_state_dict(lm.backbone.state_dict())
    if args.fast_scan:
        log(event="fast_scan", phase="finetune", mixers_patched=fast_mamba.patch_mamba(model, chunk=args.scan_chunk))
    del lm
    opt = torch.optim.AdamW(model.parameters(), lr=args.ft_lr, weight_decay=0.01)
    total, step, best, best_state = int(args.ft_epochs * steps_per_epoch), 0, -1.0, None
    phase_start = time.time()
    while step < total:
        for b in common.batches(train, args.batch_size, True, args.seed * 7 + step):
            if step >= total:
                break
            ids, mask = encode(tok, [r["text"] for r in b], args.max_len, dev)
            y = torch.tensor([r["label"] for r in b], device=dev)
            for g in opt.param_groups:
                g["lr"] = common.scheduled_lr(step, total, 100, args.ft_lr, phase_start, args.ft_minutes)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                loss = F.cross_entropy(model(ids, mask).float(), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if step % (steps_per_epoch // 2 or 1) == 0 or step == total:
                acc = accuracy(model, tok, val, args.max_len, dev)
                log(event="finetune", step=step, total=total, loss=round(loss.item(), 4), val_accuracy=acc)
                if acc > best:
                    best, best_state = acc, {k: v.detach().clone() for k, v in model.state_dict().items()}
                if common.past_deadline(phase_start, args.ft_minutes):
                    log(event="ft_time_cap", step=step)
                    total = step
                    break

    model.load_state_dict(best_state)
    mamba_layout.save_layout(model, args.out, vocab_size, pad_multiple, {0: "NEGATIVE", 1: "POSITIVE"})
    shutil.copy(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
    log(event="saved", best_val_accuracy=best, out=args.out)


if __name__ == "__main__":
    main()
