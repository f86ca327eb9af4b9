// The CPU f16 GEMM: C = A·B (+ bias) with f16 operands on AVX512-FP16, f16 products summed over short k-blocks
// and the block sums accumulated in f32 (Note [f16 GEMM] in gemm_f16_avx512fp16.cpp). The driver (blocking,
// packing buffers, threads) is gemm_f16.cpp; the ISA-specific parts are behind F16GemmKernels.
#pragma once
#include <cstdint>

namespace tessera::backends::cpu {

constexpr int64_t kF16Mr = 12;  // rows of a micro-tile (the broadcast operand, A)
constexpr int64_t kF16Nr = 64;  // columns of a micro-tile (two registers of 32 halves, B)
constexpr int64_t kF16Kb = 32;  // products summed in f16 before each f32 flush

// A strided f16 matrix whose rows may run over a batch: row r = b·rows_per_batch + i is at
// ptr + b·batch_stride + i·row_stride, its column c at + c·col_stride (strides in elements, any sign-free layout).
struct F16Matrix {
  const uint16_t* ptr = nullptr;
  int64_t row_stride = 0, col_stride = 0;
  int64_t rows_per_batch = 0;  // 0: one batch
  int64_t batch_stride = 0;
};

// C (m, n) row-major (ldc elements per row), f16 or f32, = A (m, k) · B (k, n) + bias (n, f32, or nullptr).
// B must not be batched (rows_per_batch 0).
struct F16Gemm {
  int64_t m = 0, n = 0, k = 0;
  F16Matrix a, b;
  const float* bias = nullptr;
  void* c = nullptr;
  int64_t ldc = 0;
  bool c_f16 = true;
};

// The ISA-specific pieces (one table per instruction set; today only AVX512-FP16).
struct F16GemmKernels {
  // dst[kk][i] = rows[i][kk·col_stride] for i < mr (zeros for mr <= i < kF16Mr), kk < k.
  void (*pack_a)(const uint16_t* const* rows, int64_t mr, int64_t col_stride, int64_t k, uint16_t* dst);
  // Panels of `rows` adjacent rows (row i at first + i, column kk at + kk·col_stride: a transposed view):
  // dst[p][kk][i] = first[(p·kF16Mr + i) + kk·col_stride], zeros past `rows` (Note [packing adjacent rows]).
  void (*pack_a_adjacent)(const uint16_t* first, int64_t rows, int64_t col_stride, int64_t k, uint16_t* dst);
  // dst[kk][j] = b[kk·row_stride + j·col_stride] for j < nr (zeros for nr <= j < kF16Nr), kk < k.
  void (*pack_b)(const uint16_t* b, int64_t row_stride, int64_t col_stride, int64_t k, int64_t nr, uint16_t* dst);
  // tile[i][j] = Σ_kk ap[kk][i]·bp[kk][j] (f32, [kF16Mr][kF16Nr]) over packed panels of depth k.
  void (*tile)(const uint16_t* ap, const uint16_t* bp, int64_t k, float* tile);
  // The same for columns j < 32 only (tile[i][j] for j >= 32 left as they are): strips of <= 32 columns.
  void (*tile_narrow)(const uint16_t* ap, const uint16_t* bp, int64_t k, float* tile);
  // c[i·ldc + j] = tile[i][j] + bias[j] (bias may be nullptr) for i < mr, j < nr, as f16 or f32.
  void (*store)(const float* tile, int64_t mr, int64_t nr, const float* bias, void* c, int64_t ldc, bool c_f16);
};

// Whether f16_gemm runs here: an x86-64 build, a CPU (and OS) with AVX512-FP16, and neither set_cpu_f16_gemm(false)
// nor set_cpu_avx512(false).
bool f16_gemm_available();
void f16_gemm(const F16Gemm& g);  // requires f16_gemm_available()
#if defined(TESSERA_CPU_AVX512)
const F16GemmKernels& f16_gemm_kernels_avx512fp16();  // gemm_f16_avx512fp16.cpp, built with -mavx512fp16
#endif

}  // namespace tessera::backends::cpu
