// The FA2-style forward kernel: one CTA per (64 query rows, head, sequence), 4 warps of 16 rows each;
// K/V tiles double-buffered in shared memory with cp.async, ldmatrix + mma.sync m16n8k16 (f16/bf16, f32
// accumulation), online softmax in registers, P reused from the S accumulators as the PV product's A operand.
// Instantiated for a short list of head dims (flash_f16.cu, flash_bf16.cu).
#pragma once
#include <type_traits>

#include "backends/cuda/attention/common.cuh"

namespace tessera::backends::cuda::attention {

// Note [Padded rows]: shared tiles are (rows, D + 8): the 16-byte pad makes the row pitch an odd number of
// 16-byte chunks, so the 8 row addresses of every ldmatrix (and the cp.async stores) hit 8 different bank groups.
template <class T, int D, int BN, int NW>
struct FlashTraits {
  static constexpr int kBM = 16 * NW;  // 16 query rows per warp
  static constexpr int kThreads = 32 * NW;
  static constexpr int kPitch = D + 8;
  static constexpr int kChunks = D / 8;  // 16-byte chunks per row
  static constexpr bool kQInRegs = D <= 128;  // D = 256 re-reads Q from shared memory (register budget)
  static constexpr size_t kSmemBytes = (size_t)(kBM + 4 * BN) * kPitch * sizeof(T);  // Q + 2 x (K, V)
  static_assert(D % 16 == 0 && BN % 16 == 0, "tile sizes must be multiples of the mma shape");
};

// Rows [r0, r0 + R) of a (rows, D) operand -> shared (R, kPitch); rows >= bound are zero-filled, not read.
template <class T, int D, int R, int kThreads>
__device__ __forceinline__ void load_tile(T* dst, const T* src, int64_t row_stride, int r0, int bound, int tid) {
  constexpr int kChunks = D / 8, kPitch = D + 8;
#pragma unroll 4
  for (int c = tid; c < R * kChunks; c += kThreads) {
    int r = c / kChunks, col = (c % kChunks) * 8;
    bool ok = r0 + r < bound;
    const T* g = ok ? src + (int64_t)(r0 + r) * row_stride + col : src;
    cp_async_16(dst + r * kPitch + col, g, ok ? 16 : 0);
  }
}

template <class T, int D, int kThreads>
__device__ __forceinline__ void write_zero_rows(T* o, int64_t out_row, int r0, int n, int tid) {
  constexpr int kChunks = D / 8;
  for (int c = tid; c < n * kChunks; c += kThreads) {
    int r = c / kChunks, col = (c % kChunks) * 8;
    *reinterpret_cast<uint4*>(o + (int64_t)(r0 + r) * out_row + col) = make_uint4(0, 0, 0, 0);
  }
}

template <class T, int D, int BN, int NW>
__global__ void __launch_bounds__(32 * NW) flash_fwd_kernel(const AttentionParams p) {
  using Tr = FlashTraits<T, D, BN, NW>;
  constexpr int BM = Tr::kBM, P = Tr::kPitch, NT = Tr::kThreads;
  extern __shared__ __align__(16) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);  // (BM, P)
  T* sK = sQ + BM * P;                 // 2 x (BN, P)
  T* sV = sK + 2 * BN * P;             // 2 x (BN, P)

  const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * BM;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const Sequence s = sequence(p, b, h);
  if (m0 >= s.rows) return;  // packed sequences shorter than the grid's longest
  const T* q = static_cast<const T*>(p.q.data) + s.q_off;
  const T* k = static_cast<const T*>(p.k.data) + s.k_off;
  const T* v = static_cast<const T*>(p.v.data) + s.v_off;
  T* o = static_cast<T*>(p.out) + s.o_off;
  const int n_valid = min(BM, s.q_valid - m0);  // rows of this tile to compute (<= 0: all padding)
  const int kend = n_valid > 0 ? key_end(p, s, m0, n_valid) : 0;
  if (kend <= 0) {  // nothing to attend: zeros (Note [Fully masked rows] in attention/sdpa.h)
    write_zero_rows<T, D, NT>(o, p.out_row, m0, min(BM, s.rows - m0), tid);
    return;
  }
  const int n_blocks = (kend + BN - 1) / BN;

  // 1. The Q tile and the first K/V tiles: one cp.async group.
  load_tile<T, D, BM, NT>(sQ, q, p.q.row, m0, s.q_valid, tid);
  load_tile<T, D, BN, NT>(sK, k, p.k.row, 0, s.k_len, tid);
  load_tile<T, D, BN, NT>(sV, v, p.v.row, 0, s.k_len, tid);
  cp_async_commit();

  const int g = lane / 4, t4 = lane % 4;   // mma fragment coordinates: row g (and g + 8), columns 2·t4, +1
  const int mi = lane / 8, mr = lane % 8;  // ldmatrix: which 8x8 matrix this lane addresses, and its row
  const int wrow = warp * 16;              // the warp's first row in the tile
  float acc_o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) acc_o[i][0] = acc_o[i][1] = acc_o[i][2] = acc_o[i][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  uint32_t q_frag[Tr::kQInRegs ? D / 16 : 1][4];

  for (int j = 0; j < n_blocks; ++j) {
    const int buf = j & 1;
    // 2. Prefetch the next K/V tiles into the other buffer while this one is used.
    if (j + 1 < n_blocks) {
      load_tile<T, D, BN, NT>(sK + (buf ^ 1) * BN * P, k, p.k.row, (j + 1) * BN, s.k_len, tid);
      load_tile<T, D, BN, NT>(sV + (buf ^ 1) * BN * P, v, p.v.row, (j + 1) * BN, s.k_len, tid);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const T* sKb = sK + buf * BN * P;
    const T* sVb = sV + buf * BN * P;
    if constexpr (Tr::kQInRegs) {
      if (j == 0) {
#pragma unroll
        for (int kk = 0; kk < D / 16; ++kk)
          ldmatrix_x4(q_frag[kk], sQ + (wrow + (mi & 1) * 8 + mr) * P + kk * 16 + (mi >> 1) * 8);
      }
    }

    // 3. S = Q Kᵀ: the warp's (16, BN) scores.
    float acc_s[BN / 8][4];
#pragma unroll
    for (int i = 0; i < BN / 8; ++i) acc_s[i][0] = acc_s[i][1] = acc_s[i][2] = acc_s[i][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t a[4];
      if constexpr (Tr::kQInRegs) {
        a[0] = q_frag[kk][0], a[1] = q_frag[kk][1], a[2] = q_frag[kk][2], a[3] = q_frag[kk][3];
      } else {
        ldmatrix_x4(a, sQ + (wrow + (mi & 1) * 8 + mr) * P + kk * 16 + (mi >> 1) * 8);
      }
#pragma unroll
      for (int n2 = 0; n2 < BN / 16; ++n2) {
        uint32_t bk[4];
        ldmatrix_x4(bk, sKb + (n2 * 16 + (mi >> 1) * 8 + mr) * P + kk * 16 + (mi & 1) * 8);
        mma_16816<T>(acc_s[2 * n2], a, bk[0], bk[1]);
        mma_16816<T>(acc_s[2 * n2 + 1], a, bk[2], bk[3]);
      }
    }

    // 4. To the log2 domain; keys past the sequence's end or (causal) past the diagonal -> -inf.
    const int key0 = j * BN;
    const bool need_mask = key0 + BN > s.k_len || (p.causal && key0 + BN - 1 > m0 + s.causal_offset);
#pragma unroll
    for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = acc_s[nt][e] * p.scale_log2;
        if (need_mask) {
          int key = key0 + nt * 8 + 2 * t4 + (e & 1), row = m0 + wrow + g + (e >> 1) * 8;
          if (key >= s.k_len || (p.causal && key > row + s.causal_offset)) x = -INFINITY;
        }
        acc_s[nt][e] = x;
      }

    // 5. Online softmax per row (each quad of lanes holds one row): new max, rescale O and the running sum.
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt) mx = fmaxf(mx, fmaxf(acc_s[nt][2 * r], acc_s[nt][2 * r + 1]));
      mx = quad_max(mx);
      const float m_new = fmaxf(row_max[r], mx);
      const float m_use = m_new == -INFINITY ? 0.f : m_new;  // a row with every key masked so far adds nothing
      const float alpha = fast_exp2(row_max[r] - m_use);
      row_max[r] = m_new;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < BN / 8; ++nt) {
        float p0 = fast_exp2(acc_s[nt][2 * r] - m_use), p1 = fast_exp2(acc_s[nt][2 * r + 1] - m_use);
        acc_s[nt][2 * r] = p0, acc_s[nt][2 * r + 1] = p1;
        sum += p0 + p1;
      }
      row_sum[r] = row_sum[r] * alpha + sum;  // per-lane partial; the quad's lanes are summed at the end
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) acc_o[dt][2 * r] *= alpha, acc_o[dt][2 * r + 1] *= alpha;
    }

    // 6. O += P V: the S accumulator layout is the A fragment layout, so P stays in registers.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      uint32_t a[4] = {pack2<T>(acc_s[2 * kk][0], acc_s[2 * kk][1]), pack2<T>(acc_s[2 * kk][2], acc_s[2 * kk][3]),
                       pack2<T>(acc_s[2 * kk + 1][0], acc_s[2 * kk + 1][1]),
                       pack2<T>(acc_s[2 * kk + 1][2], acc_s[2 * kk + 1][3])};
#pragma unroll
      for (int d2 = 0; d2 < D / 16; ++d2) {
        uint32_t bv[4];
        ldmatrix_x4_trans(bv, sVb + (kk * 16 + (mi & 1) * 8 + mr) * P + d2 * 16 + (mi >> 1) * 8);
        mma_16816<T>(acc_o[2 * d2], a, bv[0], bv[1]);
        mma_16816<T>(acc_o[2 * d2 + 1], a, bv[2], bv[3]);
      }
    }
    __syncthreads();  // every warp is done with `buf` before iteration j + 1 refills it
  }

  // 7. O / l (0 for fully masked rows), staged through the warp's own rows of sQ, stored in 16-byte chunks.
  float inv[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = quad_sum(row_sum[r]);
    inv[r] = l > 0.f ? 1.f / l : 0.f;
  }
  T* sO = sQ + wrow * P;
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
    for (int r = 0; r < 2; ++r)
      *reinterpret_cast<uint32_t*>(sO + (g + 8 * r) * P + dt * 8 + 2 * t4) =
          pack2<T>(acc_o[dt][2 * r] * inv[r], acc_o[dt][2 * r + 1] * inv[r]);
  __syncwarp();
  for (int c = lane; c < 16 * Tr::kChunks; c += 32) {
    int row = c / Tr::kChunks, col = (c % Tr::kChunks) * 8, qi = m0 + wrow + row;
    if (qi >= s.rows) continue;
    uint4 val = qi < s.q_valid ? *reinterpret_cast<const uint4*>(sO + row * P + col) : make_uint4(0, 0, 0, 0);
    *reinterpret_cast<uint4*>(o + (int64_t)qi * p.out_row + col) = val;
  }
}

template <class T, int D, int BN, int NW>
cudaError_t launch_flash(const AttentionParams& p, cudaStream_t stream) {
  using Tr = FlashTraits<T, D, BN, NW>;
  auto kernel = flash_fwd_kernel<T, D, BN, NW>;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)Tr::kSmemBytes);
  if (e != cudaSuccess) return e;
  dim3 grid((unsigned)((p.q_len + Tr::kBM - 1) / Tr::kBM), (unsigned)p.heads, (unsigned)p.batch);
  kernel<<<grid, Tr::kThreads, Tr::kSmemBytes, stream>>>(p);
  return cudaSuccess;  // launch errors are reported by check_launch, which names the shapes
}

// The explicit list of instantiations (DESIGN.md §10); cuda_attention::kFlashHeadDims must match.
template <class T>
cudaError_t launch_flash_for(const AttentionParams& p, cudaStream_t stream) {
  switch (p.head_dim) {
    case 32: return launch_flash<T, 32, 128, 4>(p, stream);
    case 64: return launch_flash<T, 64, 64, 4>(p, stream);
    case 96: return launch_flash<T, 96, 64, 4>(p, stream);
    case 128: return launch_flash<T, 128, 64, 4>(p, stream);
    case 256: return launch_flash<T, 256, 32, 4>(p, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace tessera::backends::cuda::attention
