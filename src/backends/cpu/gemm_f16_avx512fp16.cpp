// The AVX512-FP16 pieces of the CPU f16 GEMM (gemm_f16.h): panel packing, the 12 × 64 micro-kernel and the
// tile store. Built with -march=x86-64-v4 -mavx512fp16 (src/CMakeLists.txt); called only on CPUs that have it.
#include <immintrin.h>

#include <cstdint>

// GCC 12's intrinsic headers initialise _mm256_undefined_*() from themselves, which -Wmaybe-uninitialized reports
// at every inlined cast/extract/convert below: a false positive in the headers, silenced for this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "backends/cpu/gemm_f16.h"

#if !defined(__AVX512FP16__)
#error "gemm_f16_avx512fp16.cpp must be compiled with AVX512-FP16 enabled (-mavx512fp16)"
#endif

// Note [f16 GEMM]
// Why: on this project's benchmark CPU (Sapphire-Rapids-class; AMX unused so far) vfmadd231ph runs 32 f16 FMAs per
// instruction at the f32 rate, twice the f32 FLOP/s (measured 711 vs 343 GFLOP/s on 2 threads), while
// vdpbf16ps is no faster than f32. Summing a whole k = 1536 dot product in f16 would lose ~log2(1536) bits
// though, so the products are summed in f16 over blocks of kF16Kb = 32 steps only; each block's 32-lane f16
// accumulators are then widened (vcvtph2psx) and added to an f32 tile in L1. Error: inputs are exact f16
// values; a block sum ŝ of 32 fused multiply-adds, each rounding once (u = 2^-11), obeys
// |ŝ - s| <= γ_32·Σ|a·b| with γ_32 = 32u/(1 - 32u) ≈ 0.0157 (worst case; random signs give ~√32·u); the f32
// sums of the block sums add ~(k/32)·2^-24 relative, and an f16 output one more rounding (2^-11·|c|). That
// is the same order as bf16 autocast (inputs rounded to 8 bits: 2^-8·Σ|a·b| worst case) and far from the
// k·2^-11 of a plain f16 accumulation. A block sum above 65504 overflows to inf (f16's range), where an f32
// GEMM would not: activations of that size are already outside what an f16 model stores. The flush costs ~7
// vector µops per accumulator (an extract, two 2-µop widenings, two adds) every 32 FMAs on the same two ports:
// the micro-kernel ran 15-35% slower with it than without on the 2-core VM, and kF16Kb = 64 won back about half
// of that at twice the bound. (Interleaving pairs of steps to halve the flushes at the same bound, with 32-bit
// broadcasts, measured no faster in the whole GEMM.)
//
// Loop structure (the driver is gemm_f16.cpp): B is packed once into strips of 64 columns [k][64]; each task
// packs a block of A rows into panels [k][12] that stay in L2 and, for each B strip, runs the micro-kernel for
// every panel over the whole depth k. The micro-kernel keeps 24 zmm accumulators (12 rows × 2 × 32 columns);
// per step it loads two B vectors and broadcasts each A element straight from memory into the FMA
// (vfmadd231ph m16{1to32}: the broadcast rides the load port, unlike vpbroadcastw, which needs port 5, one of
// the two FMA ports).
//
// Internal linkage for everything here and no standard-library templates: with external linkage the linker
// could keep this file's AVX-512 copy of an inline function for baseline callers (Note [CPU ISA dispatch] in
// ssm.cpp).

namespace tessera::backends::cpu {
namespace {

constexpr int64_t kMr = kF16Mr, kNr = kF16Nr, kKb = kF16Kb;

void pack_a_impl(const uint16_t* const* rows, int64_t mr, int64_t cs, int64_t k, uint16_t* dst) {
  bool adjacent = cs != 1;  // rows one element apart (a transposed view): 12 contiguous halves per step
  for (int64_t i = 1; i < mr && adjacent; ++i) adjacent = rows[i] == rows[0] + i;
  if (adjacent) {
    __mmask16 m = (__mmask16)((1u << mr) - 1);
    for (int64_t kk = 0; kk < k; ++kk) {
      __m256i v = _mm256_maskz_loadu_epi16(m, rows[0] + kk * cs);
      _mm256_mask_storeu_epi16(dst + kk * kMr, (__mmask16)0x0FFF, v);
    }
    return;
  }
  for (int64_t i = 0; i < mr; ++i) {  // one row at a time: sequential reads, stores kMr apart
    const uint16_t* r = rows[i];
    if (cs == 1)
      for (int64_t kk = 0; kk < k; ++kk) dst[kk * kMr + i] = r[kk];
    else
      for (int64_t kk = 0; kk < k; ++kk) dst[kk * kMr + i] = r[kk * cs];
  }
  for (int64_t i = mr; i < kMr; ++i)
    for (int64_t kk = 0; kk < k; ++kk) dst[kk * kMr + i] = 0;
}

// Note [packing adjacent rows]
// When A is a transposed view (rows one element apart, the model's (B, C, T) activations read as (T, C) rows),
// step kk of a block's rows is one contiguous run in memory, the runs T elements apart. Packing panel by panel
// (pack_a_impl) reads 24 bytes of each run per panel and walks all k runs once per panel: one cache line serves
// ~2.7 panels, refetched from L2 each time, and perf showed the packing stalled on those loads. Packing the whole
// block step by step instead reads each run once, front to back (rows·2 bytes: whole lines), and writes 24 bytes
// into each panel's row kk.
void pack_a_adjacent_impl(const uint16_t* first, int64_t rows, int64_t cs, int64_t k, uint16_t* dst) {
  const int64_t panels = (rows + kMr - 1) / kMr, last = rows - (panels - 1) * kMr;
  const __mmask16 tail = (__mmask16)((1u << last) - 1);
  for (int64_t kk = 0; kk < k; ++kk) {
    const uint16_t* src = first + kk * cs;
    uint16_t* d = dst + kk * kMr;
    for (int64_t p = 0; p + 1 < panels; ++p)
      _mm256_mask_storeu_epi16(d + p * k * kMr, (__mmask16)0x0FFF, _mm256_maskz_loadu_epi16((__mmask16)0x0FFF, src + p * kMr));
    _mm256_mask_storeu_epi16(d + (panels - 1) * k * kMr, (__mmask16)0x0FFF,
                             _mm256_maskz_loadu_epi16(tail, src + (panels - 1) * kMr));
  }
}

void pack_b_impl(const uint16_t* b, int64_t rs, int64_t cs, int64_t k, int64_t nr, uint16_t* dst) {
  if (cs == 1) {  // rows of B contiguous: one masked copy per step
    __mmask32 m0 = nr >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << nr) - 1);
    __mmask32 m1 = nr >= 64 ? ~(__mmask32)0 : nr <= 32 ? 0 : (__mmask32)((1u << (nr - 32)) - 1);
    for (int64_t kk = 0; kk < k; ++kk) {
      const uint16_t* s = b + kk * rs;
      _mm512_storeu_si512(dst + kk * kNr, _mm512_maskz_loadu_epi16(m0, s));
      _mm512_storeu_si512(dst + kk * kNr + 32, _mm512_maskz_loadu_epi16(m1, s + 32));
    }
    return;
  }
  if (rs != 1) {  // any other layout: element by element
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < kNr; ++j) dst[kk * kNr + j] = j < nr ? b[kk * rs + j * cs] : 0;
    return;
  }
  // Columns of B contiguous (a transposed weight or activation): 32 columns × 32 steps at a time, transposed
  // through a [32][32] scratch block so both the reads and the writes run along memory.
  uint16_t blk[32 * 32];
  for (int64_t k0 = 0; k0 < k; k0 += 32) {
    int64_t kw = k - k0 < 32 ? k - k0 : 32;
    __mmask32 km = kw >= 32 ? ~(__mmask32)0 : (__mmask32)((1u << kw) - 1);
    for (int64_t j0 = 0; j0 < kNr; j0 += 32) {
      for (int64_t j = 0; j < 32; ++j) {
        __m512i v = j0 + j < nr ? _mm512_maskz_loadu_epi16(km, b + (j0 + j) * cs + k0) : _mm512_setzero_si512();
        _mm512_storeu_si512(blk + j * 32, v);
      }
      for (int64_t kk = 0; kk < kw; ++kk) {
        // Column kk of blk (32 halves 64 bytes apart) -> row kk of the panel: a gather of 16-bit lanes as 32-bit
        // pairs would need a shuffle anyway, so take them one by one (the compiler vectorises this loop).
        uint16_t* d = dst + (k0 + kk) * kNr + j0;
        for (int64_t j = 0; j < 32; ++j) d[j] = blk[j * 32 + kk];
      }
    }
  }
}

// kV = 2: the whole 64-column strip; kV = 1: its first 32 columns only (a strip of <= 32 columns, e.g. the last
// 16 of mamba's 80-column x_proj: half the FMAs of the full tile, whose second half would be zeros).
template <int kV>
void tile_cols(const uint16_t* a, const uint16_t* b, int64_t k, float* c) {
  for (int64_t i = 0; i < kMr; ++i)
    for (int64_t j = 0; j < 32 * kV; j += 16) _mm512_storeu_ps(c + i * kNr + j, _mm512_setzero_ps());
  for (int64_t k0 = 0; k0 < k; k0 += kKb) {
    int64_t kn = k - k0 < kKb ? k - k0 : kKb;
    // Step 1: up to kKb products per accumulator, summed in f16.
    __m512h acc[kMr][2];
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ph();
    const uint16_t* ap = a + k0 * kMr;
    const uint16_t* bp = b + k0 * kNr;
    for (int64_t kk = 0; kk < kn; ++kk, ap += kMr, bp += kNr) {
      __m512h b0 = _mm512_castsi512_ph(_mm512_loadu_si512(bp));
      if constexpr (kV == 2) {
        __m512h b1 = _mm512_castsi512_ph(_mm512_loadu_si512(bp + 32));
#pragma GCC unroll 16
        for (int i = 0; i < kMr; ++i)
          asm("vfmadd231ph %2%{1to32%}, %3, %0\n\tvfmadd231ph %2%{1to32%}, %4, %1"
              : "+v"(acc[i][0]), "+v"(acc[i][1])
              : "m"(ap[i]), "v"(b0), "v"(b1));
      } else {
#pragma GCC unroll 16
        for (int i = 0; i < kMr; ++i) asm("vfmadd231ph %1%{1to32%}, %2, %0" : "+v"(acc[i][0]) : "m"(ap[i]), "v"(b0));
      }
    }
    // Step 2: widen the block sums to f32 and add them to the tile (Note [f16 GEMM]).
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i)
#pragma GCC unroll 2
      for (int v = 0; v < kV; ++v) {
        __m512i x = _mm512_castph_si512(acc[i][v]);
        float* cp = c + i * kNr + v * 32;
        __m512 lo = _mm512_cvtxph_ps(_mm256_castsi256_ph(_mm512_castsi512_si256(x)));
        __m512 hi = _mm512_cvtxph_ps(_mm256_castsi256_ph(_mm512_extracti64x4_epi64(x, 1)));
        _mm512_storeu_ps(cp, _mm512_add_ps(_mm512_loadu_ps(cp), lo));
        _mm512_storeu_ps(cp + 16, _mm512_add_ps(_mm512_loadu_ps(cp + 16), hi));
      }
  }
}

void store_impl(const float* t, int64_t mr, int64_t nr, const float* bias, void* c, int64_t ldc, bool c_f16) {
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; j += 16) {
      __mmask16 m = nr - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nr - j)) - 1);
      __m512 x = _mm512_loadu_ps(t + i * kNr + j);
      if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, bias + j));
      if (c_f16)
        _mm256_mask_storeu_epi16(static_cast<uint16_t*>(c) + i * ldc + j, m, _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
      else
        _mm512_mask_storeu_ps(static_cast<float*>(c) + i * ldc + j, m, x);
    }
}

}  // namespace

const F16GemmKernels& f16_gemm_kernels_avx512fp16() {
  static const F16GemmKernels k{.pack_a = pack_a_impl,
                                .pack_a_adjacent = pack_a_adjacent_impl,
                                .pack_b = pack_b_impl,
                                .tile = tile_cols<2>,
                                .tile_narrow = tile_cols<1>,
                                .store = store_impl};
  return k;
}

}  // namespace tessera::backends::cpu
