// safetensors: header validation over raw bytes, and mmapped files whose tensors are zero-copy views.
// Format: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__}, data.
#include <algorithm>

#include "io/mapped_file.h"
#include "io/tensor_view.h"
#include "tessera/io.h"

namespace tessera::io {

namespace {
using nlohmann::json;

// A JSON value as a non-negative integer (rejects floats, negatives, strings).
bool as_u64(const json& j, uint64_t& out) {
  if (j.is_number_unsigned()) { out = j.get<uint64_t>(); return true; }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) { out = (uint64_t)j.get<int64_t>(); return true; }
  return false;
}

TensorEntry parse_entry(const std::string& name, const json& j, uint64_t data_size, std::string_view src) {
  TESSERA_CHECK(j.is_object(), "{}: header entry for tensor '{}' must be an object", src, name);
  TensorEntry e;
  e.name = name;
  auto dt = j.find("dtype");
  TESSERA_CHECK(dt != j.end() && dt->is_string(), "{}: tensor '{}' has no string 'dtype'", src, name);
  const std::string& dname = dt->get_ref<const std::string&>();
  std::optional<DType> dtype = dtype_from_name(dname);
  TESSERA_CHECK(dtype && dname == dtype_safetensors_name(*dtype),
                "{}: tensor '{}' has unsupported dtype '{}' (supported: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 "
                "I16 I8 U8 BOOL)", src, name, dname);
  e.dtype = *dtype;
  auto sh = j.find("shape");
  TESSERA_CHECK(sh != j.end() && sh->is_array(), "{}: tensor '{}' has no 'shape' array", src, name);
  TESSERA_CHECK(sh->size() <= 64, "{}: tensor '{}' has {} dimensions (at most 64 supported)", src, name,
                sh->size());
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : *sh) {
    uint64_t v = 0;
    TESSERA_CHECK(as_u64(d, v) && v <= (uint64_t)INT64_MAX, "{}: tensor '{}' has an invalid shape entry {}", src,
                  name, d.dump());
    e.shape.push_back((int64_t)v);
    if (v != 0 && numel > UINT64_MAX / v) overflow = true;
    numel *= v;
  }
  auto off = j.find("data_offsets");
  TESSERA_CHECK(off != j.end() && off->is_array() && off->size() == 2 && as_u64((*off)[0], e.begin) &&
                    as_u64((*off)[1], e.end),
                "{}: tensor '{}' needs 'data_offsets' [begin, end] of non-negative integers", src, name);
  TESSERA_CHECK(e.begin <= e.end, "{}: tensor '{}' has data_offsets [{}, {}] with begin > end", src, name, e.begin,
                e.end);
  TESSERA_CHECK(e.end <= data_size,
                "{}: tensor '{}' has data_offsets [{}, {}] beyond the data section ({} bytes); the file is "
                "truncated or corrupt", src, name, e.begin, e.end, data_size);
  uint64_t esize = dtype_size(e.dtype);
  TESSERA_CHECK(!overflow && numel <= UINT64_MAX / esize && numel * esize == e.end - e.begin,
                "{}: tensor '{}' of shape {} and dtype {} needs {} bytes but data_offsets [{}, {}] span {}", src,
                name, shape_str(e.shape), dname, overflow ? std::string("too many") : std::to_string(numel * esize),
                e.begin, e.end, e.end - e.begin);
  return e;
}
}  // namespace

SafetensorsHeader parse_safetensors_header(const uint8_t* data, std::size_t size, std::string_view src) {
  TESSERA_CHECK(size >= 8, "{}: file is {} bytes, too small for a safetensors header (8-byte length + JSON)", src,
                size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  TESSERA_CHECK(n <= size - 8,
                "{}: header length {} exceeds the file size ({} bytes); the file is truncated or not safetensors",
                src, n, size);
  TESSERA_CHECK(n >= 2 && data[8] == '{', "{}: header does not start with a JSON object; not a safetensors file",
                src);
  json header = parse_json(std::string_view(reinterpret_cast<const char*>(data + 8), n),
                           fmt::format("{} (header)", src));
  TESSERA_CHECK(header.is_object(), "{}: header must be a JSON object", src);
  SafetensorsHeader h;
  h.data_offset = 8 + n;
  uint64_t data_size = size - h.data_offset;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      TESSERA_CHECK(it->is_object(), "{}: __metadata__ must be an object of strings", src);
      for (auto m = it->begin(); m != it->end(); ++m) {
        TESSERA_CHECK(m->is_string(), "{}: __metadata__ value for '{}' must be a string", src, m.key());
        h.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    h.tensors.push_back(parse_entry(it.key(), *it, data_size, src));
  }
  // Non-empty byte ranges must not overlap.
  std::vector<const TensorEntry*> sorted;
  for (const auto& e : h.tensors)
    if (e.end > e.begin) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < sorted.size(); ++i)
    TESSERA_CHECK(sorted[i]->begin >= sorted[i - 1]->end,
                  "{}: tensors '{}' [{}, {}] and '{}' [{}, {}] overlap; the header is corrupt", src,
                  sorted[i - 1]->name, sorted[i - 1]->begin, sorted[i - 1]->end, sorted[i]->name, sorted[i]->begin,
                  sorted[i]->end);
  return h;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile f;
  f.path_ = path;
  f.file_ = MappedFile::open(path);
  f.header_ = parse_safetensors_header(f.file_->data(), f.file_->size(), display_name(path));
  for (std::size_t i = 0; i < f.header_.tensors.size(); ++i) f.index_.emplace(f.header_.tensors[i].name, i);
  return f;
}

bool SafetensorsFile::contains(std::string_view name) const { return index_.find(name) != index_.end(); }

const TensorEntry* SafetensorsFile::entry(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.tensors.size());
  for (const auto& e : header_.tensors) out.push_back(e.name);
  return out;
}

Tensor SafetensorsFile::get(std::string_view name) const {
  const TensorEntry* e = entry(name);
  TESSERA_CHECK(e, "{}: no tensor named '{}'", display_name(path_), name);
  const uint8_t* p = file_->data() + header_.data_offset + e->begin;
  return view_bytes(p, e->end - e->begin, e->shape, contiguous_strides(e->shape), e->dtype, file_);
}

}  // namespace tessera::io
