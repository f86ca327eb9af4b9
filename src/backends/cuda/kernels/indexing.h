// Plain-struct indexing shared by the .cu kernels and the .cpp code that launches them (the .cu files include
// no Tessera header but tessera/dtype.h: nvcc's front end rejects fmt's consteval format strings): the
// 32-bit magic-number divider and the per-operand offset table of a collapsed strided layout.
#pragma once
#include <cstdint>

namespace tessera::backends::cuda {

// Note [Strided kernels]: a strided kernel walks the output in row-major order and turns the flat index
// into one element offset per operand with at most kMaxDims - 1 divisions (fewer after collapsing, see
// layout.h). Flat indices are 32-bit: outputs of 2^31 elements or more take the dense (vectorised, 64-bit)
// paths or are declined by `supports`.
constexpr int kMaxDims = 8;
constexpr int64_t kMaxStridedNumel = (int64_t{1} << 31) - 1;

// Unsigned 32-bit division by a runtime constant as a multiply-high and a shift (Granlund & Montgomery):
// q = (umulhi(n, magic) + n) >> shift, exact for every n < 2^32 when the sum is formed in 64 bits.
struct FastDivmod {
  uint32_t divisor = 1, magic = 1, shift = 0;
  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d < 1 ? 1 : d) {
    while (shift < 32 && (uint64_t{1} << shift) < divisor) ++shift;
    const uint64_t one = 1;
    magic = divisor == 1 ? 1 : (uint32_t)(((one << 32) * ((one << shift) - divisor)) / divisor + 1);
  }
  // The device arithmetic on the host (tests).
  uint32_t host_div(uint32_t n) const {
    uint32_t t = divisor == 1 ? 0 : (uint32_t)(((uint64_t)n * magic) >> 32);
    return (uint32_t)(((uint64_t)t + n) >> shift);
  }
};

template <int N>
struct Offsets {
  int64_t v[N];
};

// Dims innermost first: size[d] and the strides (in elements) of N operands; the outermost needs no division.
template <int N>
struct OffsetCalc {
  int rank = 0;
  FastDivmod size[kMaxDims];
  int64_t stride[kMaxDims][N] = {};
};

}  // namespace tessera::backends::cuda
