// Added-token matching, mirroring tokenizers' AddedVocabulary::find_matches (tokenizer/added_vocabulary.rs).
#include "tokenizers/added_vocabulary.h"

#include <algorithm>

#include "tokenizers/unicode.h"

namespace tessera::tokenizers {

void AddedVocabulary::Trie::insert(std::string_view key, int32_t token) {
  int32_t node = 0;
  for (char ch : key) {
    const auto byte = static_cast<unsigned char>(ch);
    auto& children = nodes[static_cast<std::size_t>(node)].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto next = static_cast<int32_t>(nodes.size());
    children.insert(it, {byte, next});
    nodes.emplace_back();
    node = next;
  }
  // First added wins on duplicate contents, as a hash map insert in tokenizers would keep one of them.
  if (nodes[static_cast<std::size_t>(node)].token < 0) nodes[static_cast<std::size_t>(node)].token = token;
}

std::pair<int32_t, std::size_t> AddedVocabulary::Trie::longest(std::string_view text, std::size_t pos) const {
  std::pair<int32_t, std::size_t> best{-1, 0};
  int32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto& children = nodes[static_cast<std::size_t>(node)].children;
    const auto byte = static_cast<unsigned char>(text[i]);
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& child, unsigned char b) { return child.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    if (nodes[static_cast<std::size_t>(node)].token >= 0) best = {nodes[static_cast<std::size_t>(node)].token, i + 1 - pos};
  }
  return best;
}

void AddedVocabulary::add(AddedToken token) {
  if (token.content.empty()) return;
  const std::size_t index = tokens_.size();
  by_id_.emplace(token.id, index);
  by_content_.emplace(token.content, index);
  tokens_.push_back(std::move(token));
}

void AddedVocabulary::build(const Normalizer* normalizer) {
  raw_ = {};
  normalized_ = {};
  has_raw_ = has_normalized_ = false;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& token = tokens_[i];
    if (token.normalized && normalizer != nullptr) {
      const std::string key = normalizer->normalize_string(token.content);
      if (key.empty()) continue;
      normalized_.insert(key, static_cast<int32_t>(i));
      has_normalized_ = true;
    } else if (token.normalized) {
      normalized_.insert(token.content, static_cast<int32_t>(i));
      has_normalized_ = true;
    } else {
      raw_.insert(token.content, static_cast<int32_t>(i));
      has_raw_ = true;
    }
  }
}

namespace {

char32_t last_char(std::string_view s) {
  std::size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  int length = 0;
  return decode_utf8(s, i, length);
}

// Start of the whitespace run that ends `s` (s.size() when there is none).
std::size_t trailing_space_start(std::string_view s) {
  std::size_t start = s.size();
  while (start > 0) {
    std::size_t i = start - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    int length = 0;
    if (!is_whitespace(decode_utf8(s, i, length))) break;
    start = i;
  }
  return start;
}

std::size_t leading_space_length(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    int length = 0;
    if (!is_whitespace(decode_utf8(s, i, length))) break;
    i += static_cast<std::size_t>(length);
  }
  return i;
}

}  // namespace

void AddedVocabulary::split(std::string_view text, bool normalized, std::vector<Piece>& out) const {
  const auto size = static_cast<uint32_t>(text.size());
  if ((normalized ? !has_normalized_ : !has_raw_) || text.empty()) {
    if (!text.empty()) out.push_back({{0, size}, -1});
    return;
  }
  const Trie& trie = normalized ? normalized_ : raw_;
  std::size_t start_offset = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto [index, length] = trie.longest(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<std::size_t>(index)];
    std::size_t start = pos, stop = pos + length;
    pos = stop;  // matches never overlap, even when one is skipped below
    if (token.single_word) {
      const bool space_before = start == 0 || !is_alphanumeric(last_char(text.substr(0, start)));
      int first_length = 0;
      const bool space_after = stop == text.size() || !is_alphanumeric(decode_utf8(text, stop, first_length));
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
    if (token.rstrip) stop += leading_space_length(text.substr(stop));
    if (start_offset < start) out.push_back({{uint32_t(start_offset), uint32_t(start)}, -1});
    out.push_back({{uint32_t(start), uint32_t(stop)}, token.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({{uint32_t(start_offset), size}, -1});
}

const AddedToken* AddedVocabulary::find(int64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int64_t> AddedVocabulary::token_to_id(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

bool AddedVocabulary::is_special(std::string_view content) const {
  auto it = by_content_.find(content);
  return it != by_content_.end() && tokens_[it->second].special;
}

}  // namespace tessera::tokenizers
