// The text-generation pipeline: tokenize the prompt, prefill the model's cache, then greedy decoding one token
// at a time (transformers' generate(do_sample=False)), stopping at eos_token_id or max_new_tokens.
#include <algorithm>
#include <chrono>
#include <optional>

#include "models/model.h"
#include "tessera/pipeline.h"
#include "tessera/tokenizer.h"

namespace tessera {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Greedy choice per row of logits (B, V): the first index of the maximum, as torch.argmax.
std::vector<int64_t> argmax_rows(const Tensor& logits) {
  std::vector<float> v = logits.to_float_vector();
  int64_t B = logits.size(0), V = logits.size(1);
  std::vector<int64_t> out(B);
  for (int64_t b = 0; b < B; ++b) out[b] = std::max_element(v.begin() + b * V, v.begin() + (b + 1) * V) - (v.begin() + b * V);
  return out;
}

class TextGeneration final : public TextGenerationPipeline {
 public:
  explicit TextGeneration(const PipelineOptions& o) : model_(models::load_causal_lm(o.model, {.dtype = o.dtype, .device = parse_device(o.device)})) {
    // The tokenizer is optional: generate_ids works without one (a directory may hold only config + weights).
    try {
      tokenizer_.emplace(tokenizers::Tokenizer::from_dir(o.model));
    } catch (const Error& e) {
      tokenizer_error_ = e.what();
    }
    if (tokenizer_) {
      auto n = (int64_t)tokenizer_->vocab_size();
      TESSERA_CHECK(n <= model_->vocab_size(),
                    "{}: the tokenizer has {} tokens but config.json's vocab_size is {}: ids past {} have no embedding; "
                    "the tokenizer does not belong to this model",
                    o.model.string(), n, model_->vocab_size(), model_->vocab_size() - 1);
    }
  }

  Generation operator()(const std::string& prompt, const GenerationOptions& o) override {
    TESSERA_CHECK(tokenizer_.has_value(), "text-generation: no usable tokenizer ({}); pass token ids instead (--ids)", tokenizer_error_);
    tokenizers::Encoding e = tokenizer_->encode(prompt, {.add_special_tokens = true});
    return generate_ids(e.ids, o);
  }

  Generation generate_ids(std::span<const int64_t> prompt_ids, const GenerationOptions& o) override {
    TESSERA_CHECK(!prompt_ids.empty(), "text-generation: the prompt is empty (needs at least one token)");
    TESSERA_CHECK(o.max_new_tokens >= 0, "text-generation: max_new_tokens must be >= 0, got {}", o.max_new_tokens);
    Generation g;
    g.prompt_ids.assign(prompt_ids.begin(), prompt_ids.end());
    std::vector<int64_t> eos = model_->eos_token_ids();
    auto t0 = std::chrono::steady_clock::now();
    Tensor logits;
    std::unique_ptr<models::GenerationCache> cache;
    if (o.max_new_tokens > 0)
      cache = model_->prefill(Tensor::from_values({1, (int64_t)prompt_ids.size()}, g.prompt_ids), &logits);  // (1, V)
    g.prefill_seconds = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < o.max_new_tokens; ++i) {
      int64_t next = argmax_rows(logits)[0];
      g.generated_ids.push_back(next);
      if (o.stop_at_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) {
        g.stopped_at_eos = true;
        break;
      }
      if (i + 1 < o.max_new_tokens) logits = model_->decode(Tensor::from_values({1}, std::vector<int64_t>{next}), *cache);
    }
    g.decode_seconds = seconds_since(t0);
    if (tokenizer_) g.text = tokenizer_->decode(g.generated_ids, /*skip_special_tokens=*/true);
    return g;
  }

  bool has_tokenizer() const override { return tokenizer_.has_value(); }
  std::string describe() const override {
    models::RunInfo r = model_->run_info();
    return fmt::format("{} (vocab {}), dtype {}, {}, tokenizer: {}", model_->model_type(), model_->vocab_size(), r.dtype,
                       r.attention, tokenizer_ ? "yes" : "none (" + tokenizer_error_ + ")");
  }

 private:
  std::unique_ptr<models::CausalLM> model_;
  std::optional<tokenizers::Tokenizer> tokenizer_;
  std::string tokenizer_error_;
};
}  // namespace

std::unique_ptr<TextGenerationPipeline> text_generation_pipeline(const PipelineOptions& options) {
  return std::make_unique<TextGeneration>(options);
}

}  // namespace tessera
