// Model-level interfaces shared by architectures and pipelines: the token batch a model consumes and the
// sequence-classifier interface that text-classification pipelines and benchmarks drive.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::models {

// A tokenized batch. input_ids/attention_mask/token_type_ids: (B, T) i64; attention_mask 1 = real token.
// token_type_ids may be undefined (zeros are used).
struct Batch {
  Tensor input_ids;
  Tensor attention_mask;
  Tensor token_type_ids;
};

// Which backend/kernels ran, for logs and benchmark reports.
struct RunInfo {
  std::string attention = "math";  // attention implementation used
  std::string dtype = "f32";
};

class SequenceClassifier {
 public:
  virtual ~SequenceClassifier() = default;
  virtual std::string model_type() const = 0;
  // logits: (B, num_labels) f32.
  virtual Tensor classify(const Batch& batch) const = 0;
  virtual const std::vector<std::string>& labels() const = 0;  // id2label, in id order
  virtual int64_t max_positions() const = 0;                   // longest sequence the model accepts
  virtual int64_t parameter_bytes() const = 0;
  virtual RunInfo run_info() const = 0;
};

struct LoadOptions {
  DType dtype = DType::f32;  // compute dtype (weights are cast on load when they differ)
  Device device{};           // where weights live and the forward pass runs
};

// Reads DIR/config.json's model_type (or architecture layout) and builds the classifier from the registry.
std::unique_ptr<SequenceClassifier> load_sequence_classifier(const std::filesystem::path& dir, const LoadOptions& options = {});

// Generation: what a causal LM keeps between steps (a recurrent state for SSMs, keys/values for attention).
class GenerationCache {
 public:
  virtual ~GenerationCache() = default;
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual std::string model_type() const = 0;
  // Runs the prompt input_ids (B, T) i64; returns the cache after it and sets last_logits (B, V) f32.
  virtual std::unique_ptr<GenerationCache> prefill(const Tensor& input_ids, Tensor* last_logits) const = 0;
  // Feeds one token per sequence, ids (B) i64, advancing the cache; returns the next logits (B, V) f32.
  virtual Tensor decode(const Tensor& ids, GenerationCache& cache) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual std::vector<int64_t> eos_token_ids() const = 0;  // config.json's eos_token_id (int or list)
  virtual int64_t parameter_bytes() const = 0;
  virtual RunInfo run_info() const = 0;
};

// Reads DIR/config.json and builds the causal LM from the registry.
std::unique_ptr<CausalLM> load_causal_lm(const std::filesystem::path& dir, const LoadOptions& options = {});

}  // namespace tessera::models
