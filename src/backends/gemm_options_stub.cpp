// CPU-only builds: the GEMM options of backends/gemm_options.h, kept so callers build unchanged. CPU GEMMs
// (OpenBLAS) never use TF32, so the flag is only stored.
#include <atomic>

#include "backends/gemm_options.h"

namespace tessera::backends {
namespace {
std::atomic<bool> g_allow_tf32{false};
}
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow, std::memory_order_relaxed); }
bool allow_tf32() { return g_allow_tf32.load(std::memory_order_relaxed); }
}  // namespace tessera::backends
