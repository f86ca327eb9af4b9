// BERT against transformers 5.17 fixtures: per-layer hidden states, pooler and logits within 1e-4 (f32),
// padded batches and single sequences, the same weights from safetensors / zip .bin / legacy .bin,
// capture + replay bit for bit, the sentiment-analysis pipeline, and bad checkpoints.
#include <gtest/gtest.h>

#include "error_of.h"

#include <cstring>

#include "graph/graph.h"
#include "models/bert.h"
#include "models/model_test_util.h"
#include "tessera/io.h"
#include "tessera/pipeline.h"

namespace tessera::testing {

namespace {
using models::Batch;
using models::BertForSequenceClassification;

constexpr double kTol = 1e-4;

Batch reference_batch(const nlohmann::json& ref) {
  return {ids_tensor(ref["input_ids"]), ids_tensor(ref["attention_mask"]), ids_tensor(ref["token_type_ids"])};
}

// Compares every hidden state; the message names the first divergent layer.
void expect_matches_reference(const std::string& name) {
  auto dir = fixture("models/" + name);
  nlohmann::json ref = read_json(dir / "reference.json");
  auto model = BertForSequenceClassification::from_dir(dir);
  models::BertOutputs out = model->forward_all(reference_batch(ref));
  ASSERT_EQ(out.hidden_states.size(), ref["hidden_states"].size());
  for (std::size_t l = 0; l < out.hidden_states.size(); ++l) {
    double d = max_abs_diff(out.hidden_states[l], ref["hidden_states"][l].get<std::vector<double>>());
    ASSERT_LE(d, kTol) << name << ": first divergent layer is " << (l == 0 ? std::string("embeddings") : "encoder.layer." + std::to_string(l - 1))
                       << " (max abs diff " << d << ")";
  }
  EXPECT_LE(max_abs_diff(out.pooled, ref["pooled"].get<std::vector<double>>()), kTol) << "pooler";
  EXPECT_LE(max_abs_diff(model->classify(reference_batch(ref)), ref["logits"].get<std::vector<double>>()), kTol) << "logits";

  // Each sequence alone, unpadded.
  for (const auto& s : ref["singles"]) {
    int64_t n = s["length"].get<int64_t>();
    std::size_t b = &s - &ref["singles"][0];
    std::vector<int64_t> ids, types;
    for (int64_t t = 0; t < n; ++t) {
      ids.push_back(ref["input_ids"][b][t].get<int64_t>());
      types.push_back(ref["token_type_ids"][b][t].get<int64_t>());
    }
    Batch one{Tensor::from_values({1, n}, ids), Tensor(), Tensor::from_values({1, n}, types)};
    EXPECT_LE(max_abs_diff(model->classify(one), s["logits"].get<std::vector<double>>()), kTol) << "single sequence " << b;
    EXPECT_LE(max_abs_diff(model->forward_all(one).hidden_states.back(), s["last_hidden_state"].get<std::vector<double>>()), kTol);
  }
}
}  // namespace

TEST(Bert, MatchesTransformersLayerByLayer) { expect_matches_reference("bert-tiny"); }
TEST(Bert, GeluNewThreeLabelsMatchesTransformers) {
  expect_matches_reference("bert-tiny-gelu-new");
  auto model = BertForSequenceClassification::from_dir(fixture("models/bert-tiny-gelu-new"));
  EXPECT_EQ(model->labels(), (std::vector<std::string>{"neg", "neutral", "pos"}));
}

TEST(Bert, SafetensorsZipAndLegacyBinGiveIdenticalLogits) {
  auto src = fixture("models/bert-tiny");
  nlohmann::json ref = read_json(src / "reference.json");
  std::vector<std::vector<float>> logits;
  for (std::string file : {"model.safetensors", "pytorch_model.bin", "legacy_pytorch_model.bin"}) {
    TempDir d;
    std::filesystem::copy_file(src / "config.json", d.path / "config.json");
    std::string target = file == "model.safetensors" ? file : "pytorch_model.bin";
    std::filesystem::copy_file(src / file, d.path / target);
    auto model = BertForSequenceClassification::from_dir(d.path);
    logits.push_back(model->classify(reference_batch(ref)).to_float_vector());
  }
  EXPECT_EQ(logits[0], logits[1]) << "zip .bin differs from safetensors";
  EXPECT_EQ(logits[0], logits[2]) << "legacy .bin differs from safetensors";
}

TEST(Bert, CaptureReplayEqualsEagerBitForBit) {
  auto dir = fixture("models/bert-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto model = BertForSequenceClassification::from_dir(dir);
  Batch b = reference_batch(ref);
  std::vector<Tensor> inputs{b.input_ids, b.attention_mask, b.token_type_ids};
  auto fn = [&](const std::vector<Tensor>& in) { return std::vector<Tensor>{model->classify({in[0], in[1], in[2]})}; };
  graph::Graph g = graph::capture(fn, inputs, {"input_ids", "attention_mask", "token_type_ids"});
  g.verify();
  EXPECT_EQ(g.count(ops::OpId::layer_norm), 1);          // the embeddings' norm
  EXPECT_EQ(g.count(ops::OpId::add_layer_norm), 2 * 3);  // two post-LN residual norms per layer
  EXPECT_EQ(g.count(ops::OpId::softmax), 3);
  Tensor eager = model->classify(b);
  Tensor replayed = graph::run(g, inputs)[0];
  ASSERT_EQ(eager.nbytes(), replayed.nbytes());
  EXPECT_EQ(std::memcmp(eager.raw_data(), replayed.raw_data(), eager.nbytes()), 0);
  EXPECT_NE(g.to_string().find("layer_norm"), std::string::npos);
  EXPECT_THROW(graph::run(g, {b.input_ids, b.attention_mask}), Error);
}

TEST(Bert, FromConfigBuildsRandomBertBase) {
  models::BertConfig c = models::BertConfig::base();
  c.num_hidden_layers = 1;
  auto m = BertForSequenceClassification::from_config(c, /*seed=*/3);
  std::vector<int64_t> ids(2 * 5, 7);
  Tensor logits = m->classify({Tensor::from_values({2, 5}, ids), Tensor(), Tensor()});
  EXPECT_EQ(logits.shape(), (Shape{2, 2}));
  EXPECT_GT(m->parameter_bytes(), 4 * 30522 * 768);
}

namespace {
std::filesystem::path assemble_pipeline_dir(const TempDir& d) {
  for (auto& e : std::filesystem::directory_iterator(fixture("models/bert-pipeline-tiny")))
    std::filesystem::copy_file(e.path(), d.path / e.path().filename());
  std::filesystem::copy_file(shared("tokenizers/bert-base-uncased/vocab.txt"), d.path / "vocab.txt");
  return d.path;
}
}  // namespace

TEST(BertPipeline, SentimentAnalysisMatchesTransformersPipeline) {
  TempDir d;
  auto dir = assemble_pipeline_dir(d);
  std::ifstream f(dir / "reference.jsonl");
  std::string line;
  std::getline(f, line);  // versions header
  std::vector<std::string> texts;
  std::vector<nlohmann::json> want;
  while (std::getline(f, line)) {
    want.push_back(nlohmann::json::parse(line));
    texts.push_back(want.back()["text"].get<std::string>());
  }
  ASSERT_GE(texts.size(), 20u);
  for (int64_t batch : {1, 4, 32}) {
    auto clf = pipeline("sentiment-analysis", {.model = dir, .batch_size = batch});
    std::vector<Classification> got = (*clf)(texts);
    ASSERT_EQ(got.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(got[i].label, want[i]["label"].get<std::string>()) << "text " << i << " batch " << batch;
      EXPECT_NEAR(got[i].score, want[i]["score"].get<double>(), kTol) << "text " << i << " batch " << batch;
      auto wl = want[i]["logits"].get<std::vector<double>>();
      ASSERT_EQ(got[i].logits.size(), wl.size());
      for (std::size_t k = 0; k < wl.size(); ++k) EXPECT_NEAR(got[i].logits[k], wl[k], kTol) << "text " << i << " batch " << batch;
    }
  }
}

namespace {
}  // namespace

TEST(BertBadInput, ClearErrors) {
  auto src = fixture("models/bert-tiny");
  {  // missing config
    TempDir d;
    std::string e = error_of([&] { models::load_sequence_classifier(d.path); });
    EXPECT_NE(e.find("config.json"), std::string::npos) << e;
  }
  {  // missing weights
    TempDir d;
    std::filesystem::copy_file(src / "config.json", d.path / "config.json");
    std::string e = error_of([&] { models::load_sequence_classifier(d.path); });
    EXPECT_NE(e.find("no model weights"), std::string::npos) << e;
  }
  {  // shape disagrees with config
    TempDir d;
    nlohmann::json cfg = read_json(src / "config.json");
    cfg["intermediate_size"] = 64;
    std::ofstream(d.path / "config.json") << cfg.dump();
    std::filesystem::copy_file(src / "model.safetensors", d.path / "model.safetensors");
    std::string e = error_of([&] { models::load_sequence_classifier(d.path); });
    EXPECT_NE(e.find("bert.encoder.layer.0.intermediate.dense.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("(64, 36)"), std::string::npos) << e;
  }
  {  // unknown model_type
    TempDir d;
    std::ofstream(d.path / "config.json") << R"({"model_type": "gpt_bigcode"})";
    std::string e = error_of([&] { models::load_sequence_classifier(d.path); });
    EXPECT_NE(e.find("gpt_bigcode"), std::string::npos) << e;
  }
  {  // wrong field type and bad values
    nlohmann::json cfg = read_json(src / "config.json");
    cfg["hidden_size"] = "36";
    EXPECT_NE(error_of([&] { models::BertConfig::from_json(cfg); }).find("hidden_size"), std::string::npos);
    cfg["hidden_size"] = 35;
    EXPECT_NE(error_of([&] { models::BertConfig::from_json(cfg); }).find("not a multiple"), std::string::npos);
  }
  {  // too long input
    auto model = BertForSequenceClassification::from_dir(src);
    std::vector<int64_t> ids(40, 1);
    std::string e = error_of([&] { model->classify({Tensor::from_values({1, 40}, ids), Tensor(), Tensor()}); });
    EXPECT_NE(e.find("max_position_embeddings"), std::string::npos) << e;
    std::vector<int64_t> bad{1, 500};
    e = error_of([&] { model->classify({Tensor::from_values({1, 2}, bad), Tensor(), Tensor()}); });
    EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  }
}

}  // namespace tessera::testing
