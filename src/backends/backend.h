// Backend kernel tables. A kernel writes one op's result into a preallocated contiguous output; a table
// entry may decline inputs it doesn't handle (dtype, layout), and the dispatcher then uses the reference.
#pragma once
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

// Number of threads CPU kernels use (OpenMP); set once from the CLI or tests.
int cpu_threads();
void set_cpu_threads(int n);

}  // namespace tessera::backends
