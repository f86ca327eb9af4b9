// The CPU kernels' thread pool. Not OpenMP: idle OpenMP workers spin for a while after every parallel
// region and steal the cores OpenBLAS's own threads need for the GEMM that follows (Note [Thread pool]).
#pragma once
#include <cstdint>
#include <functional>

namespace tessera::backends::cpu {

// Runs task(i) for i in [0, n) on up to `threads` threads (the caller runs task(0)); returns when all finish.
void run_parallel(int64_t n, int threads, const std::function<void(int64_t)>& task);

}  // namespace tessera::backends::cpu
