// CPU kernels for the state-space ops: causal_conv1d, selective_scan, selective_scan_state. f32 compute for any
// float input dtype. Work is split over (batch, block of 16 channels); the recurrent state of a block (N × 16
// floats) stays in L1/registers, loops are vectorised over the 16 channels, nothing (B, C, T, N)-sized exists.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/scan_simd.h"
#include "backends/cpu/scan_simd_impl.h"
#include "ops/ssm_slots.h"

namespace tessera::backends::cpu {

namespace {
using ops::Attrs;
using ops::Inputs;

// Note [scan loop order]
// Per chunk of kChunk steps, the inputs are staged as f32 tiles, then for each group of kStateGroup states the
// loop runs t inner: the group's h_n (16 lanes each) live in registers across the chunk's steps, and per step and
// state e = exp(Δ·A_n) (independent of h: the out-of-order core overlaps it with the recurrence), h_n = e·h_n +
// (Δ·u)·B_t[n] (one FMA of latency per step) and y_t += C_t[n]·h_n, accumulated in registers over the group and
// written to the y tile once per group. Nothing of size exp(Δ·A) is stored. States are padded to a multiple of
// kStateGroup with A = B = C = 0 (h stays 0 there), so any N runs the same unrolled loop.

// Note [scan exp]
// The decay e^(Δ·A_n) is the one transcendental per (step, state, channel), so its cost is most of the
// recurrence's. The kernels compute it as 2^(Δ·a_n) with a_n = A_n·log2(e) stored in the a tile: per vector a
// multiply, a round-to-nearest, f = y - n (exact), a degree-6 polynomial for 2^f on [-0.5, 0.5] (relative error
// 2e-9, ~1 ulp after f32 Horner) and a scale by 2^n (vscalefps; AVX2 builds the exponent bits) — 10 operations
// where a general exp needs 15 (range clamps, a two-constant Cody-Waite reduction, the out-of-range select).
// The extra rounding of a_n and of y = Δ·a_n costs |y|·2^-24 relative, far below the 1e-4 the model fixtures
// check. y must be finite for the rounding to work: Δ is capped at kMaxDelta (NaN kept) and a_n at ±kMaxDelta,
// so Δ = +inf (softplus of an overflowed input) decays like any huge step (to 0 for A < 0) instead of NaN.

// Note [channel blocks]
// Vectorising over channels (not over N) avoids a horizontal sum for y_t = C_t·h_t at every step. In the CPU
// model u (the conv's (B, C, T) output), z and Δ have tokens contiguous and go into their tiles through 16 × 16
// register transposes; a Δ that is a transposed view of a (B, T, C) activation (the CUDA model's layout) gives 16
// contiguous channels per step, copied as they are (Note [mamba layouts] in src/models/mamba.cpp).

// Note [CPU ISA dispatch]
// The build targets x86-64-v3 (AVX2) so one binary runs everywhere; the scan is the one CPU kernel bound by
// arithmetic rather than by BLAS or memory, and AVX-512 halves its instructions (16 lanes per register and
// vscalefps for exp's 2^n). Its inner loops and the tile transposes it shares with the conv (scan_simd_impl.h)
// are therefore compiled twice: in this file for the baseline and in ssm_avx512.cpp with -march=x86-64-v4, each
// copy with internal linkage so the linker can't mix them. scan_simd() picks the AVX-512 table once, when the CPU
// (and the OS, for the zmm state: __builtin_cpu_supports checks XCR0) support it, unless set_cpu_avx512(false)
// (tests of the baseline path) turned it off. Both copies compute the same operations per lane but for results
// near f32's underflow (exp below -87.33, Note in vexp_v; the decay's 2^y below -126, vexp2_scan) and the
// grouping of the Σ_n C_t[n]·h_n partial sums: f32 rounding.

bool g_avx512_allowed = true;
}  // namespace

const ScanSimd& scan_simd_baseline() {
  static const ScanSimd s{.isa = kIsa, .chunk = chunk_impl, .to_tile = to_tile_impl, .from_tile = from_tile_impl,
                          .conv = conv_impl};
  return s;
}

bool avx512_enabled() {
#if defined(TESSERA_CPU_AVX512)
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw");
  }();
  return have && g_avx512_allowed;
#else
  return false;
#endif
}

const ScanSimd& scan_simd() {
#if defined(TESSERA_CPU_AVX512)
  if (avx512_enabled()) return scan_simd_avx512();
#endif
  return scan_simd_baseline();
}

namespace {
// Note [scan prefetch]
// The scan reads its inputs chunk by chunk along T, and two of the model's layouts defeat the hardware prefetchers:
// u, z and Δ are 16 rows of 128 bytes (f16) per chunk, T·2 bytes apart, and B and C (or a Δ with channels
// contiguous) are one 32-byte piece per step, a whole activation row apart. The staging loads then wait on memory (perf put
// half the f16 scan's cycles outside the recurrence, on those loads). So while staging chunk t0 the loaders
// prefetch the same rows' or steps' pieces of chunk t0 + kChunk: a chunk's compute (~3 µs) hides their latency.
inline void prefetch_bytes(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o);
  if (bytes > 0) __builtin_prefetch(c + bytes - 1);
}

// Elements of the next chunk after [t0, t0 + tw) of a length-T axis (0 when this chunk is the last).
inline int64_t next_chunk(int64_t T, int64_t t0, int64_t tw) { return std::clamp<int64_t>(T - t0 - tw, 0, kChunk); }

// tile[t][l] = x[b, c0 + l, t0 + t] as f32 for l < cw, t < tw (x: (B, C, T), any strides); lanes >= cw are 0.
// Prefetches the next chunk's elements (Note [scan prefetch]).
void load_tile(const ScanSimd& simd, const Tensor& x, int64_t b, int64_t c0, int64_t cw, int64_t t0, int64_t tw, float* tile) {
  const Strides& s = x.strides();
  int64_t base = b * s[0] + c0 * s[1] + t0 * s[2];
  const int64_t next = next_chunk(x.size(2), t0, tw);
  if (s[2] == 1 && s[1] != 1 && x.dtype() == DType::f32) {  // f32, tokens contiguous: register transposes
    const float* src = x.data<float>() + base;
    for (int64_t l = 0; l < cw && next > 0; ++l) prefetch_bytes(src + l * s[1] + tw, next * 4);
    simd.to_tile(src, s[1], cw, tw, tile);
    return;
  }
  if (s[2] == 1 && s[1] != 1 && x.dtype() == DType::f16) {  // f16, tokens contiguous: widen each run, then transpose
    thread_local std::vector<float> runs;  // (the conv's tiles are K - 1 steps longer than kChunk)
    runs.resize((size_t)(cw * tw));
    const uint16_t* rows = x.data<uint16_t>() + base;
    for (int64_t l = 0; l < cw; ++l) {
      const uint16_t* src = rows + l * s[1];
      if (next > 0) prefetch_bytes(src + tw, next * 2);
      f16_to_f32_row(src, tw, runs.data() + l * tw);
    }
    simd.to_tile(runs.data(), tw, cw, tw, tile);
    return;
  }
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
  if (s[1] == 1 && x.dtype() == DType::f32) {  // f32, channels contiguous: one copy per step
    const float* src = x.data<float>() + base;
    for (int64_t t = 0; t < next; ++t) prefetch_bytes(src + (tw + t) * s[2], cw * 4);
    if (cw == kLanes) {  // a fixed-size copy (inlined vector moves, not a memmove call per step)
      for (int64_t t = 0; t < tw; ++t) std::memcpy(tile + t * kLanes, src + t * s[2], kLanes * sizeof(float));
      return;
    }
    for (int64_t t = 0; t < tw; ++t) std::copy(src + t * s[2], src + t * s[2] + cw, tile + t * kLanes);
    return;
  }
  if (s[1] == 1 && x.dtype() == DType::f16) {  // f16, channels contiguous (the model's Δ): one widening per step
    const uint16_t* src = x.data<uint16_t>() + base;
    for (int64_t t = 0; t < tw; ++t) {
      if (t < next) prefetch_bytes(src + (tw + t) * s[2], cw * 2);
      f16_to_f32_row(src + t * s[2], cw, tile + t * kLanes);
    }
    return;
  }
  for (int64_t t = 0; t < tw; ++t) load_row<float>(x.raw_data(), x.dtype(), base + t * s[2], s[1], cw, tile + t * kLanes);
}

// out[b, c0 + l, t0 + t] = tile[t][l] (out contiguous (B, C, T)).
void store_tile(const ScanSimd& simd, const Tensor& out, int64_t b, int64_t c0, int64_t cw, int64_t t0, int64_t tw,
                const float* tile) {
  int64_t C = out.size(1), T = out.size(2);
  if (out.dtype() == DType::f32) {  // register transposes straight into memory
    simd.from_tile(tile, cw, tw, out.data<float>() + (b * C + c0) * T + t0, T);
    return;
  }
  if (out.dtype() == DType::f16) {  // transpose into f32 runs, then narrow each run
    float runs[kLanes * kChunk];
    simd.from_tile(tile, cw, tw, runs, tw);
    for (int64_t l = 0; l < cw; ++l) f32_to_f16_row(runs + l * tw, tw, out.data<uint16_t>() + (b * C + c0 + l) * T + t0);
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

// tile[t][n] = x[b, n, t0 + t] as f32 for n < N, zeros for N <= n < Np (x: (B, N, T), any strides): the B or C
// inputs of one chunk.
void load_state_tile(const Tensor& x, int64_t b, int64_t t0, int64_t tw, int64_t Np, float* tile) {
  const Strides& s = x.strides();
  int64_t N = x.size(1), base = b * s[0] + t0 * s[2];
  if (N < Np)
    for (int64_t t = 0; t < tw; ++t) std::fill(tile + t * Np + N, tile + (t + 1) * Np, 0.0f);
  if (s[2] == 1 && s[1] != 1) {  // tokens contiguous (the model's W @ u layout): load rows, scatter into columns
    float row[kChunk];
    for (int64_t n = 0; n < N; ++n) {
      load_row<float>(x.raw_data(), x.dtype(), base + n * s[1], 1, tw, row);
      for (int64_t t = 0; t < tw; ++t) tile[t * Np + n] = row[t];
    }
    return;
  }
  const int64_t next = next_chunk(x.size(2), t0, tw);  // Note [scan prefetch]
  if (s[1] == 1 && x.dtype() == DType::f32) {  // f32, states contiguous (the model's dbc rows): one copy per step
    const float* src = x.data<float>() + base;
    for (int64_t t = 0; t < next; ++t) prefetch_bytes(src + (tw + t) * s[2], N * 4);
    if (N == 16) {  // mamba's state size: a fixed-size copy (inlined vector moves)
      for (int64_t t = 0; t < tw; ++t) std::memcpy(tile + t * Np, src + t * s[2], 16 * sizeof(float));
      return;
    }
    for (int64_t t = 0; t < tw; ++t)
      for (int64_t n = 0; n < N; ++n) tile[t * Np + n] = src[t * s[2] + n];
    return;
  }
  if (s[1] == 1 && x.dtype() == DType::f16) {  // f16, states contiguous: one widening per step
    const uint16_t* src = x.data<uint16_t>() + base;
    for (int64_t t = 0; t < tw; ++t) {
      if (t < next) prefetch_bytes(src + (tw + t) * s[2], N * 2);
      f16_to_f32_row(src + t * s[2], N, tile + t * Np);
    }
    return;
  }
  for (int64_t t = 0; t < tw; ++t) load_row<float>(x.raw_data(), x.dtype(), base + t * s[2], s[1], N, tile + t * Np);
}

using ops::ScanSlots;
using ops::scan_slots;

// One (batch, channel block) of the scan. kY: write y (B, C, T); else write the last state (B, C, N) f32.
template <bool kY>
void scan_block(const ScanSimd& simd, Inputs in, const Tensor& out, const ScanSlots& sl, int64_t b, int64_t c0, int64_t cw,
                std::vector<float>& work) {
  const Tensor &u = in[0], &delta = in[1], &A = in[2], &Bm = in[3];
  int64_t T = u.size(2), N = A.size(1), Np = padded_states(N);
  // Workspace: h, A (Np × 16 each); u, Δ, Δ·u, z, y tiles (kChunk × 16); B, C tiles (kChunk × Np).
  work.resize((size_t)(2 * Np * kLanes + 5 * kChunk * kLanes + 2 * kChunk * Np));
  float* h = work.data();
  float* a = h + Np * kLanes;
  float* ut = a + Np * kLanes;
  float* dt = ut + kChunk * kLanes;
  float* zt = dt + kChunk * kLanes;
  float* yt = zt + kChunk * kLanes;
  float* dut = yt + kChunk * kLanes;
  float* bt = dut + kChunk * kLanes;
  float* ct = bt + kChunk * Np;

  // Step 1: A and the initial state, transposed to [n][lane] (zeros in padding lanes and states).
  std::fill(a, a + Np * kLanes, 0.0f);
  std::fill(h, h + Np * kLanes, 0.0f);
  for (int64_t l = 0; l < cw; ++l) {
    float row[512];
    for (int64_t n0 = 0; n0 < N; n0 += 512) {
      int64_t nw = std::min<int64_t>(512, N - n0);
      load_row<float>(A.raw_data(), A.dtype(), (c0 + l) * A.strides()[0] + n0 * A.strides()[1], A.strides()[1], nw, row);
      for (int64_t n = 0; n < nw; ++n)  // A·log2(e), capped (Note [scan exp]); NaN stays NaN
        a[(n0 + n) * kLanes + l] = std::clamp(row[n] * 1.44269504088896341f, -kMaxDelta, kMaxDelta);
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
  bool gated = kY && sl.z >= 0;
  ScanChunk c{.Np = Np, .u = ut, .delta = dt, .z = gated ? zt : nullptr, .bias = bias, .D = kY ? D : nullptr, .a = a,
              .B = bt, .C = kY ? ct : nullptr, .h = h, .du = dut, .y = kY ? yt : nullptr, .softplus = sl.softplus};

  for (int64_t t0 = 0; t0 < T; t0 += kChunk) {
    c.tw = std::min(kChunk, T - t0);
    // Step 2: stage the chunk's inputs as f32 tiles.
    load_tile(simd, u, b, c0, cw, t0, c.tw, ut);
    load_tile(simd, delta, b, c0, cw, t0, c.tw, dt);
    if (gated) load_tile(simd, in[sl.z], b, c0, cw, t0, c.tw, zt);
    load_state_tile(Bm, b, t0, c.tw, Np, bt);
    if (kY) load_state_tile(in[4], b, t0, c.tw, Np, ct);
    // Steps 3-5 (scan_simd_impl.h): Δ = softplus(delta + bias) and Δ·u; the recurrence (Note [scan loop order]);
    // y += D·u and the SiLU(z) gate.
    simd.chunk(c);
    if (kY) store_tile(simd, out, b, c0, cw, t0, c.tw, yt);
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
  const ScanSimd& simd = scan_simd();
  int64_t B = in[0].size(0), C = in[0].size(1), T = in[0].size(2), N = in[2].size(1);
  int64_t blocks = (C + kLanes - 1) / kLanes;
  // One task per (batch, channel block), handed out dynamically: the blocks are equal, but on a shared host a
  // static split waits for its slowest thread.
  auto block = [&](int64_t i) {
    thread_local std::vector<float> work;
    int64_t b = i / blocks, c0 = (i % blocks) * kLanes;
    scan_block<kY>(simd, in, out, sl, b, c0, std::min(kLanes, C - c0), work);
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

namespace {
// causal_conv1d: per (batch, channel block) and chunk, a tile of K-1 + kChunk steps (the K-1 before the chunk are its
// left context, zeros before t = 0) and y[t][l] = bias[l] + Σ_k w[l][k]·x[t + k][l]; kSilu: y·sigmoid(y) on the f32
// tile before the store (causal_conv1d_silu: one pass over the activation instead of two, no rounding in between).
template <bool kSilu>
void causal_conv1d(Inputs in, const Tensor& out) {
  const Tensor &x = in[0], &w = in[1];
  int64_t B = x.size(0), C = x.size(1), T = x.size(2), K = w.size(1);
  int64_t blocks = (C + kLanes - 1) / kLanes;
  const ScanSimd& simd = scan_simd();
  // Weights [block][K][16] and biases [block][16], transposed once (zeros in padding lanes).
  std::vector<float> wt(blocks * K * kLanes, 0.0f), bias(blocks * kLanes, 0.0f), row(K);
  for (int64_t c = 0; c < C; ++c) {
    load_row<float>(w.raw_data(), w.dtype(), c * w.strides()[0], w.strides()[1], K, row.data());
    for (int64_t k = 0; k < K; ++k) wt[((c / kLanes) * K + k) * kLanes + c % kLanes] = row[k];
  }
  if (in.size() == 3)
    for (int64_t blk = 0; blk < blocks; ++blk) load_channels(in[2], blk * kLanes, std::min(kLanes, C - blk * kLanes), &bias[blk * kLanes]);
  auto tile = [&](int64_t b, int64_t blk, int64_t t0, float* xt, float* yt) {
    int64_t c0 = blk * kLanes, cw = std::min(kLanes, C - c0), tw = std::min(kChunk, T - t0);
    // The K-1 steps before t0 (zeros where t < 0), then the chunk.
    int64_t first = t0 - (K - 1), lead = std::max<int64_t>(0, -first);
    std::fill(xt, xt + lead * kLanes, 0.0f);
    load_tile(simd, x, b, c0, cw, first + lead, tw + K - 1 - lead, xt + lead * kLanes);
    simd.conv(xt, &wt[blk * K * kLanes], &bias[blk * kLanes], K, tw, kSilu, yt);
    store_tile(simd, out, b, c0, cw, t0, tw, yt);
  };
  parallel_for(B * blocks, kLanes * T * K * 2, [&](int64_t begin, int64_t end) {
    std::vector<float> xt((K - 1 + kChunk) * kLanes), yt(kChunk * kLanes);
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t t0 = 0; t0 < T; t0 += kChunk) tile(i / blocks, i % blocks, t0, xt.data(), yt.data());
    }
  });
}
}  // namespace

void k_causal_conv1d(Inputs in, const Tensor& out, const Attrs&) { causal_conv1d<false>(in, out); }
void k_causal_conv1d_silu(Inputs in, const Tensor& out, const Attrs&) { causal_conv1d<true>(in, out); }

}  // namespace tessera::backends::cpu

namespace tessera::backends {
void set_cpu_avx512(bool allowed) { cpu::g_avx512_allowed = allowed; }
const char* cpu_ssm_isa() { return cpu::scan_simd().isa; }
}  // namespace tessera::backends
