// Backend kernel tables. A kernel writes one op's result into a preallocated contiguous output; a table
// entry may decline inputs it doesn't handle (dtype, layout), and the dispatcher then uses the reference.
#pragma once
#include <string>
#include <vector>

#include "ops/op.h"

namespace tessera::backends {

using Kernel = void (*)(ops::Inputs in, const Tensor& out, const ops::Attrs& a);
using Supports = bool (*)(ops::Inputs in, const ops::Attrs& a);

struct KernelEntry {
  ops::OpId op;
  Kernel kernel;
  Supports supports;  // nullptr = every input the op's infer accepts
  const char* name;   // for logs and coverage listings, e.g. "cpu.softmax_lastdim_f32"
};

// The CPU fast kernel for this call, or nullptr when there is none.
const KernelEntry* cpu_kernel(ops::OpId op, ops::Inputs in, const ops::Attrs& a);
std::span<const KernelEntry> cpu_kernel_table();

// The CUDA kernel for this call (inputs on a CUDA device), or nullptr. Always nullptr in a CPU-only build.
const KernelEntry* cuda_kernel(ops::OpId op, ops::Inputs in, const ops::Attrs& a);
std::span<const KernelEntry> cuda_kernel_table();

// The kernel of the inputs' device for this call, or nullptr.
inline const KernelEntry* device_kernel(Device d, ops::OpId op, ops::Inputs in, const ops::Attrs& a) {
  return d.type == DeviceType::cuda ? cuda_kernel(op, in, a) : cpu_kernel(op, in, a);
}

// Note [Host fallback]: an op on a device tensor with neither a device kernel nor a decomposition runs its
// reference on the host (inputs copied over, result copied back). It is correct but slow, so every such run is
// counted per op; `tessera ... -v` prints the counts and the CUDA model tests require them to stay zero.
struct HostFallback {
  std::string op;
  int64_t count = 0;
};
std::vector<HostFallback> host_fallbacks();  // since the last reset, sorted by op name
void reset_host_fallbacks();

// Number of threads CPU kernels use (OpenMP); set once from the CLI or tests.
int cpu_threads();
void set_cpu_threads(int n);
// Whether CPU kernels may use AVX-512 where the CPU has it (default true); tests turn it off to check the
// baseline (AVX2) code path too (Note [CPU ISA dispatch] in src/backends/cpu/ssm.cpp).
void set_cpu_avx512(bool allowed);
// The instruction set of the CPU state-space kernels' inner loops this process runs: "avx512" or "avx2".
const char* cpu_ssm_isa();
// Whether f16 matmul/linear may use the AVX512-FP16 GEMM where the CPU has it (default true); tests turn it off
// to check the fallback (f32 copies + OpenBLAS). set_cpu_avx512(false) turns it off too (Note [f16 GEMM] in
// src/backends/cpu/gemm_f16_avx512fp16.cpp).
void set_cpu_f16_gemm(bool allowed);
// The f16 GEMM this process runs: "avx512_fp16" or "f32 (OpenBLAS)".
const char* cpu_f16_gemm_isa();

}  // namespace tessera::backends
