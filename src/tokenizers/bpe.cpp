// The BPE model (tokenizers' models/bpe/{model,word}.rs): initial symbols (bytes or chars, with unk / byte
// fallback), merges lowest rank first through a min-heap over a linked list, and a bounded per-thread word cache.
#include <algorithm>
#include <atomic>
#include <cstdio>

#include "tessera/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {

// Note [Byte-level BPE on raw bytes]: with a ByteLevel pre-tokenizer, tokenizers maps every byte of a word to
// a printable char and runs BPE on that string. The map is a bijection, so we instead respell the vocab in raw
// bytes once and run BPE on the word's bytes: no per-word transform, and a token's byte span in the word is
// directly its span in the normalized text (whose alignments give the original offsets).

// Open-addressing map (left id, right id) -> (rank, merged id); read-only after construction.
struct Bpe::MergeTable {
  struct Slot {
    uint64_t key = kEmpty;
    uint32_t rank = 0;
    int32_t id = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  std::vector<Slot> slots;
  uint64_t mask = 0;

  static uint64_t key_of(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33, k *= 0xff51afd7ed558ccdULL, k ^= k >> 33;
    return k;
  }
  explicit MergeTable(std::size_t n) {
    std::size_t size = 16;
    while (size < 2 * n) size *= 2;
    slots.resize(size);
    mask = size - 1;
  }
  // Later duplicates overwrite earlier ones, as tokenizers' HashMap collect does.
  void insert(int32_t a, int32_t b, uint32_t rank, int32_t id) {
    const uint64_t key = key_of(a, b);
    for (uint64_t i = mix(key) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == kEmpty || slots[i].key == key) {
        slots[i] = {key, rank, id};
        return;
      }
    }
  }
  const Slot* find(int32_t a, int32_t b) const {
    const uint64_t key = key_of(a, b);
    for (uint64_t i = mix(key) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == key) return &slots[i];
      if (slots[i].key == kEmpty) return nullptr;
    }
  }
};

namespace {

std::atomic<uint64_t> next_cache_id{1};

// Per-thread word caches, one per recently used Bpe (a few slots, least recently used replaced), so that
// encode_batch threads never lock and a destroyed model's cache is eventually recycled.
struct ThreadCache {
  using Map = std::unordered_map<std::string, std::vector<ModelToken>, StringHash, std::equal_to<>>;
  struct Slot {
    uint64_t owner = 0;
    uint64_t last_use = 0;
    Map words;
  };
  std::array<Slot, 4> slots;
  uint64_t clock = 0;
  Map& for_model(uint64_t id) {
    Slot* victim = &slots[0];
    for (Slot& s : slots) {
      if (s.owner == id) {
        s.last_use = ++clock;
        return s.words;
      }
      if (s.last_use < victim->last_use) victim = &s;
    }
    victim->owner = id;
    victim->last_use = ++clock;
    victim->words.clear();
    return victim->words;
  }
};

constexpr std::size_t kMaxCachedWordBytes = 256;  // tokenizers' MAX_LENGTH: longer words are not cached

}  // namespace

Bpe::Bpe(Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
         std::string_view source, const std::vector<std::size_t>* merge_lines)
    : vocab_(std::move(vocab)), options_(std::move(options)), cache_id_(next_cache_id++) {
  TESSERA_CHECK(!options_.byte_level || (options_.continuing_subword_prefix.empty() && options_.end_of_word_suffix.empty()),
                "{}: BPE continuing_subword_prefix/end_of_word_suffix with a ByteLevel pre-tokenizer is not supported "
                "(got '{}' / '{}')", source, options_.continuing_subword_prefix, options_.end_of_word_suffix);
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab_) {
    TESSERA_CHECK(id >= 0, "{}: BPE vocab id for '{}' is negative ({})", source, token, id);
    max_id = std::max(max_id, id);
  }
  TESSERA_CHECK(max_id < (int32_t{1} << 28), "{}: BPE vocab id {} is implausibly large", source, max_id);
  by_id_.resize(static_cast<std::size_t>(max_id + 1));
  has_id_.assign(by_id_.size(), false);
  for (const auto& [token, id] : vocab_) by_id_[std::size_t(id)] = token, has_id_[std::size_t(id)] = true;
  byte_ids_.fill(-1);
  if (options_.byte_level) {
    raw_vocab_.reserve(vocab_.size());
    for (const auto& [token, id] : vocab_) {
      // Tokens outside the byte alphabet can never come out of a byte-level word: skip them.
      if (auto raw = from_byte_level(token)) {
        if (raw->size() == 1) byte_ids_[static_cast<uint8_t>((*raw)[0])] = id;
        raw_vocab_.emplace(std::move(*raw), id);
      }
    }
  }
  if (options_.unk_token) {
    if (auto it = vocab_.find(*options_.unk_token); it != vocab_.end()) unk_id_ = it->second;
  }
  merges_ = std::make_unique<MergeTable>(merges.size());
  const std::size_t prefix = options_.continuing_subword_prefix.size();
  std::string merged;
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& a = merges[rank].first;  // named references, not a structured binding: clang 14 cannot
    const std::string& b = merges[rank].second;  // capture bindings in the lambda below
    const std::string where = merge_lines ? fmt::format("{}:{}", source, (*merge_lines)[rank])
                                          : fmt::format("{} merge {}", source, rank);
    auto id_of = [&](const std::string& token, std::string_view role) {
      auto it = vocab_.find(token);
      TESSERA_CHECK(it != vocab_.end(), "{}: merge '{} {}': {} token '{}' is not in the vocab", where, a, b, role, token);
      return it->second;
    };
    const int32_t a_id = id_of(a, "left"), b_id = id_of(b, "right");
    merged.assign(a).append(b.size() >= prefix ? std::string_view(b).substr(prefix) : std::string_view(b));
    const int32_t merged_id = id_of(merged, "merged");
    merges_->insert(a_id, b_id, static_cast<uint32_t>(rank), merged_id);
  }
}

Bpe::~Bpe() = default;

void Bpe::initial_symbols(std::string_view word, std::vector<ModelToken>& out) const {
  std::optional<ModelToken> unk;  // pending unknown run (fuse_unk extends it)
  auto flush_unk = [&] {
    if (unk) out.push_back(*unk), unk.reset();
  };
  std::string key;
  for (uint32_t i = 0; i < word.size();) {
    int length = 1;
    if (!options_.byte_level) decode_utf8(word, i, length);
    const auto end = static_cast<uint32_t>(i + length);
    std::optional<int32_t> id;
    if (options_.byte_level) {
      if (const int32_t b = byte_ids_[static_cast<uint8_t>(word[i])]; b >= 0) id = b;
      key.assign(word.substr(i, length));
    } else {
      key.clear();
      if (i > 0) key += options_.continuing_subword_prefix;
      key.append(word.substr(i, length));
      if (end == word.size()) key += options_.end_of_word_suffix;
      if (auto it = vocab_.find(key); it != vocab_.end()) id = it->second;
    }
    if (id) {
      flush_unk();
      out.push_back({*id, {i, end}});
      i = end;
      continue;
    }
    if (options_.byte_fallback) {
      std::vector<int32_t> bytes;
      for (char c : key) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned>(static_cast<uint8_t>(c)));
        auto it = vocab_.find(std::string_view(name));
        if (it == vocab_.end()) break;
        bytes.push_back(it->second);
      }
      if (bytes.size() == key.size()) {  // as tokenizers: each fallback token spans one byte
        flush_unk();
        for (std::size_t k = 0; k < bytes.size(); ++k) {
          const auto b = std::min<uint32_t>(i + static_cast<uint32_t>(k), end - 1);
          out.push_back({bytes[k], {b, b + 1}});
        }
        i = end;
        continue;
      }
    }
    if (options_.unk_token) {
      TESSERA_CHECK(unk_id_.has_value(), "BPE: unk_token '{}' is not in the vocab", *options_.unk_token);
      if (unk && options_.fuse_unk) unk->span.end = end;
      else flush_unk(), unk = ModelToken{*unk_id_, {i, end}};
    }
    i = end;  // no unk token: the char is dropped, as tokenizers does
  }
  flush_unk();
}

void Bpe::merge_word(std::string_view word, std::vector<ModelToken>& out) const {
  struct Symbol {
    ModelToken token;
    int32_t prev, next;
  };
  struct Merge {
    uint32_t rank, pos;
    int32_t id;
    bool operator>(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<ModelToken> initial;
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Merge> queue;  // a min-heap on (rank, pos)
  initial.clear();
  initial_symbols(word, initial);
  symbols.clear();
  for (std::size_t i = 0; i < initial.size(); ++i) {
    symbols.push_back({initial[i], static_cast<int32_t>(i) - 1,
                       i + 1 < initial.size() ? static_cast<int32_t>(i + 1) : -1});
  }
  queue.clear();
  auto push_pair = [&](int32_t left) {
    const Symbol& l = symbols[std::size_t(left)];
    if (l.next < 0) return;
    if (const auto* m = merges_->find(l.token.id, symbols[std::size_t(l.next)].token.id)) {
      queue.push_back({m->rank, static_cast<uint32_t>(left), m->id});
      std::push_heap(queue.begin(), queue.end(), std::greater<>{});
    }
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) push_pair(static_cast<int32_t>(i));
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), std::greater<>{});
    const Merge top = queue.back();
    queue.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.token.span.end == left.token.span.begin || left.next < 0) continue;  // removed, or last
    Symbol& right = symbols[std::size_t(left.next)];
    const auto* m = merges_->find(left.token.id, right.token.id);
    if (m == nullptr || m->id != top.id) continue;  // stale entry
    left.token.id = top.id;
    left.token.span.end = right.token.span.end;
    right.token.span.end = right.token.span.begin;  // tag as removed
    left.next = right.next;
    if (right.next >= 0) symbols[std::size_t(right.next)].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(static_cast<int32_t>(top.pos));
  }
  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[std::size_t(i)].next) out.push_back(symbols[std::size_t(i)].token);
}

void Bpe::tokenize(std::string_view word, std::vector<ModelToken>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    const Vocab& lookup = options_.byte_level ? raw_vocab_ : vocab_;
    if (auto it = lookup.find(word); it != lookup.end()) {
      out.push_back({it->second, {0, static_cast<uint32_t>(word.size())}});
      return;
    }
  }
  if (options_.cache_capacity == 0) return merge_word(word, out);
  thread_local ThreadCache cache;
  ThreadCache::Map& words = cache.for_model(cache_id_);
  if (auto it = words.find(word); it != words.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  const std::size_t first = out.size();
  merge_word(word, out);
  if (word.size() < kMaxCachedWordBytes && words.size() < options_.cache_capacity) {
    words.emplace(std::string(word), std::vector<ModelToken>(out.begin() + std::ptrdiff_t(first), out.end()));
  }
}

std::optional<int32_t> Bpe::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* Bpe::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= by_id_.size() || !has_id_[std::size_t(id)]) return nullptr;
  return &by_id_[static_cast<std::size_t>(id)];
}

}  // namespace tessera::tokenizers
