// WordPiece model (greedy longest-prefix match with the `##` continuation prefix, as tokenizers'
// models/wordpiece) and the WordPiece decoder (decoders/wordpiece.rs, incl. its cleanup rules).
#include <algorithm>

#include "tessera/error.h"
#include "tokenizers/components.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {

WordPiece::WordPiece(Vocab vocab, WordPieceOptions options, std::string_view source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    TESSERA_CHECK(id >= 0, "{}: WordPiece vocab id for '{}' is negative ({})", source, token, id);
    max_id = std::max(max_id, id);
  }
  TESSERA_CHECK(max_id < (int32_t{1} << 28), "{}: WordPiece vocab id {} is implausibly large", source, max_id);
  by_id_.resize(static_cast<std::size_t>(max_id + 1));
  for (const auto& [token, id] : vocab_) by_id_[static_cast<std::size_t>(id)] = token;
  auto unk = vocab_.find(options_.unk_token);
  TESSERA_CHECK(unk != vocab_.end(), "{}: WordPiece unk_token '{}' is not in the vocab", source, options_.unk_token);
  unk_id_ = unk->second;
}

void WordPiece::tokenize(std::string_view word, std::vector<ModelToken>& out) const {
  const auto word_end = static_cast<uint32_t>(word.size());
  if (count_chars(word) > options_.max_input_chars_per_word) {
    out.push_back({unk_id_, {0, word_end}});
    return;
  }
  const std::size_t first = out.size();
  thread_local std::string candidate;  // reused: no allocation per piece
  const std::string& prefix = options_.continuing_subword_prefix;
  uint32_t start = 0;
  while (start < word_end) {
    uint32_t end = word_end;
    bool found = false;
    while (start < end) {
      std::string_view piece = word.substr(start, end - start);
      if (start > 0) {
        candidate.assign(prefix).append(piece);
        piece = candidate;
      }
      if (auto it = vocab_.find(piece); it != vocab_.end()) {
        out.push_back({it->second, {start, end}});
        found = true;
        break;
      }
      do --end;  // back off one char
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (!found) {
      out.resize(first);
      out.push_back({unk_id_, {0, word_end}});
      return;
    }
    start = end;
  }
}

std::optional<int32_t> WordPiece::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* WordPiece::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= by_id_.size()) return nullptr;
  const std::string& token = by_id_[static_cast<std::size_t>(id)];
  if (token.empty() && !vocab_.contains(std::string_view{})) return nullptr;  // a hole in the ids
  return &token;
}

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos).append(to);
  }
  if (pos == 0) return;
  out.append(s, pos);
  s = std::move(out);
}

}  // namespace

std::string WordPieceDecoder::decode(std::vector<std::string> tokens) const {
  static constexpr std::pair<std::string_view, std::string_view> kCleanup[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::string& token = tokens[i];
    if (i != 0) {
      if (token.starts_with(prefix_)) token.erase(0, prefix_.size());
      else token = " " + token;
    }
    if (cleanup_) {
      for (const auto& [from, to] : kCleanup) replace_all(token, from, to);
    }
    out += token;
  }
  return out;
}

}  // namespace tessera::tokenizers
