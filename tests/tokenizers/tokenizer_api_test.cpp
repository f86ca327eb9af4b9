// Tokenizer API behaviour beyond the HF fixtures: batch padding/truncation, decode round trip, vocab lookups,
// and user-facing errors (missing file, corrupt JSON, unsupported component, invalid UTF-8).
#include <gtest/gtest.h>

#include "error_of.h"

#include <fstream>
#include <string>
#include <vector>

#include "tessera/error.h"
#include "tessera/tokenizer.h"

using tessera::testing::error_of;

namespace tessera::tokenizers {
namespace {

const std::filesystem::path kBert = std::filesystem::path(TESSERA_FIXTURES_DIR) / "tokenizers/bert-base-uncased";

const Tokenizer& bert() {
  static const Tokenizer t = Tokenizer::from_dir(kBert);
  return t;
}

TEST(TokenizerApi, EmptyTextGivesClsSep) {
  const Encoding e = bert().encode("");
  EXPECT_EQ(e.ids, (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(e.special_tokens_mask, (std::vector<int64_t>{1, 1}));
  EXPECT_TRUE(bert().encode("", {.add_special_tokens = false}).ids.empty());
}

TEST(TokenizerApi, VocabLookups) {
  EXPECT_EQ(bert().vocab_size(), 30522u);
  EXPECT_EQ(bert().token_to_id("[CLS]"), 101);
  EXPECT_EQ(bert().token_to_id("##ing"), 2075);
  EXPECT_EQ(bert().token_to_id("not-a-token"), std::nullopt);
  EXPECT_EQ(bert().id_to_token(102), "[SEP]");
  EXPECT_EQ(bert().id_to_token(1 << 20), std::nullopt);
  EXPECT_EQ(bert().pad_token_id(), 0);
  EXPECT_EQ(bert().model_max_length(), 512u);
  EXPECT_EQ(bert().padding_side(), Side::right);
}

TEST(TokenizerApi, BatchPadsToLongestWithAttentionMask) {
  const std::vector<std::string> texts{"short", "a somewhat longer sentence here", ""};
  const std::vector<Encoding> batch = bert().encode_batch(texts);
  ASSERT_EQ(batch.size(), 3u);
  const std::size_t longest = bert().encode(texts[1]).size();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Encoding single = bert().encode(texts[i]);
    ASSERT_EQ(batch[i].size(), longest);
    for (std::size_t k = 0; k < longest; ++k) {
      const bool real = k < single.size();
      EXPECT_EQ(batch[i].ids[k], real ? single.ids[k] : 0);
      EXPECT_EQ(batch[i].attention_mask[k], real ? 1 : 0);
      EXPECT_EQ(batch[i].type_ids[k], 0);
      if (!real) {
        EXPECT_EQ(batch[i].tokens[k], "[PAD]");
      }
    }
  }
}

TEST(TokenizerApi, BatchTruncatesAndPadsToMaxLength) {
  std::string long_text;
  for (int i = 0; i < 1000; ++i) long_text += "word ";
  const std::vector<std::string_view> texts{long_text, "tiny"};
  const auto batch = bert().encode_batch(std::span<const std::string_view>(texts),
                                         {.truncation = true, .max_length = 16, .padding = Padding::max_length});
  ASSERT_EQ(batch[0].size(), 16u);
  ASSERT_EQ(batch[1].size(), 16u);
  EXPECT_EQ(batch[0].ids.front(), 101);
  EXPECT_EQ(batch[0].ids.back(), 102);
  EXPECT_EQ(batch[1].attention_mask, (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  // Default truncation length is model_max_length (512).
  EXPECT_EQ(bert().encode(long_text, {.truncation = true}).size(), 512u);
  EXPECT_EQ(bert().encode(long_text).size(), 1002u);
}

TEST(TokenizerApi, DecodeRoundTrip) {
  const std::string text = "The quick brown fox doesn't jump over 3 lazy dogs, unaffable!";
  const Encoding e = bert().encode(text);
  // As tokenizers: the WordPiece cleanup runs per token, so "doesn ' t" keeps its spaces.
  EXPECT_EQ(bert().decode(e.ids), "the quick brown fox doesn ' t jump over 3 lazy dogs, unaffable!");
  EXPECT_EQ(bert().decode(e.ids, /*skip_special_tokens=*/false).substr(0, 9), "[CLS] the");
}

TEST(TokenizerApi, OffsetsAreBytesIntoOriginalText) {
  const std::string text = "Café 中文";
  const Encoding e = bert().encode(text, {.add_special_tokens = false});
  ASSERT_EQ(e.tokens, (std::vector<std::string>{"cafe", "中", "文"}));
  EXPECT_EQ(e.offsets[0], (Offsets{0, 5}));  // "Café" is 5 bytes
  EXPECT_EQ(text.substr(e.offsets[1].begin, e.offsets[1].end - e.offsets[1].begin), "中");
  EXPECT_EQ(e.offsets[2], (Offsets{9, 12}));
}

TEST(TokenizerApi, InvalidUtf8NamesByteOffset) {
  const std::string bad = std::string("abc") + char(0xC3) + "(";
  const std::string message = error_of([&] { bert().encode(bad); });
  EXPECT_NE(message.find("byte offset 3"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { bert().encode_pair("ok", "\xff"); }).find("byte offset 0"), std::string::npos);
  EXPECT_NE(error_of([&] { bert().encode(std::string("\xed\xa0\x80")); }).find("not valid UTF-8"), std::string::npos);
}

TEST(TokenizerApi, MissingFilesAreClearErrors) {
  EXPECT_NE(error_of([] { Tokenizer::from_json_file("/nonexistent/tokenizer.json"); }).find("/nonexistent/tokenizer.json"),
            std::string::npos);
  EXPECT_NE(error_of([] { Tokenizer::from_dir("/nonexistent-dir"); }).find("not a directory"), std::string::npos);
  EXPECT_NE(error_of([] { Tokenizer::from_dir(std::filesystem::temp_directory_path()); }).find("neither tokenizer.json"),
            std::string::npos);
  EXPECT_NE(error_of([] { Tokenizer::from_vocab("/nonexistent/vocab.txt"); }).find("cannot open"), std::string::npos);
}

TEST(TokenizerApi, CorruptJsonNamesTheFile) {
  const auto path = std::filesystem::temp_directory_path() / "tessera_corrupt_tokenizer.json";
  std::ofstream(path) << "{\"model\": {\"type\": ";
  const std::string message = error_of([&] { Tokenizer::from_json_file(path); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
  std::filesystem::remove(path);
}

TEST(TokenizerApi, UnsupportedComponentsAreNamed) {
  const std::string model = R"("model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}})";
  auto load = [&](const std::string& extra) { Tokenizer::from_json_string("{" + extra + model + "}", "my/tokenizer.json"); };
  EXPECT_EQ(error_of([&] { load(R"("pre_tokenizer": {"type": "Metaspace"},)"); }),
            "my/tokenizer.json: pre_tokenizer type 'Metaspace' is not supported yet (supported: BertPreTokenizer, ByteLevel, Split, Sequence)");
  EXPECT_NE(error_of([&] { load(R"("normalizer": {"type": "NFKC"},)"); }).find("normalizer type 'NFKC'"), std::string::npos);
  EXPECT_NE(error_of([&] { load(R"("decoder": {"type": "Metaspace"},)"); }).find("decoder type 'Metaspace'"), std::string::npos);
  EXPECT_NE(error_of([&] { load(R"("post_processor": {"type": "RobertaProcessing"},)"); }).find("RobertaProcessing"),
            std::string::npos);
  EXPECT_NE(error_of([] { Tokenizer::from_json_string(R"({"model": {"type": "Unigram", "vocab": []}})", "x.json"); })
                .find("model type 'Unigram' is not supported"),
            std::string::npos);
  EXPECT_NE(error_of([] { Tokenizer::from_json_string(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", "x.json"); })
                .find("unk_token '[UNK]' is not in the vocab"),
            std::string::npos);
  // A minimal valid file works: no normalizer, pre-tokenizer or post-processor.
  Tokenizer t = Tokenizer::from_json_string("{" + model + "}");
  EXPECT_EQ(t.encode("a").ids, (std::vector<int64_t>{1}));
  EXPECT_EQ(t.encode("ab").ids, (std::vector<int64_t>{0}));
}

}  // namespace
}  // namespace tessera::tokenizers
