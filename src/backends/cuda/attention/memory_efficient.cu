// The memory-efficient attention kernel: tiled online softmax on CUDA cores with f32 accumulation, for
// what the flash kernel declines: f32, additive or boolean masks (broadcast by strides), head dims up to 256
// outside the flash list, strided head dims. One CTA of 256 threads per (64 query rows, head, sequence); K/V in
// 64-key tiles (f32 in shared memory); each thread owns a 4 x 4 block of scores and 4 rows x 4·(DMAX/64) outputs.
#include "backends/cuda/attention/common.cuh"

namespace tessera::backends::cuda::attention {

namespace {
// Note [Memory-efficient tiles]: register tiling as an SGEMM micro-kernel. Thread (ty, tx) = (tid / 16, tid % 16)
// owns query rows 4·ty..4·ty+3 and keys tx + 16·i (i < 4): per 4 head-dim columns it reads 4 Q and 4 K float4's
// from shared memory for 64 FMAs (the previous lane-per-key kernel read 2 floats per FMA and was bound by shared
// memory: slower than the GEMM + softmax math path for f32 at BERT shapes). The same thread then owns those rows'
// outputs, columns 4·tx + 64·c, so the row max, sum and rescale factors stay in registers. Measured on an H200 (f32,
// B = 8, H = 12, D = 64, additive padding mask): T = 128/256/512/1024 in 0.030/0.091/0.315/1.22 ms against math's
// 0.069/0.139/0.437/1.44 ms (the lane-per-key kernel: 0.83 ms at T = 512).
constexpr int kThreads = 256, kBQ = 64, kBK = 64;
constexpr int kPPitch = kBQ + 4;  // P stored transposed (key, row): float4 of 4 rows per key, conflict-free stores
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

// Reductions over the 16 lanes (tx) that share a row group.
__device__ __forceinline__ float half_warp_max(float v) {
  for (int o = 8; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float half_warp_sum(float v) {
  for (int o = 8; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
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

// Row pitch of the Q/K/V tiles: D rounded up to 4 (float4 reads; the pad columns are zeros), then to 4 mod 8
// words so the 8 rows a quarter-warp reads with float4's start in 8 different bank groups.
__host__ __device__ __forceinline__ int pitch_of(int D) { return (D + 7) / 8 * 8 + 4; }

// V may share K's buffer (loaded after the scores) when a separate one would cost occupancy (DMAX > 64).
template <int DMAX>
constexpr bool kSeparateV = DMAX <= 64;
// K/V tiles in shared memory: 2 x (K, V) when copied asynchronously (double-buffered), else K and V or K only.
template <int DMAX, bool Async>
constexpr int kKVTiles = Async ? 4 : kSeparateV<DMAX> ? 2 : 1;

template <int DMAX, bool Async>
size_t smem_bytes(int D) {
  const size_t tile = (size_t)kBK * pitch_of(D);
  return sizeof(float) * ((size_t)kBQ * pitch_of(D) + kKVTiles<DMAX, Async> * tile + (size_t)kBK * kPPitch);
}

// Four consecutive elements (16 bytes of f32, 8 of f16/bf16) as f32.
__device__ __forceinline__ float4 load4(const float* g) { return *reinterpret_cast<const float4*>(g); }
__device__ __forceinline__ float4 load4(const __half* g) {
  const uint2 u = *reinterpret_cast<const uint2*>(g);
  const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&u.x));
  const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&u.y));
  return make_float4(a.x, a.y, b.x, b.y);
}
__device__ __forceinline__ float4 load4(const __nv_bfloat16* g) {
  const uint2 u = *reinterpret_cast<const uint2*>(g);
  const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.y));
  return make_float4(a.x, a.y, b.x, b.y);
}

// Rows [r0, r0 + R) of a strided (rows, D) operand -> shared f32 (R, pitch) times `mul`; columns [D, D4) and rows
// >= bound are zeros. Each thread moves 4-column chunks with kBatch loads in flight before their stores (a
// load-then-store loop waits a full memory latency per element); `vec4` loads a chunk as one vector.
template <class T>
__device__ __forceinline__ void load_rows(float* dst, const T* src, int64_t row_stride, int64_t dim_stride, int r0,
                                          int R, int bound, int D, bool vec4, float mul, int tid) {
  constexpr int kBatch = 4;
  const int pitch = pitch_of(D), per_row = (D + 3) / 4, total = R * per_row;
  for (int base = 0; base < total; base += kBatch * kThreads) {
    float4 val[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int c = base + u * kThreads + tid, r = c / per_row, d = (c - r * per_row) * 4;
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (c < total && r0 + r < bound) {
        const T* g = src + (int64_t)(r0 + r) * row_stride;
        if (vec4) {
          x = load4(g + d);
        } else {
          x.x = to_float(g[(int64_t)d * dim_stride]);
          if (d + 1 < D) x.y = to_float(g[(int64_t)(d + 1) * dim_stride]);
          if (d + 2 < D) x.z = to_float(g[(int64_t)(d + 2) * dim_stride]);
          if (d + 3 < D) x.w = to_float(g[(int64_t)(d + 3) * dim_stride]);
        }
      }
      val[u] = x;
    }
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int c = base + u * kThreads + tid, r = c / per_row, d = (c - r * per_row) * 4;
      if (c < total)
        *reinterpret_cast<float4*>(dst + r * pitch + d) =
            make_float4(val[u].x * mul, val[u].y * mul, val[u].z * mul, val[u].w * mul);
    }
  }
}

// f32 rows [r0, r0 + R) -> shared (R, pitch) with cp.async (rows_vec4 layouts); rows >= bound are zero-filled.
__device__ __forceinline__ void copy_rows_async(float* dst, const float* src, int64_t row_stride, int r0, int R,
                                                int bound, int D, int tid) {
  const int pitch = pitch_of(D), per_row = D / 4, total = R * per_row;
  for (int c = tid; c < total; c += kThreads) {
    const int r = c / per_row, d = (c - r * per_row) * 4;
    const bool ok = r0 + r < bound;
    cp_async_16(dst + r * pitch + d, ok ? src + (int64_t)(r0 + r) * row_stride + d : src, ok ? 16 : 0);
  }
}

// Async: f32 with rows_vec4 and DMAX = 64 (BERT's f32 attention): the next K/V tiles are copied with cp.async
// while this one is used (2 CTAs per SM still fit). Otherwise loads and conversions go through registers.
template <class T, int DMAX, bool Async>
__global__ void __launch_bounds__(kThreads) memory_efficient_kernel(const AttentionParams p) {
  constexpr int NC = DMAX / 64;  // float4 output column groups per thread
  extern __shared__ float4 smem_f4[];
  const int D = p.head_dim, D4 = (D + 3) / 4 * 4, pitch = pitch_of(D), tile = kBK * pitch;
  float* sQ = reinterpret_cast<float*>(smem_f4);  // (kBQ, pitch), pre-scaled
  float* sK = sQ + kBQ * pitch;                   // (kBK, pitch) [x 2 when Async]
  float* sV = Async ? sK + 2 * tile : kSeparateV<DMAX> ? sK + tile : sK;  // (kBK, pitch) [x 2 when Async]
  float* sP = sK + kKVTiles<DMAX, Async> * tile;  // (kBK, kPPitch): P transposed

  const int b = blockIdx.z, h = blockIdx.y, m0 = blockIdx.x * kBQ;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const Sequence s = sequence(p, b, h);
  if (m0 >= s.rows) return;
  const T* q = static_cast<const T*>(p.q.data) + s.q_off;
  const T* k = static_cast<const T*>(p.k.data) + s.k_off;
  const T* v = static_cast<const T*>(p.v.data) + s.v_off;
  T* o = static_cast<T*>(p.out) + s.o_off;
  const int n_valid = min(kBQ, s.q_valid - m0);
  const int kend = n_valid > 0 ? key_end(p, s, m0, n_valid) : 0;

  // 1. The query tile, times the softmax scale.
  load_rows(sQ, q, p.q.row, p.q.dim, m0, kBQ, s.q_valid, D, p.rows_vec4, p.scale, tid);
  float acc[4][NC][4];
  float row_max[4], row_sum[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    row_max[i] = -INFINITY, row_sum[i] = 0.f;
#pragma unroll
    for (int c = 0; c < NC; ++c) acc[i][c][0] = acc[i][c][1] = acc[i][c][2] = acc[i][c][3] = 0.f;
  }

  if constexpr (Async) {
    if (kend > 0) {
      copy_rows_async(sK, k, p.k.row, 0, kBK, s.k_len, D, tid);
      copy_rows_async(sV, v, p.v.row, 0, kBK, s.k_len, D, tid);
    }
    cp_async_commit();
  }
  for (int j0 = 0, buf = 0; j0 < kend; j0 += kBK, buf ^= 1) {
    // 2. The K (and V) tiles as f32; keys past the end as zeros.
    __syncthreads();  // the previous tile is consumed (and sQ is written, the first time)
    const float* kt = Async ? sK + buf * tile : sK;
    const float* vt = Async ? sV + buf * tile : sV;
    if constexpr (Async) {  // tile j + 1 into the other buffer, then wait for tile j
      if (j0 + kBK < kend) {
        copy_rows_async(sK + (buf ^ 1) * tile, k, p.k.row, j0 + kBK, kBK, s.k_len, D, tid);
        copy_rows_async(sV + (buf ^ 1) * tile, v, p.v.row, j0 + kBK, kBK, s.k_len, D, tid);
      }
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      load_rows(sK, k, p.k.row, p.k.dim, j0, kBK, s.k_len, D, p.rows_vec4, 1.f, tid);
      if constexpr (kSeparateV<DMAX>) load_rows(sV, v, p.v.row, p.v.dim, j0, kBK, s.k_len, D, p.rows_vec4, 1.f, tid);
    }
    __syncthreads();

    // 3. Scores of rows 4·ty + i and keys tx + 16·c: float4 dot products over D.
    float sc[4][4] = {};
    const float* qr = sQ + 4 * ty * pitch;
    const float* kr = kt + tx * pitch;
#pragma unroll 1
    for (int d = 0; d < D4; d += 4) {
      float4 qv[4], kv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) qv[i] = *reinterpret_cast<const float4*>(qr + i * pitch + d);
#pragma unroll
      for (int c = 0; c < 4; ++c) kv[c] = *reinterpret_cast<const float4*>(kr + 16 * c * pitch + d);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          sc[i][c] = fmaf(qv[i].x, kv[c].x, fmaf(qv[i].y, kv[c].y, fmaf(qv[i].z, kv[c].z, fmaf(qv[i].w, kv[c].w, sc[i][c]))));
    }

    // 4. Masks, then the online softmax per row (16 lanes share a row): P to shared memory, transposed.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int qi = m0 + 4 * ty + i;
      float tile_max = -INFINITY;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int kj = j0 + tx + 16 * c;
        float x = -INFINITY;
        if (qi < s.q_valid && kj < s.k_len && !(p.causal && kj > qi + s.causal_offset)) {
          x = sc[i][c];
          if (p.mask) {
            const float m = mask_value(p, b, h, qi, kj);
            x = p.mask_elem == kBool ? (m != 0.f ? x : -INFINITY) : x + m;
          }
        }
        sc[i][c] = x;
        tile_max = fmaxf(tile_max, x);
      }
      const float m_new = fmaxf(row_max[i], half_warp_max(tile_max));
      const float m_use = m_new == -INFINITY ? 0.f : m_new;  // a row with every key masked so far adds nothing
      // Natural units first, then log2e: a finite dtype-lowest mask cannot overflow to -inf (and -inf - -inf).
      const float alpha = fast_exp2((row_max[i] - m_use) * kLog2e);
      row_max[i] = m_new;
      float sum = 0.f;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        sc[i][c] = fast_exp2((sc[i][c] - m_use) * kLog2e);
        sum += sc[i][c];
      }
      row_sum[i] = row_sum[i] * alpha + sum;  // per-thread partial over its keys; the 16 lanes are added at the end
#pragma unroll
      for (int c = 0; c < NC; ++c) acc[i][c][0] *= alpha, acc[i][c][1] *= alpha, acc[i][c][2] *= alpha, acc[i][c][3] *= alpha;
    }
#pragma unroll
    for (int c = 0; c < 4; ++c)
      *reinterpret_cast<float4*>(sP + (tx + 16 * c) * kPPitch + 4 * ty) = make_float4(sc[0][c], sc[1][c], sc[2][c], sc[3][c]);
    if constexpr (!Async && !kSeparateV<DMAX>) {
      __syncthreads();  // every score is taken: V replaces K
      load_rows(sV, v, p.v.row, p.v.dim, j0, kBK, s.k_len, D, p.rows_vec4, 1.f, tid);
    }
    __syncthreads();

    // 5. O += P V: thread (ty, tx) owns rows 4·ty.. and columns 4·tx + 64·c (masked keys have P = 0, V rows = 0).
    const int nk = min(kBK, kend - j0);
#pragma unroll 4
    for (int jj = 0; jj < nk; ++jj) {
      const float4 pr = *reinterpret_cast<const float4*>(sP + jj * kPPitch + 4 * ty);
      const float pi[4] = {pr.x, pr.y, pr.z, pr.w};
#pragma unroll
      for (int c = 0; c < NC; ++c) {
        if (4 * tx + 64 * c >= D4) continue;
        const float4 vv = *reinterpret_cast<const float4*>(vt + jj * pitch + 4 * tx + 64 * c);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          acc[i][c][0] = fmaf(pi[i], vv.x, acc[i][c][0]);
          acc[i][c][1] = fmaf(pi[i], vv.y, acc[i][c][1]);
          acc[i][c][2] = fmaf(pi[i], vv.z, acc[i][c][2]);
          acc[i][c][3] = fmaf(pi[i], vv.w, acc[i][c][3]);
        }
      }
    }
  }

  // 6. O / l; rows past q_valid or with every key masked are zeros.
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int qi = m0 + 4 * ty + i;
    const float l = half_warp_sum(row_sum[i]);
    if (qi >= s.rows) continue;
    const float inv = qi < s.q_valid && l > 0.f ? 1.f / l : 0.f;
#pragma unroll
    for (int c = 0; c < NC; ++c)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int d = 4 * tx + 64 * c + e;
        if (d < D) o[(int64_t)qi * p.out_row + d] = from_float<T>(acc[i][c][e] * inv);
      }
  }
}

template <class T, int DMAX, bool Async = false>
cudaError_t launch(const AttentionParams& p, cudaStream_t stream) {
  auto kernel = memory_efficient_kernel<T, DMAX, Async>;
  size_t bytes = smem_bytes<DMAX, Async>(p.head_dim);
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
  if constexpr (std::is_same_v<T, float>)
    if (p.head_dim <= 64 && p.rows_vec4) return launch<T, 64, true>(p, stream);
  if (p.head_dim <= 64) return launch<T, 64>(p, stream);
  if (p.head_dim <= 128) return launch<T, 128>(p, stream);
  if (p.head_dim <= 256) return launch<T, 256>(p, stream);
  return cudaErrorInvalidValue;
}

// q, k, v rows load as 4-element vectors: unit head-dim strides, D and every other stride multiples of 4, and
// the data pointers aligned to 4 elements.
bool rows_vec4(const AttentionParams& p, int elem_bytes) {
  if (p.head_dim % 4 != 0) return false;
  for (const Operand* o : {&p.q, &p.k, &p.v})
    if (o->dim != 1 || o->batch % 4 || o->head % 4 || o->row % 4 || reinterpret_cast<uintptr_t>(o->data) % (4 * elem_bytes))
      return false;
  return true;
}
}  // namespace

cudaError_t launch_memory_efficient(const AttentionParams& params, cudaStream_t stream) {
  AttentionParams p = params;
  switch (p.elem) {
    case kF32: return p.rows_vec4 = rows_vec4(p, 4), launch_for<float>(p, stream);
    case kF16: return p.rows_vec4 = rows_vec4(p, 2), launch_for<__half>(p, stream);
    case kBF16: return p.rows_vec4 = rows_vec4(p, 2), launch_for<__nv_bfloat16>(p, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace tessera::backends::cuda::attention
