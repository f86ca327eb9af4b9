// The CPU `flash` (and `varlen`) backend: tiled online-softmax attention (FlashAttention's algorithm) with f32
// accumulation; tiles of (B, H, 64 query rows) in parallel on Tessera's thread pool, single-threaded BLAS
// GEMMs per 64 x 256 tile, never a (B, H, Tq, Tk) buffer.
#include <cblas.h>

#include <cmath>
#include <vector>

#include "attention/backends.h"
#include "backends/cpu/convert.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vmath.h"

namespace tessera::attention::detail {

namespace {
using backends::cpu::load_row;
using backends::cpu::store_row;
using backends::cpu::vexp;

constexpr int64_t kBlockQ = 64;   // query rows per work item
constexpr int64_t kBlockK = 256;  // keys per inner step: S tile 64 x 256 f32 = 64 KiB, L2-resident

struct Scratch {
  std::vector<float> q, s, o, k, v, m, l, mask;
  void reserve(int64_t D) {
    q.resize(kBlockQ * D), o.resize(kBlockQ * D), s.resize(kBlockQ * kBlockK), k.resize(kBlockK * D);
    v.resize(kBlockK * D), m.resize(kBlockQ), l.resize(kBlockQ), mask.resize(kBlockK);
  }
};

// An f32 block of rows for BLAS: rows read in place when the tensor is f32 with a contiguous head dim,
// else converted into `buf`.
struct Rows {
  const float* ptr;
  int64_t ld;
};
Rows load_rows(const Tensor& t, int64_t b, int64_t h, int64_t r0, int64_t n, int64_t D, std::vector<float>& buf) {
  const Strides& st = t.strides();
  int64_t base = b * st[0] + h * st[1] + r0 * st[2];
  if (t.dtype() == DType::f32 && (st[3] == 1 || D == 1) && (st[2] >= D || n == 1))
    return {t.data<float>() + base, n == 1 ? D : st[2]};
  for (int64_t r = 0; r < n; ++r) load_row<float>(t.raw_data(), t.dtype(), base + r * st[2], st[3], D, buf.data() + r * D);
  return {buf.data(), D};
}

// One work item: query rows [i0, i0 + nq) of (b, h). Writes every row of the item (zeros where fully masked).
void attend_tile(const Prepared& p, const Tensor& out, int64_t b, int64_t h, int64_t i0, int64_t nq, Scratch& w) {
  const int64_t D = p.head_dim, Tq = p.q_len, Tk = p.k_len, offset = Tk - Tq;  // Note [Causal alignment]
  const int64_t kl = p.key_lengths.defined() ? p.host_key_lengths()[b] : Tk;
  // Rows to compute: all, or (skip_padded_queries) those below the sequence's length.
  const int64_t nrows = p.skip_padded_queries ? std::clamp<int64_t>(kl - i0, 0, nq) : nq;
  int64_t kend = kl;
  if (p.causal) kend = std::min(kend, i0 + nrows - 1 + offset + 1);
  std::fill(w.o.begin(), w.o.begin() + nq * D, 0.0f);
  std::fill(w.m.begin(), w.m.end(), -INFINITY);
  std::fill(w.l.begin(), w.l.end(), 0.0f);
  if (nrows > 0 && kend > 0) {
    Rows q = load_rows(p.q, b, h, i0, nrows, D, w.q);
    const float scale = (float)p.scale;
    float* qs = w.q.data();  // the scaled query tile, (nrows, D)
    for (int64_t i = 0; i < nrows; ++i)
      for (int64_t d = 0; d < D; ++d) qs[i * D + d] = q.ptr[i * q.ld + d] * scale;
    const Tensor& mask = p.mask;
    for (int64_t j0 = 0; j0 < kend; j0 += kBlockK) {
      const int64_t nk = std::min(kBlockK, kend - j0);
      // S = (q·scale) Kᵀ: (nrows, nk).
      Rows k = load_rows(p.k, b, h, j0, nk, D, w.k);
      float* s = w.s.data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, (int)nk, (int)D, 1.0f, qs, (int)D, k.ptr, (int)k.ld,
                  0.0f, s, (int)nk);
      // Masks, then the online softmax: running max m, running sum l, O rescaled by exp(m_old - m_new).
      for (int64_t i = 0; i < nrows; ++i) {
        float* row = s + i * nk;
        if (mask.defined()) {
          const Strides& ms = mask.strides();
          int64_t at = b * ms[0] + h * ms[1] + (i0 + i) * ms[2] + j0 * ms[3];
          load_row<float>(mask.raw_data(), mask.dtype(), at, ms[3], nk, w.mask.data());
          if (mask.dtype() == DType::boolean)
            for (int64_t j = 0; j < nk; ++j) row[j] = w.mask[j] != 0.0f ? row[j] : -INFINITY;
          else
            for (int64_t j = 0; j < nk; ++j) row[j] += w.mask[j];
        }
        if (p.causal)
          for (int64_t j = std::max<int64_t>(i0 + i + offset + 1 - j0, 0); j < nk; ++j) row[j] = -INFINITY;
        float mx = -INFINITY;
        for (int64_t j = 0; j < nk; ++j) mx = std::max(mx, row[j]);
        float m_new = std::max(w.m[i], mx);
        if (m_new == -INFINITY) {  // every key so far masked: contributes nothing
          std::fill(row, row + nk, 0.0f);
          continue;
        }
        float alpha = vexp(w.m[i] - m_new), sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j < nk; ++j) {
          row[j] = vexp(row[j] - m_new);
          sum += row[j];
        }
        w.l[i] = w.l[i] * alpha + sum;
        w.m[i] = m_new;
        if (alpha != 1.0f)
          for (int64_t d = 0; d < D; ++d) w.o[i * D + d] *= alpha;
      }
      // O += P V: (nrows, nk) x (nk, D).
      Rows v = load_rows(p.v, b, h, j0, nk, D, w.v);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nrows, (int)D, (int)nk, 1.0f, s, (int)nk, v.ptr, (int)v.ld,
                  1.0f, w.o.data(), (int)D);
    }
  }
  // O / l; rows with l == 0 (fully masked, or skipped) stay zeros (Note [Fully masked rows]).
  for (int64_t i = 0; i < nq; ++i) {
    float* o = w.o.data() + i * D;
    float inv = i < nrows && w.l[i] > 0.0f ? 1.0f / w.l[i] : 0.0f;
    for (int64_t d = 0; d < D; ++d) o[d] *= inv;
    int64_t t = i0 + i;
    int64_t at = p.output_bthd ? ((b * Tq + t) * p.heads + h) * D : ((b * p.heads + h) * Tq + t) * D;
    store_row<float>(out.raw_data(), out.dtype(), at, D, o);
  }
}
}  // namespace

Tensor run_cpu_flash(const Prepared& p) {
  Tensor out = Tensor::empty(output_shape(p), p.q.dtype());
  if (p.key_lengths.defined()) p.host_key_lengths();  // read once, before the threads share it
  const int64_t tiles = (p.q_len + kBlockQ - 1) / kBlockQ, items = p.batch * p.heads * tiles;
  // Note [Batched small GEMMs] (backends/cpu/matmul.cpp): our pool takes whole tiles, each runs single-threaded BLAS.
  int saved = openblas_get_num_threads();
  openblas_set_num_threads(1);
  backends::cpu::parallel_for(items, kBlockQ * p.k_len * p.head_dim * 4, [&](int64_t begin, int64_t end) {
    thread_local Scratch w;
    w.reserve(p.head_dim);
    for (int64_t it = begin; it < end; ++it) {
      int64_t bh = it / tiles, t = it % tiles;
      int64_t i0 = t * kBlockQ;
      attend_tile(p, out, bh / p.heads, bh % p.heads, i0, std::min(kBlockQ, p.q_len - i0), w);
    }
  });
  openblas_set_num_threads(saved);
  return out;
}

}  // namespace tessera::attention::detail
