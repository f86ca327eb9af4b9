// The FA2-style forward kernel: one CTA per (kBM query rows, head, sequence), each warp owning 16·MT rows; K/V
// tiles double-buffered in shared memory with cp.async, ldmatrix + mma.sync m16n8k16 (f16/bf16, f32 accumulation),
// online softmax in registers (log2 domain, one FFMA + ex2 per score), P reused from the S accumulators as the PV
// product's A operand. Instantiated for a short list of head dims (flash_f16.cu, flash_bf16.cu).
#pragma once
#include <cfloat>
#include <type_traits>

#include "backends/cuda/attention/common.cuh"

namespace tessera::backends::cuda::attention {

// Note [Flash tiles]: a warp that owns 32 query rows (MT = 2 m-tiles) reuses every K and V fragment it reads from
// shared memory for two mma's, halving the ldmatrix traffic per mma of a 16-row warp: with 16 rows per warp the
// kernel is bound by shared-memory bandwidth on sm_90 (one ldmatrix.x4 = 512 B per two mma's). The price is
// registers (the O accumulators are 2·D/8·4 floats), so D = 256 keeps MT = 1. 4 warps per CTA as FlashAttention 2:
// a 128-row CTA reads each K/V tile once for 128 rows, and two CTAs fit on an SM (registers and shared memory).
// Measured on an H200 (bf16, B·H = 64, T = 4096): 64 rows x 4 warps x 16 rows (the previous kernel) 193-243
// TFLOP/s; 128 rows as 8 warps x 16 rows 209-271; 128 rows as 4 warps x 32 rows 267-327 (torch's flash: 262-332).
// Key tiles: 64 at D = 128 (32 and 48: 2-5% slower), 128 at D <= 64 (64 with Q in registers: within 1%).
template <int D_, int BN_, int NW_, int MT_, bool QRegs_, bool Lazy_ = true>
struct FlashConfig {
  static constexpr int kD = D_, kBN = BN_, kWarps = NW_, kMT = MT_;
  static constexpr bool kLazyRescale = Lazy_;  // Note [Lazy rescale]: on where it measured faster
  static constexpr bool kQInRegs = QRegs_;  // Q's A fragments loaded once into registers (else re-read per tile)
  static constexpr int kWarpRows = 16 * MT_;
  static constexpr int kBM = kWarpRows * NW_;
  static constexpr int kThreads = 32 * NW_;
  // Note [Padded rows]: shared tiles are (rows, D + 8): the 16-byte pad makes the row pitch an odd number of
  // 16-byte chunks, so the 8 row addresses of every ldmatrix (and the cp.async stores) hit 8 different bank groups.
  static constexpr int kPitch = D_ + 8;
  static constexpr int kChunks = D_ / 8;  // 16-byte chunks per row
  template <class T>
  static constexpr size_t smem_bytes() {
    return (size_t)(kBM + 4 * kBN) * kPitch * sizeof(T);  // Q + 2 x (K, V)
  }
  static_assert(D_ % 16 == 0 && BN_ % 16 == 0, "tile sizes must be multiples of the mma shape");
};

// Rows [r0, r0 + R) of a (rows, D) operand -> shared (R, D + 8); rows >= bound are zero-filled, not read.
template <class T, int D, int R, int NT>
__device__ __forceinline__ void load_tile(T* dst, const T* src, int64_t row_stride, int r0, int bound, int tid) {
  constexpr int kChunks = D / 8, kPitch = D + 8, kTotal = R * kChunks;
  if constexpr (NT % kChunks == 0) {  // each thread keeps one column chunk and steps over rows
    constexpr int kRowStep = NT / kChunks;
    const int row = tid / kChunks, col = (tid % kChunks) * 8;
    const T* g = src + (int64_t)(r0 + row) * row_stride + col;
    T* s = dst + row * kPitch + col;
#pragma unroll
    for (int i = 0; i < (kTotal + NT - 1) / NT; ++i) {
      const int r = row + i * kRowStep;
      if (kTotal % NT != 0 && r >= R) break;
      const bool ok = r0 + r < bound;
      cp_async_16(s + i * kRowStep * kPitch, ok ? g + (int64_t)i * kRowStep * row_stride : src, ok ? 16 : 0);
    }
  } else {
#pragma unroll 4
    for (int c = tid; c < kTotal; c += NT) {
      const int r = c / kChunks, col = (c % kChunks) * 8;
      const bool ok = r0 + r < bound;
      cp_async_16(dst + r * kPitch + col, ok ? src + (int64_t)(r0 + r) * row_stride + col : src, ok ? 16 : 0);
    }
  }
}

template <class T, int D, int NT>
__device__ __forceinline__ void write_zero_rows(T* o, int64_t out_row, int r0, int n, int tid) {
  constexpr int kChunks = D / 8;
  for (int c = tid; c < n * kChunks; c += NT) {
    int r = c / kChunks, col = (c % kChunks) * 8;
    *reinterpret_cast<uint4*>(o + (int64_t)(r0 + r) * out_row + col) = make_uint4(0, 0, 0, 0);
  }
}

template <class T, class C>
__global__ void __launch_bounds__(C::kThreads) flash_fwd_kernel(const AttentionParams p) {
  constexpr int D = C::kD, BN = C::kBN, BM = C::kBM, MT = C::kMT, P = C::kPitch, NT = C::kThreads;
  constexpr bool QR = C::kQInRegs;
  extern __shared__ __align__(16) unsigned char smem[];
  T* sQ = reinterpret_cast<T*>(smem);  // (BM, P)
  T* sK = sQ + BM * P;                 // 2 x (BN, P)
  T* sV = sK + 2 * BN * P;             // 2 x (BN, P)

  // Note [Causal launch order]: causal row blocks run last-first (blockIdx.x is the fastest-varying grid index,
  // so CTAs start in that order): the longest rows start first and the short ones fill the tail of the grid.
  const int m_block = p.causal ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x;
  const int b = blockIdx.z, h = blockIdx.y, m0 = m_block * BM;
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

  // 1. Two cp.async groups in flight: (Q, K0, V0) and (K1, V1) (empty past the last tile, so that group j is
  // always the j-th committed and wait<1> means "tile j has landed").
  load_tile<T, D, BM, NT>(sQ, q, p.q.row, m0, s.q_valid, tid);
  load_tile<T, D, BN, NT>(sK, k, p.k.row, 0, s.k_len, tid);
  load_tile<T, D, BN, NT>(sV, v, p.v.row, 0, s.k_len, tid);
  cp_async_commit();
  if (n_blocks > 1) {
    load_tile<T, D, BN, NT>(sK + BN * P, k, p.k.row, BN, s.k_len, tid);
    load_tile<T, D, BN, NT>(sV + BN * P, v, p.v.row, BN, s.k_len, tid);
  }
  cp_async_commit();

  const int g = lane / 4, t4 = lane % 4;   // mma fragment coordinates: row g (and g + 8), columns 2·t4, +1
  const int mi = lane / 8, mr = lane % 8;  // ldmatrix: which 8x8 matrix this lane addresses, and its row
  const int wrow = warp * C::kWarpRows;    // the warp's first row in the tile
  // Each lane's ldmatrix row address (32-bit shared) in Q, K and V; tile offsets are compile-time constants.
  constexpr uint32_t kRowBytes = P * sizeof(T), kTileBytes = BN * kRowBytes;
  const uint32_t q_lds = smem_addr(sQ + (wrow + (mi & 1) * 8 + mr) * P + (mi >> 1) * 8);
  const uint32_t k_lds = smem_addr(sK + ((mi >> 1) * 8 + mr) * P + (mi & 1) * 8);
  const uint32_t v_lds = smem_addr(sV + ((mi & 1) * 8 + mr) * P + (mi >> 1) * 8);
  // Scores are taken as x·|scale| in the log2 domain; a negative scale flips Q's sign bits instead (exact), and a
  // zero scale becomes FLT_MIN so masked -inf scores stay -inf (0·-inf would be NaN) while the rest round to 0.
  const float scale = fmaxf(fabsf(p.scale_log2), FLT_MIN);
  // The warp's rows that exist: a warp past q_valid (the last tile of a sequence) computes nothing.
  const int warp_row0 = m0 + wrow, warp_row_last = min(m0 + wrow + C::kWarpRows, s.q_valid) - 1;

  cp_async_wait<1>();
  __syncthreads();
  if (p.scale_log2 < 0.f) {  // each warp flips the sign bits of its own Q rows (only it reads them)
    for (int c = lane; c < C::kWarpRows * D / 2; c += 32)
      reinterpret_cast<uint32_t*>(sQ + (wrow + c / (D / 2)) * P)[c % (D / 2)] ^= 0x80008000u;
    __syncwarp();
  }
  uint32_t q_frag[QR ? MT : 1][QR ? D / 16 : 1][4];
  if constexpr (QR) {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) ldmatrix_x4(q_frag[mt][kk], q_lds + mt * 16 * kRowBytes + kk * 16 * sizeof(T));
  }

  float acc_o[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < D / 8; ++i) acc_o[mt][i][0] = acc_o[mt][i][1] = acc_o[mt][i][2] = acc_o[mt][i][3] = 0.f;
  float row_max[MT][2], row_sum[MT][2];  // row_max in scaled log2 units
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) row_max[mt][0] = row_max[mt][1] = -INFINITY, row_sum[mt][0] = row_sum[mt][1] = 0.f;

  for (int j = 0; j < n_blocks; ++j) {
    const int buf = j & 1;
    // 2. Wait for tile j (tile j + 1 stays in flight: the loads overlap this tile's math).
    if (j > 0) {
      cp_async_wait<1>();
      __syncthreads();
    }
    const uint32_t k_buf = k_lds + buf * kTileBytes, v_buf = v_lds + buf * kTileBytes;
    const int key0 = j * BN;
    // A warp whose rows all lie above this tile's keys (causal) or past q_valid skips the tile: its rows would
    // only add exp2(-inf) = 0 terms.
    const bool warp_live = warp_row0 <= warp_row_last && !(p.causal && key0 > warp_row_last + s.causal_offset);
    if (warp_live) {
      // 3. S = Q Kᵀ: the warp's (16·MT, BN) scores.
      float acc_s[MT][BN / 8][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < BN / 8; ++i) acc_s[mt][i][0] = acc_s[mt][i][1] = acc_s[mt][i][2] = acc_s[mt][i][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          if constexpr (QR) {
#pragma unroll
            for (int e = 0; e < 4; ++e) a[mt][e] = q_frag[mt][kk][e];
          } else {
            ldmatrix_x4(a[mt], q_lds + mt * 16 * kRowBytes + kk * 16 * sizeof(T));
          }
        }
#pragma unroll
        for (int n2 = 0; n2 < BN / 16; ++n2) {
          uint32_t bk[4];
          ldmatrix_x4(bk, k_buf + n2 * 16 * kRowBytes + kk * 16 * sizeof(T));
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma_16816<T>(acc_s[mt][2 * n2], a[mt], bk[0], bk[1]);
            mma_16816<T>(acc_s[mt][2 * n2 + 1], a[mt], bk[2], bk[3]);
          }
        }
      }

      // 4. Keys past the sequence's end or (causal) past the diagonal -> -inf; only edge tiles pay for the test.
      const bool need_mask = key0 + BN > s.k_len || (p.causal && key0 + BN - 1 > warp_row0 + s.causal_offset);
      if (need_mask) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int nt = 0; nt < BN / 8; ++nt)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = key0 + nt * 8 + 2 * t4 + (e & 1), row = warp_row0 + mt * 16 + g + (e >> 1) * 8;
              if (key >= s.k_len || (p.causal && key > row + s.causal_offset)) acc_s[mt][nt][e] = -INFINITY;
            }
      }

      // 5. Online softmax per row (a quad of lanes holds a row): the new max, O and the running sum rescaled by
      // alpha = 2^(old - new max), then P = 2^(x·scale - max) and its sum (per-lane partial sums; the quad's lanes
      // are added at the end).
      float m_use[MT][2], alpha[MT][2];
      bool rescale = !C::kLazyRescale;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          float mx = -INFINITY;
#pragma unroll
          for (int nt = 0; nt < BN / 8; ++nt) mx = fmaxf(mx, fmaxf(acc_s[mt][nt][2 * r], acc_s[mt][nt][2 * r + 1]));
          const float m_new = fmaxf(row_max[mt][r], quad_max(mx) * scale);
          m_use[mt][r] = m_new == -INFINITY ? 0.f : m_new;  // a row with every key masked so far adds nothing
          alpha[mt][r] = fast_exp2(row_max[mt][r] - m_use[mt][r]);
          row_max[mt][r] = m_new;
          row_sum[mt][r] *= alpha[mt][r];
          rescale |= alpha[mt][r] != 1.f;
        }
      // Note [Lazy rescale]: once the running maxima settle (after a few tiles on most rows) alpha is exactly 1
      // (2^0): the warp skips the 2·MT·D/8 multiplies of O, a third of the softmax phase's instructions at D = 128
      // (+1-5% there on an H200). At D <= 96 the extra live values cost register spills and it measured 1-4%
      // slower, so those instantiations rescale unconditionally.
      if (!C::kLazyRescale || __any_sync(0xffffffffu, rescale)) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
          for (int dt = 0; dt < D / 8; ++dt) {
            acc_o[mt][dt][0] *= alpha[mt][0], acc_o[mt][dt][1] *= alpha[mt][0];
            acc_o[mt][dt][2] *= alpha[mt][1], acc_o[mt][dt][3] *= alpha[mt][1];
          }
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          float sum = 0.f;
#pragma unroll
          for (int nt = 0; nt < BN / 8; ++nt) {
            const float p0 = fast_exp2(fmaf(acc_s[mt][nt][2 * r], scale, -m_use[mt][r]));
            const float p1 = fast_exp2(fmaf(acc_s[mt][nt][2 * r + 1], scale, -m_use[mt][r]));
            acc_s[mt][nt][2 * r] = p0, acc_s[mt][nt][2 * r + 1] = p1;
            sum += p0 + p1;
          }
          row_sum[mt][r] += sum;
        }

      // 6. O += P V: the S accumulator layout is the A fragment layout, so P stays in registers.
#pragma unroll
      for (int kk = 0; kk < BN / 16; ++kk) {
        uint32_t a[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          a[mt][0] = pack2<T>(acc_s[mt][2 * kk][0], acc_s[mt][2 * kk][1]);
          a[mt][1] = pack2<T>(acc_s[mt][2 * kk][2], acc_s[mt][2 * kk][3]);
          a[mt][2] = pack2<T>(acc_s[mt][2 * kk + 1][0], acc_s[mt][2 * kk + 1][1]);
          a[mt][3] = pack2<T>(acc_s[mt][2 * kk + 1][2], acc_s[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int d2 = 0; d2 < D / 16; ++d2) {
          uint32_t bv[4];
          ldmatrix_x4_trans(bv, v_buf + kk * 16 * kRowBytes + d2 * 16 * sizeof(T));
#pragma unroll
          for (int mt = 0; mt < MT; ++mt) {
            mma_16816<T>(acc_o[mt][2 * d2], a[mt], bv[0], bv[1]);
            mma_16816<T>(acc_o[mt][2 * d2 + 1], a[mt], bv[2], bv[3]);
          }
        }
      }
    }
    // 7. Every warp is done with `buf`: refill it with tile j + 2.
    __syncthreads();
    if (j + 2 < n_blocks) {
      load_tile<T, D, BN, NT>(sK + buf * BN * P, k, p.k.row, (j + 2) * BN, s.k_len, tid);
      load_tile<T, D, BN, NT>(sV + buf * BN * P, v, p.v.row, (j + 2) * BN, s.k_len, tid);
    }
    cp_async_commit();
  }

  // 8. O / l (0 for fully masked rows), staged through the warp's own rows of sQ, stored in 16-byte chunks.
  T* sO = sQ + wrow * P;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float l = quad_sum(row_sum[mt][r]);
      inv[r] = l > 0.f ? 1.f / l : 0.f;
    }
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
      for (int r = 0; r < 2; ++r)
        *reinterpret_cast<uint32_t*>(sO + (mt * 16 + g + 8 * r) * P + dt * 8 + 2 * t4) =
            pack2<T>(acc_o[mt][dt][2 * r] * inv[r], acc_o[mt][dt][2 * r + 1] * inv[r]);
  }
  __syncwarp();
#pragma unroll
  for (int c = lane; c < C::kWarpRows * C::kChunks; c += 32) {
    const int row = c / C::kChunks, col = (c % C::kChunks) * 8, qi = warp_row0 + row;
    if (qi >= s.rows) continue;
    const uint4 val = qi < s.q_valid ? *reinterpret_cast<const uint4*>(sO + row * P + col) : make_uint4(0, 0, 0, 0);
    *reinterpret_cast<uint4*>(o + (int64_t)qi * p.out_row + col) = val;
  }
}

template <class T, class C>
cudaError_t launch_flash(const AttentionParams& p, cudaStream_t stream) {
  auto kernel = flash_fwd_kernel<T, C>;
  constexpr size_t bytes = C::template smem_bytes<T>();
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
  if (e != cudaSuccess) return e;
  dim3 grid((unsigned)((p.q_len + C::kBM - 1) / C::kBM), (unsigned)p.heads, (unsigned)p.batch);
  kernel<<<grid, C::kThreads, bytes, stream>>>(p);
  return cudaSuccess;  // launch errors are reported by check_launch, which names the shapes
}

// The explicit list of instantiations (DESIGN.md §10); cuda_attention::kFlashHeadDims must match. Note [Flash tiles].
template <class T>
cudaError_t launch_flash_for(const AttentionParams& p, cudaStream_t stream) {
  switch (p.head_dim) {
    case 32: return launch_flash<T, FlashConfig<32, 128, 4, 2, true, false>>(p, stream);
    case 64: return launch_flash<T, FlashConfig<64, 128, 4, 2, false, false>>(p, stream);
    case 96: return launch_flash<T, FlashConfig<96, 64, 4, 2, true, false>>(p, stream);
    case 128: return launch_flash<T, FlashConfig<128, 64, 4, 2, false, true>>(p, stream);
    case 256: return launch_flash<T, FlashConfig<256, 32, 4, 1, false, true>>(p, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace tessera::backends::cuda::attention
