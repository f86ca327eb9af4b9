// Flash forward kernel instantiations for f16 (one dtype per file so the two compile in parallel).
#include "backends/cuda/attention/flash_fwd.cuh"

namespace tessera::backends::cuda::attention {

cudaError_t launch_flash_f16(const AttentionParams& p, cudaStream_t stream) { return launch_flash_for<__half>(p, stream); }

}  // namespace tessera::backends::cuda::attention
