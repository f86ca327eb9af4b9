// CPU GEMM kernels through CBLAS (OpenBLAS): batched matmul with broadcast batch dims and transposed views
// passed to BLAS without copies; linear (x @ W^T + b) as one GEMM with the bias pre-filled. The *_f16 entries run
// f16 operands on the AVX512-FP16 GEMM (gemm_f16.h) where the CPU has it; elsewhere f16 goes through f32 copies.
#include <cblas.h>

#include <utility>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/gemm_f16.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/parallel.h"

namespace tessera::backends::cpu {

namespace {
using ops::Attrs;
using ops::Inputs;

// A matrix operand as BLAS sees it: pointer, whether it's transposed, and its leading dimension.
struct BlasMatrix {
  const void* ptr;
  bool trans;
  int64_t ld;
};

// Row-major (stride_col == 1) or column-major (stride_row == 1) 2-D layouts can go straight to BLAS.
bool blas_addressable(int64_t rows, int64_t cols, int64_t stride_row, int64_t stride_col) {
  if (cols == 1 || stride_col == 1) return stride_row >= std::max<int64_t>(cols, 1) || rows == 1;
  if (rows == 1 || stride_row == 1) return stride_col >= std::max<int64_t>(rows, 1) || cols == 1;
  return false;
}

BlasMatrix as_blas(const char* base, int64_t rows, int64_t cols, int64_t stride_row, int64_t stride_col, std::size_t esize) {
  if ((cols == 1 || stride_col == 1) && (stride_row >= std::max<int64_t>(cols, 1) || rows == 1))
    return {base, false, std::max<int64_t>(rows == 1 ? cols : stride_row, 1)};
  return {base, true, std::max<int64_t>(cols == 1 ? rows : stride_col, 1)};
  (void)esize;
}

// Converts any float dtype to a contiguous f32 copy (for f16/bf16 operands and unaddressable layouts).
Tensor to_f32_contiguous(const Tensor& x) {
  Tensor y = Tensor::empty(x.shape(), DType::f32);
  k_cast(std::vector<Tensor>{x}, y, {});
  return y;
}

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c,
          int64_t ldc) {
  auto TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
  else
    cblas_dgemm(CblasRowMajor, TA, TB, (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

// Element offsets of output batch bi in a and b, broadcasting their batch dims from the right.
std::pair<int64_t, int64_t> batch_offsets(const Tensor& a, const Tensor& b, const Tensor& out, int64_t bi) {
  const int64_t ra = a.dim(), rb = b.dim(), ro = out.dim();
  int64_t rem = bi, oa = 0, ob = 0;
  for (int64_t d = ro - 3; d >= 0; --d) {
    int64_t i = rem % out.shape()[d];
    rem /= out.shape()[d];
    int64_t da = d - (ro - ra), db = d - (ro - rb);
    if (da >= 0 && a.shape()[da] != 1) oa += i * a.strides()[da];
    if (db >= 0 && b.shape()[db] != 1) ob += i * b.strides()[db];
  }
  return {oa, ob};
}

template <class T>
void batched_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t ra = a.dim(), rb = b.dim(), ro = out.dim();
  const int64_t m = out.shape()[ro - 2], n = out.shape()[ro - 1], k = a.shape()[ra - 1];
  const int64_t batch = out.numel() / std::max<int64_t>(m * n, 1);
  T* c = out.data<T>();
  if (m * n == 0) return;
  if (k == 0) {
    std::fill(c, c + out.numel(), T(0));
    return;
  }
  auto one = [&](int64_t bi) {
    auto [oa, ob] = batch_offsets(a, b, out, bi);
    BlasMatrix A = as_blas((const char*)(a.data<T>() + oa), m, k, a.strides()[ra - 2], a.strides()[ra - 1], sizeof(T));
    BlasMatrix B = as_blas((const char*)(b.data<T>() + ob), k, n, b.strides()[rb - 2], b.strides()[rb - 1], sizeof(T));
    gemm<T>(A.trans, B.trans, m, n, k, (const T*)A.ptr, A.ld, (const T*)B.ptr, B.ld, T(0), c + bi * m * n, n);
  };
  // Note [Batched small GEMMs]: attention runs B·H small products (e.g. 96 of 128×64×128). Letting OpenBLAS
  // thread each one wakes its pool 96 times for ~1 MFLOP of work; instead our pool takes whole products and
  // each runs single-threaded BLAS.
  if (batch >= 2 && m * n * k <= (int64_t)1 << 22 && cpu_threads() > 1) {
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    parallel_for(batch, 2 * m * n * k, [&](int64_t begin, int64_t end) {
      for (int64_t bi = begin; bi < end; ++bi) one(bi);
    });
    openblas_set_num_threads(saved);
  } else {
    for (int64_t bi = 0; bi < batch; ++bi) one(bi);
  }
}

bool addressable(const Tensor& x) {
  int64_t r = x.dim();
  return blas_addressable(x.shape()[r - 2], x.shape()[r - 1], x.strides()[r - 2], x.strides()[r - 1]);
}

// f16 a @ b on the f16 GEMM (any strides: its packing reads them). When b is the same matrix for every batch (a
// weight), the batches of a become rows of one GEMM, so b is packed once.
void f16_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t ra = a.dim(), rb = b.dim(), ro = out.dim();
  const int64_t m = out.shape()[ro - 2], n = out.shape()[ro - 1], k = a.shape()[ra - 1];
  const int64_t batch = out.numel() / std::max<int64_t>(m * n, 1);
  if (m * n == 0) return;
  F16Gemm g{.m = m, .n = n, .k = k, .a = {.ptr = a.data<uint16_t>(), .row_stride = a.strides()[ra - 2], .col_stride = a.strides()[ra - 1]},
            .b = {.ptr = b.data<uint16_t>(), .row_stride = b.strides()[rb - 2], .col_stride = b.strides()[rb - 1]},
            .c = out.raw_data(), .ldc = n, .c_f16 = true};
  bool b_batched = false;
  for (int64_t d = 0; d < rb - 2; ++d) b_batched |= b.shape()[d] != 1;
  // a's batch dims fold into rows when none is broadcast and they merge into one stride.
  bool fold = !b_batched && ra == ro && ra >= 3;
  for (int64_t d = 0; d < ra - 2 && fold; ++d) fold = a.shape()[d] == out.shape()[d];
  for (int64_t d = 0; d + 1 < ra - 2 && fold; ++d) fold = a.strides()[d] == a.strides()[d + 1] * a.shape()[d + 1];
  if (batch == 1 || fold) {
    if (batch > 1) g.a.rows_per_batch = m, g.a.batch_stride = a.strides()[ra - 3], g.m = batch * m;
    f16_gemm(g);
    return;
  }
  for (int64_t bi = 0; bi < batch; ++bi) {
    auto [oa, ob] = batch_offsets(a, b, out, bi);
    F16Gemm gi = g;
    gi.a.ptr += oa;
    gi.b.ptr += ob;
    gi.c = out.data<uint16_t>() + bi * m * n;
    f16_gemm(gi);
  }
}
}  // namespace

// The f16 entries (kernel_table.cpp's gemm_f16_ok: f16 operands on a CPU with the AVX512-FP16 GEMM).
void k_matmul_f16(Inputs in, const Tensor& out, const Attrs&) { f16_matmul(in[0], in[1], out); }

// linear: x (..., K) rows (M, K) @ W^T, i.e. B(k, n) = W[n][k]; the bias (any float dtype) added at the store.
void k_linear_f16(Inputs in, const Tensor& out, const Attrs&) {
  const Tensor& x0 = in[0];
  int64_t k = x0.shape().back(), n = in[1].shape()[0];
  int64_t m = k == 0 ? out.numel() / std::max<int64_t>(n, 1) : x0.numel() / k;
  Tensor x = x0.is_contiguous() ? x0 : Tensor::empty(x0.shape(), DType::f16);
  if (!x0.is_contiguous()) k_contiguous(std::vector<Tensor>{x0}, x, {});
  std::vector<float> bias;
  if (in.size() == 3) {
    bias.resize(n);
    load_row<float>(in[2].raw_data(), in[2].dtype(), 0, in[2].strides()[0], n, bias.data());
  }
  f16_gemm({.m = m, .n = n, .k = k, .a = {.ptr = x.data<uint16_t>(), .row_stride = k, .col_stride = 1},
            .b = {.ptr = in[1].data<uint16_t>(), .row_stride = in[1].strides()[1], .col_stride = in[1].strides()[0]},
            .bias = bias.empty() ? nullptr : bias.data(), .c = out.raw_data(), .ldc = n, .c_f16 = true});
}

void k_matmul(Inputs in, const Tensor& out, const Attrs&) {
  DType dt = out.dtype();
  if (dt == DType::f64) {
    Tensor a = addressable(in[0]) ? in[0] : Tensor::empty(in[0].shape(), dt);
    Tensor b = addressable(in[1]) ? in[1] : Tensor::empty(in[1].shape(), dt);
    if (!addressable(in[0])) k_contiguous(std::vector<Tensor>{in[0]}, a, {});
    if (!addressable(in[1])) k_contiguous(std::vector<Tensor>{in[1]}, b, {});
    batched_matmul<double>(a, b, out);
    return;
  }
  bool direct = dt == DType::f32;
  Tensor a = direct && addressable(in[0]) ? in[0] : to_f32_contiguous(in[0]);
  Tensor b = direct && addressable(in[1]) ? in[1] : to_f32_contiguous(in[1]);
  if (direct) {
    batched_matmul<float>(a, b, out);
    return;
  }
  Tensor tmp = Tensor::empty(out.shape(), DType::f32);
  batched_matmul<float>(a, b, tmp);
  k_cast(std::vector<Tensor>{tmp}, out, {});
}

// linear: x (..., K) with rows addressable as (M, K), weight (N, K), optional bias (N).
void k_linear(Inputs in, const Tensor& out, const Attrs&) {
  const Tensor& x0 = in[0];
  int64_t k = x0.shape().back(), n = in[1].shape()[0];
  int64_t m = k == 0 ? out.numel() / std::max<int64_t>(n, 1) : x0.numel() / k;
  bool f32 = out.dtype() == DType::f32;
  Tensor x = f32 && x0.is_contiguous() ? x0 : to_f32_contiguous(x0);
  Tensor w = f32 && in[1].is_contiguous() ? in[1] : to_f32_contiguous(in[1]);
  Tensor y = f32 ? out : Tensor::empty(out.shape(), DType::f32);
  float* c = y.data<float>();
  float beta = 0.0f;
  if (in.size() == 3) {
    std::vector<float> bias(n);
    load_row<float>(in[2].raw_data(), in[2].dtype(), 0, in[2].strides()[0], n, bias.data());
    parallel_for(m, n, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) std::copy(bias.begin(), bias.end(), c + r * n);
    });
    beta = 1.0f;
  }
  if (m > 0 && n > 0) {
    if (k == 0) {
      if (beta == 0.0f) std::fill(c, c + m * n, 0.0f);
    } else {
      gemm<float>(false, true, m, n, k, x.data<float>(), k, w.data<float>(), k, beta, c, n);
    }
  }
  if (!f32) k_cast(std::vector<Tensor>{y}, out, {});
}

}  // namespace tessera::backends::cpu
