// Tensor::to: copies between host and device memory (contiguous result), through the device runtime.
#include "core/device_runtime.h"
#include "tessera/ops.h"

namespace tessera {

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor src = is_contiguous() ? *this : ops::contiguous(*this);
  Tensor dst = Tensor::empty(shape(), dtype(), device);
  if (nbytes() == 0) return dst;
  DeviceRuntime* rt = cuda_runtime();
  TESSERA_ASSERT(rt != nullptr, "a non-cpu tensor exists in a build without a device runtime");
  rt->copy(dst.raw_data(), device, src.raw_data(), src.device(), nbytes());
  return dst;
}

}  // namespace tessera
