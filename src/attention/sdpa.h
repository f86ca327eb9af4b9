// Scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v, with an explaining backend dispatcher
// (DESIGN.md §5): math / memory_efficient / flash / varlen (+ the later Hopper kernel), chosen or forced.
// Docs: docs/attention.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include "tessera/tensor.h"

namespace tessera::attention {

// X-macro: backend, one-line description. Order = the order explanations list them.
#define TESSERA_SDPA_BACKENDS(X)                                                                                    \
  X(math, "composed from tessera ops (matmul, softmax): the reference; any device, dtype, mask and head dim")       \
  X(memory_efficient, "CUDA tiled online softmax (f32 accumulation): any additive/boolean mask, f32/f16/bf16")       \
  X(flash, "CPU: tiled online-softmax kernel on the thread pool; CUDA: FA2-style mma.sync tensor cores, f16/bf16")  \
  X(varlen, "the flash kernels over per-sequence lengths: padded query rows skipped (zeros), padding never read")    \
  X(flash_hopper, "FA3-class Hopper kernel (TMA, WGMMA, warp specialisation, FP8): a later issue, not built yet")

enum class Backend : uint8_t {
  automatic,  // "auto": the first backend whose checks pass and whose heuristic agrees (sdpa_explain says why)
#define TESSERA_SDPA_BACKEND_ENUM(name, doc) name,
  TESSERA_SDPA_BACKENDS(TESSERA_SDPA_BACKEND_ENUM)
#undef TESSERA_SDPA_BACKEND_ENUM
};
std::string_view backend_name(Backend b);                  // "auto", "math", "flash", ...
std::string_view backend_description(Backend b);
std::optional<Backend> backend_from_name(std::string_view name);
std::vector<Backend> all_backends();                       // every backend but automatic, in X-macro order

// Options (designated initialisers). Masks combine: a key is attended iff every given mask allows it.
// Note [Fully masked rows]: a query row with no allowed key gets zeros from every backend (flash convention;
// PyTorch's math gives NaN). A finite additive mask (e.g. BERT's dtype-lowest padding) is not "masked".
struct SdpaOptions {
  Tensor mask;         // broadcastable to (B, H, Tq, Tk): floating = added to the scores; bool = true where allowed
  Tensor key_lengths;  // (B) i32/i64: keys t >= key_lengths[b] are masked (right padding: the fast path)
  // Note [Causal alignment]: key j is visible to query i iff j <= i + (Tk - Tq): bottom-right aligned, as
  // FlashAttention 2 (the last query sees every key, so Tq = 1 decoding over a cache works); Tq == Tk is tril.
  bool causal = false;
  std::optional<double> scale;  // default 1/sqrt(D)
  Backend backend = Backend::automatic;
  bool output_bthd = false;  // return (B, Tq, H, D) (reshapes to (B, Tq, H·D) for free) instead of (B, H, Tq, D)
  // Query rows t >= key_lengths[b] may be skipped and are zeros (self-attention whose padded outputs are ignored,
  // as transformers' flash-attention-2 unpad path). Needs key_lengths and Tq == Tk. Enables `varlen`.
  bool skip_padded_queries = false;
  Backend* ran = nullptr;  // out (optional): receives the backend that ran, for RunInfo and logs
};

// q: (B, H, Tq, D); k, v: (B, H, Tk, D); same dtype (f32/f16/bf16/f64) and device. Any strides (views such as
// BERT's permuted QKV slices are read in place by the kernels when the last dim is contiguous).
// Returns (B, H, Tq, D), or (B, Tq, H, D) with output_bthd, contiguous, in q's dtype.
Tensor sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& options = {});

// Packed variable-length attention (no padding anywhere): sequence b is rows [cu_seqlens_q[b], cu_seqlens_q[b + 1])
// of q (total_q, H, D) and rows [cu_seqlens_k[b], cu_seqlens_k[b + 1]) of k/v (total_k, H, D); cu_seqlens (B + 1)
// i32/i64 on the host or q's device. Returns (total_q, H, D) in q's dtype. On CUDA the flash kernel reads the
// packed rows by per-sequence offsets (backend `varlen`); elsewhere each sequence runs through sdpa().
struct VarlenOptions {
  bool causal = false;  // per sequence, bottom-right aligned (Note [Causal alignment])
  std::optional<double> scale;
  Backend backend = Backend::automatic;  // automatic or varlen (the packed kernel), or a backend for the per-sequence loop
  Backend* ran = nullptr;                // out (optional)
};
Tensor sdpa_varlen(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens_q, const Tensor& cu_seqlens_k,
                   const VarlenOptions& options = {});

// What a backend needs to know about a call, without data (the CLI explains shapes it never allocates).
enum class MaskKind : uint8_t { none, additive, boolean };
struct SdpaProblem {
  int64_t batch = 1, heads = 1, q_len = 1, k_len = 1, head_dim = 64;
  DType dtype = DType::f32;
  Device device{};
  MaskKind mask = MaskKind::none;
  DType mask_dtype = DType::boolean;  // the mask's dtype when mask != none
  bool key_lengths = false, causal = false, skip_padded_queries = false, output_bthd = false;
  bool last_dim_contiguous = true;  // q, k and v each have stride 1 on D
  bool aligned_16 = true;           // data pointers and non-last strides allow 16-byte vector loads
  bool eager = true;                // false under graph capture or reference mode (only `math` is recorded as ops)
  std::string summary() const;      // "q (2, 12, 128, 64) f16 on cuda:0, k/v Tk 128, mask none, key_lengths"
  bool operator==(const SdpaProblem&) const = default;
};
SdpaProblem describe(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& options);

struct Check {
  std::string id;        // "dtype", "head_dim", "mask", "arch", ...
  std::string expected;  // "f16|bf16"
  std::string got;       // "f32"
};
struct BackendReport {
  Backend backend;
  std::vector<Check> failed;  // every check that failed (empty = this backend can run the call)
  std::string heuristic;      // for a runnable backend auto passed over: the named heuristic that declined it
  bool ok() const { return failed.empty(); }
};
struct Explanation {
  SdpaProblem problem;
  Backend requested = Backend::automatic;
  Backend chosen = Backend::math;
  std::string reason;                  // the heuristic (or the forced choice) that picked `chosen`
  std::vector<BackendReport> backends;  // one per backend, in all_backends() order
  std::string to_string() const;
  nlohmann::json to_json() const;
};
// Never throws for a refused forced backend: `chosen` is then the requested one and `reason` says it can't run.
Explanation sdpa_explain(const SdpaProblem& problem, Backend requested = Backend::automatic);
Explanation sdpa_explain(const Tensor& q, const Tensor& k, const Tensor& v, const SdpaOptions& options = {});

// Logging (TESSERA_SDPA_LOG=1 in the CLI and test mains turns it on): each distinct call's explanation is
// printed once to stderr.
void set_sdpa_logging(bool on);
bool sdpa_logging();

}  // namespace tessera::attention
