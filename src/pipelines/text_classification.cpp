// The text-classification pipeline: tokenize (truncating to the model's limit), batch texts of similar
// length, run the classifier, and apply softmax/sigmoid as transformers' pipeline does.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/model.h"
#include "tessera/io.h"
#include "tessera/ops.h"
#include "tessera/pipeline.h"
#include "tessera/tokenizer.h"

namespace tessera {

namespace {
class TextClassification final : public TextClassificationPipeline {
 public:
  TextClassification(const PipelineOptions& o)
      : options_(o),
        device_(parse_device(o.device)),
        model_(models::load_sequence_classifier(o.model, {.dtype = o.dtype, .device = device_})),
        tokenizer_(tokenizers::Tokenizer::from_dir(o.model)) {
    TESSERA_CHECK(o.batch_size > 0, "pipeline: batch_size must be positive, got {}", o.batch_size);
    int64_t limit = std::min<int64_t>((int64_t)tokenizer_.model_max_length(), model_->max_positions());
    max_length_ = o.max_length.value_or(limit);
    TESSERA_CHECK(max_length_ >= 2 && max_length_ <= model_->max_positions(),
                  "pipeline: max_length {} is outside [2, {}] (the model's max_position_embeddings)", max_length_,
                  model_->max_positions());
    function_ = o.function_to_apply;
    if (function_ == "default") {
      nlohmann::json cfg = io::read_json_file(o.model / "config.json");
      std::string problem = cfg.value("problem_type", std::string());
      if (!cfg.contains("problem_type") || !cfg["problem_type"].is_string()) problem = "";
      function_ = (problem == "multi_label_classification" || model_->labels().size() == 1) ? "sigmoid" : "softmax";
    }
    TESSERA_CHECK(function_ == "softmax" || function_ == "sigmoid" || function_ == "none",
                  "pipeline: function_to_apply must be default, softmax, sigmoid or none, got '{}'", function_);
  }

  std::vector<Classification> operator()(std::span<const std::string> texts, const ProgressFn& progress) override {
    std::vector<Classification> results(texts.size());
    tokenizers::EncodeOptions eo{.add_special_tokens = true, .truncation = true, .max_length = (std::size_t)max_length_,
                                 .padding = tokenizers::Padding::none};
    std::vector<tokenizers::Encoding> enc = tokenizer_.encode_batch(texts, eo);
    std::vector<std::size_t> order(texts.size());
    std::iota(order.begin(), order.end(), 0);
    if (options_.sort_by_length)
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return enc[a].size() < enc[b].size(); });
    std::size_t done = 0;
    for (std::size_t start = 0; start < order.size(); start += (std::size_t)options_.batch_size) {
      std::size_t end = std::min(order.size(), start + (std::size_t)options_.batch_size);
      run_batch(std::span(order).subspan(start, end - start), enc, results);
      done = end;
      if (progress) progress(done, texts.size());
    }
    return results;
  }

  const std::vector<std::string>& labels() const override { return model_->labels(); }
  std::string describe() const override {
    models::RunInfo r = model_->run_info();
    return fmt::format("{} ({} labels) on {}, dtype {}, attention {}, max_length {}", model_->model_type(), labels().size(),
                       describe_device(device_), r.dtype, r.attention, max_length_);
  }

 private:
  void run_batch(std::span<const std::size_t> idx, const std::vector<tokenizers::Encoding>& enc,
                 std::vector<Classification>& results) const {
    std::size_t T = 0;
    for (std::size_t i : idx) T = std::max(T, enc[i].size());
    int64_t B = (int64_t)idx.size();
    std::vector<int64_t> ids(B * T, tokenizer_.pad_token_id()), mask(B * T, 0), types(B * T, 0);
    for (int64_t b = 0; b < B; ++b) {
      const tokenizers::Encoding& e = enc[idx[b]];
      std::size_t off = tokenizer_.padding_side() == tokenizers::Side::left ? T - e.size() : 0;
      for (std::size_t t = 0; t < e.size(); ++t) {
        ids[b * T + off + t] = e.ids[t];
        mask[b * T + off + t] = e.attention_mask.empty() ? 1 : e.attention_mask[t];
        types[b * T + off + t] = e.type_ids.empty() ? 0 : e.type_ids[t];
      }
    }
    models::Batch batch{Tensor::from_values({B, (int64_t)T}, ids), Tensor::from_values({B, (int64_t)T}, mask),
                        Tensor::from_values({B, (int64_t)T}, types)};
    std::vector<float> logits = model_->classify(batch).to_float_vector();
    int64_t L = (int64_t)labels().size();
    for (int64_t b = 0; b < B; ++b) {
      Classification& c = results[idx[b]];
      c.logits.assign(logits.begin() + b * L, logits.begin() + (b + 1) * L);
      std::vector<double> scores(L);
      if (function_ == "softmax") {
        double m = *std::max_element(c.logits.begin(), c.logits.end()), s = 0;
        for (int64_t l = 0; l < L; ++l) s += scores[l] = std::exp((double)c.logits[l] - m);
        for (double& v : scores) v /= s;
      } else {
        for (int64_t l = 0; l < L; ++l) scores[l] = function_ == "sigmoid" ? 1.0 / (1.0 + std::exp(-(double)c.logits[l])) : c.logits[l];
      }
      int64_t best = std::max_element(scores.begin(), scores.end()) - scores.begin();
      c.label = labels()[best];
      c.score = scores[best];
    }
  }

  PipelineOptions options_;
  Device device_;
  std::unique_ptr<models::SequenceClassifier> model_;  // loaded first: a missing config.json is the first error
  tokenizers::Tokenizer tokenizer_;
  int64_t max_length_ = 512;
  std::string function_;
};
}  // namespace

std::unique_ptr<TextClassificationPipeline> pipeline(std::string_view task, const PipelineOptions& options) {
  if (task == "sentiment-analysis" || task == "text-classification") return std::make_unique<TextClassification>(options);
  TESSERA_FAIL("pipeline: task '{}' is not supported yet (supported: sentiment-analysis, text-classification)", task);
}

}  // namespace tessera
