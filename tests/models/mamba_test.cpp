// Mamba against transformers 5.17 fixtures (scripts/make_fixtures.py): per-layer hidden states and logits within
// 1e-4 (f32), greedy generation equal to generate(do_sample=False), prefill + steps equal to a full forward, the
// mamba_ssm classifier layout against PyTorch, config parsing, the CLI, and bad checkpoints naming the problem.
#include <gtest/gtest.h>

#include "error_of.h"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "models/mamba.h"
#include "models/model_test_util.h"
#include "tessera/io.h"
#include "tessera/ops.h"
#include "tessera/pipeline.h"

namespace tessera::testing {

namespace {
using models::MambaConfig;
using models::MambaForCausalLM;
using models::MambaForSequenceClassification;

constexpr double kTol = 1e-4;

void copy_dir(const std::filesystem::path& from, const std::filesystem::path& to) {
  for (auto& e : std::filesystem::directory_iterator(from)) std::filesystem::copy_file(e.path(), to / e.path().filename());
}

// Rewrites a safetensors file with one tensor renamed (the data section is unchanged).
void rename_tensor(const std::filesystem::path& file, const std::string& from, const std::string& to) {
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  header[to] = header[from];
  header.erase(from);
  std::string h = header.dump();
  uint64_t m = h.size();
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(&m), 8);
  out << h << bytes.substr(8 + n);
}

Tensor slice_ids(const nlohmann::json& rows, std::size_t b, int64_t begin, int64_t end) {
  std::vector<int64_t> v;
  for (int64_t t = begin; t < end; ++t) v.push_back(rows[b][t].get<int64_t>());
  return Tensor::from_values({1, end - begin}, v);
}
}  // namespace

TEST(Mamba, MatchesTransformersLayerByLayer) {
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto model = MambaForCausalLM::from_dir(dir);
  EXPECT_EQ(model->config().time_step_rank, 3);  // "auto" = ceil(40 / 16)
  models::MambaOutputs out;
  Tensor logits = model->forward(ids_tensor(ref["input_ids"]), &out);
  ASSERT_EQ(out.hidden_states.size(), ref["hidden_states"].size());
  for (std::size_t l = 0; l < out.hidden_states.size(); ++l) {
    double d = max_abs_diff(out.hidden_states[l], ref["hidden_states"][l].get<std::vector<double>>());
    ASSERT_LE(d, kTol) << "first divergent layer: "
                       << (l + 1 == out.hidden_states.size() ? std::string("backbone.norm_f") : "backbone.layers." + std::to_string(l))
                       << " (max abs diff " << d << ")";
  }
  EXPECT_LE(max_abs_diff(logits, ref["logits"].get<std::vector<double>>()), kTol) << "logits";
}

TEST(Mamba, PrefillThenStepsEqualsFullForward) {
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto model = MambaForCausalLM::from_dir(dir);
  Tensor ids = ids_tensor(ref["input_ids"]);  // (2, 9)
  std::vector<float> full = model->forward(ids).to_float_vector();
  int64_t B = 2, T = 9, V = 96;
  for (int64_t prompt : {2, 5}) {  // shorter and longer than conv_kernel
    Tensor last;
    auto cache = model->prefill(ops::slice(ids, 1, 0, prompt), &last);
    for (int64_t t = prompt - 1; t < T; ++t) {
      std::vector<float> got = last.to_float_vector();
      double d = 0;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t v = 0; v < V; ++v) d = std::max(d, (double)std::fabs(got[b * V + v] - full[(b * T + t) * V + v]));
      ASSERT_LE(d, kTol) << "prompt " << prompt << ", position " << t;
      if (t + 1 < T) last = model->decode(ops::squeeze(ops::slice(ids, 1, t + 1, t + 2), 1), *cache);
    }
  }
}

TEST(Mamba, GreedyGenerationMatchesTransformers) {
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto pipe = text_generation_pipeline({.model = dir});
  EXPECT_FALSE(pipe->has_tokenizer());  // the fixture has none: ids only
  for (const auto& g : ref["generations"]) {
    std::vector<int64_t> prompt = g["prompt"].get<std::vector<int64_t>>(), want = g["generated"].get<std::vector<int64_t>>();
    Generation got = pipe->generate_ids(prompt, {.max_new_tokens = 20});
    EXPECT_EQ(got.generated_ids, want) << "prompt of " << prompt.size() << " tokens";
    EXPECT_EQ(got.stopped_at_eos, want.size() < 20 && want.back() == 0);
  }
  EXPECT_NE(error_of([&] { (*pipe)("hello", {}); }).find("--ids"), std::string::npos);
}

TEST(Mamba, ConfigDefaultsAndLayouts) {
  MambaConfig d = MambaConfig::from_json(nlohmann::json::object());
  EXPECT_EQ(d.vocab_size, 50280);
  EXPECT_EQ(d.state_size, 16);
  EXPECT_EQ(d.time_step_rank, 48);
  EXPECT_TRUE(d.residual_in_fp32);
  EXPECT_EQ(d.layout, models::MambaLayout::hf);
  MambaConfig r = MambaConfig::from_json({{"hidden_size", 40}, {"time_step_rank", "auto"}, {"eos_token_id", {2, 7}}});
  EXPECT_EQ(r.time_step_rank, 3);
  EXPECT_EQ(r.eos_token_ids, (std::vector<int64_t>{2, 7}));
  MambaConfig s = MambaConfig::from_json(read_json(fixture("models/mamba-ssm-classifier-tiny/config.json")));
  EXPECT_EQ(s.layout, models::MambaLayout::mamba_ssm);
  EXPECT_EQ(s.vocab_size, 96);  // 93 padded to a multiple of 8
  EXPECT_EQ(s.state_size, 12);
  EXPECT_EQ(s.time_step_rank, 3);
  MambaConfig p = MambaConfig::mamba_130m();
  EXPECT_EQ(p.intermediate_size(), 1536);
  EXPECT_EQ(p.num_hidden_layers, 24);
  EXPECT_NE(error_of([] { MambaConfig::from_json({{"d_model", 8}, {"n_layer", 1}, {"ssm_cfg", {{"layer", "Mamba2"}}}}); }).find("Mamba2"),
            std::string::npos);
  EXPECT_NE(error_of([] { MambaConfig::from_json({{"time_step_rank", "big"}}); }).find("time_step_rank"), std::string::npos);
}

TEST(Mamba, FromConfigRunsRandomWeights) {
  MambaConfig c = MambaConfig::from_json({{"vocab_size", 64}, {"hidden_size", 24}, {"num_hidden_layers", 2}, {"state_size", 8}});
  auto model = MambaForCausalLM::from_config(c, /*seed=*/5);
  Tensor logits = model->forward(Tensor::from_values({2, 6}, std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(logits.shape(), (Shape{2, 6, 64}));
  for (float v : logits.to_float_vector()) ASSERT_TRUE(std::isfinite(v));
}

TEST(Mamba, MambaSsmClassifierMatchesPyTorch) {
  auto dir = fixture("models/mamba-ssm-classifier-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  auto clf = models::load_sequence_classifier(dir);  // layout detected from d_model / n_layer
  EXPECT_EQ(clf->model_type(), "mamba");
  EXPECT_EQ(clf->labels(), (std::vector<std::string>{"LABEL_0", "LABEL_1"}));
  Tensor ids = ids_tensor(ref["input_ids"]), mask = ids_tensor(ref["attention_mask"]);
  // Default (masked mean on the right-aligned batch) = each sequence run alone, unpadded.
  std::vector<double> unpadded;
  for (const auto& row : ref["logits_unpadded"])
    for (double v : row.get<std::vector<double>>()) unpadded.push_back(v);
  EXPECT_LE(max_abs_diff(clf->classify({ids, mask}), unpadded), kTol) << "masked mean";
  // The checkpoint's own pooling on the padded batch: the mean includes the padding positions.
  auto literal = MambaForSequenceClassification::from_dir(dir, {}, models::MambaPooling::mean);
  EXPECT_LE(max_abs_diff(literal->classify({ids, mask}), ref["logits_mean_with_padding"].get<std::vector<double>>()), kTol);
  // One unpadded sequence: both poolings agree with PyTorch.
  Tensor one = slice_ids(ref["input_ids"], 1, 0, 5);
  std::vector<double> want = ref["logits_unpadded"][1].get<std::vector<double>>();
  EXPECT_LE(max_abs_diff(literal->classify({one, Tensor()}), want), kTol);
  // Left padding is realigned: same result as the unpadded sequence.
  std::vector<int64_t> left_ids(9, 0), left_mask(9, 0);
  for (int64_t t = 0; t < 5; ++t) {
    left_ids[4 + t] = ref["input_ids"][1][t].get<int64_t>();
    left_mask[4 + t] = 1;
  }
  EXPECT_LE(max_abs_diff(clf->classify({Tensor::from_values({1, 9}, left_ids), Tensor::from_values({1, 9}, left_mask)}), want), kTol);
}

TEST(Mamba, BadCheckpointsNameTheProblem) {
  auto src = fixture("models/mamba-tiny");
  {  // conv_kernel disagrees with the weights
    TempDir d;
    copy_dir(src, d.path);
    nlohmann::json cfg = read_json(d.path / "config.json");
    cfg["conv_kernel"] = 3;
    std::ofstream(d.path / "config.json") << cfg.dump();
    std::string e = error_of([&] { MambaForCausalLM::from_dir(d.path); });
    EXPECT_NE(e.find("conv1d.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("(80, 1, 3)"), std::string::npos) << e;
  }
  {  // A_log missing
    TempDir d;
    copy_dir(src, d.path);
    rename_tensor(d.path / "model.safetensors", "backbone.layers.0.mixer.A_log", "backbone.layers.0.mixer.A_logx");
    std::string e = error_of([&] { MambaForCausalLM::from_dir(d.path); });
    EXPECT_NE(e.find("backbone.layers.0.mixer.A_log"), std::string::npos) << e;
  }
  {  // a tokenizer with more tokens than vocab_size
    TempDir d;
    copy_dir(src, d.path);
    std::filesystem::copy_file(shared("tokenizers/bert-base-uncased/vocab.txt"), d.path / "vocab.txt");
    std::string e = error_of([&] { text_generation_pipeline({.model = d.path}); });
    EXPECT_NE(e.find("vocab_size"), std::string::npos) << e;
    EXPECT_NE(e.find("30522"), std::string::npos) << e;
  }
  auto model = MambaForCausalLM::from_dir(src);
  std::string e = error_of([&] { model->forward(Tensor::from_values({1, 2}, std::vector<int64_t>{3, 96})); });
  EXPECT_NE(e.find("vocab_size"), std::string::npos) << e;
  auto clf_dir = fixture("models/mamba-tiny");  // an LM checkpoint has no classification head
  e = error_of([&] { models::load_sequence_classifier(clf_dir); });
  EXPECT_NE(e.find("classification_head.weight"), std::string::npos) << e;
}

TEST(Mamba, CliGenerateWithIds) {
  auto dir = fixture("models/mamba-tiny");
  nlohmann::json ref = read_json(dir / "reference.json");
  std::string cmd = std::string(TESSERA_CLI_PATH) + " generate --model '" + dir.string() + "' --ids 5,17,33,2,71,40 --json 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["generated_ids"], ref["generations"][0]["generated"]);
  EXPECT_TRUE(j["stopped_at_eos"].get<bool>());
}

}  // namespace tessera::testing
