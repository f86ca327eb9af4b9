// The CUDA elementwise and reduction kernels against the CPU reference: every op-harness case of those ops on
// the device (run_case_on: poisoned outputs, guard bytes, NaN/Inf parity, the eager call without host
// fallbacks), extra cases for the CUDA-only paths, coverage of this family's kernel-table entries, and a
// BERT/Mamba-like chain of ops that must stay on the device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "backends/backend.h"
#include "backends/cuda/kernel_table.h"
#include "ops/harness.h"
#include "tessera/ops.h"

namespace tessera::testing {

namespace {
constexpr Device kCuda{DeviceType::cuda, 0};

// Ops whose CUDA kernels other families own (GEMM, state-space): their own tests run them on the device.
bool owned_elsewhere(ops::OpId op) {
  using ops::OpId;
  return op == OpId::matmul || op == OpId::linear || op == OpId::causal_conv1d || op == OpId::selective_scan ||
         op == OpId::selective_scan_state;
}

InputSpec ids_spec(Shape shape, DType dt, int64_t limit, Layout layout = Layout::contiguous) {
  InputSpec s = in(std::move(shape), dt, layout, Values::ids);
  s.id_limit = limit;
  return s;
}

// Cases for the CUDA paths the shared cases do not reach: vector tails, deep broadcasts, tiled transposes,
// warp rows of every width, block rows, column reductions, mixed-dtype norms, 16-byte gathers, more casts.
std::vector<OpCase> cuda_extra_cases() {
  using ops::OpId;
  const DType f32 = DType::f32, f16 = DType::f16, bf16 = DType::bf16, f64 = DType::f64;
  const Layout C = Layout::contiguous, T = Layout::transposed, S = Layout::sliced, B = Layout::broadcast;
  std::vector<OpCase> v;
  // Elementwise: dense vector paths with a tail, a 5-D broadcast, an offset (unaligned) view, where/masked_fill.
  v.push_back({"cuda_add_f32_vector_tail", OpId::add, {in({1031, 1031}), in({1031, 1031})}});
  v.push_back({"cuda_mul_bf16_vector_tail", OpId::mul, {in({3, 1001}, bf16), in({3, 1001}, bf16)}});
  v.push_back({"cuda_sub_f16_5d_broadcast", OpId::sub, {in({2, 3, 1, 5, 7}, f16), in({3, 4, 1, 7}, f16)}});
  v.push_back({"cuda_maximum_broadcast_view", OpId::maximum, {in({6, 40}, f32, B), in({40}, f32, S)}});
  v.push_back({"cuda_add_i32", OpId::add, {in({4, 33}, DType::i32, C, Values::integers), in({33}, DType::i32, C, Values::integers)}});
  v.push_back({"cuda_mul_bool", OpId::mul, {in({50}, DType::boolean, C, Values::boolean), in({50}, DType::boolean, C, Values::boolean)}});
  v.push_back({"cuda_where_bf16", OpId::where,
               {in({2, 1, 9}, DType::boolean, C, Values::boolean), in({2, 5, 9}, bf16, T), in({9}, bf16)}});
  v.push_back({"cuda_masked_fill_i32", OpId::masked_fill,
               {in({3, 4, 5}, DType::i32, C, Values::integers), in({4, 1}, DType::boolean, C, Values::boolean)}, {.scalar = -7}});
  v.push_back({"cuda_masked_fill_f16_large", OpId::masked_fill,
               {in({8, 12, 64}, f16), in({8, 1, 64}, DType::boolean, C, Values::boolean)}, {.scalar = -1e4}});
  v.push_back({"cuda_add_scalar_i32", OpId::add_scalar, {in({40}, DType::i32, C, Values::integers)}, {.scalar = 3}});
  v.push_back({"cuda_mul_scalar_i64_sliced", OpId::mul_scalar, {in({5, 9}, DType::i64, S, Values::integers)}, {.scalar = -2}});
  v.push_back({"cuda_neg_i8", OpId::neg, {in({70}, DType::i8, C, Values::integers)}});
  v.push_back({"cuda_gelu_bf16_large", OpId::gelu, {in({64, 3072}, bf16)}});
  v.push_back({"cuda_silu_f16_transposed", OpId::silu, {in({33, 65}, f16, T)}});
  // Casts between the other dtypes.
  struct Cast { DType from, to; Values values; };
  for (Cast c : {Cast{f64, f16, Values::normal}, Cast{f16, f64, Values::normal}, Cast{bf16, f16, Values::normal},
                 Cast{DType::u8, f32, Values::ids}, Cast{f32, DType::u8, Values::ids}, Cast{DType::i8, bf16, Values::integers},
                 Cast{DType::i16, DType::i64, Values::integers}, Cast{DType::i32, DType::boolean, Values::integers},
                 Cast{DType::boolean, f16, Values::boolean}, Cast{f16, DType::i32, Values::integers}}) {
    InputSpec s = in({7, 45}, c.from, C, c.values);
    s.id_limit = 200;
    v.push_back({fmt::format("cuda_cast_{}_to_{}", dtype_name(c.from), dtype_name(c.to)), OpId::cast, {s}, {.dtype = c.to}});
  }
  v.push_back({"cuda_cast_f32_to_bf16_transposed", OpId::cast, {in({40, 70}, f32, T)}, {.dtype = bf16}});
  // contiguous: the tiled transpose (both transposed dims >= 8) for every element size, and a short-dim fallback.
  v.push_back({"cuda_contiguous_tiles_f32", OpId::contiguous, {in({4, 70, 33}, f32, T)}});
  v.push_back({"cuda_contiguous_tiles_bf16", OpId::contiguous, {in({2, 129, 64}, bf16, T)}});
  v.push_back({"cuda_contiguous_tiles_f64", OpId::contiguous, {in({40, 9}, f64, T)}});
  v.push_back({"cuda_contiguous_tiles_i8", OpId::contiguous, {in({3, 50, 31}, DType::i8, T, Values::integers)}});
  v.push_back({"cuda_contiguous_dense", OpId::contiguous, {in({5, 6}, f16)}});
  // softmax: every warp width, vector and scalar loads, block rows (long, f64), column rows (strided axis).
  for (int64_t n : {20, 64, 100, 256, 500, 1000})
    v.push_back({fmt::format("cuda_softmax_warp_f16_{}", n), OpId::softmax, {in({9, n}, f16)}, {.axis = 1}});
  v.push_back({"cuda_softmax_warp_f32_odd", OpId::softmax, {in({5, 37})}, {.axis = 1}});
  v.push_back({"cuda_softmax_warp_bf16_1024", OpId::softmax, {in({3, 2, 1024}, bf16)}, {.axis = 2}});
  v.push_back({"cuda_softmax_block_rows", OpId::softmax, {in({3, 2000})}, {.axis = 1}, 2});
  v.push_back({"cuda_softmax_block_bf16", OpId::softmax, {in({2, 4100}, bf16)}, {.axis = 1}});
  v.push_back({"cuda_softmax_f64", OpId::softmax, {in({4, 50}, f64)}, {.axis = 1}});
  v.push_back({"cuda_softmax_columns", OpId::softmax, {in({20, 1100})}, {.axis = 0}});
  v.push_back({"cuda_softmax_middle_axis", OpId::softmax, {in({3, 17, 5}, bf16)}, {.axis = 1}});
  // Norms: warp widths, mixed weight dtypes (f32 weights on bf16/f16 inputs), block rows, f64, strided rows.
  v.push_back({"cuda_layer_norm_bf16_f32_weights", OpId::layer_norm, {in({4, 9, 768}, bf16), in({768}), in({768})}, {.scalar = 1e-12}});
  v.push_back({"cuda_layer_norm_f16_200", OpId::layer_norm, {in({7, 200}, f16), in({200}, f16), in({200}, f16)}, {.scalar = 1e-5}});
  v.push_back({"cuda_layer_norm_f32_odd", OpId::layer_norm, {in({6, 131}), in({131}), in({131})}, {.scalar = 1e-5}});
  v.push_back({"cuda_layer_norm_block", OpId::layer_norm, {in({3, 2048}), in({2048}), in({2048})}, {.scalar = 1e-5}, 2});
  v.push_back({"cuda_layer_norm_f64", OpId::layer_norm, {in({3, 40}, f64), in({40}, f64), in({40}, f64)}, {.scalar = 1e-5}});
  v.push_back({"cuda_layer_norm_width1", OpId::layer_norm, {in({5, 1}), in({1}), in({1})}, {.scalar = 1e-5}});
  // add_layer_norm: the fused warp kernel (vector and scalar loads, f32 weights on bf16) and the decomposition
  // for what it declines (rows > 1024, f64, a strided residual).
  v.push_back({"cuda_add_layer_norm_f16_768", OpId::add_layer_norm, {in({4, 9, 768}, f16), in({4, 9, 768}, f16), in({768}, f16), in({768}, f16)}, {.scalar = 1e-12}});
  v.push_back({"cuda_add_layer_norm_bf16_f32_weights", OpId::add_layer_norm, {in({3, 5, 192}, bf16), in({3, 5, 192}, bf16), in({192}), in({192})}, {.scalar = 1e-12}});
  v.push_back({"cuda_add_layer_norm_f32_odd", OpId::add_layer_norm, {in({6, 131}), in({6, 131}), in({131}), in({131})}, {.scalar = 1e-5}});
  v.push_back({"cuda_add_layer_norm_decomposed_long", OpId::add_layer_norm, {in({3, 2048}), in({3, 2048}), in({2048}), in({2048})}, {.scalar = 1e-5}, 2});
  v.push_back({"cuda_add_layer_norm_decomposed_f64", OpId::add_layer_norm, {in({3, 40}, f64), in({3, 40}, f64), in({40}, f64), in({40}, f64)}, {.scalar = 1e-5}});
  v.push_back({"cuda_add_layer_norm_decomposed_strided", OpId::add_layer_norm, {in({7, 24}, f16), in({7, 24}, f16, T), in({24}, f16), in({24}, f16)}, {.scalar = 1e-5}});
  v.push_back({"cuda_rms_norm_f16_f32_weight", OpId::rms_norm, {in({2, 11, 768}, f16), in({768})}, {.scalar = 1e-5}});
  v.push_back({"cuda_rms_norm_bf16_1536", OpId::rms_norm, {in({4, 1536}, bf16), in({1536}, bf16)}, {.scalar = 1e-5}});
  v.push_back({"cuda_rms_norm_f32_sliced", OpId::rms_norm, {in({6, 24}, f32, S), in({24})}, {.scalar = 1e-6}});
  v.push_back({"cuda_rms_norm_f64", OpId::rms_norm, {in({3, 40}, f64), in({40}, f64)}, {.scalar = 1e-6}});
  // Reductions: a block per row (few long rows), columns, bool/int dtypes.
  v.push_back({"cuda_sum_block_rows", OpId::sum, {in({2, 8192})}, {.axis = 1}, 2});
  v.push_back({"cuda_max_block_rows_bf16", OpId::max, {in({3, 5000}, bf16)}, {.axis = 1}});
  v.push_back({"cuda_sum_columns", OpId::sum, {in({1000, 3})}, {.axis = 0}, 2});
  v.push_back({"cuda_max_f16_short_rows", OpId::max, {in({50, 9}, f16)}, {.axis = 1, .keepdim = true}});
  v.push_back({"cuda_sum_bool", OpId::sum, {in({6, 40}, DType::boolean, C, Values::boolean)}, {.axis = 1}});
  v.push_back({"cuda_max_i32", OpId::max, {in({4, 70}, DType::i32, C, Values::integers)}, {.axis = 1}});
  v.push_back({"cuda_mean_bf16_long", OpId::mean, {in({16, 768}, bf16)}, {.axis = 1, .keepdim = true}});
  // Gather: 16-byte row units (bf16 768, f64), element units (unaligned rows), strided ids.
  v.push_back({"cuda_gather_bf16_768", OpId::gather, {in({100, 768}, bf16), ids_spec({4, 33}, DType::i64, 100)}});
  v.push_back({"cuda_gather_f64", OpId::gather, {in({30, 6}, f64), ids_spec({17}, DType::i32, 30)}});
  v.push_back({"cuda_gather_f16_odd_rows", OpId::gather, {in({30, 7}, f16), ids_spec({3, 5}, DType::i64, 30, T)}});
  // concat: several contiguous inputs (2-D memcpys) and a sliced one (strided copy).
  v.push_back({"cuda_concat_three_bf16", OpId::concat, {in({2, 3, 8}, bf16), in({2, 3, 5}, bf16), in({2, 3, 1}, bf16)}, {.axis = 2}});
  v.push_back({"cuda_concat_sliced_i64", OpId::concat, {in({4, 6}, DType::i64, S, Values::integers), in({1, 6}, DType::i64, C, Values::integers)}, {.axis = 0}});
  return v;
}

std::vector<OpCase> device_cases() {
  std::vector<OpCase> v;
  for (OpCase& c : all_cases())
    if (!owned_elsewhere(c.op)) v.push_back(std::move(c));
  for (OpCase& c : cuda_extra_cases()) v.push_back(std::move(c));
  return v;
}
}  // namespace

class CudaOpCases : public ::testing::TestWithParam<OpCase> {};

TEST_P(CudaOpCases, MatchesCpuReference) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  const OpCase& c = GetParam();
  CaseResult r = run_case_on(c, /*seed=*/1234, kCuda);
  EXPECT_TRUE(r.failure.empty()) << c.name << " [" << r.kernel << "]: " << r.failure;
  EXPECT_TRUE(r.host_fallbacks.empty()) << c.name << " ran on the host: " << r.host_fallbacks;
}

INSTANTIATE_TEST_SUITE_P(Cuda, CudaOpCases, ::testing::ValuesIn(device_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

// Every entry of the elementwise and reduction fragments accepts at least one case on the device.
TEST(CudaOpCoverage, EveryElementwiseAndReductionKernelIsExercised) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  std::set<std::string> hit;
  for (const OpCase& c : device_cases()) {
    std::vector<Tensor> inputs;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) inputs.push_back(make_input(c.inputs[i], 1).to(kCuda));
    if (const backends::KernelEntry* k = backends::cuda_kernel(c.op, inputs, c.attrs)) hit.insert(k->name);
  }
  for (auto fragment : {backends::cuda::elementwise_kernels(), backends::cuda::reduction_kernels()})
    for (const backends::KernelEntry& e : fragment)
      EXPECT_TRUE(hit.count(e.name)) << "CUDA kernel " << e.name << " is never exercised by a case";
}

namespace {
// A BERT/Mamba-like chain without GEMMs: embedding + positions, layer_norm, a masked softmax over a transposed
// view, gelu on a transposed copy, a residual, rms_norm with f32 weights, a silu gate, mean, concat, sum.
// in: table (V, C), ids (B, T) i64, pos (T, C), ln_w, ln_b (C), mask (B, 1, T) bool, rms_w (C) f32.
Tensor chain(const std::vector<Tensor>& in, DType dt) {
  Tensor h = ops::embedding(ops::cast(in[0], dt), in[1]) + ops::cast(in[2], dt);           // (B, T, C)
  h = ops::layer_norm(h, ops::cast(in[3], dt), ops::cast(in[4], dt), 1e-12);
  Tensor p = ops::softmax(ops::masked_fill(ops::transpose(h, 1, 2), in[5], -1e4), -1);     // (B, C, T)
  Tensor g = ops::gelu(ops::contiguous(ops::transpose(p, 1, 2)));                         // (B, T, C)
  Tensor y = ops::rms_norm(g + h, in[6], 1e-5);
  Tensor z = ops::cast(ops::mul(y, ops::silu(y)), DType::f32);
  Tensor centred = ops::sub(z, ops::mean(z, -1, /*keepdim=*/true));
  std::vector<Tensor> parts{centred, ops::sum(ops::exp(ops::neg(z)), -1, /*keepdim=*/true)};
  return ops::concat(parts, -1);                                                           // (B, T, C + 1)
}

void check_chain(DType dt, double tolerance) {
  const int64_t batch = 2, tokens = 24, channels = 64, vocab = 50;
  InputSpec mask = in({batch, 1, tokens}, DType::boolean, Layout::contiguous, Values::boolean);
  std::vector<InputSpec> specs{in({vocab, channels}), ids_spec({batch, tokens}, DType::i64, vocab), in({tokens, channels}),
                               in({channels}), in({channels}), mask, in({channels})};
  std::vector<Tensor> host, dev;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    host.push_back(make_input(specs[i], 77 + i));
    dev.push_back(host.back().to(kCuda));
  }
  Tensor want = chain(host, dt);
  backends::reset_host_fallbacks();
  Tensor got = chain(dev, dt);
  EXPECT_EQ(got.device(), kCuda);
  std::string fallbacks;
  for (const backends::HostFallback& f : backends::host_fallbacks()) fallbacks += fmt::format(" {} x{}", f.op, f.count);
  EXPECT_TRUE(fallbacks.empty()) << "ops ran on the host:" << fallbacks;
  ASSERT_EQ(got.shape(), want.shape());
  std::vector<float> g = got.to_float_vector(), w = want.to_float_vector();
  double max_ref = 0, max_diff = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    ASSERT_TRUE(std::isfinite(g[i])) << "element " << i;
    max_ref = std::max(max_ref, (double)std::fabs(w[i]));
    max_diff = std::max(max_diff, (double)std::fabs(g[i] - w[i]));
  }
  EXPECT_LE(max_diff / max_ref, tolerance) << dtype_name(dt) << " chain";
}
}  // namespace

// Note [Residual norm]: the fused kernel normalises the sum rounded to the dtype, so it equals add-then-layer_norm
// on the device bit for bit (same row statistics, same order).
TEST(CudaAddLayerNorm, EqualsAddThenLayerNormBitForBit) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  for (DType dt : {DType::f16, DType::bf16, DType::f32}) {
    std::vector<Tensor> d;
    for (auto spec : {in({8, 33, 768}, dt), in({8, 33, 768}, dt), in({768}, dt), in({768}, dt)})
      d.push_back(make_input(spec, 5 + d.size()).to(kCuda));
    ASSERT_NE(backends::cuda_kernel(ops::OpId::add_layer_norm, d, ops::Attrs{.scalar = 1e-12}), nullptr);
    Tensor fused = ops::add_layer_norm(d[0], d[1], d[2], d[3], 1e-12).cpu();
    Tensor twice = ops::layer_norm(ops::add(d[0], d[1]), d[2], d[3], 1e-12).cpu();
    ASSERT_EQ(fused.nbytes(), twice.nbytes());
    EXPECT_EQ(std::memcmp(fused.raw_data(), twice.raw_data(), fused.nbytes()), 0) << dtype_name(dt);
  }
}

// Note [Float promotion]: an f32 tensor plus an f16/bf16 one is one kernel, equal to casting first.
TEST(CudaMixedAdd, EqualsCastThenAddBitForBit) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  for (DType narrow : {DType::f16, DType::bf16}) {
    Tensor a = make_input(in({8, 33, 768}), 3).to(kCuda), b = make_input(in({8, 33, 768}, narrow), 4).to(kCuda);
    ASSERT_NE(backends::cuda_kernel(ops::OpId::add, std::vector<Tensor>{a, b}, ops::Attrs{}), nullptr);
    Tensor mixed = ops::add(a, b).cpu(), cast = ops::add(a, ops::cast(b, DType::f32)).cpu();
    ASSERT_EQ(mixed.dtype(), DType::f32);
    EXPECT_EQ(std::memcmp(mixed.raw_data(), cast.raw_data(), mixed.nbytes()), 0) << dtype_name(narrow);
  }
}

// causal_conv1d_silu's fused CUDA kernel equals the conv then the SiLU kernel, bit for bit, in the model's layout.
TEST(CudaConvSilu, EqualsConvThenSiluBitForBit) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  for (DType dt : {DType::f16, DType::bf16, DType::f32}) {
    // x: the transposed first half of a (B, T, 2C) tensor, as MambaMixer passes it.
    Tensor xz = make_input(in({4, 77, 2 * 96}, dt), 7).to(kCuda);
    Tensor x = ops::permute(ops::slice(xz, 2, 0, 96), {0, 2, 1});
    Tensor w = make_input(in({96, 4}, dt), 8).to(kCuda), bias = make_input(in({96}, dt), 9).to(kCuda);
    ASSERT_NE(backends::cuda_kernel(ops::OpId::causal_conv1d_silu, std::vector<Tensor>{x, w, bias}, ops::Attrs{}), nullptr);
    Tensor fused = ops::causal_conv1d_silu(x, w, bias).cpu();
    Tensor twice = ops::silu(ops::causal_conv1d(x, w, bias)).cpu();
    ASSERT_EQ(fused.nbytes(), twice.nbytes());
    EXPECT_EQ(std::memcmp(fused.raw_data(), twice.raw_data(), fused.nbytes()), 0) << dtype_name(dt);
  }
}

TEST(CudaOpChain, StaysOnTheDeviceF32) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  check_chain(DType::f32, 1e-4);
}

TEST(CudaOpChain, StaysOnTheDeviceBf16) {
  if (!cuda_is_available()) GTEST_SKIP() << cuda_unavailable_reason();
  check_chain(DType::bf16, 5e-2);
}

}  // namespace tessera::testing
