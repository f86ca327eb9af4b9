// BERT as transformers computes it (modeling_bert.py): embeddings -> N post-LN layers -> pooler -> classifier.
#include "models/bert.h"
#include "models/layers/labels.h"

#include <cmath>
#include <limits>
#include <numeric>

#include "tessera/io.h"

namespace tessera::models {

BertConfig BertConfig::from_json(const nlohmann::json& j, std::string source) {
  io::JsonFields f(j, source);
  BertConfig c;
  c.source = source;
  c.vocab_size = f.get<int64_t>("vocab_size", c.vocab_size);
  c.hidden_size = f.get<int64_t>("hidden_size", c.hidden_size);
  c.num_hidden_layers = f.get<int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = f.get<int64_t>("num_attention_heads", c.num_attention_heads);
  c.intermediate_size = f.get<int64_t>("intermediate_size", c.intermediate_size);
  c.hidden_act = f.get<std::string>("hidden_act", c.hidden_act);
  c.max_position_embeddings = f.get<int64_t>("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = f.get<int64_t>("type_vocab_size", c.type_vocab_size);
  c.layer_norm_eps = f.get<double>("layer_norm_eps", c.layer_norm_eps);
  c.initializer_range = f.get<double>("initializer_range", c.initializer_range);
  c.pad_token_id = f.get<int64_t>("pad_token_id", c.pad_token_id);
  c.position_embedding_type = f.get<std::string>("position_embedding_type", c.position_embedding_type);
  c.problem_type = f.get<std::string>("problem_type", "");

  auto positive = [&](int64_t v, const char* key) {
    TESSERA_CHECK(v > 0, "{}: field '{}' must be positive, got {}", source, key, v);
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.max_position_embeddings, "max_position_embeddings");
  TESSERA_CHECK(c.type_vocab_size >= 1, "{}: field 'type_vocab_size' must be >= 1, got {}", source, c.type_vocab_size);
  TESSERA_CHECK(c.hidden_size % c.num_attention_heads == 0,
                "{}: hidden_size ({}) is not a multiple of num_attention_heads ({})", source, c.hidden_size,
                c.num_attention_heads);
  TESSERA_CHECK(c.position_embedding_type == "absolute",
                "{}: position_embedding_type '{}' is not supported (only 'absolute')", source, c.position_embedding_type);
  TESSERA_CHECK(ops::is_known_activation(c.hidden_act), "{}: hidden_act '{}' is not supported", source, c.hidden_act);

  c.id2label = read_id2label(j, f, source, /*default_num_labels=*/2);  // {"0": "NEGATIVE", ...} or LABEL_i
  return c;
}

BertConfig BertConfig::base() {
  BertConfig c;
  c.id2label = {"LABEL_0", "LABEL_1"};
  return c;
}

namespace {
// Note [Fused QKV]: the query, key and value projections (HF names attention.self.{query,key,value}) become one
// (3C, C) linear, so a layer runs one GEMM with N = 3C instead of three; the attention scale 1/sqrt(D) is folded
// into the query rows so the (B, H, T, T) scores need no separate scaling pass. Same math up to rounding.
Linear fused_qkv(const Weights& w, const BertConfig& c) {
  int64_t C = c.hidden_size;
  Linear q(w.scope("attention.self.query."), C, C), k(w.scope("attention.self.key."), C, C),
      v(w.scope("attention.self.value."), C, C);
  double scale = 1.0 / std::sqrt((double)c.head_dim());
  Linear qkv;
  qkv.weight = ops::concat(std::vector<Tensor>{ops::mul_scalar(q.weight, scale), k.weight, v.weight}, 0);  // (3C, C)
  qkv.bias = ops::concat(std::vector<Tensor>{ops::mul_scalar(q.bias, scale), k.bias, v.bias}, 0);          // (3C)
  return qkv;
}
}  // namespace

BertLayer::BertLayer(const Weights& w, const BertConfig& c)
    : heads_(c.num_attention_heads),
      head_dim_(c.head_dim()),
      act_(c.hidden_act),
      qkv_(fused_qkv(w, c)),
      attention_output_(w.scope("attention.output.dense."), c.hidden_size, c.hidden_size),
      intermediate_(w.scope("intermediate.dense."), c.hidden_size, c.intermediate_size),
      output_(w.scope("output.dense."), c.intermediate_size, c.hidden_size),
      attention_norm_(w.scope("attention.output.LayerNorm."), c.hidden_size, c.layer_norm_eps),
      output_norm_(w.scope("output.LayerNorm."), c.hidden_size, c.layer_norm_eps) {}

Tensor BertLayer::self_attention(const Tensor& x, const BertAttentionMask& mask) const {
  int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  Tensor qkv = qkv_(x);                                                             // (B, T, 3C)
  auto heads = [&](int64_t i) {                                                     // views, no copies
    return ops::permute(ops::reshape(ops::slice(qkv, -1, i * C, (i + 1) * C), {B, T, heads_, head_dim_}), {0, 2, 1, 3});
  };
  Tensor q = heads(0), k = heads(1), v = heads(2);                                  // (B, H, T, D), q pre-scaled
  Tensor context = attention::sdpa(q, k, v, {.mask = mask.additive, .key_lengths = mask.key_lengths, .scale = 1.0,
                                             .output_bthd = true, .ran = &attention_ran_});  // (B, T, H, D)
  return ops::reshape(context, {B, T, C});                                          // (B, T, C), a view
}

Tensor BertLayer::forward(const Tensor& x, const BertAttentionMask& mask) const {
  Tensor a = attention_norm_(attention_output_(self_attention(x, mask)), x);  // post-LN: norm(out + x), one op
  Tensor h = ops::activation(intermediate_(a), act_);                        // (B, T, 4C)
  return output_norm_(output_(h), a);                                        // (B, T, C)
}

BertModel::BertModel(const Weights& w, const BertConfig& c, bool with_pooler)
    : config_(c),
      word_embeddings_(w.scope("embeddings.word_embeddings."), c.vocab_size, c.hidden_size),
      position_embeddings_(w.scope("embeddings.position_embeddings."), c.max_position_embeddings, c.hidden_size),
      token_type_embeddings_(w.scope("embeddings.token_type_embeddings."), c.type_vocab_size, c.hidden_size),
      embeddings_norm_(w.scope("embeddings.LayerNorm."), c.hidden_size, c.layer_norm_eps),
      with_pooler_(with_pooler) {
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers_.emplace_back(w.scope(fmt::format("encoder.layer.{}.", i)), c);
  if (with_pooler) pooler_ = Linear(w.scope("pooler.dense."), c.hidden_size, c.hidden_size);
}

BertOutputs BertModel::forward(const Batch& batch, bool keep_hidden_states) const {
  TESSERA_CHECK(batch.input_ids.defined() && batch.input_ids.dim() == 2, "bert: input_ids must be (batch, tokens), got {}",
                batch.input_ids.defined() ? shape_str(batch.input_ids.shape()) : std::string("nothing"));
  const Device dev = device();
  const Tensor ids = batch.input_ids.to(dev);  // tokenizers produce host tensors
  int64_t B = ids.size(0), T = ids.size(1);
  TESSERA_CHECK(B > 0 && T > 0, "bert: empty batch {} (needs at least one sequence of one token)", shape_str(ids.shape()));
  TESSERA_CHECK(T <= config_.max_position_embeddings,
                "bert: sequence of {} tokens exceeds max_position_embeddings ({}); truncate the input (--max-length)", T,
                config_.max_position_embeddings);
  std::vector<int64_t> pos(T);
  std::iota(pos.begin(), pos.end(), 0);
  Tensor position_ids = Tensor::from_values({1, T}, pos).to(dev);
  Tensor token_types = batch.token_type_ids.defined() ? batch.token_type_ids.to(dev) : Tensor::zeros({B, T}, DType::i64, dev);
  TESSERA_CHECK(token_types.shape() == ids.shape(), "bert: token_type_ids {} must match input_ids {}",
                shape_str(token_types.shape()), shape_str(ids.shape()));

  Tensor x = ops::add(word_embeddings_(ids), token_type_embeddings_(token_types));  // (B, T, C)
  x = ops::add(x, position_embeddings_(position_ids));                             // + (1, T, C)
  x = embeddings_norm_(x);

  // Note [Padding as lengths]: tokenizers pad on the right, so each attention_mask row is a prefix of ones; the
  // padding then travels as per-sequence key lengths (sdpa's fast path: no mask tensor, padded keys never read).
  // Any other pattern (or an all-padding row) keeps transformers' additive mask: 0 for tokens, the dtype's lowest
  // for padding. Both give the same result: a padded key's weight is exactly 0 either way.
  BertAttentionMask mask;
  if (batch.attention_mask.defined()) {
    TESSERA_CHECK(batch.attention_mask.shape() == ids.shape(), "bert: attention_mask {} must match input_ids {}",
                  shape_str(batch.attention_mask.shape()), shape_str(ids.shape()));
    std::vector<int64_t> m = batch.attention_mask.to_int_vector();
    std::vector<int64_t> lengths(B);
    bool any_padding = false, prefixes = true;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t* row = m.data() + b * T;
      int64_t n = std::find(row, row + T, int64_t{0}) - row;
      lengths[b] = n;
      any_padding = any_padding || n < T;
      prefixes = prefixes && n > 0 && std::all_of(row + n, row + T, [](int64_t v) { return v == 0; });
    }
    if (any_padding && prefixes) {
      mask.key_lengths = Tensor::from_values({B}, lengths).to(dev);
    } else if (any_padding) {
      Tensor keep = ops::cast(ops::reshape(batch.attention_mask.to(dev), {B, 1, 1, T}), x.dtype());
      double lowest = x.dtype() == DType::f16 ? -65504.0 : -std::numeric_limits<float>::max();
      mask.additive = ops::mul_scalar(ops::add_scalar(ops::neg(keep), 1.0), lowest);
    }
  }

  BertOutputs out;
  if (keep_hidden_states) out.hidden_states.push_back(x);
  for (const BertLayer& layer : layers_) {
    x = layer.forward(x, mask);
    if (keep_hidden_states) out.hidden_states.push_back(x);
  }
  if (!keep_hidden_states) out.hidden_states.push_back(x);
  if (with_pooler_) {
    Tensor cls = ops::squeeze(ops::slice(x, 1, 0, 1), 1);  // (B, C): the [CLS] position
    out.pooled = ops::tanh(pooler_(cls));
  }
  return out;
}

namespace {
// Checkpoints saved from BertForSequenceClassification prefix the encoder with "bert."; a bare BertModel
// checkpoint has no prefix.
Weights bert_scope(const Weights& w) {
  if (w.is_random() || w.contains("bert.embeddings.word_embeddings.weight")) return w.scope("bert.");
  return w;
}
}  // namespace

BertForSequenceClassification::BertForSequenceClassification(const Weights& w, const BertConfig& c)
    : config_(c), bert_(bert_scope(w), c), classifier_(w.scope("classifier."), c.hidden_size, c.num_labels()) {
  parameter_bytes_ = w.bytes_loaded();
  dtype_ = classifier_.weight.dtype();
}

std::unique_ptr<BertForSequenceClassification> BertForSequenceClassification::from_dir(const std::filesystem::path& dir,
                                                                                         const LoadOptions& o) {
  std::filesystem::path cfg = dir / "config.json";
  BertConfig c = BertConfig::from_json(io::read_json_file(cfg), cfg.string());
  return std::make_unique<BertForSequenceClassification>(Weights::from_store(io::open_weights(dir), o.dtype, o.device), c);
}

std::unique_ptr<BertForSequenceClassification> BertForSequenceClassification::from_config(const BertConfig& c, uint64_t seed,
                                                                                           DType dtype, Device device) {
  return std::make_unique<BertForSequenceClassification>(Weights::random(seed, c.initializer_range, dtype, device), c);
}

Tensor BertForSequenceClassification::classify(const Batch& batch) const {
  BertOutputs o = bert_.forward(batch);
  return ops::cast(classifier_(o.pooled), DType::f32);  // (B, num_labels)
}

}  // namespace tessera::models
