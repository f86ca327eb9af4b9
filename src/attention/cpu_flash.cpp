// The CPU `flash` (and `varlen`) backend: tiled online-softmax attention (FlashAttention's algorithm) with f32
// accumulation, never a (B, H, Tq, Tk) buffer. This file splits the work and moves data (dtype conversion, strides,
// masks, output layout); the register-blocked SIMD loops are in cpu_flash_kernels_impl.h (Note [CPU flash kernel]).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "attention/backends.h"
#include "attention/cpu_flash_kernels.h"
#include "backends/cpu/convert.h"
#include "backends/backend.h"
#include "backends/cpu/thread_pool.h"

namespace tessera::attention::detail {

// Note [CPU flash kernel]
// Work items are (b, h, a range of query rows), claimed dynamically by the thread pool, most expensive first
// (padded batches have uneven key lengths). An item converts K and V of keys [0, kend) once, where kend is the
// largest key end of its rows (key length, causal limit; padding is never read): K transposed into panels of 16
// (AVX-512) or 8 (AVX2) keys, [panel][D][lanes], V as rows padded to a multiple of the lanes. It then runs its
// rows in tiles of up to 64 queries (scaled by the softmax scale; mask rows, if any, converted to additive f32).
// FlashKernels::attend loops over blocks of keys (64 at D = 64: the block's K and V fill ~32 KiB of L1) and,
// inside, groups of 6 query rows: S = Q·Kᵀ with 6 × 64 keys of accumulators (AVX-512: 24 zmm, the keys as
// vectors, the queries broadcast), the masks and the online softmax (running max and sum, exp on vectors, O
// rescaled when the max grows), then O += P·V with 6 rows × 64 dims of accumulators (P broadcast, V rows as
// vectors). Every FLOP is an FMA on a full vector but the padding of the last key panel and head-dim vector.
// The AVX2 copy runs the same loops 8 wide with 6 × 16 blocks. Measured (docs/attention.md, single-thread CPU
// time on the 2-core AVX-512 VM): 16×3×512×64 f32 with key lengths 136–148 ms with per-tile cblas_sgemm calls,
// 25–32 ms now (AVX2 path 46–57 ms); 1×12×1024×64 187–213 ms → 30–42 ms.

namespace {
using backends::cpu::load_row;
using backends::cpu::store_row;

struct Item {
  int64_t b, h, r0, r1;  // query rows [r0, r1) of (b, h)
  bool zero_tail;        // also writes the skipped rows [nrows, Tq) of (b, h) (Note [Fully masked rows])
  int64_t cost;          // ~ multiply-adds / D, for ordering
};

struct Scratch {
  std::vector<float> kt, v, rows, q, o, mask;
  std::vector<int64_t> kend;
};

int64_t key_length(const Prepared& p, int64_t b) { return p.key_lengths.defined() ? p.host_key_lengths()[b] : p.k_len; }
// Query rows of sequence b that are computed: all, or (skip_padded_queries) those below its length.
int64_t computed_rows(const Prepared& p, int64_t b) {
  return p.skip_padded_queries ? std::min(key_length(p, b), p.q_len) : p.q_len;
}
// Keys [0, key_end) are visible to query row i of sequence b (Note [Causal alignment]).
int64_t key_end(const Prepared& p, int64_t b, int64_t i) {
  int64_t e = key_length(p, b);
  if (p.causal) e = std::min(e, i + (p.k_len - p.q_len) + 1);
  return std::max<int64_t>(e, 0);
}

// Rows [r0, r0 + n) of (b, h) of t as f32: a pointer into t when it is f32 with a contiguous head dim, else
// converted into buf. Returns the pointer and writes the row stride.
const float* f32_rows(const Tensor& t, int64_t b, int64_t h, int64_t r0, int64_t n, int64_t D, std::vector<float>& buf,
                      int64_t& ld) {
  const Strides& st = t.strides();
  const int64_t base = b * st[0] + h * st[1] + r0 * st[2];
  if (t.dtype() == DType::f32 && (st[3] == 1 || D == 1)) {
    ld = st[2];
    return t.data<float>() + base;
  }
  buf.resize((std::size_t)(n * D));
  for (int64_t r = 0; r < n; ++r) load_row<float>(t.raw_data(), t.dtype(), base + r * st[2], st[3], D, buf.data() + r * D);
  ld = D;
  return buf.data();
}

void store_output(const Prepared& p, const Tensor& out, int64_t b, int64_t h, int64_t t, const float* o) {
  const int64_t D = p.head_dim;
  const int64_t at = p.output_bthd ? ((b * p.q_len + t) * p.heads + h) * D : ((b * p.heads + h) * p.q_len + t) * D;
  store_row<float>(out.raw_data(), out.dtype(), at, D, o);
}

void run_item(const Prepared& p, const FlashKernels& kern, const Tensor& out, const Item& it, Scratch& w) {
  const int64_t D = p.head_dim, Dp = padded_dim(kern, D), b = it.b, h = it.h;
  // Step 1: K and V of every key the item's rows can see, packed once for all its query tiles.
  const int64_t kend = it.r1 > it.r0 ? key_end(p, b, it.r1 - 1) : 0;
  if (kend > 0) {
    const int64_t panels = (kend + kern.lanes - 1) / kern.lanes;
    w.kt.resize((std::size_t)(panels * kern.lanes * D));
    w.v.resize((std::size_t)(kend * Dp));
    int64_t ld = 0;
    const float* k = f32_rows(p.k, b, h, 0, kend, D, w.rows, ld);
    kern.pack_k(k, ld, kend, D, w.kt.data());
    const float* v = f32_rows(p.v, b, h, 0, kend, D, w.rows, ld);
    kern.pack_v(v, ld, kend, D, w.v.data());
  }
  // Step 2: query tiles: scaled f32 queries, per-row key ends, additive f32 mask rows; attend; store.
  const float scale = (float)p.scale;
  w.q.resize((std::size_t)(kFlashTileRows * D));
  w.o.resize((std::size_t)(kFlashTileRows * Dp));
  w.kend.resize(kFlashTileRows);
  for (int64_t t0 = it.r0; t0 < it.r1; t0 += kFlashTileRows) {
    const int64_t rows = std::min(kFlashTileRows, it.r1 - t0);
    int64_t ld = 0;
    const float* q = f32_rows(p.q, b, h, t0, rows, D, w.rows, ld);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t d = 0; d < D; ++d) w.q[i * D + d] = q[i * ld + d] * scale;
    int64_t tile_kend = 0;
    for (int64_t i = 0; i < rows; ++i) tile_kend = std::max(tile_kend, w.kend[i] = key_end(p, b, t0 + i));
    FlashTile tile{.rows = rows, .D = D, .q = w.q.data(), .kt = w.kt.data(), .v = w.v.data(), .kend = w.kend.data(),
                   .o = w.o.data()};
    if (p.mask.defined() && tile_kend > 0) {
      const Tensor& mask = p.mask;
      const Strides& ms = mask.strides();
      w.mask.resize((std::size_t)(rows * tile_kend));
      for (int64_t i = 0; i < rows; ++i) {
        float* row = w.mask.data() + i * tile_kend;
        load_row<float>(mask.raw_data(), mask.dtype(), b * ms[0] + h * ms[1] + (t0 + i) * ms[2], ms[3], tile_kend, row);
        if (mask.dtype() == DType::boolean)
          for (int64_t j = 0; j < tile_kend; ++j) row[j] = row[j] != 0.0f ? 0.0f : -INFINITY;
      }
      tile.mask = w.mask.data(), tile.ld_mask = tile_kend;
    }
    kern.attend(tile);
    for (int64_t i = 0; i < rows; ++i) store_output(p, out, b, h, t0 + i, w.o.data() + i * Dp);
  }
  // Step 3: rows that were skipped (skip_padded_queries) are zeros.
  if (it.zero_tail) {
    std::fill(w.o.begin(), w.o.begin() + D, 0.0f);
    for (int64_t t = computed_rows(p, b); t < p.q_len; ++t) store_output(p, out, b, h, t, w.o.data());
  }
}
}  // namespace

Tensor run_cpu_flash(const Prepared& p) {
  Tensor out = Tensor::empty(output_shape(p), p.q.dtype());
  if (p.key_lengths.defined()) p.host_key_lengths();  // read once, before the threads share it
  const FlashKernels& kern = cpu_flash_kernels();
  const int threads = backends::cpu_threads();
  // Items: each (b, h) split into chunks of whole tiles, enough for ~4 items per thread (an item packs its keys once,
  // so fewer, longer items convert less).
  const int64_t bh = p.batch * p.heads;
  const int64_t want = (4 * threads + bh - 1) / std::max<int64_t>(bh, 1);
  std::vector<Item> items;
  int64_t total = 0;
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t nrows = computed_rows(p, b);
    const int64_t tiles = (nrows + kFlashTileRows - 1) / kFlashTileRows;
    const int64_t chunks = std::clamp<int64_t>(want, 1, std::max<int64_t>(tiles, 1));
    const int64_t per = (tiles + chunks - 1) / chunks * kFlashTileRows;
    for (int64_t h = 0; h < p.heads; ++h)
      for (int64_t r0 = 0; r0 < std::max<int64_t>(nrows, 1); r0 += std::max<int64_t>(per, 1)) {
        const int64_t r1 = std::min(nrows, r0 + per);
        int64_t cost = std::max<int64_t>(r1 - r0, 0) * (r1 > r0 ? key_end(p, b, r1 - 1) : 0) + 1;
        items.push_back({b, h, r0, r1, r1 == nrows && nrows < p.q_len, cost});
        total += cost;
      }
  }
  std::vector<int64_t> order(items.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return items[x].cost > items[y].cost; });
  // Small problems run on the caller: below ~32k multiply-adds per thread the fork/join costs more than it saves.
  const int use = total * p.head_dim < (int64_t{32768} * threads) ? 1 : threads;
  backends::cpu::run_parallel((int64_t)items.size(), use, [&](int64_t i) {
    thread_local Scratch w;
    run_item(p, kern, out, items[order[i]], w);
  });
  return out;
}

}  // namespace tessera::attention::detail
