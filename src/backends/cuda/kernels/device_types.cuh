// Device-side element types for the CUDA kernels: storage tags for f16/bf16/bool, the compute type of each
// stored type (f32 for f32/f16/bf16, f64 for f64, int64 for integers and bool, as the CPU kernels), loads,
// stores and casts with the CPU backend's rounding, aligned vector loads, and host dtype dispatch.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tessera/dtype.h"

namespace tessera::backends::cuda {

// Storage tags: the bits of one element (Tensor stores f16/bf16 as uint16 bits and bool as one byte).
struct Half { uint16_t bits; };
struct BFloat { uint16_t bits; };
struct Bool { uint8_t bits; };

template <class T> struct ComputeOf { using type = int64_t; };  // integers and Bool
template <> struct ComputeOf<float> { using type = float; };
template <> struct ComputeOf<Half> { using type = float; };
template <> struct ComputeOf<BFloat> { using type = float; };
template <> struct ComputeOf<double> { using type = double; };
template <class T> using compute_t = typename ComputeOf<T>::type;

__device__ __forceinline__ float to_compute(float v) { return v; }
__device__ __forceinline__ double to_compute(double v) { return v; }
__device__ __forceinline__ float to_compute(Half v) { return __half2float(__ushort_as_half(v.bits)); }
__device__ __forceinline__ float to_compute(BFloat v) { return __uint_as_float((uint32_t)v.bits << 16); }
__device__ __forceinline__ int64_t to_compute(Bool v) { return v.bits != 0; }
template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
__device__ __forceinline__ int64_t to_compute(I v) { return (int64_t)v; }

// Stores a compute value as T: round to nearest even for f16/bf16 (through f32, as the CPU does for f64),
// truncation toward zero for float -> integer, wrap-around between integers, != 0 for bool.
template <class T, class C>
__device__ __forceinline__ T store_as(C v) {
  if constexpr (std::is_same_v<T, Half>) {
    return Half{__half_as_ushort(__float2half_rn((float)v))};
  } else if constexpr (std::is_same_v<T, BFloat>) {
    return BFloat{__bfloat16_as_ushort(__float2bfloat16_rn((float)v))};
  } else if constexpr (std::is_same_v<T, Bool>) {
    return Bool{(uint8_t)(v != 0)};
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_floating_point_v<C>) return (T)(int64_t)v;
    else return (T)v;
  } else {
    return (T)v;
  }
}

// dtype conversion with the CPU backend's intermediates: integers through int64, f32/f16/bf16 among themselves
// through f32, everything else through f64.
template <class To, class From>
__device__ __forceinline__ To cast_value(From x) {
  using CF = compute_t<From>;
  using CT = compute_t<To>;
  if constexpr (std::is_same_v<CF, CT> && !std::is_same_v<CF, double>) return store_as<To>(to_compute(x));
  else return store_as<To>((double)to_compute(x));
}

// Device math by compute type.
__device__ __forceinline__ float d_exp(float x) { return expf(x); }
__device__ __forceinline__ double d_exp(double x) { return exp(x); }
__device__ __forceinline__ float d_log(float x) { return logf(x); }
__device__ __forceinline__ double d_log(double x) { return log(x); }
__device__ __forceinline__ float d_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double d_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float d_rsqrt(float x) { return rsqrtf(x); }
__device__ __forceinline__ double d_rsqrt(double x) { return rsqrt(x); }
__device__ __forceinline__ float d_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double d_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float d_erf(float x) { return erff(x); }
__device__ __forceinline__ double d_erf(double x) { return erf(x); }

// V consecutive elements, loaded and stored as one aligned access of V·sizeof(T) bytes (<= 16).
template <class T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

template <int Bytes> struct RawOf;
template <> struct RawOf<1> { using type = uint8_t; };
template <> struct RawOf<2> { using type = uint16_t; };
template <> struct RawOf<4> { using type = uint32_t; };
template <> struct RawOf<8> { using type = uint2; };
template <> struct RawOf<16> { using type = uint4; };

template <int V, class T>
__device__ __forceinline__ Vec<T, V> load_vec(const T* p) {
  using Raw = typename RawOf<sizeof(T) * V>::type;
  Raw raw = *reinterpret_cast<const Raw*>(p);
  Vec<T, V> r;
  memcpy(&r, &raw, sizeof(raw));
  return r;
}
template <int V, class T>
__device__ __forceinline__ void store_vec(T* p, const Vec<T, V>& v) {
  using Raw = typename RawOf<sizeof(T) * V>::type;
  Raw raw;
  memcpy(&raw, &v, sizeof(raw));
  *reinterpret_cast<Raw*>(p) = raw;
}

// Host dtype dispatch: fn(T{}) with the storage type of dt; false (nothing run) for a dtype the family does not
// take, which the callers' `supports` have declined.
template <class Fn>
bool dispatch_all(DType dt, Fn&& fn) {
  switch (dt) {
    case DType::f32: fn(float{}); return true;
    case DType::f16: fn(Half{}); return true;
    case DType::bf16: fn(BFloat{}); return true;
    case DType::f64: fn(double{}); return true;
    case DType::i64: fn(int64_t{}); return true;
    case DType::i32: fn(int32_t{}); return true;
    case DType::i16: fn(int16_t{}); return true;
    case DType::i8: fn(int8_t{}); return true;
    case DType::u8: fn(uint8_t{}); return true;
    case DType::boolean: fn(Bool{}); return true;
    default: return false;
  }
}
template <class Fn>
bool dispatch_float(DType dt, Fn&& fn) {
  switch (dt) {
    case DType::f32: fn(float{}); return true;
    case DType::f16: fn(Half{}); return true;
    case DType::bf16: fn(BFloat{}); return true;
    case DType::f64: fn(double{}); return true;
    default: return false;
  }
}
template <std::size_t S> struct UIntOf;
template <> struct UIntOf<1> { using type = uint8_t; };
template <> struct UIntOf<2> { using type = uint16_t; };
template <> struct UIntOf<4> { using type = uint32_t; };
template <> struct UIntOf<8> { using type = uint64_t; };
template <std::size_t S> using UIntOfSize = typename UIntOf<S>::type;

// By element size only (copies): uint8_t, uint16_t, uint32_t or uint64_t.
template <class Fn>
bool dispatch_bytes(std::size_t size, Fn&& fn) {
  switch (size) {
    case 1: fn(uint8_t{}); return true;
    case 2: fn(uint16_t{}); return true;
    case 4: fn(uint32_t{}); return true;
    case 8: fn(uint64_t{}); return true;
    default: return false;
  }
}

}  // namespace tessera::backends::cuda
