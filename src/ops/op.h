// OpDef: what an op is (infer, decompose or reference loop, cost) and the dispatcher entry point.
// The list of ops is src/ops/ops.def; each family file in src/ops/defs/ defines its ops' OpDefs.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::ops {

enum class OpId : uint16_t {
#define TESSERA_OP(name, kind, family) name,
#include "ops/ops.def"
#undef TESSERA_OP
  count_
};
constexpr int kOpCount = (int)OpId::count_;

enum class OpKind : uint8_t { view, primitive, composite, library };
std::string_view op_kind_name(OpKind k);

// Attributes of one op call. Each op documents which fields it reads; the rest keep their defaults.
struct Attrs {
  std::vector<int64_t> ints;  // reshape/expand: shape; permute: dims
  int64_t axis = 0;           // slice/concat/reduce/softmax: the axis (already normalised to >= 0)
  int64_t start = 0, end = 0, step = 1;  // slice
  double scalar = 0.0;        // add_scalar/mul_scalar value, masked_fill value, norm eps
  DType dtype = DType::f32;   // cast target
  bool keepdim = false;       // reductions
  bool operator==(const Attrs&) const = default;
};

struct Cost {
  double flops = 0;  // floating-point operations
  double bytes = 0;  // bytes read + written (ideal, no cache effects)
};

using Metas = std::span<const TensorMeta>;
using Inputs = std::span<const Tensor>;

struct OpDef {
  std::string_view name;
  OpKind kind;
  int arity;  // number of inputs; -1 = variadic (concat)
  // Shape/dtype rules and every user-facing check. Inputs are already normalised by the public function.
  TensorMeta (*infer)(Metas in, const Attrs& a);
  // view ops: build the view.        composites: the reference, in terms of other ops.
  Tensor (*view)(Inputs in, const Attrs& a) = nullptr;
  Tensor (*decompose)(Inputs in, const Attrs& a) = nullptr;
  // primitives and library ops: the naive reference loop writing into a preallocated contiguous `out`.
  void (*reference)(Inputs in, const Tensor& out, const Attrs& a) = nullptr;
  Cost (*cost)(Metas in, const Attrs& a, const TensorMeta& out) = nullptr;
  std::string (*format_attrs)(const Attrs& a) = nullptr;  // for graph printing; nullptr = no attributes
  // Checks that need input values (e.g. embedding ids in range), run in eager mode before the kernel. Inputs may be
  // device tensors: read values with to_int_vector()/to_float_vector() (which copy just that tensor to the host).
  void (*check_values)(Inputs in, const Attrs& a) = nullptr;
};

const OpDef& op_def(OpId id);
std::string_view op_name(OpId id);

// Runs (and, under capture, records) one op. The single entry point every public op function goes through.
Tensor call(OpId id, Inputs in, const Attrs& a = {});

// Execution mode of the calling thread: fast (backend kernels) or reference (decompose / naive loops).
enum class ExecMode : uint8_t { fast, reference };
ExecMode exec_mode();
class ExecModeGuard {
 public:
  explicit ExecModeGuard(ExecMode m);
  ~ExecModeGuard();
  ExecModeGuard(const ExecModeGuard&) = delete;
  ExecModeGuard& operator=(const ExecModeGuard&) = delete;

 private:
  ExecMode saved_;
};

// Observer of executed ops (graph capture installs one). Only top-level calls are reported: ops that run
// inside another op's decomposition are not.
class OpObserver {
 public:
  virtual ~OpObserver() = default;
  virtual void on_op(OpId id, Inputs in, const Attrs& a, const Tensor& out) = 0;
  // True when the ops are being recorded to run later (graph capture): then code that would run work outside
  // the op table (sdpa's fused backends) must express it as ops instead. Observers that only watch an eager run
  // (profilers, kernel traces) return false, so what they watch is what runs unobserved.
  virtual bool records_graph() const { return true; }
};
OpObserver* set_op_observer(OpObserver* observer);  // returns the previous one (thread-local)

// Helpers shared by op definitions.
// The dtype reference decompositions accumulate in: f64 for f64, else f32 (as PyTorch's CPU kernels).
inline DType accumulation_dtype(DType dt) { return dt == DType::f64 ? DType::f64 : DType::f32; }
int64_t normalize_axis(int64_t axis, int64_t rank, std::string_view op);
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);
Cost elementwise_cost(Metas in, const TensorMeta& out, double flops_per_element);

}  // namespace tessera::ops
