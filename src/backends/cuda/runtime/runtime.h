// The CUDA backend's runtime, for kernel files: the per-device executor stream, device properties, error
// checks that name the op and the shapes, and the caching allocator's extra controls. CUDA headers stay
// under src/backends/cuda/ (DESIGN.md §2).
#pragma once
#include <cuda_runtime.h>

#include <string>
#include <string_view>

#include "ops/op.h"
#include "tessera/tensor.h"

namespace tessera::backends::cuda {

// The one stream every kernel, copy and cuBLASLt call of device `index` is queued on (Note [One stream]).
cudaStream_t stream(int index);
inline cudaStream_t stream_of(const Tensor& t) { return stream(t.device().index); }
const cudaDeviceProp& properties(int index);
// Makes `index` the calling thread's current device (cheap when it already is).
void set_device(int index);

// Throws a user-facing error naming `what` when `status` is not cudaSuccess.
void check(cudaError_t status, std::string_view what);
// After a launch: turns a launch error into an error naming the op, its input shapes/dtypes and the kernel.
void check_launch(std::string_view kernel, ops::Inputs in);

// A scratch buffer from the caching allocator, freed (returned to the cache) at scope exit; stream-ordered,
// so it may be released while kernels that use it are still queued.
class Workspace {
 public:
  Workspace(std::size_t bytes, int device);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* data() const { return data_; }
  template <class T>
  T* as() const { return static_cast<T*>(data_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  int device_ = 0;
};

// Grid size for a 1-D elementwise launch of `n` items at `per_block` items a block, capped for grid-stride loops.
inline unsigned grid_for(int64_t n, int64_t per_block, int64_t cap = 65535LL * 16) {
  int64_t g = (n + per_block - 1) / per_block;
  return (unsigned)(g < 1 ? 1 : (g > cap ? cap : g));
}

}  // namespace tessera::backends::cuda

#define TESSERA_CUDA_CHECK(expr) ::tessera::backends::cuda::check((expr), #expr)
