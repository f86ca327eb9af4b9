// CUDA runtime: device discovery, one stream per device, host<->device copies with pinned staging, the
// DeviceRuntime that core uses (core/device_runtime.h), and error checks naming the op and shapes.
#include "backends/cuda/runtime/runtime.h"

#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/cuda/runtime/caching_allocator.h"
#include "core/device_runtime.h"

namespace tessera::backends::cuda {

namespace {
constexpr int kMaxDevices = 16;

// Note [One stream]: each device has one non-blocking stream that all of Tessera's work is queued on, so
// work is ordered without events, the caching allocator can reuse a freed block at once (stream order), and
// the host only waits at device->host copies and explicit synchronize().
struct DeviceState {
  std::once_flag once;
  cudaStream_t stream = nullptr;
  cudaDeviceProp props{};
  std::unique_ptr<CachingAllocator> allocator;
  // Pinned staging for host->device copies: the host copies into it and queues an async copy; the next
  // staged copy waits for that one's event before overwriting the buffer.
  std::mutex staging_mutex;
  void* staging = nullptr;
  std::size_t staging_bytes = 0;
  cudaEvent_t staging_done = nullptr;
};

std::array<DeviceState, kMaxDevices>& states() {
  static std::array<DeviceState, kMaxDevices> s;
  return s;
}

struct Discovery {
  int count = 0;
  std::string reason;
};

const Discovery& discovery() {
  static Discovery d = [] {
    Discovery r;
    int n = 0;
    cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) {
      r.reason = fmt::format("cudaGetDeviceCount failed: {} ({}){}", cudaGetErrorString(st), cudaGetErrorName(st),
                             st == cudaErrorInsufficientDriver || st == cudaErrorNoDevice
                                 ? "; no NVIDIA driver/GPU is visible on this machine (use --device cpu)"
                                 : "");
      cudaGetLastError();
      return r;
    }
    if (n == 0) r.reason = "the CUDA driver reports no devices";
    r.count = std::min(n, kMaxDevices);
    return r;
  }();
  return d;
}

DeviceState& state(int index) {
  TESSERA_CHECK(index >= 0 && index < discovery().count, "cuda:{}: no such device ({} visible)", index,
                discovery().count);
  DeviceState& s = states()[index];
  std::call_once(s.once, [&] {
    TESSERA_CUDA_CHECK(cudaSetDevice(index));
    TESSERA_CUDA_CHECK(cudaGetDeviceProperties(&s.props, index));
    TESSERA_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
    TESSERA_CUDA_CHECK(cudaEventCreateWithFlags(&s.staging_done, cudaEventDisableTiming));
    s.allocator = std::make_unique<CachingAllocator>(index, s.stream);
  });
  return s;
}

constexpr std::size_t kStagingLimit = 64u << 20;  // larger host->device copies go unstaged (synchronous)

class CudaRuntime final : public DeviceRuntime {
 public:
  int device_count() override { return discovery().count; }
  std::string unavailable_reason() override { return discovery().reason; }
  Allocator& allocator(int index) override { return *state(index).allocator; }

  void copy(void* dst, Device dd, const void* src, Device sd, std::size_t bytes) override {
    if (dd.type == DeviceType::cuda && sd.type == DeviceType::cpu) {
      host_to_device(dst, dd.index, src, bytes);
    } else if (dd.type == DeviceType::cpu && sd.type == DeviceType::cuda) {
      DeviceState& s = state(sd.index);
      set_device(sd.index);
      TESSERA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s.stream));
      TESSERA_CUDA_CHECK(cudaStreamSynchronize(s.stream));
    } else {
      DeviceState& s = state(dd.index);
      set_device(dd.index);
      TESSERA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s.stream));
      if (sd.index != dd.index) TESSERA_CUDA_CHECK(cudaStreamSynchronize(s.stream));
    }
  }

  void fill_zero(void* dst, std::size_t bytes, int index) override {
    set_device(index);
    TESSERA_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, state(index).stream));
  }

  void synchronize(int index) override {
    set_device(index);
    TESSERA_CUDA_CHECK(cudaStreamSynchronize(state(index).stream));
  }

  void empty_cache(int index) override { state(index).allocator->empty_cache(); }

  std::string describe(int index) override {
    const cudaDeviceProp& p = state(index).props;
    return fmt::format("{} (sm_{}{}, {} SMs, {:.0f} GiB)", p.name, p.major, p.minor, p.multiProcessorCount,
                       (double)p.totalGlobalMem / (1u << 30));
  }

 private:
  void host_to_device(void* dst, int index, const void* src, std::size_t bytes) {
    DeviceState& s = state(index);
    set_device(index);
    if (bytes > kStagingLimit) {
      TESSERA_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s.stream));
      TESSERA_CUDA_CHECK(cudaStreamSynchronize(s.stream));
      return;
    }
    std::lock_guard lock(s.staging_mutex);
    if (s.staging_bytes < bytes) {
      TESSERA_CUDA_CHECK(cudaEventSynchronize(s.staging_done));
      if (s.staging) TESSERA_CUDA_CHECK(cudaFreeHost(s.staging));
      s.staging_bytes = std::max<std::size_t>(bytes, 1u << 20);
      TESSERA_CUDA_CHECK(cudaMallocHost(&s.staging, s.staging_bytes));
    } else {
      TESSERA_CUDA_CHECK(cudaEventSynchronize(s.staging_done));  // the previous staged copy has left the buffer
    }
    std::memcpy(s.staging, src, bytes);
    TESSERA_CUDA_CHECK(cudaMemcpyAsync(dst, s.staging, bytes, cudaMemcpyHostToDevice, s.stream));
    TESSERA_CUDA_CHECK(cudaEventRecord(s.staging_done, s.stream));
  }
};
}  // namespace

cudaStream_t stream(int index) { return state(index).stream; }
const cudaDeviceProp& properties(int index) { return state(index).props; }

void set_device(int index) {
  thread_local int current = -1;
  if (current != index) {
    TESSERA_CUDA_CHECK(cudaSetDevice(index));
    current = index;
  }
}

void check(cudaError_t status, std::string_view what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so later calls are not blamed for it
  TESSERA_CHECK(false, "CUDA error in {}: {} ({})", what, cudaGetErrorString(status), cudaGetErrorName(status));
}

void check_launch(std::string_view kernel, ops::Inputs in) {
  cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess) return;
  std::string args;
  for (const Tensor& t : in)
    args += fmt::format("{}{} {}", args.empty() ? "" : ", ", dtype_name(t.dtype()), shape_str(t.shape()));
  TESSERA_CHECK(false, "CUDA kernel {} failed to launch on inputs [{}]: {} ({})", kernel, args,
                cudaGetErrorString(status), cudaGetErrorName(status));
}

Workspace::Workspace(std::size_t bytes, int device) : bytes_(bytes), device_(device) {
  if (bytes) data_ = state(device).allocator->allocate(bytes);
}
Workspace::~Workspace() {
  if (data_) state(device_).allocator->deallocate(data_, bytes_);
}

}  // namespace tessera::backends::cuda

namespace tessera {
DeviceRuntime* cuda_runtime() {
  static backends::cuda::CudaRuntime rt;
  return &rt;
}
}  // namespace tessera
