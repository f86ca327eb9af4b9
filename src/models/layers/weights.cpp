// Weights from a checkpoint or a seeded random initialisation.
#include "models/layers/weights.h"

#include <atomic>
#include <cmath>
#include <optional>
#include <random>

#include "tessera/ops.h"

namespace tessera::models {

struct Weights::State {
  std::optional<io::WeightStore> store;
  DType dtype = DType::f32;
  Device device{};
  double std = 0.02;
  uint64_t seed = 0;
  std::atomic<uint64_t> counter{0};
  std::atomic<int64_t> bytes{0};
};

Weights Weights::from_store(io::WeightStore store, DType dtype, Device device) {
  Weights w;
  w.state_ = std::make_shared<State>();
  w.state_->store.emplace(std::move(store));
  w.state_->dtype = dtype;
  w.state_->device = device;
  return w;
}

Weights Weights::random(uint64_t seed, double std, DType dtype, Device device) {
  Weights w;
  w.state_ = std::make_shared<State>();
  w.state_->dtype = dtype;
  w.state_->device = device;
  w.state_->std = std;
  w.state_->seed = seed;
  return w;
}

Weights Weights::scope(std::string_view prefix) const {
  Weights w = *this;
  w.prefix_ += prefix;
  return w;
}

bool Weights::is_random() const { return !state_->store.has_value(); }
Device Weights::device() const { return state_->device; }

bool Weights::contains(std::string_view name) const {
  return is_random() || state_->store->contains(prefix_ + std::string(name));
}

int64_t Weights::bytes_loaded() const { return state_->bytes.load(); }

namespace {
// Fast normal samples: xorshift64* + Box-Muller; the stream depends only on (seed, tensor index).
Tensor random_tensor(const Shape& shape, Init init, double std, uint64_t seed, DType dtype) {
  if (init != Init::normal) return Tensor::full(shape, init == Init::ones ? 1.0 : 0.0, dtype);
  Tensor t = Tensor::empty(shape, DType::f32);
  float* p = t.data<float>();
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  auto next = [&s] {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return (double)((s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
  };
  int64_t n = t.numel();
  for (int64_t i = 0; i < n; i += 2) {
    double u1 = std::max(next(), 1e-300), u2 = next();
    double r = std::sqrt(-2.0 * std::log(u1)) * std;
    p[i] = (float)(r * std::cos(2 * M_PI * u2));
    if (i + 1 < n) p[i + 1] = (float)(r * std::sin(2 * M_PI * u2));
  }
  return ops::cast(t, dtype);
}
}  // namespace

Tensor Weights::get(std::string_view name, const Shape& shape, Init init) const {
  std::string full = prefix_ + std::string(name);
  Tensor t;
  if (is_random()) {
    t = random_tensor(shape, init, state_->std, state_->seed + state_->counter.fetch_add(1), state_->dtype);
  } else {
    t = state_->store->get(full, shape);
    if (t.dtype() != state_->dtype) {
      TESSERA_CHECK(dtype_is_floating(t.dtype()), "{}: tensor '{}' has dtype {}, expected a floating-point dtype",
                    state_->store->file_of(full), full, dtype_name(t.dtype()));
      t = ops::cast(t, state_->dtype);
    }
  }
  t = t.to(state_->device);  // host (mmap'd or generated) -> the model's device
  state_->bytes.fetch_add((int64_t)t.nbytes());
  return t;
}

Tensor Weights::get_any(std::initializer_list<std::string_view> names, const Shape& shape, Init init) const {
  for (std::string_view n : names)
    if (contains(n)) return get(n, shape, init);
  return get(*names.begin(), shape, init);  // reports the first (canonical) name as missing
}

}  // namespace tessera::models
