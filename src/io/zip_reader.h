// A minimal read-only zip reader over bytes in memory (torch.save's archives): central directory, zip64,
// STORED entries as zero-copy spans and DEFLATE entries inflated with zlib (CRC checked).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.h"

namespace tessera::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint64_t compressed_size = 0, uncompressed_size = 0;
  uint64_t data_offset = 0;  // of the (compressed) bytes in the archive
  uint32_t crc32 = 0;
};

class ZipReader {
 public:
  // Parses the central directory of `file`; errors name `source`.
  ZipReader(std::shared_ptr<const MappedFile> file, std::string source);
  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(std::string_view name) const;

  // The entry's bytes: a span into the archive for STORED entries, an inflated copy for DEFLATE.
  struct Bytes {
    const uint8_t* data = nullptr;
    std::size_t size = 0;
    std::shared_ptr<const MappedFile> owner;  // keeps `data` alive
  };
  Bytes read(const ZipEntry& entry) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  std::string source_;
  std::vector<ZipEntry> entries_;
};

// True when the bytes start like a zip archive (local file header or empty-archive EOCD signature).
bool looks_like_zip(const uint8_t* data, std::size_t size);

}  // namespace tessera::io
