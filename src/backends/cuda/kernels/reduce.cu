// CUDA sum and max over one axis (keepdim or not), any dtype and layout. Accumulation in the compute type
// (f32 for f32/f16/bf16, f64, int64 for integers and bool); max propagates NaN.
#include <algorithm>

#include "backends/cuda/kernels/reduce_launch.h"
#include "backends/cuda/kernels/row_reduce.cuh"

namespace tessera::backends::cuda {

namespace {
// Note [Reduction kernels]: rows whose elements are adjacent in memory (axis stride 1, n >= 32) are reduced
// by G cooperating threads (a warp, or the whole 256-thread block when rows are few and long); otherwise each
// thread of a (32 x 8) block owns one output (adjacent outputs are usually adjacent in memory) and the 8
// threads of a column split the axis, combined through shared memory.
template <class T, class Op, int G>
__global__ void __launch_bounds__(kBlock)
    reduce_rows_kernel(int64_t rows, int64_t n, int64_t stride, const T* __restrict__ x, T* __restrict__ out,
                       OffsetCalc<2> calc) {
  using A = compute_t<T>;
  constexpr int kRowsPerBlock = kBlock / G;
  const int g = threadIdx.x % G;
  for (int64_t base = (int64_t)blockIdx.x * kRowsPerBlock; base < rows; base += (int64_t)gridDim.x * kRowsPerBlock) {
    const int64_t row = base + threadIdx.x / G;
    A acc = std::is_same_v<Op, SumOp> ? A(0) : lowest<A>();
    if (row < rows) {
      const T* xr = x + offsets_at(calc, (uint32_t)row).v[1];
      for (int64_t k = g; k < n; k += G) acc = Op{}(acc, to_compute(xr[k * stride]));
    }
    if constexpr (G == 32) {
      acc = warp_allreduce(acc, Op{});
    } else {
      __shared__ A scratch[32];
      acc = block_allreduce(acc, Op{}, scratch);  // every thread of the block takes part (uniform loop)
    }
    if (row < rows && g == 0) out[offsets_at(calc, (uint32_t)row).v[0]] = store_as<T>(acc);
  }
}

constexpr int kColumns = 32, kSplit = 8;

template <class T, class Op>
__global__ void __launch_bounds__(kColumns* kSplit)
    reduce_columns_kernel(int64_t rows, int64_t n, int64_t stride, const T* __restrict__ x, T* __restrict__ out,
                          OffsetCalc<2> calc) {
  using A = compute_t<T>;
  __shared__ A partial[kSplit][kColumns];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t base = (int64_t)blockIdx.x * kColumns; base < rows; base += (int64_t)gridDim.x * kColumns) {
    const int64_t row = base + tx;
    A acc = std::is_same_v<Op, SumOp> ? A(0) : lowest<A>();
    Offsets<2> o{};
    if (row < rows) {
      o = offsets_at(calc, (uint32_t)row);
      for (int64_t k = ty; k < n; k += kSplit) acc = Op{}(acc, to_compute(x[o.v[1] + k * stride]));
    }
    partial[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && row < rows) {
      for (int s = 1; s < kSplit; ++s) acc = Op{}(acc, partial[s][tx]);
      out[o.v[0]] = store_as<T>(acc);
    }
    __syncthreads();
  }
}

template <class Op>
void reduce(DType dt, const RowArgs& a) {
  dispatch_all(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.out);
    if (a.in_stride == 1 && a.n >= 32) {
      if (a.rows < 4LL * a.sms && a.n >= 4096) {  // few long rows: a block per row
        reduce_rows_kernel<T, Op, kBlock><<<blocks_for(a.rows, 1), kBlock, 0, a.stream>>>(a.rows, a.n, 1, x, y, a.calc);
      } else {
        reduce_rows_kernel<T, Op, 32><<<blocks_for(a.rows, kBlock / 32), kBlock, 0, a.stream>>>(a.rows, a.n, 1, x, y,
                                                                                                a.calc);
      }
    } else {
      reduce_columns_kernel<T, Op><<<blocks_for(a.rows, kColumns), dim3(kColumns, kSplit), 0, a.stream>>>(
          a.rows, a.n, a.in_stride, x, y, a.calc);
    }
  });
}
}  // namespace

void launch_reduce(ReduceOp op, DType dt, const RowArgs& a) {
  if (a.rows == 0) return;
  if (op == ReduceOp::sum) reduce<SumOp>(dt, a);
  else reduce<MaxNanOp>(dt, a);
}

}  // namespace tessera::backends::cuda
