// cuBLASLt plans and calls of the CUDA GEMM kernels (gemm_lt.h), and the process-wide TF32 option of
// backends/gemm_options.h for CUDA builds.
#include "backends/cuda/kernels/gemm_lt.h"

#include <cublasLt.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <map>
#include <memory>
#include <mutex>

#include "backends/cuda/runtime/runtime.h"
#include "backends/gemm_options.h"

namespace tessera::backends {
namespace {
std::atomic<bool> g_allow_tf32{false};  // Note [TF32 off by default]
}
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow, std::memory_order_relaxed); }
bool allow_tf32() { return g_allow_tf32.load(std::memory_order_relaxed); }
}  // namespace tessera::backends

namespace tessera::backends::cuda {

namespace {
constexpr std::size_t kMaxWorkspace = 32u << 20;  // what the heuristic may ask for (split-K, stream-K)
constexpr std::size_t kMaxPlans = 1024;           // per device; cleared when full (shapes vary with sequence length)
constexpr int kMaxDevices = 16;

std::atomic<int64_t> g_queries{0}, g_matmuls{0};

// Names the failing call: op, inputs, GEMM shape, dtype, status.
struct CallContext {
  const LtGemm& g;
  std::string_view op;
  ops::Inputs in;
};

void check_lt(cublasStatus_t status, const char* what, const CallContext& ctx) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string inputs;
  for (const Tensor& t : ctx.in)
    inputs += fmt::format("{}{} {}", inputs.empty() ? "" : ", ", dtype_name(t.dtype()), shape_str(t.shape()));
  const LtGemm& g = ctx.g;
  TESSERA_CHECK(false, "{}: {} failed with {} (inputs [{}]; {} GEMM m={} n={} k={} batch={}{})", ctx.op, what,
                cublasLtGetStatusName(status), inputs, dtype_name(g.dtype), g.m, g.n, g.k, g.batch,
                g.bias ? " with bias" : "");
}

cudaDataType_t cuda_type(DType t) {
  switch (t) {
    case DType::f32: return CUDA_R_32F;
    case DType::f16: return CUDA_R_16F;
    case DType::bf16: return CUDA_R_16BF;
    default: break;
  }
  TESSERA_ASSERT(false, "cuBLASLt GEMM: unsupported dtype {}", dtype_name(t));
  return CUDA_R_32F;
}

// Largest power of two dividing `bits`, capped at 256 (cuBLASLt's default minimum-alignment preference).
uint32_t alignment(uintptr_t bits) {
  if (bits == 0) return 256;
  return (uint32_t)std::min<uintptr_t>(bits & (~bits + 1), 256);
}
// Alignment of every address the GEMM forms from an operand: its pointer, row starts and batch entries.
uint32_t operand_alignment(const void* data, int64_t ld, int64_t batch_stride, int64_t batch, std::size_t esize) {
  uintptr_t bits = (uintptr_t)data | (uintptr_t)(ld * (int64_t)esize);
  if (batch > 1) bits |= (uintptr_t)(batch_stride * (int64_t)esize);
  return alignment(bits);
}

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;  // cuBLASLt's A, B (our B, A) and C = D
  cublasLtMatmulAlgo_t algo{};
  std::size_t workspace = 0;
  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

struct Preference {
  cublasLtMatmulPreference_t p = nullptr;
  ~Preference() {
    if (p) cublasLtMatmulPreferenceDestroy(p);
  }
};

// dtype, tf32, m, n, k, batch, A (trans, ld, stride), B (trans, ld, stride), C stride, bias, alignments.
using PlanKey = std::array<int64_t, 17>;

struct DeviceLt {
  std::once_flag once;
  cublasLtHandle_t handle = nullptr;
  std::mutex mutex;  // guards `plans` and the bias pointer written into a cached descriptor before its call
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

// Note [cuBLASLt lifetime]: handles and plans are created on first use and never destroyed: tearing them down
// from static destructors could run after the CUDA context is gone. The process exit reclaims them.
DeviceLt& device_lt(int device) {
  static auto* all = new std::array<DeviceLt, kMaxDevices>();
  TESSERA_ASSERT(device >= 0 && device < kMaxDevices, "cuBLASLt: device index {}", device);
  DeviceLt& d = (*all)[device];
  std::call_once(d.once, [&] {
    set_device(device);
    cublasStatus_t status = cublasLtCreate(&d.handle);
    TESSERA_CHECK(status == CUBLAS_STATUS_SUCCESS, "cuda:{}: cublasLtCreate failed with {}", device,
                  cublasLtGetStatusName(status));
  });
  return d;
}

template <class T>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const T& value, const CallContext& ctx) {
  check_lt(cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof(T)), "cublasLtMatmulDescSetAttribute", ctx);
}

// A column-major layout (rows x cols, ld) with an optional strided batch.
cublasLtMatrixLayout_t make_layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                                   int64_t batch_stride, const CallContext& ctx) {
  cublasLtMatrixLayout_t layout = nullptr;
  check_lt(cublasLtMatrixLayoutCreate(&layout, type, (uint64_t)rows, (uint64_t)cols, ld), "cublasLtMatrixLayoutCreate",
           ctx);
  if (batch > 1) {
    const int32_t count = (int32_t)batch;
    check_lt(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
             "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)", ctx);
    check_lt(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride,
                                              sizeof(batch_stride)),
             "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)", ctx);
  }
  return layout;
}

// Note [Row-major through column-major BLAS]: cuBLASLt is column-major and a row-major (r x c) matrix with
// row stride ld is, to it, a column-major (c x r) matrix with the same ld. So C = A @ B (row-major) is computed
// as C^T = B^T A^T: cuBLASLt's A is our B, its B is our A, and its D (n x m, ld n) is our contiguous C. A
// transposed view (element (i, j) at i + j*ld) is a plain column-major matrix, passed with CUBLAS_OP_T.
std::unique_ptr<Plan> build_plan(cublasLtHandle_t handle, const LtGemm& g, bool tf32, uint32_t align_a,
                                 uint32_t align_b, uint32_t align_c, const CallContext& ctx) {
  auto p = std::make_unique<Plan>();
  const cudaDataType_t type = cuda_type(g.dtype);
  const cublasComputeType_t compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  check_lt(cublasLtMatmulDescCreate(&p->desc, compute, CUDA_R_32F), "cublasLtMatmulDescCreate", ctx);
  const int32_t trans_a = g.b.view.trans ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b = g.a.view.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_desc(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, trans_a, ctx);
  set_desc(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, trans_b, ctx);
  if (g.bias) {
    // The bias has D's type for f16/bf16/f32 outputs; one value per row of D (n), shared by all batch entries.
    set_desc(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, (uint32_t)CUBLASLT_EPILOGUE_BIAS, ctx);
    set_desc(p->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, (int32_t)type, ctx);
    set_desc(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, g.bias, ctx);  // the heuristic reads its alignment
  }
  // Stored shapes: our B (k x n) is column-major (n x k), or (k x n) when transposed; likewise our A (m x k).
  p->a = make_layout(type, g.b.view.trans ? g.k : g.n, g.b.view.trans ? g.n : g.k, g.b.view.ld, g.batch,
                     g.b.batch_stride, ctx);
  p->b = make_layout(type, g.a.view.trans ? g.m : g.k, g.a.view.trans ? g.k : g.m, g.a.view.ld, g.batch,
                     g.a.batch_stride, ctx);
  p->c = make_layout(type, g.n, g.m, g.n, g.batch, g.batch_stride_c, ctx);

  Preference pref;
  check_lt(cublasLtMatmulPreferenceCreate(&pref.p), "cublasLtMatmulPreferenceCreate", ctx);
  auto set_pref = [&](cublasLtMatmulPreferenceAttributes_t attr, const auto& value) {
    check_lt(cublasLtMatmulPreferenceSetAttribute(pref.p, attr, &value, sizeof(value)),
             "cublasLtMatmulPreferenceSetAttribute", ctx);
  };
  set_pref(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, (uint64_t)kMaxWorkspace);
  set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_b);  // cuBLASLt's A is our B
  set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_a);
  set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c);
  set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c);
  // Note [f32 accumulation]: split-K reductions "in place" or "in output type" sum partial products in f16/bf16;
  // for those outputs ask first for algorithms that keep partials in f32 (or don't split K), and take any
  // algorithm only if there is none.
  const bool low_precision = g.dtype != DType::f32;
  if (low_precision) set_pref(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, (uint32_t)CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE);

  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle, p->desc, p->a, p->b, p->c, p->c, pref.p, 1, &result, &count);
  if (low_precision && (status != CUBLAS_STATUS_SUCCESS || count == 0)) {
    set_pref(CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, (uint32_t)CUBLASLT_REDUCTION_SCHEME_MASK);
    status = cublasLtMatmulAlgoGetHeuristic(handle, p->desc, p->a, p->b, p->c, p->c, pref.p, 1, &result, &count);
  }
  check_lt(status, "cublasLtMatmulAlgoGetHeuristic", ctx);
  if (count == 0 || result.state != CUBLAS_STATUS_SUCCESS)
    check_lt(count == 0 ? CUBLAS_STATUS_NOT_SUPPORTED : result.state,
             "cublasLtMatmulAlgoGetHeuristic (no algorithm for these layouts and alignments)", ctx);
  p->algo = result.algo;
  p->workspace = result.workspaceSize;
  return p;
}
}  // namespace

void lt_matmul(const LtGemm& g, int device, std::string_view op, ops::Inputs in) {
  const CallContext ctx{g, op, in};
  TESSERA_ASSERT(g.m > 0 && g.n > 0 && g.k > 0 && g.batch > 0 && std::max({g.m, g.n, g.k, g.batch}) <= INT32_MAX,
                 "{}: GEMM m={} n={} k={} batch={}", op, g.m, g.n, g.k, g.batch);
  TESSERA_ASSERT(!g.bias || (uintptr_t)g.bias % 16 == 0, "{}: bias pointer not 16-byte aligned", op);
  const std::size_t esize = dtype_size(g.dtype);
  const bool tf32 = g.dtype == DType::f32 && allow_tf32();
  const uint32_t align_a = operand_alignment(g.a.data, g.a.view.ld, g.a.batch_stride, g.batch, esize);
  const uint32_t align_b = operand_alignment(g.b.data, g.b.view.ld, g.b.batch_stride, g.batch, esize);
  const uint32_t align_c = operand_alignment(g.c, g.n, g.batch_stride_c, g.batch, esize);
  const uint32_t align_bias = g.bias ? alignment((uintptr_t)g.bias) : 0;
  const bool batched = g.batch > 1;
  const PlanKey key{(int64_t)g.dtype,  tf32,          g.m,           g.n,      g.k,
                    g.batch,           g.a.view.trans, g.a.view.ld,  batched ? g.a.batch_stride : 0,
                    g.b.view.trans,    g.b.view.ld,   batched ? g.b.batch_stride : 0,
                    batched ? g.batch_stride_c : 0,    align_bias,   align_a,  align_b,
                    align_c};

  DeviceLt& d = device_lt(device);
  set_device(device);
  std::lock_guard lock(d.mutex);
  auto it = d.plans.find(key);
  if (it == d.plans.end()) {
    if (d.plans.size() >= kMaxPlans) d.plans.clear();
    it = d.plans.emplace(key, build_plan(d.handle, g, tf32, align_a, align_b, align_c, ctx)).first;
    g_queries.fetch_add(1, std::memory_order_relaxed);
  }
  Plan& p = *it->second;
  if (g.bias) set_desc(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, g.bias, ctx);
  Workspace workspace(p.workspace, device);  // stream-ordered: released after the matmul is queued
  const float alpha = 1.0f, beta = 0.0f;     // beta = 0: C is not read
  check_lt(cublasLtMatmul(d.handle, p.desc, &alpha, g.b.data, p.a, g.a.data, p.b, &beta, g.c, p.c, g.c, p.c, &p.algo,
                          workspace.data(), p.workspace, stream(device)),
           "cublasLtMatmul", ctx);
  g_matmuls.fetch_add(1, std::memory_order_relaxed);
}

LtStats lt_stats() { return {g_queries.load(), g_matmuls.load()}; }

}  // namespace tessera::backends::cuda
