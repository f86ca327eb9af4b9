// The op test harness (DESIGN.md §7): declared cases (dtypes × shapes × views) run through every CPU kernel
// that accepts them and compared with the op's reference; NaN/Inf parity; guard bytes around kernel outputs;
// capture + replay equal to eager bit for bit; and a coverage listing of ops and kernels exercised.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "ops/op.h"

namespace tessera::testing {

enum class Layout { contiguous, transposed, sliced, broadcast };
enum class Values { normal, positive, negative, integers, ids, boolean, specials };

struct InputSpec {
  Shape shape;
  DType dtype = DType::f32;
  Layout layout = Layout::contiguous;
  Values values = Values::normal;
  int64_t id_limit = 0;  // Values::ids: ids in [0, id_limit)
};

struct OpCase {
  std::string name;
  ops::OpId op;
  std::vector<InputSpec> inputs;
  ops::Attrs attrs;
  double tolerance_scale = 1.0;  // multiplies the dtype's tolerance (approximate math, long reductions)
};

inline void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

InputSpec in(Shape shape, DType dtype = DType::f32, Layout layout = Layout::contiguous, Values values = Values::normal);

// Family case lists (tests/ops/cases/<family>.cpp).
std::vector<OpCase> movement_cases();
std::vector<OpCase> elementwise_cases();
std::vector<OpCase> reduce_cases();
std::vector<OpCase> activation_cases();
std::vector<OpCase> norm_cases();
std::vector<OpCase> linalg_cases();
std::vector<OpCase> ssm_cases();
std::vector<OpCase> all_cases();

// Materialises an input: random values from `seed`, laid out as asked (a view of a larger buffer).
Tensor make_input(const InputSpec& spec, uint64_t seed);

struct CaseResult {
  std::string kernel;  // the kernel compared ("reference" when the backend has none for these inputs)
  double error = 0;    // normalised max error
  double tolerance = 0;
  std::string failure;  // empty when passed
  std::string host_fallbacks;  // run_case_on: "op xN, ..." for ops that ran on the host (Note [Host fallback])
};
CaseResult run_case(const OpCase& c, uint64_t seed);

// The case on `device` (inputs made as run_case makes them, copied there with their views: shape, strides and
// offset over a copy of the whole storage), against the CPU reference of the same inputs. When the device has a
// kernel for the inputs it runs twice into poisoned buffers with guard bytes (elements left unwritten or bytes
// written outside the output fail); then the eager call on the device (kernel, decomposition or host fallback)
// is compared too, and the ops that fell back to the host are listed in `host_fallbacks`.
CaseResult run_case_on(const OpCase& c, uint64_t seed, Device device);

}  // namespace tessera::testing
