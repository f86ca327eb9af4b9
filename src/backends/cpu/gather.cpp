// CPU kernels for embedding lookup (gather rows) and concat of contiguous inputs.
#include <cstring>
#include <vector>

#include "backends/cpu/convert.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/parallel.h"

namespace tessera::backends::cpu {

void k_gather(ops::Inputs in, const Tensor& out, const ops::Attrs&) {
  const Tensor &w = in[0], &ids_t = in[1];
  int64_t c = w.shape()[1], rows = ids_t.numel();
  std::vector<int64_t> ids = ids_t.to_int_vector();
  std::size_t es = dtype_size(w.dtype());
  const char* base = static_cast<const char*>(w.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  parallel_for(rows, c, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const char* src = base + ids[r] * w.strides()[0] * (int64_t)es;
      if (w.strides()[1] == 1) {
        std::memcpy(dst + r * c * es, src, c * es);
      } else {
        for (int64_t j = 0; j < c; ++j) std::memcpy(dst + (r * c + j) * es, src + j * w.strides()[1] * es, es);
      }
    }
  });
}

// concat of contiguous inputs along `axis`: copies blocks of (size_k · inner) elements per outer index.
void k_concat(ops::Inputs in, const Tensor& out, const ops::Attrs& a) {
  std::size_t es = dtype_size(out.dtype());
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < a.axis; ++d) outer *= out.shape()[d];
  for (int64_t d = a.axis + 1; d < out.dim(); ++d) inner *= out.shape()[d];
  int64_t out_block = out.shape()[a.axis] * inner;
  char* dst = static_cast<char*>(out.raw_data());
  int64_t base = 0;
  for (const Tensor& x : in) {
    int64_t block = x.shape()[a.axis] * inner;
    const char* src = static_cast<const char*>(x.raw_data());
    for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + (o * out_block + base) * es, src + o * block * es, block * es);
    base += block;
  }
}

}  // namespace tessera::backends::cpu
