// Flash forward kernel instantiations for bf16 (one dtype per file so the two compile in parallel).
#include "backends/cuda/attention/flash_fwd.cuh"

namespace tessera::backends::cuda::attention {

cudaError_t launch_flash_bf16(const AttentionParams& p, cudaStream_t stream) {
  return launch_flash_for<__nv_bfloat16>(p, stream);
}

}  // namespace tessera::backends::cuda::attention
