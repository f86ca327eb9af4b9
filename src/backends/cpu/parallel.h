// Parallel loops for the CPU kernels: [0, n) split across cpu_threads() on our thread pool, serial when small.
#pragma once
#include <algorithm>
#include <cstdint>

#include "backends/backend.h"
#include "backends/cpu/thread_pool.h"

namespace tessera::backends::cpu {

// Calls fn(begin, end) over [0, n) split across cpu_threads(); serial when n·cost_per_item < ~32k work units
// (below that the fork/join costs more than it saves).
template <class Fn>
void parallel_for(int64_t n, int64_t cost_per_item, Fn&& fn) {
  int threads = cpu_threads();
  if (threads <= 1 || n <= 1 || n * std::max<int64_t>(cost_per_item, 1) < 32768) {
    fn(int64_t{0}, n);
    return;
  }
  int64_t parts = std::min<int64_t>(n, threads);
  run_parallel(parts, threads, [&](int64_t p) {
    int64_t begin = n * p / parts, end = n * (p + 1) / parts;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace tessera::backends::cpu
