// The ScanSimd entries (scan_simd.h) written once over the vector width of the translation unit that includes
// this file: 16 floats (one AVX-512 register) when compiled with AVX-512, else 8 (AVX2). Include it from
// exactly one .cpp per instruction set (Note [CPU ISA dispatch] in ssm.cpp).
#pragma once
#include <cmath>
#include <cstring>

#include "backends/cpu/scan_simd.h"
#include "backends/cpu/simd_vec_impl.h"

namespace tessera::backends::cpu {
// Internal linkage: every TU that includes this file gets its own copy, compiled for its own ISA; with external
// linkage the linker could keep the AVX-512 copy of an inline function for the baseline callers too.
namespace {

using namespace simd;  // kW, kIsa, Vec, vld, vst, vset, vexp_v (simd_vec_impl.h)

constexpr int kHalves = (int)kLanes / kW;  // vectors per 16-lane tile row

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

// 2^y for the scan's decay (Note [scan exp]): y = Δ·A·log2(e) with A·log2(e) precomputed in the a tile, so
// e^(Δ·A) costs a multiply, a rounding, a subtraction, six FMAs and a scale instead of exp's Cody-Waite range
// reduction and clamps. y must be finite: scan_group caps Δ and scan_block caps the a tile so it is.
inline Vec vexp2_scan(Vec y) {
#if defined(__AVX512F__)
  Vec n = (Vec)_mm512_mask_roundscale_ps((__m512)y, (__mmask16)0xFFFF, (__m512)y,  // (masked: the unmasked forms warn)
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
  y = y < vset(-127.0f) ? vset(-127.0f) : y;  // 2^n built from the exponent bits below: n in [-127, 128]
  y = y > vset(128.0f) ? vset(128.0f) : y;
  Vec n = (y + 12582912.0f) - 12582912.0f;
#endif
  Vec f = y - n;  // exact, in [-0.5, 0.5]
  Vec p = vset(1.5353361960e-4f);
  p = p * f + 1.3398875017e-3f;
  p = p * f + 9.6184369177e-3f;
  p = p * f + 5.5503323674e-2f;
  p = p * f + 2.4022647738e-1f;
  p = p * f + 6.9314718246e-1f;
  p = p * f + 1.0f;
#if defined(__AVX512F__)
  return (Vec)_mm512_mask_scalef_ps((__m512)p, (__mmask16)0xFFFF, (__m512)p, (__m512)n);  // p·2^n: 0 or inf past the range
#else
  return p * (Vec)((__builtin_convertvector(n, VecI) + 127) << 23);  // n = -127 gives 0, 128 gives inf
#endif
}

// Δ capped at kMaxDelta (NaN kept) so that Δ·A·log2(e) stays finite with the a tile capped at ±kMaxDelta.
inline Vec vcap_delta(Vec d) {
#if defined(__AVX512F__)
  // vminps returns its second operand on NaN
  return (Vec)_mm512_mask_min_ps((__m512)d, (__mmask16)0xFFFF, _mm512_set1_ps(kMaxDelta), (__m512)d);
#else
  return d > vset(kMaxDelta) ? vset(kMaxDelta) : d;
#endif
}

// One group of kG states of one kW-lane half of the tile (Note [scan loop order]): h_n for the group stays in
// registers across the chunk's steps; per step and state, e = 2^(Δ·a_n) (a = A·log2(e), Note [scan exp]),
// h_n = e·h_n + (Δ·u)·B_t[n], and
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
      Vec d = vcap_delta(vld(c.delta + t * kLanes + lane0)), w = vld(c.du + t * kLanes + lane0);
      const float* bn = c.B + t * c.Np + g0;
      Vec acc0 = Vec{}, acc1 = Vec{};
#pragma GCC unroll 8
      for (int j = 0; j < kG; ++j) {
        Vec e = vexp2_scan(d * a[j]);
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

void conv_impl(const float* x, const float* w, const float* bias, int64_t K, int64_t tw, bool silu, float* y) {
  for (int64_t t = 0; t < tw; ++t)
    for (int k = 0; k < kHalves; ++k) {
      Vec acc = vld(bias + k * kW);
      for (int64_t j = 0; j < K; ++j) acc = vld(w + j * kLanes + k * kW) * vld(x + (t + j) * kLanes + k * kW) + acc;
      if (silu) acc *= vrecip_v(1.0f + vexp_v(-acc));  // y·sigmoid(y), as step 5's gate
      vst(y + t * kLanes + k * kW, acc);
    }
}

}  // namespace
}  // namespace tessera::backends::cpu
