// selective_scan and selective_scan_state on CUDA: Mamba's fused selective scan (Δ = softplus(delta + bias),
// h_t = exp(Δ·A)·h_{t-1} + Δ·B_t·u_t, y_t = C_t·h_t + D·u_t, y·SiLU(z)) in f32, never materialising (B, C, T, N).
// A chunked kernel with a warp-parallel associative scan for few long sequences, a thread-per-state kernel for
// decode, and the choice between them and the sequential kernel of ssm_scan_seq.cu (Note [scan kernel choice]).
#include "backends/cuda/kernels/ssm_common.cuh"

namespace tessera::backends::cuda::ssm {

namespace {

constexpr unsigned kFull = 0xffffffffu;

// ---------------------------------------------------------------------------------------------------------
// Chunked kernel. Note [chunked scan]
// One block per (batch, group of kWarps channels), one warp per channel. The time axis runs in chunks of
// kChunk = 32 lanes × kItems consecutive steps; per chunk the block stages u, delta, z of its channels and the
// batch row's B, C (shared by all its channels) in shared memory, each read along its contiguous dim. Then per
// state index n every lane forms its steps' pairs (a, b) = (exp(Δ·A_n), Δ·u·B_n), folds them into one pair,
// the warp scans the 32 pairs with shuffles under (a1, b1)∘(a2, b2) = (a1·a2, a2·b1 + b2), and each lane
// replays its steps from the exclusive prefix applied to the state carried from the previous chunk,
// accumulating y_t += C_t[n]·h_t. Lane n keeps h_n (and lane n - 32 for n >= 32) in a register across chunks.
// ---------------------------------------------------------------------------------------------------------
constexpr int kWarps = 8;                // channels per block
constexpr int kItems = 4;                // consecutive steps per lane (one float4 from shared memory)
constexpr int kChunk = 32 * kItems;      // steps per chunk
constexpr int kRow = kChunk + 4;         // shared row stride (floats): float4-aligned, staggers banks
constexpr int kChunkThreads = kWarps * 32;

// dst[r][t] = v[base + r·s_row + (t0 + t)·s_t] as f32 for r < rows, t < kChunk; zeros past T / valid_rows.
__device__ void stage(float* dst, int rows, int valid_rows, const View& v, int64_t base, int64_t s_row, int64_t s_t,
                      int64_t t0, int64_t T) {
  const bool t_fast = s_t == 1 || s_row != 1;  // walk the contiguous dim across consecutive threads
  for (int i = threadIdx.x; i < rows * kChunk; i += kChunkThreads) {
    int r, t;
    if (t_fast) {
      r = i / kChunk;
      t = i % kChunk;
    } else {
      r = i % rows;
      t = i / rows;
    }
    float x = 0.0f;
    if (r < valid_rows && t0 + t < T) x = load(v.data, base + r * s_row + (t0 + t) * s_t, v.type);
    dst[r * kRow + t] = x;
  }
}

__device__ __forceinline__ void read4(const float* p, float (&v)[kItems]) {
  float4 q = *reinterpret_cast<const float4*>(p);
  v[0] = q.x;
  v[1] = q.y;
  v[2] = q.z;
  v[3] = q.w;
}

template <bool kY>
__global__ void __launch_bounds__(kChunkThreads) scan_chunked(ScanParams p) {
  extern __shared__ float4 smem4[];
  const int N = p.N;
  float* sB = reinterpret_cast<float*>(smem4);  // [N][kRow]
  float* sC = sB + N * kRow;                    // [N][kRow]           (kY)
  float* sU = sC + (kY ? N * kRow : 0);         // [kWarps][kRow]
  float* sDt = sU + kWarps * kRow;              // [kWarps][kRow]      delta, then y
  float* sZ = sDt + kWarps * kRow;              // [kWarps][kRow]      (kY with z)

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t b = blockIdx.y, c0 = (int64_t)blockIdx.x * kWarps, c = c0 + warp;
  const int valid_rows = (int)min((int64_t)kWarps, p.channels - c0);
  const bool active = c < p.channels;  // warp-uniform
  const bool gated = kY && p.z.data != nullptr;

  // Step 1: lane n (and n - 32) holds A[c, n] and the state h_n (initial_state or zeros); per-channel D, bias.
  float a_lo = 0.0f, a_hi = 0.0f, h_lo = 0.0f, h_hi = 0.0f, d_skip = 0.0f, dt_bias = 0.0f;
  if (active) {
    if (lane < N) a_lo = load(p.A.data, c * p.A.s0 + lane * p.A.s1, p.A.type);
    if (lane + 32 < N) a_hi = load(p.A.data, c * p.A.s0 + (lane + 32) * p.A.s1, p.A.type);
    if (p.h0.data) {
      int64_t hb = b * p.h0.s0 + c * p.h0.s1;
      if (lane < N) h_lo = load(p.h0.data, hb + lane * p.h0.s2, p.h0.type);
      if (lane + 32 < N) h_hi = load(p.h0.data, hb + (lane + 32) * p.h0.s2, p.h0.type);
    }
    if (kY) d_skip = load(p.D.data, c * p.D.s0, p.D.type);
    if (p.bias.data) dt_bias = load(p.bias.data, c * p.bias.s0, p.bias.type);
  }

  for (int64_t t0 = 0; t0 < p.T; t0 += kChunk) {
    // Step 2: stage the chunk (after every warp is done with the previous one).
    __syncthreads();
    stage(sB, N, N, p.Bm, b * p.Bm.s0, p.Bm.s1, p.Bm.s2, t0, p.T);
    if (kY) stage(sC, N, N, p.Cm, b * p.Cm.s0, p.Cm.s1, p.Cm.s2, t0, p.T);
    stage(sU, kWarps, valid_rows, p.u, b * p.u.s0 + c0 * p.u.s1, p.u.s1, p.u.s2, t0, p.T);
    stage(sDt, kWarps, valid_rows, p.delta, b * p.delta.s0 + c0 * p.delta.s1, p.delta.s1, p.delta.s2, t0, p.T);
    if (gated) stage(sZ, kWarps, valid_rows, p.z, b * p.z.s0 + c0 * p.z.s1, p.z.s1, p.z.s2, t0, p.T);
    __syncthreads();

    if (active) {
      // Step 3: this lane's steps t0 + kItems·lane + i: Δ, Δ·u; steps past T are identities (a, b) = (1, 0).
      const int col = lane * kItems;
      float u[kItems], dt[kItems], du[kItems], y[kItems];
      bool valid[kItems];
      read4(sU + warp * kRow + col, u);
      read4(sDt + warp * kRow + col, dt);
#pragma unroll
      for (int i = 0; i < kItems; ++i) {
        valid[i] = t0 + col + i < p.T;
        float d = dt[i] + dt_bias;
        dt[i] = p.softplus ? softplus(d) : d;
        du[i] = dt[i] * u[i];
        y[i] = 0.0f;
      }
      // Step 4: per state index, the scan of Note [chunked scan].
      for (int n = 0; n < N; ++n) {
        const float an = __shfl_sync(kFull, n < 32 ? a_lo : a_hi, n & 31);
        const float carry = __shfl_sync(kFull, n < 32 ? h_lo : h_hi, n & 31);
        float bn[kItems], cn[kItems], ea[kItems], eb[kItems];
        read4(sB + n * kRow + col, bn);
        if (kY) read4(sC + n * kRow + col, cn);
#pragma unroll
        for (int i = 0; i < kItems; ++i) {
          ea[i] = valid[i] ? expf(dt[i] * an) : 1.0f;
          eb[i] = valid[i] ? du[i] * bn[i] : 0.0f;
        }
        // The lane's pairs folded into one (sequential, in order).
        float pa = ea[0], pb = eb[0];
#pragma unroll
        for (int i = 1; i < kItems; ++i) {
          pb = ea[i] * pb + eb[i];
          pa = pa * ea[i];
        }
        // Inclusive warp scan (Hillis-Steele): lane l combines with lane l - off, the earlier pair on the left.
#pragma unroll
        for (int off = 1; off < 32; off *= 2) {
          float qa = __shfl_up_sync(kFull, pa, off), qb = __shfl_up_sync(kFull, pb, off);
          if (lane >= off) {
            pb = pa * qb + pb;
            pa = qa * pa;
          }
        }
        // Exclusive prefix applied to the carried state: the state before this lane's first step.
        float xa = __shfl_up_sync(kFull, pa, 1), xb = __shfl_up_sync(kFull, pb, 1);
        float h = lane == 0 ? carry : xa * carry + xb;
#pragma unroll
        for (int i = 0; i < kItems; ++i) {
          h = ea[i] * h + eb[i];
          if (kY) y[i] += cn[i] * h;
        }
        // Lane 31's last state is the chunk's (steps past T are identities): carry it in lane n's register.
        const float last = __shfl_sync(kFull, h, 31);
        if (lane == (n & 31)) {
          if (n < 32) h_lo = last;
          else h_hi = last;
        }
      }
      // Step 5: skip connection and gate; y goes back into this lane's slots of the delta row.
      if (kY) {
        float z[kItems];
        if (gated) read4(sZ + warp * kRow + col, z);
#pragma unroll
        for (int i = 0; i < kItems; ++i) {
          float v = y[i] + d_skip * u[i];
          y[i] = gated ? v * silu(z[i]) : v;
        }
        *reinterpret_cast<float4*>(sDt + warp * kRow + col) = make_float4(y[0], y[1], y[2], y[3]);
      }
    }

    // Step 6: the block writes its y tile, consecutive threads on consecutive steps (out is contiguous).
    if (kY) {
      __syncthreads();
      for (int i = threadIdx.x; i < kWarps * kChunk; i += kChunkThreads) {
        int r = i / kChunk, t = i % kChunk;
        if (r < valid_rows && t0 + t < p.T)
          store(p.out, ((b * p.channels + c0 + r) * p.T + t0 + t), p.out_type, sDt[r * kRow + t]);
      }
    }
  }

  // Step 7 (state only): the last h, (B, C, N) f32.
  if (!kY && active) {
    float* o = static_cast<float*>(p.out) + (b * p.channels + c) * N;
    if (lane < N) o[lane] = h_lo;
    if (lane + 32 < N) o[lane + 32] = h_hi;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Short kernel. Note [decode scan]
// For a few steps (generation decode: T == 1 with initial_state) chunking would leave almost every lane idle.
// Here each thread owns one state h_n of one (batch, channel): P lanes (N rounded up to a power of two, <= 32)
// per channel, a serial loop over the T steps, and y_t = Σ_n C_t[n]·h_n reduced with xor shuffles in the group.
// ---------------------------------------------------------------------------------------------------------
constexpr int kShortMaxT = 16;
constexpr int kShortThreads = 256;

template <bool kY>
__global__ void __launch_bounds__(kShortThreads) scan_short(ScanParams p, int P) {
  const int64_t gid = (int64_t)blockIdx.x * kShortThreads + threadIdx.x;
  const int64_t ch = gid / P, BC = p.batch * p.channels;
  const int n = (int)(gid % P);
  const bool live = ch < BC;        // a real (batch, channel)
  const bool owns = live && n < p.N;  // ... and a real state index
  const int64_t b = live ? ch / p.channels : 0, c = live ? ch % p.channels : 0;

  float a = 0.0f, h = 0.0f, d_skip = 0.0f, dt_bias = 0.0f;
  if (owns) {
    a = load(p.A.data, c * p.A.s0 + n * p.A.s1, p.A.type);
    if (p.h0.data) h = load(p.h0.data, b * p.h0.s0 + c * p.h0.s1 + n * p.h0.s2, p.h0.type);
  }
  if (live) {
    if (kY) d_skip = load(p.D.data, c * p.D.s0, p.D.type);
    if (p.bias.data) dt_bias = load(p.bias.data, c * p.bias.s0, p.bias.type);
  }
  // Every lane runs the loop (the shuffles need the whole warp); T is uniform.
  for (int64_t t = 0; t < p.T; ++t) {
    float u = 0.0f, dt = 0.0f, part = 0.0f;
    if (live) {
      u = load(p.u.data, b * p.u.s0 + c * p.u.s1 + t * p.u.s2, p.u.type);
      float d = load(p.delta.data, b * p.delta.s0 + c * p.delta.s1 + t * p.delta.s2, p.delta.type) + dt_bias;
      dt = p.softplus ? softplus(d) : d;
    }
    if (owns) {
      float bn = load(p.Bm.data, b * p.Bm.s0 + n * p.Bm.s1 + t * p.Bm.s2, p.Bm.type);
      h = expf(dt * a) * h + dt * u * bn;
      if (kY) part = load(p.Cm.data, b * p.Cm.s0 + n * p.Cm.s1 + t * p.Cm.s2, p.Cm.type) * h;
    }
    if (kY) {
      for (int off = P / 2; off > 0; off /= 2) part += __shfl_xor_sync(kFull, part, off);
      if (live && n == 0) {
        float y = part + d_skip * u;
        if (p.z.data) y *= silu(load(p.z.data, b * p.z.s0 + c * p.z.s1 + t * p.z.s2, p.z.type));
        store(p.out, ch * p.T + t, p.out_type, y);
      }
    }
  }
  if (!kY && owns) static_cast<float*>(p.out)[ch * p.N + n] = h;
}

template <bool kY>
cudaError_t launch(const ScanParams& p, ScanKernel kernel, cudaStream_t stream) {
  if (kernel == ScanKernel::decode) {  // Note [decode scan]
    int P = 1;
    while (P < p.N) P *= 2;
    int64_t threads = p.batch * p.channels * P;
    scan_short<kY><<<(unsigned)((threads + kShortThreads - 1) / kShortThreads), kShortThreads, 0, stream>>>(p, P);
    return cudaSuccess;
  }
  if (kernel == ScanKernel::sequential) return launch_scan_sequential(p, kY, stream);  // Note [sequential scan]
  // Note [chunked scan]: B (and C) tiles of N rows, u, delta (and z) tiles of kWarps rows.
  std::size_t floats = (std::size_t)p.N * kRow * (kY ? 2 : 1) + (std::size_t)kWarps * kRow * (2 + (kY && p.z.data ? 1 : 0));
  std::size_t bytes = floats * sizeof(float);
  if (bytes > 48 * 1024) {  // above the default dynamic shared-memory limit (N > ~40): opt in
    cudaError_t st = cudaFuncSetAttribute(scan_chunked<kY>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    if (st != cudaSuccess) return st;
  }
  dim3 grid((unsigned)((p.channels + kWarps - 1) / kWarps), (unsigned)p.batch);
  scan_chunked<kY><<<grid, kChunkThreads, bytes, stream>>>(p);
  return cudaSuccess;
}
}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Note [scan kernel choice]
// - decode (Note [decode scan]) for a few steps, T <= kShortMaxT, and N <= 32: a thread per state.
// - sequential (Note [sequential scan]) when there are enough (batch, channel) pairs: pairs >= kSeqMinPairs (and
//   N <= 16, one activation dtype); first chosen as pairs >= 64 · SMs, see below. Per (pair, step) it does a
//   fraction of the chunked kernel's work (no shuffle scan, no replay), but the T steps of a pair are serial on
//   one thread: below ~a few thousand pairs its time does not shrink with the pair count (it is the latency of
//   T steps), while the chunked kernel's, 32 lanes per pair, does. Both grow linearly in T, so the crossover is
//   a pair count. Measured on an H200 (132 SMs), f16, the model's layouts (SsmCuda.DISABLED_ScanKernelCrossover,
//   2026-12-01), sequential vs chunked ms at T = 256 / 1024 / 4096: 6144 pairs 0.101 vs 0.093, 0.553 vs 0.386,
//   2.20 vs 1.50; 12288 pairs 0.102 vs 0.176, 0.552 vs 0.748, 2.19 vs 2.96; 49152 pairs 0.188 vs 0.711. The
//   linear interpolation crosses at 6700..9000 pairs, 51..68 per SM: kSeqPairsPerSm = 64. Re-measured after the
//   sequential kernel's vector staging (Note [sequential staging]), same test, sequential vs chunked ms at
//   T = 256 / 1024 / 4096: 192 pairs 0.033 vs 0.041, 0.107 vs 0.135, 0.401 vs 0.518; 6144 pairs 0.034 vs 0.094,
//   0.124 vs 0.391, 0.466 vs 1.53; 49152 pairs 0.104 vs 0.714, 0.380 vs 2.82, 1.48 vs 11.8: it now wins at every
//   pair count swept (192 and up), by 20-25% at 192 pairs (e.g. batch 1 of 192 channels) and 3-8x at 49152. So
//   the threshold is now that smallest measured count, kSeqMinPairs = 192, whatever the SM count: mamba-130m's
//   batch-1 prefill (1536 pairs) takes the sequential kernel; below 192 pairs (unmeasured) the chunked one.
// - chunked (Note [chunked scan]) otherwise: few pairs, N > 16, mixed input dtypes.
// ---------------------------------------------------------------------------------------------------------
constexpr int64_t kSeqMinPairs = 192;

ScanKernel choose_scan_kernel(const ScanParams& p, bool with_y) {
  if (p.T <= kShortMaxT && p.N <= 32) return ScanKernel::decode;
  if (sequential_scan_fits(p, with_y) && p.batch * p.channels >= kSeqMinPairs)
    return ScanKernel::sequential;
  return ScanKernel::chunked;
}

cudaError_t launch_selective_scan(const ScanParams& p, bool with_y, cudaStream_t stream) {
  ScanKernel k = p.kernel == ScanKernel::automatic ? choose_scan_kernel(p, with_y) : p.kernel;
  if ((k == ScanKernel::decode && p.N > 32) || (k == ScanKernel::sequential && !sequential_scan_fits(p, with_y)))
    return cudaErrorInvalidValue;
  return with_y ? launch<true>(p, k, stream) : launch<false>(p, k, stream);
}

}  // namespace tessera::backends::cuda::ssm
