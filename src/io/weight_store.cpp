// WeightStore: a model directory's weights (safetensors or torch .bin, single or sharded) behind one
// name -> Tensor view; shards open lazily and once; missing names get "did you mean" suggestions.
#include <algorithm>
#include <mutex>
#include <optional>

#include "io/mapped_file.h"
#include "tessera/io.h"

namespace tessera::io {

namespace fs = std::filesystem;

namespace {
struct Shard {
  fs::path path;
  bool loaded = false;
  std::optional<SafetensorsFile> safetensors;
  std::map<std::string, Tensor> torch;  // .bin shards are unpickled whole
};

bool is_safetensors(const fs::path& p) { return p.extension() == ".safetensors"; }

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

struct WeightStore::Impl {
  std::string label;  // what source() returns
  std::vector<Shard> shards;
  std::map<std::string, std::size_t, std::less<>> where;  // tensor name -> shard
  std::mutex mutex;

  void load(Shard& s) {
    if (s.loaded) return;
    if (is_safetensors(s.path)) {
      s.safetensors = SafetensorsFile::open(s.path);
    } else {
      s.torch = load_torch_checkpoint(s.path);
    }
    s.loaded = true;
  }
  void add_shard(const fs::path& path) {  // single-file stores: every tensor of the file
    shards.emplace_back().path = path;
    Shard& s = shards.back();
    load(s);
    std::vector<std::string> names;
    if (s.safetensors) names = s.safetensors->names();
    for (auto& [n, t] : s.torch) names.push_back(n);
    for (auto& n : names) where.emplace(n, shards.size() - 1);
  }
  void add_index(const fs::path& index_path);
};

void WeightStore::Impl::add_index(const fs::path& index_path) {
  JsonFields index = JsonFields::from_file(index_path);
  std::string src = display_name(index_path);
  TESSERA_CHECK(index.has("weight_map") && index.json().at("weight_map").is_object(),
                "{}: needs a 'weight_map' object (tensor name -> shard file)", src);
  std::map<std::string, std::size_t> shard_of_file;
  for (auto& [name, file] : index.json().at("weight_map").items()) {
    TESSERA_CHECK(file.is_string(), "{}: weight_map entry for '{}' must be a file name", src, name);
    const std::string& f = file.get_ref<const std::string&>();
    fs::path rel(f);
    bool safe = !f.empty() && rel.is_relative() && std::none_of(rel.begin(), rel.end(), [](const fs::path& c) {
      return c == "..";
    });
    TESSERA_CHECK(safe, "{}: shard file '{}' (for tensor '{}') must be a relative path inside the model directory",
                  src, f, name);
    auto it = shard_of_file.find(f);
    if (it == shard_of_file.end()) {
      fs::path p = index_path.parent_path() / rel;
      std::error_code ec;
      TESSERA_CHECK(fs::is_regular_file(p, ec), "{}: shard '{}' (holding tensor '{}') does not exist in {}", src, f,
                    name, index_path.parent_path().string());
      shards.emplace_back().path = p;
      it = shard_of_file.emplace(f, shards.size() - 1).first;
    }
    where.emplace(name, it->second);
  }
  std::vector<std::string> files;
  for (auto& s : shards) files.push_back(display_name(s.path));
  label = fmt::format("{} ({})", src, fmt::join(files, ", "));
}

WeightStore open_weights(const fs::path& model_dir) {
  auto impl = std::make_shared<WeightStore::Impl>();
  std::error_code ec;
  if (fs::is_regular_file(model_dir, ec)) {  // one weights file or an index given directly
    if (model_dir.extension() == ".json") {
      impl->add_index(model_dir);
    } else {
      impl->add_shard(model_dir);
      impl->label = display_name(model_dir);
    }
    return WeightStore(impl);
  }
  TESSERA_CHECK(fs::is_directory(model_dir, ec), "{}: no such model directory or weights file", model_dir.string());
  static const char* kCandidates[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                      "pytorch_model.bin.index.json"};
  for (const char* c : kCandidates) {
    fs::path p = model_dir / c;
    if (!fs::is_regular_file(p, ec)) continue;
    if (p.extension() == ".json") {
      impl->add_index(p);
    } else {
      impl->add_shard(p);
      impl->label = c;
    }
    return WeightStore(impl);
  }
  std::vector<std::string> others;
  for (const auto& e : fs::directory_iterator(model_dir, ec)) {
    std::string ext = e.path().extension().string();
    if (ext == ".safetensors" || ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".h5" ||
        ext == ".msgpack" || ext == ".gguf" || ext == ".onnx")
      others.push_back(e.path().filename().string());
  }
  std::sort(others.begin(), others.end());
  TESSERA_FAIL("{}: no model weights found (looked for model.safetensors, model.safetensors.index.json, "
               "pytorch_model.bin, pytorch_model.bin.index.json); {}", model_dir.string(),
               others.empty() ? std::string("the directory has no weight files; download the model's weights too")
                              : fmt::format("found {}: pass a .safetensors/.bin file path directly, or convert to "
                                            "safetensors", fmt::join(others, ", ")));
}

bool WeightStore::contains(std::string_view name) const { return impl_->where.find(name) != impl_->where.end(); }

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (auto& [n, i] : impl_->where) out.push_back(n);
  return out;
}

std::string WeightStore::source() const { return impl_->label; }

std::string WeightStore::file_of(std::string_view name) const {
  auto it = impl_->where.find(name);
  TESSERA_CHECK(it != impl_->where.end(), "{}: no tensor named '{}'", impl_->label, name);
  return display_name(impl_->shards[it->second].path);
}

Tensor WeightStore::get(std::string_view name) const {
  auto it = impl_->where.find(name);
  if (it == impl_->where.end()) {
    std::vector<std::pair<std::size_t, std::string>> close;
    for (auto& [n, i] : impl_->where) {
      bool affix = n.size() > name.size() ? n.ends_with(name) : name.ends_with(n);  // a prefix like "bert."
      std::size_t d = affix ? 0 : edit_distance(n, name);
      if (d <= std::max<std::size_t>(3, name.size() / 5)) close.emplace_back(d, "'" + n + "'");
    }
    std::sort(close.begin(), close.end());
    std::vector<std::string> shown;
    for (std::size_t i = 0; i < close.size() && i < 5; ++i) shown.push_back(close[i].second);
    TESSERA_FAIL("{}: no tensor named '{}' ({} tensors){}", impl_->label, name, impl_->where.size(),
                 shown.empty() ? std::string() : fmt::format("; close names: {}", fmt::join(shown, ", ")));
  }
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Shard& s = impl_->shards[it->second];
  impl_->load(s);
  if (s.safetensors) {
    TESSERA_CHECK(s.safetensors->contains(name), "{}: the index places tensor '{}' in this shard but it is not there",
                  display_name(s.path), name);
    return s.safetensors->get(name);
  }
  auto t = s.torch.find(std::string(name));
  TESSERA_CHECK(t != s.torch.end(), "{}: the index places tensor '{}' in this shard but it is not there",
                display_name(s.path), name);
  return t->second;
}

Tensor WeightStore::get(std::string_view name, const Shape& expected, std::string_view implied_by) const {
  Tensor t = get(name);
  TESSERA_CHECK(t.shape() == expected, "{}: tensor '{}' has shape {}, {} implies {}", file_of(name), name,
                shape_str(t.shape()), implied_by, shape_str(expected));
  return t;
}

}  // namespace tessera::io
