// CPU allocator (64-byte aligned) and Storage; both keep current/peak byte counts for benchmarks.
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#include "tessera/tensor.h"

namespace tessera {

void Allocator::record_alloc(std::size_t bytes) {
  int64_t now = current_.fetch_add((int64_t)bytes) + (int64_t)bytes;
  allocations_.fetch_add(1);
  int64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
}

void Allocator::record_free(std::size_t bytes) { current_.fetch_sub((int64_t)bytes); }

namespace {
// Note [CPU block cache]
// glibc serves blocks above its mmap threshold (at most 32 MiB) with a fresh mmap and returns them on free, so
// every large activation of a forward pass (Mamba-130m at 4 x 1024 tokens: a 48 MiB in_proj output per layer,
// ~1 GiB of fresh pages per pass) is page-faulted and zeroed by the kernel again: ~280k page faults per pass and
// a few hundred ms of system time on 2 cores. Freed blocks of kCacheMin bytes or more are therefore kept, by size,
// up to kCacheLimit bytes in all, and handed out again for the same rounded size (consecutive passes and layers
// allocate the same shapes). Memory statistics count tensors, not the cache. Off under sanitizers, which must see
// every free.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESSERA_ASAN_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(TESSERA_ASAN_BUILD)
constexpr std::size_t kCacheLimit = 0;
#else
constexpr std::size_t kCacheLimit = std::size_t{1} << 30;
#endif
constexpr std::size_t kCacheMin = std::size_t{1} << 20;
constexpr std::size_t kCacheGranule = std::size_t{64} << 10;  // large sizes round up to this (more reuse)

std::size_t rounded_size(std::size_t bytes) {
  std::size_t r = (bytes + 63) / 64 * 64;
  if (r >= kCacheMin) r = (r + kCacheGranule - 1) / kCacheGranule * kCacheGranule;
  return r == 0 ? 64 : r;
}

class CpuAllocator final : public Allocator {
 public:
  ~CpuAllocator() override {
    for (auto& [size, p] : cache_) std::free(p);
  }
  void* allocate(std::size_t bytes) override {
    std::size_t rounded = rounded_size(bytes);
    void* p = rounded >= kCacheMin ? take(rounded) : nullptr;
    if (!p) p = std::aligned_alloc(64, rounded);
    TESSERA_CHECK(p != nullptr, "out of host memory allocating {} bytes", bytes);
    record_alloc(bytes);
    return p;
  }
  void deallocate(void* ptr, std::size_t bytes) override {
    std::size_t rounded = rounded_size(bytes);
    if (rounded < kCacheMin || !keep(ptr, rounded)) std::free(ptr);
    record_free(bytes);
  }
  Device device() const override { return {}; }

 private:
  void* take(std::size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(size);
    if (it == cache_.end()) return nullptr;
    void* p = it->second;
    cache_.erase(it);
    cached_ -= size;
    return p;
  }
  bool keep(void* p, std::size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + size > kCacheLimit) return false;
    cache_.emplace(size, p);
    cached_ += size;
    return true;
  }

  std::mutex mutex_;
  std::multimap<std::size_t, void*> cache_;  // freed blocks by rounded size
  std::size_t cached_ = 0;
};
}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator a;
  return a;
}

Storage::Storage(std::size_t nbytes, Allocator& allocator)
    : data_(allocator.allocate(nbytes)), nbytes_(nbytes), device_(allocator.device()), allocator_(&allocator) {}

Storage::Storage(void* data, std::size_t nbytes, Device device, std::shared_ptr<const void> owner)
    : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)) {}

Storage::~Storage() {
  if (allocator_) allocator_->deallocate(data_, nbytes_);
}

std::string to_string(Device d) {
  return d.type == DeviceType::cpu ? std::string("cpu") : fmt::format("cuda:{}", d.index);
}

}  // namespace tessera
