// CachingAllocator: see caching_allocator.h.
#include "backends/cuda/runtime/caching_allocator.h"

#include "backends/cuda/runtime/runtime.h"

namespace tessera::backends::cuda {

std::size_t CachingAllocator::size_class(std::size_t bytes) {
  constexpr std::size_t kSmall = 512, kLarge = 2u << 20, kSmallLimit = 1u << 20;
  if (bytes == 0) return kSmall;
  if (bytes < kSmallLimit) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

CachingAllocator::~CachingAllocator() {
  // Process exit: the driver may already be shutting down, so errors are ignored here.
  for (auto& [cls, blocks] : free_)
    for (void* p : blocks) cudaFree(p);
}

void* CachingAllocator::allocate(std::size_t bytes) {
  std::size_t cls = size_class(bytes);
  {
    std::lock_guard lock(mutex_);
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      record_alloc(bytes);
      return p;
    }
  }
  set_device(device_);
  void* p = nullptr;
  cudaError_t st = cudaMallocAsync(&p, cls, stream_);
  if (st == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    empty_cache();
    st = cudaMallocAsync(&p, cls, stream_);
  }
  if (st != cudaSuccess) {
    cudaGetLastError();
    MemoryStats s = stats();
    TESSERA_CHECK(false,
                  "cuda:{}: out of device memory allocating {} bytes ({} in use by tensors, {} reserved): {}; use a "
                  "smaller --batch-size or --max-length",
                  device_, bytes, s.current, reserved_bytes(), cudaGetErrorString(st));
  }
  {
    std::lock_guard lock(mutex_);
    reserved_ += cls;
  }
  record_alloc(bytes);
  return p;
}

void CachingAllocator::deallocate(void* ptr, std::size_t bytes) {
  record_free(bytes);
  std::lock_guard lock(mutex_);
  free_[size_class(bytes)].push_back(ptr);  // reusable at once: every user is on stream_ (Note [One stream])
}

void CachingAllocator::empty_cache() {
  set_device(device_);
  std::lock_guard lock(mutex_);
  for (auto& [cls, blocks] : free_) {
    for (void* p : blocks) {
      TESSERA_CUDA_CHECK(cudaFreeAsync(p, stream_));
      reserved_ -= cls;
    }
    blocks.clear();
  }
  TESSERA_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::size_t CachingAllocator::reserved_bytes() const {
  std::lock_guard lock(mutex_);
  return reserved_;
}

}  // namespace tessera::backends::cuda
