// Cases for causal_conv1d, selective_scan and selective_scan_state (Note [selective scan inputs] in
// src/ops/defs/ssm.cpp): T in {1, 7, 64}, N in {8, 16}, with/without z and delta_bias, f32 and bf16, model layouts,
// and odd sizes (several chunks, partial channel blocks, N not a multiple of 8).
#include "ops/harness.h"

namespace tessera::testing {

namespace {
// attrs.ints = {has_z, has_delta_bias, has_initial_state, delta_softplus}
ops::Attrs flags(bool z, bool bias, bool h0, bool softplus = true) { return {.ints = {z, bias, h0, softplus}}; }
}  // namespace

std::vector<OpCase> ssm_cases() {
  using ops::OpId;
  constexpr DType f32 = DType::f32;
  std::vector<OpCase> v;
  const int64_t B = 2, C = 20;  // 20 channels: one full block of 16 and a partial one
  for (DType dt : {DType::f32, DType::bf16})
    for (int64_t T : {1, 7, 64})
      for (int64_t N : {8, 16})
        for (bool gated : {false, true}) {
          std::string name = fmt::format("selective_scan_{}_T{}_N{}{}", dtype_name(dt), T, N, gated ? "_z_bias" : "");
          std::vector<InputSpec> ins{in({B, C, T}, dt), in({B, C, T}, dt), in({C, N}, f32, Layout::contiguous, Values::negative),
                                     in({B, N, T}, dt), in({B, N, T}, dt), in({C}, f32)};
          if (gated) {
            ins.push_back(in({B, C, T}, dt));
            ins.push_back(in({C}, f32));
          }
          v.push_back({name, OpId::selective_scan, ins, flags(gated, gated, false), 4});
          std::vector<InputSpec> st{ins[0], ins[1], ins[2], ins[3]};
          if (gated) st.push_back(in({C}, f32));
          v.push_back({fmt::format("selective_scan_state_{}_T{}_N{}{}", dtype_name(dt), T, N, gated ? "_bias" : ""),
                       OpId::selective_scan_state, st, flags(false, gated, false), 4});
        }
  // The model's layouts: u, delta, z are transposed views of (B, T, C); B and C of (B, T, N).
  Layout tr = Layout::transposed;
  v.push_back({"selective_scan_model_layout", OpId::selective_scan,
               {in({B, 40, 33}, f32, tr), in({B, 40, 33}, f32, tr), in({40, 12}, f32, Layout::contiguous, Values::negative),
                in({B, 12, 33}, f32, tr), in({B, 12, 33}, f32, tr), in({40}), in({B, 40, 33}, f32, tr), in({40})},
               flags(true, true, false), 4});
  v.push_back({"selective_scan_initial_state", OpId::selective_scan,
               {in({B, C, 5}), in({B, C, 5}), in({C, 8}, f32, Layout::contiguous, Values::negative), in({B, 8, 5}),
                in({B, 8, 5}), in({C}), in({B, C, 5}), in({C}), in({B, C, 8})},
               flags(true, true, true), 4});
  v.push_back({"selective_scan_state_initial_state", OpId::selective_scan_state,
               {in({B, C, 1}, f32, tr), in({B, C, 1}, f32, tr), in({C, 16}, f32, Layout::contiguous, Values::negative),
                in({B, 16, 1}, f32, tr), in({C}), in({B, C, 16})},
               flags(false, true, true), 4});
  v.push_back({"selective_scan_no_softplus", OpId::selective_scan,
               {in({1, C, 9}, f32, Layout::contiguous, Values::positive), in({1, C, 9}, f32, Layout::contiguous, Values::positive),
                in({C, 8}, f32, Layout::contiguous, Values::negative), in({1, 8, 9}), in({1, 8, 9}), in({C})},
               flags(false, false, false, false), 4});
  // Odd sizes for the tiled kernel (Note [scan loop order]): several chunks and a partial one (T 150), a partial
  // channel block (C 37), state counts that are not a multiple of the state group (5, 12, 17), the model layout.
  for (int64_t N : {5, 12, 17}) {
    std::vector<InputSpec> ins{in({B, 37, 150}), in({B, 37, 150}), in({37, N}, f32, Layout::contiguous, Values::negative),
                               in({B, N, 150}), in({B, N, 150}), in({37}), in({B, 37, 150}), in({37}), in({B, 37, N})};
    v.push_back({fmt::format("selective_scan_C37_T150_N{}", N), OpId::selective_scan, ins, flags(true, true, true), 4});
    v.push_back({fmt::format("selective_scan_state_C37_T150_N{}", N), OpId::selective_scan_state,
                 {ins[0], ins[1], ins[2], ins[3], ins[7], ins[8]}, flags(false, true, true), 4});
  }
  v.push_back({"selective_scan_model_layout_T200", OpId::selective_scan,
               {in({B, 48, 200}, f32, tr), in({B, 48, 200}, f32, tr), in({48, 16}, f32, Layout::contiguous, Values::negative),
                in({B, 16, 200}, f32, tr), in({B, 16, 200}, f32, tr), in({48}), in({B, 48, 200}, f32, tr), in({48})},
               flags(true, true, false), 4});
  v.push_back({"selective_scan_f64_reference", OpId::selective_scan,
               {in({1, 4, 6}, DType::f64), in({1, 4, 6}, DType::f64), in({4, 8}, DType::f64, Layout::contiguous, Values::negative),
                in({1, 8, 6}, DType::f64), in({1, 8, 6}, DType::f64), in({4}, DType::f64)},
               flags(false, false, false)});

  for (DType dt : {DType::f32, DType::bf16})
    for (int64_t T : {1, 7, 64}) {
      std::string d(dtype_name(dt));
      v.push_back({fmt::format("causal_conv1d_{}_T{}", d, T), OpId::causal_conv1d, {in({B, C, T}, dt), in({C, 4}, dt), in({C}, dt)}});
      v.push_back({fmt::format("causal_conv1d_{}_T{}_no_bias", d, T), OpId::causal_conv1d, {in({B, C, T}, dt), in({C, 4}, dt)}});
    }
  v.push_back({"causal_conv1d_model_layout_K3", OpId::causal_conv1d, {in({3, 40, 70}, f32, tr), in({40, 3}), in({40})}});
  v.push_back({"causal_conv1d_model_layout_T150", OpId::causal_conv1d, {in({2, 35, 150}, f32, tr), in({35, 4}), in({35})}});
  v.push_back({"causal_conv1d_T150", OpId::causal_conv1d, {in({2, 48, 150}), in({48, 4}), in({48})}});
  v.push_back({"causal_conv1d_K1", OpId::causal_conv1d, {in({1, 5, 6}), in({5, 1}), in({5})}});
  v.push_back({"causal_conv1d_K_longer_than_T", OpId::causal_conv1d, {in({2, 17, 3}), in({17, 6}), in({17})}});
  v.push_back({"causal_conv1d_sliced_input", OpId::causal_conv1d, {in({2, 18, 9}, f32, Layout::sliced), in({18, 4}), in({18})}});
  // causal_conv1d_silu: its decomposition (conv, then SiLU of the rounded conv) and any fused kernel.
  for (DType dt : {DType::f32, DType::bf16, DType::f16}) {
    std::string d(dtype_name(dt));
    v.push_back({"causal_conv1d_silu_" + d, OpId::causal_conv1d_silu, {in({B, C, 37}, dt), in({C, 4}, dt), in({C}, dt)}});
  }
  v.push_back({"causal_conv1d_silu_no_bias", OpId::causal_conv1d_silu, {in({2, 18, 9}), in({18, 4})}});
  v.push_back({"causal_conv1d_silu_model_layout", OpId::causal_conv1d_silu, {in({2, 35, 150}, f32, tr), in({35, 4}), in({35})}});
  return v;
}

}  // namespace tessera::testing
