// attention::sdpa on the CPU: math and the CPU flash kernel (on both instruction-set paths) against a naive
// double-precision loop (masks, key lengths, causal, views, dtypes, fully masked rows), the automatic choice,
// sdpa_explain's content for every backend, forced-backend refusals, capture/reference mode, logging, validation
// errors and packed varlen.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "attention/cpu_flash_kernels.h"
#include "attention/sdpa.h"
#include "backends/backend.h"
#include "graph/graph.h"
#include "models/bert.h"
#include "ops/op.h"
#include "tessera/ops.h"

namespace tessera::testing {

namespace {
using attention::Backend;
using attention::SdpaOptions;

Tensor randn(Shape shape, DType dt, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> v((std::size_t)shape_numel(shape));
  for (float& x : v) x = normal(rng) * (float)scale;
  return Tensor::from_values(std::move(shape), v, dt);
}

// The definition, in double: softmax(q kᵀ scale + mask) v over allowed keys; rows with none allowed are zeros.
std::vector<double> naive(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& o) {
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2), D = q.size(3);
  std::vector<float> qv = q.to_float_vector(), kv = k.to_float_vector(), vv = v.to_float_vector(), mv;
  if (o.mask.defined()) mv = ops::expand(o.mask, {B, H, Tq, Tk}).to_float_vector();
  std::vector<int64_t> kl = o.key_lengths.defined() ? o.key_lengths.to_int_vector() : std::vector<int64_t>(B, Tk);
  const bool is_bool = o.mask.defined() && o.mask.dtype() == DType::boolean;
  const double scale = o.scale.value_or(1.0 / std::sqrt((double)D));
  std::vector<double> out((std::size_t)(B * H * Tq * D), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        if (o.skip_padded_queries && i >= kl[b]) continue;
        std::vector<double> s(Tk, -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = 0; j < Tk; ++j) {
          bool allowed = j < kl[b] && (!o.causal || j <= i + Tk - Tq);
          int64_t mi = ((b * H + h) * Tq + i) * Tk + j;
          if (is_bool) allowed = allowed && mv[mi] != 0.f;
          if (!allowed) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += (double)qv[((b * H + h) * Tq + i) * D + d] * kv[((b * H + h) * Tk + j) * D + d];
          s[j] = dot * scale + (o.mask.defined() && !is_bool ? (double)mv[mi] : 0.0);
          mx = std::max(mx, s[j]);
        }
        if (mx == -INFINITY) continue;
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - mx));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < Tk; ++j) acc += s[j] * vv[((b * H + h) * Tk + j) * D + d];
          int64_t at = o.output_bthd ? ((b * Tq + i) * H + h) * D + d : ((b * H + h) * Tq + i) * D + d;
          out[at] = acc / sum;
        }
      }
  return out;
}

// Normalised max error: max |got - want| / max |want|.
double error_vs(const Tensor& got, const std::vector<double>& want) {
  std::vector<float> g = got.to_float_vector();
  EXPECT_EQ(g.size(), want.size());
  double diff = 0, ref = 0;
  for (std::size_t i = 0; i < g.size() && i < want.size(); ++i) {
    EXPECT_FALSE(std::isnan(g[i])) << "NaN at " << i;
    diff = std::max(diff, std::fabs(g[i] - want[i]));
    ref = std::max(ref, std::fabs(want[i]));
  }
  return diff / std::max(ref, 1e-30);
}

// The op harness's tolerance policy (tests/ops/harness.cpp): a few ulps of the output dtype, relative.
double tolerance(DType dt) { return dt == DType::f16 ? 4 * 9.77e-4 : dt == DType::bf16 ? 4 * 7.81e-3 : 2e-5; }

struct Case {
  std::string name;
  int64_t B, H, Tq, Tk, D;
  DType dtype = DType::f32;
  std::string mask = "none";  // none, additive_padding, additive_full, boolean
  std::vector<int64_t> key_lengths;
  bool causal = false, bthd = false, bert_views = false;
  std::optional<double> scale;
};

struct Made {
  Tensor q, k, v;
  SdpaOptions o;
};

Made make(const Case& c, uint64_t seed) {
  Made m;
  if (c.bert_views) {  // permuted slices of one (B, T, 3·H·D) projection, as BertLayer makes them
    int64_t C = c.H * c.D;
    Tensor qkv = randn({c.B, c.Tq, 3 * C}, c.dtype, seed);
    auto heads = [&](int64_t i) {
      return ops::permute(ops::reshape(ops::slice(qkv, -1, i * C, (i + 1) * C), {c.B, c.Tq, c.H, c.D}), {0, 2, 1, 3});
    };
    m.q = heads(0), m.k = heads(1), m.v = heads(2);
  } else {
    m.q = randn({c.B, c.H, c.Tq, c.D}, c.dtype, seed);
    m.k = randn({c.B, c.H, c.Tk, c.D}, c.dtype, seed + 1);
    m.v = randn({c.B, c.H, c.Tk, c.D}, c.dtype, seed + 2);
  }
  m.o.causal = c.causal, m.o.output_bthd = c.bthd, m.o.scale = c.scale;
  if (!c.key_lengths.empty()) m.o.key_lengths = Tensor::from_values({c.B}, c.key_lengths);
  if (c.mask == "additive_padding") {
    std::vector<float> a((std::size_t)(c.B * c.Tk), 0.f);
    for (int64_t b = 0; b < c.B; ++b)
      for (int64_t j = c.Tk - 1 - b * 3; j < c.Tk && j >= 0; ++j) a[(std::size_t)(b * c.Tk + j)] = -1e30f;
    m.o.mask = Tensor::from_values({c.B, 1, 1, c.Tk}, a, DType::f32);
  } else if (c.mask == "additive_full") {
    m.o.mask = randn({c.B, c.H, c.Tq, c.Tk}, DType::f32, seed + 3);
  } else if (c.mask == "boolean") {
    std::mt19937_64 rng(seed + 4);
    std::vector<float> a((std::size_t)(c.Tq * c.Tk));
    for (float& x : a) x = (float)(rng() % 4 != 0);
    m.o.mask = Tensor::from_values({1, 1, c.Tq, c.Tk}, a, DType::boolean);
  }
  return m;
}

std::vector<Case> cases() {
  return {
      {"f32_plain_T70", 2, 3, 70, 70, 32},
      {"f32_key_lengths_two_key_blocks", 2, 2, 300, 300, 64, DType::f32, "none", {300, 123}},
      {"f32_causal_bottom_right", 1, 2, 33, 100, 24, DType::f32, "none", {}, true},
      {"f32_causal_key_lengths", 2, 2, 65, 65, 16, DType::f32, "none", {65, 40}, true},
      {"f32_additive_padding", 3, 2, 40, 40, 16, DType::f32, "additive_padding"},
      {"f32_additive_full", 2, 2, 20, 37, 8, DType::f32, "additive_full"},
      {"f32_boolean", 1, 2, 19, 45, 8, DType::f32, "boolean"},
      {"f16_key_lengths", 2, 2, 130, 130, 64, DType::f16, "none", {130, 77}},
      {"bf16_causal", 1, 3, 90, 90, 32, DType::bf16, "none", {}, true},
      {"f32_bert_views_bthd", 2, 4, 80, 80, 16, DType::f32, "none", {80, 50}, false, true, true},
      {"f16_bert_views_bthd", 2, 2, 70, 70, 32, DType::f16, "none", {70, 3}, false, true, true},
      {"f32_single_token", 1, 1, 1, 1, 8},
      {"f32_custom_scale", 1, 2, 9, 300, 40, DType::f32, "none", {}, false, false, false, 0.3},
  };
}
}  // namespace

TEST(Sdpa, MathAndCpuFlashMatchNaiveLoop) {
  uint64_t seed = 1;
  for (const Case& c : cases()) {
    Made m = make(c, seed += 10);
    std::vector<double> want = naive(m.q, m.k, m.v, m.o);
    for (Backend b : {Backend::math, Backend::flash}) {
      SdpaOptions o = m.o;
      o.backend = b;
      Backend ran = Backend::automatic;
      o.ran = &ran;
      Tensor got = attention::sdpa(m.q, m.k, m.v, o);
      EXPECT_EQ(ran, b);
      Shape expect = c.bthd ? Shape{c.B, c.Tq, c.H, c.D} : Shape{c.B, c.H, c.Tq, c.D};
      EXPECT_EQ(got.shape(), expect) << c.name;
      EXPECT_EQ(got.dtype(), c.dtype) << c.name;
      EXPECT_TRUE(got.is_contiguous()) << c.name;
      EXPECT_LE(error_vs(got, want), tolerance(c.dtype)) << c.name << " backend " << attention::backend_name(b);
    }
  }
}

TEST(Sdpa, FullyMaskedRowsAreZerosOnEveryBackend) {
  std::vector<Case> cs = {
      {"zero_key_length", 2, 2, 12, 12, 8, DType::f32, "none", {12, 0}},
      {"causal_more_queries_than_keys", 1, 2, 10, 4, 8, DType::f32, "none", {}, true},
      {"boolean_rows_all_false", 1, 1, 19, 45, 8, DType::f32, "boolean"},
  };
  for (Case c : cs) {
    Made m = make(c, 7);
    if (c.mask == "boolean") {  // rows 0 and 5 fully masked
      std::vector<float> a((std::size_t)(c.Tq * c.Tk), 1.f);
      for (int64_t j = 0; j < c.Tk; ++j) a[j] = 0.f, a[5 * c.Tk + j] = 0.f;
      m.o.mask = Tensor::from_values({1, 1, c.Tq, c.Tk}, a, DType::boolean);
    }
    std::vector<double> want = naive(m.q, m.k, m.v, m.o);
    for (Backend b : {Backend::math, Backend::flash}) {
      SdpaOptions o = m.o;
      o.backend = b;
      EXPECT_LE(error_vs(attention::sdpa(m.q, m.k, m.v, o), want), 2e-5) << c.name << " " << attention::backend_name(b);
    }
  }
  // An additive row of -inf is masked too; a finite dtype-lowest row is not (uniform weights, as transformers).
  Tensor q = randn({1, 1, 2, 4}, DType::f32, 3), k = randn({1, 1, 3, 4}, DType::f32, 4), v = randn({1, 1, 3, 4}, DType::f32, 5);
  float lo = -std::numeric_limits<float>::max();
  Tensor mask = Tensor::from_values({1, 1, 2, 3}, std::vector<float>{-INFINITY, -INFINITY, -INFINITY, lo, lo, lo});
  for (Backend b : {Backend::math, Backend::flash}) {
    std::vector<float> y = attention::sdpa(q, k, v, {.mask = mask, .backend = b}).to_float_vector();
    std::vector<float> vv = v.to_float_vector();
    for (int d = 0; d < 4; ++d) {
      EXPECT_EQ(y[d], 0.f) << attention::backend_name(b);
      EXPECT_NEAR(y[4 + d], (vv[d] + vv[4 + d] + vv[8 + d]) / 3, 1e-5) << attention::backend_name(b);
    }
  }
}

TEST(Sdpa, SkipPaddedQueriesPicksVarlenAndZerosPaddedRows) {
  Case c{"skip", 2, 2, 100, 100, 16, DType::f32, "none", {100, 37}};
  Made m = make(c, 11);
  m.o.skip_padded_queries = true;
  std::vector<double> want = naive(m.q, m.k, m.v, m.o);
  Backend ran = Backend::automatic;
  SdpaOptions o = m.o;
  o.ran = &ran;
  EXPECT_LE(error_vs(attention::sdpa(m.q, m.k, m.v, o), want), 2e-5);
  EXPECT_EQ(ran, Backend::varlen);
  o.backend = Backend::math;
  EXPECT_LE(error_vs(attention::sdpa(m.q, m.k, m.v, o), want), 2e-5);
}

// The CPU flash kernel's register-blocked loops (Note [CPU flash kernel] in src/attention/cpu_flash.cpp) on both
// instruction-set paths: odd lengths, tails of tiles, key blocks and panels, head dims that are and are not a
// multiple of the vector width, key lengths 0 and partial, causal with Tq != Tk, masks, views and low precision.
TEST(Sdpa, CpuFlashKernelsMatchNaiveLoopOnBothIsaPaths) {
  const std::vector<int64_t> no_lengths;
  std::vector<Case> cs = {
      {"T1", 1, 1, 1, 1, 64},
      {"T5_D1", 1, 2, 5, 5, 1},
      {"T63_D24", 2, 2, 63, 63, 24},
      {"T129_D40_key_lengths", 3, 2, 129, 129, 40, DType::f32, "none", {129, 0, 77}},
      {"T300_D64_key_lengths", 2, 3, 300, 300, 64, DType::f32, "none", {1, 300}},
      {"T200_D80", 1, 2, 200, 200, 80},
      {"T150_D128_key_lengths", 2, 1, 150, 150, 128, DType::f32, "none", {150, 17}},
      {"T97_D256", 1, 2, 97, 97, 256},
      {"T70_D32_causal", 1, 2, 70, 70, 32, DType::f32, "none", no_lengths, true},
      {"causal_Tq_lt_Tk", 2, 2, 37, 290, 64, DType::f32, "none", {290, 100}, true},
      {"causal_Tq_gt_Tk", 1, 2, 140, 45, 32, DType::f32, "none", no_lengths, true},
      {"decode_Tq1_Tk333", 2, 3, 1, 333, 64, DType::f32, "none", {333, 5}, true},
      {"additive_full_D48", 2, 2, 67, 131, 48, DType::f32, "additive_full"},
      {"additive_padding", 3, 2, 90, 90, 64, DType::f32, "additive_padding"},
      {"boolean_D64", 1, 2, 70, 100, 64, DType::f32, "boolean"},
      {"bert_views_bthd", 2, 3, 130, 130, 64, DType::f32, "none", {130, 66}, false, true, true},
      {"f16_D128_causal", 1, 2, 100, 100, 128, DType::f16, "none", {}, true},
      {"bf16_D64_key_lengths", 2, 2, 150, 150, 64, DType::bf16, "none", {150, 40}},
      {"f16_bert_views", 2, 2, 80, 80, 64, DType::f16, "none", {80, 9}, false, true, true},
  };
  for (bool avx512 : {true, false}) {
    backends::set_cpu_avx512(avx512);
    std::string isa = attention::detail::cpu_flash_kernels().isa;
    if (!avx512) {
      EXPECT_EQ(isa, "avx2");
    }
    uint64_t seed = 100;
    for (const Case& c : cs) {
      Made m = make(c, seed += 10);
      for (bool skip : {false, true}) {
        if (skip && (c.key_lengths.empty() || c.Tq != c.Tk)) continue;
        SdpaOptions o = m.o;
        o.skip_padded_queries = skip;
        std::vector<double> want = naive(m.q, m.k, m.v, o);
        o.backend = skip ? Backend::varlen : Backend::flash;
        EXPECT_LE(error_vs(attention::sdpa(m.q, m.k, m.v, o), want), tolerance(c.dtype))
            << c.name << (skip ? " skip_padded_queries" : "") << " isa " << isa;
      }
    }
  }
  backends::set_cpu_avx512(true);
}

TEST(Sdpa, AutomaticChoiceOnCpu) {
  auto choice = [](int64_t T, DType dt) {
    Tensor q = randn({1, 2, T, 8}, dt, 1);
    return attention::sdpa_explain(q, q, q);
  };
  attention::Explanation small = choice(8, DType::f32);
  EXPECT_EQ(small.chosen, Backend::math);
  EXPECT_NE(small.backends[2].heuristic.find("cpu_flash_pays"), std::string::npos) << small.to_string();
  EXPECT_NE(small.to_string().find("passed over by cpu_flash_pays"), std::string::npos);
  EXPECT_EQ(choice(128, DType::f32).chosen, Backend::flash);
  EXPECT_EQ(choice(128, DType::bf16).chosen, Backend::flash);
  attention::Explanation f64 = choice(128, DType::f64);
  EXPECT_EQ(f64.chosen, Backend::math);
  EXPECT_EQ(f64.backends[2].failed.at(0).id, "dtype");
}

namespace {
std::vector<std::string> ids(const attention::BackendReport& r) {
  std::vector<std::string> out;
  for (const auto& c : r.failed) out.push_back(c.id);
  return out;
}
bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST(SdpaExplain, ListsEveryFailedCheckOfEveryBackend) {
  // A CUDA call that fails many checks at once: f32, head dim 80, an additive mask, a strided head dim,
  // unaligned rows, Tq != Tk. Whether a GPU or a CUDA build exists only adds build/arch failures.
  attention::SdpaProblem p{.batch = 2, .heads = 4, .q_len = 100, .k_len = 120, .head_dim = 80, .dtype = DType::f32,
                           .device = {DeviceType::cuda, 0}, .mask = attention::MaskKind::additive,
                           .mask_dtype = DType::f32};
  p.last_dim_contiguous = false, p.aligned_16 = false;
  attention::Explanation e = attention::sdpa_explain(p);
  ASSERT_EQ(e.backends.size(), 5u);
  EXPECT_EQ(e.backends[0].backend, Backend::math);
  EXPECT_TRUE(e.backends[0].ok());
  std::vector<std::string> flash = ids(e.backends[2]);
  for (const char* id : {"dtype", "head_dim", "mask", "layout", "alignment"}) EXPECT_TRUE(has(flash, id)) << id;
  std::vector<std::string> varlen = ids(e.backends[3]);
  for (const char* id : {"key_lengths", "skip_padded_queries", "self_attention", "mask", "dtype", "head_dim", "layout",
                         "alignment"})
    EXPECT_TRUE(has(varlen, id)) << id;
  std::vector<std::string> hopper = ids(e.backends[4]);
  for (const char* id : {"built", "dtype", "head_dim", "mask"}) EXPECT_TRUE(has(hopper, id)) << id;
  for (const std::string& id : ids(e.backends[1])) EXPECT_TRUE(id == "build" || id == "arch") << id;  // memory_efficient
  // Text and JSON carry the same checks: id, expected, got.
  std::string text = e.to_string();
  nlohmann::json j = e.to_json();
  for (std::size_t b = 0; b < e.backends.size(); ++b) {
    ASSERT_EQ(j["backends"][b]["failed_checks"].size(), e.backends[b].failed.size());
    for (const auto& c : e.backends[b].failed)
      EXPECT_NE(text.find(fmt::format("{}: expected {}, got {}", c.id, c.expected, c.got)), std::string::npos) << c.id;
  }
  EXPECT_NE(text.find("head_dim: expected 32|64|96|128|256, got 80"), std::string::npos) << text;
  EXPECT_EQ(j["chosen"], e.backends[1].ok() ? "memory_efficient" : "math");
  // On the CPU the CUDA-only backends say so.
  attention::SdpaProblem cpu{.q_len = 128, .k_len = 128};
  attention::Explanation ec = attention::sdpa_explain(cpu);
  EXPECT_TRUE(has(ids(ec.backends[1]), "device"));
  EXPECT_EQ(ec.chosen, Backend::flash);
}

TEST(SdpaExplain, ForcedBackendRefusalNamesEveryFailedCheck) {
  auto error_of = [](const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  Tensor q64 = randn({1, 2, 16, 8}, DType::f64, 1);
  std::string e = error_of([&] { attention::sdpa(q64, q64, q64, {.backend = Backend::flash}); });
  EXPECT_NE(e.find("backend 'flash' was forced"), std::string::npos) << e;
  EXPECT_NE(e.find("dtype: expected f32|f16|bf16 (cpu), got f64"), std::string::npos) << e;
  EXPECT_NE(e.find("Backends that can: math"), std::string::npos) << e;
  Tensor q = randn({1, 2, 16, 8}, DType::f32, 2);
  e = error_of([&] { attention::sdpa(q, q, q, {.backend = Backend::memory_efficient}); });
  EXPECT_NE(e.find("device: expected cuda, got cpu"), std::string::npos) << e;
  e = error_of([&] { attention::sdpa(q, q, q, {.backend = Backend::varlen}); });
  EXPECT_NE(e.find("key_lengths: expected"), std::string::npos) << e;
  EXPECT_NE(e.find("skip_padded_queries: expected"), std::string::npos) << e;
  e = error_of([&] { attention::sdpa(q, q, q, {.backend = Backend::flash_hopper}); });
  EXPECT_NE(e.find("not built yet"), std::string::npos) << e;
}

TEST(Sdpa, CaptureAndReferenceModeRunMath) {
  Tensor q = randn({1, 2, 128, 16}, DType::f32, 3), k = randn({1, 2, 128, 16}, DType::f32, 4);
  Tensor v = randn({1, 2, 128, 16}, DType::f32, 5);
  Backend ran = Backend::automatic;
  graph::Graph g = graph::capture(
      [&](const std::vector<Tensor>& in) {
        EXPECT_TRUE(has(ids(attention::sdpa_explain(in[0], in[1], in[2]).backends[2]), "eager"));
        return std::vector<Tensor>{attention::sdpa(in[0], in[1], in[2], {.ran = &ran})};
      },
      {q, k, v});
  EXPECT_EQ(ran, Backend::math);
  EXPECT_EQ(g.count(ops::OpId::softmax), 1);
  Tensor eager_math = attention::sdpa(q, k, v, {.backend = Backend::math});
  Tensor replayed = graph::run(g, {q, k, v})[0];
  EXPECT_EQ(eager_math.to_float_vector(), replayed.to_float_vector());
  {
    ops::ExecModeGuard reference(ops::ExecMode::reference);
    attention::sdpa(q, k, v, {.ran = &ran});
    EXPECT_EQ(ran, Backend::math);
  }
  attention::sdpa(q, k, v, {.ran = &ran});
  EXPECT_EQ(ran, Backend::flash);
}

TEST(Sdpa, LoggingPrintsEachDistinctCallOnce) {
  Tensor q = randn({1, 1, 70, 8}, DType::f32, 6), r = randn({1, 1, 71, 8}, DType::f32, 7);
  ::testing::internal::CaptureStderr();
  attention::set_sdpa_logging(true);
  attention::sdpa(q, q, q);
  attention::sdpa(q, q, q);
  attention::sdpa(r, r, r);
  attention::set_sdpa_logging(false);
  attention::sdpa(q, q, q, {.causal = true});
  std::string log = ::testing::internal::GetCapturedStderr();
  std::size_t n = 0;
  for (std::size_t at = log.find("chosen:"); at != std::string::npos; at = log.find("chosen:", at + 1)) ++n;
  EXPECT_EQ(n, 2u) << log;
  EXPECT_NE(log.find("flash_hopper"), std::string::npos);
}

TEST(Sdpa, ClearErrorsForBadInputs) {
  Tensor q = randn({2, 2, 5, 8}, DType::f32, 1), k = randn({2, 2, 6, 8}, DType::f32, 2);
  auto message = [](const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { attention::sdpa(q, k, randn({2, 2, 5, 8}, DType::f32, 3)); }).find("(B, H, Tk, D)"),
            std::string::npos);
  EXPECT_NE(message([&] { attention::sdpa(ops::reshape(q, {4, 5, 8}), k, k); }).find("(B, H, T, D)"), std::string::npos);
  EXPECT_NE(message([&] { attention::sdpa(q, k, k, {.mask = Tensor::zeros({3, 6})}); }).find("does not broadcast"),
            std::string::npos);
  EXPECT_NE(message([&] { attention::sdpa(q, k, k, {.key_lengths = Tensor::zeros({3}, DType::i64)}); }).find("key_lengths"),
            std::string::npos);
  EXPECT_NE(message([&] { attention::sdpa(q, k, k, {.key_lengths = Tensor::zeros({2}, DType::f32)}); }).find("i32/i64"),
            std::string::npos);
  EXPECT_NE(message([&] { attention::sdpa(q, q, q, {.skip_padded_queries = true}); }).find("skip_padded_queries"),
            std::string::npos);
  EXPECT_NE(message([&] { attention::sdpa(q, ops::cast(k, DType::f16), k); }).find("one floating dtype"),
            std::string::npos);
  EXPECT_EQ(attention::backend_from_name("memory_efficient"), Backend::memory_efficient);
  EXPECT_EQ(attention::backend_from_name("auto"), Backend::automatic);
  EXPECT_FALSE(attention::backend_from_name("cudnn").has_value());
}

TEST(SdpaVarlen, PackedSequencesMatchEachSequenceAlone) {
  const int64_t H = 2, D = 16;
  std::vector<int64_t> lq{5, 70, 0, 1}, lk{9, 70, 3, 1};
  for (bool causal : {false, true}) {
    std::vector<int64_t> cq{0}, ck{0};
    for (std::size_t b = 0; b < lq.size(); ++b) cq.push_back(cq.back() + lq[b]), ck.push_back(ck.back() + lk[b]);
    Tensor q = randn({cq.back(), H, D}, DType::f32, 8), k = randn({ck.back(), H, D}, DType::f32, 9);
    Tensor v = randn({ck.back(), H, D}, DType::f32, 10);
    Tensor out = attention::sdpa_varlen(q, k, v, Tensor::from_values({(int64_t)cq.size()}, cq),
                                        Tensor::from_values({(int64_t)ck.size()}, ck), {.causal = causal});
    ASSERT_EQ(out.shape(), (Shape{cq.back(), H, D}));
    std::vector<float> got = out.to_float_vector();
    for (std::size_t b = 0; b < lq.size(); ++b) {
      if (lq[b] == 0) continue;
      auto view = [](const Tensor& x, int64_t s, int64_t e) {
        return ops::unsqueeze(ops::permute(ops::slice(x, 0, s, e), {1, 0, 2}), 0);
      };
      std::vector<double> want = naive(view(q, cq[b], cq[b + 1]), view(k, ck[b], ck[b + 1]), view(v, ck[b], ck[b + 1]),
                                       {.causal = causal, .output_bthd = true});
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[cq[b] * H * D + i], want[i], 1e-5) << b;
    }
  }
  Tensor x = randn({4, 1, 8}, DType::f32, 1), cu = Tensor::from_values({2}, std::vector<int64_t>{0, 4});
  EXPECT_THROW(attention::sdpa_varlen(x, x, x, cu, cu, {.backend = Backend::varlen}), Error);  // packed kernel: CUDA only
  EXPECT_THROW(attention::sdpa_varlen(x, x, x, Tensor::from_values({2}, std::vector<int64_t>{0, 3}), cu), Error);
}

TEST(Sdpa, BertRecordsTheAttentionBackendInRunInfo) {
  models::BertConfig c = models::BertConfig::base();
  c.hidden_size = 32, c.num_attention_heads = 2, c.num_hidden_layers = 1, c.intermediate_size = 64, c.vocab_size = 50;
  c.max_position_embeddings = 128;
  auto m = models::BertForSequenceClassification::from_config(c, /*seed=*/2);
  auto batch = [](int64_t B, int64_t T, int64_t pad) {
    std::vector<int64_t> ids(B * T, 3), mask(B * T, 1);
    for (int64_t t = T - pad; t < T; ++t) mask[T + t] = 0;  // the second sequence is right-padded
    return models::Batch{Tensor::from_values({B, T}, ids), Tensor::from_values({B, T}, mask), Tensor()};
  };
  m->classify(batch(2, 8, 2));
  EXPECT_EQ(m->run_info().attention, "math");  // below one key tile (Note [CPU flash default])
  Tensor flash = m->classify(batch(2, 80, 30));
  EXPECT_EQ(m->run_info().attention, "flash");
  EXPECT_EQ(flash.shape(), (Shape{2, 2}));
}

}  // namespace tessera::testing
