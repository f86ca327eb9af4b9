// The CPU f16 GEMM (Note [f16 GEMM] in src/backends/cpu/gemm_f16_avx512fp16.cpp) against an f64 reference of the
// same f16 inputs, within its stated bound, over odd shapes, depths from 1 to 3072, bias or none, f16 or f32
// output and strided / transposed / batched operands; and f16 matmul / linear through the ops with the AVX512-FP16
// kernel on and off (the fallback: f32 copies + OpenBLAS). On a CPU without AVX512-FP16 only the fallback runs
// and the kernel's tests report a skip.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "backends/backend.h"
#include "backends/cpu/gemm_f16.h"
#include "tessera/ops.h"

namespace tessera::testing {

namespace {
using backends::cpu::F16Gemm;
using backends::cpu::f16_gemm;
using backends::cpu::f16_gemm_available;
using backends::cpu::kF16Kb;

constexpr double kU = 1.0 / 2048;  // f16 unit roundoff

// Random f16 values in [-1, 1] (stored as f16 bits) and the same values as doubles.
struct Mat {
  std::vector<uint16_t> h;
  std::vector<double> d;
};
Mat random_f16(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Mat m;
  for (int64_t i = 0; i < count; ++i) {
    uint16_t h = f32_to_f16(u(rng));
    m.h.push_back(h);
    m.d.push_back(f16_to_f32(h));
  }
  return m;
}

// The bound of Note [f16 GEMM] for one output: γ_kb·Σ|a·b| for the f16 block sums, f32 summation of the
// ceil(k/kb) block sums (2^-23 each, generous), and one f16 rounding of an f16 output.
double bound(double abs_sum, double value, int64_t k, bool f16_out) {
  double kb = (double)std::min<int64_t>(k, kF16Kb), gamma = kb * kU / (1 - kb * kU);
  double blocks = (double)((k + kF16Kb - 1) / kF16Kb);
  return gamma * abs_sum + (blocks + 1) * 0x1p-23 * abs_sum + (f16_out ? kU * std::fabs(value) : 0.0) + 1e-30;
}

struct Shape3 {
  int64_t m, n, k;
};

// C = A·B (+ bias) through f16_gemm with A stored row-major (or column-major) and B stored as W (n, k) (the linear
// layout) or (k, n) row-major; every element checked against its bound.
void check_direct(Shape3 s, bool a_colmajor, bool b_as_weight, bool with_bias, bool f16_out, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << "m=" << s.m << " n=" << s.n << " k=" << s.k << " a_colmajor=" << a_colmajor
                                    << " b_as_weight=" << b_as_weight << " bias=" << with_bias << " f16_out=" << f16_out);
  Mat A = random_f16(s.m * s.k, seed), B = random_f16(s.k * s.n, seed + 1), bias = random_f16(s.n, seed + 2);
  std::vector<float> bias_f(bias.d.begin(), bias.d.end());
  // Element offsets: A(i, kk) and B(kk, j).
  int64_t a_rs = a_colmajor ? 1 : s.k, a_cs = a_colmajor ? s.m : 1;
  int64_t b_rs = b_as_weight ? 1 : s.n, b_cs = b_as_weight ? s.k : 1;
  std::vector<uint16_t> c16(s.m * s.n, 0xFFFF);
  std::vector<float> c32(s.m * s.n, NAN);
  F16Gemm g{.m = s.m, .n = s.n, .k = s.k, .a = {.ptr = A.h.data(), .row_stride = a_rs, .col_stride = a_cs},
            .b = {.ptr = B.h.data(), .row_stride = b_rs, .col_stride = b_cs}, .bias = with_bias ? bias_f.data() : nullptr,
            .c = f16_out ? (void*)c16.data() : (void*)c32.data(), .ldc = s.n, .c_f16 = f16_out};
  f16_gemm(g);
  int64_t bad = 0;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double ref = with_bias ? bias.d[j] : 0.0, abs_sum = with_bias ? std::fabs(bias.d[j]) : 0.0;
      for (int64_t kk = 0; kk < s.k; ++kk) {
        double p = A.d[i * a_rs + kk * a_cs] * B.d[kk * b_rs + j * b_cs];
        ref += p;
        abs_sum += std::fabs(p);
      }
      double got = f16_out ? f16_to_f32(c16[i * s.n + j]) : c32[i * s.n + j];
      double err = std::fabs(got - ref), tol = bound(abs_sum, ref, s.k, f16_out);
      if (!(err <= tol) && bad++ < 5) ADD_FAILURE() << "C(" << i << ", " << j << ") = " << got << ", want " << ref << " ± " << tol;
    }
  EXPECT_EQ(bad, 0);
}

// Max |got - want| / max|want| over two tensors.
double rel_error(const Tensor& got, const Tensor& want) {
  std::vector<float> g = ops::cast(got, DType::f32).to_float_vector(), w = ops::cast(want, DType::f32).to_float_vector();
  double err = 0, scale = 1e-30;
  for (std::size_t i = 0; i < g.size(); ++i) {
    err = std::max(err, (double)std::fabs(g[i] - w[i]));
    scale = std::max(scale, (double)std::fabs(w[i]));
  }
  return err / scale;
}

Tensor random_tensor(Shape shape, uint64_t seed, DType dt = DType::f16) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  Mat m = random_f16(n, seed);
  std::vector<float> v(m.d.begin(), m.d.end());
  return Tensor::from_values(shape, v, dt);
}

// The f16 ops (with the kernel as set now) against f32 ops on the same values (f16 exactly representable).
void check_ops(const std::function<Tensor(DType)>& f, double tol, const std::string& what) {
  Tensor want = f(DType::f32), got = f(DType::f16);
  EXPECT_EQ(got.dtype(), DType::f16) << what;
  EXPECT_LE(rel_error(got, want), tol) << what << " [" << backends::cpu_f16_gemm_isa() << "]";
}

// f16 matmul / linear through the kernel table: plain, transposed and sliced views, folded batches (b shared),
// per-batch products (b batched or a broadcast), linear with bias and with a non-contiguous input.
void check_all_ops() {
  // Random-sign sums: the f16 GEMM's error is ~√kb·u relative to the typical term, far inside 2e-2 of max|C|.
  const double tol = 2e-2;
  auto cast = [](const Tensor& t, DType dt) { return ops::cast(t, dt); };
  Tensor a = random_tensor({37, 3072}, 1), b = random_tensor({3072, 70}, 2);
  check_ops([&](DType dt) { return ops::matmul(cast(a, dt), cast(b, dt)); }, tol, "matmul 37x3072 @ 3072x70");
  Tensor at = random_tensor({50, 29}, 3), bt = random_tensor({131, 50}, 4);
  check_ops([&](DType dt) { return ops::matmul(ops::transpose(cast(at, dt), 0, 1), ops::transpose(cast(bt, dt), 0, 1)); }, tol,
            "matmul transposed views");
  Tensor as = random_tensor({20, 64}, 5), bs = random_tensor({40, 90}, 6);
  check_ops([&](DType dt) { return ops::matmul(ops::slice(cast(as, dt), 1, 3, 43), ops::slice(cast(bs, dt), 1, 7, 88)); }, tol,
            "matmul sliced views");
  Tensor a3 = random_tensor({3, 5, 33, 40}, 7), w = random_tensor({40, 17}, 8);
  check_ops([&](DType dt) { return ops::matmul(cast(a3, dt), cast(w, dt)); }, tol, "matmul batches folded into rows");
  Tensor u = random_tensor({4, 48, 30}, 9);  // the Mamba x_proj layout: u^T (B, T, I) is a transposed view
  check_ops([&](DType dt) { return ops::matmul(ops::transpose(cast(u, dt), 1, 2), ops::transpose(cast(random_tensor({19, 48}, 10), dt), 0, 1)); },
            tol, "matmul transposed batched a, shared transposed b");
  // Longer sequences: row blocks inside one batch take the step-by-step packing of adjacent rows (Note [packing
  // adjacent rows]), blocks across a batch boundary the panel-by-panel one; 20 and 80 columns use the narrow tile.
  Tensor ul = random_tensor({3, 64, 400}, 19);
  for (int64_t cols : {20, 80})
    check_ops([&](DType dt) { return ops::matmul(ops::transpose(cast(ul, dt), 1, 2), ops::transpose(cast(random_tensor({cols, 64}, 20), dt), 0, 1)); },
              tol, "matmul u^T (long sequences) @ W^T");
  Tensor b3 = random_tensor({5, 40, 9}, 11), a2 = random_tensor({33, 40}, 12);
  check_ops([&](DType dt) { return ops::matmul(cast(a3, dt), cast(b3, dt)); }, tol, "matmul b batched");
  check_ops([&](DType dt) { return ops::matmul(cast(a2, dt), cast(b3, dt)); }, tol, "matmul a broadcast");
  Tensor x = random_tensor({2, 7, 96}, 13), lw = random_tensor({65, 96}, 14), lb = random_tensor({65}, 15);
  check_ops([&](DType dt) { return ops::linear(cast(x, dt), cast(lw, dt), cast(lb, dt)); }, tol, "linear with bias");
  check_ops([&](DType dt) { return ops::linear(cast(x, dt), cast(lw, dt), {}); }, tol, "linear without bias");
  Tensor xt = random_tensor({96, 11}, 16);
  check_ops([&](DType dt) { return ops::linear(ops::transpose(cast(xt, dt), 0, 1), cast(lw, dt), cast(lb, dt)); }, tol,
            "linear non-contiguous input");
  Tensor k1a = random_tensor({9, 1}, 17), k1b = random_tensor({1, 13}, 18);
  check_ops([&](DType dt) { return ops::matmul(cast(k1a, dt), cast(k1b, dt)); }, tol, "matmul k = 1");
}
}  // namespace

TEST(GemmF16, KernelWithinBoundOnOddShapes) {
  if (!f16_gemm_available()) GTEST_SKIP() << "this CPU has no AVX512-FP16 (or it is turned off): the f16 GEMM kernel is not "
                                             "tested here; GemmF16.FallbackMatchesF32 covers the path this CPU runs";
  const Shape3 shapes[] = {{1, 1, 1}, {12, 64, 32}, {13, 65, 33}, {5, 130, 1}, {25, 70, 3072}, {40, 3, 31}, {100, 200, 97},
                           {7, 9, 64}, {3, 5, 0}};
  uint64_t seed = 100;
  for (const Shape3& s : shapes)
    for (int variant = 0; variant < 8; ++variant)
      check_direct(s, variant & 1, variant & 2, variant & 4, /*f16_out=*/variant != 3, seed++);
}

TEST(GemmF16, KernelBatchedRowsAndThreads) {
  if (!f16_gemm_available()) GTEST_SKIP() << "this CPU has no AVX512-FP16: the f16 GEMM kernel is not tested here";
  // Large enough to run on several threads (row blocks and strip groups) with rows spanning batches.
  for (int threads : {1, 2, 3}) {
    backends::set_cpu_threads(threads);
    check_direct({301, 150, 700}, /*a_colmajor=*/true, /*b_as_weight=*/true, /*with_bias=*/true, /*f16_out=*/true, 7);
    check_direct({1000, 20, 256}, false, true, false, true, 8);
  }
  backends::set_cpu_threads(0);
}

TEST(GemmF16, OpsUseTheKernelAndMatchF32) {
  if (!f16_gemm_available()) GTEST_SKIP() << "this CPU has no AVX512-FP16: f16 matmul/linear run the fallback (tested below)";
  EXPECT_STREQ(backends::cpu_f16_gemm_isa(), "avx512_fp16");
  Tensor a = Tensor::zeros({4, 8}, DType::f16), b = Tensor::zeros({8, 3}, DType::f16);
  const backends::KernelEntry* e = backends::cpu_kernel(ops::OpId::matmul, std::vector<Tensor>{a, b}, {});
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->name, "cpu.matmul_f16_avx512fp16");
  check_all_ops();
}

TEST(GemmF16, FallbackMatchesF32) {
  backends::set_cpu_f16_gemm(false);
  EXPECT_STREQ(backends::cpu_f16_gemm_isa(), "f32 (OpenBLAS)");
  Tensor a = Tensor::zeros({4, 8}, DType::f16), b = Tensor::zeros({8, 3}, DType::f16);
  const backends::KernelEntry* e = backends::cpu_kernel(ops::OpId::matmul, std::vector<Tensor>{a, b}, {});
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->name, "cpu.matmul_blas");
  check_all_ops();
  backends::set_cpu_f16_gemm(true);
}

TEST(GemmF16, Avx512OffTurnsTheKernelOff) {
  backends::set_cpu_avx512(false);
  EXPECT_FALSE(f16_gemm_available());
  backends::set_cpu_avx512(true);
}

}  // namespace tessera::testing
