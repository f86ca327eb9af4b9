// MappedFile: mmap of checkpoint files with errors that name the path and the OS reason.
#include "io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tessera/error.h"

namespace tessera::io {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TESSERA_CHECK(fd >= 0, "{}: cannot open: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    ::close(fd);
    TESSERA_FAIL("{}: not a regular file{}", path.string(), err ? fmt::format(" ({})", std::strerror(err)) : "");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->size_ = (std::size_t)st.st_size;
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);
    TESSERA_CHECK(p != MAP_FAILED, "{}: cannot mmap {} bytes: {}", path.string(), f->size_, std::strerror(err));
    f->map_ = p;
    f->data_ = static_cast<const uint8_t*>(p);
  } else {
    ::close(fd);
  }
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::copy_of(const uint8_t* data, std::size_t size) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  if (size > 0) f->heap_.assign(data, data + size);  // operator new: aligned for every dtype
  f->data_ = f->heap_.data();
  f->size_ = size;
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::adopt(std::vector<uint8_t> bytes) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->heap_ = std::move(bytes);
  f->data_ = f->heap_.data();
  f->size_ = f->heap_.size();
  return f;
}

MappedFile::~MappedFile() {
  if (map_) ::munmap(map_, size_);
}

std::string display_name(const std::filesystem::path& path) {
  return path.has_filename() ? path.filename().string() : path.string();
}

}  // namespace tessera::io
