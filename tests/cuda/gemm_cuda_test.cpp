// The cuBLASLt GEMM kernels (matmul, linear) against the CPU reference on the same inputs: f32 bit-exact on
// integer values and within 1e-5 on random ones, f16/bf16 within their rounding error; odd sizes, broadcast
// batches, transposed views, BERT's attention views, the bias epilogue, plan caching, the TF32 opt-in, errors,
// and the op harness' linalg cases run on the device.
#include <gtest/gtest.h>

#include "cuda/cuda_test_util.h"

#include <cmath>
#include <random>

#include "backends/backend.h"
#include "backends/cuda/kernels/gemm_layout.h"
#include "backends/cuda/kernels/gemm_lt.h"
#include "backends/gemm_options.h"
#include "ops/harness.h"
#include "tessera/ops.h"

namespace tessera::testing {

namespace {
const Device kCuda{DeviceType::cuda, 0};
using backends::cuda::lt_stats;

// Fresh values: integers in [-4, 4] (exact f32 GEMMs) or standard normal, rounded to `dtype`.
Tensor random(Shape shape, DType dtype, uint64_t seed, bool integers = false) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v((std::size_t)shape_numel(shape));
  for (float& x : v) x = integers ? (float)((int64_t)(rng() % 9) - 4) : normal(rng);
  return Tensor::from_values(std::move(shape), v, dtype);
}

// The same view on the device: the whole storage copied, then the same shape, strides and offset.
Tensor same_view_on_cuda(const Tensor& t) {
  const int64_t elems = (int64_t)(t.storage()->nbytes() / dtype_size(t.dtype()));
  Tensor flat = Tensor::from_external(t.storage()->data(), {elems}, {1}, t.dtype(), t.storage());
  return flat.to(kCuda).as_strided(t.shape(), t.strides(), t.offset());
}

// Tolerances (DESIGN.md §7): f32 1e-5 of the output's scale; f16/bf16 a few units of their rounding.
double tolerance(DType dt) {
  switch (dt) {
    case DType::f16: return 4 * 9.77e-4;
    case DType::bf16: return 4 * 7.81e-3;
    case DType::f64: return 1e-12;
    default: return 1e-5;
  }
}

// Empty when `got` (any device) matches `want` (cpu): max |got - want| / max |want| <= tol (tol 0: bit-exact
// values), NaN and Inf in the same places.
std::string compare(const Tensor& got_any, const Tensor& want, double tol) {
  Tensor got = got_any.cpu();
  if (got.shape() != want.shape() || got.dtype() != want.dtype())
    return fmt::format("got {} {}, want {} {}", dtype_name(got.dtype()), shape_str(got.shape()), dtype_name(want.dtype()),
                       shape_str(want.shape()));
  double max_ref = 0, max_diff = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = read_element(got, i), w = read_element(want, i);
    if (std::isnan(g) || std::isnan(w) || std::isinf(g) || std::isinf(w)) {
      if (!(std::isnan(g) && std::isnan(w)) && g != w) return fmt::format("NaN/Inf parity at {}: got {}, want {}", i, g, w);
      continue;
    }
    max_ref = std::max(max_ref, std::fabs(w));
    max_diff = std::max(max_diff, std::fabs(g - w));
  }
  const double err = max_diff == 0 ? 0 : max_diff / std::max(max_ref, 1e-30);
  if (err > tol || (tol == 0 && max_diff != 0)) return fmt::format("normalised error {:.3g} > {:.3g}", err, tol);
  return {};
}

Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  ops::ExecModeGuard ref(ops::ExecMode::reference);
  return ops::matmul(a, b);
}
Tensor reference_linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  ops::ExecModeGuard ref(ops::ExecMode::reference);
  return ops::linear(x, w, bias);
}


// matmul of CPU views `a`, `b` on the device (same views) vs the reference; checks the kernel that ran.
void expect_matmul(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  Tensor da = same_view_on_cuda(a), db = same_view_on_cuda(b);
  const backends::KernelEntry* k = backends::cuda_kernel(ops::OpId::matmul, std::vector<Tensor>{da, db}, {});
  ASSERT_TRUE(k) << what << ": no CUDA kernel accepted the inputs";
  EXPECT_STREQ(k->name, "cuda.gemm_lt") << what;
  backends::reset_host_fallbacks();
  Tensor got = ops::matmul(da, db);
  EXPECT_EQ(got.device(), kCuda) << what;
  EXPECT_EQ(fallbacks(), "") << what;
  EXPECT_EQ(compare(got, reference_matmul(a, b), tol), "") << what << " " << dtype_name(a.dtype()) << " "
                                                           << shape_str(a.shape()) << " @ " << shape_str(b.shape());
}

void expect_linear(const Tensor& x, const Tensor& w, const Tensor& bias, double tol, const std::string& what) {
  Tensor dx = same_view_on_cuda(x), dw = same_view_on_cuda(w), dbias = bias.defined() ? same_view_on_cuda(bias) : Tensor();
  std::vector<Tensor> in{dx, dw};
  if (bias.defined()) in.push_back(dbias);
  const backends::KernelEntry* k = backends::cuda_kernel(ops::OpId::linear, in, {});
  ASSERT_TRUE(k) << what << ": no CUDA kernel accepted the inputs";
  EXPECT_STREQ(k->name, "cuda.gemm_lt_linear") << what;
  backends::reset_host_fallbacks();
  Tensor got = ops::linear(dx, dw, dbias);
  EXPECT_EQ(fallbacks(), "") << what;
  EXPECT_EQ(compare(got, reference_linear(x, w, bias), tol), "")
      << what << " " << dtype_name(x.dtype()) << " x " << shape_str(x.shape()) << " w " << shape_str(w.shape())
      << (bias.defined() ? " +bias" : "");
}

struct Mkn {
  int64_t m, k, n;
};
const Mkn kShapes[] = {{1, 1, 1}, {7, 13, 5}, {129, 65, 33}, {64, 256, 128}, {1, 300, 17}, {33, 1, 9}, {8, 64, 1}};
}  // namespace

// Layout planning is host arithmetic: these run without a device (Note [GEMM batch layouts]).
TEST(CudaGemmLayout, AddressableMatrices) {
  using backends::cuda::matrix_view;
  auto view = [](int64_t r, int64_t c, int64_t sr, int64_t sc) {
    auto v = matrix_view(r, c, sr, sc);
    return v ? fmt::format("{}{}", v->trans ? "T" : "N", v->ld) : std::string("none");
  };
  EXPECT_EQ(view(3, 4, 4, 1), "N4");
  EXPECT_EQ(view(3, 4, 10, 1), "N10");   // padded rows
  EXPECT_EQ(view(3, 4, 1, 3), "T3");     // transposed view
  EXPECT_EQ(view(3, 4, 1, 7), "T7");
  EXPECT_EQ(view(1, 4, 0, 1), "N4");     // one row: its stride is free
  EXPECT_EQ(view(1, 4, 0, 3), "T3");     // a strided row
  EXPECT_EQ(view(5, 1, 1, 0), "N1");     // one column
  EXPECT_EQ(view(6, 4, 9, 2), "none");   // sliced last dim
  EXPECT_EQ(view(6, 4, 1, 0), "none");   // broadcast last dim
  EXPECT_EQ(view(6, 4, 2, 1), "none");   // overlapping rows
}

TEST(CudaGemmLayout, BatchDimsCollapseFoldOrLoop) {
  using backends::cuda::plan_gemm;
  auto batch_str = [](const backends::cuda::BatchDim& d) {
    return fmt::format("{}:{},{},{}", d.size, d.stride_a, d.stride_b, d.stride_c);
  };
  // BERT q @ k^T: (B, H, T, D) strides (T*3C, D, 3C, 1) with B=2, H=3, T=7, D=8 -> H-batched, B looped.
  auto bert = plan_gemm({{2, 3, 7, 8}, {504, 8, 72, 1}}, {{2, 3, 8, 7}, {504, 8, 1, 72}});
  ASSERT_TRUE(bert);
  EXPECT_EQ(fmt::format("{} {} {} {}{} {}{}", bert->m, bert->n, bert->k, bert->a.trans, bert->a.ld, bert->b.trans, bert->b.ld),
            "7 7 8 false72 true72");
  EXPECT_EQ(batch_str(bert->batch), "3:8,8,49");
  ASSERT_EQ(bert->outer.size(), 1u);
  EXPECT_EQ(batch_str(bert->outer[0]), "2:504,504,147");
  // linear on contiguous (B, T, K): B folded into M, one plain GEMM.
  auto lin = plan_gemm({{2, 9, 24}, {216, 24, 1}}, {{24, 10}, {1, 24}});
  ASSERT_TRUE(lin);
  EXPECT_EQ(lin->m, 18);
  EXPECT_EQ(lin->batch.size, 1);
  EXPECT_EQ(lin->calls(), 1);
  // One row per batch entry with a batch stride: folded with ld = that stride.
  auto rows = plan_gemm({{4, 1, 13}, {26, 13, 1}}, {{13, 5}, {5, 1}});
  ASSERT_TRUE(rows);
  EXPECT_EQ(fmt::format("{} {}", rows->m, rows->a.ld), "4 26");
  // Contiguous batch dims merge into one strided batch.
  auto merged = plan_gemm({{2, 3, 8, 16}, {384, 128, 16, 1}}, {{2, 3, 16, 5}, {240, 80, 5, 1}});
  ASSERT_TRUE(merged);
  EXPECT_EQ(batch_str(merged->batch), "6:128,80,40");
  EXPECT_TRUE(merged->outer.empty());
  // Broadcast on both sides: (2, 1) x (3): the larger dim batched, the other looped.
  auto both = plan_gemm({{2, 1, 8, 16}, {128, 128, 16, 1}}, {{3, 16, 5}, {80, 5, 1}});
  ASSERT_TRUE(both);
  EXPECT_EQ(batch_str(both->batch), "3:0,80,40");
  ASSERT_EQ(both->outer.size(), 1u);
  EXPECT_EQ(batch_str(both->outer[0]), "2:128,0,120");
  // A sliced last dim is not addressable.
  EXPECT_FALSE(plan_gemm({{5, 6}, {6, 1}}, {{6, 4}, {9, 2}}));
}

TEST(CudaGemm, MatmulF32IntegersAreBitExact) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  uint64_t seed = 1;
  for (const Mkn& s : kShapes) {
    expect_matmul(random({s.m, s.k}, DType::f32, seed, true), random({s.k, s.n}, DType::f32, seed + 1, true), 0, "int");
    seed += 2;
  }
  expect_matmul(random({3, 17, 33}, DType::f32, 90, true), random({3, 33, 9}, DType::f32, 91, true), 0, "int batched");
}

TEST(CudaGemm, MatmulF32RandomWithinOneEMinus5) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  uint64_t seed = 100;
  for (const Mkn& s : kShapes) {
    expect_matmul(random({s.m, s.k}, DType::f32, seed), random({s.k, s.n}, DType::f32, seed + 1), 1e-5, "random");
    seed += 2;
  }
  // Long K: TF32 (off by default, Note [TF32 off by default]) would be ~1e-3 off here.
  expect_matmul(random({96, 2048}, DType::f32, 120), random({2048, 80}, DType::f32, 121), 1e-5, "long k");
}

TEST(CudaGemm, MatmulHalfAndBFloat16) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  uint64_t seed = 200;
  for (DType dt : {DType::f16, DType::bf16}) {
    for (const Mkn& s : kShapes) {
      expect_matmul(random({s.m, s.k}, dt, seed), random({s.k, s.n}, dt, seed + 1), tolerance(dt), "low precision");
      seed += 2;
    }
    expect_matmul(random({2, 9, 24}, dt, seed), random({2, 24, 7}, dt, seed + 1), tolerance(dt), "batched");
    seed += 2;
  }
}

TEST(CudaGemm, BroadcastBatchDims) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  for (DType dt : {DType::f32, DType::f16}) {
    const double tol = dt == DType::f32 ? 0.0 : tolerance(dt);  // f32 on integers: exact
    const bool ints = dt == DType::f32;
    expect_matmul(random({2, 1, 8, 16}, dt, 1, ints), random({3, 16, 5}, dt, 2, ints), tol, "both broadcast");
    expect_matmul(random({4, 7, 13}, dt, 3, ints), random({13, 5}, dt, 4, ints), tol, "b broadcast (folded into M)");
    expect_matmul(random({7, 13}, dt, 5, ints), random({4, 13, 5}, dt, 6, ints), tol, "a broadcast");
    expect_matmul(random({2, 3, 8, 16}, dt, 7, ints), random({1, 3, 16, 5}, dt, 8, ints), tol, "size-1 batch dim");
    expect_matmul(random({6, 5, 16}, dt, 9, ints), ops::expand(random({1, 16, 4}, dt, 10, ints), {6, 16, 4}), tol,
                  "stride-0 batch (expand)");
    // Three batch dims that don't collapse: one strided batch, the others looped.
    Tensor a = ops::permute(random({2, 3, 4, 5, 6}, dt, 11, ints), {1, 0, 2, 3, 4});  // (3, 2, 4, 5, 6)
    expect_matmul(a, random({4, 6, 7}, dt, 12, ints), tol, "permuted batch dims");
  }
}

TEST(CudaGemm, TransposedViewsWithoutCopies) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    const double tol = dt == DType::f32 ? 0.0 : tolerance(dt);
    const bool ints = dt == DType::f32;
    Tensor at = ops::transpose(random({13, 7}, dt, 1, ints), 0, 1);  // (7, 13), strides (1, 7)
    Tensor bt = ops::transpose(random({5, 13}, dt, 2, ints), 0, 1);  // (13, 5), strides (1, 13)
    expect_matmul(at, random({13, 5}, dt, 3, ints), tol, "a^T");
    expect_matmul(random({7, 13}, dt, 4, ints), bt, tol, "b^T");
    expect_matmul(at, bt, tol, "a^T b^T");
    expect_matmul(ops::transpose(random({3, 65, 129}, dt, 5, ints), -1, -2),
                  ops::transpose(random({3, 33, 65}, dt, 6, ints), -1, -2), tol, "batched a^T b^T");
    // A row-major view with a padded row stride (a column slice): ld > cols.
    expect_matmul(ops::slice(random({9, 20}, dt, 7, ints), 1, 2, 15), random({13, 4}, dt, 8, ints), tol, "padded ld");
  }
}

// BERT's attention: q, k, v are (B, H, T, D) views of one (B, T, 3C) buffer with strides (T*3C, D, 3C, 1).
TEST(CudaGemm, BertAttentionViews) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  const int64_t B = 2, T = 7, H = 3, D = 8, C = H * D;
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    Tensor qkv = random({B, T, 3 * C}, dt, 42);
    auto heads = [&](int64_t i) {
      return ops::permute(ops::reshape(ops::slice(qkv, -1, i * C, (i + 1) * C), {B, T, H, D}), {0, 2, 1, 3});
    };
    Tensor q = heads(0), k = heads(1), v = heads(2);
    ASSERT_EQ(q.strides(), (Strides{T * 3 * C, D, 3 * C, 1}));
    const double tol = dt == DType::f32 ? 1e-5 : tolerance(dt);
    const auto before = lt_stats();
    expect_matmul(q, ops::transpose(k, -1, -2), tol, "q @ k^T");
    expect_matmul(random({B, H, T, T}, dt, 43), v, tol, "probs @ v");
    // Each product: one H-batched call per b (B < H), no copies of q, k or v.
    EXPECT_EQ(lt_stats().matmuls - before.matmuls, 2 * std::min(B, H));
    // A repeat reuses the cached plans: no new heuristic queries.
    const auto again = lt_stats();
    expect_matmul(q, ops::transpose(k, -1, -2), tol, "q @ k^T again");
    EXPECT_EQ(lt_stats().heuristic_queries, again.heuristic_queries);
  }
}

TEST(CudaGemm, LinearWithAndWithoutBias) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    const double tol = tolerance(dt);
    uint64_t seed = 300;
    for (bool with_bias : {false, true}) {
      Tensor bias5 = with_bias ? random({5}, dt, seed) : Tensor(), bias10 = with_bias ? random({10}, dt, seed + 1) : Tensor();
      seed += 2;
      expect_linear(random({7, 13}, dt, seed), random({5, 13}, dt, seed + 1), bias5, tol, "2-D");
      seed += 2;
      expect_linear(random({13}, dt, seed), random({5, 13}, dt, seed + 1), bias5, tol, "1-D");
      seed += 2;
      expect_linear(random({129, 65}, dt, seed), random({10, 65}, dt, seed + 1), bias10, tol, "odd");
      seed += 2;
      // (B, T, K) contiguous is one (B*T, K) GEMM.
      const auto before = lt_stats();
      expect_linear(random({2, 9, 24}, dt, seed), random({10, 24}, dt, seed + 1), bias10, tol, "3-D");
      seed += 2;
      EXPECT_EQ(lt_stats().matmuls - before.matmuls, 1) << "3-D contiguous input is one GEMM";
    }
  }
  // f32 on integers: bit-exact, bias included.
  expect_linear(random({2, 6, 32}, DType::f32, 1, true), random({12, 32}, DType::f32, 2, true),
                random({12}, DType::f32, 3, true), 0, "int exact");
}

TEST(CudaGemm, LinearViewsAndMisalignedBias) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  for (DType dt : {DType::f32, DType::f16, DType::bf16}) {
    Tensor x = ops::transpose(random({16, 6}, dt, 1), 0, 1);          // (6, 16), strides (1, 6)
    Tensor w = ops::transpose(random({16, 5}, dt, 2), 0, 1);          // (5, 16), strides (1, 5)
    Tensor bias = ops::slice(random({7}, dt, 3), 0, 1, 6);           // offset one element: misaligned
    Tensor x3 = ops::slice(random({2, 9, 40}, dt, 4), -1, 3, 27);    // (2, 9, 24) with row stride 40
    expect_linear(x, w, bias, tolerance(dt), "x^T, w^T, misaligned bias");
    expect_linear(x3, random({10, 24}, dt, 5), ops::slice(random({21}, dt, 6), 0, 1, 21, 2), tolerance(dt),
                  "padded rows, strided bias");
    // (T, B, K) -> (B, T, K) view: B can't fold into M, so a strided batch sharing the bias.
    expect_linear(ops::permute(random({9, 2, 24}, dt, 7), {1, 0, 2}), random({10, 24}, dt, 8), random({10}, dt, 9),
                  tolerance(dt), "batched with bias");
  }
}

TEST(CudaGemm, EmptyAndZeroK) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  Tensor a = same_view_on_cuda(random({3, 0}, DType::f32, 1)), b = same_view_on_cuda(random({0, 4}, DType::f32, 2));
  EXPECT_EQ(compare(ops::matmul(a, b), Tensor::zeros({3, 4}), 0), "");
  Tensor e = ops::matmul(same_view_on_cuda(random({0, 5}, DType::f16, 3)), same_view_on_cuda(random({5, 3}, DType::f16, 4)));
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  Tensor x = same_view_on_cuda(random({2, 0}, DType::f32, 5)), w = same_view_on_cuda(random({4, 0}, DType::f32, 6));
  EXPECT_EQ(compare(ops::linear(x, w, Tensor()), Tensor::zeros({2, 4}), 0), "");
}

// Operands BLAS can't address (a sliced or broadcast last dim) are copied first (or fall back): still correct.
TEST(CudaGemm, NonAddressableOperands) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  Tensor a = random({5, 6}, DType::f32, 1, true);
  Tensor b_sliced = ops::slice(random({6, 9}, DType::f32, 2, true), 1, 1, 9, 2);  // (6, 4), strides (9, 2)
  Tensor b_bcast = ops::expand(random({6, 1}, DType::f32, 3, true), {6, 4});      // strides (1, 0)
  for (const Tensor& b : {b_sliced, b_bcast}) {
    Tensor got = ops::matmul(same_view_on_cuda(a), same_view_on_cuda(b));
    EXPECT_EQ(compare(got, reference_matmul(a, b), 0), "") << "b strides " << fmt::format("{}", b.strides());
  }
}

TEST(CudaGemm, NanAndInfPropagate) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  Tensor a = random({4, 8}, DType::f32, 1);
  std::vector<float> v = a.to_float_vector();
  v[0] = NAN, v[9] = INFINITY, v[18] = -INFINITY, v[27] = 1e30f;
  a = Tensor::from_values({4, 8}, v, DType::f32);
  expect_matmul(a, random({8, 3}, DType::f32, 2), 1e-5, "specials");
}

TEST(CudaGemm, Tf32IsAnExplicitOptIn) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  EXPECT_FALSE(backends::allow_tf32());
  Tensor a = random({256, 512}, DType::f32, 1), b = random({512, 256}, DType::f32, 2);
  Tensor want = reference_matmul(a, b);
  Tensor da = same_view_on_cuda(a), db = same_view_on_cuda(b);
  EXPECT_EQ(compare(ops::matmul(da, db), want, 1e-5), "");
  const auto before = lt_stats();
  backends::set_allow_tf32(true);
  Tensor tf32 = ops::matmul(da, db);
  backends::set_allow_tf32(false);
  EXPECT_EQ(lt_stats().heuristic_queries - before.heuristic_queries, 1) << "TF32 plans are cached separately";
  EXPECT_EQ(compare(tf32, want, 1e-2), "");  // TF32: 10-bit mantissa inputs
  EXPECT_EQ(compare(ops::matmul(da, db), want, 1e-5), "") << "opt-out restores f32 accuracy";
}

TEST(CudaGemm, ShapeErrorsAreTheOpsErrors) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  auto dev = [](Shape s, DType dt = DType::f32) { return same_view_on_cuda(random(std::move(s), dt, 7)); };
  auto expect_error = [](auto&& f, const std::string& needle) {
    try {
      f();
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([&] { (void)ops::matmul(dev({2, 3}), dev({4, 5})); }, "inner dimensions differ");
  expect_error([&] { (void)ops::matmul(dev({2, 3, 4}), dev({3, 4, 5})); }, "cannot be broadcast");
  expect_error([&] { (void)ops::matmul(dev({2, 3}), dev({3, 4}, DType::f16)); }, "different dtypes");
  expect_error([&] { (void)ops::matmul(dev({2, 3}), random({3, 4}, DType::f32, 1)); }, "different devices");
  expect_error([&] { (void)ops::linear(dev({2, 8}), dev({5, 7}), Tensor()); }, "weight must have shape");
  expect_error([&] { (void)ops::linear(dev({2, 8}), dev({5, 8}), dev({4})); }, "bias must have shape");
}

TEST(CudaGemm, DeclinesWhatItDoesNotHandle) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  for (const backends::KernelEntry& e : backends::cuda_kernel_table()) {
    if (e.op != ops::OpId::matmul && e.op != ops::OpId::linear) continue;
    std::vector<Tensor> cpu{random({2, 3}, DType::f32, 1), random(e.op == ops::OpId::matmul ? Shape{3, 4} : Shape{4, 3}, DType::f32, 2)};
    EXPECT_FALSE(e.supports(cpu, {})) << e.name << " accepted CPU inputs";
    std::vector<Tensor> f64{same_view_on_cuda(random({2, 3}, DType::f64, 1)),
                            same_view_on_cuda(random(e.op == ops::OpId::matmul ? Shape{3, 4} : Shape{4, 3}, DType::f64, 2))};
    EXPECT_FALSE(e.supports(f64, {})) << e.name << " accepted f64";
  }
  // f64 still works on CUDA tensors (through the host).
  Tensor a = random({3, 5}, DType::f64, 3), b = random({5, 2}, DType::f64, 4);
  EXPECT_EQ(compare(ops::matmul(same_view_on_cuda(a), same_view_on_cuda(b)), reference_matmul(a, b), 1e-12), "");
}

// The op harness' declared linalg cases (tests/ops/cases/linalg.cpp) on the device through run_case_on: same
// inputs and views, poisoned outputs and guard bytes, then the eager call; only f64 may run on the host.
class CudaGemmCases : public ::testing::TestWithParam<OpCase> {};

TEST_P(CudaGemmCases, MatchesCpuReference) {
  if (!tessera::cuda_is_available()) GTEST_SKIP() << tessera::cuda_unavailable_reason();
  const OpCase& c = GetParam();
  CaseResult r = run_case_on(c, /*seed=*/1234, kCuda);
  EXPECT_TRUE(r.failure.empty()) << c.name << " [" << r.kernel << "]: " << r.failure;
  if (c.inputs[0].dtype != DType::f64) {
    EXPECT_TRUE(r.host_fallbacks.empty()) << c.name << " ran on the host: " << r.host_fallbacks;
    EXPECT_TRUE(r.kernel.starts_with("cuda.gemm_lt")) << c.name << " ran " << r.kernel;
  }
}

INSTANTIATE_TEST_SUITE_P(Linalg, CudaGemmCases, ::testing::ValuesIn(linalg_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

}  // namespace tessera::testing
