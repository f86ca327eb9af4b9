// Tensors over checkpoint bytes: zero-copy when the bytes are aligned for the dtype, else an aligned copy.
#pragma once
#include <memory>

#include "tessera/tensor.h"

namespace tessera::io {

// A 1-D tensor of nbytes / dtype_size(dtype) elements over `data`, kept alive by `owner`.
Tensor storage_tensor(const uint8_t* data, std::size_t nbytes, DType dtype, std::shared_ptr<const void> owner);

// `shape`/`strides` view at element `offset` of storage_tensor(data, nbytes, ...). The caller has checked bounds.
Tensor view_bytes(const uint8_t* data, std::size_t nbytes, Shape shape, Strides strides, DType dtype,
                  std::shared_ptr<const void> owner, int64_t offset = 0);

// True when a (shape, strides, offset) view lies inside a storage of `numel` elements (no overflow, strides >= 0).
bool view_in_bounds(const Shape& shape, const Strides& strides, int64_t offset, int64_t numel);

}  // namespace tessera::io
