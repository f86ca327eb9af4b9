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
// registers by one warp: lane l holds vectors l, l + 32, ... of VEC elements (16-byte loads when aligned), NV of
// them, NV = ceil(n / (32·VEC)) (768 f16 elements: 3). Every load of a row (x, the residual, then the weight and
// bias vectors) is issued before any is used: a load past the row's end reads the row's first vector instead
// of branching around it, so one row costs one memory latency, not one per vector (H200, 32 × 256 × 768 f16,
// ncu: the add_layer_norm of the branchy version took 37 us, 1.0 TB/s). Mean and variance are two register
// passes (exact two-pass variance, as the CPU kernel). Weights and bias are read as vectors when unit-stride and
// aligned (kVecW), else element by element. Longer rows, strided rows and f64 take a block per row and re-read
// the row (L1/L2 hits).
template <int VEC, class W>
__device__ __forceinline__ void load_weights(const W* p, float (&out)[VEC]) {
  constexpr int kPer = 16 / (int)sizeof(W) < VEC ? 16 / (int)sizeof(W) : VEC;  // elements per 16-byte load
#pragma unroll
  for (int c = 0; c < VEC; c += kPer) {
    const Vec<W, kPer> t = load_vec<kPer>(p + c);
#pragma unroll
    for (int j = 0; j < kPer; ++j) out[c + j] = (float)to_compute(t.v[j]);
  }
}

template <bool kLayer, class T, class W, int NV, int VEC, bool kVecW>
__global__ void __launch_bounds__(kWarpRowsBlock)
    norm_warp_kernel(NormParams p, const T* __restrict__ x, const T* __restrict__ res, const W* __restrict__ w,
                     const W* __restrict__ b, T* __restrict__ out, OffsetCalc<2> calc) {
  const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
  const int n = (int)p.n;
  for (int64_t row = (int64_t)blockIdx.x * warps + (threadIdx.x >> 5); row < p.rows; row += (int64_t)gridDim.x * warps) {
    const Offsets<2> o = offsets_at(calc, (uint32_t)row);
    const T* xr = x + o.v[1];
    T* yr = out + o.v[0];
    // All of the row's loads in flight at once (Note [Norm kernels]).
    Vec<T, VEC> tx[NV], tr[NV];
#pragma unroll
    for (int i = 0; i < NV; ++i) {
      const int e = (i * 32 + lane) * VEC;
      tx[i] = load_vec<VEC>(xr + (e < n ? e : 0));
      if (res != nullptr) tr[i] = load_vec<VEC>(res + o.v[1] + (e < n ? e : 0));
    }
    float v[NV * VEC];
#pragma unroll
    for (int i = 0; i < NV; ++i) {
      const bool in = (i * 32 + lane) * VEC < n;
#pragma unroll
      for (int j = 0; j < VEC; ++j) {
        float a = to_compute(tx[i].v[j]);
        if (res != nullptr) a = round_as<T>(a + to_compute(tr[i].v[j]));  // Note [Residual norm]
        v[i * VEC + j] = in ? a : 0.0f;
      }
    }
    float mean = 0, r;
    if constexpr (kLayer) {
      float s = 0;
#pragma unroll
      for (int i = 0; i < NV * VEC; ++i) s += v[i];
      mean = warp_allreduce(s, SumOp{}) / (float)n;
      float q = 0;
#pragma unroll
      for (int i = 0; i < NV; ++i) {
        const bool in = (i * 32 + lane) * VEC < n;
#pragma unroll
        for (int j = 0; j < VEC; ++j) {
          const float d = v[i * VEC + j] - mean;
          q += in ? d * d : 0.0f;
        }
      }
      r = rsqrtf(warp_allreduce(q, SumOp{}) / (float)n + (float)p.eps);
    } else {
      float q = 0;
#pragma unroll
      for (int i = 0; i < NV * VEC; ++i) q += v[i] * v[i];
      r = rsqrtf(warp_allreduce(q, SumOp{}) / (float)n + (float)p.eps);
    }
#pragma unroll
    for (int i = 0; i < NV; ++i) {
      const int e = (i * 32 + lane) * VEC;
      if (e < n) {
        Vec<T, VEC> t;
        if constexpr (kVecW) {
          float wv[VEC], bv[VEC];
          load_weights<VEC>(w + e, wv);
          if constexpr (kLayer) load_weights<VEC>(b + e, bv);
#pragma unroll
          for (int j = 0; j < VEC; ++j) {
            if constexpr (kLayer) {
              t.v[j] = store_as<T>((v[i * VEC + j] - mean) * r * wv[j] + bv[j]);
            } else {
              const float y = round_as<T>(v[i * VEC + j] * r);
              t.v[j] = store_as<T>(round_as<T>(wv[j]) * y);
            }
          }
        } else {
#pragma unroll
          for (int j = 0; j < VEC; ++j)
            t.v[j] = norm_value<kLayer, T>(v[i * VEC + j], mean, r, w, b, e + j, p.w_stride, p.b_stride);
        }
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

// NV vectors of kVec elements per lane; vector weight loads when w (and b) are unit-stride and 16-byte aligned.
template <bool kLayer, class T, class W, int NV, int kVec>
void launch_warp_vec(const NormParams& p, const RowArgs& a, const T* res, const W* w, const W* b) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.out);
  const unsigned blocks = blocks_for(p.rows, kWarpRowsBlock / 32);
  auto aligned16 = [](const void* q) { return (reinterpret_cast<uintptr_t>(q) & 15) == 0; };
  const bool vec_w = p.w_stride == 1 && aligned16(w) && (!kLayer || (p.b_stride == 1 && aligned16(b))) &&
                     (p.n * (int64_t)sizeof(W)) % 16 == 0;
  if (vec_w)
    norm_warp_kernel<kLayer, T, W, NV, kVec, true><<<blocks, kWarpRowsBlock, 0, a.stream>>>(p, x, res, w, b, y, a.calc);
  else
    norm_warp_kernel<kLayer, T, W, NV, kVec, false><<<blocks, kWarpRowsBlock, 0, a.stream>>>(p, x, res, w, b, y, a.calc);
}

// ELEMS = the most elements a lane holds (32 · ELEMS >= n).
template <bool kLayer, class T, class W, int ELEMS>
void launch_warp(const NormParams& p, const RowArgs& a, const T* res, const W* w, const W* b) {
  constexpr int kVec = 16 / (int)sizeof(T) < ELEMS ? 16 / (int)sizeof(T) : ELEMS;
  if (a.aligned && p.n % kVec == 0) {
    const int64_t vectors = (p.n / kVec + 31) / 32;  // per lane
    // Exact counts for BERT's and Mamba's widths (768: 3 f16 / 6 f32 vectors a lane), so no lane idles.
    if constexpr (ELEMS / kVec == 4) {
      if (vectors == 3) return launch_warp_vec<kLayer, T, W, 3, kVec>(p, a, res, w, b);
    }
    if constexpr (ELEMS / kVec == 8) {
      if (vectors == 6) return launch_warp_vec<kLayer, T, W, 6, kVec>(p, a, res, w, b);
    }
    return launch_warp_vec<kLayer, T, W, ELEMS / kVec, kVec>(p, a, res, w, b);
  }
  norm_warp_kernel<kLayer, T, W, ELEMS, 1, false><<<blocks_for(p.rows, kWarpRowsBlock / 32), kWarpRowsBlock, 0, a.stream>>>(
      p, static_cast<const T*>(a.x), res, w, b, static_cast<T*>(a.out), a.calc);
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
