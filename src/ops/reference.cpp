// Element get/set through strides for the reference loops.
#include "ops/reference.h"

namespace tessera::ops::ref {

double get(const Tensor& t, int64_t o) {
  const void* p = t.raw_data();
  switch (t.dtype()) {
    case DType::f32: return static_cast<const float*>(p)[o];
    case DType::f64: return static_cast<const double*>(p)[o];
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(p)[o]);
    case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(p)[o]);
    case DType::i64: return (double)static_cast<const int64_t*>(p)[o];
    case DType::i32: return static_cast<const int32_t*>(p)[o];
    case DType::i16: return static_cast<const int16_t*>(p)[o];
    case DType::i8: return static_cast<const int8_t*>(p)[o];
    case DType::u8: return static_cast<const uint8_t*>(p)[o];
    case DType::boolean: return static_cast<const uint8_t*>(p)[o] != 0;
    default: TESSERA_FAIL("the reference loops do not read dtype {}", dtype_name(t.dtype()));
  }
}

void set(const Tensor& t, int64_t o, double v) {
  void* p = t.raw_data();
  switch (t.dtype()) {
    case DType::f32: static_cast<float*>(p)[o] = (float)v; return;
    case DType::f64: static_cast<double*>(p)[o] = v; return;
    case DType::f16: static_cast<uint16_t*>(p)[o] = f32_to_f16((float)v); return;
    case DType::bf16: static_cast<uint16_t*>(p)[o] = f32_to_bf16((float)v); return;
    case DType::i64: static_cast<int64_t*>(p)[o] = (int64_t)v; return;
    case DType::i32: static_cast<int32_t*>(p)[o] = (int32_t)v; return;
    case DType::i16: static_cast<int16_t*>(p)[o] = (int16_t)v; return;
    case DType::i8: static_cast<int8_t*>(p)[o] = (int8_t)v; return;
    case DType::u8: static_cast<uint8_t*>(p)[o] = (uint8_t)v; return;
    case DType::boolean: static_cast<uint8_t*>(p)[o] = v != 0; return;
    default: TESSERA_FAIL("the reference loops do not write dtype {}", dtype_name(t.dtype()));
  }
}

double round_to(DType dt, double v) {
  switch (dt) {
    case DType::f32: return (float)v;
    case DType::f16: return f16_to_f32(f32_to_f16((float)v));
    case DType::bf16: return bf16_to_f32(f32_to_bf16((float)v));
    default: return v;
  }
}

}  // namespace tessera::ops::ref
