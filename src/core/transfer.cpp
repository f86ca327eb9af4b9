// Tensor::to: copies between host and device memory through the device runtime (core/device_runtime.h). The
// result is contiguous. A strided source is gathered on the host (a device view is first copied as the byte
// span it covers), so core needs no kernels; the models move contiguous tensors, so this path is rare.
#include <cstring>

#include "core/device_runtime.h"
#include "tessera/tensor.h"

namespace tessera {

namespace {
// Contiguous host copy of a strided host tensor (element by element in row-major order).
Tensor gather_host(const Tensor& src) {
  Tensor dst = Tensor::empty(src.shape(), src.dtype());
  const int64_t n = src.numel(), rank = src.dim();
  const std::size_t es = dtype_size(src.dtype());
  const char* base = static_cast<const char*>(src.raw_data());
  char* out = static_cast<char*>(dst.raw_data());
  std::vector<int64_t> idx((std::size_t)rank, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    for (int64_t d = 0; d < rank; ++d) off += idx[d] * src.strides()[d];
    std::memcpy(out + i * es, base + off * (int64_t)es, es);
    for (int64_t d = rank - 1; d >= 0 && ++idx[d] == src.shape()[d]; --d) idx[d] = 0;
  }
  return dst;
}

// The host copy of a strided device tensor: the byte span its elements cover, then a host gather.
Tensor strided_device_to_host(const Tensor& src, DeviceRuntime& rt) {
  int64_t extent = 0;
  for (int64_t d = 0; d < src.dim(); ++d)
    if (src.shape()[d] > 0) extent += (src.shape()[d] - 1) * src.strides()[d];
  std::size_t bytes = (std::size_t)(extent + 1) * dtype_size(src.dtype());
  Tensor span = Tensor::empty({extent + 1}, src.dtype());
  rt.copy(span.raw_data(), Device{}, src.raw_data(), src.device(), bytes);
  return gather_host(span.as_strided(src.shape(), src.strides(), 0));
}
}  // namespace

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor dst = Tensor::empty(shape(), dtype(), device);
  if (nbytes() == 0) return dst;
  DeviceRuntime* rt = cuda_runtime();
  TESSERA_ASSERT(rt != nullptr, "a non-cpu tensor exists in a build without a device runtime");
  Tensor src = *this;
  if (!is_contiguous()) src = this->device().type == DeviceType::cpu ? gather_host(*this) : strided_device_to_host(*this, *rt);
  if (src.device() == device) return src;  // a strided device view copied to the host
  rt->copy(dst.raw_data(), device, src.raw_data(), src.device(), nbytes());
  return dst;
}

}  // namespace tessera
