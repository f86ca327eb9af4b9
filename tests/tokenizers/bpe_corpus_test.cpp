// Byte-level BPE against HF tokenizers (scripts/make_bpe_fixtures.py): GPT-NeoX-20B's shared tokenizer.json and a
// GPT-2-style vocab.json + merges.txt directory; exact ids, byte offsets, tokens and decode on every row.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tessera/tokenizer.h"

namespace tessera::tokenizers {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(TESSERA_FIXTURES_DIR) / "tokenizers";
const std::filesystem::path kNeox = std::filesystem::path(TESSERA_SHARED_DIR) / "tokenizers/gpt-neox-20b/tokenizer.json";

std::vector<std::size_t> char_to_byte(const std::string& text) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(text.size());
  return out;
}

// Checks every row of `corpus`; returns how many rows were checked.
int check_corpus(const Tokenizer& tokenizer, const std::filesystem::path& corpus) {
  std::ifstream in(corpus);
  EXPECT_TRUE(in.good()) << corpus;
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(nlohmann::json::parse(line)["meta"]["tokenizers_version"], "0.23.2");
  int checked = 0;
  for (int r = 1; std::getline(in, line); ++r) {
    const nlohmann::json row = nlohmann::json::parse(line);
    const auto text = row["text"].get<std::string>();
    SCOPED_TRACE(::testing::Message() << corpus.filename() << " row " << r << ": " << text.substr(0, 80));
    const Encoding e = tokenizer.encode(text);
    EXPECT_EQ(e.ids, row["ids"].get<std::vector<int64_t>>());
    const auto expected = row["offsets"].get<std::vector<std::pair<std::size_t, std::size_t>>>();
    const auto map = char_to_byte(text);
    EXPECT_EQ(e.offsets.size(), expected.size());
    for (std::size_t i = 0; i < std::min(expected.size(), e.offsets.size()); ++i) {
      EXPECT_EQ(e.offsets[i], (Offsets{map[expected[i].first], map[expected[i].second]})) << "token " << i;
    }
    if (row.contains("tokens")) {
      EXPECT_EQ(e.tokens, row["tokens"].get<std::vector<std::string>>());
    }
    const auto decoded = row["decoded"].get<std::string>();
    EXPECT_EQ(tokenizer.decode(e.ids, /*skip_special_tokens=*/false), decoded);
    if (row.contains("decoded_skip_special")) {
      EXPECT_EQ(tokenizer.decode(e.ids), row["decoded_skip_special"].get<std::string>());
    }
    if (decoded == text) {
      EXPECT_EQ(tokenizer.decode(e.ids, false), text) << "round trip";
    }
    ++checked;
    if (::testing::Test::HasFailure()) break;  // one failing row is enough to read
  }
  return checked;
}

TEST(BpeCorpus, GptNeox20b) {
  const Tokenizer tokenizer = Tokenizer::from_json_file(kNeox);
  EXPECT_EQ(check_corpus(tokenizer, kFixtures / "gpt-neox/corpus.jsonl"), 361);
  EXPECT_EQ(tokenizer.vocab_size(), 50277u);
}

TEST(BpeCorpus, Gpt2StyleDirectory) {
  const Tokenizer tokenizer = Tokenizer::from_dir(kFixtures / "gpt2-style");
  EXPECT_EQ(check_corpus(tokenizer, kFixtures / "gpt2-style/corpus.jsonl"), 141);
  EXPECT_EQ(tokenizer.model_max_length(), 1024u);
  EXPECT_EQ(tokenizer.token_to_id("<|endoftext|>"), 0);
}

TEST(BpeCorpus, BatchMatchesSingle) {
  const Tokenizer tokenizer = Tokenizer::from_json_file(kNeox);
  std::vector<std::string> texts{"Hello world", "don't I'll you'RE", "a   b <|endoftext|>", "", "👨‍👩‍👧‍👦 \n\n  \t"};
  const auto batch = tokenizer.encode_batch(texts, {.padding = Padding::none});
  for (std::size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i].ids, tokenizer.encode(texts[i]).ids) << texts[i];
}

}  // namespace
}  // namespace tessera::tokenizers
