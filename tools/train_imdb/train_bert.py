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

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertTokenizer

import common


def mask_tokens(ids, special, vocab_size, gen, p=0.15):
    """BERT's masking: 15% of the non-special positions are predicted; of those 80% become [MASK], 10% a random
    token, 10% stay. Returns (masked ids, labels with -100 where nothing is predicted)."""
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


def bert_logits(model, ids, mask):
    return model(input_ids=ids, attention_mask=mask).logits


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train.jsonl.gz (the test split is never read here)")
    ap.add_argument("--vocab", required=True, help="bert-base-uncased vocab.txt")
    ap.add_argument("--out", required=True, help="output directory (BertForSequenceClassification, f16 safetensors)")
    ap.add_argument("--log", help="JSON-lines training log (default OUT.work/train_log.jsonl)")
    ap.add_argument("--hidden", type=int, default=192)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=3)
    ap.add_argument("--intermediate", type=int, default=768)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--mlm-epochs", type=float, default=60, help="masked-LM epochs over the train texts (0 = skip)")
    ap.add_argument("--ft-epochs", type=float, default=6)
    ap.add_argument("--batch-size", type=int, default=32, help="fine-tuning batch size")
    ap.add_argument("--mlm-batch-size", type=int, default=256, help="masked-LM batch size")
    ap.add_argument("--mlm-lr", type=float, default=2e-3)
    ap.add_argument("--ft-lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--evals-per-epoch", type=int, default=4, help="validation evaluations per fine-tuning epoch")
    ap.add_argument("--mlm-warmup", type=int, default=400)
    ap.add_argument("--limit", type=int, default=0, help="use only N train reviews (smoke tests)")
    ap.add_argument("--mlm-minutes", type=float, default=0, help="cap masked-LM pre-training at this many minutes")
    ap.add_argument("--ft-minutes", type=float, default=0, help="cap fine-tuning at this many minutes")
    ap.add_argument("--init", help="start from this masked-LM checkpoint (--pretrained-out of an earlier run)")
    ap.add_argument("--pretrained-out", help="save the masked-LM model here after pre-training (bf16 safetensors)")
    args = ap.parse_args()
    common.seed_all(args.seed)
    dev = common.setup_device()
    log = common.Log(args.log or os.path.join(args.out + ".work", "train_log.jsonl"))
    log(event="start", args=vars(args), torch=torch.__version__, device=dev,
        gpu=torch.cuda.get_device_name() if dev == "cuda" else None)
    train, val = common.train_val_split(args.data, args.seed)
    if args.limit:
        train, val = train[:args.limit], val[:max(16, args.limit // 8)]
    tok = BertTokenizer(vocab=args.vocab, do_lower_case=True, model_max_length=512)
    ids_of = lambda rows: tok([r["text"] for r in rows], truncation=True, max_length=args.max_len)["input_ids"]
    bank, val_bank = common.TokenBank(ids_of(train), dev), common.TokenBank(ids_of(val), dev)
    y_train = torch.tensor([r["label"] for r in train], device=dev)
    y_val = torch.tensor([r["label"] for r in val], device=dev)
    log(event="tokenized", texts=len(train), tokens=sum(bank.lengths))
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=args.hidden, num_hidden_layers=args.layers,
                     num_attention_heads=args.heads, intermediate_size=args.intermediate, max_position_embeddings=512,
                     id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    gen = torch.Generator(device=dev).manual_seed(args.seed)

    # 1. Masked-LM pre-training on the train texts (labels unused). The vocabulary projection runs on the masked
    #    positions only (15% of the tokens): same loss as BertForMaskedLM's, a fraction of its largest GEMM.
    mlm = BertForMaskedLM(cfg).to(dev)
    if args.init:
        log(event="init", path=args.init, missing=common.load_checkpoint(mlm, args.init))
    if args.mlm_epochs > 0:
        opt = common.adamw(mlm.parameters(), args.mlm_lr, dev, betas=(0.9, 0.98))
        phase = common.Phase("mlm", log, opt, bank.lengths, args.mlm_batch_size, args.mlm_epochs, args.mlm_minutes,
                             args.mlm_lr, args.mlm_warmup, args.seed)
        for step, b in phase:
            ids, mask = bank.batch(b, 0)
            special = (ids == 101) | (ids == 102) | (mask == 0)
            masked, labels = mask_tokens(ids, special, tok.vocab_size, gen)
            with common.autocast(dev):
                h = mlm.bert(input_ids=masked, attention_mask=mask).last_hidden_state
                sel = labels != -100
                logits = mlm.cls(h[sel])
            loss = F.cross_entropy(logits.float(), labels[sel])
            common.optimizer_step(loss, mlm, opt)
            if step % 200 == 0:
                log(event="mlm", step=step, total=phase.total, loss=round(loss.item(), 4), **phase.rate())
        log(event="mlm_done", steps=phase.steps, epochs=round(phase.steps / phase.steps_per_epoch, 2), **phase.rate())
        del opt
    if args.pretrained_out:
        common.save_checkpoint(mlm, args.pretrained_out)

    # 2. Fine-tuning; keep the best validation checkpoint.
    model = BertForSequenceClassification(cfg).to(dev)
    model.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
    del mlm
    best = common.finetune(model, bert_logits, args, log, dev, bank, y_train, val_bank, y_val, pad_id=0, eval_bs=256)

    # 3. Save the selected checkpoint (f16) with the tokenizer files.
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
