// causal_conv1d on CUDA: the depthwise causal convolution of Mamba's mixer, y[b,c,t] = bias[c] +
// Σ_k w[c,k]·x[b,c,t-K+1+k], computed in f32 for f32/f16/bf16 inputs of any strides; causal_conv1d_silu applies
// SiLU before the store.
#include "backends/cuda/kernels/ssm_common.cuh"

namespace tessera::backends::cuda::ssm {

namespace {

// Note [conv1d tiling]
// A block owns kRows channels × kSteps steps of one batch row. It stages x for those steps plus a left halo of
// KP steps (KP = K rounded up to 4, 8 or 16) into a step-major shared tile, tile[j][r] = x at t = t0 - KP + j,
// reading along whichever of x's dims is contiguous (T for a contiguous x; C for the model's transposed view of
// in_proj's output), so both layouts load coalesced; each thread issues all its loads before storing any (the
// kernel is latency-bound: one round trip per block). The row stride kRows + 2 keeps both staging orders within
// 2-way bank conflicts and the compute reads conflict-free. Each thread then computes kGroups runs of kPer
// consecutive steps of one channel from a register window of KP + kPer inputs, and stores each run as one
// 16/8-byte write when T allows; 4 threads per channel make each channel's 16-step rows of a warp contiguous.
constexpr int kRows = (int)kConvRows;              // channels per block
constexpr int kSteps = 64;                         // output steps per block
constexpr int kPer = 4;                            // consecutive outputs per run
constexpr int kLanes = 4;                          // threads per channel
constexpr int kGroups = kSteps / (kPer * kLanes);  // runs per thread, kPer · kLanes steps apart
constexpr int kThreads = kRows * kLanes;           // 256
constexpr int kLd = kRows + 2;

// Two f32 as one 32-bit word of two f16/bf16 (a at the lower address), rounded to nearest even.
__device__ __forceinline__ unsigned pack2(__half, float a, float b) {
  __half2 v = __floats2half2_rn(a, b);
  return *reinterpret_cast<unsigned*>(&v);
}
__device__ __forceinline__ unsigned pack2(__nv_bfloat16, float a, float b) {
  __nv_bfloat162 v = __floats2bfloat162_rn(a, b);
  return *reinterpret_cast<unsigned*>(&v);
}

// dst[0..4) = y[0..4) in E, one 16-byte (f32) or 8-byte (f16/bf16) write; dst aligned to that.
template <class E>
__device__ __forceinline__ void store4(E* dst, const float (&y)[kPer]) {
  if constexpr (sizeof(E) == 4) {
    *reinterpret_cast<float4*>(dst) = make_float4(y[0], y[1], y[2], y[3]);
  } else {
    *reinterpret_cast<uint2*>(dst) = make_uint2(pack2(E{}, y[0], y[1]), pack2(E{}, y[2], y[3]));
  }
}

// How a block stages x: along channels (x's contiguous dim) with 16-byte or element loads, else along steps.
enum StageMode : int { kVectorRows = 0, kScalarRows = 1, kAlongSteps = 2 };

// Step 1 of the kernel: tile[j · kLd + r] = x[r · s_r + (t0 - KP + j) · s_t] for r < kRows, j < kCols (zeros
// before t = 0, past T and past `rows`), consecutive threads on x's contiguous dim. Branch-free (Note
// [branch-free staging] in ssm_scan_seq.cu): an element outside the tile loads x[b, c0, 0] instead, so all of a
// thread's loads are in flight before its first shared store. kVectorRows needs s_r == 1, x 16-byte aligned at
// every (b, c0, t) and a whole number of vectors per block row (the launcher checks: vector_rows_ok).
template <int KP, int kMode, class E>
__device__ __forceinline__ void stage(float* tile, const E* x, int64_t s_r, int64_t s_t, int rows, int64_t t0,
                                      int64_t T) {
  constexpr int kCols = KP + kSteps;
  static_assert(kRows * kCols % kThreads == 0 && kThreads % kRows == 0 && kRows % (kThreads / 32) == 0,
                "conv1d: the tile must split evenly over the threads");
  const int tid = (int)threadIdx.x;
  const E* x0 = x;  // x[b, c0, 0]: always valid, loaded in place of elements outside the tile
  if constexpr (kMode == kVectorRows) {
    // 16-byte loads of kVec consecutive channels: thread i of the tile's vectors is (q, j) = (i % kVecs, i / kVecs).
    constexpr int kVec = 16 / sizeof(E), kVecs = kRows / kVec, dj = kThreads / kVecs;
    constexpr int kIters = (kCols * kVecs + kThreads - 1) / kThreads;
    static_assert(kThreads % kVecs == 0, "conv1d: a thread's vectors must share their channels");
    const int q = tid % kVecs, j0 = tid / kVecs;
    const E* at = x + q * kVec + (t0 - KP + j0) * s_t;
    const int64_t step = dj * s_t;
    uint4 v[kIters];
#pragma unroll
    for (int k = 0; k < kIters; ++k) {
      const int64_t t = t0 - KP + j0 + k * dj;
      v[k] = *reinterpret_cast<const uint4*>(q * kVec < rows && j0 + k * dj < kCols && t >= 0 && t < T ? at : x0);
      at += step;
    }
#pragma unroll
    for (int k = 0; k < kIters; ++k) {
      const int64_t t = t0 - KP + j0 + k * dj;
      if (j0 + k * dj >= kCols) continue;
      const bool ok = q * kVec < rows && t >= 0 && t < T;
      const E* e = reinterpret_cast<const E*>(&v[k]);
      float* dst = tile + (j0 + k * dj) * kLd + q * kVec;
#pragma unroll
      for (int m = 0; m < kVec; ++m) dst[m] = ok ? to_f32(e[m]) : 0.0f;
    }
  } else if constexpr (kMode == kScalarRows) {
    // Thread i of the tile's elements is (r, j) = (i % kRows, i / kRows).
    constexpr int kIters = kRows * kCols / kThreads;
    E v[kIters];
    constexpr int dj = kThreads / kRows;
    const int r = tid % kRows, j0 = tid / kRows;
    const E* at = x + r * s_r + (t0 - KP + j0) * s_t;
    const int64_t step = dj * s_t;
#pragma unroll
    for (int k = 0; k < kIters; ++k) {
      const int64_t t = t0 - KP + j0 + k * dj;
      v[k] = *(r < rows && t >= 0 && t < T ? at : x0);
      at += step;
    }
#pragma unroll
    for (int k = 0; k < kIters; ++k) {
      const int64_t t = t0 - KP + j0 + k * dj;
      tile[(j0 + k * dj) * kLd + r] = r < rows && t >= 0 && t < T ? to_f32(v[k]) : 0.0f;
    }
  } else {
    // A warp stages whole rows r = w + kWarps·m, its lanes on j = lane + 32·q.
    constexpr int kWarps = kThreads / 32, kRowsPer = kRows / kWarps, kPasses = (kCols + 31) / 32;
    const int w = tid / 32, lane = tid % 32;
    E u[kRowsPer][kPasses];
    const E* row = x + w * s_r + (t0 - KP + lane) * s_t;
#pragma unroll
    for (int m = 0; m < kRowsPer; ++m) {
#pragma unroll
      for (int q = 0; q < kPasses; ++q) {
        const int j = lane + 32 * q;
        const int64_t t = t0 - KP + j;
        u[m][q] = *(w + kWarps * m < rows && j < kCols && t >= 0 && t < T ? row + 32 * q * s_t : x0);
      }
      row += kWarps * s_r;
    }
#pragma unroll
    for (int m = 0; m < kRowsPer; ++m)
#pragma unroll
      for (int q = 0; q < kPasses; ++q) {
        const int j = lane + 32 * q;
        const int64_t t = t0 - KP + j;
        const bool ok = w + kWarps * m < rows && t >= 0 && t < T;
        if (j < kCols) tile[j * kLd + w + kWarps * m] = ok ? to_f32(u[m][q]) : 0.0f;
      }
  }
}

// Resident blocks per SM the registers must allow: 8 (<= 32 registers) for the model's case, 16-byte staging
// with K <= 4; else 5 (<= 48), 4 for K > 8 (longer windows): the most that compile without spills. More
// resident blocks keep more loads in flight (the kernel is bound by memory latency).
constexpr int min_blocks(int kp, int mode) {
  return kp == 4 && mode == kVectorRows ? 8 : kp == 16 || mode == kAlongSteps ? 4 : 5;
}

// vector_store: T % 4 == 0 and out 16-byte aligned. x and out have element type E.
template <int KP, int kMode, class E>
__global__ void __launch_bounds__(kThreads, min_blocks(KP, kMode)) conv1d_kernel(ConvParams p, bool vector_store) {
  constexpr int kCols = KP + kSteps;
  __shared__ float tile[kCols * kLd];

  const int tid = (int)threadIdx.x;
  const int64_t b = blockIdx.z, c0 = (int64_t)blockIdx.y * kRows, t0 = (int64_t)blockIdx.x * kSteps;
  const E* x = static_cast<const E*>(p.x.data) + b * p.x.s0 + c0 * p.x.s1;
  const int rows = (int)min((int64_t)kRows, p.channels - c0);

  // Step 1: stage x[b, c0 + r, t0 - KP + j], reading along x's contiguous dim.
  stage<KP, kMode>(tile, x, p.x.s1, p.x.s2, rows, t0, p.T);
  __syncthreads();

  // Step 2: this thread's channel and lane; its taps w[c, :] right-aligned in KP slots.
  const int r = tid / kLanes, lane = tid % kLanes;
  const int64_t c = c0 + r;
  if (r >= rows) return;  // no barrier follows
  float wp[KP];
#pragma unroll
  for (int j = 0; j < KP; ++j) {
    int k = j - (KP - p.K);
    wp[j] = k >= 0 ? load(p.w.data, c * p.w.s0 + k * p.w.s1, p.w.type) : 0.0f;
  }
  const float bias = p.bias.data ? load(p.bias.data, c * p.bias.s0, p.bias.type) : 0.0f;
  E* out = static_cast<E*>(p.out) + (b * p.channels + c) * p.T;

#pragma unroll
  for (int g = 0; g < kGroups; ++g) {
    const int s = (g * kLanes + lane) * kPer;  // the run's first step, relative to t0
    if (t0 + s >= p.T) break;                  // later runs start later still
    // Step 3: the window win[m] = x at t = t0 + s - KP + m, m < KP + kPer.
    float win[KP + kPer];
#pragma unroll
    for (int m = 0; m < KP + kPer; ++m) win[m] = tile[(s + m) * kLd + r];

    // Step 4: y at t = t0 + s + i is Σ_j wp[j]·win[i + 1 + j] over the K real taps only (a padded zero tap
    // times an inf/NaN input would otherwise turn a finite output into NaN).
    float y[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      float acc = bias;
#pragma unroll
      for (int j = 0; j < KP; ++j)
        if (j >= KP - p.K) acc += wp[j] * win[i + 1 + j];
      // causal_conv1d_silu: the conv output rounded to E, then SiLU (the unary kernel's formula), as the two ops.
      y[i] = p.silu ? silu(to_f32(from_f32<E>(acc))) : acc;
    }

    // Step 5: store (out contiguous (B, C, T)); vector_store: t0 + s and T are multiples of 4, so the run
    // exists whole and its address is aligned.
    const int64_t t = t0 + s;
    if (vector_store) {
      store4<E>(out + t, y);
    } else {
#pragma unroll
      for (int i = 0; i < kPer; ++i)
        if (t + i < p.T) out[t + i] = from_f32<E>(y[i]);
    }
  }
}

// x's rows of channels can be read as 16-byte vectors: channel-contiguous, aligned at every (b, t) and c0, and
// no vector straddles the last channel.
template <class E>
bool vector_rows_ok(const ConvParams& p) {
  constexpr int64_t kVec = 16 / sizeof(E);
  return p.x.s1 == 1 && p.x.s0 % kVec == 0 && p.x.s2 % kVec == 0 && p.channels % kVec == 0 &&
         reinterpret_cast<uintptr_t>(p.x.data) % 16 == 0;
}

template <int KP, class E>
void launch_kp(const ConvParams& p, dim3 grid, bool vector_store, cudaStream_t stream) {
  if (p.x.s1 == 1 && p.x.s2 != 1) {
    if (vector_rows_ok<E>(p)) conv1d_kernel<KP, kVectorRows, E><<<grid, kThreads, 0, stream>>>(p, vector_store);
    else conv1d_kernel<KP, kScalarRows, E><<<grid, kThreads, 0, stream>>>(p, vector_store);
  } else {
    conv1d_kernel<KP, kAlongSteps, E><<<grid, kThreads, 0, stream>>>(p, vector_store);
  }
}

template <class E>
cudaError_t launch_typed(const ConvParams& p, cudaStream_t stream) {
  bool vector_store = p.T % kPer == 0 && reinterpret_cast<uintptr_t>(p.out) % 16 == 0;
  dim3 grid((unsigned)((p.T + kSteps - 1) / kSteps), (unsigned)((p.channels + kRows - 1) / kRows), (unsigned)p.batch);
  if (p.K <= 4) launch_kp<4, E>(p, grid, vector_store, stream);
  else if (p.K <= 8) launch_kp<8, E>(p, grid, vector_store, stream);
  else launch_kp<16, E>(p, grid, vector_store, stream);
  return cudaSuccess;
}
}  // namespace

cudaError_t launch_causal_conv1d(const ConvParams& p, cudaStream_t stream) {
  if (p.out_type != p.x.type) return cudaErrorInvalidValue;  // the op's output has x's dtype
  if (p.x.type == kF16) return launch_typed<__half>(p, stream);
  if (p.x.type == kBF16) return launch_typed<__nv_bfloat16>(p, stream);
  return launch_typed<float>(p, stream);
}

}  // namespace tessera::backends::cuda::ssm
