// CPU kernels for the state-space ops: causal_conv1d, selective_scan, selective_scan_state. f32 compute for any
// float input dtype. Work is split over (batch, block of 16 channels); the recurrent state of a block (N × 16
// floats) stays in L1 and the loops are vectorised over the 16 channels, so nothing (B, C, T, N)-sized exists.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vmath.h"

namespace tessera::backends::cpu {

namespace {
using ops::Attrs;
using ops::Inputs;

// Note [channel blocks]
// Vectorising over channels (not over N) avoids a horizontal sum for y_t = C_t·h_t at every step, and in the
// model u, delta and z are transposed views of (B, T, C) activations, so 16 channels of one step are contiguous.
constexpr int64_t kLanes = 16;  // channels per block (two AVX2 vectors)
constexpr int64_t kChunk = 64;  // time steps staged per tile (tiles stay within L1/L2)

// tile[t][l] = x[b, c0 + l, t0 + t] as f32 for l < cw, t < tw (x: (B, C, T), any strides); lanes >= cw are 0.
void load_tile(const Tensor& x, int64_t b, int64_t c0, int64_t cw, int64_t t0, int64_t tw, float* tile) {
  const Strides& s = x.strides();
  int64_t base = b * s[0] + c0 * s[1] + t0 * s[2];
  if (cw < kLanes) std::fill(tile, tile + tw * kLanes, 0.0f);
  if (s[2] == 1 && s[1] != 1) {  // tokens contiguous: load each channel's run, then scatter into the tile's column
    thread_local std::vector<float> row;
    row.resize((size_t)tw);
    for (int64_t l = 0; l < cw; ++l) {
      load_row<float>(x.raw_data(), x.dtype(), base + l * s[1], 1, tw, row.data());
      for (int64_t t = 0; t < tw; ++t) tile[t * kLanes + l] = row[t];
    }
    return;
  }
  for (int64_t t = 0; t < tw; ++t) load_row<float>(x.raw_data(), x.dtype(), base + t * s[2], s[1], cw, tile + t * kLanes);
}

// out[b, c0 + l, t0 + t] = tile[t][l] (out contiguous (B, C, T)).
void store_tile(const Tensor& out, int64_t b, int64_t c0, int64_t cw, int64_t t0, int64_t tw, const float* tile) {
  int64_t C = out.size(1), T = out.size(2);
  float row[kChunk];
  for (int64_t l = 0; l < cw; ++l) {
    for (int64_t t = 0; t < tw; ++t) row[t] = tile[t * kLanes + l];
    store_row<float>(out.raw_data(), out.dtype(), (b * C + c0 + l) * T + t0, tw, row);
  }
}

// A per-channel vector (C) for one block: v[l] = x[c0 + l], zero-padded.
void load_channels(const Tensor& x, int64_t c0, int64_t cw, float* v) {
  std::fill(v, v + kLanes, 0.0f);
  load_row<float>(x.raw_data(), x.dtype(), c0 * x.strides()[0], x.strides()[0], cw, v);
}

// torch's softplus (threshold 20), branch-free so the lane loop vectorises: for x <= 20,
// log1p(exp(x)) = max(x, 0) + log1p(e) with e = exp(-|x|) in (0, 1], and log1p(e) = 2·atanh(s), s = e / (2 + e)
// in (0, 1/3], whose odd series to s^11 is within ~1e-8 relative (no cancellation for tiny e).
inline float softplus(float x) {
  float e = vexp(-std::fabs(x));
  float s = e / (2.0f + e), s2 = s * s;
  float p = s * (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9 + s2 * (1.0f / 11))))));
  float y = std::max(x, 0.0f) + 2.0f * p;
  return x > 20.0f ? x : y;
}

// Note [selective scan inputs] in src/ops/defs/ssm.cpp: the optional inputs follow the required ones in this order.
struct Slots {
  int z = -1, bias = -1, h0 = -1;
  bool softplus = true;
};
Slots slots(const Attrs& a, bool with_y) {
  Slots s;
  int next = with_y ? 6 : 4;
  if (with_y && a.ints[0]) s.z = next++;
  if (a.ints[1]) s.bias = next++;
  if (a.ints[2]) s.h0 = next++;
  s.softplus = a.ints[3] != 0;
  return s;
}

// One (batch, channel block) of the scan. kY: write y (B, C, T); else write the last state (B, C, N) f32.
template <bool kY>
void scan_block(Inputs in, const Tensor& out, const Slots& sl, int64_t b, int64_t c0, int64_t cw, std::vector<float>& work) {
  const Tensor &u = in[0], &delta = in[1], &A = in[2], &Bm = in[3];
  int64_t T = u.size(2), N = A.size(1);
  // Workspace: h, A (N × 16 each); u, Δ, z, y tiles (kChunk × 16); B, C tiles (kChunk × N).
  work.resize((size_t)(2 * N * kLanes + 4 * kChunk * kLanes + 2 * kChunk * N));
  float* h = work.data();
  float* a = h + N * kLanes;
  float* ut = a + N * kLanes;
  float* dt = ut + kChunk * kLanes;
  float* zt = dt + kChunk * kLanes;
  float* yt = zt + kChunk * kLanes;
  float* bt = yt + kChunk * kLanes;
  float* ct = bt + kChunk * N;

  // Step 1: A and the initial state, transposed to [n][lane].
  std::fill(a, a + N * kLanes, 0.0f);
  std::fill(h, h + N * kLanes, 0.0f);
  for (int64_t l = 0; l < cw; ++l) {
    float row[512];
    for (int64_t n0 = 0; n0 < N; n0 += 512) {
      int64_t nw = std::min<int64_t>(512, N - n0);
      load_row<float>(A.raw_data(), A.dtype(), (c0 + l) * A.strides()[0] + n0 * A.strides()[1], A.strides()[1], nw, row);
      for (int64_t n = 0; n < nw; ++n) a[(n0 + n) * kLanes + l] = row[n];
      if (sl.h0 >= 0) {
        const Tensor& h0 = in[sl.h0];
        load_row<float>(h0.raw_data(), h0.dtype(), b * h0.strides()[0] + (c0 + l) * h0.strides()[1] + n0 * h0.strides()[2],
                        h0.strides()[2], nw, row);
        for (int64_t n = 0; n < nw; ++n) h[(n0 + n) * kLanes + l] = row[n];
      }
    }
  }
  float bias[kLanes], D[kLanes];
  if (sl.bias >= 0) load_channels(in[sl.bias], c0, cw, bias);
  else std::fill(bias, bias + kLanes, 0.0f);
  if (kY) load_channels(in[5], c0, cw, D);

  for (int64_t t0 = 0; t0 < T; t0 += kChunk) {
    int64_t tw = std::min(kChunk, T - t0);
    // Step 2: stage the chunk's inputs as f32 tiles.
    load_tile(u, b, c0, cw, t0, tw, ut);
    load_tile(delta, b, c0, cw, t0, tw, dt);
    if (kY && sl.z >= 0) load_tile(in[sl.z], b, c0, cw, t0, tw, zt);
    for (int64_t t = 0; t < tw; ++t) {
      const Tensor& Bt = Bm;
      load_row<float>(Bt.raw_data(), Bt.dtype(), b * Bt.strides()[0] + (t0 + t) * Bt.strides()[2], Bt.strides()[1], N, bt + t * N);
      if (kY) {
        const Tensor& Ct = in[4];
        load_row<float>(Ct.raw_data(), Ct.dtype(), b * Ct.strides()[0] + (t0 + t) * Ct.strides()[2], Ct.strides()[1], N, ct + t * N);
      }
    }
    for (int64_t t = 0; t < tw; ++t) {
      // Step 3: Δ = softplus(delta + bias), as transformers (dt + bias in f32, then F.softplus).
      float d[kLanes], x[kLanes], y[kLanes];
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) {
        float v = dt[t * kLanes + l] + bias[l];
        d[l] = sl.softplus ? softplus(v) : v;
        x[l] = ut[t * kLanes + l];
        y[l] = 0.0f;
      }
      // Step 4: h = exp(Δ·A)·h + (Δ·B_t)·u; y = Σ_n C_t[n]·h[n] (transformers' order of products).
      const float* Bn = bt + t * N;
      const float* Cn = ct + t * N;
      for (int64_t n = 0; n < N; ++n) {
        float* hn = h + n * kLanes;
        const float* an = a + n * kLanes;
        float bn = Bn[n];
#pragma omp simd
        for (int64_t l = 0; l < kLanes; ++l) hn[l] = vexp(d[l] * an[l]) * hn[l] + (d[l] * bn) * x[l];
        if (kY) {
          float cn = Cn[n];
#pragma omp simd
          for (int64_t l = 0; l < kLanes; ++l) y[l] += hn[l] * cn;
        }
      }
      if (!kY) continue;
      // Step 5: skip connection D·u and the SiLU(z) gate.
      for (int64_t l = 0; l < kLanes; ++l) {
        float v = y[l] + x[l] * D[l];
        if (sl.z >= 0) {
          float z = zt[t * kLanes + l];
          v *= z * vsigmoid(z);
        }
        yt[t * kLanes + l] = v;
      }
    }
    if (kY) store_tile(out, b, c0, cw, t0, tw, yt);
  }
  if (!kY) {  // Step 6 (state only): the last h, (B, C, N) f32.
    float* o = out.data<float>();
    int64_t C = out.size(1);
    for (int64_t l = 0; l < cw; ++l)
      for (int64_t n = 0; n < N; ++n) o[(b * C + c0 + l) * N + n] = h[n * kLanes + l];
  }
}

template <bool kY>
void scan(Inputs in, const Tensor& out, const Attrs& a) {
  Slots sl = slots(a, kY);
  int64_t B = in[0].size(0), C = in[0].size(1), T = in[0].size(2), N = in[2].size(1);
  int64_t blocks = (C + kLanes - 1) / kLanes;
  parallel_for(B * blocks, kLanes * T * N * 8, [&](int64_t begin, int64_t end) {
    std::vector<float> work;
    for (int64_t i = begin; i < end; ++i) {
      int64_t b = i / blocks, c0 = (i % blocks) * kLanes;
      scan_block<kY>(in, out, sl, b, c0, std::min(kLanes, C - c0), work);
    }
  });
}
}  // namespace

void k_selective_scan(Inputs in, const Tensor& out, const Attrs& a) { scan<true>(in, out, a); }
void k_selective_scan_state(Inputs in, const Tensor& out, const Attrs& a) { scan<false>(in, out, a); }

// causal_conv1d: per (batch, channel block), a tile of K-1 + kChunk steps (the K-1 before the chunk are its left
// context, zeros before t = 0) and y[t][l] = bias[l] + Σ_k w[l][k]·x[t + k][l].
void k_causal_conv1d(Inputs in, const Tensor& out, const Attrs&) {
  const Tensor &x = in[0], &w = in[1];
  int64_t B = x.size(0), C = x.size(1), T = x.size(2), K = w.size(1);
  int64_t blocks = (C + kLanes - 1) / kLanes;
  parallel_for(B * blocks, kLanes * T * K * 2, [&](int64_t begin, int64_t end) {
    std::vector<float> wt(K * kLanes), xt((K - 1 + kChunk) * kLanes), yt(kChunk * kLanes), row(K);
    for (int64_t i = begin; i < end; ++i) {
      int64_t b = i / blocks, c0 = (i % blocks) * kLanes, cw = std::min(kLanes, C - c0);
      float bias[kLanes];
      if (in.size() == 3) load_channels(in[2], c0, cw, bias);
      else std::fill(bias, bias + kLanes, 0.0f);
      std::fill(wt.begin(), wt.end(), 0.0f);
      for (int64_t l = 0; l < cw; ++l) {
        load_row<float>(w.raw_data(), w.dtype(), (c0 + l) * w.strides()[0], w.strides()[1], K, row.data());
        for (int64_t k = 0; k < K; ++k) wt[k * kLanes + l] = row[k];
      }
      for (int64_t t0 = 0; t0 < T; t0 += kChunk) {
        int64_t tw = std::min(kChunk, T - t0);
        // The K-1 steps before t0 (zeros where t < 0), then the chunk.
        int64_t first = t0 - (K - 1), lead = std::max<int64_t>(0, -first);
        std::fill(xt.begin(), xt.begin() + lead * kLanes, 0.0f);
        load_tile(x, b, c0, cw, first + lead, tw + K - 1 - lead, xt.data() + lead * kLanes);
        for (int64_t t = 0; t < tw; ++t) {
          float acc[kLanes];
          for (int64_t l = 0; l < kLanes; ++l) acc[l] = bias[l];
          for (int64_t k = 0; k < K; ++k) {
            const float* xk = xt.data() + (t + k) * kLanes;
            const float* wk = wt.data() + k * kLanes;
#pragma omp simd
            for (int64_t l = 0; l < kLanes; ++l) acc[l] += wk[l] * xk[l];
          }
          std::copy(acc, acc + kLanes, yt.data() + t * kLanes);
        }
        store_tile(out, b, c0, cw, t0, tw, yt.data());
      }
    }
  });
}

}  // namespace tessera::backends::cpu
