// Mamba (transformers' MambaModel / MambaForCausalLM, and mamba_ssm's MambaLMHeadModel layout used by
// classifiers such as trinhxuankhai/mamba_text_classification): RMSNorm → selective-SSM mixer → residual.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "models/layers/modules.h"
#include "models/model.h"

namespace tessera::models {

// Which checkpoint layout a directory uses (docs/mamba.md): transformers' ("model_type": "mamba";
// backbone.embeddings) or mamba_ssm's ("d_model", "n_layer", "ssm_cfg"; backbone.embedding, padded vocab).
enum class MambaLayout { hf, mamba_ssm };

struct MambaConfig {
  int64_t vocab_size = 50280;
  int64_t hidden_size = 768;
  int64_t state_size = 16;
  int64_t num_hidden_layers = 32;
  double layer_norm_epsilon = 1e-5;
  int64_t expand = 2;
  int64_t conv_kernel = 4;
  bool use_bias = false;
  bool use_conv_bias = true;
  std::string hidden_act = "silu";
  double initializer_range = 0.1;
  bool residual_in_fp32 = true;
  int64_t time_step_rank = 48;  // "auto" resolved to ceil(hidden_size / 16)
  bool tie_word_embeddings = true;
  bool rms_norm = true;  // mamba_ssm's rms_norm=false: LayerNorm with bias
  std::optional<int64_t> pad_token_id = 0, bos_token_id = 0;
  std::vector<int64_t> eos_token_ids = {0};
  std::vector<std::string> id2label;  // classifiers: from config, else LABEL_i for num_labels (if given)
  MambaLayout layout = MambaLayout::hf;
  std::string source = "config.json";

  // Either layout, detected from the keys (is_mamba_ssm_config).
  static MambaConfig from_json(const nlohmann::json& j, std::string source = "config.json");
  static bool is_mamba_ssm_config(const nlohmann::json& j);  // has d_model and n_layer
  static MambaConfig mamba_130m();                           // state-spaces/mamba-130m-hf shapes
  int64_t intermediate_size() const { return expand * hidden_size; }
};

// The recurrent cache of one layer: the last K conv inputs and the SSM state.
struct MambaLayerCache {
  Tensor conv_state;  // (B, I, K) in the model dtype
  Tensor ssm_state;   // (B, I, N) f32
};
struct MambaCache final : GenerationCache {
  std::vector<MambaLayerCache> layers;
  int64_t tokens = 0;  // tokens seen so far
};

class MambaMixer {
 public:
  MambaMixer(const Weights& w, const MambaConfig& c);
  // x: (B, T, C) -> (B, T, C). With a cache, also leaves the conv inputs and the last state in it.
  Tensor forward(const Tensor& x, MambaLayerCache* cache = nullptr) const;
  Tensor step(const Tensor& x, MambaLayerCache& cache) const;  // x: (B, 1, C), one token, O(1) in the past

 private:
  int64_t intermediate_, state_, rank_, kernel_;
  std::string act_;  // the conv's activation (hidden_act)
  Linear in_proj_, x_proj_, dt_proj_, out_proj_;
  Tensor conv_weight_, conv_bias_;  // (I, K), (I) or undefined
  Tensor A_, D_, dt_bias_;          // -exp(A_log) (I, N), D (I), dt_proj.bias (I): f32 as transformers
};

class MambaBlock {
 public:
  MambaBlock(const Weights& w, const MambaConfig& c);
  // h: (B, T, C) residual stream (f32 when residual_in_fp32); returns h + mixer(norm(h)).
  Tensor forward(const Tensor& h, MambaLayerCache* cache, bool step) const;

 private:
  Tensor norm(const Tensor& x) const;
  Tensor norm_weight_, norm_bias_;
  double eps_;
  bool rms_norm_, residual_in_fp32_;
  MambaMixer mixer_;
};

struct MambaOutputs {
  std::vector<Tensor> hidden_states;  // each layer's output, then norm_f's (transformers' output_hidden_states)
  Tensor last_hidden_state;           // (B, T, C) after norm_f
};

class MambaModel {
 public:
  MambaModel(const Weights& w, const MambaConfig& c);  // w scoped to the backbone ("backbone.")
  // input_ids: (B, T) i64. cache: filled when given (prefill); step: input is one token after the cache.
  MambaOutputs forward(const Tensor& input_ids, MambaCache* cache = nullptr, bool keep_hidden_states = false,
                       bool step = false) const;
  const MambaConfig& config() const { return config_; }
  const Tensor& embeddings() const { return embeddings_.weight; }
  DType dtype() const { return embeddings_.weight.dtype(); }
  Device device() const { return embeddings_.weight.device(); }

 private:
  MambaConfig config_;
  Embedding embeddings_;
  std::vector<MambaBlock> layers_;
  Tensor norm_f_weight_, norm_f_bias_;
};

class MambaForCausalLM final : public CausalLM {
 public:
  MambaForCausalLM(const Weights& w, const MambaConfig& c);
  static std::unique_ptr<MambaForCausalLM> from_dir(const std::filesystem::path& dir, const LoadOptions& o = {});
  static std::unique_ptr<MambaForCausalLM> from_config(const MambaConfig& c, uint64_t seed = 0, DType dtype = DType::f32,
                                                       Device device = {});

  // logits: (B, T, V) f32, and the hidden states when asked.
  Tensor forward(const Tensor& input_ids, MambaOutputs* outputs = nullptr) const;
  std::unique_ptr<GenerationCache> prefill(const Tensor& input_ids, Tensor* last_logits) const override;
  Tensor decode(const Tensor& ids, GenerationCache& cache) const override;
  std::string model_type() const override { return "mamba"; }
  int64_t vocab_size() const override { return backbone_.config().vocab_size; }
  std::vector<int64_t> eos_token_ids() const override { return backbone_.config().eos_token_ids; }
  int64_t parameter_bytes() const override { return parameter_bytes_; }
  RunInfo run_info() const override { return {"selective_scan", std::string(dtype_name(backbone_.dtype()))}; }
  const MambaConfig& config() const { return backbone_.config(); }

 private:
  Tensor logits(const Tensor& hidden) const;  // (..., C) -> (..., V) f32
  MambaModel backbone_;
  Tensor lm_head_;  // (V, C): the embeddings when tied
  int64_t parameter_bytes_ = 0;
};

// mean: the checkpoint's own pooling, hidden_states.mean(dim=1) over every position of the input as given.
// masked_mean: the mean over attention_mask == 1 positions only. Mamba is causal, so on a right-padded batch
// this equals running each sequence alone, unpadded. The default for classify() (docs/mamba.md).
enum class MambaPooling { mean, masked_mean };

class MambaForSequenceClassification final : public SequenceClassifier {
 public:
  MambaForSequenceClassification(const Weights& w, const MambaConfig& c, MambaPooling pooling = MambaPooling::masked_mean);
  static std::unique_ptr<MambaForSequenceClassification> from_dir(const std::filesystem::path& dir, const LoadOptions& o = {},
                                                                   MambaPooling pooling = MambaPooling::masked_mean);

  // (B, num_labels) f32. Left-padded rows are realigned to the right first (padding never enters a state).
  Tensor classify(const Batch& batch) const override;
  MambaOutputs forward_all(const Tensor& input_ids) const { return backbone_.forward(input_ids, nullptr, true); }
  std::string model_type() const override { return "mamba"; }
  const std::vector<std::string>& labels() const override { return config_.id2label; }
  int64_t max_positions() const override { return int64_t{1} << 40; }  // recurrent: no position limit
  int64_t parameter_bytes() const override { return parameter_bytes_; }
  RunInfo run_info() const override { return {"selective_scan", std::string(dtype_name(backbone_.dtype()))}; }
  const MambaConfig& config() const { return config_; }

 private:
  MambaConfig config_;
  MambaModel backbone_;
  Linear head_;
  MambaPooling pooling_;
  int64_t parameter_bytes_ = 0;
};

}  // namespace tessera::models
