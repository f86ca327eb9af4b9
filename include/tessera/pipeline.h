// Pipelines: a task name + a model directory -> ready-to-call objects, like transformers.pipeline().
// Text classification ("sentiment-analysis", "text-classification") returns label, score and logits per text.
#pragma once
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/dtype.h"

namespace tessera {

struct PipelineOptions {
  std::filesystem::path model;            // a Hugging Face model directory
  int64_t batch_size = 8;
  std::optional<int64_t> max_length;      // truncation length; default: min(tokenizer, model) maximum (512 for BERT)
  DType dtype = DType::f32;               // compute dtype
  std::string device = "cpu";             // "cpu", "cuda" or "cuda:N": where weights live and the model runs
  std::string function_to_apply = "default";  // default | softmax | sigmoid | none (as transformers)
  bool sort_by_length = true;             // batch texts of similar length together (results keep input order)
};

struct Classification {
  std::string label;
  double score = 0;
  std::vector<float> logits;
};

using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

class TextClassificationPipeline {
 public:
  virtual ~TextClassificationPipeline() = default;
  virtual std::vector<Classification> operator()(std::span<const std::string> texts, const ProgressFn& progress = {}) = 0;
  Classification operator()(const std::string& text) { return (*this)(std::span<const std::string>(&text, 1))[0]; }
  virtual const std::vector<std::string>& labels() const = 0;
  virtual std::string describe() const = 0;  // model type, dtype, attention backend: for logs
};

// task: "sentiment-analysis" or "text-classification".
std::unique_ptr<TextClassificationPipeline> pipeline(std::string_view task, const PipelineOptions& options);

// Text generation ("text-generation"): greedy decoding with the model's cache (a recurrent state for Mamba:
// the prompt is scanned once, then each new token costs O(1) in the prompt length).
struct GenerationOptions {
  int64_t max_new_tokens = 20;
  bool stop_at_eos = true;  // stop after config.json's eos_token_id (included in the output, as transformers)
};

struct Generation {
  std::vector<int64_t> prompt_ids;
  std::vector<int64_t> generated_ids;  // the new tokens only
  std::string text;                    // decoded new tokens ("" without a tokenizer)
  bool stopped_at_eos = false;
  double prefill_seconds = 0, decode_seconds = 0;
};

class TextGenerationPipeline {
 public:
  virtual ~TextGenerationPipeline() = default;
  // Tokenizes the prompt with the directory's tokenizer (error when it has none that loads).
  virtual Generation operator()(const std::string& prompt, const GenerationOptions& options = {}) = 0;
  // Token ids in, no tokenizer needed (the text is decoded only when a tokenizer loads).
  virtual Generation generate_ids(std::span<const int64_t> prompt_ids, const GenerationOptions& options = {}) = 0;
  virtual bool has_tokenizer() const = 0;
  virtual std::string describe() const = 0;
};

// options.model, options.dtype, options.device are used.
std::unique_ptr<TextGenerationPipeline> text_generation_pipeline(const PipelineOptions& options);

}  // namespace tessera
