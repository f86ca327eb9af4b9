// DType: the element types Tensor can hold, with the safetensors / PyTorch spellings, sizes and the
// f16/bf16 <-> f32 conversions (CPU computes low precision in f32 and rounds to nearest even on store).
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#if defined(__F16C__) && !defined(__CUDACC__)
#include <immintrin.h>
#define TESSERA_HAVE_F16C 1  // x86-64-v3 and up: one-instruction f16 <-> f32 conversions (vcvtph2ps / vcvtps2ph)
#endif

namespace tessera {

// X-macro: name, bytes, safetensors spelling, torch spelling, is_floating.
#define TESSERA_DTYPES(X)                                  \
  X(f32, 4, "F32", "float32", true)                        \
  X(f16, 2, "F16", "float16", true)                        \
  X(bf16, 2, "BF16", "bfloat16", true)                     \
  X(f64, 8, "F64", "float64", true)                        \
  X(f8_e4m3, 1, "F8_E4M3", "float8_e4m3fn", true)          \
  X(f8_e5m2, 1, "F8_E5M2", "float8_e5m2", true)            \
  X(i64, 8, "I64", "int64", false)                         \
  X(i32, 4, "I32", "int32", false)                         \
  X(i16, 2, "I16", "int16", false)                         \
  X(i8, 1, "I8", "int8", false)                            \
  X(u8, 1, "U8", "uint8", false)                           \
  X(boolean, 1, "BOOL", "bool", false)

enum class DType : uint8_t {
#define TESSERA_DTYPE_ENUM(name, bytes, st, torch, fl) name,
  TESSERA_DTYPES(TESSERA_DTYPE_ENUM)
#undef TESSERA_DTYPE_ENUM
};

std::size_t dtype_size(DType t);
std::string_view dtype_name(DType t);              // "f32", "bf16", ...
std::string_view dtype_safetensors_name(DType t);  // "F32", "BF16", ...
bool dtype_is_floating(DType t);
std::optional<DType> dtype_from_name(std::string_view s);  // accepts our, safetensors and torch spellings

inline float f16_to_f32(uint16_t h) {
#if defined(TESSERA_HAVE_F16C)
  return _cvtsh_ss(h);
#endif
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) { mant <<= 1; --exp; }
      mant &= 0x3ff;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_f16(float f) {
#if defined(TESSERA_HAVE_F16C)  // the same rounding (nearest even); NaNs keep their payload's top bits
  return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
#endif
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));  // inf / nan
  if (exp >= 31) return (uint16_t)(sign | 0x7c00);                                            // overflow
  if (exp <= 0) {                                                                             // subnormal / zero
    if (exp < -10) return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // round to nearest even (may carry into exp)
  return (uint16_t)half;
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);  // quiet nan
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

}  // namespace tessera
