// The CUDA kernel table: the family fragments of kernel_table.h, looked up per op like the CPU table.
#include "backends/cuda/kernel_table.h"

#include <array>
#include <vector>

namespace tessera::backends {

namespace cuda {
bool all_on_cuda(ops::Inputs in) {
  for (const Tensor& t : in)
    if (t.device().type != DeviceType::cuda) return false;
  return true;
}
}  // namespace cuda

namespace {
struct Table {
  std::vector<KernelEntry> all;
  std::array<std::vector<const KernelEntry*>, ops::kOpCount> by_op;
};

const Table& table() {
  static const Table t = [] {
    Table r;
    for (auto fragment : {cuda::elementwise_kernels(), cuda::reduction_kernels(), cuda::gemm_kernels(),
                          cuda::ssm_kernels()})
      r.all.insert(r.all.end(), fragment.begin(), fragment.end());
    for (const KernelEntry& e : r.all) r.by_op[(int)e.op].push_back(&e);
    return r;
  }();
  return t;
}
}  // namespace

const KernelEntry* cuda_kernel(ops::OpId op, ops::Inputs in, const ops::Attrs& a) {
  if (!cuda::all_on_cuda(in)) return nullptr;
  for (const KernelEntry* e : table().by_op[(int)op])
    if (!e->supports || e->supports(in, a)) return e;
  return nullptr;
}

std::span<const KernelEntry> cuda_kernel_table() { return table().all; }

}  // namespace tessera::backends
