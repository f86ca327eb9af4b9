// Checkpoint formats: the same state dict saved as safetensors (single, sharded) and torch .bin (zip,
// legacy, nested, deflated, sharded) must read back identically; WeightStore lookup, errors and preference.
#include <gtest/gtest.h>

#include "error_of.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "tessera/io.h"

using tessera::testing::error_of;

namespace fs = std::filesystem;
using namespace tessera;

namespace {
const fs::path kDir = fs::path(TESSERA_FIXTURES_DIR) / "io";

const nlohmann::json& expected() {
  static const nlohmann::json j = io::read_json_file(kDir / "expected.json");
  return j;
}

// Compares one tensor against expected.json: dtype, shape, values (f8: raw bytes).
void check_tensor(const std::string& name, const Tensor& t, const std::string& where) {
  SCOPED_TRACE(where + ": " + name);
  const auto& e = expected()["tensors"][name];
  EXPECT_EQ(dtype_safetensors_name(t.dtype()), e["dtype"].get<std::string>());
  EXPECT_EQ(t.shape(), e["shape"].get<Shape>());
  if (e.contains("raw")) {
    ASSERT_TRUE(t.is_contiguous());
    auto raw = e["raw"].get<std::vector<uint8_t>>();
    ASSERT_EQ((std::size_t)t.numel(), raw.size());
    EXPECT_EQ(std::memcmp(t.raw_data(), raw.data(), raw.size()), 0);
    return;
  }
  auto values = e["values"].get<std::vector<double>>();
  ASSERT_EQ((std::size_t)t.numel(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(read_element(t, (int64_t)i), values[i]) << "element " << i;
}

std::vector<std::string> expected_names() {
  std::vector<std::string> names;
  for (auto& [k, v] : expected()["tensors"].items()) names.push_back(k);
  std::sort(names.begin(), names.end());
  return names;
}

class AllFormats : public ::testing::TestWithParam<const char*> {};
}  // namespace

TEST_P(AllFormats, SameNamesShapesAndValues) {
  io::WeightStore w = io::open_weights(kDir / GetParam());
  EXPECT_EQ(w.names(), expected_names());
  for (const auto& name : w.names()) check_tensor(name, w.get(name), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Io, AllFormats,
                         ::testing::Values("safetensors", "sharded", "bin", "legacy", "nested", "deflated",
                                           "sharded_bin"));

TEST(IoFormats, TorchViewsKeepStridesOffsetsAndSharing) {
  for (const char* dir : {"bin", "legacy"}) {
    SCOPED_TRACE(dir);
    io::WeightStore w = io::open_weights(kDir / dir);
    Tensor t = w.get("layer.1.transposed");
    EXPECT_EQ(t.strides(), (Strides{1, 4}));
    EXPECT_FALSE(t.is_contiguous());
    Tensor a = w.get("layer.1.shared_a"), b = w.get("layer.1.shared_b");
    EXPECT_EQ(a.storage(), b.storage());  // one storage, two views
    EXPECT_EQ(a.offset(), 0);
    EXPECT_EQ(b.offset(), 4);
  }
}

TEST(IoFormats, SafetensorsIsZeroCopyAndKeepsMetadata) {
  io::SafetensorsFile f = io::SafetensorsFile::open(kDir / "safetensors" / "model.safetensors");
  EXPECT_EQ(f.metadata().at("format"), "pt");
  Tensor t = f.get("embeddings.weight");
  EXPECT_TRUE(t.storage()->borrowed());
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(f.names().size(), expected_names().size());
}

TEST(IoFormats, TensorsOutliveTheStore) {
  Tensor t;
  {
    io::WeightStore w = io::open_weights(kDir / "bin");
    t = w.get("embeddings.weight");
  }
  check_tensor("embeddings.weight", t, "after the store is gone");
}

TEST(IoWeightStore, SourceNamesTheFiles) {
  EXPECT_EQ(io::open_weights(kDir / "safetensors").source(), "model.safetensors");
  EXPECT_EQ(io::open_weights(kDir / "bin").source(), "pytorch_model.bin");
  std::string sharded = io::open_weights(kDir / "sharded").source();
  EXPECT_NE(sharded.find("model.safetensors.index.json"), std::string::npos) << sharded;
  EXPECT_NE(sharded.find("model-00002-of-00002.safetensors"), std::string::npos) << sharded;
  io::WeightStore w = io::open_weights(kDir / "sharded");
  EXPECT_EQ(w.file_of("layer.1.empty"), "model-00002-of-00002.safetensors");
  // A file path works too.
  EXPECT_TRUE(io::open_weights(kDir / "legacy" / "pytorch_model.bin").contains("layer.0.mask"));
}

TEST(IoWeightStore, PrefersSafetensorsLikeTransformers) {
  fs::path dir = fs::temp_directory_path() / "tessera_io_prefer";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(kDir / "bin" / "pytorch_model.bin", dir / "pytorch_model.bin");
  EXPECT_EQ(io::open_weights(dir).source(), "pytorch_model.bin");
  fs::copy_file(kDir / "safetensors" / "model.safetensors", dir / "model.safetensors");
  EXPECT_EQ(io::open_weights(dir).source(), "model.safetensors");
  fs::remove_all(dir);
}

TEST(IoWeightStore, MissingTensorNamesFileAndCloseNames) {
  io::WeightStore w = io::open_weights(kDir / "safetensors");
  EXPECT_FALSE(w.contains("layer.0.f61"));
  std::string msg = error_of([&] { w.get("layer.0.f61"); });
  EXPECT_NE(msg.find("model.safetensors: no tensor named 'layer.0.f61'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'layer.0.f64'"), std::string::npos) << msg;
  msg = error_of([&] { w.get("model.embeddings.weight"); });  // an extra prefix
  EXPECT_NE(msg.find("close names: 'embeddings.weight'"), std::string::npos) << msg;
}

TEST(IoWeightStore, ShapeCheckNamesConfig) {
  io::WeightStore w = io::open_weights(kDir / "safetensors");
  EXPECT_EQ(w.get("embeddings.weight", Shape{3, 4}).numel(), 12);
  EXPECT_EQ(error_of([&] { w.get("embeddings.weight", Shape{4, 4}); }),
            "model.safetensors: tensor 'embeddings.weight' has shape (3, 4), config.json implies (4, 4)");
}

TEST(IoWeightStore, NoWeightsFound) {
  fs::path dir = fs::temp_directory_path() / "tessera_io_empty";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string msg = error_of([&] { io::open_weights(dir); });
  EXPECT_NE(msg.find(dir.string() + ": no model weights found (looked for model.safetensors, "
                     "model.safetensors.index.json, pytorch_model.bin"), std::string::npos) << msg;
  { std::ofstream(dir / "tf_model.h5") << "x"; }
  msg = error_of([&] { io::open_weights(dir); });
  EXPECT_NE(msg.find("found tf_model.h5"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { io::open_weights(dir / "nope"); }).find("no such model directory"), std::string::npos);
  fs::remove_all(dir);
}

TEST(IoWeightStore, IndexWithMissingOrEscapingShard) {
  fs::path dir = fs::temp_directory_path() / "tessera_io_index";
  fs::remove_all(dir);
  fs::create_directories(dir);
  { std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": {"w": "model-1.safetensors"}})"; }
  std::string msg = error_of([&] { io::open_weights(dir); });
  EXPECT_NE(msg.find("shard 'model-1.safetensors' (holding tensor 'w') does not exist"), std::string::npos) << msg;
  { std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map": {"w": "../../etc/passwd"}})"; }
  msg = error_of([&] { io::open_weights(dir); });
  EXPECT_NE(msg.find("must be a relative path inside the model directory"), std::string::npos) << msg;
  { std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata": {}})"; }
  msg = error_of([&] { io::open_weights(dir); });
  EXPECT_NE(msg.find("needs a 'weight_map' object"), std::string::npos) << msg;
  fs::remove_all(dir);
}
