"""The mamba_ssm classifier layout of trinhxuankhai/mamba_text_classification, bridged to transformers' Mamba:
config.json with d_model / n_layer / vocab_size / ssm_cfg / pad_vocab_size_multiple, weights
backbone.embedding.weight, backbone.layers.N.{norm, mixer.*}, backbone.norm_f, classification_head.* applied
to the mean of the final hidden states over all positions."""
import json
import math
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import MambaConfig, MambaModel


class MambaClassifier(torch.nn.Module):
    """transformers' MambaModel + Linear head over the mean of the last hidden states."""

    def __init__(self, cfg: MambaConfig, num_labels=2):
        super().__init__()
        self.backbone = MambaModel(cfg)
        self.classification_head = torch.nn.Linear(cfg.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask=None):
        h = self.backbone(input_ids=input_ids, use_cache=False).last_hidden_state  # (B, T, C)
        if attention_mask is None:
            pooled = h.mean(dim=1)  # what the reference model does: every position, padding included
        else:  # right padding + a causal model: equal to the unpadded mean of each sequence
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
        # residual_in_fp32 leaves the last hidden states in f32: match the head's dtype (f16/bf16 inference).
        return self.classification_head(pooled.to(self.classification_head.weight.dtype))


def hf_config(d_model, n_layer, vocab_size, pad_multiple=8, state_size=16, expand=2, conv_kernel=4, use_mambapy=True):
    padded = int(math.ceil(vocab_size / pad_multiple) * pad_multiple)
    return MambaConfig(vocab_size=padded, hidden_size=d_model, num_hidden_layers=n_layer, state_size=state_size,
                       expand=expand, conv_kernel=conv_kernel, layer_norm_epsilon=1e-5, use_bias=False,
                       use_conv_bias=True, residual_in_fp32=True, time_step_rank="auto", use_mambapy=use_mambapy,
                       tie_word_embeddings=True)


def save_layout(model: MambaClassifier, out_dir, vocab_size, pad_multiple, id2label, dtype=torch.float16):
    cfg = model.backbone.config
    os.makedirs(out_dir, exist_ok=True)
    conf = {
        "d_model": cfg.hidden_size, "n_layer": cfg.num_hidden_layers, "vocab_size": vocab_size,
        "ssm_cfg": {"d_state": cfg.state_size, "d_conv": cfg.conv_kernel, "expand": cfg.expand},
        "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": pad_multiple,
        "num_labels": len(id2label), "id2label": {str(k): v for k, v in id2label.items()},
        "label2id": {v: k for k, v in id2label.items()}, "torch_dtype": "float16",
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(conf, f, indent=2)
    sd = {}
    for k, v in model.state_dict().items():
        k = k.replace("backbone.embeddings.", "backbone.embedding.")
        sd[k] = v.to(dtype).contiguous().cpu()
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})


def load_layout(out_dir, use_mambapy=True):
    """Loads a mamba_ssm-layout classifier into MambaClassifier (f32) for evaluation with PyTorch."""
    with open(os.path.join(out_dir, "config.json")) as f:
        conf = json.load(f)
    ssm = conf.get("ssm_cfg", {})
    cfg = hf_config(conf["d_model"], conf["n_layer"], conf["vocab_size"], conf.get("pad_vocab_size_multiple", 8),
                    ssm.get("d_state", 16), ssm.get("expand", 2), ssm.get("d_conv", 4), use_mambapy)
    model = MambaClassifier(cfg, conf.get("num_labels", 2))
    sd = {k.replace("backbone.embedding.", "backbone.embeddings."): v.float() for k, v in load_file(
        os.path.join(out_dir, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all("lm_head" in m for m in missing), (missing, unexpected)
    return model, conf
