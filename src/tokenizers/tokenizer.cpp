// Tokenizer: encode (added tokens -> normalizer -> pre-tokenizer -> model), truncation, post-processing,
// batch padding and decode, following tokenizers' tokenizer/mod.rs and utils/{truncation,padding}.rs.
#include <algorithm>
#include <cstdint>
#include <exception>

#include "tessera/error.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace tessera::tokenizers {

// Note [Truncation early exit]: with truncation on, tokenizers stops tokenizing a sequence after the first
// pre-token that brings it to >= max_length tokens (added tokens never trigger the stop), and longest_first
// then compares those shortened lengths. Pair truncation depends on it, so we mirror it.
Encoding Tokenizer::Impl::encode_sequence(std::string_view text, int64_t type_id, std::size_t token_limit) const {
  Encoding e;
  auto emit = [&](int64_t id, std::string token, std::size_t begin, std::size_t end) {
    e.ids.push_back(id);
    e.tokens.push_back(std::move(token));
    e.offsets.push_back({begin, end});
  };
  std::vector<AddedVocabulary::Piece> raw_pieces, pieces;
  std::vector<Span> words;
  std::vector<ModelToken> model_tokens;
  NormalizedText original, normalized, prefixed;
  added.split(text, /*normalized=*/false, raw_pieces);
  bool stop = false;
  for (const auto& raw : raw_pieces) {
    if (stop) break;
    if (raw.id >= 0) {
      emit(raw.id, std::string(text.substr(raw.span.begin, raw.span.end - raw.span.begin)), raw.span.begin,
           raw.span.end);
      continue;
    }
    original.assign_original(text, raw.span.begin, raw.span.end);
    if (normalizer) normalizer->normalize(original, normalized);
    const NormalizedText& n = normalizer ? normalized : original;
    if (n.text.empty()) continue;
    pieces.clear();
    added.split(n.text, /*normalized=*/true, pieces);
    for (const auto& piece : pieces) {
      if (stop) break;
      std::string_view piece_text = std::string_view(n.text).substr(piece.span.begin, piece.span.end - piece.span.begin);
      if (piece.id >= 0) {
        emit(piece.id, std::string(piece_text), n.begin[piece.span.begin], n.end[piece.span.end - 1]);
        continue;
      }
      // Alignments of piece_text's bytes: into n, or into `prefixed` when a prefix space is added (it takes the
      // first char's alignment, as NormalizedString::prepend).
      const uint32_t* begins = n.begin.data() + piece.span.begin;
      const uint32_t* ends = n.end.data() + piece.span.begin;
      if (pre_tokenizer && pre_tokenizer->add_prefix_space() && piece_text.front() != ' ') {
        prefixed.clear();
        prefixed.text.reserve(piece_text.size() + 1);
        prefixed.push(' ', begins[0], ends[0]);
        prefixed.text.append(piece_text);
        prefixed.begin.insert(prefixed.begin.end(), begins, begins + piece_text.size());
        prefixed.end.insert(prefixed.end.end(), ends, ends + piece_text.size());
        piece_text = prefixed.text, begins = prefixed.begin.data(), ends = prefixed.end.data();
      }
      words.clear();
      if (pre_tokenizer) pre_tokenizer->pre_tokenize(piece_text, words);
      else words.push_back({0, static_cast<uint32_t>(piece_text.size())});
      for (const Span& word : words) {
        if (stop) break;
        model_tokens.clear();
        model->tokenize(piece_text.substr(word.begin, word.end - word.begin), model_tokens);
        const uint32_t base = word.begin;
        for (const ModelToken& t : model_tokens) {
          const std::string* token = model->id_to_token(t.id);
          emit(t.id, token ? *token : std::string(), begins[base + t.span.begin], ends[base + t.span.end - 1]);
        }
        stop = e.ids.size() >= token_limit;
      }
    }
  }
  e.type_ids.assign(e.ids.size(), type_id);
  e.attention_mask.assign(e.ids.size(), 1);
  e.special_tokens_mask.assign(e.ids.size(), 0);
  return e;
}

namespace {

void truncate(Encoding& e, std::size_t n) {
  if (e.size() <= n) return;
  e.ids.resize(n), e.type_ids.resize(n), e.attention_mask.resize(n), e.special_tokens_mask.resize(n);
  e.tokens.resize(n), e.offsets.resize(n);
}

}  // namespace

Encoding Tokenizer::Impl::post_process(Encoding a, std::optional<Encoding> b, const EncodeOptions& options) const {
  if (options.truncation) {
    // utils/truncation.rs, strategy longest_first, room made for the special tokens first.
    const std::size_t added_count =
        options.add_special_tokens && post_processor ? post_processor->added_tokens(b.has_value()) : 0;
    const std::size_t total_max = options.max_length.value_or(model_max_length);
    const std::size_t max_length = total_max > added_count ? total_max - added_count : 0;
    if (!b) {
      truncate(a, max_length);
    } else if (a.size() + b->size() > max_length) {
      std::size_t n1 = a.size(), n2 = b->size();
      const bool swap = n1 > n2;
      if (swap) std::swap(n1, n2);
      n2 = n1 > max_length ? n1 : std::max(n1, max_length - n1);
      if (n1 + n2 > max_length) {
        n1 = max_length / 2;
        n2 = n1 + max_length % 2;
      }
      if (swap) std::swap(n1, n2);
      truncate(a, n1);
      truncate(*b, n2);
    }
  }
  if (byte_level_offsets) {
    byte_level_offsets->process(a);
    if (b) byte_level_offsets->process(*b);
  }
  if (post_processor) return post_processor->process(std::move(a), b ? &*b : nullptr, options.add_special_tokens);
  if (b) {  // no post-processor: plain concatenation (type ids already 0 / 1)
    a.ids.insert(a.ids.end(), b->ids.begin(), b->ids.end());
    a.type_ids.insert(a.type_ids.end(), b->type_ids.begin(), b->type_ids.end());
    a.attention_mask.insert(a.attention_mask.end(), b->attention_mask.begin(), b->attention_mask.end());
    a.special_tokens_mask.insert(a.special_tokens_mask.end(), b->special_tokens_mask.begin(), b->special_tokens_mask.end());
    a.tokens.insert(a.tokens.end(), b->tokens.begin(), b->tokens.end());
    a.offsets.insert(a.offsets.end(), b->offsets.begin(), b->offsets.end());
  }
  return a;
}

void Tokenizer::Impl::pad(std::vector<Encoding>& batch, const EncodeOptions& options) const {
  if (options.padding == Padding::none) return;
  std::size_t target = 0;
  if (options.padding == Padding::max_length) target = options.max_length.value_or(model_max_length);
  for (const Encoding& e : batch) target = std::max(target, options.padding == Padding::longest ? e.size() : 0);
  for (Encoding& e : batch) {
    if (e.size() >= target) continue;
    const std::size_t n = target - e.size();
    auto grow = [&](auto& v, auto value) {
      if (padding_side == Side::right) v.insert(v.end(), n, value);
      else v.insert(v.begin(), n, value);
    };
    grow(e.ids, pad_id), grow(e.type_ids, pad_type_id), grow(e.attention_mask, int64_t{0});
    grow(e.special_tokens_mask, int64_t{1}), grow(e.tokens, pad_token), grow(e.offsets, Offsets{});
  }
}

void Tokenizer::Impl::set_pad_token(const std::string& token) {
  std::optional<int64_t> id = added.token_to_id(token);
  if (!id) {
    if (auto model_id = model->token_to_id(token)) id = *model_id;
  }
  if (!id) return;
  pad_token = token;
  pad_id = *id;
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::size_t Tokenizer::Impl::token_limit(const EncodeOptions& options) const {
  return options.truncation ? options.max_length.value_or(model_max_length) : SIZE_MAX;
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  check_utf8(text, "text");
  return impl_->post_process(impl_->encode_sequence(text, 0, impl_->token_limit(options)), std::nullopt, options);
}

Encoding Tokenizer::encode_pair(std::string_view text, std::string_view pair, const EncodeOptions& options) const {
  check_utf8(text, "text");
  check_utf8(pair, "text pair");
  const std::size_t limit = impl_->token_limit(options);
  return impl_->post_process(impl_->encode_sequence(text, 0, limit), impl_->encode_sequence(pair, 1, limit), options);
}

namespace {

template <typename Text>
std::vector<Encoding> encode_all(const Tokenizer& tokenizer, std::span<const Text> texts, const EncodeOptions& options) {
  std::vector<Encoding> out(texts.size());
  std::exception_ptr error;
  const auto n = static_cast<std::int64_t>(texts.size());
#pragma omp parallel for schedule(dynamic, 4) if (n > 1)
  for (std::int64_t i = 0; i < n; ++i) {
    try {
      out[static_cast<std::size_t>(i)] = tokenizer.encode(texts[static_cast<std::size_t>(i)], options);
    } catch (...) {
#pragma omp critical(tessera_tokenizer_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace

std::vector<Encoding> Tokenizer::encode_batch(std::span<const std::string> texts, const EncodeOptions& options) const {
  std::vector<Encoding> out = encode_all(*this, texts, options);
  impl_->pad(out, options);
  return out;
}

std::vector<Encoding> Tokenizer::encode_batch(std::span<const std::string_view> texts,
                                              const EncodeOptions& options) const {
  std::vector<Encoding> out = encode_all(*this, texts, options);
  impl_->pad(out, options);
  return out;
}

std::string Tokenizer::decode(std::span<const int64_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    const std::string* token = nullptr;
    if (const AddedToken* added = impl_->added.find(id)) token = &added->content;
    else token = impl_->model->id_to_token(id);
    if (token == nullptr || (skip_special_tokens && impl_->added.is_special(*token))) continue;
    tokens.push_back(*token);
  }
  if (impl_->decoder) return impl_->decoder->decode(std::move(tokens));
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
  return out;
}

std::optional<int64_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = impl_->added.token_to_id(token)) return id;
  if (auto id = impl_->model->token_to_id(token)) return *id;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(int64_t id) const {
  if (const AddedToken* added = impl_->added.find(id)) return added->content;
  if (const std::string* token = impl_->model->id_to_token(id)) return *token;
  return std::nullopt;
}

std::size_t Tokenizer::vocab_size() const {
  std::size_t n = impl_->model->vocab_size();
  for (const AddedToken& t : impl_->added.tokens()) n += !impl_->model->token_to_id(t.content).has_value();
  return n;
}

std::size_t Tokenizer::model_max_length() const { return impl_->model_max_length; }
int64_t Tokenizer::pad_token_id() const { return impl_->pad_id; }
const std::string& Tokenizer::pad_token() const { return impl_->pad_token; }
Side Tokenizer::padding_side() const { return impl_->padding_side; }

}  // namespace tessera::tokenizers
