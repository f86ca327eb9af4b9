// The CUDA attention kernels' parameter block (host and device) and their launchers (flash_f16.cu,
// flash_bf16.cu, memory_efficient.cu). entry.cpp fills the block from tensors (backends/cuda_attention.h).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace tessera::backends::cuda::attention {

enum ElemType : int { kF32 = 0, kF16 = 1, kBF16 = 2, kBool = 3 };

// Strides in elements. Padded layout: sequence b of head h starts at b·batch + h·head; row t at + t·row.
// Packed varlen (cu_seqlens_q != nullptr): sequence b's rows are [cu[b], cu[b + 1]) of a (total, H, D) tensor.
struct Operand {
  const void* data = nullptr;
  int64_t batch = 0, head = 0, row = 0, dim = 1;
};

struct AttentionParams {
  Operand q, k, v;
  void* out = nullptr;
  int64_t out_batch = 0, out_head = 0, out_row = 0;  // out's dim stride is 1 (contiguous)
  int elem = kF16;                                  // q, k, v and out dtype
  int batch = 0, heads = 0, q_len = 0, k_len = 0, head_dim = 0;  // packed: q_len = the longest query sequence
  const int* cu_seqlens_q = nullptr;
  const int* cu_seqlens_k = nullptr;
  const void* key_lengths = nullptr;  // (B): keys t >= key_lengths[b] masked and never read
  const void* query_lengths = nullptr;  // (B): query rows t >= query_lengths[b] written as zeros
  bool lengths_i64 = false;           // key_lengths/query_lengths element type (i64, else i32)
  int64_t key_lengths_stride = 1, query_lengths_stride = 1;
  bool causal = false;                // bottom-right aligned: j <= i + (Tk - Tq)
  float scale = 0;                    // softmax scale (memory_efficient keeps scores in natural units)
  float scale_log2 = 0;               // scale · log2(e) (flash works in the log2 domain: exp2 on the SFU)
  // memory_efficient only: a mask broadcast to (B, H, Tq, Tk) by strides (0 on broadcast dims).
  const void* mask = nullptr;
  int mask_elem = kF32;
  int64_t mask_stride[4] = {0, 0, 0, 0};
  bool rows_vec4 = false;  // memory_efficient only (set by its launcher): q, k, v rows load as 4-element vectors
};

// Each returns the launch's cudaError_t (cudaSuccess, or why it could not be launched).
cudaError_t launch_flash_f16(const AttentionParams& p, cudaStream_t stream);
cudaError_t launch_flash_bf16(const AttentionParams& p, cudaStream_t stream);
cudaError_t launch_memory_efficient(const AttentionParams& p, cudaStream_t stream);

}  // namespace tessera::backends::cuda::attention
