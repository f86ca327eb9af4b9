// CPU-only builds (TESSERA_CUDA=OFF): the CUDA attention entry points exist so src/attention/ links, and
// report that the kernels are not built (sdpa's explanation lists that as the failed `build` check).
#include "backends/cuda_attention.h"

namespace tessera::backends::cuda_attention {

bool built() { return false; }
int compute_capability(int) { return 0; }
void flash(const Call&) { TESSERA_FAIL("sdpa: the CUDA flash kernel is not built (CPU-only build; configure with TESSERA_CUDA=ON)"); }
void memory_efficient(const Call&) {
  TESSERA_FAIL("sdpa: the CUDA memory-efficient kernel is not built (CPU-only build; configure with TESSERA_CUDA=ON)");
}

}  // namespace tessera::backends::cuda_attention
