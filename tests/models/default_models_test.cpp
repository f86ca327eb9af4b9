// Guards against loading regressions of the embedded default models (models/imdb-{bert,mamba}-small): each
// classifies a fixed balanced sample of 200 IMDB test reviews with accuracy >= 0.85. Not a tuning target:
// the full-test-split accuracy is in each model card.
#include <gtest/gtest.h>

#include <cmath>

#include "bench/text_sample.h"
#include "models/model_test_util.h"
#include "tessera/pipeline.h"

namespace tessera::testing {

namespace {
double sample_accuracy(const std::string& model_dir) {
  auto all = bench::read_examples(shared("data/imdb/test.jsonl.gz").string());
  auto sample = bench::balanced_sample(std::move(all), "200", /*seed=*/2026);
  EXPECT_EQ(sample.size(), 200u);
  std::vector<std::string> texts;
  for (const auto& e : sample) texts.push_back(e.text);
  auto clf = pipeline("sentiment-analysis", {.model = model_dir, .batch_size = 16});
  std::vector<Classification> out = (*clf)(texts);
  int correct = 0, positives = 0;
  double closest = 1.0;  // the smallest |p(POSITIVE) - 0.5|: how far the nearest review is from flipping
  for (std::size_t i = 0; i < sample.size(); ++i) {
    closest = std::min(closest, std::abs(out[i].score - 0.5));
    int predicted = out[i].label == "POSITIVE" ? 1 : 0;
    correct += predicted == sample[i].label;
    positives += sample[i].label;
  }
  EXPECT_EQ(positives, 100) << "the sample must be balanced";
  std::printf("%s: closest decision margin |p - 0.5| = %.2e\n", model_dir.c_str(), closest);
  return correct / 200.0;
}
}  // namespace

TEST(DefaultModels, BertSmallClassifiesImdb) {
  double acc = sample_accuracy((std::filesystem::path(TESSERA_SOURCE_DIR) / "models/imdb-bert-small").string());
  std::printf("imdb-bert-small accuracy on 200 balanced test reviews: %.3f\n", acc);
  EXPECT_GE(acc, 0.85);
}

TEST(DefaultModels, MambaSmallClassifiesImdb) {
  double acc = sample_accuracy((std::filesystem::path(TESSERA_SOURCE_DIR) / "models/imdb-mamba-small").string());
  std::printf("imdb-mamba-small accuracy on 200 balanced test reviews: %.3f\n", acc);
  EXPECT_GE(acc, 0.85);
}

}  // namespace tessera::testing
