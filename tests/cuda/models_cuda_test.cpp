// BERT and Mamba on the GPU against the same transformers fixtures as the CPU tests: f32 within 1e-4 layer by
// layer, f16/bf16 within low-precision tolerances of the f32 reference, greedy generation equal, the embedded
// IMDB classifiers agreeing with the CPU, and no op falling back to the host (Note [Host fallback]).
#include <gtest/gtest.h>

#include "cuda/cuda_test_util.h"

#include <cmath>

#include "backends/backend.h"
#include "models/bert.h"
#include "models/mamba.h"
#include "models/model_test_util.h"
#include "tessera/pipeline.h"

namespace tessera::testing {

namespace {
const Device kCuda{DeviceType::cuda, 0};



models::Batch reference_batch(const nlohmann::json& ref) {
  return {ids_tensor(ref["input_ids"]), ids_tensor(ref["attention_mask"]), ids_tensor(ref["token_type_ids"])};
}

// Max |a - b| relative to max |b|.
double rel_diff(const Tensor& a, const std::vector<double>& b) {
  double scale = 0;
  for (double v : b) scale = std::max(scale, std::fabs(v));
  return max_abs_diff(a, b) / std::max(scale, 1e-12);
}
}  // namespace

TEST(CudaModels, BertF32MatchesTransformersLayerByLayer) {
  TESSERA_REQUIRE_CUDA();
  for (std::string name : {"bert-tiny", "bert-tiny-gelu-new"}) {
    auto dir = fixture("models/" + name);
    nlohmann::json ref = read_json(dir / "reference.json");
    backends::reset_host_fallbacks();
    auto model = models::BertForSequenceClassification::from_dir(dir, {.device = kCuda});
    models::BertOutputs out = model->forward_all(reference_batch(ref));
    ASSERT_EQ(out.hidden_states.size(), ref["hidden_states"].size());
    for (std::size_t l = 0; l < out.hidden_states.size(); ++l) {
      EXPECT_EQ(out.hidden_states[l].device(), kCuda);
      double d = max_abs_diff(out.hidden_states[l], ref["hidden_states"][l].get<std::vector<double>>());
      ASSERT_LE(d, 1e-4) << name << ": first divergent layer " << l << " (max abs diff " << d << ")";
    }
    EXPECT_LE(max_abs_diff(model->classify(reference_batch(ref)), ref["logits"].get<std::vector<double>>()), 1e-4);
    EXPECT_EQ(fallbacks(), "") << "ops that ran on the host";
    std::cout << name << " attention backend: " << model->run_info().attention << "\n";
  }
}

TEST(CudaModels, BertHalfPrecisionCloseToF32Reference) {
  TESSERA_REQUIRE_CUDA();
  auto dir = fixture("models/bert-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  for (DType dt : {DType::f16, DType::bf16}) {
    backends::reset_host_fallbacks();
    auto model = models::BertForSequenceClassification::from_dir(dir, {.dtype = dt, .device = kCuda});
    double d = rel_diff(model->forward_all(reference_batch(ref)).hidden_states.back(),
                        ref["hidden_states"].back().get<std::vector<double>>());
    EXPECT_LE(d, dt == DType::f16 ? 1e-2 : 4e-2) << dtype_name(dt);
    EXPECT_LE(rel_diff(model->classify(reference_batch(ref)), ref["logits"].get<std::vector<double>>()),
              dt == DType::f16 ? 2e-2 : 6e-2) << dtype_name(dt);
    EXPECT_EQ(fallbacks(), "") << dtype_name(dt);
  }
}

TEST(CudaModels, MambaF32MatchesTransformersLayerByLayer) {
  TESSERA_REQUIRE_CUDA();
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  backends::reset_host_fallbacks();
  auto model = models::MambaForCausalLM::from_dir(dir, {.device = kCuda});
  models::MambaOutputs out;
  Tensor logits = model->forward(ids_tensor(ref["input_ids"]), &out);
  ASSERT_EQ(out.hidden_states.size(), ref["hidden_states"].size());
  for (std::size_t l = 0; l < out.hidden_states.size(); ++l) {
    double d = max_abs_diff(out.hidden_states[l], ref["hidden_states"][l].get<std::vector<double>>());
    ASSERT_LE(d, 1e-4) << "first divergent layer " << l << " (max abs diff " << d << ")";
  }
  EXPECT_LE(max_abs_diff(logits, ref["logits"].get<std::vector<double>>()), 1e-4);
  EXPECT_EQ(fallbacks(), "");
}

TEST(CudaModels, MambaGreedyGenerationMatchesTransformers) {
  TESSERA_REQUIRE_CUDA();
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto pipe = text_generation_pipeline({.model = dir, .device = "cuda"});
  backends::reset_host_fallbacks();
  for (const auto& g : ref["generations"]) {
    std::vector<int64_t> prompt = g["prompt"].get<std::vector<int64_t>>(), want = g["generated"].get<std::vector<int64_t>>();
    EXPECT_EQ(pipe->generate_ids(prompt, {.max_new_tokens = 20}).generated_ids, want);
  }
  EXPECT_EQ(fallbacks(), "");
}

TEST(CudaModels, MambaHalfPrecisionCloseToF32Reference) {
  TESSERA_REQUIRE_CUDA();
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  for (DType dt : {DType::f16, DType::bf16}) {
    auto model = models::MambaForCausalLM::from_dir(dir, {.dtype = dt, .device = kCuda});
    EXPECT_LE(rel_diff(model->forward(ids_tensor(ref["input_ids"])), ref["logits"].get<std::vector<double>>()),
              dt == DType::f16 ? 2e-2 : 6e-2) << dtype_name(dt);
  }
}

TEST(CudaModels, MambaSsmClassifierMatchesPyTorch) {
  TESSERA_REQUIRE_CUDA();
  auto dir = fixture("models/mamba-ssm-classifier-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto clf = models::load_sequence_classifier(dir, {.device = kCuda});
  std::vector<double> unpadded;
  for (const auto& row : ref["logits_unpadded"])
    for (double v : row.get<std::vector<double>>()) unpadded.push_back(v);
  EXPECT_LE(max_abs_diff(clf->classify({ids_tensor(ref["input_ids"]), ids_tensor(ref["attention_mask"])}), unpadded), 1e-4);
}

// The embedded IMDB classifiers: the GPU's labels equal the CPU's on real reviews, logits close.
TEST(CudaModels, EmbeddedClassifiersAgreeWithCpu) {
  TESSERA_REQUIRE_CUDA();
  std::vector<std::string> texts = {
      "A wonderful, moving film with a superb cast.", "Two hours I will never get back. Awful acting and a dull plot.",
      "It was fine, I guess; the ending dragged but the music was lovely.", "<br /><br />Not worth it."};
  for (std::string m : {"imdb-bert-small", "imdb-mamba-small"}) {
    std::filesystem::path dir = std::filesystem::path(TESSERA_SOURCE_DIR) / "models" / m;
    auto cpu = pipeline("sentiment-analysis", {.model = dir});
    auto gpu = pipeline("sentiment-analysis", {.model = dir, .device = "cuda"});
    backends::reset_host_fallbacks();
    auto a = (*cpu)(texts), b = (*gpu)(texts);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(a[i].label, b[i].label) << m << " text " << i;
      for (std::size_t j = 0; j < a[i].logits.size(); ++j) EXPECT_NEAR(a[i].logits[j], b[i].logits[j], 2e-3) << m;
    }
    EXPECT_EQ(fallbacks(), "") << m;
  }
}

TEST(CudaRuntime, CopiesAllocatorAndErrors) {
  TESSERA_REQUIRE_CUDA();
  std::vector<float> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = (float)i * 0.5f - 3.0f;
  Tensor h = Tensor::from_values({10, 100}, v);
  Allocator& alloc = device_allocator(kCuda);
  int64_t before = alloc.stats().current;
  {
    Tensor d = h.to(kCuda);
    EXPECT_EQ(d.device(), kCuda);
    EXPECT_EQ(alloc.stats().current, before + 4000);
    EXPECT_EQ(d.to_float_vector(), v);
    Tensor t = ops::transpose(d, 0, 1).to(Device{});  // strided device view -> contiguous host copy
    EXPECT_EQ(t.to_float_vector()[1], v[100]);
    EXPECT_EQ(Tensor::zeros({3}, DType::f32, kCuda).to_float_vector(), std::vector<float>(3, 0.0f));
    EXPECT_EQ(Tensor::full({2}, 2.5, DType::bf16, kCuda).to_float_vector(), std::vector<float>(2, 2.5f));
  }
  EXPECT_EQ(alloc.stats().current, before);
  EXPECT_GE(alloc.stats().peak, before + 4000);
  empty_cache(kCuda);
  EXPECT_THROW(parse_device("cuda:99"), Error);
  EXPECT_THROW(ops::add(h, h.to(kCuda)), Error);  // mixed devices: a clear error, not a crash
  std::cout << describe_device(kCuda) << "\n";
}

}  // namespace tessera::testing
