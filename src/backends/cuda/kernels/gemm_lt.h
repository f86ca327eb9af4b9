// The cuBLASLt wrapper of the CUDA GEMM kernels: one handle per device, cached plans (matmul descriptor,
// layouts and the heuristic's algorithm) keyed by shape, strides, dtype, epilogue and pointer alignment,
// and every call queued on the device's stream (Note [One stream]). Host code: may throw (TESSERA_CHECK).
#pragma once
#include <cstdint>
#include <string_view>

#include "backends/cuda/kernels/gemm_layout.h"
#include "ops/op.h"

namespace tessera::backends::cuda {

// One operand of a (strided-batched) row-major GEMM: its data and how BLAS addresses it.
struct LtOperand {
  const void* data = nullptr;
  MatrixView view;
  int64_t batch_stride = 0;  // elements between consecutive batch entries (0 = broadcast)
};

// C[i] (m x n, row-major, ldc = n) = A[i] (m x k) @ B[i] (k x n) (+ bias (n) on every row) for i < batch.
struct LtGemm {
  DType dtype = DType::f32;  // of A, B, C and bias: f32, f16 or bf16 (f32 accumulation)
  int64_t m = 0, n = 0, k = 0, batch = 1;
  LtOperand a, b;
  void* c = nullptr;
  int64_t batch_stride_c = 0;
  const void* bias = nullptr;  // optional, 16-byte aligned (CUBLASLT_EPILOGUE_BIAS)
};

// Queues one cuBLASLt matmul on cuda::stream(device). `op` and `in` name the call in error messages.
void lt_matmul(const LtGemm& g, int device, std::string_view op, ops::Inputs in);

// Counters for tests and benchmarks (all devices, since process start).
struct LtStats {
  int64_t heuristic_queries = 0;  // plans built (cublasLtMatmulAlgoGetHeuristic calls)
  int64_t matmuls = 0;            // cublasLtMatmul calls queued
};
LtStats lt_stats();

}  // namespace tessera::backends::cuda
