// Exact equality with HF tokenizers on the generated corpora (scripts/make_tokenizer_fixtures.py): ids, type
// ids, offsets (HF char offsets converted to our byte offsets), tokens, special tokens mask and decode.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tessera/tokenizer.h"

namespace tessera::tokenizers {
namespace {

const std::filesystem::path kFixtures = std::filesystem::path(TESSERA_FIXTURES_DIR) / "tokenizers";
const std::filesystem::path kVocab = std::filesystem::path(TESSERA_SHARED_DIR) / "tokenizers/bert-base-uncased/vocab.txt";

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

// Byte offset of each char boundary of `text` (index = char index, one past the end included).
std::vector<std::size_t> char_to_byte(const std::string& text) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(text.size());
  return out;
}

// Checks every row, counting them in `checked`.
void check_corpus(const Tokenizer& tokenizer, const std::filesystem::path& path, int& checked) {
  const std::vector<nlohmann::json> rows = read_jsonl(path);
  EXPECT_GT(rows.size(), 1u);
  EXPECT_EQ(rows[0]["meta"]["tokenizers_version"], "0.23.2");
  checked = 0;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const nlohmann::json& row = rows[r];
    const auto text = row["text"].get<std::string>();
    EncodeOptions options;
    if (row.contains("max_length")) options.truncation = true, options.max_length = row["max_length"].get<std::size_t>();
    const bool is_pair = row.contains("pair");
    const std::string pair = is_pair ? row["pair"].get<std::string>() : std::string();
    const Encoding e = is_pair ? tokenizer.encode_pair(text, pair, options) : tokenizer.encode(text, options);
    SCOPED_TRACE(::testing::Message() << path.filename() << " row " << r << ": " << text.substr(0, 80));
    ASSERT_EQ(e.ids, row["ids"].get<std::vector<int64_t>>());
    ASSERT_EQ(e.type_ids.size(), e.ids.size());
    ASSERT_EQ(e.attention_mask, std::vector<int64_t>(e.ids.size(), 1));
    if (row.contains("type_ids")) ASSERT_EQ(e.type_ids, row["type_ids"].get<std::vector<int64_t>>());
    else ASSERT_EQ(e.type_ids, std::vector<int64_t>(e.ids.size(), 0));
    // Offsets: HF gives chars into each sequence's own text (sequence_ids says which, -1 for specials).
    std::vector<int64_t> sequence_ids(e.size(), 0);
    if (row.contains("sequence_ids")) sequence_ids = row["sequence_ids"].get<std::vector<int64_t>>();
    const auto expected = row["offsets"].get<std::vector<std::pair<std::size_t, std::size_t>>>();
    const auto map_a = char_to_byte(text), map_b = char_to_byte(pair);
    ASSERT_EQ(e.offsets.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const auto& map = sequence_ids[i] == 1 ? map_b : map_a;
      ASSERT_LT(expected[i].second, map.size());
      EXPECT_EQ(e.offsets[i], (Offsets{map[expected[i].first], map[expected[i].second]})) << "token " << i;
    }
    if (row.contains("tokens")) {
      EXPECT_EQ(e.tokens, row["tokens"].get<std::vector<std::string>>());
    }
    if (row.contains("special_tokens_mask")) {
      EXPECT_EQ(e.special_tokens_mask, row["special_tokens_mask"].get<std::vector<int64_t>>());
    }
    if (row.contains("decoded")) {
      EXPECT_EQ(tokenizer.decode(e.ids), row["decoded"].get<std::string>());
    }
    ++checked;
  }
}

TEST(TokenizerFixtures, UncasedTokenizerJsonMatchesHf) {
  const Tokenizer t = Tokenizer::from_dir(kFixtures / "bert-base-uncased");
  int checked = 0;
  check_corpus(t, kFixtures / "bert_uncased_corpus.jsonl", checked);
  EXPECT_GE(checked, 300);
}

TEST(TokenizerFixtures, CasedLegacyVocabMatchesHf) {
  const Tokenizer t = Tokenizer::from_vocab(kVocab, read_vocab_options(kFixtures / "bert-cased-legacy"));
  int checked = 0;
  check_corpus(t, kFixtures / "bert_cased_corpus.jsonl", checked);
  EXPECT_GE(checked, 100);
}

TEST(TokenizerFixtures, VariantAddedTokensMatchHf) {
  const Tokenizer t = Tokenizer::from_json_file(kFixtures / "bert-variant/tokenizer.json");
  int checked = 0;
  check_corpus(t, kFixtures / "bert_variant_corpus.jsonl", checked);
  EXPECT_GE(checked, 80);
}

TEST(TokenizerFixtures, LegacyUncasedVocabEqualsTokenizerJson) {
  const Tokenizer json = Tokenizer::from_dir(kFixtures / "bert-base-uncased");
  const Tokenizer legacy = Tokenizer::from_vocab(kVocab, read_vocab_options(kFixtures / "bert-base-uncased"));
  EXPECT_EQ(json.vocab_size(), legacy.vocab_size());
  EXPECT_EQ(legacy.model_max_length(), 512u);
  int compared = 0;
  for (const auto& row : read_jsonl(kFixtures / "bert_uncased_corpus.jsonl")) {
    if (!row.contains("text")) continue;
    const auto text = row["text"].get<std::string>();
    const Encoding a = json.encode(text), b = legacy.encode(text);
    ASSERT_EQ(a.ids, b.ids) << text.substr(0, 80);
    ASSERT_EQ(a.offsets, b.offsets) << text.substr(0, 80);
    ++compared;
  }
  EXPECT_GE(compared, 300);
}

}  // namespace
}  // namespace tessera::tokenizers
