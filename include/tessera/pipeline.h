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

}  // namespace tessera
