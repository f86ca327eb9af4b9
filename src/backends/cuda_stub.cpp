// CPU-only builds (TESSERA_CUDA=OFF): no CUDA runtime and an empty CUDA kernel table.
#include "backends/backend.h"
#include "core/device_runtime.h"

namespace tessera {
DeviceRuntime* cuda_runtime() { return nullptr; }
}  // namespace tessera

namespace tessera::backends {
const KernelEntry* cuda_kernel(ops::OpId, ops::Inputs, const ops::Attrs&) { return nullptr; }
std::span<const KernelEntry> cuda_kernel_table() { return {}; }
}  // namespace tessera::backends
