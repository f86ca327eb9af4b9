// Zip reader: end-of-central-directory (and zip64) lookup, central directory entries, local headers, inflate.
#include "io/zip_reader.h"

#include <zlib.h>

#include <algorithm>

#include "tessera/error.h"

namespace tessera::io {

namespace {
constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50, kZip64EocdSig = 0x06064b50;

uint64_t le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
}  // namespace

bool looks_like_zip(const uint8_t* data, std::size_t size) {
  return size >= 4 && (le(data, 4) == kLocalSig || le(data, 4) == kEocdSig);
}

ZipReader::ZipReader(std::shared_ptr<const MappedFile> file, std::string source)
    : file_(std::move(file)), source_(std::move(source)) {
  const uint8_t* d = file_->data();
  const uint64_t size = file_->size();
  const char* src = source_.c_str();
  TESSERA_CHECK(size >= 22, "{}: zip archive is truncated ({} bytes, no end of central directory)", src, size);
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  uint64_t eocd = UINT64_MAX;
  uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t pos = size - 22 + 1; pos-- > lowest;) {
    if (le(d + pos, 4) == kEocdSig) { eocd = pos; break; }
  }
  TESSERA_CHECK(eocd != UINT64_MAX, "{}: zip end of central directory not found; the file is truncated or corrupt",
                src);
  uint64_t count = le(d + eocd + 10, 2), cd_size = le(d + eocd + 12, 4), cd_offset = le(d + eocd + 16, 4);
  if (eocd >= 20 && le(d + eocd - 20, 4) == kZip64LocatorSig) {
    uint64_t z = le(d + eocd - 20 + 8, 8);
    TESSERA_CHECK(size >= 56 && z <= size - 56 && le(d + z, 4) == kZip64EocdSig, "{}: zip64 end of central directory is corrupt",
                  src);
    count = le(d + z + 32, 8);
    cd_size = le(d + z + 40, 8);
    cd_offset = le(d + z + 48, 8);
  }
  TESSERA_CHECK(cd_offset <= size && cd_size <= size - cd_offset,
                "{}: zip central directory [{}, +{}) lies outside the file ({} bytes); the file is truncated", src,
                cd_offset, cd_size, size);
  TESSERA_CHECK(count <= cd_size / 46, "{}: zip central directory claims {} entries in {} bytes", src, count,
                cd_size);
  uint64_t pos = cd_offset, end = cd_offset + cd_size;
  entries_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    TESSERA_CHECK(end - pos >= 46 && le(d + pos, 4) == kCentralSig, "{}: zip central directory entry {} is corrupt",
                  src, i);
    const uint8_t* h = d + pos;
    ZipEntry e;
    uint16_t flags = (uint16_t)le(h + 8, 2);
    e.method = (uint16_t)le(h + 10, 2);
    e.crc32 = (uint32_t)le(h + 16, 4);
    e.compressed_size = le(h + 20, 4);
    e.uncompressed_size = le(h + 24, 4);
    uint64_t name_len = le(h + 28, 2), extra_len = le(h + 30, 2), comment_len = le(h + 32, 2);
    uint64_t local = le(h + 42, 4);
    TESSERA_CHECK(46 + name_len + extra_len + comment_len <= end - pos, "{}: zip central directory entry {} is "
                  "truncated", src, i);
    e.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
    TESSERA_CHECK(!(flags & 1), "{}: zip entry '{}' is encrypted", src, e.name);
    // zip64 extra field: the 0xFFFFFFFF fields, in order usize, csize, local header offset.
    const uint8_t* x = h + 46 + name_len;
    for (uint64_t xp = 0; xp + 4 <= extra_len;) {
      uint64_t id = le(x + xp, 2), len = le(x + xp + 2, 2);
      if (xp + 4 + len > extra_len) break;
      if (id == 1) {
        uint64_t q = xp + 4, qend = q + len;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFFu) return;
          TESSERA_CHECK(q + 8 <= qend, "{}: zip entry '{}' has a truncated zip64 extra field", src, e.name);
          field = le(x + q, 8);
          q += 8;
        };
        take(e.uncompressed_size);
        take(e.compressed_size);
        take(local);
      }
      xp += 4 + len;
    }
    TESSERA_CHECK(local <= size && size - local >= 30 && le(d + local, 4) == kLocalSig,
                  "{}: zip entry '{}' has a corrupt local header offset {}", src, e.name, local);
    uint64_t data = local + 30 + le(d + local + 26, 2) + le(d + local + 28, 2);
    TESSERA_CHECK(data <= size && e.compressed_size <= size - data,
                  "{}: zip entry '{}' ({} bytes at offset {}) extends past the end of the file ({} bytes); the "
                  "file is truncated", src, e.name, e.compressed_size, data, size);
    e.data_offset = data;
    entries_.push_back(std::move(e));
    pos += 46 + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipReader::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

ZipReader::Bytes ZipReader::read(const ZipEntry& e) const {
  const uint8_t* p = file_->data() + e.data_offset;
  if (e.method == 0) {
    TESSERA_CHECK(e.compressed_size == e.uncompressed_size,
                  "{}: stored zip entry '{}' has compressed size {} != uncompressed size {}", source_, e.name,
                  e.compressed_size, e.uncompressed_size);
    return {p, (std::size_t)e.compressed_size, file_};
  }
  TESSERA_CHECK(e.method == 8, "{}: zip entry '{}' uses compression method {} (only stored and deflate are supported)",
                source_, e.name, e.method);
  // Deflate expands at most ~1032x; a larger claim is corrupt (and would allocate absurd amounts).
  TESSERA_CHECK(e.uncompressed_size <= e.compressed_size * 1032 + 1024,
                "{}: zip entry '{}' claims {} bytes from {} compressed bytes; the archive is corrupt", source_, e.name,
                e.uncompressed_size, e.compressed_size);
  const std::size_t want = (std::size_t)e.uncompressed_size;
  std::vector<uint8_t> out(want + 1);  // + 1: zlib refuses a null output buffer for empty entries
  z_stream zs{};
  TESSERA_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, "{}: zlib initialisation failed", source_);
  std::size_t in_done = 0, out_done = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {  // zlib counts in uInt: feed in chunks of at most 1 GiB
    std::size_t in_chunk = std::min<std::size_t>(e.compressed_size - in_done, 1u << 30);
    std::size_t out_chunk = std::min<std::size_t>(want - out_done, 1u << 30);
    zs.next_in = const_cast<uint8_t*>(p + in_done);
    zs.avail_in = (uInt)in_chunk;
    zs.next_out = out.data() + out_done;
    zs.avail_out = (uInt)out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_done += in_chunk - zs.avail_in;
    out_done += out_chunk - zs.avail_out;
    if (rc == Z_OK && zs.avail_in == in_chunk && zs.avail_out == out_chunk) rc = Z_BUF_ERROR;  // no progress
  }
  std::string why = zs.msg ? zs.msg : "size mismatch";
  inflateEnd(&zs);
  TESSERA_CHECK(rc == Z_STREAM_END && out_done == want,
                "{}: zip entry '{}' failed to inflate ({}); the archive is corrupt", source_, e.name, why);
  out.resize(want);
  uLong crc = 0;
  for (std::size_t i = 0; i < out.size(); i += 1u << 30)
    crc = crc32(crc, out.data() + i, (uInt)std::min<std::size_t>(out.size() - i, 1u << 30));
  TESSERA_CHECK(crc == e.crc32, "{}: zip entry '{}' fails its CRC check; the archive is corrupt", source_, e.name);
  auto owner = MappedFile::adopt(std::move(out));
  return {owner->data(), owner->size(), owner};
}

}  // namespace tessera::io
