// The CPU elementwise engine: broadcasting, dim collapsing, per-chunk dtype conversion and OpenMP split.
// run_elementwise<C, N>(out, inputs, f) calls f(rows, out_row, n) with N contiguous input rows of type C.
#pragma once
#include <array>
#include <type_traits>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/parallel.h"
#include "ops/op.h"

namespace tessera::backends::cpu {

// Broadcast strides of every operand in the output's coordinates, with mergeable dims collapsed.
struct ElementwiseLayout {
  Shape shape;                       // collapsed output shape, rank >= 1
  std::vector<Strides> in_strides;   // per input, per collapsed dim (0 where broadcast)
};
ElementwiseLayout make_layout(const Tensor& out, ops::Inputs in);

constexpr int64_t kChunk = 1024;

template <class C, int N, class F>
void run_elementwise(const Tensor& out, ops::Inputs in, F&& f) {
  ElementwiseLayout L = make_layout(out, in);
  const int64_t rank = (int64_t)L.shape.size();
  const int64_t inner = L.shape.back();
  const int64_t rows = inner == 0 ? 0 : out.numel() / inner;
  const int64_t per_row = (inner + kChunk - 1) / kChunk;
  std::array<const void*, N> bases;
  std::array<DType, N> dts;
  for (int k = 0; k < N; ++k) {
    bases[k] = in[k].raw_data();
    dts[k] = in[k].dtype();
  }
  void* obase = out.raw_data();
  const DType odt = out.dtype();
  // The stored dtype whose elements are C itself (rows of it need no conversion).
  constexpr DType native = std::is_same_v<C, float> ? DType::f32 : std::is_same_v<C, double> ? DType::f64 : DType::i64;
  parallel_for(rows * per_row, std::min(inner, kChunk) * 4, [&](int64_t begin, int64_t end) {
    alignas(64) C scratch[N + 1][kChunk];
    for (int64_t c = begin; c < end; ++c) {
      int64_t row = c / per_row, col = (c % per_row) * kChunk, n = std::min(kChunk, inner - col);
      std::array<int64_t, N> off{};
      int64_t r = row;
      for (int64_t d = rank - 2; d >= 0; --d) {
        int64_t i = r % L.shape[d];
        r /= L.shape[d];
        for (int k = 0; k < N; ++k) off[k] += i * L.in_strides[k][d];
      }
      std::array<const C*, N> rows_in;
      for (int k = 0; k < N; ++k) {
        int64_t st = L.in_strides[k][rank - 1];
        if (st == 1 && dts[k] == native) {  // already in the compute type and contiguous: no copy
          rows_in[k] = static_cast<const C*>(bases[k]) + off[k] + col;
        } else {
          load_row<C>(bases[k], dts[k], off[k] + col * st, st, n, scratch[k]);
          rows_in[k] = scratch[k];
        }
      }
      if (odt == native) {
        f(rows_in, static_cast<C*>(obase) + row * inner + col, n);
      } else {
        f(rows_in, scratch[N], n);
        store_row<C>(obase, odt, row * inner + col, n, scratch[N]);
      }
    }
  });
}

// Calls fn(C{}) with the compute type for dtype dt.
template <class Fn>
void with_compute_type(DType dt, Fn&& fn) {
  switch (compute_kind(dt)) {
    case ComputeKind::f32: fn(float{}); return;
    case ComputeKind::f64: fn(double{}); return;
    case ComputeKind::i64: fn(int64_t{}); return;
    case ComputeKind::none: TESSERA_FAIL("CPU kernels do not compute in dtype {}", dtype_name(dt));
  }
}

}  // namespace tessera::backends::cpu
