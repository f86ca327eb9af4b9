// Row loads and stores between any stored dtype and a compute type (float, double or int64_t), used by
// every CPU kernel that accepts low-precision or integer inputs.
#pragma once
#include <cstdint>
#include <type_traits>

#include "tessera/dtype.h"
#include "tessera/error.h"

namespace tessera::backends::cpu {

// Compute type for a stored dtype: float for f32/f16/bf16, double for f64, int64_t for integers and bool.
enum class ComputeKind { f32, f64, i64, none };
inline ComputeKind compute_kind(DType dt) {
  switch (dt) {
    case DType::f32: case DType::f16: case DType::bf16: return ComputeKind::f32;
    case DType::f64: return ComputeKind::f64;
    case DType::i64: case DType::i32: case DType::i16: case DType::i8: case DType::u8: case DType::boolean:
      return ComputeKind::i64;
    default: return ComputeKind::none;
  }
}

// d[i] = f16 s[i] as f32 / f32 s[i] rounded to f16, i < n (contiguous; 8 per instruction with F16C).
inline void f16_to_f32_row(const uint16_t* s, int64_t n, float* d) {
  int64_t i = 0;
#if defined(TESSERA_HAVE_F16C)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
#endif
  for (; i < n; ++i) d[i] = f16_to_f32(s[i]);
}
inline void f32_to_f16_row(const float* s, int64_t n, uint16_t* d) {
  int64_t i = 0;
#if defined(TESSERA_HAVE_F16C)
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT));
#endif
  for (; i < n; ++i) d[i] = f32_to_f16(s[i]);
}

// dst[i] = (C) src[off + i*stride] for i < n.
template <class C>
inline void load_row(const void* base, DType dt, int64_t off, int64_t stride, int64_t n, C* dst) {
  if constexpr (std::is_same_v<C, float>) {
    if (dt == DType::f16 && stride == 1) {
      f16_to_f32_row(static_cast<const uint16_t*>(base) + off, n, dst);
      return;
    }
  }
#define TESSERA_LOAD(T, CONV)                                                 \
  {                                                                           \
    const T* s = static_cast<const T*>(base) + off;                           \
    if (stride == 1)                                                          \
      for (int64_t i = 0; i < n; ++i) dst[i] = (C)CONV(s[i]);                 \
    else                                                                      \
      for (int64_t i = 0; i < n; ++i) dst[i] = (C)CONV(s[i * stride]);        \
    return;                                                                   \
  }
#define TESSERA_ID(v) (v)
  switch (dt) {
    case DType::f32: TESSERA_LOAD(float, TESSERA_ID)
    case DType::f64: TESSERA_LOAD(double, TESSERA_ID)
    case DType::f16: TESSERA_LOAD(uint16_t, f16_to_f32)
    case DType::bf16: TESSERA_LOAD(uint16_t, bf16_to_f32)
    case DType::i64: TESSERA_LOAD(int64_t, TESSERA_ID)
    case DType::i32: TESSERA_LOAD(int32_t, TESSERA_ID)
    case DType::i16: TESSERA_LOAD(int16_t, TESSERA_ID)
    case DType::i8: TESSERA_LOAD(int8_t, TESSERA_ID)
    case DType::u8: TESSERA_LOAD(uint8_t, TESSERA_ID)
    case DType::boolean: TESSERA_LOAD(uint8_t, TESSERA_ID)
    default: break;
  }
#undef TESSERA_LOAD
#undef TESSERA_ID
}

// dst[off + i] = src[i] converted to dt (contiguous destination).
template <class C>
inline void store_row(void* base, DType dt, int64_t off, int64_t n, const C* src) {
  if constexpr (std::is_same_v<C, float>) {
    if (dt == DType::f16) {
      f32_to_f16_row(src, n, static_cast<uint16_t*>(base) + off);
      return;
    }
  }
#define TESSERA_STORE(T, CONV)                                         \
  {                                                                    \
    T* d = static_cast<T*>(base) + off;                                \
    for (int64_t i = 0; i < n; ++i) d[i] = CONV(src[i]);               \
    return;                                                            \
  }
  switch (dt) {
    case DType::f32: TESSERA_STORE(float, (float))
    case DType::f64: TESSERA_STORE(double, (double))
    case DType::f16: TESSERA_STORE(uint16_t, f32_to_f16)
    case DType::bf16: TESSERA_STORE(uint16_t, f32_to_bf16)
    case DType::i64: TESSERA_STORE(int64_t, (int64_t))
    case DType::i32: TESSERA_STORE(int32_t, (int32_t))
    case DType::i16: TESSERA_STORE(int16_t, (int16_t))
    case DType::i8: TESSERA_STORE(int8_t, (int8_t))
    case DType::u8: TESSERA_STORE(uint8_t, (uint8_t))
    case DType::boolean: TESSERA_STORE(uint8_t, [](C v) { return (uint8_t)(v != 0); })
    default: break;
  }
#undef TESSERA_STORE
}

}  // namespace tessera::backends::cpu
