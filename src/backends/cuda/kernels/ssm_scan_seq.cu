// selective_scan and selective_scan_state on CUDA for many (batch, channel) pairs: two threads per pair, each
// holding half of the N <= 16 states in registers, walking time in order over chunks staged in shared memory
// (Note [sequential scan]).
// The chunked and decode kernels, and the choice between the three, are in ssm_scan.cu.
#include "backends/cuda/kernels/ssm_common.cuh"

#include <cstdint>
#include <cstring>

namespace tessera::backends::cuda::ssm {

namespace {

// ---------------------------------------------------------------------------------------------------------
// Note [sequential scan]
// A block owns kChannels consecutive channels of one batch row, kSplit = 2 adjacent lanes per channel; each lane
// keeps half of the channel's states h[0..N) and A[c, :]·log2(e) in registers, so a step is, per state, one ex2
// and two FMAs (+ the FMULs Δ·A and Δu·B), plus one shuffle that adds the two halves of y_t; the steps of a pair
// are done in order, like the CPU reference. Splitting the states (rather than one thread holding all 16) halves
// each thread's registers, so twice the threads run: mamba-130m's 32 × 1536 channel pairs fill the GPU in about
// one wave (23.3 warps per SM of the 24 that 6 resident blocks give) instead of 1.45.
// Time runs in chunks of kSteps. Per chunk the block stages, as f32, each input in the tile layout its compute
// reads, which is also the layout the model's activations arrive in (Note [mamba layouts]):
//   u      [channel][step] (kLdU)   u is (B, C, T), steps contiguous; a lane reads x for kGroup steps as a float4
//   delta  [step][channel] (kLdC)   a transposed (B, T, C): channels contiguous; holds Δ = softplus(delta + bias)
//   z      [step][channel] (kLdC)   a transposed half of (B, T, 2C); holds the gate SiLU(z) (1 without z)
//   B, C   [step][state]   (kLdN)   transposed slices of (B, T, R + 2N): states contiguous; float4 broadcasts
// Note [sequential staging]: where a source's contiguous dim is its tile's row and every row starts 16-byte
// aligned (checked once on the host: vector_paths), a thread loads 8 elements with one 16-byte load (two for f32)
// and stores them as two float4s, applying softplus / SiLU on the way in registers (no separate pass over the
// tile); when the whole chunk qualifies (the model's layouts, full chunk, full block) every load of the chunk is
// issued before the first store, so their latencies overlap. Anything else (other strides, misaligned views, N <
// 16, the last partial chunk or block) takes the scalar path per tile: one element per load, branch-free (Note
// [branch-free staging]), consecutive threads along the source's contiguous dim.
// The recurrence walks kGroup steps at a time: one float4 of x, then lane 0 of the pair writes the group's y_t
// as one float4 over those x (both lanes read x before the shuffles that precede the write), and the block
// writes the y tile out along T as 16-byte stores. The inputs share one element type E (the caller checks:
// sequential_scan_fits); A, D, delta_bias and initial_state are read at any dtype, once.
// exp(Δ·A) = ex2(Δ·(A·log2 e)) with the hardware approximation (2 ulp; flushes results below 2^-126 to zero,
// which only drops a state's contribution that is already below f32 resolution).
// Cost (SASS of the f16 kernel, sm_90a, per warp and step of 16 channels; mamba-130m at 32 × 256): the
// recurrence 55 instructions (8 states × 5, 4 float4 loads of B and C, Δ, du, the y sum and shuffle, D·x, the
// gate, a quarter of the x and y float4s), staging 27.5 (of which softplus and SiLU are ~19), write-out and
// chunk set-up ~5: ~88 (ncu: 69.4 M warp instructions a call = 88.2), against 125 when every element was staged
// alone and Δ, SiLU(z) took a pass of their own. 10 MUFU per warp-step (8 ex2, softplus' and SiLU's exp and
// reciprocal) keep the MUFU pipe (16/clk/SM) about as busy as the issue slots (ncu: 64% and 71% of peak).
// Measured on an H200 (SsmCuda.DISABLED_ScanKernelCrossover, 2026-12-01): 0.104 ms a call, was 0.188.
// ---------------------------------------------------------------------------------------------------------
constexpr int kChannels = 64;                    // channels per block
constexpr int kSplit = 2;                        // lanes per channel (Note [sequential scan])
constexpr int kThreads = kChannels * kSplit;     // threads per block
constexpr int kSteps = 32;                       // steps per staged chunk
constexpr int kGroup = 4;                        // steps per float4 of x and of y
constexpr int kMaxN = (int)kSeqMaxState;         // states per channel
constexpr int kHalfN = kMaxN / kSplit;           // states per thread
constexpr int kVec = 8;                          // elements per vector load (16 bytes of f16 / bf16)
// Row strides of the tiles, all multiples of 4 (float4 rows). kLdU: the 4 channels of a quarter warp's float4
// reads land on distinct banks. kLdC: the scalar path's column writes are 4-way conflicted at worst.
constexpr int kLdU = kSteps + 4;                 // [channel][step] u, then y
constexpr int kLdC = kChannels + 4;              // [step][channel] Δ and the gate
constexpr int kLdN = kMaxN + 4;                  // [step][state] B and C
constexpr int kMinBlocks = 6;                    // resident blocks per SM the registers must allow (<= 80 each)
constexpr float kLog2e = 1.4426950408889634f;

static_assert(kSteps % kVec == 0 && kChannels % kVec == 0 && kMaxN % kVec == 0 && kSteps % kGroup == 0);
static_assert((kThreads & (kThreads - 1)) == 0, "staging rotates thread ids modulo kThreads");

// What staging applies to an element on its way into a tile: nothing, delta + bias (kDelta: softplus too when
// the call asks; the scalar path resolves that to kSoftplus once per tile, not per element), SiLU.
enum StageOp : int { kCopy, kDelta, kSoftplus, kGate };

// Which sources may be staged (and y written) with 16-byte vectors (Note [sequential staging]); host-checked.
enum VecPath : unsigned { kVecU = 1, kVecDelta = 2, kVecZ = 4, kVecB = 8, kVecC = 16, kVecOut = 32 };

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

// threadIdx.x and blockIdx.x / .y read anew where called: what the chunk loop derives from them (staging
// addresses, tile pointers) is recomputed per chunk (a few integer ops) instead of being hoisted out of the loop
// and kept live across the recurrence, where it would spill under the register limit of kMinBlocks.
__device__ __forceinline__ int fresh_tid() {
  int v;
  asm volatile("mov.u32 %0, %%tid.x;" : "=r"(v));
  return v;
}
__device__ __forceinline__ int fresh_ctaid_x() {
  int v;
  asm volatile("mov.u32 %0, %%ctaid.x;" : "=r"(v));
  return v;
}
__device__ __forceinline__ int fresh_ctaid_y() {
  int v;
  asm volatile("mov.u32 %0, %%ctaid.y;" : "=r"(v));
  return v;
}

__device__ __forceinline__ float ex2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Δ = delta + bias or softplus(delta + bias), SiLU(z), or the value itself.
template <int kOp>
__device__ __forceinline__ float apply(float v, float bias) {
  if constexpr (kOp == kDelta) return v + bias;
  else if constexpr (kOp == kSoftplus) return softplus_smooth(v + bias);
  else if constexpr (kOp == kGate) return silu_fast(v);
  else return v;
}

// kVec consecutive elements as raw bits: one 16-byte load for f16 / bf16, two for f32.
template <class E>
struct Vec8 {
  uint4 q[sizeof(E) * kVec / 16];
};

template <class E>
__device__ __forceinline__ Vec8<E> load8(const E* p) {
  Vec8<E> v;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(v.q) / 16); ++i) v.q[i] = reinterpret_cast<const uint4*>(p)[i];
  return v;
}

__device__ __forceinline__ void unpack8(const Vec8<float>& v, float (&f)[kVec]) { memcpy(f, v.q, sizeof(f)); }

__device__ __forceinline__ void unpack8(const Vec8<__half>& v, float (&f)[kVec]) {
  __half2 h[kVec / 2];
  memcpy(h, v.q, sizeof(h));
#pragma unroll
  for (int i = 0; i < kVec / 2; ++i) {
    const float2 x = __half22float2(h[i]);
    f[2 * i] = x.x;
    f[2 * i + 1] = x.y;
  }
}

__device__ __forceinline__ void unpack8(const Vec8<__nv_bfloat16>& v, float (&f)[kVec]) {
  __nv_bfloat162 h[kVec / 2];
  memcpy(h, v.q, sizeof(h));
#pragma unroll
  for (int i = 0; i < kVec / 2; ++i) {
    const float2 x = __bfloat1622float2(h[i]);
    f[2 * i] = x.x;
    f[2 * i + 1] = x.y;
  }
}

// p[0..8) = f, p 16-byte aligned (the shared tiles).
__device__ __forceinline__ void store8(float* p, const float (&f)[kVec]) {
  reinterpret_cast<float4*>(p)[0] = make_float4(f[0], f[1], f[2], f[3]);
  reinterpret_cast<float4*>(p)[1] = make_float4(f[4], f[5], f[6], f[7]);
}

// Two f32 rounded to nearest even into one f16x2 / bf16x2 word, lo at the lower address (one cvt, sm_80+).
__device__ __forceinline__ unsigned pack2(__half*, float lo, float hi) {
  unsigned r;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
__device__ __forceinline__ unsigned pack2(__nv_bfloat16*, float lo, float hi) {
  unsigned r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

// A 16-byte global store, in PTX: nvcc splits a uint4 / float4 store to this kernel's y into four 4-byte ones.
__device__ __forceinline__ void st_global16(void* p, unsigned a, unsigned b, unsigned c, unsigned d) {
  asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};" ::"l"(p), "r"(a), "r"(b), "r"(c), "r"(d));
}

// p[0..8) = f rounded to nearest even (as from_f32); p in global memory, 16-byte aligned.
template <class E>
__device__ __forceinline__ void store8_global(E* p, const float (&f)[kVec]) {
  st_global16(p, pack2(p, f[0], f[1]), pack2(p, f[2], f[3]), pack2(p, f[4], f[5]), pack2(p, f[6], f[7]));
}
__device__ __forceinline__ void store8_global(float* p, const float (&f)[kVec]) {
  st_global16(p, __float_as_uint(f[0]), __float_as_uint(f[1]), __float_as_uint(f[2]), __float_as_uint(f[3]));
  st_global16(p + 4, __float_as_uint(f[4]), __float_as_uint(f[5]), __float_as_uint(f[6]), __float_as_uint(f[7]));
}

// Vector staging of a kLines × kWidth tile whose source rows are contiguous (Note [sequential staging]):
// dst[line · kLd + w] = op(src[line · s_line + w]). Vector i (of kLines · kWidth / kVec) is line i / kPer,
// elements kVec · (i % kPer) + [0, kVec); thread `id` (a rotation of threadIdx.x, so that small tiles spread
// over different threads) owns vectors id + k · kThreads. load_vec issues the loads, store_vec converts and stores.
template <int kLines, int kWidth>
struct VecTile {
  static constexpr int kPer = kWidth / kVec;                       // vectors per line
  static constexpr int kVecs = kLines * kPer;
  static constexpr int kIters = (kVecs + kThreads - 1) / kThreads;  // vectors per thread
  static_assert(kThreads % kPer == 0, "a thread's k-th vector must be affine in k");
};

template <int kLines, int kWidth, class E>
__device__ __forceinline__ void load_vec(Vec8<E> (&raw)[VecTile<kLines, kWidth>::kIters], const E* src, int64_t s_line,
                                         int id) {
  using V = VecTile<kLines, kWidth>;
  const E* at = src + (id / V::kPer) * s_line + kVec * (id % V::kPer);
  const int64_t step = (int64_t)(kThreads / V::kPer) * s_line;
#pragma unroll
  for (int k = 0; k < V::kIters; ++k)
    if (V::kVecs % kThreads == 0 || id + k * kThreads < V::kVecs) raw[k] = load8(at + k * step);
}

template <int kLines, int kWidth, int kLd, int kOp, class E>
__device__ __forceinline__ void store_vec(float* dst, const Vec8<E> (&raw)[VecTile<kLines, kWidth>::kIters], int id,
                                          const float* sbias, bool softplus) {
  using V = VecTile<kLines, kWidth>;
#pragma unroll
  for (int k = 0; k < V::kIters; ++k) {
    const int i = id + k * kThreads;
    if (V::kVecs % kThreads != 0 && i >= V::kVecs) continue;
    const int line = i / V::kPer, w = kVec * (i % V::kPer);
    float f[kVec];
    unpack8(raw[k], f);
    if constexpr (kOp == kDelta) {  // w is the channel: the bias of channels w .. w + 7
      const float4 b0 = *reinterpret_cast<const float4*>(sbias + w), b1 = *reinterpret_cast<const float4*>(sbias + w + 4);
      const float b[kVec] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
      if (softplus) {  // one uniform branch for the vector, so its 8 softplus interleave
#pragma unroll
        for (int j = 0; j < kVec; ++j) f[j] = softplus_smooth(f[j] + b[j]);
      } else {
#pragma unroll
        for (int j = 0; j < kVec; ++j) f[j] += b[j];
      }
    } else {
#pragma unroll
      for (int j = 0; j < kVec; ++j) f[j] = apply<kOp>(f[j], 0.0f);
    }
    store8(dst + line * kLd + w, f);
  }
}

template <int kLines, int kWidth, int kLd, int kOp, class E>
__device__ __forceinline__ void stage_vec(float* dst, const E* src, int64_t s_line, int id, const float* sbias,
                                          bool softplus) {
  Vec8<E> raw[VecTile<kLines, kWidth>::kIters];
  load_vec<kLines, kWidth>(raw, src, s_line, id);
  store_vec<kLines, kWidth, kLd, kOp>(dst, raw, id, sbias, softplus);
}

// Scalar staging: dst[line · kLd + w] = op(src[line · s_line + w · s_w]) for line < lines, w < width, zeros
// elsewhere in the kLines × kWidth tile. Consecutive threads walk w when kWFast, else line; either way a thread's
// k-th element is (l0 + k·dl, w0 + k·dw). Note [branch-free staging]: an element outside the tile loads src[0]
// (always valid) instead of branching around its load, so a thread's loads are all in flight at once; a branch
// around a load and its conversion would wait out each load's latency in turn.
template <int kLines, int kWidth, int kLd, int kOp, bool kWFast, class E>
__device__ __forceinline__ void stage_dir(float* dst, const E* src, int64_t s_line, int64_t s_w, int lines, int width,
                                          int tid, const float* sbias) {
  constexpr int kIters = kLines * kWidth / kThreads;
  static_assert(kThreads % kLines == 0 && kThreads % kWidth == 0, "stage: a k-th element must be affine in k");
  constexpr int dl = kWFast ? kThreads / kWidth : 0, dw = kWFast ? 0 : kThreads / kLines;
  const int l0 = kWFast ? tid / kWidth : tid % kLines, w0 = kWFast ? tid % kWidth : tid / kLines;
  const E* at = src + l0 * s_line + w0 * s_w;
  const int64_t step = kWFast ? dl * s_line : dw * s_w;
  E raw[kIters];
#pragma unroll
  for (int k = 0; k < kIters; ++k) {
    raw[k] = *(l0 + k * dl < lines && w0 + k * dw < width ? at : src);
    at += step;
  }
#pragma unroll
  for (int k = 0; k < kIters; ++k) {
    const int l = l0 + k * dl, w = w0 + k * dw;
    dst[l * kLd + w] = l < lines && w < width ? apply<kOp>(to_f32(raw[k]), sbias[w]) : 0.0f;
  }
}

template <int kLines, int kWidth, int kLd, int kOp, class E>
__device__ __forceinline__ void stage(float* dst, const E* src, int64_t s_line, int64_t s_w, int lines, int width,
                                      int tid, const float* sbias, bool softplus) {
  if (kOp == kDelta && softplus) {
    stage<kLines, kWidth, kLd, kSoftplus>(dst, src, s_line, s_w, lines, width, tid, sbias, false);
    return;
  }
  if (s_line == 1 && s_w != 1) stage_dir<kLines, kWidth, kLd, kOp, false>(dst, src, s_line, s_w, lines, width, tid, sbias);
  else stage_dir<kLines, kWidth, kLd, kOp, true>(dst, src, s_line, s_w, lines, width, tid, sbias);
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

// The tiles of one block (Note [sequential scan]).
struct Tiles {
  float u[kChannels * kLdU];    // [channel][step] u, then y (kY)
  float dt[kSteps * kLdC];      // [step][channel] Δ
  float z[kSteps * kLdC];       // [step][channel] SiLU(z), or 1 without z (kY)
  float B[kSteps * kLdN];       // [step][state]
  float C[kSteps * kLdN];       // [step][state] (kY)
  float bias[kChannels];        // delta_bias of the block's channels (0 without)
};

// One step of this lane's states at tile step t; returns the channel's y_t (kY, both lanes) before the gate's
// product with D·x: y_t = (Σ_n C_t[n]·h[n] + D·x) · gate_t.
template <bool kY, bool kAllN>
__device__ __forceinline__ float scan_step(const Tiles& s, int t, int ci, int n0, int N, float x, float d_skip,
                                           float (&h)[kHalfN], const float (&a2)[kHalfN]) {
  const float dt = s.dt[t * kLdC + ci], du = dt * x;
  float bn[kHalfN], cn[kHalfN];
  read_states(s.B + t * kLdN + n0, bn);
  if (kY) read_states(s.C + t * kLdN + n0, cn);
  float part[2] = {0.0f, 0.0f};  // two partial sums: shorter dependency chains
#pragma unroll
  for (int j = 0; j < kHalfN; ++j) {
    if (kAllN || n0 + j < N) {
      h[j] = fmaf(ex2_approx(dt * a2[j]), h[j], du * bn[j]);
      if (kY) part[j % 2] = fmaf(cn[j], h[j], part[j % 2]);
    }
  }
  if (!kY) return 0.0f;
  float y = part[0] + part[1];
  y += __shfl_xor_sync(0xffffffffu, y, 1);
  return fmaf(d_skip, x, y) * s.z[t * kLdC + ci];
}

// kAllN: N == kMaxN (no per-state guard). vec: VecPath bits.
template <bool kY, bool kAllN, class E>
__global__ void __launch_bounds__(kThreads, kMinBlocks) scan_sequential(ScanParams p, unsigned vec) {
  __shared__ __align__(16) Tiles s;

  const int N = kAllN ? kMaxN : p.N;
  const int tid = (int)threadIdx.x;
  const int ci = tid / kSplit, half = tid % kSplit, n0 = half * kHalfN;  // channel in the block, its states
  const int64_t b = blockIdx.y, c0 = (int64_t)blockIdx.x * kChannels, c = c0 + ci;
  const int rows = (int)min((int64_t)kChannels, p.channels - c0);
  const bool active = c < p.channels;
  const bool gated = kY && p.z.data != nullptr;
  // Vector staging of a whole chunk at once needs every staged source vectorisable.
  const unsigned all_vec = kVecU | kVecDelta | kVecB | (gated ? kVecZ : 0u) | (kY ? kVecC : 0u);

  // Step 1: this channel's A·log2(e), initial state (or zeros), D; the block's delta bias; the gate 1 without z.
  float a2[kHalfN], h[kHalfN];
#pragma unroll
  for (int j = 0; j < kHalfN; ++j) {
    const int n = n0 + j;
    const bool own = active && (kAllN || n < N);
    a2[j] = own ? load(p.A.data, c * p.A.s0 + n * p.A.s1, p.A.type) * kLog2e : 0.0f;
    h[j] = own && p.h0.data ? load(p.h0.data, b * p.h0.s0 + c * p.h0.s1 + n * p.h0.s2, p.h0.type) : 0.0f;
  }
  const float d_skip = kY && active ? load(p.D.data, c * p.D.s0, p.D.type) : 0.0f;
  if (tid < kChannels)
    s.bias[tid] = tid < rows && p.bias.data ? load(p.bias.data, (c0 + tid) * p.bias.s0, p.bias.type) : 0.0f;
  if (kY && !gated)
    for (int i = tid; i < kSteps * kLdC; i += kThreads) s.z[i] = 1.0f;

  for (int64_t t0 = 0; t0 < p.T; t0 += kSteps) {
    const int steps = (int)min((int64_t)kSteps, p.T - t0);
    const bool full = steps == kSteps && rows == kChannels;
    // Step 2: stage the chunk (after the previous chunk's y is written out), Note [sequential staging]. The tile
    // origins (b, c0, t0) and thread ids are re-derived here (fresh_tid).
    const int id = fresh_tid(), rot = (id + kThreads / 2) & (kThreads - 1);  // rot: C's vectors on threads B leaves idle
    const int64_t bb = fresh_ctaid_y(), cc = (int64_t)fresh_ctaid_x() * kChannels;
    const E* ut = static_cast<const E*>(p.u.data) + bb * p.u.s0 + cc * p.u.s1 + t0 * p.u.s2;
    const E* dt = static_cast<const E*>(p.delta.data) + bb * p.delta.s0 + cc * p.delta.s1 + t0 * p.delta.s2;
    const E* zt = gated ? static_cast<const E*>(p.z.data) + bb * p.z.s0 + cc * p.z.s1 + t0 * p.z.s2 : nullptr;
    const E* Bt = static_cast<const E*>(p.Bm.data) + bb * p.Bm.s0 + t0 * p.Bm.s2;
    const E* Ct = kY ? static_cast<const E*>(p.Cm.data) + bb * p.Cm.s0 + t0 * p.Cm.s2 : nullptr;
    __syncthreads();
    // All of a chunk's vector loads in flight at once: 32 registers of f16 / bf16 (f32 would need 64 and spill,
    // so it stages tile by tile); B and C vectorise only with N == kMaxN.
    if (kAllN && sizeof(E) == 2 && full && (vec & all_vec) == all_vec) {
      Vec8<E> ru[VecTile<kChannels, kSteps>::kIters], rd[VecTile<kSteps, kChannels>::kIters];
      Vec8<E> rz[VecTile<kSteps, kChannels>::kIters], rb[VecTile<kSteps, kMaxN>::kIters];
      Vec8<E> rc[VecTile<kSteps, kMaxN>::kIters];
      load_vec<kChannels, kSteps>(ru, ut, p.u.s1, id);
      load_vec<kSteps, kChannels>(rd, dt, p.delta.s2, id);
      if (gated) load_vec<kSteps, kChannels>(rz, zt, p.z.s2, id);
      load_vec<kSteps, kMaxN>(rb, Bt, p.Bm.s2, id);
      if (kY) load_vec<kSteps, kMaxN>(rc, Ct, p.Cm.s2, rot);
      store_vec<kChannels, kSteps, kLdU, kCopy>(s.u, ru, id, s.bias, p.softplus);
      store_vec<kSteps, kChannels, kLdC, kDelta>(s.dt, rd, id, s.bias, p.softplus);
      if (gated) store_vec<kSteps, kChannels, kLdC, kGate>(s.z, rz, id, s.bias, p.softplus);
      store_vec<kSteps, kMaxN, kLdN, kCopy>(s.B, rb, id, s.bias, p.softplus);
      if (kY) store_vec<kSteps, kMaxN, kLdN, kCopy>(s.C, rc, rot, s.bias, p.softplus);
    } else {
      if (full && (vec & kVecU)) stage_vec<kChannels, kSteps, kLdU, kCopy>(s.u, ut, p.u.s1, id, s.bias, p.softplus);
      else stage<kChannels, kSteps, kLdU, kCopy>(s.u, ut, p.u.s1, p.u.s2, rows, steps, id, s.bias, p.softplus);
      if (full && (vec & kVecDelta))
        stage_vec<kSteps, kChannels, kLdC, kDelta>(s.dt, dt, p.delta.s2, id, s.bias, p.softplus);
      else stage<kSteps, kChannels, kLdC, kDelta>(s.dt, dt, p.delta.s2, p.delta.s1, steps, rows, id, s.bias, p.softplus);
      if (gated) {
        if (full && (vec & kVecZ)) stage_vec<kSteps, kChannels, kLdC, kGate>(s.z, zt, p.z.s2, id, s.bias, p.softplus);
        else stage<kSteps, kChannels, kLdC, kGate>(s.z, zt, p.z.s2, p.z.s1, steps, rows, id, s.bias, p.softplus);
      }
      if (steps == kSteps && (vec & kVecB)) stage_vec<kSteps, kMaxN, kLdN, kCopy>(s.B, Bt, p.Bm.s2, id, s.bias, p.softplus);
      else stage<kSteps, kMaxN, kLdN, kCopy>(s.B, Bt, p.Bm.s2, p.Bm.s1, steps, N, id, s.bias, p.softplus);
      if (kY) {
        if (steps == kSteps && (vec & kVecC)) stage_vec<kSteps, kMaxN, kLdN, kCopy>(s.C, Ct, p.Cm.s2, rot, s.bias, p.softplus);
        else stage<kSteps, kMaxN, kLdN, kCopy>(s.C, Ct, p.Cm.s2, p.Cm.s1, steps, N, id, s.bias, p.softplus);
      }
    }
    __syncthreads();

    // Step 3: the recurrence over the chunk's steps, kGroup at a time: x as one float4, y_t (lane 0 of the pair)
    // into the u tile over the group's x as one float4, then the steps left over at the end of the last chunk
    // (with N < kMaxN every step alone: the per-state guards leave no registers for a group).
    float* ucol = s.u + ci * kLdU;
    int t = 0;
#pragma unroll 1
    for (; kAllN && t + kGroup <= steps; t += kGroup) {
      const float4 x4 = *reinterpret_cast<const float4*>(ucol + t);
      const float x[kGroup] = {x4.x, x4.y, x4.z, x4.w};
      float y[kGroup];
#pragma unroll
      for (int k = 0; k < kGroup; ++k) y[k] = scan_step<kY, kAllN>(s, t + k, ci, n0, N, x[k], d_skip, h, a2);
      if (kY && half == 0) *reinterpret_cast<float4*>(ucol + t) = make_float4(y[0], y[1], y[2], y[3]);
    }
#pragma unroll 1
    for (; t < steps; ++t) {
      const float y = scan_step<kY, kAllN>(s, t, ci, n0, N, ucol[t], d_skip, h, a2);
      if (kY && half == 0) ucol[t] = y;
    }

    // Step 4: the block writes its y tile along T (y is (B, C, T) contiguous): kVec steps of a channel per
    // thread and store where the rows are 16-byte aligned and the tile full, else one element per thread.
    if (kY) {
      __syncthreads();
      E* out = static_cast<E*>(p.out) + (bb * p.channels + cc) * p.T + t0;
      if (full && (vec & kVecOut)) {
        using V = VecTile<kChannels, kSteps>;
#pragma unroll
        for (int k = 0; k < V::kIters; ++k) {
          const int i = id + k * kThreads, r = i / V::kPer, w = kVec * (i % V::kPer);
          const float4 y0 = *reinterpret_cast<const float4*>(s.u + r * kLdU + w);
          const float4 y1 = *reinterpret_cast<const float4*>(s.u + r * kLdU + w + 4);
          const float f[kVec] = {y0.x, y0.y, y0.z, y0.w, y1.x, y1.y, y1.z, y1.w};
          store8_global(out + r * p.T + w, f);
        }
      } else {
#pragma unroll 4
        for (int k = 0; k < kChannels * kSteps / kThreads; ++k) {
          const int i = id + k * kThreads, r = i / kSteps, st = i % kSteps;
          if (r < rows && st < steps) out[r * p.T + st] = from_f32<E>(s.u[r * kLdU + st]);
        }
      }
    }
  }

  // Step 5 (state only): the last h, (B, C, N) f32.
  if (!kY && active) {
    float* o = static_cast<float*>(p.out) + (b * p.channels + c) * N;
#pragma unroll
    for (int j = 0; j < kHalfN; ++j)
      if (kAllN || n0 + j < N) o[n0 + j] = h[j];
  }
}

// A source whose rows (of kVec-multiples of elements along stride 1) start 16-byte aligned at every index of the
// two other dims: its base and those strides (in bytes) multiples of 16.
bool aligned16(const void* data, int64_t s_a, int64_t s_b, int64_t esize) {
  return reinterpret_cast<uintptr_t>(data) % 16 == 0 && (s_a * esize) % 16 == 0 && (s_b * esize) % 16 == 0;
}

// Note [sequential staging]: which sources are staged with vectors, and whether y is written with them.
unsigned vector_paths(const ScanParams& p, bool with_y, int64_t esize) {
  unsigned m = 0;
  if (p.u.s2 == 1 && aligned16(p.u.data, p.u.s0, p.u.s1, esize)) m |= kVecU;
  if (p.delta.s1 == 1 && aligned16(p.delta.data, p.delta.s0, p.delta.s2, esize)) m |= kVecDelta;
  if (p.z.data && p.z.s1 == 1 && aligned16(p.z.data, p.z.s0, p.z.s2, esize)) m |= kVecZ;
  if (p.N == kMaxN && p.Bm.s1 == 1 && aligned16(p.Bm.data, p.Bm.s0, p.Bm.s2, esize)) m |= kVecB;
  if (with_y && p.N == kMaxN && p.Cm.s1 == 1 && aligned16(p.Cm.data, p.Cm.s0, p.Cm.s2, esize)) m |= kVecC;
  if (with_y && aligned16(p.out, p.T, 0, esize)) m |= kVecOut;  // (B, C, T) contiguous
  return m;
}

template <class E>
cudaError_t launch_typed(const ScanParams& p, bool with_y, cudaStream_t stream) {
  dim3 grid((unsigned)((p.channels + kChannels - 1) / kChannels), (unsigned)p.batch);
  const bool all_n = p.N == kMaxN;
  const unsigned vec = vector_paths(p, with_y, (int64_t)sizeof(E));
  if (with_y && all_n) scan_sequential<true, true, E><<<grid, kThreads, 0, stream>>>(p, vec);
  else if (with_y) scan_sequential<true, false, E><<<grid, kThreads, 0, stream>>>(p, vec);
  else if (all_n) scan_sequential<false, true, E><<<grid, kThreads, 0, stream>>>(p, vec);
  else scan_sequential<false, false, E><<<grid, kThreads, 0, stream>>>(p, vec);
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
