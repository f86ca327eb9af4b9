// The CUDA caching allocator: cudaMalloc'd blocks rounded to size classes and kept on free lists for reuse,
// stream-ordered (Note [One stream]); counts current and peak tensor bytes like every Allocator, and the
// bytes reserved from the driver.
#pragma once
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::backends::cuda {

class CachingAllocator final : public Allocator {
 public:
  CachingAllocator(int device, cudaStream_t stream) : device_(device), stream_(stream) {}
  ~CachingAllocator() override;
  void* allocate(std::size_t bytes) override;
  void deallocate(void* ptr, std::size_t bytes) override;
  Device device() const override { return {DeviceType::cuda, device_}; }
  void empty_cache();
  std::size_t reserved_bytes() const;

  // Size classes: multiples of 512 B below 1 MiB, of 2 MiB above (few classes, so blocks are reused across
  // slightly different batch shapes; waste is bounded by 2 MiB a tensor).
  static std::size_t size_class(std::size_t bytes);

 private:
  int device_;
  cudaStream_t stream_;
  mutable std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;  // size class -> cached blocks
  std::size_t reserved_ = 0;                         // bytes held from cudaMalloc (in use + cached)
};

}  // namespace tessera::backends::cuda
