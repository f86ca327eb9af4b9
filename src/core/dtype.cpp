// DType tables generated from the TESSERA_DTYPES X-macro.
#include "tessera/dtype.h"

namespace tessera {

std::size_t dtype_size(DType t) {
  switch (t) {
#define X(name, bytes, st, torch, fl) case DType::name: return bytes;
    TESSERA_DTYPES(X)
#undef X
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
#define X(name, bytes, st, torch, fl) case DType::name: return #name == std::string_view("boolean") ? "bool" : #name;
    TESSERA_DTYPES(X)
#undef X
  }
  return "?";
}

std::string_view dtype_safetensors_name(DType t) {
  switch (t) {
#define X(name, bytes, st, torch, fl) case DType::name: return st;
    TESSERA_DTYPES(X)
#undef X
  }
  return "?";
}

bool dtype_is_floating(DType t) {
  switch (t) {
#define X(name, bytes, st, torch, fl) case DType::name: return fl;
    TESSERA_DTYPES(X)
#undef X
  }
  return false;
}

std::optional<DType> dtype_from_name(std::string_view s) {
#define X(name, bytes, st, torch, fl) \
  if (s == #name || s == st || s == torch || s == "torch." torch) return DType::name;
  TESSERA_DTYPES(X)
#undef X
  if (s == "bool") return DType::boolean;
  if (s == "float") return DType::f32;
  if (s == "half") return DType::f16;
  if (s == "long") return DType::i64;
  if (s == "int") return DType::i32;
  return std::nullopt;
}

}  // namespace tessera
