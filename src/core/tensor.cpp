// Tensor handles: factories, layout queries, element reads and printing.
#include "tessera/tensor.h"
#include "core/device_runtime.h"

#include <cmath>

namespace tessera {

namespace {
std::atomic<uint64_t> next_tensor_id{1};

void write_from_double(void* base, int64_t i, DType dt, double v) {
  switch (dt) {
    case DType::f32: static_cast<float*>(base)[i] = (float)v; return;
    case DType::f64: static_cast<double*>(base)[i] = v; return;
    case DType::f16: static_cast<uint16_t*>(base)[i] = f32_to_f16((float)v); return;
    case DType::bf16: static_cast<uint16_t*>(base)[i] = f32_to_bf16((float)v); return;
    case DType::i64: static_cast<int64_t*>(base)[i] = (int64_t)v; return;
    case DType::i32: static_cast<int32_t*>(base)[i] = (int32_t)v; return;
    case DType::i16: static_cast<int16_t*>(base)[i] = (int16_t)v; return;
    case DType::i8: static_cast<int8_t*>(base)[i] = (int8_t)v; return;
    case DType::u8: static_cast<uint8_t*>(base)[i] = (uint8_t)v; return;
    case DType::boolean: static_cast<uint8_t*>(base)[i] = v != 0; return;
    default: TESSERA_FAIL("cannot write elements of dtype {} on the host", dtype_name(dt));
  }
}

double read_at(const void* base, int64_t i, DType dt) {
  switch (dt) {
    case DType::f32: return static_cast<const float*>(base)[i];
    case DType::f64: return static_cast<const double*>(base)[i];
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::i64: return (double)static_cast<const int64_t*>(base)[i];
    case DType::i32: return static_cast<const int32_t*>(base)[i];
    case DType::i16: return static_cast<const int16_t*>(base)[i];
    case DType::i8: return static_cast<const int8_t*>(base)[i];
    case DType::u8: return static_cast<const uint8_t*>(base)[i];
    case DType::boolean: return static_cast<const uint8_t*>(base)[i] != 0;
    default: TESSERA_FAIL("cannot read elements of dtype {} on the host", dtype_name(dt));
  }
}

// Element offset (in elements, relative to raw_data) of the flat row-major index.
int64_t strided_offset(const Tensor& t, int64_t flat) {
  int64_t off = 0;
  const auto& sh = t.shape();
  const auto& st = t.strides();
  for (int64_t d = (int64_t)sh.size() - 1; d >= 0; --d) {
    int64_t idx = flat % sh[d];
    flat /= sh[d];
    off += idx * st[d];
  }
  return off;
}
}  // namespace

std::string shape_str(std::span<const int64_t> shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

int64_t shape_numel(std::span<const int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Strides contiguous_strides(std::span<const int64_t> shape) {
  Strides st(shape.size());
  int64_t s = 1;
  for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
    st[d] = s;
    s *= std::max<int64_t>(shape[d], 1);
  }
  return st;
}

Tensor Tensor::make(std::shared_ptr<Storage> storage, Shape shape, Strides strides, int64_t offset, DType dtype) {
  auto impl = std::make_shared<Impl>();
  impl->storage = std::move(storage);
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = dtype;
  impl->id = next_tensor_id.fetch_add(1);
  Tensor t;
  t.impl_ = std::move(impl);
  return t;
}

Tensor Tensor::empty(Shape shape, DType dtype, Device device) {
  for (int64_t s : shape) TESSERA_CHECK(s >= 0, "tensor shape {} has a negative size", shape_str(shape));
  std::size_t nbytes = (std::size_t)shape_numel(shape) * dtype_size(dtype);
  auto storage = std::make_shared<Storage>(nbytes, device_allocator(device));
  Strides st = contiguous_strides(shape);
  return make(std::move(storage), std::move(shape), std::move(st), 0, dtype);
}

Tensor Tensor::zeros(Shape shape, DType dtype, Device device) {
  Tensor t = empty(std::move(shape), dtype, device);
  if (device.type == DeviceType::cpu)
    std::memset(t.raw_data(), 0, t.nbytes());
  else
    cuda_runtime()->fill_zero(t.raw_data(), t.nbytes(), device.index);
  return t;
}

Tensor Tensor::full(Shape shape, double value, DType dtype, Device device) {
  if (device.type != DeviceType::cpu) return full(std::move(shape), value, dtype).to(device);
  Tensor t = empty(std::move(shape), dtype, device);
  int64_t n = t.numel();
  if (dtype == DType::f32) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = (float)value;
  } else {
    for (int64_t i = 0; i < n; ++i) write_from_double(t.raw_data(), i, dtype, value);
  }
  return t;
}

Tensor Tensor::from_values(Shape shape, std::span<const float> values, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  TESSERA_CHECK((int64_t)values.size() == t.numel(), "from_values: {} values for shape {} ({} elements)",
                values.size(), shape_str(t.shape()), t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) write_from_double(t.raw_data(), i, dtype, values[i]);
  return t;
}

Tensor Tensor::from_values(Shape shape, std::span<const int64_t> values, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  TESSERA_CHECK((int64_t)values.size() == t.numel(), "from_values: {} values for shape {} ({} elements)",
                values.size(), shape_str(t.shape()), t.numel());
  if (dtype == DType::i64) {
    std::memcpy(t.raw_data(), values.data(), values.size() * 8);
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) write_from_double(t.raw_data(), i, dtype, (double)values[i]);
  }
  return t;
}

Tensor Tensor::from_external(void* data, Shape shape, Strides strides, DType dtype, std::shared_ptr<const void> owner,
                             Device device) {
  TESSERA_ASSERT(strides.size() == shape.size());
  int64_t extent = 0;
  for (std::size_t d = 0; d < shape.size(); ++d)
    if (shape[d] > 0) extent += (shape[d] - 1) * strides[d];
  std::size_t nbytes = shape_numel(shape) == 0 ? 0 : (std::size_t)(extent + 1) * dtype_size(dtype);
  auto storage = std::make_shared<Storage>(data, nbytes, device, std::move(owner));
  return make(std::move(storage), std::move(shape), std::move(strides), 0, dtype);
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  if (d < 0) d += n;
  TESSERA_CHECK(d >= 0 && d < n, "dimension {} out of range for a tensor of shape {}", d, shape_str(shape()));
  return shape()[d];
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] == 1) continue;
    if (strides()[d] != expected) return false;
    expected *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * (int64_t)dtype_size(dtype());
}

Tensor Tensor::as_strided(Shape shape, Strides strides, int64_t offset) const {
  TESSERA_ASSERT(shape.size() == strides.size());
  return make(storage(), std::move(shape), std::move(strides), offset, dtype());
}

double read_element(const Tensor& t, int64_t flat_index) {
  TESSERA_CHECK(t.device().type == DeviceType::cpu, "reading elements of a {} tensor: copy it to cpu first",
                ::tessera::to_string(t.device()));
  return read_at(t.raw_data(), strided_offset(t, flat_index), t.dtype());
}

double Tensor::item() const {
  TESSERA_CHECK(numel() == 1, "item() on a tensor of shape {} (needs exactly one element)", shape_str(shape()));
  if (device().type != DeviceType::cpu) return cpu().item();
  return read_element(*this, 0);
}

std::vector<float> Tensor::to_float_vector() const {
  if (device().type != DeviceType::cpu) return cpu().to_float_vector();
  if (dtype() == DType::f32 && is_contiguous() && device().type == DeviceType::cpu)
    return std::vector<float>(data<float>(), data<float>() + numel());
  std::vector<float> out((std::size_t)numel());
  for (int64_t i = 0; i < numel(); ++i) out[i] = (float)read_element(*this, i);
  return out;
}

std::vector<int64_t> Tensor::to_int_vector() const {
  if (device().type != DeviceType::cpu) return cpu().to_int_vector();
  if (dtype() == DType::i64 && is_contiguous() && device().type == DeviceType::cpu)
    return std::vector<int64_t>(data<int64_t>(), data<int64_t>() + numel());
  std::vector<int64_t> out((std::size_t)numel());
  for (int64_t i = 0; i < numel(); ++i) out[i] = (int64_t)read_element(*this, i);
  return out;
}

std::string Tensor::to_string(int64_t max_elements) const {
  if (!defined()) return "Tensor(undefined)";
  if (device().type != DeviceType::cpu) return cpu().to_string(max_elements);
  std::string s = fmt::format("Tensor({} {} [", dtype_name(dtype()), shape_str(shape()));
  int64_t n = std::min(numel(), max_elements);
  for (int64_t i = 0; i < n; ++i) s += fmt::format("{}{:.6g}", i ? ", " : "", read_element(*this, i));
  if (numel() > n) s += ", ...";
  return s + "])";
}

}  // namespace tessera
