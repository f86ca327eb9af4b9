// Tensor: a cheap handle {Storage, shape, strides (elements), offset, DType}. Views share storage.
// PyTorch dimension order. Ops on tensors live in tessera/ops.h; this header is the data model only.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "tessera/dtype.h"
#include "tessera/error.h"

namespace tessera {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

enum class DeviceType : uint8_t { cpu, cuda };
struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  bool operator==(const Device&) const = default;
};
std::string to_string(Device d);
// "cpu", "cuda", "cuda:N" -> Device; a clear error for anything else or a CUDA device this build/machine lacks.
Device parse_device(std::string_view text);
bool cuda_is_available();              // a CUDA build with at least one visible device
int cuda_device_count();               // 0 in a CPU-only build or without a driver/device
std::string cuda_unavailable_reason();  // why cuda_is_available() is false ("" when it is true)
std::string describe_device(Device d);  // "cpu" or "NVIDIA H200 (sm_90, 132 SMs, 140 GiB)"
void synchronize(Device d);            // waits for queued device work (no-op on cpu)
void empty_cache(Device d);            // returns the caching allocator's free blocks to the driver

// Byte counts an allocator keeps; benchmarks report `peak` as peak tensor memory.
struct MemoryStats {
  int64_t current = 0;
  int64_t peak = 0;
  int64_t allocations = 0;
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* ptr, std::size_t bytes) = 0;
  virtual Device device() const = 0;
  MemoryStats stats() const { return {current_.load(), peak_.load(), allocations_.load()}; }
  void reset_peak() { peak_.store(current_.load()); }

 protected:
  void record_alloc(std::size_t bytes);
  void record_free(std::size_t bytes);

 private:
  std::atomic<int64_t> current_{0}, peak_{0}, allocations_{0};
};

Allocator& cpu_allocator();  // 64-byte aligned; counts current/peak bytes
Allocator& device_allocator(Device d);  // cpu_allocator() or the CUDA caching allocator of device d

// Storage: a byte buffer owned by an allocator or borrowed from an owner (an mmap'd file, say).
class Storage {
 public:
  Storage(std::size_t nbytes, Allocator& allocator);
  Storage(void* data, std::size_t nbytes, Device device, std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool borrowed() const { return allocator_ == nullptr; }

 private:
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_{};
  Allocator* allocator_ = nullptr;
  std::shared_ptr<const void> owner_;
};

std::string shape_str(std::span<const int64_t> shape);  // "(2, 3, 4)"
int64_t shape_numel(std::span<const int64_t> shape);
Strides contiguous_strides(std::span<const int64_t> shape);

// The metadata an op's `infer` computes: what an output will be, without data.
struct TensorMeta {
  Shape shape;
  DType dtype = DType::f32;
  Device device{};
};

class Tensor {
 public:
  Tensor() = default;  // undefined

  // Factories (CPU unless a device is given).
  static Tensor empty(Shape shape, DType dtype, Device device = {});
  static Tensor zeros(Shape shape, DType dtype = DType::f32, Device device = {});
  static Tensor full(Shape shape, double value, DType dtype = DType::f32, Device device = {});
  // Copies `values` (converted to `dtype`) into a new tensor; values.size() must equal numel.
  static Tensor from_values(Shape shape, std::span<const float> values, DType dtype = DType::f32);
  static Tensor from_values(Shape shape, std::span<const int64_t> values, DType dtype = DType::i64);
  // Zero-copy wrap of external bytes kept alive by `owner` (e.g. a memory-mapped checkpoint).
  static Tensor from_external(void* data, Shape shape, Strides strides, DType dtype, std::shared_ptr<const void> owner,
                              Device device = {});

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Strides& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  int64_t dim() const { return (int64_t)shape().size(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape()); }
  std::size_t nbytes() const { return (std::size_t)numel() * dtype_size(dtype()); }
  bool is_contiguous() const;
  TensorMeta meta() const { return {shape(), dtype(), device()}; }
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  uint64_t id() const { return impl().id; }  // identity of this handle's value (graph capture keys on it)

  void* raw_data() const;  // pointer to element [0,...,0]
  template <class T>
  T* data() const { return static_cast<T*>(raw_data()); }

  // A new handle over the same storage with another layout (no checks beyond bounds; ops use this).
  Tensor as_strided(Shape shape, Strides strides, int64_t offset) const;
  // A new handle over the same storage and layout but a fresh identity.
  Tensor alias() const { return as_strided(shape(), strides(), offset()); }

  // A contiguous copy on `device` (this tensor itself when already there). Device -> host copies wait for the
  // device's queued work; host -> device copies are staged through pinned memory.
  Tensor to(Device device) const;
  Tensor cpu() const { return to(Device{}); }

  // Element access for tests and small host-side work (any dtype, converted; device tensors are copied first).
  double item() const;
  std::vector<float> to_float_vector() const;
  std::vector<int64_t> to_int_vector() const;
  std::string to_string(int64_t max_elements = 16) const;

 private:
  struct Impl {
    std::shared_ptr<Storage> storage;
    Shape shape;
    Strides strides;
    int64_t offset = 0;
    DType dtype = DType::f32;
    uint64_t id = 0;
  };
  const Impl& impl() const {
    TESSERA_ASSERT(impl_, "use of an undefined Tensor");
    return *impl_;
  }
  static Tensor make(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype);
  std::shared_ptr<const Impl> impl_;
};

// Reads element i (flat index in logical row-major order) of any-dtype tensor as double.
double read_element(const Tensor& t, int64_t flat_index);

}  // namespace tessera
