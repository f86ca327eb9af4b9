// The memory-efficient attention kernel: tiled online softmax on CUDA cores with f32 accumulation, for
// what the flash kernel declines: f32, additive or boolean masks (broadcast by strides), head dims up to 256
// outside the flash list, strided head dims. One CTA per (16 query rows, head, sequence); 4 warps x 4 rows;
// 32-key K/V tiles in shared memory as f32; lane j scores key j, then each lane accumulates 1/32 of D.
#include "backends/cuda/attention/common.cuh"

namespace tessera::backends::cuda::attention {

namespace {
constexpr int kWarps = 4, kRowsPerWarp = 4, kBQ = kWarps * kRowsPerWarp, kBK = 32, kThreads = 32 * kWarps;
constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class T>
__device__ __forceinline__ T from_float(float x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else if constexpr (std::is_same_v<T, __half>) return __float2half_rn(x);
  else return __float2bfloat16_rn(x);
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// The mask element for (b, h, query i, key j): an additive value, or 1/0 for a boolean mask.
__device__ __forceinline__ float mask_value(const AttentionParams& p, int b, int h, int i, int j) {
  int64_t at = b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] + j * p.mask_stride[3];
  switch (p.mask_elem) {
    case kF32: return static_cast<const float*>(p.mask)[at];
    case kF16: return __half2float(static_cast<const __half*>(p.mask)[at]);
    case kBF16: return __bfloat162float(static_cast<const __nv_bfloat16*>(p.mask)[at]);
    default: return static_cast<const uint8_t*>(p.mask)[at] ? 1.f : 0.f;
  }
}

size_t smem_bytes(int D) { return sizeof(float) * ((size_t)kBQ * D + (size_t)kBK * (D + 1) + (size_t)kBK * D + kBQ * kBK); }

// Scores stay in natural units (not log2) so a finite dtype-lowest additive mask cannot overflow to -inf.
template <class T, int DMAX>
__global__ void __launch_bounds__(kThreads) memory_efficient_kernel(const AttentionParams p) {
  constexpr int NC = DMAX / 32;  // head-dim columns per lane
  extern __shared__ float smem_f[];
  const int D = p.head_dim;
  float* sQ = smem_f;              // (kBQ, D), pre-scaled
  float* sK = sQ + kBQ * D;        // (kBK, D + 1): the odd pitch keeps lane-per-key reads conflict-free
  float* sV = sK + kBK * (D + 1);  // (kBK, D)
  float* sP = sV + kBK * D;        // (kBQ, kBK) probabilities of the current tile

  const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBQ;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const Sequence s = sequence(p, b, h);
  if (m0 >= s.rows) return;
  const T* q = static_cast<const T*>(p.q.data) + s.q_off;
  const T* k = static_cast<const T*>(p.k.data) + s.k_off;
  const T* v = static_cast<const T*>(p.v.data) + s.v_off;
  T* o = static_cast<T*>(p.out) + s.o_off;
  const int n_valid = min(kBQ, s.q_valid - m0);
  const int kend = n_valid > 0 ? key_end(p, s, m0, n_valid) : 0;

  // 1. The query tile, times the softmax scale.
  for (int i = tid; i < kBQ * D; i += kThreads) {
    int r = i / D, d = i % D, qi = m0 + r;
    sQ[i] = qi < s.q_valid ? to_float(q[(int64_t)qi * p.q.row + (int64_t)d * p.q.dim]) * p.scale : 0.f;
  }
  float acc[kRowsPerWarp][NC];
  float row_max[kRowsPerWarp], row_sum[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    row_max[r] = -INFINITY, row_sum[r] = 0.f;
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[r][c] = 0.f;
  }

  for (int j0 = 0; j0 < kend; j0 += kBK) {
    // 2. The K and V tiles as f32 (keys past the end as zeros).
    __syncthreads();  // the previous tile is consumed (and sQ is written, the first time)
    for (int i = tid; i < kBK * D; i += kThreads) {
      int r = i / D, d = i % D, kj = j0 + r;
      bool ok = kj < s.k_len;
      sK[r * (D + 1) + d] = ok ? to_float(k[(int64_t)kj * p.k.row + (int64_t)d * p.k.dim]) : 0.f;
      sV[r * D + d] = ok ? to_float(v[(int64_t)kj * p.v.row + (int64_t)d * p.v.dim]) : 0.f;
    }
    __syncthreads();
    // 3. Lane `lane` scores key j0 + lane for each of the warp's rows; masks; online softmax per row.
    const int kj = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int row = warp * kRowsPerWarp + r, qi = m0 + row;
      float x = -INFINITY;
      if (qi < s.q_valid && kj < s.k_len && !(p.causal && kj > qi + s.causal_offset)) {
        const float* qr = sQ + row * D;
        const float* kr = sK + lane * (D + 1);
        float dot = 0.f;
        for (int d = 0; d < D; ++d) dot = fmaf(qr[d], kr[d], dot);
        x = dot;
        if (p.mask) {
          float m = mask_value(p, b, h, qi, kj);
          x = p.mask_elem == kBool ? (m != 0.f ? x : -INFINITY) : x + m;
        }
      }
      const float m_new = fmaxf(row_max[r], warp_max(x));
      const float m_use = m_new == -INFINITY ? 0.f : m_new;
      const float pr = fast_exp2((x - m_use) * kLog2e), alpha = fast_exp2((row_max[r] - m_use) * kLog2e);
      row_max[r] = m_new;
      row_sum[r] = row_sum[r] * alpha + warp_sum(pr);
#pragma unroll
      for (int c = 0; c < NC; ++c) acc[r][c] *= alpha;
      sP[row * kBK + lane] = pr;
    }
    __syncwarp();
    // 4. O += P V: lane owns columns lane, lane + 32, ...
    const int nk = min(kBK, kend - j0);
    for (int jj = 0; jj < nk; ++jj) {
      float vv[NC];
#pragma unroll
      for (int c = 0; c < NC; ++c) vv[c] = lane + 32 * c < D ? sV[jj * D + lane + 32 * c] : 0.f;
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const float pr = sP[(warp * kRowsPerWarp + r) * kBK + jj];
#pragma unroll
        for (int c = 0; c < NC; ++c) acc[r][c] = fmaf(pr, vv[c], acc[r][c]);
      }
    }
  }

  // 5. O / l; rows past q_valid or with every key masked are zeros.
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int qi = m0 + warp * kRowsPerWarp + r;
    if (qi >= s.rows) continue;
    const float inv = qi < s.q_valid && row_sum[r] > 0.f ? 1.f / row_sum[r] : 0.f;
#pragma unroll
    for (int c = 0; c < NC; ++c) {
      int d = lane + 32 * c;
      if (d < D) o[(int64_t)qi * p.out_row + d] = from_float<T>(acc[r][c] * inv);
    }
  }
}

template <class T, int DMAX>
cudaError_t launch(const AttentionParams& p, cudaStream_t stream) {
  auto kernel = memory_efficient_kernel<T, DMAX>;
  size_t bytes = smem_bytes(p.head_dim);
  if (bytes > 48 * 1024) {
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (e != cudaSuccess) return e;
  }
  dim3 grid((unsigned)((p.q_len + kBQ - 1) / kBQ), (unsigned)p.heads, (unsigned)p.batch);
  kernel<<<grid, kThreads, bytes, stream>>>(p);
  return cudaSuccess;  // launch errors are reported by check_launch, which names the shapes
}

template <class T>
cudaError_t launch_for(const AttentionParams& p, cudaStream_t stream) {
  if (p.head_dim <= 64) return launch<T, 64>(p, stream);
  if (p.head_dim <= 128) return launch<T, 128>(p, stream);
  if (p.head_dim <= 256) return launch<T, 256>(p, stream);
  return cudaErrorInvalidValue;
}
}  // namespace

cudaError_t launch_memory_efficient(const AttentionParams& p, cudaStream_t stream) {
  switch (p.elem) {
    case kF32: return launch_for<float>(p, stream);
    case kF16: return launch_for<__half>(p, stream);
    case kBF16: return launch_for<__nv_bfloat16>(p, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace tessera::backends::cuda::attention
