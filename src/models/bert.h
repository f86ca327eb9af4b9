// BERT (transformers' BertModel / BertForSequenceClassification): absolute positions, token types,
// post-LN encoder layers, tanh pooler, classifier head. Config fields are config.json's keys.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "attention/sdpa.h"
#include "models/layers/modules.h"
#include "models/model.h"

namespace tessera::models {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double initializer_range = 0.02;
  int64_t pad_token_id = 0;
  std::string position_embedding_type = "absolute";
  std::string problem_type;              // "", single_label_classification, multi_label_classification, regression
  std::vector<std::string> id2label;     // index = label id; default LABEL_0, LABEL_1
  std::string source = "config.json";    // where it was read from, for error messages

  static BertConfig from_json(const nlohmann::json& j, std::string source = "config.json");
  static BertConfig base();  // bert-base-uncased shapes
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t num_labels() const { return (int64_t)id2label.size(); }
};

// Per-layer outputs kept for layer-by-layer comparisons with transformers.
struct BertOutputs {
  std::vector<Tensor> hidden_states;  // embeddings output, then each layer's output: (B, T, C)
  Tensor pooled;                      // (B, C)
};

// The padding mask as the layers take it (Note [Padding as lengths] in bert.cpp); both undefined: no padding.
struct BertAttentionMask {
  Tensor key_lengths;  // (B) i64 on the model's device: each sequence's real tokens are a prefix (right padding)
  Tensor additive;     // (B, 1, 1, T): 0 for tokens, the dtype's lowest for padding (any other pattern)
};

class BertLayer {
 public:
  BertLayer(const Weights& w, const BertConfig& c);
  Tensor forward(const Tensor& x, const BertAttentionMask& mask) const;  // x: (B, T, C)
  attention::Backend attention_backend() const { return attention_ran_; }  // of the last forward

 private:
  Tensor self_attention(const Tensor& x, const BertAttentionMask& mask) const;
  mutable attention::Backend attention_ran_ = attention::Backend::math;
  int64_t heads_, head_dim_;
  std::string act_;
  Linear qkv_;  // query, key, value fused into one (3C, C) GEMM, 1/sqrt(D) folded into the query rows
  Linear attention_output_, intermediate_, output_;
  LayerNorm attention_norm_, output_norm_;
};

class BertModel {
 public:
  BertModel(const Weights& w, const BertConfig& c, bool with_pooler = true);
  // input_ids/token_type_ids/attention_mask: (B, T) i64 (token types and mask may be undefined).
  BertOutputs forward(const Batch& batch, bool keep_hidden_states = false) const;
  const BertConfig& config() const { return config_; }
  attention::Backend attention_backend() const {
    return layers_.empty() ? attention::Backend::math : layers_.front().attention_backend();
  }
  Device device() const { return word_embeddings_.weight.device(); }

 private:
  BertConfig config_;
  Embedding word_embeddings_, position_embeddings_, token_type_embeddings_;
  LayerNorm embeddings_norm_;
  std::vector<BertLayer> layers_;
  Linear pooler_;
  bool with_pooler_;
};

class BertForSequenceClassification final : public SequenceClassifier {
 public:
  BertForSequenceClassification(const Weights& w, const BertConfig& c);
  static std::unique_ptr<BertForSequenceClassification> from_dir(const std::filesystem::path& dir, const LoadOptions& o = {});
  static std::unique_ptr<BertForSequenceClassification> from_config(const BertConfig& c, uint64_t seed = 0,
                                                                    DType dtype = DType::f32, Device device = {});

  Tensor classify(const Batch& batch) const override;  // (B, num_labels) f32
  BertOutputs forward_all(const Batch& batch) const { return bert_.forward(batch, /*keep_hidden_states=*/true); }
  std::string model_type() const override { return "bert"; }
  const std::vector<std::string>& labels() const override { return config_.id2label; }
  int64_t max_positions() const override { return config_.max_position_embeddings; }
  int64_t parameter_bytes() const override { return parameter_bytes_; }
  RunInfo run_info() const override {
    return {std::string(attention::backend_name(bert_.attention_backend())), std::string(dtype_name(dtype_))};
  }
  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  BertModel bert_;
  Linear classifier_;
  int64_t parameter_bytes_ = 0;
  DType dtype_ = DType::f32;
};

}  // namespace tessera::models
