// The CPU backend's kernel table: one line per fast kernel, with the inputs it accepts. Ops without a line
// (or whose line declines the inputs) run their reference. Listed explicitly: no static registration.
#include <thread>

#include "backends/backend.h"
#include "backends/cpu/convert.h"
#include "backends/cpu/gemm_f16.h"
#include "backends/cpu/kernels.h"

namespace tessera::backends {

namespace {
using ops::Attrs;
using ops::Inputs;
using ops::OpId;
using namespace cpu;

bool computable(const Tensor& t) { return t.device().type == DeviceType::cpu && compute_kind(t.dtype()) != ComputeKind::none; }
bool all_computable(Inputs in, const Attrs&) {
  for (const Tensor& t : in)
    if (!computable(t)) return false;
  return true;
}
bool float_inputs(Inputs in, const Attrs& a) {
  if (!all_computable(in, a)) return false;
  for (const Tensor& t : in)
    if (!dtype_is_floating(t.dtype())) return false;
  return true;
}
bool cast_ok(Inputs in, const Attrs& a) {
  return all_computable(in, a) && compute_kind(a.dtype) != ComputeKind::none;
}
// Integer division by zero would trap: integer div goes to the reference (which reports it).
bool div_ok(Inputs in, const Attrs& a) { return float_inputs(in, a); }
bool lastdim_contiguous(Inputs in, const Attrs& a) {
  return float_inputs(in, a) && in[0].is_contiguous() && in[0].dim() >= 1;
}
bool softmax_ok(Inputs in, const Attrs& a) { return lastdim_contiguous(in, a) && a.axis == in[0].dim() - 1; }
bool gather_ok(Inputs in, const Attrs&) { return in[0].device().type == DeviceType::cpu; }
bool concat_ok(Inputs in, const Attrs&) {
  for (const Tensor& t : in)
    if (!t.is_contiguous() || t.device().type != DeviceType::cpu) return false;
  return true;
}
bool reduce_ok(Inputs in, const Attrs& a) { return all_computable(in, a) && in[0].is_contiguous(); }
bool linear_ok(Inputs in, const Attrs& a) {
  if (!float_inputs(in, a) || in[0].dtype() == DType::f64) return false;
  return in[0].is_contiguous() || in[0].dim() >= 1;
}
bool matmul_ok(Inputs in, const Attrs& a) { return float_inputs(in, a); }
// f16 x f16 (-> f16) on the AVX512-FP16 GEMM when this CPU has it; otherwise the BLAS entries (f32 copies).
bool gemm_f16_ok(Inputs in, const Attrs& a) {
  return float_inputs(in, a) && in[0].dtype() == DType::f16 && in[1].dtype() == DType::f16 && f16_gemm_available();
}
// The state-space kernels compute in f32: f64 inputs go to the (f64) reference.
bool ssm_ok(Inputs in, const Attrs& a) {
  if (!float_inputs(in, a)) return false;
  for (const Tensor& t : in)
    if (t.dtype() == DType::f64) return false;
  return true;
}

const KernelEntry kTable[] = {
    {OpId::add, k_add, all_computable, "cpu.add"},
    {OpId::sub, k_sub, all_computable, "cpu.sub"},
    {OpId::mul, k_mul, all_computable, "cpu.mul"},
    {OpId::div, k_div, div_ok, "cpu.div"},
    {OpId::maximum, k_maximum, all_computable, "cpu.maximum"},
    {OpId::add_scalar, k_add_scalar, all_computable, "cpu.add_scalar"},
    {OpId::mul_scalar, k_mul_scalar, all_computable, "cpu.mul_scalar"},
    {OpId::neg, k_neg, all_computable, "cpu.neg"},
    {OpId::exp, k_exp, float_inputs, "cpu.exp"},
    {OpId::log, k_log, float_inputs, "cpu.log"},
    {OpId::sqrt, k_sqrt, float_inputs, "cpu.sqrt"},
    {OpId::rsqrt, k_rsqrt, float_inputs, "cpu.rsqrt"},
    {OpId::tanh, k_tanh, float_inputs, "cpu.tanh"},
    {OpId::erf, k_erf, float_inputs, "cpu.erf"},
    {OpId::relu, k_relu, float_inputs, "cpu.relu"},
    {OpId::gelu, k_gelu, float_inputs, "cpu.gelu"},
    {OpId::gelu_new, k_gelu_new, float_inputs, "cpu.gelu_new"},
    {OpId::silu, k_silu, float_inputs, "cpu.silu"},
    {OpId::sigmoid, k_sigmoid, float_inputs, "cpu.sigmoid"},
    {OpId::cast, k_cast, cast_ok, "cpu.cast"},
    {OpId::contiguous, k_contiguous, all_computable, "cpu.contiguous"},
    {OpId::where, k_where, all_computable, "cpu.where"},
    {OpId::sum, k_sum, reduce_ok, "cpu.sum"},
    {OpId::max, k_max, reduce_ok, "cpu.max"},
    {OpId::softmax, k_softmax_lastdim, softmax_ok, "cpu.softmax_lastdim"},
    {OpId::layer_norm, k_layer_norm, lastdim_contiguous, "cpu.layer_norm"},
    {OpId::rms_norm, k_rms_norm, lastdim_contiguous, "cpu.rms_norm"},
    {OpId::gather, k_gather, gather_ok, "cpu.gather"},
    {OpId::concat, k_concat, concat_ok, "cpu.concat"},
    {OpId::matmul, k_matmul_f16, gemm_f16_ok, "cpu.matmul_f16_avx512fp16"},
    {OpId::matmul, k_matmul, matmul_ok, "cpu.matmul_blas"},
    {OpId::linear, k_linear_f16, gemm_f16_ok, "cpu.linear_f16_avx512fp16"},
    {OpId::linear, k_linear, linear_ok, "cpu.linear_blas"},
    {OpId::causal_conv1d, k_causal_conv1d, ssm_ok, "cpu.causal_conv1d"},
    {OpId::causal_conv1d_silu, k_causal_conv1d_silu, ssm_ok, "cpu.causal_conv1d_silu"},
    {OpId::selective_scan, k_selective_scan, ssm_ok, "cpu.selective_scan"},
    {OpId::selective_scan_state, k_selective_scan_state, ssm_ok, "cpu.selective_scan_state"},
};

int g_threads = 0;
}  // namespace

const KernelEntry* cpu_kernel(ops::OpId op, ops::Inputs in, const ops::Attrs& a) {
  for (const KernelEntry& e : kTable)
    if (e.op == op && (!e.supports || e.supports(in, a))) return &e;
  return nullptr;
}

std::span<const KernelEntry> cpu_kernel_table() { return kTable; }

int cpu_threads() { return g_threads > 0 ? g_threads : std::max(1, (int)std::thread::hardware_concurrency()); }
void set_cpu_threads(int n) { g_threads = n; }

}  // namespace tessera::backends
