// CUDA dtype casts (every pair of computable dtypes, with the CPU backend's conversions), bit copies on the
// elementwise engine, the tiled transpose copy, and the strided copy into a slice (concat).
#include <algorithm>

#include "backends/cuda/kernels/elementwise.cuh"

namespace tessera::backends::cuda {

namespace {
template <class To, class From>
struct CastFn {
  __device__ To operator()(From x) const { return cast_value<To>(x); }
};

template <class T>
struct CopyFn {
  __device__ T operator()(T x) const { return x; }
};

// Note [Transposed copies]: when the output's innermost dim is strided in the input but another dim j is
// contiguous there (a transpose or a permute that moves the last dim), a plain strided copy reads one element
// per 32-byte sector. This kernel stages 32 x 32 tiles through shared memory so that both the reads (along j)
// and the writes (along the last dim) are coalesced. Block (32, 8); each thread moves 4 elements a tile.
constexpr int kTile = 32, kTileRows = 8;

template <class T>
__global__ void __launch_bounds__(kTile * kTileRows)
    transpose_copy_kernel(const T* __restrict__ in, T* __restrict__ out, int64_t rows, int64_t cols,
                          int64_t in_col_stride, int64_t out_row_stride, uint32_t tiles_c, uint32_t tiles,
                          uint32_t batches, OffsetCalc<2> batch) {
  __shared__ T tile[kTile][kTile + 1];  // [col][row] of the tile; +1 avoids bank conflicts on the column reads
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (uint32_t b = blockIdx.y; b < batches; b += gridDim.y) {
    const Offsets<2> o = offsets_at(batch, b);  // v[0]: output, v[1]: input
    for (uint32_t t = blockIdx.x; t < tiles; t += gridDim.x) {
      const int64_t r0 = (int64_t)(t / tiles_c) * kTile, c0 = (int64_t)(t % tiles_c) * kTile;
      // Read: consecutive threads walk dim j, contiguous in the input.
#pragma unroll
      for (int k = 0; k < kTile; k += kTileRows) {
        int64_t r = r0 + tx, c = c0 + ty + k;
        if (r < rows && c < cols) tile[ty + k][tx] = in[o.v[1] + r + c * in_col_stride];
      }
      __syncthreads();
      // Write: consecutive threads walk the last dim, contiguous in the output.
#pragma unroll
      for (int k = 0; k < kTile; k += kTileRows) {
        int64_t r = r0 + ty + k, c = c0 + tx;
        if (r < rows && c < cols) out[o.v[0] + r * out_row_stride + c] = tile[tx][ty + k];
      }
      __syncthreads();
    }
  }
}

// dst[offset0(i)] = src[offset1(i)] over a collapsed layout with operands (dst, src).
template <class T>
__global__ void __launch_bounds__(kBlock)
    copy_strided_kernel(int64_t n, const T* __restrict__ src, T* __restrict__ dst, OffsetCalc<2> calc) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)i);
    dst[o.v[0]] = src[o.v[1]];
  }
}
}  // namespace

void launch_cast(DType from, DType to, const EwArgs<1>& a) {
  dispatch_all(from, [&](auto from_tag) {
    using From = decltype(from_tag);
    dispatch_all(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      run_elementwise<To, From>(a, CastFn<To, From>{});
    });
  });
}

void launch_copy(std::size_t elem_size, const EwArgs<1>& a) {
  dispatch_bytes(elem_size, [&](auto tag) {
    using T = decltype(tag);
    run_elementwise<T, T>(a, CopyFn<T>{});
  });
}

void launch_transpose_copy(std::size_t elem_size, const TransposeArgs& a) {
  const uint32_t tiles_c = (uint32_t)((a.cols + kTile - 1) / kTile);
  const uint32_t tiles = tiles_c * (uint32_t)((a.rows + kTile - 1) / kTile);
  const dim3 grid(std::min<uint32_t>(tiles, 1u << 20), std::min<uint32_t>(a.batches, 65535u));
  dispatch_bytes(elem_size, [&](auto tag) {
    using T = decltype(tag);
    transpose_copy_kernel<T><<<grid, dim3(kTile, kTileRows), 0, a.stream>>>(
        static_cast<const T*>(a.in), static_cast<T*>(a.out), a.rows, a.cols, a.in_col_stride, a.out_row_stride,
        tiles_c, tiles, a.batches, a.batch);
  });
}

void launch_strided_copy(std::size_t elem_size, int64_t n, const void* src, void* dst, const OffsetCalc<2>& calc,
                         cudaStream_t stream) {
  if (n == 0) return;
  dispatch_bytes(elem_size, [&](auto tag) {
    using T = decltype(tag);
    copy_strided_kernel<T><<<blocks_for(n), kBlock, 0, stream>>>(n, static_cast<const T*>(src), static_cast<T*>(dst), calc);
  });
}

}  // namespace tessera::backends::cuda
