#!/usr/bin/env python3
"""Writes a model card (README.md) for a trained IMDB classifier directory from its training log and the two
test-split evaluations (PyTorch via evaluate.py, Tessera via `tessera bench imdb-accuracy`-style JSON).

  python3 tools/train_imdb/model_card.py --model models/imdb-bert-small --log LOG.jsonl \
      --pytorch-eval EVAL.json [--tessera-eval EVAL.json] --kind bert|mamba
"""
import argparse
import json
import os


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pytorch-eval", required=True)
    ap.add_argument("--tessera-eval")
    ap.add_argument("--kind", choices=["bert", "mamba"], required=True)
    ap.add_argument("--gpu", default="NVIDIA H200", help="the GPU the recipe ran on (for the card)")
    ap.add_argument("--note", action="append", default=[], help="an extra line for the Limitations section")
    args = ap.parse_args()
    log = read_jsonl(args.log)
    start = next(e for e in log if e["event"] == "start")
    saved = next(e for e in log if e["event"] == "saved")
    ft = [e for e in log if e["event"] == "finetune"]
    caps = [e for e in log if e["event"].endswith("time_cap")]
    done = [e for e in log if e["event"] in ("mlm_done", "lm_done")]
    pt = json.load(open(args.pytorch_eval))
    te = json.load(open(args.tessera_eval)) if args.tessera_eval else None
    conf = json.load(open(os.path.join(args.model, "config.json")))
    size = sum(os.path.getsize(os.path.join(args.model, f)) for f in os.listdir(args.model) if f.endswith(".safetensors"))
    a = start["args"]
    curve = ", ".join("%.3f" % e["val_accuracy"] for e in ft)
    if args.kind == "bert":
        arch = (f"BertForSequenceClassification: {conf['num_hidden_layers']} layers, hidden {conf['hidden_size']}, "
                f"{conf['num_attention_heads']} heads, intermediate {conf['intermediate_size']}, bert-base-uncased "
                f"WordPiece vocabulary (30,522), max 512 tokens")
        pre = f"masked-LM pre-training ({a['mlm_epochs']} epochs max, lr {a['mlm_lr']}, 15% masking)"
        tok = "`vocab.txt` + `tokenizer_config.json` (bert-base-uncased, lower-cased)"
        run = "tessera classify --model models/imdb-bert-small \"A wonderful film.\""
    else:
        arch = (f"Mamba classifier in the mamba_ssm layout of trinhxuankhai/mamba_text_classification: {conf['n_layer']} "
                f"layers, d_model {conf['d_model']}, state {conf['ssm_cfg'].get('d_state', 16)}, expand "
                f"{conf['ssm_cfg'].get('expand', 2)}, GPT-NeoX-20B tokenizer (vocab {conf['vocab_size']} padded to a "
                f"multiple of {conf['pad_vocab_size_multiple']}); head = Linear over the mean of the final hidden states")
        pre = f"causal-LM pre-training ({a['lm_epochs']} epochs max, lr {a['lm_lr']})"
        tok = "`tokenizer.json` (GPT-NeoX-20B byte-level BPE)"
        run = "tessera classify --model models/imdb-mamba-small \"A wonderful film.\""
    lines = [
        f"# {os.path.basename(os.path.normpath(args.model))}",
        "",
        "A small IMDB sentiment classifier trained from scratch for Tessera's embedded default (labels NEGATIVE / POSITIVE).",
        "",
        "## Model",
        f"- {arch}.",
        f"- Weights: f16 safetensors, {size / 2**20:.1f} MiB.",
        f"- Tokenizer: {tok}.",
        "",
        "## Training data and recipe",
        "- Data: the IMDB Large Movie Review Dataset **train** split only (25,000 reviews). A balanced slice of "
        f"2,500 train reviews is held out for validation and model selection; the test split is never seen in "
        "training or selection.",
        f"- Recipe: `tools/train_imdb/` ({'train_bert.py' if args.kind == 'bert' else 'train_mamba.py'}), seed "
        f"{a['seed']}: {pre}, then fine-tuning ({a['ft_epochs']} epochs max, lr {a['ft_lr']}, batch "
        f"{a['batch_size']}, max length {a['max_len']}), AdamW, cosine schedule, bf16 autocast, on one {args.gpu}.",
        f"- Hyper-parameters: `{json.dumps(a)}`.",
        f"- Phases stopped by their time caps: "
        f"{', '.join(e['event'] + ' (%s epochs)' % e.get('epochs', '?') for e in caps) or 'none'}.",
        *[f"- Pre-training: {e['steps']} steps ({e['epochs']} epochs) in {e['seconds']} s, "
          f"{e['tokens_per_s']:,} tokens/s." for e in done],
        f"- Selected checkpoint: validation accuracy {saved['best_val_accuracy']:.4f} "
        f"(validation curve: {curve}).",
        "",
        "## Accuracy on the full IMDB test split (25,000 reviews)",
        "",
        "| engine | accuracy | device |",
        "|---|---|---|",
        f"| PyTorch {pt.get('torch', '')} (tools/train_imdb/evaluate.py) | {pt['accuracy']:.4f} | {pt.get('device', '')} |",
    ]
    if te:
        lines.append(f"| Tessera (`{te.get('command', 'tessera')}`) | {te['accuracy']:.4f} | {te.get('device', 'cpu')} |")
    lines += [
        "",
        "## Use",
        "```sh",
        run,
        "```",
        "",
        "## Limitations",
        "- Trained from scratch on 22,500 movie reviews: a small model for demos, tests and benchmarks, not a "
        "state-of-the-art classifier; expect lower accuracy outside English movie reviews.",
    ]
    if args.kind == "bert":
        lines.append("- Reviews longer than 512 tokens are truncated (the start is kept).")
    else:
        lines.append(f"- Trained on the first {a['max_len']} tokens of each review; classification reads whole reviews "
                     "unless `--max-length` says otherwise (the accuracies above read whole reviews).")
    if args.kind == "mamba":
        lines.append("- The reference layout averages every position, padding included; run it unpadded (Tessera's "
                     "default mask-aware mean is equal to that) — see docs/mamba.md.")
    lines += [f"- {n}" for n in args.note]
    with open(os.path.join(args.model, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", os.path.join(args.model, "README.md"))


if __name__ == "__main__":
    main()
