// The CPU flash kernel's inner loops on f32 buffers (packing K and V, and one query tile against packed keys),
// behind a table with one entry per instruction set: the build's baseline (x86-64-v3, AVX2) and, on x86-64,
// AVX-512 (Note [CPU ISA dispatch] in backends/cpu/ssm.cpp). Written once, in cpu_flash_kernels_impl.h.
#pragma once
#include <cstdint>

namespace tessera::attention::detail {

constexpr int64_t kFlashTileRows = 64;  // most query rows per FlashTile

// One query tile of one (b, h) against keys packed by pack_k / pack_v. Row i attends keys j < kend[i] (key
// length and causal limit; kend[i] <= the packed key count), each with score q_i·k_j + mask[i·ld_mask + j].
struct FlashTile {
  int64_t rows = 0;                // <= kFlashTileRows
  int64_t D = 0;                   // head dim
  const float* q = nullptr;        // [rows][D], already multiplied by the softmax scale
  const float* kt = nullptr;       // pack_k's panels
  const float* v = nullptr;        // pack_v's rows, [keys][padded_dim(D)]
  const int64_t* kend = nullptr;   // [rows]
  const float* mask = nullptr;     // [rows][ld_mask] additive f32 (-inf = masked), or nullptr
  int64_t ld_mask = 0;
  float* o = nullptr;              // out: [rows][padded_dim(D)], softmax(s)·v; zeros for a row with no allowed key
};

struct FlashKernels {
  const char* isa;  // "avx512" or "avx2"
  int64_t lanes;    // keys per K panel; V and O rows are padded to a multiple of it
  // kt = [ceil(n / lanes)][D][lanes]: key j of row k[j·ldk ...] at kt[(j / lanes)·D·lanes + d·lanes + j % lanes],
  // zeros past n.
  void (*pack_k)(const float* k, int64_t ldk, int64_t n, int64_t D, float* kt);
  // vp = [n][padded D]: rows of v, zeros in the padding.
  void (*pack_v)(const float* v, int64_t ldv, int64_t n, int64_t D, float* vp);
  void (*attend)(const FlashTile& t);
};

inline int64_t padded_dim(const FlashKernels& k, int64_t D) { return (D + k.lanes - 1) / k.lanes * k.lanes; }

// The fastest table this CPU runs: AVX-512 where the CPU has it and set_cpu_avx512(false) was not called.
const FlashKernels& cpu_flash_kernels();
const FlashKernels& cpu_flash_kernels_baseline();
#if defined(TESSERA_CPU_AVX512)
const FlashKernels& cpu_flash_kernels_avx512();  // cpu_flash_avx512.cpp, built with -march=x86-64-v4
#endif

}  // namespace tessera::attention::detail
