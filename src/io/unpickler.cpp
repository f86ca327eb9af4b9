// Restricted unpickler (see unpickler.h). Opcode reference: CPython Lib/pickletools.py.
#include "io/unpickler.h"

#include <cstring>

#include "tessera/error.h"

namespace tessera::io {

namespace {
constexpr std::string_view kRefusal =
    "only tensor rebuild, storage and OrderedDict globals are allowed; convert the checkpoint to safetensors";

// torch dtype names that are harmless to name but that Tessera cannot hold (errors come at rebuild time).
bool is_other_torch_dtype(std::string_view n) {
  for (std::string_view d : {"complex32", "complex64", "complex128", "cfloat", "cdouble", "uint16", "uint32",
                             "uint64", "qint8", "quint8", "qint32", "quint4x2", "float8_e4m3fnuz",
                             "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2"})
    if (n == d) return true;
  return false;
}
}  // namespace

std::optional<DType> dtype_of_storage_type(std::string_view name) {
  static const std::pair<std::string_view, DType> table[] = {
      {"FloatStorage", DType::f32},      {"DoubleStorage", DType::f64}, {"HalfStorage", DType::f16},
      {"BFloat16Storage", DType::bf16},  {"LongStorage", DType::i64},   {"IntStorage", DType::i32},
      {"ShortStorage", DType::i16},      {"CharStorage", DType::i8},    {"ByteStorage", DType::u8},
      {"BoolStorage", DType::boolean},   {"UntypedStorage", DType::u8}, {"Float8_e4m3fnStorage", DType::f8_e4m3},
      {"Float8_e5m2Storage", DType::f8_e5m2}};
  for (auto& [n, d] : table)
    if (n == name) return d;
  return std::nullopt;
}

Unpickler::Unpickler(const uint8_t* data, std::size_t size, std::string source)
    : data_(data), size_(size), source_(std::move(source)) {}

uint32_t Unpickler::add(PyObject o) {
  objects_.push_back(std::move(o));
  return (uint32_t)objects_.size() - 1;
}

uint32_t Unpickler::pop() {
  TESSERA_CHECK(stack_.size() > (marks_.empty() ? 0 : marks_.back()), "{}: corrupt pickle (stack underflow)",
                source_);
  uint32_t v = stack_.back();
  stack_.pop_back();
  return v;
}

uint32_t Unpickler::top() const {
  TESSERA_CHECK(stack_.size() > (marks_.empty() ? 0 : marks_.back()), "{}: corrupt pickle (empty stack)", source_);
  return stack_.back();
}

std::vector<uint32_t> Unpickler::pop_mark() {
  TESSERA_CHECK(!marks_.empty(), "{}: corrupt pickle (no MARK)", source_);
  std::vector<uint32_t> items(stack_.begin() + (std::ptrdiff_t)marks_.back(), stack_.end());
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

std::string Unpickler::describe(uint32_t index) const {
  const PyObject& o = objects_[index];
  switch (o.kind) {
    case PyKind::none: return "None";
    case PyKind::boolean: return "a bool";
    case PyKind::integer:
    case PyKind::big_integer: return "an int";
    case PyKind::floating: return "a float";
    case PyKind::string: return fmt::format("the string '{}'", o.s.substr(0, 64));
    case PyKind::bytes: return "bytes";
    case PyKind::tuple: return fmt::format("a tuple of {}", o.items.size());
    case PyKind::list: return fmt::format("a list of {}", o.items.size());
    case PyKind::dict: return fmt::format("a dict of {} entries", o.items.size() / 2);
    case PyKind::global: return fmt::format("the global '{}'", o.s);
    case PyKind::storage: return "a storage";
    case PyKind::tensor: return "a tensor";
  }
  return "?";
}

int64_t Unpickler::as_int(uint32_t index, std::string_view what) const {
  const PyObject& o = objects_[index];
  TESSERA_CHECK(o.kind == PyKind::integer || o.kind == PyKind::boolean, "{}: {} must be an int, got {}", source_,
                what, describe(index));
  return o.i;
}

Shape Unpickler::as_int_tuple(uint32_t index, std::string_view what) const {
  const PyObject& o = objects_[index];
  TESSERA_CHECK(o.kind == PyKind::tuple || o.kind == PyKind::list, "{}: {} must be a tuple of ints, got {}", source_,
                what, describe(index));
  Shape out;
  for (uint32_t i : o.items) out.push_back(as_int(i, what));
  return out;
}

uint32_t Unpickler::make_global(std::string module, std::string name) {
  std::string full = module + "." + name;
  bool ok = full == "collections.OrderedDict" || full == "torch.device";
  if (module == "torch._utils")
    ok = name == "_rebuild_tensor" || name == "_rebuild_tensor_v2" || name == "_rebuild_tensor_v3" ||
         name == "_rebuild_parameter" || name == "_rebuild_parameter_with_state";
  if (module == "torch" && (name.ends_with("Storage") || dtype_from_name(name) || is_other_torch_dtype(name)))
    ok = true;
  if (module == "torch.storage" && (name == "UntypedStorage" || name == "TypedStorage")) ok = true;
  TESSERA_CHECK(ok, "{}: refusing to unpickle global '{}': {}", source_, full.substr(0, 200), kRefusal);
  return add(PyObject::of(PyKind::global, std::move(full)));
}

uint32_t Unpickler::persistent_load(uint32_t pid) {
  const PyObject& t = objects_[pid];
  TESSERA_CHECK(t.kind == PyKind::tuple && t.items.size() >= 5 && objects_[t.items[0]].kind == PyKind::string &&
                    objects_[t.items[0]].s == "storage",
                "{}: unsupported persistent id ({}); expected ('storage', type, key, location, numel)", source_,
                describe(pid));
  const PyObject& type = objects_[t.items[1]];
  TESSERA_CHECK(type.kind == PyKind::global, "{}: storage type must be a torch storage class, got {}", source_,
                describe(t.items[1]));
  std::string_view tname = std::string_view(type.s).substr(type.s.rfind('.') + 1);
  std::optional<DType> dtype = dtype_of_storage_type(tname);
  TESSERA_CHECK(dtype, "{}: unsupported storage type '{}' (Tessera holds F64 F32 F16 BF16 F8 I64 I32 I16 I8 U8 BOOL)",
                source_, type.s);
  const PyObject& key = objects_[t.items[2]];
  TESSERA_CHECK(key.kind == PyKind::string || key.kind == PyKind::integer, "{}: storage key must be a string, got {}",
                source_, describe(t.items[2]));
  StorageRef s;
  s.key = key.kind == PyKind::string ? key.s : std::to_string(key.i);
  s.dtype = *dtype;
  s.numel = as_int(t.items[4], "storage numel");
  TESSERA_CHECK(s.numel >= 0, "{}: storage '{}' has negative size {}", source_, s.key, s.numel);
  if (t.items.size() >= 6 && objects_[t.items[5]].kind != PyKind::none) {  // legacy view: (view_key, offset, size)
    const PyObject& v = objects_[t.items[5]];
    TESSERA_CHECK(v.kind == PyKind::tuple && v.items.size() == 3 && objects_[v.items[0]].kind == PyKind::string,
                  "{}: corrupt storage view metadata ({})", source_, describe(t.items[5]));
    s.view_of = s.key;
    s.key = objects_[v.items[0]].s;
    s.view_offset = as_int(v.items[1], "storage view offset");
    s.numel = as_int(v.items[2], "storage view size");
    TESSERA_CHECK(s.view_offset >= 0 && s.numel >= 0, "{}: corrupt storage view metadata", source_);
  }
  storages_.push_back(std::move(s));
  return add(PyObject::of(PyKind::storage, (int64_t)storages_.size() - 1));
}

uint32_t Unpickler::rebuild_tensor(const std::vector<uint32_t>& a, std::string_view fn, bool v3) {
  TESSERA_CHECK(a.size() >= (v3 ? 7u : 4u), "{}: {} called with {} arguments", source_, fn, a.size());
  TESSERA_CHECK(objects_[a[0]].kind == PyKind::storage, "{}: {} expects a storage, got {}", source_, fn,
                describe(a[0]));
  TensorRef t;
  t.storage = (uint32_t)objects_[a[0]].i;
  t.dtype = storages_[t.storage].dtype;
  t.offset = as_int(a[1], "tensor storage offset");
  t.shape = as_int_tuple(a[2], "tensor size");
  t.strides = as_int_tuple(a[3], "tensor stride");
  TESSERA_CHECK(t.shape.size() == t.strides.size(), "{}: tensor size {} and stride {} differ in length", source_,
                shape_str(t.shape), shape_str(t.strides));
  if (v3) {
    const PyObject& d = objects_[a[6]];
    TESSERA_CHECK(d.kind == PyKind::global, "{}: {} expects a dtype, got {}", source_, fn, describe(a[6]));
    std::optional<DType> dt = dtype_from_name(d.s);
    TESSERA_CHECK(dt, "{}: tensor dtype '{}' is not supported (Tessera holds F64 F32 F16 BF16 F8 I64 I32 I16 I8 U8 "
                  "BOOL)", source_, d.s);
    t.dtype = *dt;
  }
  tensors_.push_back(std::move(t));
  return add(PyObject::of(PyKind::tensor, (int64_t)tensors_.size() - 1));
}

uint32_t Unpickler::call(uint32_t callable, uint32_t args_index) {
  TESSERA_CHECK(objects_[callable].kind == PyKind::global, "{}: cannot call {} (only allowed globals are callable)",
                source_, describe(callable));
  TESSERA_CHECK(objects_[args_index].kind == PyKind::tuple, "{}: call arguments must be a tuple, got {}", source_,
                describe(args_index));
  const std::string fn = objects_[callable].s;
  const std::vector<uint32_t> a = objects_[args_index].items;
  if (fn == "collections.OrderedDict") {
    PyObject d = PyObject::of(PyKind::dict);
    if (!a.empty()) {  // OrderedDict([(key, value), ...])
      const PyObject& l = objects_[a[0]];
      TESSERA_CHECK(l.kind == PyKind::list || l.kind == PyKind::tuple, "{}: OrderedDict expects a list of pairs",
                    source_);
      for (uint32_t p : l.items) {
        TESSERA_CHECK(objects_[p].kind == PyKind::tuple && objects_[p].items.size() == 2,
                      "{}: OrderedDict expects a list of pairs", source_);
        d.items.push_back(objects_[p].items[0]);
        d.items.push_back(objects_[p].items[1]);
      }
    }
    return add(std::move(d));
  }
  if (fn == "torch._utils._rebuild_tensor" || fn == "torch._utils._rebuild_tensor_v2")
    return rebuild_tensor(a, fn, /*v3=*/false);
  if (fn == "torch._utils._rebuild_tensor_v3") return rebuild_tensor(a, fn, /*v3=*/true);
  if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
    TESSERA_CHECK(!a.empty() && objects_[a[0]].kind == PyKind::tensor, "{}: {} expects a tensor", source_, fn);
    return a[0];
  }
  if (fn == "torch.device") {
    TESSERA_CHECK(!a.empty() && objects_[a[0]].kind == PyKind::string, "{}: torch.device expects a string", source_);
    return add(PyObject::of(PyKind::string, std::string(objects_[a[0]].s)));
  }
  TESSERA_FAIL("{}: refusing to call '{}': {}", source_, fn, kRefusal);
}
}  // namespace tessera::io
