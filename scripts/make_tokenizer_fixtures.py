#!/usr/bin/env python3
"""Generates the BERT tokenizer fixtures (tests/fixtures/tokenizers/) and the Unicode tables
(src/tokenizers/unicode_tables.cpp) from Hugging Face `tokenizers`, so Tessera can match it exactly.

Usage: python3 scripts/make_tokenizer_fixtures.py   (needs `pip install tokenizers==0.23.2`;
reads /work/shared or $TESSERA_SHARED_DIR: tokenizers/bert-base-uncased/vocab.txt, data/imdb/test.jsonl.gz)
"""
import gzip
import json
import os
import random
import sys
from pathlib import Path

import tokenizers
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TESSERA_SHARED_DIR", "/work/shared"))
VOCAB = SHARED / "tokenizers/bert-base-uncased/vocab.txt"
IMDB = SHARED / "data/imdb/test.jsonl.gz"
OUT = ROOT / "tests/fixtures/tokenizers"
TABLES = ROOT / "src/tokenizers/unicode_tables.cpp"
SEED = 1234
NUM_REVIEWS = 250        # uncased corpus: full reviews, no truncation (ids, type ids, char offsets)
NUM_REVIEWS_CASED = 60   # cased / variant corpora: a subset of the same reviews
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

EDGE_CASES = [
    "", " ", "   \t\n  ", "Hello, world!", "HeLLo WoRLD MiXeD CaSe",
    "café naïve Ångström résumé façade coöperate", "Crème Brûlée ÉCOLE", "İstanbul ΣΊΣΥΦΟΣ ß ﬁ",
    "中文字符测试", "我爱北京天安门 and English", "日本語のテキスト、カタカナ", "한국어 텍스트입니다",
    "emoji 👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷 🥲", "tab\there\rcr\x00nul\x07bell", "zero\u200bwidth \ufeffbom \u00adsoft",
    "nbsp\u00a0ideographic\u3000space\u2003em", "line\u2028sep\u0085nel", "<br /><br />The movie was great.<br />",
    "a" * 101, "supercalifragilisticexpialidocious " * 3, "x" * 100, "ünïcödé" * 20,
    "multiple     spaces\n\n\nand newlines", "[CLS] hello [SEP] world [MASK] [PAD] [UNK]",
    "the [MASK] sat on the mat", "[mask] is not special but [MASK] is", "no[MASK]space[SEP]here",
    "don't can't won't it's I'm you're they've", "U.S.A. e.g. i.e. Mr. Smith", "$5.00 €10 £3.50 ¥100 100%",
    "-- --- ... !!! ??? ,,, ;;; :::", "email@example.com https://example.com/path?q=1&r=2",
    "«quoted» „German“ “curly” ‘single’ 「Japanese」", "¿Qué? ¡Sí! • bullet · middle dot ‽ interrobang",
    "math: 2+2=4, x^2, a<b>c, ~tilde~, `code`, {braces}, |pipe|, \\backslash",
    "numbers 1,234,567.89 and 3.14159 and 1e10", "Ⅻ roman ① circled ² superscript ½ fraction",
    "\u0301combining at start", "e\u0301 composed manually a\u0323\u0301", "Ａｂｃ fullwidth ＡＢＣ",
    "Ελληνικά Русский текст עברית العربية हिन्दी ไทย", "\U0002070e\U00020731 rare CJK ext B", "\ue000 private use \U000f0000",
    "word" + "\u200d" + "joiner", "trailing space ", " leading space", "a", "!", "##", "##ing",
    "unaffable", "Tokenization is fun; isn't it?", "I've seen \"The Godfather\" (1972) 10/10 times!!",
]
PAIRS = [
    ("How old are you?", "I'm 6 years old."), ("", "second only"), ("first only", ""),
    ("The café is open.", "中文 and 한국어"), ("[CLS] inside", "and [SEP] here"),
]


def bert_tokenizer(vocab, lowercase, strip_accents=None, added=(), chinese=True, max_chars=100, pair_type=1):
    """The pipeline transformers' BertTokenizerFast builds (convert_slow_tokenizer.BertConverter)."""
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=max_chars))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=chinese,
                                                strip_accents=strip_accents, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair=f"[CLS]:0 $A:0 [SEP]:0 $B:{pair_type} [SEP]:{pair_type}",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in SPECIALS if t in vocab])
    if added:
        tok.add_tokens(list(added))
    return tok


def record(tok, text, pair=None, max_length=None, compact=False):
    """One fixture row; `compact` rows (IMDB reviews) keep only ids and offsets to keep the files small."""
    if max_length is not None:
        tok.enable_truncation(max_length)
    else:
        tok.no_truncation()
    enc = tok.encode(text, pair) if pair is not None else tok.encode(text)
    row = {"text": text, "ids": enc.ids, "offsets": [list(o) for o in enc.offsets]}
    if compact:
        return row
    row["tokens"] = enc.tokens
    if pair is not None:
        row["pair"] = pair
        row["type_ids"] = enc.type_ids
        row["sequence_ids"] = [-1 if s is None else s for s in enc.sequence_ids]
    if max_length is not None:
        row["max_length"] = max_length
    row["special_tokens_mask"] = enc.special_tokens_mask
    row["decoded"] = tok.decode(enc.ids)
    return row


def write_corpus(path, tok, reviews, name, long_truncations):
    rows = [record(tok, t) for t in EDGE_CASES] + [record(tok, a, b) for a, b in PAIRS]
    rows += [record(tok, t, compact=True) for t in reviews]
    rows += [record(tok, t, max_length=n) for t, n in long_truncations]
    rows += [record(tok, a, b, max_length=n) for a, b, n in [(reviews[0], reviews[1], 64), (reviews[2], "short", 32),
                                                           ("short", reviews[3], 33), (reviews[4], reviews[5], 7)]]
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"meta": {"tokenizers_version": tokenizers.__version__, "tokenizer": name, "seed": SEED,
                                     "offsets": "char offsets into text (HF Python), [begin, end)"}}) + "\n")
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB, {len(rows)} rows)")


def ranges(cps):
    out = []
    for c in cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def chunked(items, per_line=8):
    return "\n" + ",\n".join(",".join(items[i:i + per_line]) for i in range(0, len(items), per_line)) + "\n"


def write_tables():
    """Codepoint classes exactly as tokenizers computes them (its Unicode data predates utf8proc's)."""
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    removed, marks, punct, strip_map, lower_map = [], [], [], [], []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        s = chr(cp)
        if clean.normalize_str(s) == "":
            removed.append(cp)
        stripped = strip.normalize_str(s)
        if stripped == "":
            marks.append(cp)
        elif stripped != s and not 0xAC00 <= cp <= 0xD7A3:  # Hangul syllables decompose algorithmically
            strip_map.append((cp, [ord(c) for c in stripped]))
        lowered = lower.normalize_str(s)
        if lowered != s:
            lower_map.append((cp, [ord(c) for c in lowered]))
        if len(pre.pre_tokenize_str("a" + s + "b")) == 3:
            punct.append(cp)

    def range_table(name, cps):
        body = chunked([f"{{0x{a:X},0x{b:X}}}" for a, b in ranges(cps)])
        return f"const CodepointRange {name}[] = {{{body}}};\nconst std::size_t {name}Size = std::size({name});\n"

    def map_table(name, entries):
        body = chunked(["{0x%X,{%s}}" % (cp, ",".join(f"0x{c:X}" for c in to)) for cp, to in entries])
        return f"const CodepointMapping {name}[] = {{{body}}};\nconst std::size_t {name}Size = std::size({name});\n"

    assert max(len(t) for _, t in strip_map + lower_map) <= 3
    text = (f"// GENERATED by scripts/make_tokenizer_fixtures.py from tokenizers {tokenizers.__version__}; do not edit.\n"
            "// Codepoint classes exactly as HF tokenizers sees them (see Note [Unicode tables] in unicode.h).\n"
            '#include "tokenizers/unicode.h"\n\n#include <iterator>\n\nnamespace tessera::tokenizers::tables {\n'
            + range_table("kCleanTextRemoved", removed) + range_table("kStripAccentsRemoved", marks)
            + range_table("kBertPunctuation", punct) + map_table("kStripAccentsMap", strip_map)
            + map_table("kLowercaseMap", lower_map) + "}  // namespace tessera::tokenizers::tables\n")
    TABLES.write_text(text, encoding="utf-8")
    print(f"wrote {TABLES}")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    if "--no-tables" not in sys.argv:
        write_tables()
    vocab = {line: i for i, line in enumerate(VOCAB.read_text(encoding="utf-8").splitlines())}
    with gzip.open(IMDB, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    rng = random.Random(SEED)
    reviews = rng.sample(texts, NUM_REVIEWS)  # the file is sorted by label: sample, never take the first N
    longest = sorted(reviews, key=len)[-3:]
    uncased = bert_tokenizer(vocab, lowercase=True)
    d = OUT / "bert-base-uncased"
    d.mkdir(exist_ok=True)
    uncased.save(str(d / "tokenizer.json"))
    config = {"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer",
              "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
              "mask_token": "[MASK]", "strip_accents": None, "tokenize_chinese_chars": True}
    (d / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    write_corpus(OUT / "bert_uncased_corpus.jsonl", uncased, reviews, "bert-base-uncased tokenizer.json",
                 [(t, n) for t in longest for n in (512, 128)])
    # Cased: same vocab through the legacy vocab.txt path (tests build it from the shared vocab.txt).
    cased = bert_tokenizer(vocab, lowercase=False, strip_accents=False)
    legacy = OUT / "bert-cased-legacy"
    legacy.mkdir(exist_ok=True)
    (legacy / "tokenizer_config.json").write_text(json.dumps(
        {"do_lower_case": False, "strip_accents": False, "model_max_length": 512, "tokenizer_class": "BertTokenizer"},
        indent=2) + "\n")
    write_corpus(OUT / "bert_cased_corpus.jsonl", cased, reviews[:NUM_REVIEWS_CASED], "cased legacy (vocab.txt)",
                 [(longest[-1], 512)])
    # Variant: small vocab, explicit strip_accents without lowercase, no CJK spacing, short max word,
    # added tokens with lstrip/rstrip/single_word/normalized, pair type id 0; tokenizer.json is committed.
    small = {t: i for i, t in enumerate(list(vocab)[:3000])}
    added = [AddedToken("<ent>", single_word=True), AddedToken("<lst>", lstrip=True), AddedToken("<rst>", rstrip=True),
             AddedToken("Hello World", normalized=True), AddedToken("<raw>", normalized=False)]
    variant = bert_tokenizer(small, lowercase=False, strip_accents=True, added=added, chinese=False, max_chars=12,
                             pair_type=0)
    vd = OUT / "bert-variant"
    vd.mkdir(exist_ok=True)
    variant.save(str(vd / "tokenizer.json"))
    global EDGE_CASES
    EDGE_CASES = EDGE_CASES + ["a <ent> b x<ent>y <ent>", "a   <lst>   b <lst><lst>", "a <rst>   b<rst>", "hello world Hello World",
                               "Héllo Wörld and HELLO WORLD", "<raw> <RAW>", "<ent>", "<lst>", "  <rst>  "]
    write_corpus(OUT / "bert_variant_corpus.jsonl", variant, reviews[:20], "bert-variant tokenizer.json", [])


if __name__ == "__main__":
    main()
