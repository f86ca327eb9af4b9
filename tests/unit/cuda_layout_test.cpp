// The CUDA kernels' host-side layout logic, on the CPU (backends/cuda/kernels/layout.h, indexing.h): the
// magic-number divider, dim collapsing, broadcast strides, row views, and offset tables replayed on the host
// with the device's arithmetic against plain stride sums.
#include <gtest/gtest.h>

#include <random>

#include "backends/cuda/kernels/layout.h"
#include "tessera/ops.h"

namespace tessera::backends::cuda {
namespace {

// The device's offsets_at (strided.cuh), on the host.
template <int N>
Offsets<N> host_offsets(const OffsetCalc<N>& c, uint32_t i) {
  Offsets<N> o{};
  for (int d = 0; d < c.rank; ++d) {
    uint32_t q = d == c.rank - 1 ? 0 : c.size[d].host_div(i);
    uint32_t r = i - q * c.size[d].divisor;
    for (int k = 0; k < N; ++k) o.v[k] += (int64_t)r * c.stride[d][k];
    i = q;
  }
  return o;
}

// Element offset of flat index i of tensor t's shape through its strides (no collapsing).
int64_t plain_offset(const Shape& shape, const Strides& strides, int64_t i) {
  int64_t off = 0;
  for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
    off += (i % shape[d]) * strides[d];
    i /= shape[d];
  }
  return off;
}

TEST(CudaLayout, FastDivmodMatchesDivision) {
  std::mt19937_64 rng(7);
  std::vector<uint32_t> divisors{1, 2, 3, 5, 7, 12, 31, 32, 33, 64, 100, 768, 1000, 1024, 4095, 65535, 65536,
                                 (1u << 31) - 1, 1u << 31};
  for (int i = 0; i < 200; ++i) divisors.push_back(1 + (uint32_t)(rng() % ((1u << 31) - 1)));
  for (uint32_t d : divisors) {
    FastDivmod f(d);
    std::vector<uint32_t> ns{0, 1, d - 1, d, d + 1, 2 * d - 1, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    for (int i = 0; i < 500; ++i) ns.push_back((uint32_t)rng());
    for (uint32_t n : ns) ASSERT_EQ(f.host_div(n), n / d) << n << " / " << d;
  }
}

TEST(CudaLayout, CollapseMergesLinearDimsAndDropsOnes) {
  // Contiguous (2, 1, 3, 4): one dim of 24.
  Collapsed c = collapse({2, 1, 3, 4}, {{12, 99, 4, 1}});
  EXPECT_EQ(c.shape, (Shape{24}));
  EXPECT_EQ(c.strides[0], (Strides{1}));
  // A transposed view stays 2-D; the contiguous output beside it does not force a merge.
  c = collapse({3, 5}, {{5, 1}, {1, 3}});
  EXPECT_EQ(c.shape, (Shape{3, 5}));
  EXPECT_EQ(c.strides[1], (Strides{1, 3}));
  // A single element: no dims.
  c = collapse({1, 1}, {{1, 1}});
  EXPECT_TRUE(c.shape.empty());
}

TEST(CudaLayout, ElementwiseLayoutBroadcasts) {
  Tensor a = Tensor::zeros({3, 5, 16}), b = Tensor::zeros({16});
  std::vector<Tensor> in{a, b};
  Shape out = broadcast_shape(in);
  EXPECT_EQ(out, (Shape{3, 5, 16}));
  Collapsed c = elementwise_layout(out, in);
  EXPECT_EQ(c.shape, (Shape{15, 16}));
  EXPECT_EQ(c.strides[0], (Strides{16, 1}));
  EXPECT_EQ(c.strides[1], (Strides{16, 1}));
  EXPECT_EQ(c.strides[2], (Strides{0, 1}));
  EXPECT_TRUE(elementwise_ok(in));
  // Same shapes, dense: the vector path, whatever the rank.
  std::vector<Tensor> deep{Tensor::zeros({1, 2, 1, 2, 1, 2, 1, 2, 1, 2}), Tensor::zeros({1, 2, 1, 2, 1, 2, 1, 2, 1, 2})};
  EXPECT_TRUE(elementwise_ok(deep));
}

TEST(CudaLayout, OffsetTablesReproduceStridedViews) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    // A random permuted, sliced and broadcast view of a 4-D buffer.
    Shape s{1 + (int64_t)(rng() % 4), 1 + (int64_t)(rng() % 5), 1 + (int64_t)(rng() % 3), 1 + (int64_t)(rng() % 6)};
    Tensor base = Tensor::zeros({s[0], s[1], s[2], s[3] * 2 + 1});
    Tensor v = ops::slice(base, -1, 1, s[3] * 2 + 1, 2);
    std::vector<int64_t> perm{0, 1, 2, 3};
    std::shuffle(perm.begin(), perm.end(), rng);
    v = ops::permute(v, perm);
    Tensor other = Tensor::zeros({v.shape().back()});
    std::vector<Tensor> in{v, other};
    Shape out = broadcast_shape(in);
    Collapsed c = elementwise_layout(out, in);
    ASSERT_TRUE(strided_indexable(c));
    OffsetCalc<2> calc = make_offset_calc<2>(c, /*first=*/1);
    Strides bs = broadcast_strides(other, out);
    for (int64_t i = 0; i < numel_of(out); ++i) {
      Offsets<2> o = host_offsets(calc, (uint32_t)i);
      ASSERT_EQ(o.v[0], plain_offset(out, v.strides(), i)) << "trial " << trial << " element " << i;
      ASSERT_EQ(o.v[1], plain_offset(out, bs, i)) << "trial " << trial << " element " << i;
    }
  }
}

TEST(CudaLayout, RowLayoutAroundAnAxis) {
  Tensor x = Tensor::zeros({3, 5, 7});
  RowLayout r = row_layout(x, /*axis=*/1, /*out_has_axis=*/false);
  EXPECT_EQ(r.rows, 21);
  EXPECT_EQ(r.n, 5);
  EXPECT_EQ(r.in_stride, 7);
  OffsetCalc<2> calc = make_offset_calc<2>(r.outer);
  for (uint32_t row = 0; row < 21; ++row) {
    Offsets<2> o = host_offsets(calc, row);
    EXPECT_EQ(o.v[0], (int64_t)row);                    // the reduced output, contiguous
    EXPECT_EQ(o.v[1], (int64_t)((row / 7) * 35 + (row % 7)));  // x[row / 7, 0, row % 7]
  }
  // Softmax-style (output keeps the axis) over the last dim of a transposed view.
  Tensor t = ops::transpose(Tensor::zeros({6, 4}), 0, 1);  // (4, 6), strides (1, 4)
  r = row_layout(t, /*axis=*/1, /*out_has_axis=*/true);
  EXPECT_EQ(r.rows, 4);
  EXPECT_EQ(r.in_stride, 4);
  EXPECT_EQ(r.out_stride, 1);
  EXPECT_TRUE(row_layout_ok(r));
  // A 0-d tensor: one row of one element.
  r = row_layout(Tensor::zeros({}), 0, false);
  EXPECT_EQ(r.rows, 1);
  EXPECT_EQ(r.n, 1);
  EXPECT_TRUE(r.outer.shape.empty());
}

}  // namespace
}  // namespace tessera::backends::cuda
