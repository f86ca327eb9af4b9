// CUDA embedding gather: out[r, :] = weight[ids[r], :] for a (V, C) table of any dtype and layout and i64/i32
// ids of any layout, copied in 16-byte units when the table's rows allow it.
#include <algorithm>

#include "backends/cuda/kernels/device_types.cuh"
#include "backends/cuda/kernels/reduce_launch.h"
#include "backends/cuda/kernels/strided.cuh"

namespace tessera::backends::cuda {

namespace {
// Note [Gather kernel]: a block per output row (grid-stride over rows); its threads copy the row's units. An id
// out of range (the eager path checks ids on the host first) gives a zero row rather than a wild read.
template <class U, class I>
__global__ void __launch_bounds__(kBlock) gather_rows_kernel(GatherArgs a) {
  const U* w = static_cast<const U*>(a.w);
  const I* ids = static_cast<const I*>(a.ids);
  U* out = static_cast<U*>(a.out);
  for (int64_t r = blockIdx.x; r < a.rows; r += gridDim.x) {
    const int64_t id = (int64_t)ids[offsets_at(a.ids_calc, (uint32_t)r).v[0]];
    U* dst = out + r * a.units;
    if (id < 0 || id >= a.vocab) {
      for (int64_t j = threadIdx.x; j < a.units; j += blockDim.x) dst[j] = U{};
      continue;
    }
    const U* src = w + id * a.w_row;
    for (int64_t j = threadIdx.x; j < a.units; j += blockDim.x) dst[j] = src[j * a.w_col];
  }
}

template <class U>
void launch_units(const GatherArgs& a) {
  const int threads = (int)std::min<int64_t>(kBlock, (a.units + 31) / 32 * 32);
  const unsigned blocks = blocks_for(a.rows, 1);
  if (a.ids_i64) gather_rows_kernel<U, int64_t><<<blocks, threads, 0, a.stream>>>(a);
  else gather_rows_kernel<U, int32_t><<<blocks, threads, 0, a.stream>>>(a);
}
}  // namespace

void launch_gather(std::size_t unit_size, const GatherArgs& a) {
  if (a.rows == 0 || a.units == 0) return;
  if (unit_size == 16) launch_units<uint4>(a);
  else dispatch_bytes(unit_size, [&](auto tag) { launch_units<decltype(tag)>(a); });
}

}  // namespace tessera::backends::cuda
