// Tensors over checkpoint bytes (see tensor_view.h).
#include "io/tensor_view.h"

#include <cstring>

namespace tessera::io {

Tensor storage_tensor(const uint8_t* data, std::size_t nbytes, DType dtype, std::shared_ptr<const void> owner) {
  std::size_t esize = dtype_size(dtype);
  int64_t numel = (int64_t)(nbytes / esize);
  if (numel > 0 && reinterpret_cast<uintptr_t>(data) % esize != 0) {
    // Misaligned (legacy .bin storages follow pickles byte to byte): copy so typed loads stay aligned.
    Tensor t = Tensor::empty({numel}, dtype);
    std::memcpy(t.raw_data(), data, (std::size_t)numel * esize);
    return t;
  }
  return Tensor::from_external(const_cast<uint8_t*>(data), {numel}, {1}, dtype, std::move(owner));
}

Tensor view_bytes(const uint8_t* data, std::size_t nbytes, Shape shape, Strides strides, DType dtype,
                  std::shared_ptr<const void> owner, int64_t offset) {
  return storage_tensor(data, nbytes, dtype, std::move(owner)).as_strided(std::move(shape), std::move(strides), offset);
}

bool view_in_bounds(const Shape& shape, const Strides& strides, int64_t offset, int64_t numel) {
  if (shape.size() != strides.size() || offset < 0 || numel < 0) return false;
  int64_t count = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || strides[d] < 0 || __builtin_mul_overflow(count, shape[d], &count)) return false;
  }
  if (count == 0) return offset <= numel;  // an empty view touches no element
  int64_t last = offset;        // largest element index touched
  for (std::size_t d = 0; d < shape.size(); ++d) {
    int64_t step = 0;
    if (__builtin_mul_overflow(shape[d] - 1, strides[d], &step) || __builtin_add_overflow(last, step, &last))
      return false;
  }
  return last < numel;
}

}  // namespace tessera::io
