// MappedFile: a read-only, private memory mapping of a whole file (or a heap copy for in-memory bytes).
// Checkpoint tensors hold a shared_ptr to it so the bytes stay valid as long as any tensor does.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace tessera::io {

class MappedFile {
 public:
  // mmap(PROT_READ, MAP_PRIVATE); errors name the path. An empty file maps to size 0.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  // Owns a copy of `size` bytes (used for tests, fuzzing and inflated zip entries).
  static std::shared_ptr<const MappedFile> copy_of(const uint8_t* data, std::size_t size);
  static std::shared_ptr<const MappedFile> adopt(std::vector<uint8_t> bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  void* map_ = nullptr;  // non-null when mmapped
  std::vector<uint8_t> heap_;
};

// "model.safetensors" for errors: the file name, or the whole path when it has no file name.
std::string display_name(const std::filesystem::path& path);

}  // namespace tessera::io
