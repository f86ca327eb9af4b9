// CPU allocator (64-byte aligned) and Storage; both keep current/peak byte counts for benchmarks.
#include <cstdlib>
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
class CpuAllocator final : public Allocator {
 public:
  void* allocate(std::size_t bytes) override {
    std::size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    TESSERA_CHECK(p != nullptr, "out of host memory allocating {} bytes", bytes);
    record_alloc(bytes);
    return p;
  }
  void deallocate(void* ptr, std::size_t bytes) override {
    std::free(ptr);
    record_free(bytes);
  }
  Device device() const override { return {}; }
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
