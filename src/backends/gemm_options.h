// Process-wide GEMM options of the device backends (today: whether f32 GEMMs may use TF32 tensor cores).
// Defined by the CUDA backend (backends/cuda/kernels/gemm_lt.cpp) or, in CPU-only builds, by
// backends/gemm_options_stub.cpp, so callers (CLI, benchmarks, tests) need no #ifdef.
#pragma once

namespace tessera::backends {

// Note [TF32 off by default]: f32 GEMMs on CUDA accumulate in f32 with f32 inputs (CUBLAS_COMPUTE_32F), so
// they match the CPU reference to ~1e-6. TF32 (10-bit mantissa inputs, ~1e-3 relative error, several times
// faster on Ampere/Hopper) is an explicit opt-in, like torch.backends.cuda.matmul.allow_tf32 = True. The flag
// is read at each GEMM call (cached cuBLASLt plans are keyed on it); it has no effect on f16/bf16 or on CPU.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace tessera::backends
