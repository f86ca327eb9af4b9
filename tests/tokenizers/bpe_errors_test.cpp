// Byte-level BPE loading errors (corrupt merges naming file:line, tokens missing from the vocab, unsupported
// options) and invalid UTF-8 input.
#include <gtest/gtest.h>

#include "error_of.h"

#include <fstream>
#include <functional>

#include "tessera/error.h"
#include "tessera/tokenizer.h"

using tessera::testing::error_of;

namespace tessera::tokenizers {
namespace {

std::filesystem::path write_dir(const std::string& name, const std::string& vocab, const std::string& merges) {
  const auto dir = std::filesystem::temp_directory_path() / ("tessera_bpe_" + name);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "vocab.json") << vocab;
  std::ofstream(dir / "merges.txt") << merges;
  return dir;
}

const std::string kVocab = R"({"a": 1, "b": 2, "ab": 3, "<|endoftext|>": 0})";

TEST(BpeErrors, CorruptMergesLineNamesFileAndLine) {
  const auto dir = write_dir("corrupt", kVocab, "#version: 0.2\na b\na b c\n");
  const std::string message = error_of([&] { Tokenizer::from_dir(dir); });
  EXPECT_NE(message.find("merges.txt:3"), std::string::npos) << message;
}

TEST(BpeErrors, MergeTokenNotInVocab) {
  const auto dir = write_dir("unknown", kVocab, "#version: 0.2\na z\n");
  const std::string message = error_of([&] { Tokenizer::from_dir(dir); });
  EXPECT_NE(message.find("merges.txt:2"), std::string::npos) << message;
  EXPECT_NE(message.find("'z' is not in the vocab"), std::string::npos) << message;
}

TEST(BpeErrors, UnsupportedDropout) {
  const std::string json = R"({"model": {"type": "BPE", "dropout": 0.1, "vocab": {"a": 0}, "merges": []}})";
  EXPECT_NE(error_of([&] { Tokenizer::from_json_string(json); }).find("dropout"), std::string::npos);
}

TEST(BpeErrors, MergesAsPairsOrStrings) {
  for (const std::string merges : {R"(["a b"])", R"([["a", "b"]])"}) {
    const std::string json = R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": )" + merges + "}}";
    EXPECT_EQ(Tokenizer::from_json_string(json).encode("ab").ids, (std::vector<int64_t>{2})) << merges;
  }
}

TEST(BpeErrors, InvalidUtf8Input) {
  const auto tokenizer = Tokenizer::from_dir(write_dir("utf8", kVocab, "#version: 0.2\na b\n"));
  EXPECT_THROW(tokenizer.encode("ab\xC3("), Error);
  EXPECT_THROW(tokenizer.encode("\xFF"), Error);
}

}  // namespace
}  // namespace tessera::tokenizers
