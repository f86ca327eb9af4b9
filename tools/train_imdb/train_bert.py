#!/usr/bin/env python3
"""Train the embedded small BERT IMDB classifier: masked-LM pre-training on the train texts, then sentiment
fine-tuning; the checkpoint with the best validation accuracy (a held-out slice of the train split) is saved as
a standard BertForSequenceClassification directory with f16 safetensors and the bert-base-uncased vocab.

  python3 tools/train_imdb/train_bert.py --data DIR --vocab DIR/vocab.txt --out models/imdb-bert-small
"""
import argparse
import json
import os
import shutil
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer

import common


def encode(tok, texts, max_len):
    return tok(texts, truncation=True, max_length=max_len, padding="longest", return_tensors="pt")


class Pretokenized:
    """Token ids of every text, computed once; collate() pads a batch of them (keeps the GPU fed)."""

    def __init__(self, tok, texts, max_len):
        self.ids = tok(texts, truncation=True, max_length=max_len)["input_ids"]

    def collate(self, idx, dev):
        n = max(len(self.ids[i]) for i in idx)
        ids = torch.zeros(len(idx), n, dtype=torch.long)
        mask = torch.zeros(len(idx), n, dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, :len(self.ids[i])] = torch.tensor(self.ids[i])
            mask[r, :len(self.ids[i])] = 1
        return {"input_ids": ids.to(dev), "attention_mask": mask.to(dev)}


def mask_tokens(ids, special, vocab_size, gen, p=0.15):
    labels = ids.clone()
    prob = torch.full(ids.shape, p, device=ids.device)
    prob[special] = 0
    m = torch.bernoulli(prob, generator=gen).bool()
    labels[~m] = -100
    ids = ids.clone()
    r = torch.rand(ids.shape, device=ids.device, generator=gen)
    ids[m & (r < 0.8)] = 103  # [MASK]
    rnd = m & (r >= 0.8) & (r < 0.9)
    ids[rnd] = torch.randint(1000, vocab_size, ids.shape, device=ids.device, generator=gen)[rnd]
    return ids, labels


@torch.no_grad()
def accuracy(model, tok, rows, max_len, dev, bs=256):
    model.eval()
    correct = 0
    for b in common.batches(rows, bs, False, 0):
        enc = encode(tok, [r["text"] for r in b], max_len).to(dev)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
            logits = model(**enc).logits
        correct += (logits.argmax(-1).cpu() == torch.tensor([r["label"] for r in b])).sum().item()
    model.train()
    return correct / len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train.jsonl.gz (and test.jsonl.gz for the final report)")
    ap.add_argument("--vocab", required=True, help="bert-base-uncased vocab.txt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", help="JSON-lines training log (default OUT.work/train_log.jsonl)")
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--mlm-epochs", type=float, default=12)
    ap.add_argument("--ft-epochs", type=float, default=5)
    ap.add_argument("--batch-size", type=int, default=64, help="fine-tuning batch size")
    ap.add_argument("--mlm-batch-size", type=int, default=128, help="masked-LM batch size")
    ap.add_argument("--mlm-lr", type=float, default=1.5e-3)
    ap.add_argument("--ft-lr", type=float, default=6e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--evals-per-epoch", type=int, default=4, help="validation evaluations per fine-tuning epoch")
    ap.add_argument("--mlm-warmup", type=int, default=500)
    ap.add_argument("--limit", type=int, default=0, help="use only N train reviews (smoke tests)")
    ap.add_argument("--mlm-minutes", type=float, default=0, help="cap masked-LM pre-training at this many minutes")
    ap.add_argument("--ft-minutes", type=float, default=0, help="cap fine-tuning at this many minutes")
    args = ap.parse_args()
    common.seed_all(args.seed)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    log = common.Log(args.log or os.path.join(args.out + ".work", "train_log.jsonl"))
    log(event="start", args=vars(args), torch=torch.__version__, device=dev)
    train, val = common.train_val_split(args.data, args.seed)
    if args.limit:
        train, val = train[:args.limit], val[:max(16, args.limit // 8)]
    tok = BertTokenizer(vocab=args.vocab, do_lower_case=True, model_max_length=512)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
                     num_attention_heads=args.heads, intermediate_size=args.intermediate, max_position_embeddings=512,
                     id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    gen = torch.Generator(device=dev).manual_seed(args.seed)

    # 1. Masked-LM pre-training on the train texts (labels unused).
    mlm = BertForMaskedLM(cfg).to(dev)
    opt = torch.optim.AdamW(mlm.parameters(), lr=args.mlm_lr, weight_decay=0.01, betas=(0.9, 0.98))
    steps_per_epoch = (len(train) + args.mlm_batch_size - 1) // args.mlm_batch_size
    total = int(args.mlm_epochs * steps_per_epoch)
    step, phase_start = 0, time.time()
    pre = Pretokenized(tok, [r["text"] for r in train], args.max_len)
    labels_all = [r["label"] for r in train]
    log(event="tokenized", texts=len(train))
    while step < total:
        for b in common.batches(list(range(len(train))), args.mlm_batch_size, True, args.seed + step):
            if step >= total:
                break
            enc = pre.collate(b, dev)
            special = (enc["input_ids"] == 101) | (enc["input_ids"] == 102) | (enc["attention_mask"] == 0)
            ids, labels = mask_tokens(enc["input_ids"], special, tok.vocab_size, gen)
            for g in opt.param_groups:
                g["lr"] = common.scheduled_lr(step, total, args.mlm_warmup, args.mlm_lr, phase_start, args.mlm_minutes)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                loss = mlm(input_ids=ids, attention_mask=enc["attention_mask"], labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            if step % 100 == 0:
                log(event="mlm", step=step, total=total, loss=round(loss.item(), 4))
            step += 1
            if common.past_deadline(phase_start, args.mlm_minutes):
                log(event="mlm_time_cap", step=step)
                total = step
                break

    # 2. Fine-tuning; keep the best validation checkpoint.
    model = BertForSequenceClassification(cfg).to(dev)
    model.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
    del mlm
    opt = torch.optim.AdamW(model.parameters(), lr=args.ft_lr, weight_decay=0.01)
    steps_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size
    total = int(args.ft_epochs * steps_per_epoch)
    best, best_state, step, phase_start = -1.0, None, 0, time.time()
    while step < total:
        for b in common.batches(list(range(len(train))), args.batch_size, True, args.seed * 7 + step):
            if step >= total:
                break
            enc = pre.collate(b, dev)
            y = torch.tensor([labels_all[i] for i in b], device=dev)
            for g in opt.param_groups:
                g["lr"] = common.scheduled_lr(step, total, 100, args.ft_lr, phase_start, args.ft_minutes)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev == "cuda"):
                loss = F.cross_entropy(model(**enc).logits.float(), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if step % (steps_per_epoch // args.evals_per_epoch or 1) == 0 or step == total:
                acc = accuracy(model, tok, val, args.max_len, dev)
                log(event="finetune", step=step, total=total, loss=round(loss.item(), 4), val_accuracy=acc)
                if acc > best:
                    best, best_state = acc, {k: v.detach().clone() for k, v in model.state_dict().items()}
                if common.past_deadline(phase_start, args.ft_minutes):
                    log(event="ft_time_cap", step=step)
                    total = step
                    break

    # 3. Save the selected checkpoint (f16) with the tokenizer files.
    model.load_state_dict(best_state)
    os.makedirs(args.out, exist_ok=True)
    model.config.dtype = "float16"
    model.config.to_json_file(os.path.join(args.out, "config.json"))
    save_file({k: v.half().contiguous().cpu() for k, v in model.state_dict().items()},
              os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(args.vocab, os.path.join(args.out, "vocab.txt"))
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}, f)
    log(event="saved", best_val_accuracy=best, out=args.out)


if __name__ == "__main__":
    main()
