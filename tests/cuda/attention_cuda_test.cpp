// The CUDA attention backends (flash, memory_efficient, varlen, packed sdpa_varlen) against the math backend
// in f32 on the CPU over the same rounded inputs. f16/bf16 tolerance is relative to the low-precision math's
// own error (DESIGN.md §7); causal (Tq == Tk and bottom-right Tq != Tk), key lengths, additive/boolean masks,
// head dims 32..256, T not a multiple of the tiles, T = 1, BERT's strided views, fully masked rows, auto choice.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "attention/sdpa.h"
#include "tessera/ops.h"

namespace tessera::testing {

namespace {
using attention::Backend;
using attention::SdpaOptions;
const Device kCuda{DeviceType::cuda, 0};

Tensor randn(Shape shape, DType dt, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v((std::size_t)shape_numel(shape));
  for (float& x : v) x = normal(rng);
  return Tensor::from_values(std::move(shape), v, dt);
}

// The same view on the device: the storage copied, then the same shape, strides and offset.
Tensor on_cuda(const Tensor& t) {
  if (!t.defined()) return t;
  const int64_t elems = (int64_t)(t.storage()->nbytes() / dtype_size(t.dtype()));
  Tensor flat = Tensor::from_external(t.storage()->data(), {elems}, {1}, t.dtype(), t.storage());
  return flat.to(kCuda).as_strided(t.shape(), t.strides(), t.offset());
}

// Normalised max error (max |a - b| / max |b|) with NaN/Inf parity (a failure returns +inf).
double error_of(const Tensor& got_any, const Tensor& want_any) {
  std::vector<float> g = got_any.cpu().to_float_vector(), w = want_any.cpu().to_float_vector();
  if (g.size() != w.size()) return INFINITY;
  double diff = 0, ref = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) != std::isnan(w[i]) || std::isinf(g[i]) != std::isinf(w[i])) return INFINITY;
    if (!std::isfinite(w[i])) continue;
    diff = std::max(diff, (double)std::fabs(g[i] - w[i]));
    ref = std::max(ref, (double)std::fabs(w[i]));
  }
  return diff / std::max(ref, 1e-30);
}

double eps(DType dt) { return dt == DType::f16 ? 9.77e-4 : dt == DType::bf16 ? 7.81e-3 : 1.19e-7; }

struct Case {
  std::string name;
  int64_t B, H, Tq, Tk, D;
  DType dtype = DType::f16;
  std::string mask = "none";  // none, additive_padding, additive_full, boolean
  std::vector<int64_t> key_lengths;
  bool causal = false, bthd = false, bert_views = false, strided_d = false, skip = false;
  std::optional<double> scale;  // default 1/sqrt(D)
};

struct Inputs {
  Tensor q, k, v;
  SdpaOptions o;
};

Inputs make(const Case& c, uint64_t seed) {
  Inputs in;
  if (c.bert_views) {  // permuted slices of a (B, T, 3·H·D) projection, as BertLayer passes them
    int64_t C = c.H * c.D;
    Tensor qkv = randn({c.B, c.Tq, 3 * C}, c.dtype, seed);
    auto heads = [&](int64_t i) {
      return ops::permute(ops::reshape(ops::slice(qkv, -1, i * C, (i + 1) * C), {c.B, c.Tq, c.H, c.D}), {0, 2, 1, 3});
    };
    in.q = heads(0), in.k = heads(1), in.v = heads(2);
  } else if (c.strided_d) {  // every other element of a wider last dim
    in.q = ops::slice(randn({c.B, c.H, c.Tq, 2 * c.D}, c.dtype, seed), -1, 0, 2 * c.D, 2);
    in.k = ops::slice(randn({c.B, c.H, c.Tk, 2 * c.D}, c.dtype, seed + 1), -1, 1, 2 * c.D, 2);
    in.v = ops::slice(randn({c.B, c.H, c.Tk, 2 * c.D}, c.dtype, seed + 2), -1, 0, 2 * c.D, 2);
  } else {
    in.q = randn({c.B, c.H, c.Tq, c.D}, c.dtype, seed);
    in.k = randn({c.B, c.H, c.Tk, c.D}, c.dtype, seed + 1);
    in.v = randn({c.B, c.H, c.Tk, c.D}, c.dtype, seed + 2);
  }
  in.o.causal = c.causal, in.o.output_bthd = c.bthd, in.o.skip_padded_queries = c.skip;
  in.o.scale = c.scale;
  if (!c.key_lengths.empty()) in.o.key_lengths = Tensor::from_values({c.B}, c.key_lengths);
  if (c.mask == "additive_padding") {  // transformers' convention: 0 / dtype-lowest (finite)
    std::vector<float> a((std::size_t)(c.B * c.Tk), 0.f);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t j = std::max<int64_t>(c.Tk - 5 * b, 1); j < c.Tk; ++j) a[(std::size_t)(b * c.Tk + j)] = -3.0e38f;
    in.o.mask = Tensor::from_values({c.B, 1, 1, c.Tk}, a, DType::f32);
  } else if (c.mask == "additive_full") {
    in.o.mask = randn({c.B, c.H, c.Tq, c.Tk}, c.dtype, seed + 3);
  } else if (c.mask == "boolean") {
    std::mt19937_64 rng(seed + 4);
    std::vector<float> a((std::size_t)(c.B * c.Tq * c.Tk));
    for (float& x : a) x = (float)(rng() % 3 != 0);
    in.o.mask = Tensor::from_values({c.B, 1, c.Tq, c.Tk}, a, DType::boolean);
  }
  return in;
}

// Runs `backend` on the device and checks it against math in f32 on the CPU; low precision within
// max(2 x the low-precision math's own error, 4 ulps).
void expect_matches_math(const Case& c, Backend backend, uint64_t seed = 1) {
  SCOPED_TRACE(c.name + " / " + std::string(attention::backend_name(backend)));
  Inputs host = make(c, seed);
  SdpaOptions od = host.o;
  od.mask = on_cuda(host.o.mask);
  od.key_lengths = on_cuda(host.o.key_lengths);
  od.backend = backend;
  Backend ran = Backend::automatic;
  od.ran = &ran;
  Tensor got = attention::sdpa(on_cuda(host.q), on_cuda(host.k), on_cuda(host.v), od);
  synchronize(kCuda);
  EXPECT_EQ(ran, backend);
  EXPECT_EQ(got.device(), kCuda);
  EXPECT_EQ(got.dtype(), c.dtype);

  SdpaOptions om = host.o;
  om.backend = Backend::math;
  if (om.mask.defined() && om.mask.dtype() != DType::boolean) om.mask = ops::cast(om.mask, DType::f32);
  auto f32 = [](const Tensor& t) { return ops::cast(t, DType::f32); };
  Tensor want = attention::sdpa(f32(host.q), f32(host.k), f32(host.v), om);
  double tol = 1e-5;
  if (c.dtype != DType::f32) {
    SdpaOptions ol = host.o;
    ol.backend = Backend::math;
    if (ol.mask.defined() && ol.mask.dtype() != DType::boolean) ol.mask = ops::cast(ol.mask, c.dtype);
    double lowp = error_of(attention::sdpa(host.q, host.k, host.v, ol), want);
    tol = std::max(2 * lowp, 4 * eps(c.dtype));
  }
  double err = error_of(got, want);
  EXPECT_LE(err, tol) << "normalised error " << err << " > " << tol;
}
}  // namespace

#define TESSERA_REQUIRE_CUDA() \
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason()

TEST(AttentionCuda, FlashEveryHeadDimAndDtype) {
  TESSERA_REQUIRE_CUDA();
  for (DType dt : {DType::f16, DType::bf16})
    for (int64_t D : {32, 64, 96, 128, 256}) {
      std::string n = fmt::format("{}_D{}", dtype_name(dt), D);
      expect_matches_math({n + "_T200", 2, 3, 200, 200, D, dt}, Backend::flash);
      expect_matches_math({n + "_causal_T77", 2, 2, 77, 77, D, dt, "none", {}, true}, Backend::flash);
      expect_matches_math({n + "_key_lengths", 3, 2, 130, 130, D, dt, "none", {130, 64, 1}}, Backend::flash);
    }
}

TEST(AttentionCuda, FlashShapesAndLayouts) {
  TESSERA_REQUIRE_CUDA();
  expect_matches_math({"T1", 1, 1, 1, 1, 64}, Backend::flash);
  expect_matches_math({"Tq1_Tk300_causal", 2, 2, 1, 300, 64, DType::f16, "none", {}, true}, Backend::flash);
  expect_matches_math({"Tq33_Tk100_causal_bottom_right", 1, 2, 33, 100, 128, DType::bf16, "none", {}, true},
                      Backend::flash);
  expect_matches_math({"Tq100_Tk33_causal_dead_rows", 1, 2, 100, 33, 64, DType::f16, "none", {}, true}, Backend::flash);
  expect_matches_math({"causal_key_lengths", 2, 4, 257, 257, 64, DType::bf16, "none", {257, 100}, true}, Backend::flash);
  expect_matches_math({"zero_key_length", 2, 2, 64, 64, 64, DType::f16, "none", {64, 0}}, Backend::flash);
  expect_matches_math({"bert_views_bthd", 4, 12, 128, 128, 64, DType::f16, "none", {128, 100, 37, 5}, false, true, true},
                      Backend::flash);
  expect_matches_math({"long_1500", 1, 2, 1500, 1500, 128, DType::bf16, "none", {}, true}, Backend::flash);
  // Many key tiles through the cp.async pipeline, lengths off the tile sizes; causal with Tq < Tk over several
  // 128-row blocks (blocks launched last-first, warps above the diagonal skipping tiles).
  expect_matches_math({"long_key_lengths", 2, 2, 1000, 1000, 64, DType::bf16, "none", {1000, 333}}, Backend::flash);
  expect_matches_math({"Tq300_Tk700_causal", 1, 3, 300, 700, 64, DType::f16, "none", {}, true}, Backend::flash);
  expect_matches_math({"Tq300_Tk700_causal_D128", 1, 2, 300, 700, 128, DType::bf16, "none", {}, true}, Backend::flash);
}

// The kernel works in x·|scale| and flips Q's sign for a negative scale; scale 0 gives uniform weights.
TEST(AttentionCuda, FlashScales) {
  TESSERA_REQUIRE_CUDA();
  for (double scale : {-0.2, 0.0, 0.5})
    for (int64_t D : {64, 128}) {
      Case c{fmt::format("scale_{}_D{}", scale, D), 2, 2, 150, 150, D, DType::bf16, "none", {150, 77}, true};
      c.scale = scale;
      expect_matches_math(c, Backend::flash);
      c.causal = false, c.dtype = DType::f16;
      expect_matches_math(c, Backend::flash);
    }
}

TEST(AttentionCuda, VarlenOverPaddedStorageSkipsPaddedRows) {
  TESSERA_REQUIRE_CUDA();
  for (DType dt : {DType::f16, DType::bf16}) {
    Case c{"varlen", 4, 3, 150, 150, 64, dt, "none", {150, 129, 64, 1}};
    c.skip = true;
    expect_matches_math(c, Backend::varlen);
    c.causal = true;
    expect_matches_math(c, Backend::varlen);
    c.bert_views = c.bthd = true;
    expect_matches_math(c, Backend::varlen);
  }
}

TEST(AttentionCuda, PackedVarlenEqualsPaddedFlash) {
  TESSERA_REQUIRE_CUDA();
  for (bool causal : {false, true}) {
    const int64_t B = 4, H = 2, T = 140, D = 64;
    std::vector<int64_t> len{140, 3, 77, 128};
    Tensor q = randn({B, H, T, D}, DType::f16, 5), k = randn({B, H, T, D}, DType::f16, 6), v = randn({B, H, T, D}, DType::f16, 7);
    // Pack the valid rows: (B, H, T, D) -> (total, H, D).
    auto pack = [&](const Tensor& x) {
      std::vector<Tensor> parts;
      for (int64_t b = 0; b < B; ++b) parts.push_back(ops::permute(ops::slice(ops::slice(x, 0, b, b + 1), 2, 0, len[b]), {0, 2, 1, 3}));
      return ops::reshape(ops::concat(parts, 1), {-1, H, D});
    };
    std::vector<int64_t> cu{0};
    for (int64_t n : len) cu.push_back(cu.back() + n);
    Tensor cu_t = Tensor::from_values({B + 1}, cu).to(kCuda);
    Backend ran = Backend::automatic;
    Tensor packed = attention::sdpa_varlen(on_cuda(ops::contiguous(pack(q))), on_cuda(ops::contiguous(pack(k))),
                                           on_cuda(ops::contiguous(pack(v))), cu_t, cu_t, {.causal = causal, .ran = &ran});
    EXPECT_EQ(ran, Backend::varlen);
    SdpaOptions o{.key_lengths = Tensor::from_values({B}, len).to(kCuda), .causal = causal, .backend = Backend::flash,
                  .output_bthd = true, .skip_padded_queries = true};
    Tensor padded = attention::sdpa(on_cuda(q), on_cuda(k), on_cuda(v), o).cpu();  // (B, T, H, D)
    std::vector<Tensor> rows;
    for (int64_t b = 0; b < B; ++b) rows.push_back(ops::slice(ops::slice(padded, 0, b, b + 1), 1, 0, len[b]));
    Tensor want = ops::reshape(ops::concat(rows, 1), {-1, H, D});
    EXPECT_EQ(error_of(packed, want), 0.0) << "packed and padded runs of the same kernel differ (causal " << causal << ")";
  }
}

TEST(AttentionCuda, MemoryEfficientMasksDtypesAndLayouts) {
  TESSERA_REQUIRE_CUDA();
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    std::string n(dtype_name(dt));
    expect_matches_math({n + "_plain", 2, 3, 70, 70, 64, dt}, Backend::memory_efficient);
    expect_matches_math({n + "_additive_padding", 3, 2, 100, 100, 64, dt, "additive_padding"}, Backend::memory_efficient);
    expect_matches_math({n + "_additive_full", 2, 2, 33, 47, 32, dt, "additive_full"}, Backend::memory_efficient);
    expect_matches_math({n + "_boolean", 2, 2, 40, 90, 16, dt, "boolean"}, Backend::memory_efficient);
    expect_matches_math({n + "_causal_key_lengths", 2, 2, 90, 90, 80, dt, "none", {90, 0}, true}, Backend::memory_efficient);
    expect_matches_math({n + "_D256", 1, 2, 50, 50, 256, dt}, Backend::memory_efficient);
    expect_matches_math({n + "_D8_T1", 1, 1, 1, 1, 8, dt}, Backend::memory_efficient);
    expect_matches_math({n + "_strided_head_dim", 2, 2, 45, 45, 48, dt, "none", {}, false, false, false, true},
                        Backend::memory_efficient);
    expect_matches_math({n + "_bert_views_bthd", 2, 4, 64, 64, 32, dt, "additive_padding", {}, false, true, true},
                        Backend::memory_efficient);
    // Several 64-key tiles (f32: the cp.async double buffer), D a multiple of 4 but not 8, D not a multiple of 4.
    expect_matches_math({n + "_additive_T300", 2, 3, 300, 300, 64, dt, "additive_padding"}, Backend::memory_efficient);
    expect_matches_math({n + "_D36_causal", 2, 2, 130, 130, 36, dt, "none", {}, true}, Backend::memory_efficient);
    expect_matches_math({n + "_D6_boolean", 2, 2, 70, 90, 6, dt, "boolean"}, Backend::memory_efficient);
    expect_matches_math({n + "_D200_additive_full", 1, 2, 70, 140, 200, dt, "additive_full"}, Backend::memory_efficient);
  }
}

TEST(AttentionCuda, AutomaticChoiceOnCuda) {
  TESSERA_REQUIRE_CUDA();
  auto chosen = [](DType dt, int64_t D, SdpaOptions o) {
    Tensor q = randn({2, 2, 64, D}, dt, 1).to(kCuda);
    attention::Explanation e = attention::sdpa_explain(q, q, q, o);
    return e.chosen;
  };
  EXPECT_EQ(chosen(DType::f16, 64, {}), Backend::flash);
  EXPECT_EQ(chosen(DType::bf16, 128, {.causal = true}), Backend::flash);
  Tensor lengths = Tensor::from_values({2}, std::vector<int64_t>{64, 10}).to(kCuda);
  EXPECT_EQ(chosen(DType::f16, 64, {.key_lengths = lengths}), Backend::flash);
  EXPECT_EQ(chosen(DType::f16, 64, {.key_lengths = lengths, .skip_padded_queries = true}), Backend::varlen);
  EXPECT_EQ(chosen(DType::f32, 64, {}), Backend::memory_efficient);
  EXPECT_EQ(chosen(DType::f16, 80, {}), Backend::memory_efficient);
  EXPECT_EQ(chosen(DType::f16, 64, {.mask = Tensor::zeros({2, 1, 1, 64}, DType::f16).to(kCuda)}), Backend::memory_efficient);
  EXPECT_EQ(chosen(DType::f16, 512, {}), Backend::math);
  attention::Explanation e = attention::sdpa_explain(randn({1, 1, 8, 64}, DType::f16, 2).to(kCuda),
                                                     randn({1, 1, 8, 64}, DType::f16, 3).to(kCuda),
                                                     randn({1, 1, 8, 64}, DType::f16, 4).to(kCuda));
  for (const auto& r : e.backends)
    for (const auto& c : r.failed) EXPECT_NE(c.id, "arch") << "this GPU is below sm_80? " << e.to_string();
}

}  // namespace tessera::testing
