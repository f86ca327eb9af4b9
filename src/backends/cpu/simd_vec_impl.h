// The vector prelude of the CPU SIMD kernels written once over the vector width of the translation unit that
// includes them (scan_simd_impl.h, attention/cpu_flash_kernels_impl.h): 16 floats when compiled with AVX-512, else
// 8 (AVX2); loads, stores, broadcast and a vectorised exp. Note [CPU ISA dispatch] (ssm.cpp): everything here has
// internal linkage, so every including TU keeps its own copy for its own ISA and the linker cannot hand an AVX-512
// copy to baseline callers.
#pragma once
#include <cmath>

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tessera::backends::cpu::simd {
namespace {

#if defined(__AVX512F__)
constexpr int kW = 16;
constexpr const char* kIsa = "avx512";
#else
constexpr int kW = 8;
constexpr const char* kIsa = "avx2";
#endif

typedef float Vec __attribute__((vector_size(kW * 4)));
typedef float VecU __attribute__((vector_size(kW * 4), aligned(4), may_alias));  // unaligned access
typedef int VecI __attribute__((vector_size(kW * 4)));

inline Vec vld(const float* p) { return *reinterpret_cast<const VecU*>(p); }
inline void vst(float* p, Vec v) { *reinterpret_cast<VecU*>(p) = v; }
#if defined(__AVX512F__)
inline Vec vset(float v) { return (Vec)_mm512_set1_ps(v); }  // a broadcast (Vec{} + v would add -0.0 first)
#elif defined(__AVX__)
inline Vec vset(float v) { return (Vec)_mm256_set1_ps(v); }
#else
inline Vec vset(float v) {
  Vec r = {};
  for (int l = 0; l < kW; ++l) r[l] = v;
  return r;
}
#endif

// exp(x): vexp's (vmath.h) range reduction and polynomial (its last steps in Horner form), on vectors (GCC's own
// vectorisation of the scalar vexp spills its constants when inlined into the kernels). AVX-512 builds 2^n·p with
// vscalefps, which gives +inf past 88.72 by itself and needs no exponent-bit arithmetic; below -87.33 both return
// 0 as vexp does (exp(-inf) = 0, which the online softmax relies on); NaN stays NaN.
inline Vec vexp_v(Vec x) {
  Vec xin = x;
#if defined(__AVX512F__)
  // min(100, x), NaN kept (vminps returns its second operand on NaN): n stays exact, scalef saturates to inf. No
  // lower clamp: below -87.33 (-inf included, whose lanes go through NaN) the final select returns 0.
  x = (Vec)_mm512_mask_min_ps((__m512)x, (__mmask16)0xFFFF, _mm512_set1_ps(100.0f), (__m512)x);
#else
  x = x > vset(88.7f) ? vset(88.7f) : x;
  x = x < vset(-87.3f) ? vset(-87.3f) : x;
#endif
  Vec n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  Vec r = n * -0.693359375f + x;
  r = n * 2.12194440e-4f + r;
  Vec p = vset(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r + 1.0f;  // 1 + r + r²·P(r) as 1 + r·(1 + r·P(r)): two FMAs
  p = p * r + 1.0f;
#if defined(__AVX512F__)
  Vec y = (Vec)_mm512_mask_scalef_ps((__m512)p, (__mmask16)0xFFFF, (__m512)p, (__m512)n);  // (the unmasked form warns)
#else
  Vec y = p * (Vec)((__builtin_convertvector(n, VecI) + 127) << 23);
  y = xin > vset(88.72f) ? vset(INFINITY) : y;
#endif
  return xin < vset(-87.33f) ? vset(0.0f) : y;
}

}  // namespace
}  // namespace tessera::backends::cpu::simd
