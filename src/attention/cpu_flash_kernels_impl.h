// The FlashKernels entries (cpu_flash_kernels.h) written once over the vector width of the translation unit that
// includes this file: 16 floats when compiled with AVX-512, else 8 (AVX2). Include it from exactly one .cpp per
// instruction set (Note [CPU ISA dispatch] in backends/cpu/ssm.cpp); it uses nothing with external linkage
// (no std:: templates; the shared vector prelude, backends/cpu/simd_vec_impl.h, has internal linkage too), so no
// AVX-512 code can leak into the baseline's callers.
#pragma once
#include <cmath>

#include "attention/cpu_flash_kernels.h"
#include "backends/cpu/simd_vec_impl.h"

namespace tessera::attention::detail {
namespace {

// Register blocking (Note [CPU flash kernel] in cpu_flash.cpp). S = Q·Kᵀ: kRows query rows × kPanels panels of
// kW keys of accumulators; O += P·V: kRows rows × kVecs vectors of the head dim. AVX-512 (32 registers): 24
// accumulators each; AVX2 (16 registers): 12, leaving room for the operands.
using namespace backends::cpu::simd;  // kW, kIsa, Vec, vld, vst, vset, vexp_v (backends/cpu/simd_vec_impl.h)
#if defined(__AVX512F__)
constexpr int kRows = 6, kPanels = 4, kVecs = 4;
#else
constexpr int kRows = 6, kPanels = 2, kVecs = 2;
#endif
constexpr int64_t kMaxBlockKeys = 256;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// Every lane = the max (hmax_all) or the sum (hsum) of v's lanes: log2(kW) butterfly steps.
inline Vec hmax_all(Vec v) {
  for (int step = kW / 2; step >= 1; step /= 2) {
    VecI idx;
    for (int l = 0; l < kW; ++l) idx[l] = l ^ step;
    Vec w = __builtin_shuffle(v, idx);
    v = v > w ? v : w;
  }
  return v;
}
inline float hsum(Vec v) {
  for (int step = kW / 2; step >= 1; step /= 2) {
    VecI idx;
    for (int l = 0; l < kW; ++l) idx[l] = l ^ step;
    v += __builtin_shuffle(v, idx);
  }
  return v[0];
}

void pack_k_impl(const float* k, int64_t ldk, int64_t n, int64_t D, float* kt) {
  const int64_t panels = (n + kW - 1) / kW;
  for (int64_t p = 0; p < panels; ++p) {
    float* dst = kt + p * D * kW;
    const int64_t m = imin(kW, n - p * kW);
    for (int64_t l = 0; l < m; ++l) {
      const float* src = k + (p * kW + l) * ldk;
      for (int64_t d = 0; d < D; ++d) dst[d * kW + l] = src[d];
    }
    for (int64_t l = m; l < kW; ++l)
      for (int64_t d = 0; d < D; ++d) dst[d * kW + l] = 0.0f;
  }
}

void pack_v_impl(const float* v, int64_t ldv, int64_t n, int64_t D, float* vp) {
  const int64_t Dp = (D + kW - 1) / kW * kW;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t d = 0; d < D; ++d) vp[j * Dp + d] = v[j * ldv + d];
    for (int64_t d = D; d < Dp; ++d) vp[j * Dp + d] = 0.0f;
  }
}

// s[r·lds + p·kW + l] = Σ_d q[r·D + d]·kt[p·D·kW + d·kW + l] for r < R, p < P: R×P accumulators over the head dim.
template <int R, int P>
inline void scores_block(const float* q, int64_t D, const float* kt, float* s, int64_t lds) {
  Vec acc[R][P];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) acc[r][p] = Vec{};
  for (int64_t d = 0; d < D; ++d) {
    Vec kv[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) kv[p] = vld(kt + p * D * kW + d * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      Vec qb = vset(q[r * D + d]);
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[r][p] += qb * kv[p];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) vst(s + r * lds + p * kW, acc[r][p]);
}

// o[r·ldo + c·kW ...] += Σ_{j < n} pm[r·ldp + j]·v[j·ldv + c·kW ...] for r < R, c < C.
template <int R, int C>
inline void values_block(const float* pm, int64_t ldp, const float* v, int64_t ldv, int64_t n, float* o, int64_t ldo) {
  Vec acc[R][C];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c] = vld(o + r * ldo + c * kW);
  for (int64_t j = 0; j < n; ++j) {
    Vec vv[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) vv[c] = vld(v + j * ldv + c * kW);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      Vec pb = vset(pm[r * ldp + j]);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] += pb * vv[c];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) vst(o + r * ldo + c * kW, acc[r][c]);
}

template <int R, int P = kPanels>
inline void scores_panels(const float* q, int64_t D, const float* kt, int64_t panels, float* s, int64_t lds) {
  int64_t p = 0;
  for (; p + P <= panels; p += P) scores_block<R, P>(q, D, kt + p * D * kW, s + p * kW, lds);
  if constexpr (P > 1)
    if (p < panels) scores_panels<R, P - 1>(q, D, kt + p * D * kW, panels - p, s + p * kW, lds);
}

template <int R, int C = kVecs>
inline void values_vecs(const float* pm, int64_t ldp, const float* v, int64_t ldv, int64_t n, int64_t vecs, float* o,
                        int64_t ldo) {
  int64_t c = 0;
  for (; c + C <= vecs; c += C) values_block<R, C>(pm, ldp, v + c * kW, ldv, n, o + c * kW, ldo);
  if constexpr (C > 1)
    if (c < vecs) values_vecs<R, C - 1>(pm, ldp, v + c * kW, ldv, n, vecs - c, o + c * kW, ldo);
}

// One group of R rows (tile rows g0 ..) against keys [j0, j0 + nk): scores, masks, the online-softmax update of
// the running max m and sum l (O rescaled by exp(m_old - m_new)), then O += P·V.
template <int R>
void group_block(const FlashTile& t, int64_t g0, int64_t j0, int64_t nk, float* s, int64_t lds, float* m, Vec* l) {
  const int64_t D = t.D, Dp = (D + kW - 1) / kW * kW, panels = (nk + kW - 1) / kW, width = panels * kW;
  // Step 1: S = (q·scale)·Kᵀ for the block, R × width (padded keys score 0 and are masked below).
  scores_panels<R>(t.q + g0 * D, D, t.kt + j0 * D, panels, s, lds);
  for (int r = 0; r < R; ++r) {
    const int64_t i = g0 + r;
    float* row = s + r * lds;
    // Step 2: the additive mask, then -inf past the row's key end (key length, causal) and past the block.
    const int64_t valid = imax(0, imin(t.kend[i] - j0, nk));
    if (t.mask != nullptr) {
      const float* mrow = t.mask + i * t.ld_mask + j0;
      for (int64_t j = 0; j < valid; ++j) row[j] += mrow[j];
    }
    for (int64_t j = valid; j < width; ++j) row[j] = -INFINITY;
    // Step 3: the block's max and the running max; a row whose keys so far are all masked contributes nothing.
    Vec mx = vset(m[i]);
    for (int64_t j = 0; j < width; j += kW) {
      Vec x = vld(row + j);
      mx = mx > x ? mx : x;
    }
    const Vec m_new = hmax_all(mx);
    if (m_new[0] == -INFINITY) {
      for (int64_t j = 0; j < width; j += kW) vst(row + j, Vec{});
      continue;
    }
    // Step 4: P = exp(S - m_new) in place; the lane-wise running sum l and O rescaled by exp(m_old - m_new).
    Vec sum = Vec{};
    for (int64_t j = 0; j < width; j += kW) {
      Vec e = vexp_v(vld(row + j) - m_new);
      vst(row + j, e);
      sum += e;
    }
    if (m_new[0] != m[i]) {
      const Vec alpha = vexp_v(vset(m[i]) - m_new);
      l[i] = l[i] * alpha;
      float* o = t.o + i * Dp;
      for (int64_t d = 0; d < Dp; d += kW) vst(o + d, vld(o + d) * alpha);
      m[i] = m_new[0];
    }
    l[i] += sum;
  }
  // Step 5: O += P·V over the block's keys.
  values_vecs<R>(s, lds, t.v + j0 * Dp, Dp, nk, Dp / kW, t.o + g0 * Dp, Dp);
}

// Keys per block: 16384 / Dp, a multiple of the score kernel's kPanels·kW keys, at most kMaxBlockKeys (256 keys at
// D = 64: the block's packed K and V, 128 KiB, stay in L2). Measured (thread CPU time, 16×3×512×64 with key
// lengths): 4096 / Dp (K and V in L1) was 15% slower, the per-row softmax bookkeeping paid per block.
int64_t block_keys(int64_t Dp) {
  const int64_t step = kPanels * kW;
  return imin(kMaxBlockKeys, imax(step, 16384 / Dp / step * step));
}

void attend_impl(const FlashTile& t) {
  const int64_t D = t.D, Dp = (D + kW - 1) / kW * kW, rows = t.rows;
  float m[kFlashTileRows];
  Vec l[kFlashTileRows];  // running sums, lane-wise (reduced once, at the end)
  alignas(64) float s[kRows * kMaxBlockKeys];
  int64_t kend = 0;
  for (int64_t i = 0; i < rows; ++i) m[i] = -INFINITY, l[i] = Vec{}, kend = imax(kend, t.kend[i]);
  for (int64_t i = 0; i < rows * Dp; ++i) t.o[i] = 0.0f;
  const int64_t nb = block_keys(Dp);
  // Key blocks outer, row groups inner: the block's K and V stay in cache while every row group of the tile uses them.
  for (int64_t j0 = 0; j0 < kend; j0 += nb) {
    for (int64_t g0 = 0; g0 < rows; g0 += kRows) {
      const int64_t R = imin(kRows, rows - g0);
      int64_t gend = 0;
      for (int64_t r = 0; r < R; ++r) gend = imax(gend, t.kend[g0 + r]);
      if (gend <= j0) continue;  // every row of the group is past its key end (causal)
      const int64_t nk = imin(nb, gend - j0);
      switch (R) {
        case 1: group_block<1>(t, g0, j0, nk, s, nb, m, l); break;
        case 2: group_block<2>(t, g0, j0, nk, s, nb, m, l); break;
        case 3: group_block<3>(t, g0, j0, nk, s, nb, m, l); break;
        case 4: group_block<4>(t, g0, j0, nk, s, nb, m, l); break;
        case 5: group_block<5>(t, g0, j0, nk, s, nb, m, l); break;
        default: group_block<kRows>(t, g0, j0, nk, s, nb, m, l); break;
      }
    }
  }
  // O / l; rows with l == 0 (no allowed key) stay zeros (Note [Fully masked rows] in sdpa.h).
  for (int64_t i = 0; i < rows; ++i) {
    const float sum = hsum(l[i]), inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    float* o = t.o + i * Dp;
    for (int64_t d = 0; d < Dp; d += kW) vst(o + d, vld(o + d) * inv);
  }
}

static_assert(kRows == 6, "attend_impl's switch covers group sizes 1 .. kRows");

}  // namespace
}  // namespace tessera::attention::detail
