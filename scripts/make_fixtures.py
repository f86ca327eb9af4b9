#!/usr/bin/env python3
"""Writes the model fixtures under tests/fixtures/models/: tiny random-weight Hugging Face checkpoints with
non-default sizes, inputs, and transformers' outputs layer by layer (reference for tests/models/).

Run where PyTorch and transformers are installed (pinned: torch 2.11, transformers 5.17, the versions on our
H100 machine):  python3 scripts/make_fixtures.py [--shared ../shared]
Everything is seeded; re-running gives identical files.
"""
import argparse
import gzip
import json
import os
import random
import shutil

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForSequenceClassification, MambaConfig, MambaForCausalLM, pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "models")


def perturb_norms(model, gen):
    """LayerNorm weights/biases away from 1/0 so every weight matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))


def versions():
    return {"torch": torch.__version__, "transformers": transformers.__version__}


def write_bert_layers(name, cfg_kwargs, seed, save_bin):
    """A tiny BERT with per-layer hidden states for a padded batch and for each sequence alone."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = BertConfig(**cfg_kwargs)
    cfg._attn_implementation = "eager"
    model = BertForSequenceClassification(cfg).eval()
    perturb_norms(model, gen)
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    model.save_pretrained(d, safe_serialization=True)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    if save_bin:
        torch.save(sd, os.path.join(d, "pytorch_model.bin"))
        torch.save(sd, os.path.join(d, "legacy_pytorch_model.bin"), _use_new_zipfile_serialization=False)

    lengths = [11, 7, 4]
    T = max(lengths)
    ids = torch.randint(1, cfg.vocab_size, (len(lengths), T), generator=gen)
    types = torch.randint(0, cfg.type_vocab_size, (len(lengths), T), generator=gen)
    mask = torch.zeros(len(lengths), T, dtype=torch.long)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = cfg.pad_token_id
        types[b, n:] = 0
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
        pooled = model.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).pooler_output
        singles = []
        for b, n in enumerate(lengths):
            o = model(input_ids=ids[b:b + 1, :n], token_type_ids=types[b:b + 1, :n], output_hidden_states=True)
            singles.append({"length": n, "logits": o.logits[0].tolist(),
                            "last_hidden_state": o.hidden_states[-1][0].flatten().tolist()})
    ref = {
        "versions": versions(),
        "config": cfg_kwargs,
        "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "token_type_ids": types.tolist(),
        "hidden_states": [h.flatten().tolist() for h in out.hidden_states],
        "pooled": pooled.flatten().tolist(),
        "logits": out.logits.flatten().tolist(),
        "singles": singles,
    }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f)


def sample_reviews(shared, n, seed):
    with gzip.open(os.path.join(shared, "data", "imdb", "test.jsonl.gz"), "rt") as f:
        rows = [json.loads(line) for line in f]
    rng = random.Random(seed)
    pos = [r["text"] for r in rows if r["label"] == 1]
    neg = [r["text"] for r in rows if r["label"] == 0]
    return rng.sample(pos, n // 2) + rng.sample(neg, n - n // 2)


def write_bert_pipeline(shared):
    """A tiny BERT over the real bert-base-uncased vocab, f16 weights, and transformers' sentiment-analysis
    pipeline outputs (label, score, logits) for IMDB reviews and edge cases (long reviews are truncated)."""
    name = "bert-pipeline-tiny"
    seed = 7
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=40, max_position_embeddings=512, hidden_act="gelu", initializer_range=0.5,
                     id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    cfg._attn_implementation = "eager"
    model = BertForSequenceClassification(cfg).eval()
    perturb_norms(model, gen)
    with torch.no_grad():  # centre the head so both labels occur on the sample
        model.classifier.bias[1] -= 6.6
    model = model.half().float()  # the weights as stored (f16), computed in f32
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    model.config.dtype = "float16"
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, os.path.join(d, "model.safetensors"),
              metadata={"format": "pt"})
    model.config.to_json_file(os.path.join(d, "config.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"}, f)
    # The test assembles DIR = these files + ../shared/tokenizers/bert-base-uncased/vocab.txt.
    tmp = os.path.join("/tmp", "tessera_fixture_" + name)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(d, tmp)
    shutil.copy(os.path.join(shared, "tokenizers", "bert-base-uncased", "vocab.txt"), tmp)
    clf = pipeline("sentiment-analysis", model=tmp, tokenizer=tmp, device="cpu", dtype=torch.float32)
    texts = sample_reviews(shared, 24, seed=2024) + [
        "", "Great!", "This movie was terrible. <br /><br />Avoid it.", "Ñoño café naïve — déjà vu 🎬🍿",
        "中文影评 한국어 리뷰", "A " + "very " * 700 + "long review.",
    ]
    tok = clf.tokenizer
    results = []
    for t in texts:
        enc = tok(t, truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            logits = clf.model(**enc).logits[0]
        out = clf(t, truncation=True, max_length=512)[0]
        results.append({"text": t, "label": out["label"], "score": out["score"], "logits": logits.tolist(),
                        "num_tokens": int(enc["input_ids"].shape[1])})
    with open(os.path.join(d, "reference.jsonl"), "w") as f:
        f.write(json.dumps({"versions": versions(), "note": "transformers pipeline('sentiment-analysis'), truncation=True"}) + "\n")
        for r in results:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def perturb_mamba(model, gen):
    """Norm weights away from 1, conv biases and D away from their init, A_log per channel: every weight matters."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("conv1d.bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".D"):
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=gen))
            elif name.endswith("A_log"):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))


def write_mamba_causal_lm(name, seed):
    """A tiny MambaForCausalLM with non-default sizes (hidden 40 -> time_step_rank "auto" = 3, state 12, 3 layers):
    per-layer hidden states and logits for a batch, and greedy generate(do_sample=False) for two prompts.
    Returns the model (the mamba_ssm-layout classifier fixture reuses its weights)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    cfg_kwargs = dict(vocab_size=96, hidden_size=40, state_size=12, num_hidden_layers=3, expand=2, conv_kernel=4,
                      time_step_rank="auto", residual_in_fp32=True, use_conv_bias=True, use_bias=False,
                      layer_norm_epsilon=1e-5, pad_token_id=0, bos_token_id=0, eos_token_id=0, initializer_range=0.3)
    cfg = MambaConfig(**cfg_kwargs)
    model = MambaForCausalLM(cfg).eval()
    perturb_mamba(model, gen)
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    model.save_pretrained(d, safe_serialization=True)
    ids = torch.randint(1, cfg.vocab_size, (2, 9), generator=gen)
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True, use_cache=False)
        generations = []
        for prompt in ([5, 17, 33, 2, 71, 40], [88]):
            p = torch.tensor([prompt])
            g = model.generate(p, max_new_tokens=20, do_sample=False, attention_mask=torch.ones_like(p))
            generations.append({"prompt": prompt, "generated": g[0, len(prompt):].tolist()})
    ref = {
        "versions": versions(), "config": cfg_kwargs, "time_step_rank": cfg.time_step_rank,
        "input_ids": ids.tolist(),
        "hidden_states": [h.flatten().tolist() for h in out.hidden_states],  # each layer's output, then norm_f's
        "logits": out.logits.flatten().tolist(),
        "generations": generations,
    }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f)
    return model


def write_mamba_ssm_classifier(name, lm, seed):
    """The mamba_ssm checkpoint layout of trinhxuankhai/mamba_text_classification (config d_model/n_layer/ssm_cfg,
    backbone.embedding, vocab padded to pad_vocab_size_multiple, classification_head on the mean of the final
    hidden states), built by renaming the tiny LM's weights. Reference: backbone -> mean -> head in PyTorch."""
    gen = torch.Generator().manual_seed(seed)
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    n = lm.config.hidden_size
    config = {"d_model": n, "n_layer": lm.config.num_hidden_layers, "vocab_size": 93,  # padded to 96 (multiple of 8)
              "ssm_cfg": {"d_state": lm.config.state_size}, "rms_norm": True, "residual_in_fp32": True,
              "fused_add_norm": True, "pad_vocab_size_multiple": 8}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    head = torch.nn.Linear(n, 2)
    with torch.no_grad():
        head.weight.copy_(0.5 * torch.randn(head.weight.shape, generator=gen))
        head.bias.copy_(0.1 * torch.randn(head.bias.shape, generator=gen))
    sd = {}
    for k, v in lm.state_dict().items():
        if k.startswith("lm_head."):
            continue  # MambaTextClassification deletes lm_head
        sd[k.replace("backbone.embeddings.", "backbone.embedding.")] = v.contiguous()
    sd["classification_head.weight"] = head.weight.detach().contiguous()
    sd["classification_head.bias"] = head.bias.detach().contiguous()
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))

    def classify(ids):  # MambaTextClassification.forward: backbone -> mean over dim 1 (all positions) -> head
        with torch.no_grad():
            return head(lm.backbone(input_ids=ids, use_cache=False).last_hidden_state.mean(dim=1))

    lengths = [9, 5, 3]
    ids = torch.randint(1, 93, (len(lengths), max(lengths)), generator=gen)
    mask = torch.zeros_like(ids)
    for b, t in enumerate(lengths):
        mask[b, :t] = 1
        ids[b, t:] = 0  # right padding with id 0 (the GPT-NeoX pad = eos)
    ref = {
        "versions": versions(), "config": config,
        "input_ids": ids.tolist(), "attention_mask": mask.tolist(),
        "logits_mean_with_padding": classify(ids).flatten().tolist(),
        "logits_unpadded": [classify(ids[b:b + 1, :t])[0].tolist() for b, t in enumerate(lengths)],
    }
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--only", choices=["bert", "mamba"], help="write only this family's fixtures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.only in (None, "bert"):
        write_bert_layers("bert-tiny", dict(vocab_size=128, hidden_size=36, num_hidden_layers=3, num_attention_heads=4,
                                            intermediate_size=70, max_position_embeddings=32, type_vocab_size=3,
                                            hidden_act="gelu", initializer_range=0.3, layer_norm_eps=1e-12, num_labels=2), seed=1, save_bin=True)
        write_bert_layers("bert-tiny-gelu-new", dict(vocab_size=96, hidden_size=20, num_hidden_layers=2, num_attention_heads=2,
                                                     intermediate_size=44, max_position_embeddings=24, type_vocab_size=2,
                                                     hidden_act="gelu_new", initializer_range=0.3, layer_norm_eps=1e-5,
                                                     id2label={0: "neg", 1: "neutral", 2: "pos"},
                                                     label2id={"neg": 0, "neutral": 1, "pos": 2}), seed=2, save_bin=False)
        write_bert_pipeline(args.shared)
    if args.only in (None, "mamba"):
        lm = write_mamba_causal_lm("mamba-tiny", seed=3)
        write_mamba_ssm_classifier("mamba-ssm-classifier-tiny", lm, seed=4)
    print("wrote", OUT, versions())


if __name__ == "__main__":
    main()
