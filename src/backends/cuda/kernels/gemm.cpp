// The CUDA GEMM kernels (kernel table fragment): matmul (batched, broadcast batch dims, transposed views, all
// without copies) and linear (x @ W^T + b, the bias in cuBLASLt's epilogue), through cuBLASLt (gemm_lt.h).
// f32 (TF32 only when opted in), f16 and bf16 with f32 accumulation; f64 is declined (host fallback).
#include <climits>
#include <optional>

#include "backends/cuda/kernel_table.h"
#include "backends/cuda/kernels/gemm_layout.h"
#include "backends/cuda/kernels/gemm_lt.h"
#include "backends/cuda/runtime/runtime.h"

namespace tessera::backends::cuda {

namespace {
using ops::Attrs;
using ops::Inputs;

bool gemm_dtype(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

// A 1-D operand as one row (1, n); rank >= 2 as is.
GemmOperand as_matrix(const Tensor& t) {
  if (t.dim() == 1) return {{1, t.shape()[0]}, {0, t.strides()[0]}};
  return {t.shape(), t.strides()};
}
// linear's weight (N, K) as the (K, N) right operand: its transpose, no copy.
GemmOperand weight_operand(const Tensor& w) { return {{w.shape()[1], w.shape()[0]}, {w.strides()[1], w.strides()[0]}}; }

bool addressable(const GemmOperand& x) {
  const std::size_t r = x.shape.size();
  return matrix_view(x.shape[r - 2], x.shape[r - 1], x.strides[r - 2], x.strides[r - 1]).has_value();
}

// Operands BLAS can't address (a sliced or broadcast last dim) are copied by the CUDA contiguous kernel;
// without one the op is declined (and the dispatcher falls back to the host).
const KernelEntry* copy_kernel(const Tensor& t) {
  return cuda_kernel(ops::OpId::contiguous, std::span<const Tensor>(&t, 1), Attrs{});
}
Tensor contiguous_copy(const Tensor& t) {
  const KernelEntry* k = copy_kernel(t);
  TESSERA_ASSERT(k, "GEMM: no CUDA contiguous kernel for {} {}", dtype_name(t.dtype()), shape_str(t.shape()));
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  k->kernel(std::span<const Tensor>(&t, 1), out, Attrs{});
  return out;
}

// cuBLASLt takes int32 sizes and batch counts; larger problems are declined.
bool fits_int32(int64_t m, int64_t n, int64_t k, int64_t batch) {
  return m <= INT32_MAX && n <= INT32_MAX && k <= INT32_MAX && batch <= INT32_MAX;
}

void zero_fill(const Tensor& out) {
  set_device(out.device().index);
  TESSERA_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes(), stream_of(out)));  // 0 bits == +0.0
}

// Runs C = A @ B (+ bias) into the contiguous `out` (batch..., m, n): one strided-batched cuBLASLt call per
// index of the looped batch dims (Note [GEMM batch layouts]).
void run_gemm(std::string_view op, Inputs in, const GemmOperand& a, const void* a_data, const GemmOperand& b,
              const void* b_data, const Tensor& out, const void* bias) {
  std::optional<GemmLayout> layout = plan_gemm(a, b);
  TESSERA_ASSERT(layout, "{}: operands not addressable after copies", op);
  const GemmLayout& L = *layout;
  const std::size_t esize = dtype_size(out.dtype());
  LtGemm g{.dtype = out.dtype(), .m = L.m, .n = L.n, .k = L.k, .batch = L.batch.size,
           .a = {a_data, L.a, L.batch.stride_a}, .b = {b_data, L.b, L.batch.stride_b}, .c = out.raw_data(),
           .batch_stride_c = L.batch.stride_c, .bias = bias};
  const int device = out.device().index;
  const int64_t calls = L.calls();
  std::vector<int64_t> index(L.outer.size(), 0);
  for (int64_t call = 0; call < calls; ++call) {
    int64_t offset_a = 0, offset_b = 0, offset_c = 0;
    for (std::size_t d = 0; d < L.outer.size(); ++d) {
      offset_a += index[d] * L.outer[d].stride_a;
      offset_b += index[d] * L.outer[d].stride_b;
      offset_c += index[d] * L.outer[d].stride_c;
    }
    g.a.data = (const char*)a_data + offset_a * (int64_t)esize;
    g.b.data = (const char*)b_data + offset_b * (int64_t)esize;
    g.c = (char*)out.raw_data() + offset_c * (int64_t)esize;
    lt_matmul(g, device, op, in);
    for (std::size_t d = L.outer.size(); d-- > 0;) {  // next index, innermost dim fastest
      if (++index[d] < L.outer[d].size) break;
      index[d] = 0;
    }
  }
}

bool matmul_ok(Inputs in, const Attrs&) {
  if (!all_on_cuda(in) || !gemm_dtype(in[0].dtype()) || in[1].dtype() != in[0].dtype()) return false;
  const Tensor &a = in[0], &b = in[1];
  if (a.dim() < 2 || b.dim() < 2) return false;
  // A bound on the broadcast batch count (folded into M it makes m * batch rows).
  const int64_t batch = shape_numel(std::span(a.shape()).first(a.dim() - 2)) *
                        shape_numel(std::span(b.shape()).first(b.dim() - 2));
  if (!fits_int32(a.size(-2) * batch, b.size(-1), a.size(-1), batch)) return false;
  return (addressable(as_matrix(a)) || copy_kernel(a)) && (addressable(as_matrix(b)) || copy_kernel(b));
}

void k_matmul(Inputs in, const Tensor& out, const Attrs&) {
  if (out.numel() == 0) return;
  if (in[0].shape().back() == 0) return zero_fill(out);  // k == 0: an empty sum
  const Tensor a = addressable(as_matrix(in[0])) ? in[0] : contiguous_copy(in[0]);
  const Tensor b = addressable(as_matrix(in[1])) ? in[1] : contiguous_copy(in[1]);
  run_gemm("matmul", in, as_matrix(a), a.raw_data(), as_matrix(b), b.raw_data(), out, nullptr);
}

// linear: x (..., K), weight (N, K), bias (N) optional.
bool linear_ok(Inputs in, const Attrs&) {
  if (!all_on_cuda(in) || !gemm_dtype(in[0].dtype())) return false;
  for (const Tensor& t : in)
    if (t.dtype() != in[0].dtype()) return false;
  const Tensor &x = in[0], &w = in[1];
  if (x.dim() < 1 || w.dim() != 2) return false;
  const int64_t k = x.shape().back(), n = w.shape()[0];
  if (k == 0 && in.size() == 3) return false;  // bias-only output: the decomposition handles it
  const int64_t rows = k == 0 ? 0 : x.numel() / k;
  if (!fits_int32(rows, n, k, rows)) return false;
  if (!addressable(as_matrix(x)) && !copy_kernel(x)) return false;
  if (!addressable(weight_operand(w)) && !copy_kernel(w)) return false;
  if (in.size() == 3 && in[2].strides()[0] != 1 && n > 1 && !copy_kernel(in[2])) return false;
  return true;
}

void k_linear(Inputs in, const Tensor& out, const Attrs&) {
  if (out.numel() == 0) return;
  if (in[0].shape().back() == 0) return zero_fill(out);  // k == 0 without bias (linear_ok declines a bias)
  const Tensor x = addressable(as_matrix(in[0])) ? in[0] : contiguous_copy(in[0]);
  const Tensor w = addressable(weight_operand(in[1])) ? in[1] : contiguous_copy(in[1]);
  Tensor bias;
  std::optional<Workspace> bias_copy;
  if (in.size() == 3) {
    // Note [Bias alignment]: cuBLASLt's alignment preferences cover A-D but not the epilogue's bias, and some
    // kernels load it 16 bytes at a time: a strided bias is packed and a misaligned one (a slice of a larger
    // buffer) copied to a fresh, aligned buffer (N elements: negligible next to the GEMM).
    const Tensor& b = in[2];
    bias = b.strides()[0] == 1 || b.shape()[0] == 1 ? b : contiguous_copy(b);  // fresh copies are aligned
    if ((uintptr_t)bias.raw_data() % 16 != 0) {
      bias_copy.emplace(bias.nbytes(), out.device().index);
      set_device(out.device().index);
      TESSERA_CUDA_CHECK(cudaMemcpyAsync(bias_copy->data(), bias.raw_data(), bias.nbytes(), cudaMemcpyDeviceToDevice,
                                         stream_of(out)));
    }
  }
  const void* bias_data = bias_copy ? bias_copy->data() : bias.defined() ? bias.raw_data() : nullptr;
  run_gemm("linear", in, as_matrix(x), x.raw_data(), weight_operand(w), w.raw_data(), out, bias_data);
}

constexpr KernelEntry kGemmKernels[] = {
    {ops::OpId::matmul, k_matmul, matmul_ok, "cuda.gemm_lt"},
    {ops::OpId::linear, k_linear, linear_ok, "cuda.gemm_lt_linear"},
};
}  // namespace

std::span<const KernelEntry> gemm_kernels() { return kGemmKernels; }

}  // namespace tessera::backends::cuda
