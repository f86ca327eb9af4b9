// The seam between core and a non-CPU backend: what core needs from a device runtime (allocator, copies,
// synchronisation). The CUDA backend provides one (src/backends/cuda/runtime/); a CPU-only build links
// src/backends/cuda_stub.cpp, whose cuda_runtime() is nullptr. Chosen at link time: no static registration.
#pragma once
#include <cstddef>
#include <string>

#include "tessera/tensor.h"

namespace tessera {

class DeviceRuntime {
 public:
  virtual ~DeviceRuntime() = default;
  virtual int device_count() = 0;                  // 0 when the driver or the device is missing
  virtual std::string unavailable_reason() = 0;    // why device_count() is 0 ("" otherwise)
  virtual Allocator& allocator(int index) = 0;     // the caching allocator of device `index`
  // Copies bytes between host and device or device and device. Returns once `dst` may be read by the host
  // (device -> host) or once `src` may be reused by the host (host -> device; staged through pinned memory).
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) = 0;
  virtual void fill_zero(void* dst, std::size_t bytes, int index) = 0;  // asynchronous on the device's stream
  virtual void synchronize(int index) = 0;        // waits for all work queued on the device's stream
  virtual void empty_cache(int index) = 0;        // returns cached blocks to the driver
  virtual std::string describe(int index) = 0;    // "NVIDIA H200 (sm_90, 132 SMs, 141 GiB)"
};

// The CUDA runtime, or nullptr when this build has no CUDA backend.
DeviceRuntime* cuda_runtime();

}  // namespace tessera
