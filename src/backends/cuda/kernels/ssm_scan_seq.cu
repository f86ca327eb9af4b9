// selective_scan and selective_scan_state on CUDA for many (batch, channel) pairs: two threads per pair, each
// holding half of the N <= 16 states in registers, walking time in order over chunks staged in shared memory
// (Note [sequential scan]).
// The chunked and decode kernels, and the choice between the three, are in ssm_scan.cu.
#include "backends/cuda/kernels/ssm_common.cuh"

namespace tessera::backends::cuda::ssm {

namespace {

// ---------------------------------------------------------------------------------------------------------
// Note [sequential scan]
// A block owns kChannels consecutive channels of one batch row, kSplit = 2 adjacent lanes per channel; each lane
// keeps half of the channel's states h[0..N) and A[c, :]·log2(e) in registers, so a step is, per state, one ex2
// and two FMAs, plus one shuffle that adds the two halves of y_t; the steps of a pair are done in order, like the
// CPU reference. Splitting the states (rather than one thread holding all 16) halves each thread's dependent
// chain per step and its registers, so twice the threads run at a higher occupancy: mamba-130m's 32 × 1536
// channel pairs fill the GPU in about one wave instead of 1.45. Time runs in
// chunks of kSteps: the block stages u, delta (and z) of its channels as [step][channel] f32 tiles and the batch
// row's B (and C) as [step][state] tiles, each read along its source's contiguous dim (channels for the model's
// transposed delta and z, steps for u, states for B and C) so every layout loads coalesced; a thread then reads
// its own column (conflict-free: odd row stride) and B_t, C_t as float4 broadcasts. y goes back into the u tile
// and the block writes it out along T (y is (B, C, T) contiguous). The inputs share one element type E (the
// caller checks: sequential_scan_fits); A, D, delta_bias and initial_state are read at any dtype, once.
// exp(Δ·A) = ex2(Δ·(A·log2 e)) with the hardware approximation (2 ulp; flushes results below 2^-126 to zero,
// which only drops a state's contribution that is already below f32 resolution).
// ---------------------------------------------------------------------------------------------------------
constexpr int kChannels = 64;                    // channels per block
constexpr int kSplit = 2;                        // lanes per channel (Note [sequential scan])
constexpr int kThreads = kChannels * kSplit;     // threads per block
constexpr int kSteps = 32;                       // steps per staged chunk
constexpr int kMaxN = (int)kSeqMaxState;         // states per channel
constexpr int kHalfN = kMaxN / kSplit;           // states per thread
constexpr int kLd = kChannels + 1;               // row stride of the [step][channel] tiles (odd: no bank conflicts)
constexpr int kLdState = kMaxN + 4;              // row stride of the [step][state] tiles (float4-aligned)
constexpr int kMinBlocks = 6;                    // resident blocks per SM the registers must allow (<= 85 each)
constexpr int kParts = 4;                        // partial sums of y_t = Σ_n C_t[n]·h[n]
constexpr float kLog2e = 1.4426950408889634f;

// softplus(x) = max(x, 0) + log1p(exp(-|x|)) without branches: log1p(e) for e in [0, 1] as 2·atanh(s),
// s = e / (2 + e) <= 1/3, by its odd series to s^15 (truncation < 2e-9 relative). Within a few ulps of
// torch's softplus (threshold 20: x + log1p(e^-20) rounds to x there); NaN and ±inf as torch.
__device__ __forceinline__ float softplus_smooth(float x) {
  const float e = expf(-fabsf(x));
  const float s = __fdividef(e, 2.0f + e), s2 = s * s;
  float q = 1.0f / 15.0f;
  q = fmaf(q, s2, 1.0f / 13.0f);
  q = fmaf(q, s2, 1.0f / 11.0f);
  q = fmaf(q, s2, 1.0f / 9.0f);
  q = fmaf(q, s2, 1.0f / 7.0f);
  q = fmaf(q, s2, 1.0f / 5.0f);
  q = fmaf(q, s2, 1.0f / 3.0f);
  q = fmaf(q, s2, 1.0f);
  return fmaxf(x, 0.0f) + 2.0f * s * q;
}

// SiLU(z) = z / (1 + exp(-z)) with the fast division (2 ulp; 0 once exp(-z) > 2^126, where the quotient is
// below 1e-36 anyway); NaN and ±inf as the exact formula.
__device__ __forceinline__ float silu_fast(float z) { return __fdividef(z, 1.0f + expf(-z)); }

__device__ __forceinline__ float ex2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// dst[t · kLdDst + r] = src[r · s_r + t · s_t] as f32 for r < kRows, t < kSteps; zeros where r >= rows or
// t >= steps. Consecutive threads walk r when it is the source's contiguous dim (kRFast), else t; either way a
// thread's k-th element is (r0 + k·dr, t0 + k·dt). Note [branch-free staging]: an element outside the tile
// loads src[0] (always valid) instead of branching around its load, so a thread's loads are all in flight at
// once; a branch around a load and its conversion would wait out each load's latency in turn.
template <int kRows, int kLdDst, bool kRFast, class E>
__device__ __forceinline__ void stage_dir(float* dst, const E* src, int64_t s_r, int64_t s_t, int rows, int steps) {
  constexpr int kIters = kRows * kSteps / kThreads;
  static_assert(kThreads % kRows == 0 && kThreads % kSteps == 0, "stage: a k-th element must be affine in k");
  constexpr int dr = kRFast ? 0 : kThreads / kSteps, dt = kRFast ? kThreads / kRows : 0;
  const int tid = (int)threadIdx.x;
  const int r0 = kRFast ? tid % kRows : tid / kSteps, t0 = kRFast ? tid / kRows : tid % kSteps;
  const E* at = src + r0 * s_r + t0 * s_t;
  const int64_t step = kRFast ? dt * s_t : dr * s_r;
  E raw[kIters];
#pragma unroll
  for (int k = 0; k < kIters; ++k) {
    raw[k] = *(r0 + k * dr < rows && t0 + k * dt < steps ? at : src);
    at += step;
  }
#pragma unroll
  for (int k = 0; k < kIters; ++k)
    dst[(t0 + k * dt) * kLdDst + r0 + k * dr] = r0 + k * dr < rows && t0 + k * dt < steps ? to_f32(raw[k]) : 0.0f;
}

template <int kRows, int kLdDst, class E>
__device__ __forceinline__ void stage(float* dst, const E* src, int64_t s_r, int64_t s_t, int rows, int steps) {
  if (s_r == 1 && s_t != 1) stage_dir<kRows, kLdDst, true>(dst, src, s_r, s_t, rows, steps);
  else stage_dir<kRows, kLdDst, false>(dst, src, s_r, s_t, rows, steps);
}

// The kHalfN values of a [step][state] tile row from `row` (16-byte aligned).
__device__ __forceinline__ void read_states(const float* row, float (&v)[kHalfN]) {
#pragma unroll
  for (int j = 0; j < kHalfN; j += 4) {
    float4 q = *reinterpret_cast<const float4*>(row + j);
    v[j] = q.x;
    v[j + 1] = q.y;
    v[j + 2] = q.z;
    v[j + 3] = q.w;
  }
}

// kAllN: N == kMaxN (no per-state guard).
template <bool kY, bool kAllN, class E>
__global__ void __launch_bounds__(kThreads, kMinBlocks) scan_sequential(ScanParams p) {
  __shared__ __align__(16) float sB[kSteps * kLdState];
  __shared__ __align__(16) float sC[kY ? kSteps * kLdState : 4];
  __shared__ float sU[kSteps * kLd];  // u, then y (kY)
  __shared__ float sDt[kSteps * kLd];                 // delta, then Δ
  __shared__ float sZ[kY ? kSteps * kLd : 1];         // z, then SiLU(z) (or 1 without z)

  const int N = kAllN ? kMaxN : p.N;
  const int tid = (int)threadIdx.x;
  const int ci = tid / kSplit, half = tid % kSplit, n0 = half * kHalfN;  // channel in the block, its states
  const int64_t b = blockIdx.y, c0 = (int64_t)blockIdx.x * kChannels, c = c0 + ci;
  const int rows = (int)min((int64_t)kChannels, p.channels - c0);
  const bool active = c < p.channels;
  const bool gated = kY && p.z.data != nullptr;

  // Step 1: this channel's A·log2(e), initial state (or zeros), D and delta bias.
  float a2[kHalfN], h[kHalfN];
#pragma unroll
  for (int j = 0; j < kHalfN; ++j) {
    const int n = n0 + j;
    const bool own = active && (kAllN || n < N);
    a2[j] = own ? load(p.A.data, c * p.A.s0 + n * p.A.s1, p.A.type) * kLog2e : 0.0f;
    h[j] = own && p.h0.data ? load(p.h0.data, b * p.h0.s0 + c * p.h0.s1 + n * p.h0.s2, p.h0.type) : 0.0f;
  }
  const float d_skip = kY && active ? load(p.D.data, c * p.D.s0, p.D.type) : 0.0f;
  const float dt_bias = active && p.bias.data ? load(p.bias.data, c * p.bias.s0, p.bias.type) : 0.0f;

  const E* u = static_cast<const E*>(p.u.data) + b * p.u.s0 + c0 * p.u.s1;
  const E* delta = static_cast<const E*>(p.delta.data) + b * p.delta.s0 + c0 * p.delta.s1;
  const E* z = gated ? static_cast<const E*>(p.z.data) + b * p.z.s0 + c0 * p.z.s1 : nullptr;
  const E* Bm = static_cast<const E*>(p.Bm.data) + b * p.Bm.s0;
  const E* Cm = kY ? static_cast<const E*>(p.Cm.data) + b * p.Cm.s0 : nullptr;

  for (int64_t t0 = 0; t0 < p.T; t0 += kSteps) {
    const int steps = (int)min((int64_t)kSteps, p.T - t0);
    // Step 2: stage the chunk (after the previous chunk's y is written out).
    __syncthreads();
    stage<kChannels, kLd>(sU, u + t0 * p.u.s2, p.u.s1, p.u.s2, rows, steps);
    stage<kChannels, kLd>(sDt, delta + t0 * p.delta.s2, p.delta.s1, p.delta.s2, rows, steps);
    if (gated) stage<kChannels, kLd>(sZ, z + t0 * p.z.s2, p.z.s1, p.z.s2, rows, steps);
    stage<kMaxN, kLdState>(sB, Bm + t0 * p.Bm.s2, p.Bm.s1, p.Bm.s2, N, steps);
    if (kY) stage<kMaxN, kLdState>(sC, Cm + t0 * p.Cm.s2, p.Cm.s1, p.Cm.s2, N, steps);
    __syncthreads();

    // Step 3: Δ = softplus(delta + bias) and the gate SiLU(z) (1 without z) of this thread's column, every step
    // at once: branch-free and independent, they pipeline instead of lengthening each step of the recurrence.
    // The two lanes of a channel take alternate steps of its column; they are adjacent lanes of one warp, so a
    // warp barrier orders these writes before step 4 reads them.
    float* dcol = sDt + ci;
    if (p.softplus) {
#pragma unroll 4
      for (int t = half; t < kSteps; t += kSplit) dcol[t * kLd] = softplus_smooth(dcol[t * kLd] + dt_bias);
    } else {
#pragma unroll 4
      for (int t = half; t < kSteps; t += kSplit) dcol[t * kLd] += dt_bias;
    }
    if (kY) {
      float* zcol = sZ + ci;
      if (gated) {
#pragma unroll 4
        for (int t = half; t < kSteps; t += kSplit) zcol[t * kLd] = silu_fast(zcol[t * kLd]);
      } else {
#pragma unroll 4
        for (int t = half; t < kSteps; t += kSplit) zcol[t * kLd] = 1.0f;
      }
    }
    __syncwarp();

    // Step 4: the recurrence over the chunk's steps, y_t into the u tile; y sums the states in kParts partial
    // sums (shorter dependency chains).
#pragma unroll 2
    for (int t = 0; t < steps; ++t) {
      const float x = sU[t * kLd + ci], dt = sDt[t * kLd + ci];
      const float du = dt * x;
      float bn[kHalfN], cn[kHalfN];
      read_states(sB + t * kLdState + n0, bn);
      if (kY) read_states(sC + t * kLdState + n0, cn);
      float part[kParts] = {};
#pragma unroll
      for (int j = 0; j < kHalfN; ++j) {
        if (kAllN || n0 + j < N) {
          h[j] = fmaf(ex2_approx(dt * a2[j]), h[j], du * bn[j]);
          if (kY) part[j % kParts] = fmaf(cn[j], h[j], part[j % kParts]);
        }
      }
      if (kY) {
        // Both lanes read x (above) before either passes the shuffle, so lane 0 may overwrite it with y.
        float y = (part[0] + part[1]) + (part[2] + part[3]);
        y += __shfl_xor_sync(0xffffffffu, y, 1);
        if (half == 0) sU[t * kLd + ci] = fmaf(d_skip, x, y) * sZ[t * kLd + ci];
      }
    }

    // Step 5: the block writes its y tile, consecutive threads on consecutive steps (y is contiguous).
    if (kY) {
      __syncthreads();
      E* out = static_cast<E*>(p.out) + (b * p.channels + c0) * p.T + t0;
#pragma unroll 4
      for (int k = 0; k < kChannels * kSteps / kThreads; ++k) {
        const int i = tid + k * kThreads, r = i / kSteps, t = i % kSteps;
        if (r < rows && t < steps) out[r * p.T + t] = from_f32<E>(sU[t * kLd + r]);
      }
    }
  }

  // Step 6 (state only): the last h, (B, C, N) f32.
  if (!kY && active) {
    float* o = static_cast<float*>(p.out) + (b * p.channels + c) * N;
#pragma unroll
    for (int j = 0; j < kHalfN; ++j)
      if (kAllN || n0 + j < N) o[n0 + j] = h[j];
  }
}

template <class E>
cudaError_t launch_typed(const ScanParams& p, bool with_y, cudaStream_t stream) {
  dim3 grid((unsigned)((p.channels + kChannels - 1) / kChannels), (unsigned)p.batch);
  const bool all_n = p.N == kMaxN;
  if (with_y && all_n) scan_sequential<true, true, E><<<grid, kThreads, 0, stream>>>(p);
  else if (with_y) scan_sequential<true, false, E><<<grid, kThreads, 0, stream>>>(p);
  else if (all_n) scan_sequential<false, true, E><<<grid, kThreads, 0, stream>>>(p);
  else scan_sequential<false, false, E><<<grid, kThreads, 0, stream>>>(p);
  return cudaSuccess;
}
}  // namespace

bool sequential_scan_fits(const ScanParams& p, bool with_y) {
  const int e = p.u.type;
  bool same = p.delta.type == e && p.Bm.type == e;
  if (with_y) same = same && p.Cm.type == e && p.out_type == e && (p.z.data == nullptr || p.z.type == e);
  return same && p.N >= 1 && p.N <= kMaxN;
}

cudaError_t launch_scan_sequential(const ScanParams& p, bool with_y, cudaStream_t stream) {
  if (!sequential_scan_fits(p, with_y)) return cudaErrorInvalidValue;
  if (p.u.type == kF16) return launch_typed<__half>(p, with_y, stream);
  if (p.u.type == kBF16) return launch_typed<__nv_bfloat16>(p, with_y, stream);
  return launch_typed<float>(p, with_y, stream);
}

}  // namespace tessera::backends::cuda::ssm
