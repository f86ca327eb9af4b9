// The CUDA elementwise engine: out[i] = f(in0[..], in1[..], ...) for 1-3 inputs of any storage types, over
// EwArgs (elementwise_launch.h). Dense operands take a vectorised grid-stride kernel (16-byte accesses for the
// widest type); everything else the strided kernel (Note [Strided kernels]).
#pragma once
#include <tuple>
#include <utility>

#include "backends/cuda/kernels/device_types.cuh"
#include "backends/cuda/kernels/elementwise_launch.h"
#include "backends/cuda/kernels/strided.cuh"

namespace tessera::backends::cuda {

template <std::size_t I, class... T>
using TypeAt = std::tuple_element_t<I, std::tuple<T...>>;

template <int N>
struct Ptrs {
  const void* p[N];
};

// f applied to the elements at per-input offsets.
template <class F, class... In, std::size_t... I>
__device__ __forceinline__ auto apply_at(const F& f, const Ptrs<sizeof...(In)>& in, const int64_t* off,
                                         std::index_sequence<I...>) {
  return f(static_cast<const In*>(in.p[I])[off[I]]...);
}

// Dense operands: V elements a thread per step with aligned vector accesses; the last n % V one a thread.
// Note [Two vectors a thread]: each step takes chunks c and c + stride, both chunks' loads issued before either is
// used (the second clamps to the first past the end instead of branching around its load), so a thread keeps
// 32 bytes per input in flight: at one 16-byte vector a thread a full SM holds ~32 KB in flight, about what
// H200's bandwidth-latency product needs per SM, and the unary ops (GELU, SiLU, casts) ran at ~2.9 of ~4 TB/s.
template <int V, class F, class Out, class... In>
__device__ __forceinline__ Vec<Out, V> apply_vec(const F& f, const Ptrs<sizeof...(In)>& in, int64_t c) {
  constexpr int N = sizeof...(In);
  Vec<Out, V> y;
  if constexpr (N == 1) {
    auto a = load_vec<V>(static_cast<const TypeAt<0, In...>*>(in.p[0]) + c * V);
#pragma unroll
    for (int j = 0; j < V; ++j) y.v[j] = f(a.v[j]);
  } else if constexpr (N == 2) {
    auto a = load_vec<V>(static_cast<const TypeAt<0, In...>*>(in.p[0]) + c * V);
    auto b = load_vec<V>(static_cast<const TypeAt<1, In...>*>(in.p[1]) + c * V);
#pragma unroll
    for (int j = 0; j < V; ++j) y.v[j] = f(a.v[j], b.v[j]);
  } else {
    static_assert(N == 3, "the engine takes 1-3 inputs");
    auto a = load_vec<V>(static_cast<const TypeAt<0, In...>*>(in.p[0]) + c * V);
    auto b = load_vec<V>(static_cast<const TypeAt<1, In...>*>(in.p[1]) + c * V);
    auto d = load_vec<V>(static_cast<const TypeAt<2, In...>*>(in.p[2]) + c * V);
#pragma unroll
    for (int j = 0; j < V; ++j) y.v[j] = f(a.v[j], b.v[j], d.v[j]);
  }
  return y;
}

template <int V, class F, class Out, class... In>
__global__ void __launch_bounds__(kBlock)
    elementwise_vec_kernel(int64_t n, F f, Out* __restrict__ out, Ptrs<sizeof...(In)> in) {
  constexpr int N = sizeof...(In);
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t first = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int64_t chunks = n / V;
  for (int64_t c = first; c < chunks; c += 2 * stride) {
    const int64_t c2 = c + stride;
    const bool two = c2 < chunks;
    const int64_t d = two ? c2 : c;
    Vec<Out, V> y, y2;
    // Both chunks' loads first, then the math (Note [Two vectors a thread]).
    if constexpr (N == 1) {
      using A = TypeAt<0, In...>;
      const auto a = load_vec<V>(static_cast<const A*>(in.p[0]) + c * V);
      const auto a2 = load_vec<V>(static_cast<const A*>(in.p[0]) + d * V);
#pragma unroll
      for (int j = 0; j < V; ++j) {
        y.v[j] = f(a.v[j]);
        y2.v[j] = f(a2.v[j]);
      }
    } else if constexpr (N == 2) {
      using A = TypeAt<0, In...>;
      using B = TypeAt<1, In...>;
      const auto a = load_vec<V>(static_cast<const A*>(in.p[0]) + c * V);
      const auto b = load_vec<V>(static_cast<const B*>(in.p[1]) + c * V);
      const auto a2 = load_vec<V>(static_cast<const A*>(in.p[0]) + d * V);
      const auto b2 = load_vec<V>(static_cast<const B*>(in.p[1]) + d * V);
#pragma unroll
      for (int j = 0; j < V; ++j) {
        y.v[j] = f(a.v[j], b.v[j]);
        y2.v[j] = f(a2.v[j], b2.v[j]);
      }
    } else {
      y = apply_vec<V, F, Out, In...>(f, in, c);
      y2 = apply_vec<V, F, Out, In...>(f, in, d);
    }
    store_vec<V>(out + c * V, y);
    if (two) store_vec<V>(out + c2 * V, y2);
  }
  for (int64_t i = chunks * V + first; i < n; i += stride) {
    int64_t off[N];
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = i;
    out[i] = apply_at<F, In...>(f, in, off, std::make_index_sequence<N>{});
  }
}

// Any layout: the flat output index -> per-input offsets.
template <class F, class Out, class... In>
__global__ void __launch_bounds__(kBlock)
    elementwise_strided_kernel(int64_t n, F f, Out* __restrict__ out, Ptrs<sizeof...(In)> in,
                               OffsetCalc<sizeof...(In)> calc) {
  constexpr int N = sizeof...(In);
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
    const Offsets<N> o = offsets_at(calc, (uint32_t)i);
    out[i] = apply_at<F, In...>(f, in, o.v, std::make_index_sequence<N>{});
  }
}

template <class... T>
constexpr int max_size_of() {
  std::size_t m = 1;
  ((m = sizeof(T) > m ? sizeof(T) : m), ...);
  return (int)m;
}

// Queues out = f(in...) on a.stream (the caller checks the launch).
template <class Out, class... In, class F>
void run_elementwise(const EwArgs<sizeof...(In)>& a, F f) {
  constexpr int N = sizeof...(In);
  if (a.n == 0) return;
  Ptrs<N> p;
  for (int k = 0; k < N; ++k) p.p[k] = a.in[k];
  Out* y = static_cast<Out*>(a.out);
  if (a.dense) {
    constexpr int V = 16 / max_size_of<Out, In...>();
    // Two vectors a thread (Note [Two vectors a thread]).
    elementwise_vec_kernel<V, F, Out, In...><<<blocks_for((a.n + 2 * V - 1) / (2 * V)), kBlock, 0, a.stream>>>(a.n, f, y, p);
  } else {
    elementwise_strided_kernel<F, Out, In...><<<blocks_for(a.n), kBlock, 0, a.stream>>>(a.n, f, y, p, a.calc);
  }
}

}  // namespace tessera::backends::cuda
