// The driver of the CPU f16 GEMM (gemm_f16.h): dispatch, B packed once in 64-column strips, tasks of A row
// blocks (× groups of B strips when there are few row blocks) on the thread pool, the micro-kernel per tile.
#include "backends/cpu/gemm_f16.h"

#include <algorithm>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/scan_simd.h"
#include "backends/cpu/thread_pool.h"

namespace tessera::backends::cpu {

namespace {
bool g_f16_gemm_allowed = true;

bool cpu_has_avx512fp16() {
#if defined(TESSERA_CPU_AVX512)
  __builtin_cpu_init();  // checks XCR0 too: the OS saves the zmm state (F/BW/VL: avx512_enabled())
  return __builtin_cpu_supports("avx512fp16");
#else
  return false;
#endif
}

const uint16_t* a_row(const F16Matrix& a, int64_t r) {
  if (a.rows_per_batch > 0) return a.ptr + (r / a.rows_per_batch) * a.batch_stride + (r % a.rows_per_batch) * a.row_stride;
  return a.ptr + r * a.row_stride;
}

// Rows of A per task: its packed panels (2·k bytes per row) stay within ~384 KiB of the 2 MiB L2 next to the B
// strip being swept; at most 32 panels so a short k still yields several tasks.
int64_t block_rows(int64_t k) {
  int64_t panels = std::clamp<int64_t>((int64_t{384} << 10) / std::max<int64_t>(2 * k * kF16Mr, 1), 1, 32);
  return panels * kF16Mr;
}
}  // namespace

bool f16_gemm_available() {
  static const bool have = cpu_has_avx512fp16();
  return have && g_f16_gemm_allowed && avx512_enabled();  // set_cpu_avx512(false) turns it off too
}

void f16_gemm(const F16Gemm& g) {
#if defined(TESSERA_CPU_AVX512)
  const F16GemmKernels& kern = f16_gemm_kernels_avx512fp16();
  const int64_t m = g.m, n = g.n, k = std::max<int64_t>(g.k, 0);
  if (m <= 0 || n <= 0) return;
  const int threads = cpu_threads();
  const std::size_t esize = g.c_f16 ? 2 : 4;
  const bool parallel = threads > 1 && 2 * m * n * std::max<int64_t>(k, 1) >= (int64_t{1} << 21);

  // Step 1: B in strips of kF16Nr columns, [strip][k][kF16Nr], zero-padded past n; packed once, shared by tasks.
  const int64_t strips = (n + kF16Nr - 1) / kF16Nr;
  thread_local std::vector<uint16_t> packed_b;
  packed_b.resize((std::size_t)(strips * k * kF16Nr));
  uint16_t* pb = packed_b.data();
  auto pack_strip = [&](int64_t s) {
    kern.pack_b(g.b.ptr + s * kF16Nr * g.b.col_stride, g.b.row_stride, g.b.col_stride, k,
                std::min(kF16Nr, n - s * kF16Nr), pb + s * k * kF16Nr);
  };
  if (parallel && strips > 1) run_parallel(strips, threads, pack_strip);
  else for (int64_t s = 0; s < strips; ++s) pack_strip(s);

  // Step 2: tasks = row blocks × groups of strips (groups only when row blocks alone can't balance the threads).
  const int64_t rows_per_block = block_rows(k), blocks = (m + rows_per_block - 1) / rows_per_block;
  int64_t groups = 1;
  if (parallel && blocks < 4 * threads) groups = std::min(strips, (4 * threads + blocks - 1) / blocks);
  const int64_t per_group = (strips + groups - 1) / groups;
  groups = (strips + per_group - 1) / per_group;
  auto task = [&](int64_t t) {
    thread_local std::vector<uint16_t> packed_a;
    alignas(64) float tile[kF16Mr * kF16Nr];
    const int64_t r0 = (t / groups) * rows_per_block, rows = std::min(rows_per_block, m - r0);
    const int64_t panels = (rows + kF16Mr - 1) / kF16Mr;
    const int64_t s0 = (t % groups) * per_group, s1 = std::min(strips, s0 + per_group);
    // Step 2a: this block of A as panels [panel][k][kF16Mr].
    packed_a.resize((std::size_t)(panels * k * kF16Mr));
    uint16_t* pa = packed_a.data();
    const bool same_batch = g.a.rows_per_batch <= 0 || r0 / g.a.rows_per_batch == (r0 + rows - 1) / g.a.rows_per_batch;
    if (g.a.row_stride == 1 && g.a.col_stride != 1 && same_batch)  // a transposed view (Note [packing adjacent rows])
      kern.pack_a_adjacent(a_row(g.a, r0), rows, g.a.col_stride, k, pa);
    else
      for (int64_t p = 0; p < panels; ++p) {
        const uint16_t* row_ptrs[kF16Mr];
        int64_t mr = std::min(kF16Mr, rows - p * kF16Mr);
        for (int64_t i = 0; i < mr; ++i) row_ptrs[i] = a_row(g.a, r0 + p * kF16Mr + i);
        kern.pack_a(row_ptrs, mr, g.a.col_stride, k, pa + p * k * kF16Mr);
      }
    // Step 2b: per B strip (kept in L2 while the block's panels sweep it), one micro-tile per panel.
    for (int64_t s = s0; s < s1; ++s) {
      int64_t nr = std::min(kF16Nr, n - s * kF16Nr);
      for (int64_t p = 0; p < panels; ++p) {
        int64_t row = r0 + p * kF16Mr, mr = std::min(kF16Mr, rows - p * kF16Mr);
        (nr <= 32 ? kern.tile_narrow : kern.tile)(pa + p * k * kF16Mr, pb + s * k * kF16Nr, k, tile);
        char* c = static_cast<char*>(g.c) + (row * g.ldc + s * kF16Nr) * esize;
        kern.store(tile, mr, nr, g.bias ? g.bias + s * kF16Nr : nullptr, c, g.ldc, g.c_f16);
      }
    }
  };
  const int64_t tasks = blocks * groups;
  if (parallel && tasks > 1) run_parallel(tasks, threads, task);
  else for (int64_t t = 0; t < tasks; ++t) task(t);
#else
  (void)g;
#endif
}

}  // namespace tessera::backends::cpu

namespace tessera::backends {
void set_cpu_f16_gemm(bool allowed) { cpu::g_f16_gemm_allowed = allowed; }
const char* cpu_f16_gemm_isa() { return cpu::f16_gemm_available() ? "avx512_fp16" : "f32 (OpenBLAS)"; }
}  // namespace tessera::backends
