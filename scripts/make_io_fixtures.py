#!/usr/bin/env python3
"""Writes tests/fixtures/io/: one tiny state dict saved as safetensors (single + sharded), zip and legacy
torch .bin (single, sharded, nested under "state_dict", deflated), and expected.json with its values.
Run where torch and safetensors are installed:  python3 scripts/make_io_fixtures.py"""
import json
import os
import shutil
import zipfile

import safetensors
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "io")
ST_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
            torch.bool: "BOOL", torch.float8_e4m3fn: "F8_E4M3", torch.float8_e5m2: "F8_E5M2"}


def state_dict():
    ar = lambda n: torch.arange(n, dtype=torch.float64)
    base = torch.arange(10, dtype=torch.float32) * 0.5           # one storage shared by two tensors
    return {
        "embeddings.weight": (ar(12).reshape(3, 4) / 8 - 0.5).float(),
        "layer.0.f16": (ar(6).reshape(2, 3) / 4 - 0.75).half(),
        "layer.0.bf16": (ar(6).reshape(2, 3) * 1.5 - 2).bfloat16(),
        "layer.0.f64": (ar(4).reshape(2, 2) / 3),
        "layer.0.i64": torch.tensor([-(2 ** 40), -1, 0, 7, 2 ** 40], dtype=torch.int64),
        "layer.0.i32": torch.tensor([[-5, 6], [2 ** 30, -(2 ** 30)]], dtype=torch.int32),
        "layer.0.i16": torch.tensor([-300, 300, 0], dtype=torch.int16),
        "layer.0.i8": torch.tensor([-128, 127, 3], dtype=torch.int8),
        "layer.0.u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "layer.0.mask": torch.tensor([True, False, True, True]),
        "layer.0.f8_e4m3": torch.tensor([0.5, -1.0, 448.0, 0.0], dtype=torch.float8_e4m3fn),
        "layer.0.f8_e5m2": torch.tensor([0.25, -2.0, 57344.0, 1.0], dtype=torch.float8_e5m2),
        "layer.1.transposed": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),  # strides (1, 4)
        "layer.1.shared_a": base[0:4],                                                   # offset 0
        "layer.1.shared_b": base[4:10].view(2, 3),                                       # offset 4
        "layer.1.scalar": torch.tensor(3.5),
        "layer.1.empty": torch.zeros(0, 4),
    }


def expected(sd):
    out = {}
    for name, t in sd.items():
        e = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape)}
        if t.dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
            e["raw"] = t.contiguous().view(torch.uint8).flatten().tolist()
        e["values"] = t.to(torch.float64).flatten().tolist()
        out[name] = e
    return out


def write_fuzz_corpus():
    """Seeds for tests/fuzz: the fixtures' safetensors files, pickles and JSON (small, a few KB)."""
    corpus = os.path.join(OUT, "..", "..", "fuzz", "corpus")
    for sub in ("safetensors", "unpickler", "config_json"):
        shutil.rmtree(os.path.join(corpus, sub), ignore_errors=True)
        os.makedirs(os.path.join(corpus, sub))
    copy = lambda src, sub, name: shutil.copy(os.path.join(OUT, src), os.path.join(corpus, sub, name))
    copy("safetensors/model.safetensors", "safetensors", "model.safetensors")
    copy("sharded/model-00001-of-00002.safetensors", "safetensors", "shard1.safetensors")
    copy("legacy/pytorch_model.bin", "unpickler", "legacy.bin")
    copy("sharded_bin/pytorch_model-00001-of-00002.bin", "unpickler", "zip.bin")
    with zipfile.ZipFile(os.path.join(OUT, "bin", "pytorch_model.bin")) as z:
        pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
        with open(os.path.join(corpus, "unpickler", "data.pkl"), "wb") as f:
            f.write(z.read(pkl))
    copy("sharded/model.safetensors.index.json", "config_json", "index.json")
    config = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "hidden_size": 64,
              "num_attention_heads": 4, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": None,
              "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}, "torch_dtype": "float32", "use_cache": True,
              "text_config": {"vocab_size": 128, "rope_scaling": {"type": "linear", "factor": 2.0}}}
    with open(os.path.join(corpus, "config_json", "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for d, _, ns in os.walk(corpus):
        for n in ns:
            os.chmod(os.path.join(d, n), 0o644)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    sd = state_dict()
    assert not sd["layer.1.transposed"].is_contiguous()
    assert sd["layer.1.shared_a"].untyped_storage().data_ptr() == sd["layer.1.shared_b"].untyped_storage().data_ptr()
    dense = {k: v.contiguous().clone() for k, v in sd.items()}  # safetensors refuses views and shared storage
    meta = {"format": "pt", "producer": "scripts/make_io_fixtures.py"}

    def path(*parts):
        p = os.path.join(OUT, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    safetensors.torch.save_file(dense, path("safetensors", "model.safetensors"), metadata=meta)
    torch.save(sd, path("bin", "pytorch_model.bin"))
    torch.save(sd, path("legacy", "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    torch.save({"epoch": 3, "state_dict": sd}, path("nested", "pytorch_model.bin"))
    # The same archive with every entry deflated (torch writes STORED; other zip tools may not).
    with zipfile.ZipFile(path("bin", "pytorch_model.bin")) as src, \
            zipfile.ZipFile(path("deflated", "pytorch_model.bin"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    # Sharded: the first half of the names in shard 1, the rest in shard 2, for both formats.
    names = list(sd)
    halves = [names[: len(names) // 2], names[len(names) // 2:]]
    for fmt, stem, save in (("sharded", "model", None), ("sharded_bin", "pytorch_model", torch.save)):
        weight_map = {}
        for i, half in enumerate(halves):
            ext = "safetensors" if save is None else "bin"
            file = f"{stem}-{i + 1:05d}-of-00002.{ext}"
            if save is None:
                safetensors.torch.save_file({k: dense[k] for k in half}, path(fmt, file), metadata=meta)
            else:
                save({k: sd[k] for k in half}, path(fmt, file))
            weight_map.update({k: file for k in half})
        index = {"metadata": {"total_size": sum(t.nbytes for t in dense.values())}, "weight_map": weight_map}
        with open(path(fmt, f"{stem}.{'safetensors' if save is None else 'bin'}.index.json"), "w") as f:
            json.dump(index, f, indent=2)
    with open(path("expected.json"), "w") as f:
        json.dump({"versions": {"torch": torch.__version__, "safetensors": safetensors.__version__},
                   "metadata": meta, "tensors": expected(sd)}, f, indent=1)
    write_fuzz_corpus()
    for d, _, ns in os.walk(OUT):
        for n in ns:
            os.chmod(os.path.join(d, n), 0o644)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
