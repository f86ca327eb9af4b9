// JSON config reading: parse errors with file:line:column, typed field reads with defaults, and errors
// that name the file, the key, the expected and the actual type; unknown keys are tolerated.
#include <gtest/gtest.h>

#include "error_of.h"

#include <filesystem>
#include <fstream>
#include <functional>

#include "tessera/io.h"

using tessera::testing::error_of;

namespace fs = std::filesystem;
using namespace tessera;

namespace {
const nlohmann::json kConfig = nlohmann::json::parse(R"({
  "hidden_size": 64, "num_heads": "four", "layer_norm_eps": 1e-12, "dropout": 0, "vocab": 768.0,
  "use_cache": true, "architectures": ["BertModel"], "sizes": [1, "2"], "pad_token_id": null,
  "half": 1.5, "text_config": {"hidden_size": 32, "act": 5}, "some_future_key": {"x": [1, 2, 3]}
})");
}  // namespace

TEST(IoJson, TypedFieldsWithDefaults) {
  io::JsonFields f(kConfig, "config.json");
  EXPECT_EQ(f.get<int64_t>("hidden_size", 0), 64);
  EXPECT_EQ(f.get<int>("intermediate_size", 3072), 3072);  // missing -> default
  EXPECT_EQ(f.get<int64_t>("pad_token_id", -1), -1);       // null -> default
  EXPECT_FALSE(f.has("pad_token_id"));
  EXPECT_EQ(f.get_optional<int64_t>("pad_token_id"), std::nullopt);
  EXPECT_DOUBLE_EQ(f.get<double>("layer_norm_eps", 0), 1e-12);
  EXPECT_EQ(f.get<float>("dropout", 0.1f), 0.0f);  // integers are numbers
  EXPECT_EQ(f.get<int64_t>("vocab", 0), 768);     // integral floats are integers
  EXPECT_TRUE(f.get<bool>("use_cache", false));
  EXPECT_EQ(f.get<std::vector<std::string>>("architectures", {}), std::vector<std::string>{"BertModel"});
  EXPECT_EQ(f.require<int64_t>("hidden_size"), 64);
  EXPECT_EQ(f.child("text_config").get<int64_t>("hidden_size", 0), 32);
}

TEST(IoJson, TypeErrorsNameFileKeyAndTypes) {
  io::JsonFields f(kConfig, "config.json");
  EXPECT_EQ(error_of([&] { f.get<int64_t>("num_heads", 12); }),
            "config.json: field 'num_heads' must be an integer, got string");
  EXPECT_EQ(error_of([&] { f.get<int64_t>("half", 0); }), "config.json: field 'half' must be an integer, got 1.5");
  EXPECT_EQ(error_of([&] { f.get<bool>("hidden_size", false); }),
            "config.json: field 'hidden_size' must be a boolean, got integer");
  EXPECT_EQ(error_of([&] { f.get<std::string>("architectures", ""); }),
            "config.json: field 'architectures' must be a string, got array");
  EXPECT_EQ(error_of([&] { f.get<std::vector<int64_t>>("sizes", {}); }),
            "config.json: field 'sizes[1]' must be an integer, got string");
  EXPECT_EQ(error_of([&] { f.require<int64_t>("num_layers"); }), "config.json: required field 'num_layers' is missing");
  EXPECT_EQ(error_of([&] { f.child("text_config").get<std::string>("act", ""); }),
            "config.json: field 'text_config.act' must be a string, got integer");
  EXPECT_EQ(error_of([&] { f.child("hidden_size"); }), "config.json: field 'hidden_size' must be an object, got integer");
  EXPECT_EQ(error_of([&] { f.get<int>("big", 0); }), "<no error>");
  nlohmann::json big = {{"n", 1ll << 40}};
  EXPECT_EQ(error_of([&] { io::JsonFields(big, "c.json").get<int>("n", 0); }),
            "c.json: field 'n' = 1099511627776 does not fit in a 32-bit integer");
  EXPECT_EQ(error_of([&] { io::JsonFields(nlohmann::json::array(), "c.json"); }),
            "c.json: expected a JSON object, got array");
}

TEST(IoJson, FilesAndParseErrors) {
  fs::path dir = fs::temp_directory_path() / "tessera_io_json";
  fs::create_directories(dir);
  { std::ofstream(dir / "config.json") << "{\n  \"hidden_size\": 64,\n  \"num_heads\": 4,,\n}\n"; }
  std::string msg = error_of([&] { io::read_json_file(dir / "config.json"); });
  EXPECT_NE(msg.find((dir / "config.json").string() + ":3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid JSON"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { io::read_json_file(dir / "absent.json"); }).find("absent.json: no such file"),
            std::string::npos);
  { std::ofstream(dir / "config.json") << R"({"hidden_size": "64"})"; }
  io::JsonFields f = io::JsonFields::from_file(dir / "config.json");
  EXPECT_EQ(error_of([&] { f.get<int64_t>("hidden_size", 0); }),
            (dir / "config.json").string() + ": field 'hidden_size' must be an integer, got string");
  EXPECT_NE(error_of([] { io::parse_json("", "empty.json"); }).find("empty.json:1:1: invalid JSON"),
            std::string::npos);
  fs::remove_all(dir);
}
