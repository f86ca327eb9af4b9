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

import torch
from transformers import MambaForCausalLM, PreTrainedTokenizerFast

import common
import fast_mamba
import mamba_layout


PAD = 0  # <|endoftext|>; right padding, masked out of the loss and of the mean


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train.jsonl.gz (the test split is never read here)")
    ap.add_argument("--tokenizer", required=True, help="gpt-neox-20b tokenizer.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--log", help="JSON-lines training log (default OUT.work/train_log.jsonl)")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--lm-epochs", type=float, default=12, help="causal-LM epochs over the train texts (0 = skip)")
    ap.add_argument("--ft-epochs", type=float, default=6)
    ap.add_argument("--lm-batch-size", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32, help="fine-tuning batch size")
    ap.add_argument("--lm-lr", type=float, default=3e-3)
    ap.add_argument("--ft-lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--evals-per-epoch", type=int, default=3, help="validation evaluations per fine-tuning epoch")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--lm-minutes", type=float, default=0, help="cap the LM phase at this many minutes (0 = no cap)")
    ap.add_argument("--ft-minutes", type=float, default=0, help="cap fine-tuning at this many minutes (0 = no cap)")
    ap.add_argument("--fast-scan", action=argparse.BooleanOptionalAction, default=True,
                    help="patch every MambaMixer with fast_mamba's chunked scan (default on)")
    ap.add_argument("--scan-chunk", type=int, default=32, help="chunk length of the fast scan")
    ap.add_argument("--init", help="start from this causal-LM checkpoint (--pretrained-out of an earlier run)")
    ap.add_argument("--pretrained-out", help="save the causal-LM model here after pre-training (bf16 safetensors)")
    args = ap.parse_args()
    common.seed_all(args.seed)
    dev = common.setup_device()
    log = common.Log(args.log or os.path.join(args.out + ".work", "train_log.jsonl"))
    log(event="start", args=vars(args), torch=torch.__version__, device=dev,
        gpu=torch.cuda.get_device_name() if dev == "cuda" else None)
    train, val = common.train_val_split(args.data, args.seed)
    if args.limit:
        train, val = train[:args.limit], val[:max(16, args.limit // 8)]
    tok = PreTrainedTokenizerFast(tokenizer_file=args.tokenizer, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    assert tok.pad_token_id == PAD, tok.pad_token_id
    ids_of = lambda rows: tok([r["text"] for r in rows], truncation=True, max_length=args.max_len)["input_ids"]
    bank, val_bank = common.TokenBank(ids_of(train), dev), common.TokenBank(ids_of(val), dev)
    y_train = torch.tensor([r["label"] for r in train], device=dev)
    y_val = torch.tensor([r["label"] for r in val], device=dev)
    log(event="tokenized", texts=len(train), tokens=sum(bank.lengths))
    vocab_size, pad_multiple = 50277, 8
    cfg = mamba_layout.hf_config(args.d_model, args.layers, vocab_size, pad_multiple)

    # 1. Causal-LM pre-training (next token) on the train texts.
    lm = MambaForCausalLM(cfg).to(dev)
    if args.init:
        log(event="init", path=args.init, missing=common.load_checkpoint(lm, args.init))
    if args.fast_scan:
        log(event="fast_scan", phase="lm", mixers_patched=fast_mamba.patch_mamba(lm, chunk=args.scan_chunk))
    if args.lm_epochs > 0:
        opt = common.adamw(lm.parameters(), args.lm_lr, dev)
        phase = common.Phase("lm", log, opt, bank.lengths, args.lm_batch_size, args.lm_epochs, args.lm_minutes,
                             args.lm_lr, 200, args.seed)
        for step, b in phase:
            ids, mask = bank.batch(b, PAD)
            with common.autocast(dev):
                loss = lm(input_ids=ids, labels=ids.masked_fill(mask == 0, -100)).loss
            common.optimizer_step(loss, lm, opt)
            if step % 100 == 0:
                log(event="lm", step=step, total=phase.total, loss=round(loss.item(), 4), **phase.rate())
        log(event="lm_done", steps=phase.steps, epochs=round(phase.steps / phase.steps_per_epoch, 2), **phase.rate())
        del opt
    if args.pretrained_out:
        common.save_checkpoint(lm, args.pretrained_out)

    # 2. Classification fine-tuning over the masked mean (equal to each review's unpadded mean, which is what the
    #    reference layout computes on one review); keep the best validation checkpoint.
    model = mamba_layout.MambaClassifier(cfg).to(dev)
    model.backbone.load_state_dict(lm.backbone.state_dict())
    if args.fast_scan:
        log(event="fast_scan", phase="finetune", mixers_patched=fast_mamba.patch_mamba(model, chunk=args.scan_chunk))
    del lm
    best = common.finetune(model, lambda m, ids, mask: m(ids, mask), args, log, dev, bank, y_train, val_bank, y_val,
                           pad_id=PAD, eval_bs=128)
    mamba_layout.save_layout(model, args.out, vocab_size, pad_multiple, {0: "NEGATIVE", 1: "POSITIVE"})
    shutil.copy(args.tokenizer, os.path.join(args.out, "tokenizer.json"))
    log(event="saved", best_val_accuracy=best, out=args.out)


if __name__ == "__main__":
    main()
