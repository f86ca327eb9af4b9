// Helpers for model tests: fixture paths, reference JSON, tensor comparison naming the worst element.
#pragma once
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include <unistd.h>
#include <cmath>

#include "tessera/tensor.h"

namespace tessera::testing {

inline std::filesystem::path fixture(const std::string& rel) { return std::filesystem::path(TESSERA_FIXTURES_DIR) / rel; }
inline std::filesystem::path shared(const std::string& rel) { return std::filesystem::path(TESSERA_SHARED_DIR) / rel; }

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}

// Max |a - b| over all elements (a: tensor, b: flat reference values).
inline double max_abs_diff(const Tensor& a, const std::vector<double>& b) {
  std::vector<float> av = a.to_float_vector();
  if (av.size() != b.size()) return INFINITY;
  double m = 0;
  for (std::size_t i = 0; i < av.size(); ++i) m = std::max(m, std::fabs((double)av[i] - b[i]));
  return m;
}

inline Tensor ids_tensor(const nlohmann::json& rows) {
  std::vector<int64_t> flat;
  int64_t B = (int64_t)rows.size(), T = (int64_t)rows[0].size();
  for (const auto& r : rows)
    for (const auto& v : r) flat.push_back(v.get<int64_t>());
  return Tensor::from_values({B, T}, flat);
}

// A fresh temporary directory, removed at destruction.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("tessera_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

}  // namespace tessera::testing
