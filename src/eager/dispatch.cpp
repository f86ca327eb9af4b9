// The eager dispatcher: infer (all user-facing checks), then a backend kernel if one exists, else the
// op's reference (view builder, decomposition or naive loop); reports top-level ops to the observer.
#include <map>
#include <mutex>

#include "backends/backend.h"
#include "ops/op.h"

namespace tessera::backends {
namespace {
std::mutex g_fallback_mutex;
std::map<std::string, int64_t, std::less<>> g_fallbacks;
}  // namespace

std::vector<HostFallback> host_fallbacks() {
  std::lock_guard lock(g_fallback_mutex);
  std::vector<HostFallback> out;
  for (const auto& [op, n] : g_fallbacks) out.push_back({op, n});
  return out;
}

void reset_host_fallbacks() {
  std::lock_guard lock(g_fallback_mutex);
  g_fallbacks.clear();
}

namespace {
void count_fallback(std::string_view op) {
  std::lock_guard lock(g_fallback_mutex);
  auto it = g_fallbacks.find(op);
  if (it == g_fallbacks.end()) it = g_fallbacks.emplace(std::string(op), 0).first;
  ++it->second;
}
}  // namespace
}  // namespace tessera::backends

namespace tessera::ops {

namespace {
thread_local ExecMode tl_mode = ExecMode::fast;
thread_local OpObserver* tl_observer = nullptr;
thread_local int tl_depth = 0;  // > 0 while inside another op's decomposition

struct DepthGuard {
  DepthGuard() { ++tl_depth; }
  ~DepthGuard() { --tl_depth; }
};
}  // namespace

ExecMode exec_mode() { return tl_mode; }
ExecModeGuard::ExecModeGuard(ExecMode m) : saved_(tl_mode) { tl_mode = m; }
ExecModeGuard::~ExecModeGuard() { tl_mode = saved_; }

OpObserver* set_op_observer(OpObserver* observer) {
  OpObserver* prev = tl_observer;
  tl_observer = observer;
  return prev;
}

Tensor call(OpId id, Inputs in, const Attrs& a) {
  const OpDef& def = op_def(id);
  TESSERA_ASSERT(def.arity < 0 || (int)in.size() == def.arity, "{}: {} inputs", def.name, in.size());
  std::vector<TensorMeta> metas;
  metas.reserve(in.size());
  for (const Tensor& t : in) {
    TESSERA_CHECK(t.defined(), "{}: an input tensor is undefined", def.name);
    metas.push_back(t.meta());
  }
  Device device = in.empty() ? Device{} : in[0].device();
  for (const Tensor& t : in)
    TESSERA_CHECK(t.device() == device, "{}: inputs are on different devices ({} and {}); move them with .to(device)",
                  def.name, to_string(device), to_string(t.device()));
  TensorMeta meta = def.infer(metas, a);
  meta.device = device;
  // check_values reads the values it needs through to_*_vector(), which copies device tensors to the host: only
  // those (embedding ids, say), never a whole weight table.
  if (def.check_values) def.check_values(in, a);

  Tensor out;
  if (def.kind == OpKind::view) {
    out = def.view(in, a);
  } else {
    const backends::KernelEntry* k = tl_mode == ExecMode::fast ? backends::device_kernel(device, id, in, a) : nullptr;
    if (k) {
      out = Tensor::empty(meta.shape, meta.dtype, meta.device);
      k->kernel(in, out, a);
    } else if (def.decompose) {
      DepthGuard depth;
      out = def.decompose(in, a);
      TESSERA_ASSERT(out.shape() == meta.shape && out.dtype() == meta.dtype, "{}: decomposition gave {} {}, infer {} {}",
                     def.name, dtype_name(out.dtype()), shape_str(out.shape()), dtype_name(meta.dtype),
                     shape_str(meta.shape));
      // A decomposition may return one of its inputs or a view of it; give the result its own identity.
      out = out.alias();
    } else if (device.type != DeviceType::cpu) {
      TESSERA_ASSERT(def.reference, "{} has neither a kernel, a decomposition nor a reference", def.name);
      backends::count_fallback(def.name);  // Note [Host fallback]
      std::vector<Tensor> host;
      for (const Tensor& t : in) host.push_back(t.cpu());
      Tensor host_out = Tensor::empty(meta.shape, meta.dtype);
      def.reference(host, host_out, a);
      out = host_out.to(device);
    } else {
      TESSERA_ASSERT(def.reference, "{} has neither a kernel, a decomposition nor a reference", def.name);
      out = Tensor::empty(meta.shape, meta.dtype, meta.device);
      def.reference(in, out, a);
    }
  }
  if (tl_observer && tl_depth == 0) tl_observer->on_op(id, in, a, out);
  return out;
}

}  // namespace tessera::ops
