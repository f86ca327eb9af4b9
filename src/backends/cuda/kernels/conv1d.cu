// causal_conv1d on CUDA: the depthwise causal convolution of Mamba's mixer, y[b,c,t] = bias[c] +
// Σ_k w[c,k]·x[b,c,t-K+1+k], computed in f32 for f32/f16/bf16 inputs of any strides.
#include "backends/cuda/kernels/ssm_common.cuh"

namespace tessera::backends::cuda::ssm {

namespace {

// Note [conv1d tiling]
// A block owns kRows channels × kSteps steps of one batch row. It stages x for those steps plus a left halo of
// KP steps (KP = K rounded up to 4, 8 or 16) into shared memory, reading along whichever of x's dims is
// contiguous (T for a contiguous x; C for the model's transposed view of in_proj's output), so both layouts
// load coalesced. Each thread then computes 4 consecutive steps of one channel from a register window of
// KP + 4 inputs (float4 reads: conflict-free), and stores them as one 16/8-byte write when T allows.
constexpr int kRows = (int)kConvRows;        // channels per block
constexpr int kSteps = 64;                   // output steps per block
constexpr int kPer = 4;                      // consecutive outputs per thread
constexpr int kThreads = kRows * kSteps / kPer;  // 256

// vector_store: T % 4 == 0 and out 16-byte aligned.
template <int KP>
__global__ void __launch_bounds__(kThreads) conv1d_kernel(ConvParams p, bool vector_store) {
  // Column j of a row holds x at t = t0 - KP + j; the row stride is ≡ 4 (mod 8) floats so that the transposed
  // staging writes (consecutive threads on consecutive rows) spread over 8 banks.
  constexpr int kCols = KP + kSteps;
  constexpr int kStride = kCols % 8 == 0 ? kCols + 4 : kCols;
  __shared__ __align__(16) float tile[kRows * kStride];

  const int64_t b = blockIdx.z, c0 = (int64_t)blockIdx.y * kRows, t0 = (int64_t)blockIdx.x * kSteps;
  const int64_t xbase = b * p.x.s0 + c0 * p.x.s1;

  // Step 1: stage x[b, c0 + r, t0 - KP + j] (zeros before t = 0, past T and past the last channel).
  const bool t_fast = p.x.s2 == 1 || p.x.s1 != 1;
  for (int i = threadIdx.x; i < kRows * kCols; i += kThreads) {
    int r, j;
    if (t_fast) {
      r = i / kCols;
      j = i % kCols;
    } else {
      r = i % kRows;
      j = i / kRows;
    }
    int64_t t = t0 - KP + j;
    float v = 0.0f;
    if (c0 + r < p.channels && t >= 0 && t < p.T) v = load(p.x.data, xbase + r * p.x.s1 + t * p.x.s2, p.x.type);
    tile[r * kStride + j] = v;
  }
  __syncthreads();

  // Step 2: this thread's channel and 4 steps; its taps w[c, :] right-aligned in KP slots.
  const int r = threadIdx.x / (kSteps / kPer), q = threadIdx.x % (kSteps / kPer);
  const int64_t c = c0 + r;
  if (c >= p.channels) return;  // no barrier follows
  float wp[KP];
#pragma unroll
  for (int j = 0; j < KP; ++j) {
    int k = j - (KP - p.K);
    wp[j] = k >= 0 ? load(p.w.data, c * p.w.s0 + k * p.w.s1, p.w.type) : 0.0f;
  }
  const float bias = p.bias.data ? load(p.bias.data, c * p.bias.s0, p.bias.type) : 0.0f;

  // Step 3: the window win[m] = x at t = t0 - KP + 4q + m, m < KP + 4.
  float win[KP + kPer];
  const float* row = tile + r * kStride + q * kPer;
#pragma unroll
  for (int m = 0; m < KP + kPer; m += 4) {
    float4 v = *reinterpret_cast<const float4*>(row + m);
    win[m] = v.x;
    win[m + 1] = v.y;
    win[m + 2] = v.z;
    win[m + 3] = v.w;
  }

  // Step 4: y at t = t0 + 4q + i is Σ_j wp[j]·win[i + 1 + j] over the K real taps only (a padded zero tap times
  // an inf/NaN input would otherwise turn a finite output into NaN).
  float y[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    float acc = bias;
#pragma unroll
    for (int j = 0; j < KP; ++j)
      if (j >= KP - p.K) acc += wp[j] * win[i + 1 + j];
    y[i] = acc;
  }

  // Step 5: store (out contiguous (B, C, T)).
  const int64_t t = t0 + q * kPer;
  if (t >= p.T) return;
  const int64_t o = (b * p.channels + c) * p.T + t;
  if (vector_store) {  // t and T are multiples of 4: all 4 steps exist and the address is aligned
    if (p.out_type == kF32) {
      *reinterpret_cast<float4*>(static_cast<float*>(p.out) + o) = make_float4(y[0], y[1], y[2], y[3]);
    } else if (p.out_type == kF16) {
      __half2 lo = __floats2half2_rn(y[0], y[1]), hi = __floats2half2_rn(y[2], y[3]);
      uint2 v{*reinterpret_cast<unsigned*>(&lo), *reinterpret_cast<unsigned*>(&hi)};
      *reinterpret_cast<uint2*>(static_cast<__half*>(p.out) + o) = v;
    } else {
      __nv_bfloat162 lo = __floats2bfloat162_rn(y[0], y[1]), hi = __floats2bfloat162_rn(y[2], y[3]);
      uint2 v{*reinterpret_cast<unsigned*>(&lo), *reinterpret_cast<unsigned*>(&hi)};
      *reinterpret_cast<uint2*>(static_cast<__nv_bfloat16*>(p.out) + o) = v;
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < kPer; ++i)
    if (t + i < p.T) store(p.out, o + i, p.out_type, y[i]);
}
}  // namespace

cudaError_t launch_causal_conv1d(const ConvParams& p, cudaStream_t stream) {
  bool vector_store = p.T % kPer == 0 && reinterpret_cast<uintptr_t>(p.out) % 16 == 0;
  dim3 grid((unsigned)((p.T + kSteps - 1) / kSteps), (unsigned)((p.channels + kRows - 1) / kRows), (unsigned)p.batch);
  if (p.K <= 4) conv1d_kernel<4><<<grid, kThreads, 0, stream>>>(p, vector_store);
  else if (p.K <= 8) conv1d_kernel<8><<<grid, kThreads, 0, stream>>>(p, vector_store);
  else conv1d_kernel<16><<<grid, kThreads, 0, stream>>>(p, vector_store);
  return cudaSuccess;
}

}  // namespace tessera::backends::cuda::ssm
