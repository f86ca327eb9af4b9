// libFuzzer target: the JSON config reader and every typed field read on every key (and nested objects).
#include <cstdint>
#include <string>
#include <string_view>

#include "tessera/io.h"

namespace {
void read_all(const tessera::io::JsonFields& f, int depth) {
  for (auto it = f.json().begin(); it != f.json().end(); ++it) {
    const std::string& k = it.key();
    auto attempt = [&](auto read) {
      try {
        read();
      } catch (const tessera::Error&) {
      }
    };
    attempt([&] { f.get<bool>(k, false); });
    attempt([&] { f.get<int>(k, 0); });
    attempt([&] { f.get<int64_t>(k, 0); });
    attempt([&] { f.get<double>(k, 0); });
    attempt([&] { f.get<float>(k, 0); });
    attempt([&] { f.get<std::string>(k, ""); });
    attempt([&] { f.get<std::vector<int64_t>>(k, {}); });
    attempt([&] { f.get<std::vector<double>>(k, {}); });
    attempt([&] { f.require<std::vector<std::string>>(k); });
    if (depth < 4) attempt([&] { read_all(f.child(k), depth + 1); });
  }
  for (const char* k : {"hidden_size", "model_type", "architectures", "missing"}) {
    try {
      (void)f.get_optional<int64_t>(k);
    } catch (const tessera::Error&) {
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    nlohmann::json j = tessera::io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size),
                                               "config.json");
    read_all(tessera::io::JsonFields(j, "config.json"), 0);
  } catch (const tessera::Error&) {
  }
  return 0;
}
