// The state-space CUDA kernels' launch interface (conv1d.cu, ssm_scan.cu), in plain structs: the .cu files
// include no Tessera header (nvcc's front end rejects fmt's consteval format strings); ssm_table.cpp builds
// these parameters from Tensors, launches, and checks the launch.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace tessera::backends::cuda::ssm {

enum IoType : int { kF32 = 0, kF16 = 1, kBF16 = 2 };

// A tensor of up to 3 dims as the kernels see it: data at element [0, 0, 0], strides in elements (0 for absent
// dims), element type. Absent optional inputs have data == nullptr.
struct View {
  const void* data = nullptr;
  int64_t s0 = 0, s1 = 0, s2 = 0;
  int type = kF32;
};

constexpr int64_t kConvMaxWidth = 16;  // causal_conv1d: K taps (covers every Mamba d_conv; larger: reference)
constexpr int64_t kScanMaxState = 64;  // selective_scan(_state): N (Mamba uses 16)
constexpr int64_t kSeqMaxState = 16;   // sequential scan: N <= 16 states in registers (Note [scan kernel choice])
constexpr int64_t kMaxGridYZ = 65535;  // batch rides on gridDim.y / gridDim.z
constexpr int64_t kConvRows = 64;      // causal_conv1d: channels per block (gridDim.y = C / kConvRows)

struct ConvParams {
  View x, w, bias;  // x (B, C, T); w (C, K); bias (C) optional
  void* out;        // (B, C, T) contiguous, x's dtype
  int out_type;
  int64_t batch, channels, T;
  int K;  // 1..kConvMaxWidth
  bool silu = false;  // causal_conv1d_silu: y = silu(conv rounded to x's dtype), as the two ops compute it
};

// Which selective-scan kernel runs (Note [scan kernel choice]); automatic asks choose_scan_kernel.
enum class ScanKernel : int { automatic, decode, sequential, chunked };

struct ScanParams {
  View u, delta, z, Bm, Cm;  // (B, C, T), (B, C, T), (B, C, T), (B, N, T), (B, N, T)
  View A, D, bias, h0;       // (C, N), (C), (C), (B, C, N); z, bias, h0 optional
  void* out;                 // y (B, C, T) in u's dtype, or the last state (B, C, N) f32; contiguous
  int out_type;
  int64_t batch, channels, T;
  int N;  // 1..kScanMaxState
  bool softplus;
  int sm_count = 1;                             // the device's multiprocessors (choose_scan_kernel)
  ScanKernel kernel = ScanKernel::automatic;    // tests and benchmarks force one kernel
};

// Note [scan kernel choice] (ssm_scan.cu): the kernel `p` runs on under ScanKernel::automatic. A forced kernel
// must be able to run p: sequential needs N <= kSeqMaxState and one dtype for u, delta, B, C, z and y.
ScanKernel choose_scan_kernel(const ScanParams& p, bool with_y);
bool sequential_scan_fits(const ScanParams& p, bool with_y);

// Queue the kernel on `stream`; the result is that of the set-up calls (the caller checks the launch itself).
cudaError_t launch_causal_conv1d(const ConvParams& p, cudaStream_t stream);
cudaError_t launch_selective_scan(const ScanParams& p, bool with_y, cudaStream_t stream);
// The sequential kernel alone (ssm_scan_seq.cu), for launch_selective_scan.
cudaError_t launch_scan_sequential(const ScanParams& p, bool with_y, cudaStream_t stream);

}  // namespace tessera::backends::cuda::ssm
