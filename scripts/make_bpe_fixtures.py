#!/usr/bin/env python3
"""Generates the byte-level BPE tokenizer fixtures: tests/fixtures/tokenizers/gpt-neox/corpus.jsonl (the shared
GPT-NeoX-20B tokenizer.json, not copied) and tests/fixtures/tokenizers/gpt2-style/ (a tiny ByteLevel BPE trained on
IMDB text, saved as vocab.json + merges.txt, with GPT2TokenizerFast's outputs).

Usage: python3 scripts/make_bpe_fixtures.py   (needs tokenizers==0.23.2 and transformers; reads /work/shared or
$TESSERA_SHARED_DIR: tokenizers/gpt-neox-20b/tokenizer.json, data/imdb/test.jsonl.gz)
"""
import gzip
import json
import os
import random
from pathlib import Path

import tokenizers
import transformers
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TESSERA_SHARED_DIR", "/work/shared"))
NEOX = SHARED / "tokenizers/gpt-neox-20b/tokenizer.json"
IMDB = SHARED / "data/imdb/test.jsonl.gz"
OUT = ROOT / "tests/fixtures/tokenizers"
SEED = 4321
NUM_REVIEWS = 300
NUM_REVIEWS_GPT2 = 80
NUM_TRAIN = 3000  # reviews the gpt2-style vocab is trained on (disjoint from the fixture sample)

EDGE_CASES = [
    "", " ", "  ", "   ", "\n", "\n\n  \t", "   \t\n  ", "a   b", "trailing spaces   ", "   leading spaces",
    "Hello world", "Hello, world!", "café naïve Ångström résumé façade coöperate", "Crème Brûlée ÉCOLE",
    "e\u0301 composed manually a\u0323\u0301 o\u0308\u0304", "\u0301combining at start", "q\u0307\u0323 reorder",
    "中文字符测试", "我爱北京天安门 and English", "日本語のテキスト、カタカナ", "한국어 텍스트입니다",
    "\u1100\u1161\u11a8 jamo", "emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 🥲", "👍", "tab\there\rcr\x00nul\x07bell\x1b[0m",
    "zero\u200bwidth \ufeffbom \u00adsoft", "nbsp\u00a0ideographic\u3000space\u2003em\u2009thin", "line\u2028sep\u0085nel",
    "<br /><br />The movie was great.<br />", "a" * 120, "supercalifragilisticexpialidocious " * 3,
    "ünïcödé" * 20, "x" * 300, "multiple     spaces\n\n\nand newlines", "1234567", "numbers 1,234,567.89 and 3.14159",
    "don't I'll you'RE we've they'd she's it'S", "'s 't 're 've 'm 'll 'd", "U.S.A. e.g. i.e. Mr. Smith",
    "$5.00 €10 £3.50 ¥100 100%", "-- --- ... !!! ??? ,,, ;;; :::", "email@example.com https://example.com/path?q=1&r=2",
    "«quoted» „German“ “curly” ‘single’ 「Japanese」", "math: 2+2=4, x^2, a<b>c, ~tilde~, `code`, {braces}",
    "Ⅻ roman ① circled ² superscript ½ fraction ٣ arabic digit", "Ａｂｃ fullwidth ＡＢＣ",
    "Ελληνικά Русский текст עברית العربية हिन्दी ไทย", "\U0002070e\U00020731 rare CJK ext B", "\ue000 private use",
    "<|endoftext|>", "text<|endoftext|>more text", " <|endoftext|> spaced ", "<|endoftext|><|endoftext|>",
    "<|padding|>pad", "<|endoftext", "endoftext|>", "    code\n        indented\n\tmixed", "a" + " " * 30 + "b",
    "\r\n\r\nwindows", "I've seen \"The Godfather\" (1972) 10/10 times!!", "Tokenization is fun; isn't it?",
]


def reviews():
    with gzip.open(IMDB, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows.sort(key=lambda r: r["label"])  # stable: the file order within a label
    rng = random.Random(SEED)
    picked = rng.sample(range(len(rows)), NUM_REVIEWS + NUM_TRAIN)
    texts = [rows[i]["text"] for i in picked]
    return texts[:NUM_REVIEWS], texts[NUM_REVIEWS:]


def record(tok, text, compact=False):
    enc = tok.encode(text)
    decoded = tok.decode(enc.ids, skip_special_tokens=False)
    row = {"text": text, "ids": enc.ids, "offsets": [list(o) for o in enc.offsets], "decoded": decoded}
    if not compact:
        row["tokens"] = enc.tokens
        row["decoded_skip_special"] = tok.decode(enc.ids)
    return row


def write(path, tok, texts, name, compact_from):
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"meta": {"tokenizers_version": tokenizers.__version__,
                                     "transformers_version": transformers.__version__, "tokenizer": name,
                                     "seed": SEED, "offsets": "char offsets into text (HF Python), [begin, end)",
                                     "decoded": "decode(ids, skip_special_tokens=False)"}}) + "\n")
        for i, text in enumerate(texts):
            f.write(json.dumps(record(tok, text, compact=i >= compact_from), ensure_ascii=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB, {len(texts)} rows)")


def main():
    sample, train = reviews()
    neox = Tokenizer.from_file(str(NEOX))
    write(OUT / "gpt-neox/corpus.jsonl", neox, EDGE_CASES + sample, "gpt-neox-20b", len(EDGE_CASES))

    gpt2_dir = OUT / "gpt2-style"
    gpt2_dir.mkdir(parents=True, exist_ok=True)
    trainer = tokenizers.ByteLevelBPETokenizer()
    trainer.train_from_iterator(train, vocab_size=2000, min_frequency=2, special_tokens=["<|endoftext|>"],
                                show_progress=False)
    trainer.save_model(str(gpt2_dir))
    (gpt2_dir / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1024}) + "\n")
    fast = transformers.GPT2TokenizerFast.from_pretrained(str(gpt2_dir))  # reads vocab.json + merges.txt
    backend = fast.backend_tokenizer
    print("GPT2TokenizerFast pipeline:", {k: v for k, v in json.loads(backend.to_str()).items() if k != "model"})
    write(gpt2_dir / "corpus.jsonl", backend, EDGE_CASES + sample[:NUM_REVIEWS_GPT2], "gpt2-style", len(EDGE_CASES))


if __name__ == "__main__":
    main()
