// CUDA softmax over any axis, accumulating in f32 (f64 for f64): exp(x - max) / sum. A row containing NaN,
// +inf, or only -inf comes out all NaN, as the reference decomposition.
#include "backends/cuda/kernels/reduce_launch.h"
#include "backends/cuda/kernels/row_reduce.cuh"

namespace tessera::backends::cuda {

namespace {
constexpr int kWarpRowsBlock = 128;  // the one-warp-per-row kernel: 4 rows a block

// Note [Softmax kernels]: rows of at most 1024 contiguous elements (the attention-score and classifier
// shapes) are held in registers by one warp (ELEMS values a lane, loaded VEC at a time with 16-byte loads when
// aligned): one read, one write. Longer rows take a block per row and three passes (max, sum, write) that
// hit L2 after the first; rows along a strided axis take a thread per row (adjacent rows adjacent in memory).
template <class T, int ELEMS, int VEC>
__global__ void __launch_bounds__(kWarpRowsBlock)
    softmax_warp_kernel(int64_t rows, int n, const T* __restrict__ x, T* __restrict__ out, OffsetCalc<2> calc) {
  const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  for (int64_t row = (int64_t)blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (int64_t)gridDim.x * warps) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)row);
    const T* xr = x + o.v[1];
    T* yr = out + o.v[0];
    // Load the row: chunk i of this lane covers elements (i·32 + lane)·VEC ... + VEC - 1.
    float v[ELEMS];
#pragma unroll
    for (int i = 0; i < ELEMS / VEC; ++i) {
      const int e = (i * 32 + lane) * VEC;
      if (e < n) {
        Vec<T, VEC> t = load_vec<VEC>(xr + e);
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[i * VEC + j] = to_compute(t.v[j]);
      } else {
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[i * VEC + j] = -INFINITY;
      }
    }
    // Row max, then the sum of exp(x - max).
    float m = -INFINITY;
#pragma unroll
    for (int i = 0; i < ELEMS; ++i) m = MaxOp{}(m, v[i]);
    m = warp_allreduce(m, MaxOp{});
    float sum = 0;
#pragma unroll
    for (int i = 0; i < ELEMS / VEC; ++i) {
      if ((i * 32 + lane) * VEC < n) {
#pragma unroll
        for (int j = 0; j < VEC; ++j) {
          v[i * VEC + j] = expf(v[i * VEC + j] - m);
          sum += v[i * VEC + j];
        }
      }
    }
    sum = warp_allreduce(sum, SumOp{});
    const float inv = 1.0f / sum;
    // Scale and store.
#pragma unroll
    for (int i = 0; i < ELEMS / VEC; ++i) {
      const int e = (i * 32 + lane) * VEC;
      if (e < n) {
        Vec<T, VEC> t;
#pragma unroll
        for (int j = 0; j < VEC; ++j) t.v[j] = store_as<T>(v[i * VEC + j] * inv);
        store_vec<VEC>(yr + e, t);
      }
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    softmax_block_kernel(int64_t rows, int64_t n, int64_t sx, int64_t so, const T* __restrict__ x,
                         T* __restrict__ out, OffsetCalc<2> calc) {
  using A = compute_t<T>;
  __shared__ A scratch[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)row);
    const T* xr = x + o.v[1];
    T* yr = out + o.v[0];
    A m = lowest<A>();
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) m = MaxOp{}(m, to_compute(xr[k * sx]));
    m = block_allreduce(m, MaxOp{}, scratch);
    A sum = 0;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) sum += d_exp(to_compute(xr[k * sx]) - m);
    sum = block_allreduce(sum, SumOp{}, scratch);
    const A inv = A(1) / sum;
    for (int64_t k = threadIdx.x; k < n; k += blockDim.x) yr[k * so] = store_as<T>(d_exp(to_compute(xr[k * sx]) - m) * inv);
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock)
    softmax_column_kernel(int64_t rows, int64_t n, int64_t sx, int64_t so, const T* __restrict__ x,
                          T* __restrict__ out, OffsetCalc<2> calc) {
  using A = compute_t<T>;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t row = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; row < rows; row += stride) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)row);
    const T* xr = x + o.v[1];
    T* yr = out + o.v[0];
    A m = lowest<A>();
    for (int64_t k = 0; k < n; ++k) m = MaxOp{}(m, to_compute(xr[k * sx]));
    A sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += d_exp(to_compute(xr[k * sx]) - m);
    const A inv = A(1) / sum;
    for (int64_t k = 0; k < n; ++k) yr[k * so] = store_as<T>(d_exp(to_compute(xr[k * sx]) - m) * inv);
  }
}

template <class T, int ELEMS>
void launch_warp(const RowArgs& a) {
  constexpr int kVec = 16 / (int)sizeof(T) < ELEMS ? 16 / (int)sizeof(T) : ELEMS;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.out);
  const unsigned blocks = blocks_for(a.rows, kWarpRowsBlock / 32);
  if (a.aligned && a.n % kVec == 0)
    softmax_warp_kernel<T, ELEMS, kVec><<<blocks, kWarpRowsBlock, 0, a.stream>>>(a.rows, (int)a.n, x, y, a.calc);
  else
    softmax_warp_kernel<T, ELEMS, 1><<<blocks, kWarpRowsBlock, 0, a.stream>>>(a.rows, (int)a.n, x, y, a.calc);
}
}  // namespace

void launch_softmax(DType dt, const RowArgs& a) {
  if (a.rows == 0) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, double>) {
      if (a.in_stride == 1 && a.out_stride == 1 && a.n <= 1024) {
        if (a.n <= 32) launch_warp<T, 1>(a);
        else if (a.n <= 64) launch_warp<T, 2>(a);
        else if (a.n <= 128) launch_warp<T, 4>(a);
        else if (a.n <= 256) launch_warp<T, 8>(a);
        else if (a.n <= 512) launch_warp<T, 16>(a);
        else launch_warp<T, 32>(a);
        return;
      }
    }
    const T* x = static_cast<const T*>(a.x);
    T* y = static_cast<T*>(a.out);
    if (a.in_stride == 1 || a.rows < 1024) {
      softmax_block_kernel<T><<<blocks_for(a.rows, 1), kBlock, 0, a.stream>>>(a.rows, a.n, a.in_stride, a.out_stride,
                                                                              x, y, a.calc);
    } else {
      softmax_column_kernel<T><<<blocks_for(a.rows), kBlock, 0, a.stream>>>(a.rows, a.n, a.in_stride, a.out_stride, x,
                                                                            y, a.calc);
    }
  });
}

}  // namespace tessera::backends::cuda
