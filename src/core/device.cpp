// Device selection and the device-generic entry points of core (allocator lookup, synchronise, describe),
// forwarding to the CUDA runtime when the build has one (core/device_runtime.h).
#include <charconv>

#include "core/device_runtime.h"
#include "tessera/tensor.h"

namespace tessera {

namespace {
DeviceRuntime& require_cuda(Device d) {
  DeviceRuntime* rt = cuda_runtime();
  TESSERA_CHECK(rt != nullptr, "{}: this build of Tessera has no CUDA backend (configure with -DTESSERA_CUDA=ON, "
                "preset 'cuda')", to_string(d));
  int n = rt->device_count();
  TESSERA_CHECK(n > 0, "{}: no CUDA device is usable: {}", to_string(d), rt->unavailable_reason());
  TESSERA_CHECK(d.index >= 0 && d.index < n, "{}: device index out of range (this machine has {} CUDA device{})",
                to_string(d), n, n == 1 ? "" : "s");
  return *rt;
}
}  // namespace

Device parse_device(std::string_view text) {
  if (text == "cpu") return {};
  if (text.starts_with("cuda")) {
    Device d{DeviceType::cuda, 0};
    std::string_view rest = text.substr(4);
    if (!rest.empty()) {
      TESSERA_CHECK(rest[0] == ':' && rest.size() > 1, "device '{}': expected cpu, cuda or cuda:N", text);
      auto [p, ec] = std::from_chars(rest.data() + 1, rest.data() + rest.size(), d.index);
      TESSERA_CHECK(ec == std::errc() && p == rest.data() + rest.size() && d.index >= 0,
                    "device '{}': expected cpu, cuda or cuda:N with N a device index", text);
    }
    require_cuda(d);
    return d;
  }
  TESSERA_CHECK(false, "device '{}': expected cpu, cuda or cuda:N", text);
  return {};
}

int cuda_device_count() {
  DeviceRuntime* rt = cuda_runtime();
  return rt ? rt->device_count() : 0;
}

bool cuda_is_available() { return cuda_device_count() > 0; }

std::string cuda_unavailable_reason() {
  DeviceRuntime* rt = cuda_runtime();
  if (!rt) return "this build has no CUDA backend (configure with -DTESSERA_CUDA=ON)";
  return rt->device_count() > 0 ? std::string() : rt->unavailable_reason();
}

std::string describe_device(Device d) {
  if (d.type == DeviceType::cpu) return "cpu";
  return require_cuda(d).describe(d.index);
}

Allocator& device_allocator(Device d) {
  if (d.type == DeviceType::cpu) return cpu_allocator();
  return require_cuda(d).allocator(d.index);
}

void synchronize(Device d) {
  if (d.type == DeviceType::cuda) require_cuda(d).synchronize(d.index);
}

void empty_cache(Device d) {
  if (d.type == DeviceType::cuda) require_cuda(d).empty_cache(d.index);
}

}  // namespace tessera
