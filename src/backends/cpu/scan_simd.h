// The state-space kernels' inner loops on f32 tiles (one chunk of one (batch, block of 16 channels)), behind a
// table of function pointers with one entry per instruction set: the build's baseline (x86-64-v3, AVX2) and,
// on x86-64, AVX-512 (Note [CPU ISA dispatch]). The code is written once, in scan_simd_impl.h.
#pragma once
#include <cstdint>

namespace tessera::backends::cpu {

constexpr int64_t kLanes = 16;  // channels per block
constexpr int64_t kChunk = 64;  // time steps staged per tile (tiles stay within L1)
constexpr int64_t kStateGroup = 8;  // tiles of states are padded to a multiple of this (Note [scan loop order])

// Bound on Δ and |A·log2(e)| in the recurrence, so their product stays finite (Note [scan exp] in ssm.cpp).
constexpr float kMaxDelta = 1e18f;

inline int64_t padded_states(int64_t N) { return (N + kStateGroup - 1) / kStateGroup * kStateGroup; }

// One chunk of the scan. Tiles are [t][kLanes] (channels) or [t][Np] (states), Np = padded_states(N), with
// zeros in the padding lanes and states.
struct ScanChunk {
  int64_t tw = 0;               // steps in this chunk (<= kChunk)
  int64_t Np = 0;               // padded state count
  const float* u = nullptr;     // [tw][16] inputs
  float* delta = nullptr;       // [tw][16] delta in; Δ (+ bias, softplus) out
  const float* z = nullptr;     // [tw][16] gate, or nullptr
  const float* bias = nullptr;  // [16] delta bias (zeros when absent)
  const float* D = nullptr;     // [16] skip weights, or nullptr (state only)
  const float* a = nullptr;     // [Np][16] A·log2(e) capped at ±kMaxDelta, transposed (Note [scan exp])
  const float* B = nullptr;     // [tw][Np]
  const float* C = nullptr;     // [tw][Np], or nullptr (state only)
  float* h = nullptr;           // [Np][16] state in/out
  float* du = nullptr;          // [tw][16] scratch: Δ·u
  float* y = nullptr;           // [tw][16] output y (skip and gate applied), or nullptr (state only)
  bool softplus = true;
};

struct ScanSimd {
  const char* isa;
  // Steps 3-5 of scan_block (src/backends/cpu/ssm.cpp) on one chunk.
  void (*chunk)(const ScanChunk& c);
  // tile[t][l] = src[l·ld + t] for l < cw, t < tw; lanes >= cw are zero (a (C, T) slab into [t][16]).
  void (*to_tile)(const float* src, int64_t ld, int64_t cw, int64_t tw, float* tile);
  // dst[l·ld + t] = tile[t][l] for l < cw, t < tw.
  void (*from_tile)(const float* tile, int64_t cw, int64_t tw, float* dst, int64_t ld);
  // y[t][l] = bias[l] + Σ_k w[k][l]·x[t + k][l] for t < tw (x: [tw + K - 1][16], w: [K][16]); silu: then
  // y·sigmoid(y) (causal_conv1d_silu).
  void (*conv)(const float* x, const float* w, const float* bias, int64_t K, int64_t tw, bool silu, float* y);
};

// The fastest entry this CPU runs (AVX-512 where the CPU has it and set_cpu_avx512(false) was not called).
const ScanSimd& scan_simd();
const ScanSimd& scan_simd_baseline();
// Whether the CPU kernels' AVX-512 copies run in this process: an x86-64 build, a CPU (and OS) with AVX-512
// F/DQ/VL/BW, and no set_cpu_avx512(false) (Note [CPU ISA dispatch] in ssm.cpp). The scan, the CPU flash
// attention kernels and the f16 GEMM all dispatch on it.
bool avx512_enabled();
#if defined(TESSERA_CPU_AVX512)
const ScanSimd& scan_simd_avx512();  // in ssm_avx512.cpp, built with -march=x86-64-v4
#endif

}  // namespace tessera::backends::cpu
