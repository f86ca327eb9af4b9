// PyTorch checkpoints: the zip format (torch >= 1.6) and the legacy stream format, both through the
// restricted unpickler; tensors are views over the storages' bytes (zero-copy over the mmap when aligned).
#include <map>

#include "io/mapped_file.h"
#include "io/tensor_view.h"
#include "io/unpickler.h"
#include "io/zip_reader.h"
#include "tessera/io.h"

namespace tessera::io {

namespace {
struct StorageBytes {
  const uint8_t* data = nullptr;
  std::size_t size = 0;
  std::shared_ptr<const void> owner;
};

// The root object as a state dict: a dict of tensors, or a dict with a "state_dict" dict.
std::map<std::string, Tensor> to_state_dict(const Unpickler& u, uint32_t root,
                                            const std::vector<Tensor>& tensors) {
  const std::string& src = u.source();
  const PyObject* d = &u.object(root);
  TESSERA_CHECK(d->kind == PyKind::dict, "{}: expected a state dict (a dict of tensors), got {}", src,
                u.describe(root));
  for (std::size_t i = 0; i + 1 < d->items.size(); i += 2) {
    const PyObject& k = u.object(d->items[i]);
    if (k.kind == PyKind::string && k.s == "state_dict" && u.object(d->items[i + 1]).kind == PyKind::dict) {
      d = &u.object(d->items[i + 1]);
      break;
    }
  }
  std::map<std::string, Tensor> out;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i + 1 < d->items.size(); i += 2) {
    const PyObject& k = u.object(d->items[i]);
    const PyObject& v = u.object(d->items[i + 1]);
    if (k.kind == PyKind::string && keys.size() < 8) keys.push_back(fmt::format("'{}'", k.s.substr(0, 64)));
    if (v.kind != PyKind::tensor) continue;  // non-tensor entries (step counters, ...) are not weights
    TESSERA_CHECK(k.kind == PyKind::string, "{}: state dict key must be a string, got {}", src,
                  u.describe(d->items[i]));
    out[k.s] = tensors[(std::size_t)v.i];
  }
  TESSERA_CHECK(!out.empty() || d->items.empty(),
                "{}: expected a state dict (a dict of tensors, or a dict with a 'state_dict' entry); got a dict with "
                "keys {} and no tensors", src, fmt::join(keys, ", "));
  return out;
}

// Builds every TensorRef over its storage's bytes, checking the view lies inside the storage.
std::vector<Tensor> build_tensors(const Unpickler& u, const std::vector<StorageBytes>& bytes) {
  const std::string& src = u.source();
  // One storage tensor per (bytes, dtype): tensors of one storage share it (persistent ids may repeat).
  std::map<std::tuple<const uint8_t*, std::size_t, DType>, Tensor> base;
  std::vector<Tensor> out;
  for (const TensorRef& t : u.tensors()) {
    const StorageBytes& b = bytes[t.storage];
    auto key = std::make_tuple(b.data, b.size, t.dtype);
    auto it = base.find(key);
    if (it == base.end()) it = base.emplace(key, storage_tensor(b.data, b.size, t.dtype, b.owner)).first;
    int64_t numel = it->second.numel();
    TESSERA_CHECK(view_in_bounds(t.shape, t.strides, t.offset, numel),
                  "{}: tensor view (size {}, stride {}, offset {}) does not fit its storage '{}' of {} {} elements; "
                  "the checkpoint is corrupt", src, shape_str(t.shape), shape_str(t.strides), t.offset,
                  u.storages()[t.storage].key, numel, dtype_name(t.dtype));
    out.push_back(it->second.as_strided(t.shape, t.strides, t.offset));
  }
  return out;
}

// A storage's bytes given its root bytes: the whole root, or a legacy view's slice of it.
StorageBytes slice_storage(const StorageRef& s, const StorageBytes& root, const std::string& src) {
  std::size_t esize = dtype_size(s.dtype);
  uint64_t begin = (uint64_t)s.view_offset * esize, want = (uint64_t)s.numel * esize;
  TESSERA_CHECK(s.numel <= (int64_t)(UINT64_MAX / 16) && begin <= root.size && want <= root.size - begin,
                "{}: storage '{}' has {} bytes but the pickle expects {} elements of {} ({} bytes){}", src, s.key,
                root.size, s.numel, dtype_name(s.dtype), want,
                s.view_of.empty() ? "" : fmt::format(" at element {}", s.view_offset));
  return {root.data + begin, s.view_of.empty() ? root.size - begin : want, root.owner};
}

std::map<std::string, Tensor> load_zip(std::shared_ptr<const MappedFile> file, const std::string& src) {
  ZipReader zip(file, src);
  const ZipEntry* pkl = nullptr;
  for (const auto& e : zip.entries()) {
    if (e.name.ends_with("data.pkl") && e.name.find('/') == e.name.size() - 9) { pkl = &e; break; }
  }
  TESSERA_CHECK(pkl, "{}: zip archive has no '<archive>/data.pkl'; not a torch.save checkpoint", src);
  std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);
  if (const ZipEntry* bo = zip.find(prefix + "byteorder")) {
    ZipReader::Bytes b = zip.read(*bo);
    std::string order(reinterpret_cast<const char*>(b.data), b.size);
    TESSERA_CHECK(order == "little", "{}: checkpoint byte order is '{}'; only little-endian checkpoints are "
                  "supported (re-save it on a little-endian machine)", src, order.substr(0, 16));
  }
  ZipReader::Bytes p = zip.read(*pkl);
  Unpickler u(p.data, p.size, src);
  std::size_t pos = 0;
  uint32_t root = u.load(pos);
  std::map<std::string, StorageBytes> roots;
  std::vector<StorageBytes> bytes;
  for (const StorageRef& s : u.storages()) {
    const std::string& key = s.view_of.empty() ? s.key : s.view_of;
    auto it = roots.find(key);
    if (it == roots.end()) {
      const ZipEntry* e = zip.find(prefix + "data/" + key);
      TESSERA_CHECK(e, "{}: storage '{}' is missing from the archive (no entry '{}data/{}'); the file is truncated "
                    "or corrupt", src, key, prefix, key);
      ZipReader::Bytes b = zip.read(*e);
      it = roots.emplace(key, StorageBytes{b.data, b.size, b.owner}).first;
    }
    bytes.push_back(slice_storage(s, it->second, src));
  }
  return to_state_dict(u, root, build_tensors(u, bytes));
}

std::map<std::string, Tensor> load_legacy(std::shared_ptr<const MappedFile> file, const std::string& src) {
  static const uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};  // LE
  Unpickler u(file->data(), file->size(), src);
  std::size_t pos = 0;
  const PyObject& magic = u.object(u.load(pos));
  TESSERA_CHECK(magic.kind == PyKind::big_integer && magic.s == std::string(kMagic, kMagic + 10),
                "{}: not a PyTorch checkpoint (wrong magic number)", src);
  const PyObject& proto = u.object(u.load(pos));
  TESSERA_CHECK(proto.kind == PyKind::integer && proto.i == 1001, "{}: unsupported legacy checkpoint protocol", src);
  uint32_t info = u.load(pos);
  const PyObject& sys_info = u.object(info);
  TESSERA_CHECK(sys_info.kind == PyKind::dict, "{}: corrupt legacy checkpoint (sys_info is {})", src,
                u.describe(info));
  for (std::size_t i = 0; i + 1 < sys_info.items.size(); i += 2) {
    const PyObject& k = u.object(sys_info.items[i]);
    const PyObject& v = u.object(sys_info.items[i + 1]);
    TESSERA_CHECK(!(k.kind == PyKind::string && k.s == "little_endian" && v.kind == PyKind::boolean && v.i == 0),
                  "{}: checkpoint was saved on a big-endian machine; only little-endian checkpoints are supported",
                  src);
  }
  uint32_t root = u.load(pos);
  TESSERA_CHECK(u.object(root).kind == PyKind::dict, "{}: expected a state dict (a dict of tensors), got {}", src,
                u.describe(root));
  uint32_t keys_index = u.load(pos);
  const PyObject& keys = u.object(keys_index);
  TESSERA_CHECK(keys.kind == PyKind::list, "{}: corrupt legacy checkpoint (storage key list is {})", src,
                u.describe(keys_index));
  // Element size of each root storage, from the pickle's persistent ids.
  std::map<std::string, std::size_t> elsize;
  for (const StorageRef& s : u.storages())
    elsize.emplace(s.view_of.empty() ? s.key : s.view_of, dtype_size(s.dtype));
  std::map<std::string, StorageBytes> roots;
  for (uint32_t k : keys.items) {
    TESSERA_CHECK(u.object(k).kind == PyKind::string, "{}: corrupt legacy checkpoint (storage key is {})", src,
                  u.describe(k));
    const std::string& key = u.object(k).s;
    auto es = elsize.find(key);
    TESSERA_CHECK(es != elsize.end(), "{}: storage '{}' is written but never used by the pickle", src, key);
    TESSERA_CHECK(file->size() - pos >= 8, "{}: legacy checkpoint is truncated in storage '{}'", src, key);
    uint64_t numel = 0;
    for (int i = 7; i >= 0; --i) numel = (numel << 8) | file->data()[pos + i];
    pos += 8;
    TESSERA_CHECK(numel <= (file->size() - pos) / es->second,
                  "{}: storage '{}' claims {} elements of {} bytes but only {} bytes remain; the file is truncated",
                  src, key, numel, es->second, file->size() - pos);
    roots[key] = {file->data() + pos, (std::size_t)(numel * es->second), file};
    pos += numel * es->second;
  }
  std::vector<StorageBytes> bytes;
  for (const StorageRef& s : u.storages()) {
    auto it = roots.find(s.view_of.empty() ? s.key : s.view_of);
    TESSERA_CHECK(it != roots.end(), "{}: storage '{}' is used but not written; the file is corrupt", src, s.key);
    bytes.push_back(slice_storage(s, it->second, src));
  }
  return to_state_dict(u, root, build_tensors(u, bytes));
}

std::map<std::string, Tensor> load_from(std::shared_ptr<const MappedFile> file, const std::string& src) {
  const uint8_t* d = file->data();
  std::size_t n = file->size();
  if (looks_like_zip(d, n)) return load_zip(std::move(file), src);
  if (n >= 3 && d[0] == 0x80 && d[2] == 0x8a) return load_legacy(std::move(file), src);
  TESSERA_CHECK(!(n > 262 && std::string_view(reinterpret_cast<const char*>(d) + 257, 5) == "ustar"),
                "{}: tar-format PyTorch checkpoints (torch < 0.4) are not supported; re-save with a recent torch or "
                "convert to safetensors", src);
  TESSERA_FAIL("{}: not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save pickle)", src);
}
}  // namespace

std::map<std::string, Tensor> load_torch_checkpoint(const std::filesystem::path& path) {
  return load_from(MappedFile::open(path), display_name(path));
}

std::map<std::string, Tensor> load_torch_checkpoint_bytes(const uint8_t* data, std::size_t size,
                                                          std::string_view source) {
  return load_from(MappedFile::copy_of(data, size), std::string(source));
}

}  // namespace tessera::io
