// Added tokens (tokenizer.json "added_tokens"): matched in the raw text before normalisation (normalized=false)
// or in each normalized piece (normalized=true), leftmost-longest, honouring single_word/lstrip/rstrip.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/components.h"

namespace tessera::tokenizers {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

class AddedVocabulary {
 public:
  struct Piece {
    Span span;         // bytes in the searched text
    int64_t id = -1;   // -1: plain text to tokenize
  };

  void add(AddedToken token);
  // Builds the matchers; normalized tokens are matched by their normalized content.
  void build(const Normalizer* normalizer);
  // Splits `text` into non-empty pieces: added tokens (normalized or not, per `normalized`) and text between.
  void split(std::string_view text, bool normalized, std::vector<Piece>& out) const;

  const AddedToken* find(int64_t id) const;
  std::optional<int64_t> token_to_id(std::string_view content) const;
  bool is_special(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
      int32_t token = -1;                                       // index into tokens_
    };
    std::vector<Node> nodes{Node{}};
    void insert(std::string_view key, int32_t token);
    // Longest key starting at text[pos]: (token index, length), or token -1.
    std::pair<int32_t, std::size_t> longest(std::string_view text, std::size_t pos) const;
  };

  std::vector<AddedToken> tokens_;
  std::unordered_map<int64_t, std::size_t> by_id_;
  std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>> by_content_;
  Trie raw_, normalized_;
  bool has_raw_ = false, has_normalized_ = false;
};

}  // namespace tessera::tokenizers
