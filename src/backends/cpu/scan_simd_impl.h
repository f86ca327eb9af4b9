// The ScanSimd entries (scan_simd.h) written once over the vector width of the translation unit that includes
// this file: 16 floats (one AVX-512 register) when compiled with AVX-512, else 8 (AVX2). Include it from
// exactly one .cpp per instruction set (Note [CPU ISA dispatch] in ssm.cpp).
#pragma once
#include <cmath>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "backends/cpu/scan_simd.h"

namespace tessera::backends::cpu {
// Internal linkage: every TU that includes this file gets its own copy, compiled for its own ISA; with external
// linkage the linker could keep the AVX-512 copy of an inline function for the baseline callers too.
namespace {

#if defined(__AVX512F__)
constexpr int kW = 16;
constexpr const char* kIsa = "avx512";
#else
constexpr int kW = 8;
constexpr const char* kIsa = "avx2";
#endif
constexpr int kHalves = (int)kLanes / kW;  // vectors per 16-lane tile row

typedef float Vec __attribute__((vector_size(kW * 4)));
typedef float VecU __attribute__((vector_size(kW * 4), aligned(4), may_alias));  // unaligned access
typedef int VecI __attribute__((vector_size(kW * 4)));

inline Vec vld(const float* p) { return *reinterpret_cast<const VecU*>(p); }
inline void vst(float* p, Vec v) { *reinterpret_cast<VecU*>(p) = v; }
inline Vec vset(float v) { return Vec{} + v; }

// exp(x): vexp's (vmath.h) range reduction and polynomial (its last steps in Horner form), on vectors (GCC's
// own vectorisation of the scalar vexp spills its constants when inlined into the scan). AVX-512 builds 2^n·p
// with vscalefps, which gives +inf past 88.72 by itself and needs no exponent-bit arithmetic; below -87.33 both
// return 0 as vexp does.
inline Vec vexp_v(Vec x) {
  Vec xin = x;
#if defined(__AVX512F__)
  // min(100, x), NaN kept (vminps returns its second operand on NaN): n stays exact, scalef saturates to inf.
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

// 1 / d for d >= 1 (the scan's 2 + e and 1 + exp(-z)). AVX-512: vrcp14ps and one Newton step, within ~1 ulp
// (vdivps on 16 lanes holds its port for ~16 cycles, and steps 3 and 5 divide once per step and lane each).
// d is capped at 1e37 (NaN kept) so that d·r stays finite: 1 / inf is then 1e-37 instead of 0.
inline Vec vrecip_v(Vec d) {
#if defined(__AVX512F__)
  d = (Vec)_mm512_mask_min_ps((__m512)d, (__mmask16)0xFFFF, _mm512_set1_ps(1e37f), (__m512)d);
  Vec r = (Vec)_mm512_mask_rcp14_ps((__m512)d, (__mmask16)0xFFFF, (__m512)d);
  return r * (2.0f - d * r);
#else
  return 1.0f / d;
#endif
}

// torch's softplus (threshold 20) as softplus() in ssm.cpp: max(x, 0) + log1p(e), e = exp(-|x|), with
// log1p(e) = 2·atanh(s), s = e / (2 + e), by its odd series to s^11.
inline Vec vsoftplus_v(Vec x) {
  Vec e = vexp_v(x < vset(0.0f) ? x : -x);
  Vec s = e * vrecip_v(vset(2.0f) + e), s2 = s * s;
  Vec p = s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9 + s2 * (1.0f / 11))))));
  Vec y = (x < vset(0.0f) ? vset(0.0f) : x) + 2.0f * p;
  return x > vset(20.0f) ? x : y;
}

// One group of kG states of one kW-lane half of the tile (Note [scan loop order]): h_n for the group stays in
// registers across the chunk's steps; per step and state, e = exp(Δ·A_n), h_n = e·h_n + (Δ·u)·B_t[n], and
// y_t += C_t[n]·h_n into two accumulators. The first group writes y_t, later ones add to it.
template <bool kY>
inline void scan_group(const ScanChunk& c, int64_t lane0, int64_t g, bool first) {
  constexpr int kG = kW == 16 ? 8 : 4;  // states per group: h and A in registers (32 zmm / 16 ymm)
  static_assert(kStateGroup % kG == 0);
  for (int64_t g0 = g; g0 < g + kStateGroup; g0 += kG) {
    Vec h[kG], a[kG];
#pragma GCC unroll 8
    for (int j = 0; j < kG; ++j) {
      h[j] = vld(c.h + (g0 + j) * kLanes + lane0);
      a[j] = vld(c.a + (g0 + j) * kLanes + lane0);
    }
    for (int64_t t = 0; t < c.tw; ++t) {
      Vec d = vld(c.delta + t * kLanes + lane0), w = vld(c.du + t * kLanes + lane0);
      const float* bn = c.B + t * c.Np + g0;
      Vec acc0 = Vec{}, acc1 = Vec{};
#pragma GCC unroll 8
      for (int j = 0; j < kG; ++j) {
        Vec e = vexp_v(d * a[j]);
        h[j] = e * h[j] + w * bn[j];
        if constexpr (kY) {
          float cn = c.C[t * c.Np + g0 + j];
          if (j % 2 == 0) acc0 = h[j] * cn + acc0;
          else acc1 = h[j] * cn + acc1;
        }
      }
      if constexpr (kY) {
        float* yr = c.y + t * kLanes + lane0;
        vst(yr, first && g0 == g ? acc0 + acc1 : vld(yr) + (acc0 + acc1));
      }
    }
#pragma GCC unroll 8
    for (int j = 0; j < kG; ++j) vst(c.h + (g0 + j) * kLanes + lane0, h[j]);
  }
}

void chunk_impl(const ScanChunk& c) {
  // Step 3: Δ = softplus(delta + bias) (as transformers: dt + bias in f32, then F.softplus) and Δ·u.
  for (int64_t t = 0; t < c.tw; ++t)
    for (int k = 0; k < kHalves; ++k) {
      int64_t o = t * kLanes + k * kW;
      Vec d = vld(c.delta + o) + vld(c.bias + k * kW);
      if (c.softplus) d = vsoftplus_v(d);
      vst(c.delta + o, d);
      vst(c.du + o, d * vld(c.u + o));
    }
  // Step 4: the recurrence, state group by state group (Note [scan loop order]).
  for (int k = 0; k < kHalves; ++k)
    for (int64_t g = 0; g < c.Np; g += kStateGroup) {
      if (c.y) scan_group<true>(c, k * kW, g, g == 0);
      else scan_group<false>(c, k * kW, g, g == 0);
    }
  if (!c.y) return;
  // Step 5: skip connection D·u and the SiLU(z) gate.
  for (int64_t t = 0; t < c.tw; ++t)
    for (int k = 0; k < kHalves; ++k) {
      int64_t o = t * kLanes + k * kW;
      Vec v = vld(c.y + o) + vld(c.u + o) * vld(c.D + k * kW);
      if (c.z) {
        Vec z = vld(c.z + o);
        v *= z * vrecip_v(1.0f + vexp_v(-z));
      }
      vst(c.y + o, v);
    }
}

// Transposes kW vectors in place (r[i][j] -> r[j][i]) in log2(kW) rounds of interleaving row i with row
// i + kW/2: each round rotates the (row, column) index bits left by one, so log2(kW) rounds swap them.
inline void transpose_square(Vec* r) {
  for (int round = 0; (1 << round) < kW; ++round) {
    Vec o[kW];
#pragma GCC unroll 16
    for (int i = 0; i < kW / 2; ++i) {
      Vec a = r[i], b = r[i + kW / 2];
#if defined(__AVX512F__)
      o[2 * i] = __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      o[2 * i + 1] = __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
#else
      o[2 * i] = __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
      o[2 * i + 1] = __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
#endif
    }
#pragma GCC unroll 16
    for (int i = 0; i < kW; ++i) r[i] = o[i];
  }
}

void to_tile_impl(const float* src, int64_t ld, int64_t cw, int64_t tw, float* tile) {
  int64_t full = cw == kLanes ? tw / kW * kW : 0;  // whole kW × kW squares; the rest element by element
  for (int64_t t0 = 0; t0 < full; t0 += kW)
    for (int k = 0; k < kHalves; ++k) {
      Vec r[kW];
#pragma GCC unroll 16
      for (int i = 0; i < kW; ++i) r[i] = vld(src + (k * kW + i) * ld + t0);
      transpose_square(r);
#pragma GCC unroll 16
      for (int i = 0; i < kW; ++i) vst(tile + (t0 + i) * kLanes + k * kW, r[i]);
    }
  for (int64_t t = full; t < tw; ++t) {
    for (int64_t l = 0; l < cw; ++l) tile[t * kLanes + l] = src[l * ld + t];
    for (int64_t l = cw; l < kLanes; ++l) tile[t * kLanes + l] = 0.0f;
  }
}

void from_tile_impl(const float* tile, int64_t cw, int64_t tw, float* dst, int64_t ld) {
  int64_t full = cw == kLanes ? tw / kW * kW : 0;
  for (int64_t t0 = 0; t0 < full; t0 += kW)
    for (int k = 0; k < kHalves; ++k) {
      Vec r[kW];
#pragma GCC unroll 16
      for (int i = 0; i < kW; ++i) r[i] = vld(tile + (t0 + i) * kLanes + k * kW);
      transpose_square(r);
#pragma GCC unroll 16
      for (int i = 0; i < kW; ++i) vst(dst + (k * kW + i) * ld + t0, r[i]);
    }
  for (int64_t l = 0; l < cw; ++l)
    for (int64_t t = full; t < tw; ++t) dst[l * ld + t] = tile[t * kLanes + l];
}

void conv_impl(const float* x, const float* w, const float* bias, int64_t K, int64_t tw, float* y) {
  for (int64_t t = 0; t < tw; ++t)
    for (int k = 0; k < kHalves; ++k) {
      Vec acc = vld(bias + k * kW);
      for (int64_t j = 0; j < K; ++j) acc = vld(w + j * kLanes + k * kW) * vld(x + (t + j) * kLanes + k * kW) + acc;
      vst(y + t * kLanes + k * kW, acc);
    }
}

}  // namespace
}  // namespace tessera::backends::cpu
