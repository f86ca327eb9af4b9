// Implementation of the op test harness.
#include "ops/harness.h"

#include <cmath>
#include <cstring>
#include <random>

#include "backends/backend.h"
#include "graph/graph.h"
#include "tessera/ops.h"

namespace tessera::testing {

InputSpec in(Shape shape, DType dtype, Layout layout, Values values) { return {std::move(shape), dtype, layout, values}; }

std::vector<OpCase> all_cases() {
  std::vector<OpCase> all;
  for (auto f : {movement_cases, elementwise_cases, reduce_cases, activation_cases, norm_cases, linalg_cases, ssm_cases}) {
    auto v = f();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

namespace {
double draw(const InputSpec& s, std::mt19937_64& rng, int64_t i) {
  std::normal_distribution<double> normal(0.0, 1.0);
  switch (s.values) {
    case Values::normal: return normal(rng);
    case Values::positive: return 0.1 + std::fabs(normal(rng)) * 2;
    case Values::negative: return -0.1 - std::fabs(normal(rng)) * 2;
    case Values::integers: return (double)((int64_t)(rng() % 9) - 4);
    case Values::ids: return (double)(rng() % (uint64_t)std::max<int64_t>(s.id_limit, 1));
    case Values::boolean: return (double)(rng() % 2);
    case Values::specials: {
      const double sp[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e30, -1e30};
      return i % 3 == 0 ? sp[(i / 3) % 7] : normal(rng);
    }
  }
  return 0;
}

void fill(const Tensor& t, const InputSpec& s, std::mt19937_64& rng) {
  std::vector<float> vals((std::size_t)t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) vals[i] = (float)draw(s, rng, i);
  Tensor src = Tensor::from_values(t.shape(), vals, DType::f32);
  Tensor conv = ops::cast(src, t.dtype());
  std::memcpy(t.raw_data(), conv.raw_data(), t.nbytes());
}

double tolerance_for(DType dt) {
  switch (dt) {
    case DType::f16: return 4 * 9.77e-4;
    case DType::bf16: return 4 * 7.81e-3;
    case DType::f64: return 1e-12;
    case DType::f32: return 64 * 1.19e-7;
    default: return 0;  // integers and bool: exact
  }
}

// Normalised error: max |got - want| / max(max |want|, 1e-30) over finite-in-both elements; NaN/Inf must match.
std::string compare(const Tensor& got, const Tensor& want, double tol, double* err) {
  if (got.shape() != want.shape() || got.dtype() != want.dtype())
    return fmt::format("meta mismatch: got {} {}, want {} {}", dtype_name(got.dtype()), shape_str(got.shape()),
                       dtype_name(want.dtype()), shape_str(want.shape()));
  double max_ref = 0, max_diff = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = read_element(got, i), w = read_element(want, i);
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g)) return fmt::format("NaN parity at element {}: got {}, want {}", i, g, w);
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) return fmt::format("Inf parity at element {}: got {}, want {}", i, g, w);
      continue;
    }
    max_ref = std::max(max_ref, std::fabs(w));
    max_diff = std::max(max_diff, std::fabs(g - w));
  }
  *err = max_diff / std::max(max_ref, 1e-30);
  if (max_diff == 0) *err = 0;
  if (*err > tol) return fmt::format("normalised error {:.3g} > tolerance {:.3g}", *err, tol);
  return {};
}
}  // namespace

Tensor make_input(const InputSpec& spec, uint64_t seed) {
  std::mt19937_64 rng(seed);
  DType dt = spec.values == Values::boolean ? DType::boolean : spec.values == Values::ids ? spec.dtype : spec.dtype;
  const Shape& s = spec.shape;
  switch (spec.layout) {
    case Layout::contiguous: {
      Tensor t = Tensor::empty(s, dt);
      fill(t, spec, rng);
      return t;
    }
    case Layout::transposed: {  // a permuted view: last two dims swapped in memory
      Shape phys = s;
      if (phys.size() >= 2) std::swap(phys[phys.size() - 1], phys[phys.size() - 2]);
      Tensor t = Tensor::empty(phys, dt);
      fill(t, spec, rng);
      return s.size() >= 2 ? ops::transpose(t, -1, -2) : t;
    }
    case Layout::sliced: {  // every other element along the last dim, offset by one
      Shape phys = s;
      if (!phys.empty()) phys.back() = phys.back() * 2 + 1;
      Tensor t = Tensor::empty(phys, dt);
      fill(t, spec, rng);
      return s.empty() ? t : ops::slice(t, -1, 1, phys.back(), 2);
    }
    case Layout::broadcast: {  // size-1 leading dim expanded
      Shape phys = s;
      if (!phys.empty()) phys[0] = 1;
      Tensor t = Tensor::empty(phys, dt);
      fill(t, spec, rng);
      return ops::expand(t, s);
    }
  }
  return {};
}

CaseResult run_case(const OpCase& c, uint64_t seed) {
  CaseResult r;
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) inputs.push_back(make_input(c.inputs[i], seed * 131 + i));
  Tensor want;
  {
    ops::ExecModeGuard ref(ops::ExecMode::reference);
    want = ops::call(c.op, inputs, c.attrs);
  }
  r.tolerance = tolerance_for(want.dtype()) * c.tolerance_scale;

  // Every fast kernel that accepts these inputs, run directly into a buffer with guard bytes around it.
  const backends::KernelEntry* k = backends::cpu_kernel(c.op, inputs, c.attrs);
  r.kernel = k ? k->name : "reference";
  if (k) {
    constexpr std::size_t kGuard = 64;
    std::size_t nbytes = want.nbytes();
    std::vector<unsigned char> buf(nbytes + 2 * kGuard + 64, 0xA5);
    unsigned char* base = buf.data() + kGuard;
    Tensor out = Tensor::from_external(base, want.shape(), contiguous_strides(want.shape()), want.dtype(), nullptr);
    k->kernel(inputs, out, c.attrs);
    for (std::size_t i = 0; i < kGuard; ++i)
      if (buf[i] != 0xA5 || base[nbytes + i] != 0xA5) {
        r.failure = fmt::format("kernel {} wrote outside its output (guard bytes)", k->name);
        return r;
      }
    Tensor got = Tensor::empty(want.shape(), want.dtype());
    std::memcpy(got.raw_data(), base, nbytes);
    r.failure = compare(got, want, r.tolerance, &r.error);
    if (!r.failure.empty()) return r;
  }

  // Eager (fast) vs capture + replay: bit for bit.
  Tensor eager = ops::call(c.op, inputs, c.attrs);
  graph::Graph g = graph::capture([&](const std::vector<Tensor>& xs) { return std::vector<Tensor>{ops::call(c.op, xs, c.attrs)}; },
                                  inputs);
  g.verify();
  Tensor replayed = graph::run(g, inputs)[0];
  Tensor ec = ops::contiguous(eager), rc = ops::contiguous(replayed);
  if (ec.nbytes() != rc.nbytes() || std::memcmp(ec.raw_data(), rc.raw_data(), ec.nbytes()) != 0)
    r.failure = "capture + replay differs from eager";
  return r;
}

namespace {
// t on `device` with the same view (shape, strides, offset) over a copy of its whole storage.
Tensor to_device_view(const Tensor& t, Device device) {
  const std::shared_ptr<Storage>& st = t.storage();
  int64_t elems = (int64_t)(st->nbytes() / dtype_size(t.dtype()));
  Tensor base = Tensor::from_external(st->data(), {elems}, {1}, t.dtype(), st);
  return base.to(device).as_strided(t.shape(), t.strides(), t.offset());
}

// Runs kernel k on the device into an output inside a buffer filled with `poison`; returns the buffer's bytes
// (guard bytes, output, guard bytes) on the host.
std::vector<unsigned char> run_poisoned(const backends::KernelEntry& k, const std::vector<Tensor>& inputs,
                                        const ops::Attrs& attrs, const Tensor& want, Device device,
                                        std::size_t guard, unsigned char poison) {
  std::vector<unsigned char> host(want.nbytes() + 2 * guard, poison);
  Tensor buf = Tensor::from_external(host.data(), {(int64_t)host.size()}, {1}, DType::u8, nullptr).to(device);
  Tensor out = Tensor::from_external(static_cast<unsigned char*>(buf.raw_data()) + guard, want.shape(),
                                     contiguous_strides(want.shape()), want.dtype(), buf.storage(), device);
  k.kernel(inputs, out, attrs);
  Tensor back = buf.cpu();
  std::memcpy(host.data(), back.raw_data(), host.size());
  return host;
}
}  // namespace

CaseResult run_case_on(const OpCase& c, uint64_t seed, Device device) {
  CaseResult r;
  std::vector<Tensor> inputs, dev;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) inputs.push_back(make_input(c.inputs[i], seed * 131 + i));
  for (const Tensor& t : inputs) dev.push_back(to_device_view(t, device));
  Tensor want;
  {
    ops::ExecModeGuard ref(ops::ExecMode::reference);
    want = ops::call(c.op, inputs, c.attrs);
  }
  r.tolerance = tolerance_for(want.dtype()) * c.tolerance_scale;

  // The device kernel, twice with different poison: both runs must agree bit for bit (every element written).
  const backends::KernelEntry* k = backends::device_kernel(device, c.op, dev, c.attrs);
  r.kernel = k ? k->name : "no device kernel";
  if (k) {
    constexpr std::size_t kGuard = 64;
    std::vector<unsigned char> a = run_poisoned(*k, dev, c.attrs, want, device, kGuard, 0xA5);
    std::vector<unsigned char> b = run_poisoned(*k, dev, c.attrs, want, device, kGuard, 0x5A);
    const std::size_t nbytes = want.nbytes();
    for (std::size_t i = 0; i < kGuard; ++i)
      if (a[i] != 0xA5 || a[kGuard + nbytes + i] != 0xA5 || b[i] != 0x5A || b[kGuard + nbytes + i] != 0x5A) {
        r.failure = fmt::format("kernel {} wrote outside its output (guard bytes)", k->name);
        return r;
      }
    if (std::memcmp(a.data() + kGuard, b.data() + kGuard, nbytes) != 0) {
      r.failure = fmt::format("kernel {} left output elements unwritten (poison shows through)", k->name);
      return r;
    }
    Tensor got = Tensor::empty(want.shape(), want.dtype());
    std::memcpy(got.raw_data(), a.data() + kGuard, nbytes);
    r.failure = compare(got, want, r.tolerance, &r.error);
    if (!r.failure.empty()) return r;
  }

  // The eager call on the device: kernel, decomposition (on device kernels) or host fallback.
  backends::reset_host_fallbacks();
  Tensor eager = ops::call(c.op, dev, c.attrs);
  for (const backends::HostFallback& f : backends::host_fallbacks())
    r.host_fallbacks += fmt::format("{}{} x{}", r.host_fallbacks.empty() ? "" : ", ", f.op, f.count);
  if (eager.device() != device) {
    r.failure = fmt::format("eager result is on {}, not {}", to_string(eager.device()), to_string(device));
    return r;
  }
  double err = 0;
  std::string f = compare(eager.cpu(), want, r.tolerance, &err);
  if (!f.empty()) r.failure = "eager on device: " + f;
  r.error = std::max(r.error, err);
  return r;
}

}  // namespace tessera::testing
