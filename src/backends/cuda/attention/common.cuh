// Device helpers shared by the attention kernels: per-sequence bounds (padded, key/query lengths, packed
// varlen), cp.async / ldmatrix / mma.sync m16n8k16 wrappers (inline PTX, sm_80+), fast exp2, f16/bf16 packing.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/attention/params.h"

namespace tessera::backends::cuda::attention {

// Where one (sequence b, head h) lives and which of its rows and keys take part.
struct Sequence {
  int64_t q_off, k_off, v_off, o_off;  // element offsets of row 0 of q, k, v and out
  int rows;        // query rows that exist in `out` (padded: Tq; packed: the sequence's length)
  int q_valid;     // rows < q_valid are computed; rows in [q_valid, rows) are written as zeros
  int k_len;       // keys < k_len exist and are allowed (padded: min(Tk, key_lengths[b]))
  int causal_offset;  // key j visible to row i iff j <= i + causal_offset
};

__device__ __forceinline__ int read_length(const void* p, bool i64, int64_t stride, int b) {
  return i64 ? (int)static_cast<const int64_t*>(p)[b * stride] : static_cast<const int*>(p)[b * stride];
}

__device__ __forceinline__ Sequence sequence(const AttentionParams& p, int b, int h) {
  Sequence s;
  if (p.cu_seqlens_q) {  // packed varlen: (total, H, D) rows [cu[b], cu[b + 1])
    int q0 = p.cu_seqlens_q[b], k0 = p.cu_seqlens_k[b];
    s.rows = p.cu_seqlens_q[b + 1] - q0;
    s.k_len = p.cu_seqlens_k[b + 1] - k0;
    s.q_valid = s.rows;
    s.causal_offset = s.k_len - s.rows;
    s.q_off = q0 * p.q.row + h * p.q.head;
    s.k_off = k0 * p.k.row + h * p.k.head;
    s.v_off = k0 * p.v.row + h * p.v.head;
    s.o_off = q0 * p.out_row + h * p.out_head;
    return s;
  }
  s.rows = p.q_len;
  s.k_len = p.k_len;
  if (p.key_lengths) s.k_len = max(0, min(p.k_len, read_length(p.key_lengths, p.lengths_i64, p.key_lengths_stride, b)));
  s.q_valid = p.q_len;
  if (p.query_lengths)
    s.q_valid = max(0, min(p.q_len, read_length(p.query_lengths, p.lengths_i64, p.query_lengths_stride, b)));
  s.causal_offset = p.k_len - p.q_len;  // Note [Causal alignment] (attention/sdpa.h): padded sizes
  s.q_off = b * p.q.batch + h * p.q.head;
  s.k_off = b * p.k.batch + h * p.k.head;
  s.v_off = b * p.v.batch + h * p.v.head;
  s.o_off = b * p.out_batch + h * p.out_head;
  return s;
}

// One past the last key any of rows [r0, r0 + n) may see (n >= 1).
__device__ __forceinline__ int key_end(const AttentionParams& p, const Sequence& s, int r0, int n) {
  int end = s.k_len;
  if (p.causal) end = min(end, r0 + n - 1 + s.causal_offset + 1);
  return end;
}

__device__ __forceinline__ uint32_t smem_addr(const void* ptr) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(ptr));
}

// 16-byte global -> shared copy; src_bytes = 0 writes zeros without reading (rows past the end).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

// The same from a 32-bit shared-memory address (base + constant offsets fold into the instruction).
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// c += a·b, m16n8k16, f32 accumulate. a: 4 regs (row-major 16x16), b: 2 regs (col-major 16x8), c: 4 floats.
template <class T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  if constexpr (sizeof(T) == 2 && std::is_same_v<T, __half>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

// Two floats as one register of T pairs (the lower column in the low half, as mma fragments expect).
template <class T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi) {
  if constexpr (std::is_same_v<T, __half>) {
    __half2 v = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  } else {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
  }
}

// 2^x with the SFU (exp2(-inf) = 0).
__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Reductions over the 4 lanes of a quad (the lanes that share an mma accumulator row).
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

}  // namespace tessera::backends::cuda::attention
