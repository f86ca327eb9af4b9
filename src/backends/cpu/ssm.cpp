// CPU kernels for the state-space ops: causal_conv1d, selective_scan, selective_scan_state. f32 compute for any
// float input dtype. Work is split over (batch, block of 16 channels); the recurrent state of a block (N × 16
// floats) stays in L1/registers, loops are vectorised over the 16 channels, nothing (B, C, T, N)-sized exists.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vmath.h"
#include "ops/ssm_slots.h"

namespace tessera::backends::cpu {

namespace {
using ops::Attrs;
using ops::Inputs;

// Note [scan loop order]
// Within a chunk the loop runs n outer, t inner: exp(Δ·A_n) for all the chunk's steps is one independent,
// vectorised pass (the bulk of the work), then h_n (16 lanes) lives in registers across the steps while y_t
// accumulates in its tile: no load/store of h and no serial Σ_n chain per step, one FMA of latency per step.

// Note [channel blocks]
// Vectorising over channels (not over N) avoids a horizontal sum for y_t = C_t·h_t at every step, and in the
// model delta and z are transposed views of (B, T, C) activations, so 16 channels of one step are contiguous (u,
// the conv's (B, C, T) output, is transposed into its tile; Note [mamba layouts] in src/models/mamba.cpp).
constexpr int64_t kLanes = 16;  // channels per block (two AVX2 vectors)
constexpr int64_t kChunk = 64;  // time steps staged per tile (tiles stay within L1/L2)

// Eight floats as one value (GCC/Clang vector extension: one AVX register on x86-64-v3), for the recurrence.
typedef float V8 __attribute__((vector_size(32)));
typedef float V8u __attribute__((vector_size(32), aligned(4), may_alias));  // unaligned access
inline V8 load8(const float* p) { return *reinterpret_cast<const V8u*>(p); }
inline void store8(float* p, V8 v) { *reinterpret_cast<V8u*>(p) = v; }

inline V8 splat(float v) { return V8{} + v; }

// vexp (vmath.h) on 8 lanes with the same steps and constants: GCC's own vectorisation of the scalar version spills
// its constants when inlined into the scan, so the one loop that is the bulk of the scan is written out.
inline V8 vexp8(V8 x) {
  typedef int V8i __attribute__((vector_size(32)));
  V8 xin = x;
  x = x > splat(88.7f) ? splat(88.7f) : x;
  x = x < splat(-87.3f) ? splat(-87.3f) : x;
  V8 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  V8 r = n * -0.693359375f + x;
  r = n * 2.12194440e-4f + r;
  V8 p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = (p * r) * r + r + 1.0f;
  V8i bits = (__builtin_convertvector(n, V8i) + 127) << 23;
  V8 y = p * (V8)bits;
  y = xin > splat(88.72f) ? splat(INFINITY) : y;
  return xin < splat(-87.33f) ? splat(0.0f) : y;
}

// et[t][l] = exp(Δ[t][l]·A_n[l]) for the chunk's tw steps: independent, fully vectorised (no loop-carried state).
void exp_tile(const float* dt, const float* an, int64_t tw, float* et) {
  V8 a0 = load8(an), a1 = load8(an + 8);
  for (int64_t t = 0; t < tw; ++t) {
    store8(et + t * kLanes, vexp8(load8(dt + t * kLanes) * a0));
    store8(et + t * kLanes + 8, vexp8(load8(dt + t * kLanes + 8) * a1));
  }
}

// h_n = e_t·h_n + (Δ·u)_t·B_t[n]; y_t += C_t[n]·h_n over tw steps (B, C: column n of [t][N] tiles). The two
// 8-lane halves of h_n stay in vector registers: one FMA of latency per step.
template <bool kY>
void recurrence(const float* et, const float* dut, const float* bcol, const float* ccol, int64_t N, int64_t tw, float* h,
                float* yt) {
  V8 h0 = load8(h), h1 = load8(h + 8);
  for (int64_t t = 0; t < tw; ++t) {
    const float* er = et + t * kLanes;
    const float* wr = dut + t * kLanes;
    float bn = bcol[t * N];
    h0 = load8(er) * h0 + load8(wr) * bn;
    h1 = load8(er + 8) * h1 + load8(wr + 8) * bn;
    if constexpr (kY) {
      float cn = ccol[t * N];
      float* yr = yt + t * kLanes;
      store8(yr, load8(yr) + h0 * cn);
      store8(yr + 8, load8(yr + 8) + h1 * cn);
    }
  }
  store8(h, h0);
  store8(h + 8, h1);
}

// tile[t][l] = x[b, c0 + l, t0 + t] as f32 for l < cw, t < tw (x: (B, C, T), any strides); lanes >= cw are 0.
void load_tile(const Tensor& x, int64_t b, int64_t c0, int64_t cw, int64_t t0, int64_t tw, float* tile) {
  const Strides& s = x.strides();
  int64_t base = b * s[0] + c0 * s[1] + t0 * s[2];
  if (cw < kLanes) std::fill(tile, tile + tw * kLanes, 0.0f);
  if (s[2] == 1 && s[1] != 1 && x.dtype() == DType::f32) {  // f32, tokens contiguous: transpose straight from memory
    // Channel outer: each channel's run is read sequentially (channels T floats apart would alias in L1).
    const float* src = x.data<float>() + base;
    for (int64_t l = 0; l < cw; ++l)
      for (int64_t t = 0; t < tw; ++t) tile[t * kLanes + l] = src[l * s[1] + t];
    return;
  }
  if (s[2] == 1 && s[1] != 1) {  // tokens contiguous: load each channel's run, then scatter into the tile's column
    thread_local std::vector<float> row;
    row.resize((size_t)tw);
    for (int64_t l = 0; l < cw; ++l) {
      load_row<float>(x.raw_data(), x.dtype(), base + l * s[1], 1, tw, row.data());
      for (int64_t t = 0; t < tw; ++t) tile[t * kLanes + l] = row[t];
    }
    return;
  }
  if (s[1] == 1 && x.dtype() == DType::f32) {  // f32, channels contiguous: one copy per step
    const float* src = x.data<float>() + base;
    if (cw == kLanes) {  // a fixed-size copy (inlined vector moves)
      for (int64_t t = 0; t < tw; ++t) {
        store8(tile + t * kLanes, load8(src + t * s[2]));
        store8(tile + t * kLanes + 8, load8(src + t * s[2] + 8));
      }
      return;
    }
    for (int64_t t = 0; t < tw; ++t) std::copy(src + t * s[2], src + t * s[2] + cw, tile + t * kLanes);
    return;
  }
  for (int64_t t = 0; t < tw; ++t) load_row<float>(x.raw_data(), x.dtype(), base + t * s[2], s[1], cw, tile + t * kLanes);
}

// out[b, c0 + l, t0 + t] = tile[t][l] (out contiguous (B, C, T)).
void store_tile(const Tensor& out, int64_t b, int64_t c0, int64_t cw, int64_t t0, int64_t tw, const float* tile) {
  int64_t C = out.size(1), T = out.size(2);
  if (out.dtype() == DType::f32) {  // transpose straight into memory
    float* dst = out.data<float>() + (b * C + c0) * T + t0;
    for (int64_t l = 0; l < cw; ++l)
      for (int64_t t = 0; t < tw; ++t) dst[l * T + t] = tile[t * kLanes + l];
    return;
  }
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

// tile[t][n] = x[b, n, t0 + t] as f32 (x: (B, N, T), any strides): the B or C inputs of one chunk.
void load_state_tile(const Tensor& x, int64_t b, int64_t t0, int64_t tw, float* tile) {
  const Strides& s = x.strides();
  int64_t N = x.size(1), base = b * s[0] + t0 * s[2];
  if (s[2] == 1 && s[1] != 1) {  // tokens contiguous (the model's W @ u layout): load rows, scatter into columns
    float row[kChunk];
    for (int64_t n = 0; n < N; ++n) {
      load_row<float>(x.raw_data(), x.dtype(), base + n * s[1], 1, tw, row);
      for (int64_t t = 0; t < tw; ++t) tile[t * N + n] = row[t];
    }
    return;
  }
  if (s[1] == 1 && x.dtype() == DType::f32) {  // f32, states contiguous (the model's dbc rows): one copy per step
    const float* src = x.data<float>() + base;
    if (N == 16) {  // mamba's state size: a fixed-size copy (inlined vector moves)
      for (int64_t t = 0; t < tw; ++t) {
        store8(tile + t * N, load8(src + t * s[2]));
        store8(tile + t * N + 8, load8(src + t * s[2] + 8));
      }
      return;
    }
    for (int64_t t = 0; t < tw; ++t) std::copy(src + t * s[2], src + t * s[2] + N, tile + t * N);
    return;
  }
  for (int64_t t = 0; t < tw; ++t) load_row<float>(x.raw_data(), x.dtype(), base + t * s[2], s[1], N, tile + t * N);
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

using ops::ScanSlots;
using ops::scan_slots;

// One (batch, channel block) of the scan. kY: write y (B, C, T); else write the last state (B, C, N) f32.
template <bool kY>
void scan_block(Inputs in, const Tensor& out, const ScanSlots& sl, int64_t b, int64_t c0, int64_t cw, std::vector<float>& work) {
  const Tensor &u = in[0], &delta = in[1], &A = in[2], &Bm = in[3];
  int64_t T = u.size(2), N = A.size(1);
  // Workspace: h, A (N × 16 each); u, Δ, Δ·u, exp(Δ·A_n), z, y tiles (kChunk × 16); B, C tiles (kChunk × N).
  work.resize((size_t)(2 * N * kLanes + 6 * kChunk * kLanes + 2 * kChunk * N));
  float* h = work.data();
  float* a = h + N * kLanes;
  float* ut = a + N * kLanes;
  float* dt = ut + kChunk * kLanes;
  float* zt = dt + kChunk * kLanes;
  float* yt = zt + kChunk * kLanes;
  float* dut = yt + kChunk * kLanes;
  float* et = dut + kChunk * kLanes;
  float* bt = et + kChunk * kLanes;
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
    load_state_tile(Bm, b, t0, tw, bt);
    if (kY) load_state_tile(in[4], b, t0, tw, ct);
    // Step 3: Δ = softplus(delta + bias) (as transformers: dt + bias in f32, then F.softplus), Δ·u, and y = 0.
    for (int64_t t = 0; t < tw; ++t) {
      float* dr = dt + t * kLanes;
#pragma omp simd
      for (int64_t l = 0; l < kLanes; ++l) {
        float v = dr[l] + bias[l];
        float d = sl.softplus ? softplus(v) : v;
        dr[l] = d;
        dut[t * kLanes + l] = d * ut[t * kLanes + l];
        yt[t * kLanes + l] = 0.0f;
      }
    }
    // Step 4 (Note [scan loop order]): per state index n, first exp(Δ·A_n) for the whole chunk (independent, fully
    // vectorised), then the recurrence h_n = exp(Δ·A_n)·h_n + (Δ·u)·B_t[n] with h_n in registers, y_t += C_t[n]·h_n.
    for (int64_t n = 0; n < N; ++n) {
      exp_tile(dt, a + n * kLanes, tw, et);
      recurrence<kY>(et, dut, bt + n, kY ? ct + n : nullptr, N, tw, h + n * kLanes, yt);
    }
    if (kY) {
      // Step 5: skip connection D·u and the SiLU(z) gate.
      for (int64_t t = 0; t < tw; ++t) {
#pragma omp simd
        for (int64_t l = 0; l < kLanes; ++l) {
          float v = yt[t * kLanes + l] + ut[t * kLanes + l] * D[l];
          if (sl.z >= 0) {
            float z = zt[t * kLanes + l];
            v *= z * vsigmoid(z);
          }
          yt[t * kLanes + l] = v;
        }
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
  ScanSlots sl = scan_slots(a, kY);
  int64_t B = in[0].size(0), C = in[0].size(1), T = in[0].size(2), N = in[2].size(1);
  int64_t blocks = (C + kLanes - 1) / kLanes;
  // One task per (batch, channel block), handed out dynamically: the blocks are equal, but on a shared host a
  // static split waits for its slowest thread.
  auto block = [&](int64_t i) {
    thread_local std::vector<float> work;
    int64_t b = i / blocks, c0 = (i % blocks) * kLanes;
    scan_block<kY>(in, out, sl, b, c0, std::min(kLanes, C - c0), work);
  };
  if (B * blocks * kLanes * T * N * 8 < 32768) {
    for (int64_t i = 0; i < B * blocks; ++i) block(i);
  } else {
    run_parallel(B * blocks, cpu_threads(), block);
  }
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
