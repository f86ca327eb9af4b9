// The CUDA attention kernels' entry points in plain C++ (no CUDA types): src/attention/ calls them in every
// build; CUDA builds implement them in src/backends/cuda/attention/, CPU-only builds link
// src/backends/cuda_attention_stub.cpp (built() == false, the others refuse).
#pragma once
#include <array>
#include <cstdint>

#include "tessera/tensor.h"

namespace tessera::backends::cuda_attention {

// The head dims the flash kernel is instantiated for (DESIGN.md §10: a short explicit list; others fall back).
inline constexpr std::array<int, 5> kFlashHeadDims{32, 64, 96, 128, 256};
inline constexpr int kMemoryEfficientMaxHeadDim = 256;
inline constexpr int kMinComputeCapability = 80;  // sm_80: mma.sync m16n8k16 bf16, cp.async, ldmatrix

// One attention call. Padded layout: q (B, H, Tq, D), k/v (B, H, Tk, D), views whose last dim is contiguous
// (other strides arbitrary). Packed varlen (flash only): q (total_q, H, D), k/v (total_k, H, D) with
// cu_seqlens_q/k. All tensors on the same CUDA device.
struct Call {
  Tensor q, k, v;
  Tensor out;             // preallocated contiguous: (B, H, Tq, D), (B, Tq, H, D) when out_bthd; packed: (total_q, H, D)
  bool out_bthd = false;
  Tensor mask;            // memory_efficient only: 4-D view broadcast to (B, H, Tq, Tk) (stride 0 where broadcast);
                          // f32/f16/bf16 added to the scores, bool (u8) true = allowed
  Tensor key_lengths;     // (B) i32/i64: keys t >= key_lengths[b] are masked and never read
  Tensor query_lengths;   // (B) i32/i64: query rows t >= query_lengths[b] are not computed, written as zeros
  Tensor cu_seqlens_q, cu_seqlens_k;  // (B + 1) i32: packed sequence b is rows [cu[b], cu[b + 1])
  int64_t batch = 0;      // packed varlen: number of sequences (cu_seqlens has batch + 1 entries)
  int64_t max_seqlen_q = 0;  // packed varlen: the longest query sequence (grid size)
  bool causal = false;    // key j visible to query i iff j <= i + (Tk - Tq) (per sequence when packed)
  double scale = 1.0;
};

bool built();                      // false in a CPU-only build
int compute_capability(int device);  // 10·major + minor (80, 90); 0 when no such device is visible
// FA2-style tensor-core kernel: f16/bf16, sm_80+, D in kFlashHeadDims, rows 16-byte aligned; no `mask`.
void flash(const Call& call);
// Tiled online-softmax SIMT kernel: f32/f16/bf16, D <= kMemoryEfficientMaxHeadDim, any mask, any strides.
void memory_efficient(const Call& call);

}  // namespace tessera::backends::cuda_attention
