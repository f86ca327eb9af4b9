// CUDA layer_norm and rms_norm over the last dim, accumulating in f32 (f64 for f64). Weights (and bias) have
// the input's dtype or f32. rms_norm follows transformers' LlamaRMSNorm / MambaRMSNorm: x · rsqrt(mean(x²) + eps)
// rounded to the input dtype, times the weight rounded to the input dtype (src/ops/defs/norm.cpp).
#include "backends/cuda/kernels/reduce_launch.h"
#include "backends/cuda/kernels/row_reduce.cuh"

namespace tessera::backends::cuda {

namespace {
constexpr int kWarpRowsBlock = 128;  // the one-warp-per-row kernels: 4 rows a block

// Rounds a compute value as T stores it (f16/bf16 rounding; identity for f32/f64).
template <class T, class A>
__device__ __forceinline__ A round_as(A v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat>) return to_compute(store_as<T>(v));
  else return v;
}

// The output value of element k of a row, given the row statistics (LayerNorm: mean, rstd; RMS: 0, rrms).
template <bool kLayer, class T, class W, class A>
__device__ __forceinline__ T norm_value(A v, A mean, A r, const W* w, const W* b, int64_t k, int64_t w_stride,
                                        int64_t b_stride) {
  if constexpr (kLayer) {
    return store_as<T>((v - mean) * r * (A)to_compute(w[k * w_stride]) + (A)to_compute(b[k * b_stride]));
  } else {
    A y = round_as<T>(v * r);
    return store_as<T>(round_as<T>((A)to_compute(w[k * w_stride])) * y);
  }
}

// The kernels' view of RowArgs + NormWeights.
struct NormParams {
  int64_t rows, n, x_stride, w_stride, b_stride;
  double eps;
};

// Note [Residual norm]: add_layer_norm reads the residual beside x in the same register pass and normalises their
// sum rounded to T, which is what add-then-layer_norm computes; the sum is never written. BERT's post-LN blocks
// save a (B, T, C) write and read and one launch per norm.
//
// Note [Norm kernels]: rows of at most 1024 contiguous elements (BERT's and Mamba's hidden sizes) are held in
// registers by one warp, loaded VEC at a time with 16-byte loads when aligned; mean and variance are two
// register passes (exact two-pass variance, as the CPU kernel). Longer rows, strided rows and f64 take a block
// per row and re-read the row (L1/L2 hits).
template <bool kLayer, class T, class W, int ELEMS, int VEC>
__global__ void __launch_bounds__(kWarpRowsBlock)
    norm_warp_kernel(NormParams p, const T* __restrict__ x, const T* __restrict__ res, const W* __restrict__ w,
                     const W* __restrict__ b, T* __restrict__ out, OffsetCalc<2> calc) {
  const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  const int n = (int)p.n;
  for (int64_t row = (int64_t)blockIdx.x * warps + (threadIdx.x >> 5); row < p.rows; row += (int64_t)gridDim.x * warps) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)row);
    const T* xr = x + o.v[1];
    T* yr = out + o.v[0];
    float v[ELEMS];
#pragma unroll
    for (int i = 0; i < ELEMS / VEC; ++i) {
      const int e = (i * 32 + lane) * VEC;
      Vec<T, VEC> t;
      if (e < n) t = load_vec<VEC>(xr + e);
#pragma unroll
      for (int j = 0; j < VEC; ++j) v[i * VEC + j] = e < n ? to_compute(t.v[j]) : 0.0f;
      if (res != nullptr && e < n) {  // Note [Residual norm]
        const Vec<T, VEC> u = load_vec<VEC>(res + o.v[1] + e);
#pragma unroll
        for (int j = 0; j < VEC; ++j) v[i * VEC + j] = round_as<T>(v[i * VEC + j] + to_compute(u.v[j]));
      }
    }
    float mean = 0, r;
    if constexpr (kLayer) {
      float s = 0;
#pragma unroll
      for (int i = 0; i < ELEMS; ++i) s += v[i];
      mean = warp_allreduce(s, SumOp{}) / (float)n;
      float q = 0;
#pragma unroll
      for (int i = 0; i < ELEMS / VEC; ++i)
        if ((i * 32 + lane) * VEC < n) {
#pragma unroll
          for (int j = 0; j < VEC; ++j) q += (v[i * VEC + j] - mean) * (v[i * VEC + j] - mean);
        }
      r = rsqrtf(warp_allreduce(q, SumOp{}) / (float)n + (float)p.eps);
    } else {
      float q = 0;
#pragma unroll
      for (int i = 0; i < ELEMS; ++i) q += v[i] * v[i];
      r = rsqrtf(warp_allreduce(q, SumOp{}) / (float)n + (float)p.eps);
    }
#pragma unroll
    for (int i = 0; i < ELEMS / VEC; ++i) {
      const int e = (i * 32 + lane) * VEC;
      if (e < n) {
        Vec<T, VEC> t;
#pragma unroll
        for (int j = 0; j < VEC; ++j) t.v[j] = norm_value<kLayer, T>(v[i * VEC + j], mean, r, w, b, e + j, p.w_stride, p.b_stride);
        store_vec<VEC>(yr + e, t);
      }
    }
  }
}

template <bool kLayer, class T, class W>
__global__ void __launch_bounds__(kBlock)
    norm_block_kernel(NormParams p, const T* __restrict__ x, const W* __restrict__ w, const W* __restrict__ b,
                      T* __restrict__ out, OffsetCalc<2> calc) {
  using A = compute_t<T>;
  __shared__ A scratch[32];
  const int64_t sx = p.x_stride;
  for (int64_t row = blockIdx.x; row < p.rows; row += gridDim.x) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)row);
    const T* xr = x + o.v[1];
    T* yr = out + o.v[0];
    A mean = 0, q = 0;
    if constexpr (kLayer) {
      A s = 0;
      for (int64_t k = threadIdx.x; k < p.n; k += blockDim.x) s += to_compute(xr[k * sx]);
      mean = block_allreduce(s, SumOp{}, scratch) / (A)p.n;
      for (int64_t k = threadIdx.x; k < p.n; k += blockDim.x) {
        A d = to_compute(xr[k * sx]) - mean;
        q += d * d;
      }
    } else {
      for (int64_t k = threadIdx.x; k < p.n; k += blockDim.x) {
        A v = to_compute(xr[k * sx]);
        q += v * v;
      }
    }
    const A r = A(1) / d_sqrt(block_allreduce(q, SumOp{}, scratch) / (A)p.n + (A)p.eps);
    for (int64_t k = threadIdx.x; k < p.n; k += blockDim.x)
      yr[k] = norm_value<kLayer, T>(to_compute(xr[k * sx]), mean, r, w, b, k, p.w_stride, p.b_stride);
  }
}

template <bool kLayer, class T, class W, int ELEMS>
void launch_warp(const NormParams& p, const RowArgs& a, const T* res, const W* w, const W* b) {
  constexpr int kVec = 16 / (int)sizeof(T) < ELEMS ? 16 / (int)sizeof(T) : ELEMS;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.out);
  const unsigned blocks = blocks_for(p.rows, kWarpRowsBlock / 32);
  if (a.aligned && p.n % kVec == 0)
    norm_warp_kernel<kLayer, T, W, ELEMS, kVec><<<blocks, kWarpRowsBlock, 0, a.stream>>>(p, x, res, w, b, y, a.calc);
  else
    norm_warp_kernel<kLayer, T, W, ELEMS, 1><<<blocks, kWarpRowsBlock, 0, a.stream>>>(p, x, res, w, b, y, a.calc);
}

template <bool kLayer, class T, class W>
void launch_norm(const RowArgs& a, const NormWeights& nw) {
  const NormParams p{a.rows, a.n, a.in_stride, nw.w_stride, nw.b_stride, nw.eps};
  const W* w = static_cast<const W*>(nw.w);
  const W* b = kLayer ? static_cast<const W*>(nw.b) : w;
  const T* res = static_cast<const T*>(nw.residual);
  if constexpr (!std::is_same_v<T, double>) {
    if (p.x_stride == 1 && p.n <= 1024) {
      if (p.n <= 128) launch_warp<kLayer, T, W, 4>(p, a, res, w, b);
      else if (p.n <= 256) launch_warp<kLayer, T, W, 8>(p, a, res, w, b);
      else if (p.n <= 512) launch_warp<kLayer, T, W, 16>(p, a, res, w, b);
      else launch_warp<kLayer, T, W, 32>(p, a, res, w, b);
      return;
    }
  }
  if (res != nullptr) return;  // unreachable: add_layer_norm_ok admits the warp kernel's rows only
  norm_block_kernel<kLayer, T, W><<<blocks_for(p.rows, 1), kBlock, 0, a.stream>>>(
      p, static_cast<const T*>(a.x), w, b, static_cast<T*>(a.out), a.calc);
}

// Dispatches on the input dtype and the weight dtype (the input's or f32).
template <bool kLayer>
void norm(DType dt, const RowArgs& a, const NormWeights& w) {
  if (a.rows == 0 || a.n == 0) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    if (w.same_dtype) launch_norm<kLayer, T, T>(a, w);
    else launch_norm<kLayer, T, float>(a, w);
  });
}
}  // namespace

void launch_layer_norm(DType dt, const RowArgs& a, const NormWeights& w) { norm<true>(dt, a, w); }
void launch_rms_norm(DType dt, const RowArgs& a, const NormWeights& w) { norm<false>(dt, a, w); }

}  // namespace tessera::backends::cuda
