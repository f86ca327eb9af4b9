// Corrupt checkpoints: hand-written bad safetensors headers, damaged torch archives and hostile pickles
// must fail with a clear tessera::Error naming the file, and byte-level damage must never crash.
#include <gtest/gtest.h>

#include "error_of.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "io/unpickler.h"
#include "tessera/io.h"

using tessera::testing::error_of;

namespace fs = std::filesystem;
using namespace tessera;
using namespace std::string_literals;

namespace {
const fs::path kDir = fs::path(TESSERA_FIXTURES_DIR) / "io";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A safetensors image: 8-byte LE length + header + `data_bytes` zero bytes.
std::string safetensors_bytes(const std::string& header, std::size_t data_bytes, int64_t claimed_length = -1) {
  uint64_t n = claimed_length >= 0 ? (uint64_t)claimed_length : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = (char)((n >> (8 * i)) & 0xff);
  return out + header + std::string(data_bytes, '\0');
}

std::string safetensors_error(const std::string& header, std::size_t data_bytes, int64_t claimed = -1) {
  std::string b = safetensors_bytes(header, data_bytes, claimed);
  return error_of([&] { io::parse_safetensors_header((const uint8_t*)b.data(), b.size(), "bad.safetensors"); });
}

std::string torch_error(const std::string& bytes) {
  return error_of([&] { io::load_torch_checkpoint_bytes((const uint8_t*)bytes.data(), bytes.size(), "bad.bin"); });
}

// The legacy format's three leading pickles (magic, protocol 1001, sys_info) followed by `main`.
std::string legacy_prefix() {
  return "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.\x80\x02}."s;
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)
}  // namespace

TEST(IoCorrupt, SafetensorsHeaders) {
  EXPECT_HAS(safetensors_error("", 0).substr(0, 0) + error_of([] {
               io::parse_safetensors_header((const uint8_t*)"abc", 3, "bad.safetensors");
             }), "bad.safetensors: file is 3 bytes, too small");
  EXPECT_HAS(safetensors_error("{}", 0, 1000), "header length 1000 exceeds the file size");
  EXPECT_HAS(safetensors_error("{\"a\": {\"dtype\": \"F32\",\n \"shape\": [1] \"data_offsets\": [0, 4]}}", 4),
             "bad.safetensors (header):2:");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4),
             "tensor 'a' has data_offsets [0, 8] beyond the data section (4 bytes)");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12),
             "overlap");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "F17", "shape": [1], "data_offsets": [0, 4]}})", 4),
             "tensor 'a' has unsupported dtype 'F17'");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8),
             "needs 12 bytes but data_offsets [0, 8] span 8");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
             "invalid shape entry -1");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", 4),
             "begin > end");
  EXPECT_HAS(safetensors_error(R"({"a": {"dtype": "U8", "shape": [4294967296, 4294967296, 4294967296],
                                   "data_offsets": [0, 0]}})", 0), "needs too many bytes");
  EXPECT_HAS(safetensors_error(R"({"__metadata__": {"format": 1}})", 0), "__metadata__ value for 'format'");
  EXPECT_HAS(safetensors_error(R"([1, 2])", 0), "does not start with a JSON object");
  EXPECT_EQ(safetensors_error(R"({"a": {"dtype": "BOOL", "shape": [0], "data_offsets": [0, 0]}})", 0), "<no error>");
}

TEST(IoCorrupt, SafetensorsFileTruncatedAndMissing) {
  fs::path dir = fs::temp_directory_path() / "tessera_io_corrupt";
  fs::create_directories(dir);
  std::string good = read_file(kDir / "safetensors" / "model.safetensors");
  { std::ofstream(dir / "model.safetensors", std::ios::binary) << good.substr(0, good.size() - 5); }
  std::string msg = error_of([&] { io::SafetensorsFile::open(dir / "model.safetensors"); });
  EXPECT_HAS(msg, "model.safetensors: tensor");
  EXPECT_HAS(msg, "the file is truncated or corrupt");
  EXPECT_HAS(error_of([&] { io::SafetensorsFile::open(dir / "absent.safetensors"); }), "cannot open");
  fs::remove_all(dir);
}

TEST(IoCorrupt, RefusesDangerousGlobals) {
  std::string pickle = "\x80\x02\x63os\nsystem\nX\x02\x00\x00\x00lsR."s;
  std::string msg = torch_error(legacy_prefix() + pickle);
  EXPECT_EQ(msg, "bad.bin: refusing to unpickle global 'os.system': only tensor rebuild, storage and OrderedDict "
                 "globals are allowed; convert the checkpoint to safetensors");
  // In a real zip archive: swap collections.OrderedDict for an equally long dangerous global.
  std::string zip = read_file(kDir / "bin" / "pytorch_model.bin");
  std::size_t at = zip.find("collections\nOrderedDict");
  ASSERT_NE(at, std::string::npos);
  zip.replace(at, 23, "subprocess\ncheck_output");
  EXPECT_HAS(torch_error(zip), "refusing to unpickle global 'subprocess.check_output'");
  // STACK_GLOBAL (protocol 4) is checked the same way.
  std::string stack = "\x80\x04\x8c\x08\x62uiltins\x8c\x04\x65val\x93."s;
  EXPECT_HAS(torch_error(legacy_prefix() + stack), "refusing to unpickle global 'builtins.eval'");
}

TEST(IoCorrupt, TorchArchives) {
  std::string zip = read_file(kDir / "bin" / "pytorch_model.bin");
  EXPECT_HAS(torch_error(zip.substr(0, zip.size() / 2)), "bad.bin: zip");
  EXPECT_HAS(torch_error(zip.substr(0, 10)), "bad.bin: zip");
  std::string big = zip;
  std::size_t at = big.find("little");
  ASSERT_NE(at, std::string::npos);
  big.replace(at, 6, "bigend");
  EXPECT_HAS(torch_error(big), "byte order is 'bigend'; only little-endian");
  std::string legacy = read_file(kDir / "legacy" / "pytorch_model.bin");
  EXPECT_HAS(torch_error(legacy.substr(0, legacy.size() - 3)), "is truncated");
  at = legacy.find("little_endian");
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(legacy[at + 15], '\x88');
  legacy[at + 15] = '\x89';  // 'little_endian' BINPUT n NEWTRUE -> NEWFALSE
  EXPECT_HAS(torch_error(legacy), "saved on a big-endian machine");
  EXPECT_HAS(torch_error("hello world, not a checkpoint"), "not a PyTorch checkpoint");
  EXPECT_HAS(torch_error(""), "not a PyTorch checkpoint");
}

TEST(IoCorrupt, StateDictShapes) {
  std::string no_keys = "\x80\x02]."s;
  EXPECT_HAS(torch_error(legacy_prefix() + "\x80\x02]."s + no_keys),
             "expected a state dict (a dict of tensors), got a list");
  std::string nested = "\x80\x02}X\x05\x00\x00\x00model}s."s;
  EXPECT_HAS(torch_error(legacy_prefix() + nested + no_keys), "got a dict with keys 'model' and no tensors");
}

TEST(IoCorrupt, TensorViewOutsideStorage) {
  // main pickle: {'w': _rebuild_tensor_v2(pid('storage', FloatStorage, 'k', 'cpu', 2), 0, (5,), (1,), False, None)}
  std::string main = "\x80\x02}X\x01\x00\x00\x00w\x63torch._utils\n_rebuild_tensor_v2\n("
                     "(X\x07\x00\x00\x00storage\x63torch\nFloatStorage\nX\x01\x00\x00\x00kX\x03\x00\x00\x00"
                     "cpuK\x02NtQK\x00K\x05\x85K\x01\x85\x89NtRs."s;
  std::string keys = "\x80\x02]X\x01\x00\x00\x00k\x61."s;
  std::string storage = "\x02\0\0\0\0\0\0\0"s + std::string(8, '\0');
  EXPECT_HAS(torch_error(legacy_prefix() + main + keys + storage),
             "tensor view (size (5,), stride (1,), offset 0) does not fit its storage 'k' of 2 f32 elements");
  EXPECT_HAS(torch_error(legacy_prefix() + main + keys + storage.substr(0, 12)), "only 4 bytes remain");
}

TEST(IoCorrupt, UnpicklerRejectsMalformedStreams) {
  for (const std::string& p : {"\x80\x02"s, "\x80\x02t."s, "\x80\x02h\x05."s, "\x80\x02X\xff\xff\xff\x7f"s,
                               "\x80\x02(."s, "\x80\x02K\x01K\x02s."s, "\x80\x02\xff."s,
                               "\x80\x02\x63torch\nFloatStorage"s, "\x80\x02}\x00\x00."s, ""s}) {
    io::Unpickler u((const uint8_t*)p.data(), p.size(), "x.pkl");
    std::size_t pos = 0;
    std::string msg = error_of([&] { u.load(pos); });
    EXPECT_EQ(msg.rfind("x.pkl: ", 0), 0u) << msg;
  }
}

// Every truncation and thousands of random byte flips of each fixture: errors are fine, crashes are not.
TEST(IoCorrupt, ByteDamageNeverCrashes) {
  std::mt19937 rng(1234);
  for (const char* file : {"safetensors/model.safetensors", "bin/pytorch_model.bin", "legacy/pytorch_model.bin",
                           "deflated/pytorch_model.bin"}) {
    SCOPED_TRACE(file);
    const std::string good = read_file(kDir / file);
    bool st = std::string(file).starts_with("safetensors");
    auto attempt = [&](const std::string& b) {
      try {
        if (st) {
          io::parse_safetensors_header((const uint8_t*)b.data(), b.size(), "damaged");
        } else {
          for (auto& [name, t] : io::load_torch_checkpoint_bytes((const uint8_t*)b.data(), b.size(), "damaged"))
            if (t.dtype() != DType::f8_e4m3 && t.dtype() != DType::f8_e5m2) (void)t.to_float_vector();
        }
      } catch (const Error&) {
      }
    };
    for (std::size_t n = 0; n < good.size(); n += 1 + n / 64) attempt(good.substr(0, n));
    for (int i = 0; i < 3000; ++i) {
      std::string b = good;
      for (int k = 0, flips = 1 + (int)(rng() % 4); k < flips; ++k) b[rng() % b.size()] = (char)rng();
      attempt(b);
    }
  }
}
