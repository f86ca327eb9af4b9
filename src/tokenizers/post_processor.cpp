// TemplateProcessing (processors/template.rs): lays out [CLS] $A [SEP] ($B [SEP]) with type ids and the
// special tokens mask; BertProcessing is expressed as the equivalent template.
#include "tessera/error.h"
#include "tokenizers/components.h"

namespace tessera::tokenizers {

TemplateProcessing::TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair,
                                       std::unordered_map<std::string, SpecialToken> special_tokens,
                                       std::string_view source)
    : single_(std::move(single)), pair_(std::move(pair)), special_tokens_(std::move(special_tokens)) {
  for (const auto* pieces : {&single_, &pair_}) {
    for (const Piece& piece : *pieces) {
      if (piece.is_sequence) continue;
      auto it = special_tokens_.find(piece.special);
      TESSERA_CHECK(it != special_tokens_.end(),
                    "{}: post_processor TemplateProcessing uses special token '{}' missing from special_tokens",
                    source, piece.special);
      TESSERA_CHECK(it->second.ids.size() == it->second.tokens.size(),
                    "{}: post_processor special token '{}' has {} ids but {} tokens", source, piece.special,
                    it->second.ids.size(), it->second.tokens.size());
    }
  }
  for (const Piece& piece : single_) {
    TESSERA_CHECK(!piece.is_sequence || piece.sequence == 0,
                  "{}: post_processor TemplateProcessing single template may only use $A", source);
  }
}

TemplateProcessing TemplateProcessing::bert(std::string cls, int64_t cls_id, std::string sep, int64_t sep_id) {
  std::unordered_map<std::string, SpecialToken> specials{{cls, {{cls_id}, {cls}}}, {sep, {{sep_id}, {sep}}}};
  std::vector<Piece> single{{false, 0, cls, 0}, {true, 0, "", 0}, {false, 0, sep, 0}};
  std::vector<Piece> pair = single;
  pair.push_back({true, 1, "", 1});
  pair.push_back({false, 0, sep, 1});
  return TemplateProcessing(std::move(single), std::move(pair), std::move(specials), "BertProcessing");
}

std::size_t TemplateProcessing::added_tokens(bool is_pair) const {
  std::size_t n = 0;
  for (const Piece& piece : is_pair ? pair_ : single_) {
    if (!piece.is_sequence) n += special_tokens_.at(piece.special).ids.size();
  }
  return n;
}

Encoding TemplateProcessing::process(Encoding a, Encoding* b, bool add_special_tokens) const {
  Encoding out;
  auto append = [&out](const Encoding& e, int64_t type_id) {
    out.ids.insert(out.ids.end(), e.ids.begin(), e.ids.end());
    out.type_ids.insert(out.type_ids.end(), e.size(), type_id);
    out.attention_mask.insert(out.attention_mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    out.special_tokens_mask.insert(out.special_tokens_mask.end(), e.special_tokens_mask.begin(),
                                   e.special_tokens_mask.end());
    out.tokens.insert(out.tokens.end(), e.tokens.begin(), e.tokens.end());
    out.offsets.insert(out.offsets.end(), e.offsets.begin(), e.offsets.end());
  };
  for (const Piece& piece : b != nullptr ? pair_ : single_) {
    if (piece.is_sequence) {
      if (piece.sequence == 0) append(a, piece.type_id);
      else if (b != nullptr) append(*b, piece.type_id);
      continue;
    }
    if (!add_special_tokens) continue;
    const SpecialToken& special = special_tokens_.at(piece.special);
    for (std::size_t i = 0; i < special.ids.size(); ++i) {
      out.ids.push_back(special.ids[i]);
      out.type_ids.push_back(piece.type_id);
      out.attention_mask.push_back(1);
      out.special_tokens_mask.push_back(1);
      out.tokens.push_back(special.tokens[i]);
      out.offsets.push_back({0, 0});
    }
  }
  return out;
}

}  // namespace tessera::tokenizers
