"""A fast, numerically equivalent training forward for transformers' MambaMixer (no mamba-ssm / CUDA kernels).

Without mamba-ssm (and without mambapy) transformers 5.17 runs the selective scan as a Python loop over every
time step (`mamba_selective_scan`, "Recurrent iteration"): T sequential steps per layer, forward and backward.
`patch_mamba(model)` swaps every MambaMixer's forward for `fast_mixer_forward`, which computes the same function
(same parameters, same state-dict; the weights load unchanged into MambaModel and the C++ engine) with a chunked
scan written in plain PyTorch ops (autograd, CPU and CUDA, bf16-autocast safe: the scan runs in f32).

The recurrence, per batch b, channel d, state n:
    h_t = exp(A Δ_t) h_{t-1} + Δ_t B_t u_t,      y_t = Σ_n C_t h_t + D u_t,      A = -exp(A_log) < 0
Split T into nc chunks of L steps; cum_t = Σ_{i ≤ t in its chunk} Δ_i (inclusive cumsum inside a chunk). Then
for s ≤ t in one chunk the decay is Π_{s<i≤t} exp(A Δ_i) = exp(A (cum_t − cum_s)) with cum_t − cum_s ≥ 0, so
every exponent is ≤ 0 (no overflow, ever; at most harmless underflow to 0).

mode="recurrent" (default; memory O(B·D·N·T)):
  1. chunk-end local states (zero initial state), all chunks at once:
         e_c = Σ_s exp(A (cum_L − cum_s)) Δ_s u_s B_s
  2. state passing over chunks (nc small steps on (B, D, N)):
         S_c = exp(A cum_L) S_{c−1} + e_c,  S_{−1} = 0;  the chunk's initial state is S_{c−1}
  3. inside the chunks, all chunks in parallel, L steps from the true initial state:
         h ← exp(A Δ_l) h + Δ_l B_l u_l,  y_l = Σ_n C_l h
  Python steps: nc + L (48 for T=512, L=32) instead of T.
mode="quadratic" (the SSD-style form, memory O(B·D·N·T·L)): step 3 replaced by an einsum over the masked L×L
  decay matrix exp(A (cum_t − cum_s)) [s ≤ t] plus the initial-state term Σ_n C_t exp(A cum_t) S_{c−1}[n].

  from fast_mamba import patch_mamba; patch_mamba(model)   # model: MambaModel / MambaForCausalLM / anything
"""
import math
import types

import torch
import torch.nn.functional as F

from transformers.models.mamba import modeling_mamba as _mm


def selective_scan_chunked(u, delta, A, Bm, Cm, chunk=32, mode="recurrent", return_last_state=False):
    """y_t = Σ_n C_t[n] h_t[:, n] for h_t = exp(A Δ_t) h_{t-1} + Δ_t B_t u_t, h_{-1} = 0 (no D skip, no gate).

    u, delta: (B, D, T); A: (D, N) (negative); Bm, Cm: (B, T, N). Computed in float32 with autocast disabled.
    Returns y (B, D, T) float32 [, last state (B, D, N) float32]."""
    with torch.autocast(device_type=u.device.type, enabled=False):
        u, delta, A, Bm, Cm = u.float(), delta.float(), A.float(), Bm.float(), Cm.float()
        bsz, d, t_len = u.shape
        n = A.shape[1]
        L = max(1, min(chunk, t_len))
        nc = math.ceil(t_len / L)
        pad = nc * L - t_len
        if pad:  # Δ = 0, u = 0 at the end: identity steps, outputs dropped, final state unchanged
            u = F.pad(u, (0, pad))
            delta = F.pad(delta, (0, pad))
            Bm = F.pad(Bm, (0, 0, 0, pad))
            Cm = F.pad(Cm, (0, 0, 0, pad))
        # Layout with the in-chunk position l leading so the per-step slices are contiguous:
        dl = delta.view(bsz, d, nc, L).permute(3, 0, 1, 2)  # (L, B, D, nc)
        du = dl * u.view(bsz, d, nc, L).permute(3, 0, 1, 2)  # Δ u, (L, B, D, nc)
        Bl = Bm.view(bsz, nc, L, n).permute(2, 0, 1, 3).unsqueeze(2)  # (L, B, 1, nc, N)
        Cl = Cm.view(bsz, nc, L, n).permute(2, 0, 1, 3).unsqueeze(2)  # (L, B, 1, nc, N)
        An = A[:, None, :]  # (D, 1, N) broadcasting against (..., D, nc, N)
        cum = torch.cumsum(dl, dim=0)  # inclusive in-chunk cumsum of Δ, (L, B, D, nc)
        total = cum[-1]  # (B, D, nc)
        # 1. chunk-end local states: e_c = Σ_s exp(A (cum_L - cum_s)) Δ_s u_s B_s   (exponent ≤ 0)
        # Σ_{s<i≤L} Δ_i as a direct suffix sum (not cum_L - cum_s: no cancellation when Δ varies a lot)
        suffix = torch.flip(torch.cumsum(torch.flip(dl, (0,)), dim=0), (0,))  # Σ_{i≥s} Δ_i
        seg_end = torch.cat([suffix[1:], torch.zeros_like(suffix[:1])], dim=0)  # Σ_{i>s} Δ_i ≥ 0, (L, B, D, nc)
        dBu = du.unsqueeze(-1) * Bl  # (L, B, D, nc, N)
        e = (torch.exp(seg_end.unsqueeze(-1) * An) * dBu).sum(0)  # (B, D, nc, N)
        # 2. state passing across chunks
        chunk_decay = torch.exp(total.unsqueeze(-1) * An)  # (B, D, nc, N)
        state = u.new_zeros(bsz, d, n)
        inits = []
        for c in range(nc):
            inits.append(state)
            state = chunk_decay[:, :, c] * state + e[:, :, c]
        init = torch.stack(inits, dim=2)  # (B, D, nc, N): the state entering each chunk
        # 3. outputs inside the chunks, all chunks at once
        if mode == "recurrent":
            dA = torch.exp(dl.unsqueeze(-1) * An)  # (L, B, D, nc, N)
            h = init
            ys = []
            for l in range(L):
                h = dA[l] * h + dBu[l]
                ys.append((h * Cl[l]).sum(-1))
            y = torch.stack(ys, dim=0)  # (L, B, D, nc)
        elif mode == "quadratic":
            cum_c = cum.permute(1, 2, 3, 0)  # (B, D, nc, L)
            # seg[t, s] = Σ_{s<i≤t} Δ_i summed directly (the SSD "segsum"), not cum_t - cum_s (cancellation)
            causal = torch.ones(L, L, dtype=torch.bool, device=u.device).tril()
            strict = torch.ones(L, L, dtype=torch.bool, device=u.device).tril(-1)
            d_c = dl.permute(1, 2, 3, 0)  # (B, D, nc, L)
            seg = torch.cumsum(d_c.unsqueeze(-1).expand(*d_c.shape, L).masked_fill(~strict, 0), dim=-2)
            logdec = seg.unsqueeze(3) * A[None, :, None, :, None, None]  # (B, D, nc, N, L_t, L_s)
            decay = torch.exp(torch.where(causal, logdec, torch.full_like(logdec, -math.inf)))
            Bc, Cc = Bl.squeeze(2).permute(1, 2, 0, 3), Cl.squeeze(2).permute(1, 2, 0, 3)  # (B, nc, L, N)
            du_c = du.permute(1, 2, 3, 0)  # (B, D, nc, L)
            y_intra = torch.einsum("bdcnts,bctn,bcsn,bdcs->bdct", decay, Cc, Bc, du_c)
            y_init = torch.einsum("bctn,bdctn,bdcn->bdct", Cc, torch.exp(cum_c.unsqueeze(-1) * An.unsqueeze(2)), init)
            y = (y_intra + y_init).permute(3, 0, 1, 2)  # (L, B, D, nc)
        else:
            raise ValueError(f"unknown scan mode {mode!r}")
        y = y.permute(1, 2, 3, 0).reshape(bsz, d, nc * L)[:, :, :t_len]
    if return_last_state:
        return y, state
    return y


def fast_mixer_forward(self, hidden_states, cache_params=None, attention_mask=None, **kwargs):
    """MambaMixer.forward (transformers 5.17, torch fallback path) with the chunked scan. Decoding steps with a
    filled cache (generation) go to the original forward."""
    if cache_params is not None and cache_params.has_previous_state(self.layer_idx):
        return type(self).forward(self, hidden_states, cache_params=cache_params, attention_mask=attention_mask,
                                  **kwargs)
    seq_len = hidden_states.shape[1]
    dtype = hidden_states.dtype
    # 1. Gated MLP's linear projection
    hidden_states = _mm.apply_mask_to_padding_states(hidden_states, attention_mask)
    projected_states = self.in_proj(hidden_states).transpose(1, 2)
    A = -torch.exp(self.A_log.float())
    hidden_states_B_C, gate = projected_states.chunk(2, dim=1)
    # 2. Causal depthwise convolution (+ bias) and SiLU, exactly as causal_conv1d_fn
    if cache_params is not None:
        hidden_states_B_C = cache_params.update_conv_state(hidden_states_B_C, self.layer_idx,
                                                           conv_kernel_size=self.conv_kernel_size)
    weight = self.conv1d.weight  # (D, 1, K)
    x = F.conv1d(hidden_states_B_C.to(weight.dtype), weight=weight, bias=self.conv1d.bias,
                 padding=weight.shape[-1] - 1, groups=self.intermediate_size)[:, :, :hidden_states_B_C.shape[-1]]
    hidden_states_B_C = self.act(x).to(hidden_states_B_C.dtype)
    if cache_params is not None:
        hidden_states_B_C = hidden_states_B_C[:, :, -seq_len:]
    # 3. SSM parameters
    hidden_states_B_C = _mm.apply_mask_to_padding_states(hidden_states_B_C.transpose(1, 2), attention_mask)
    time_step, B, C = torch.split(self.x_proj(hidden_states_B_C),
                                  [self.time_step_rank, self.ssm_state_size, self.ssm_state_size], dim=-1)
    time_step = self.dt_proj.weight @ time_step.transpose(1, 2)  # (B, D, T)
    if self.dt_proj.bias is not None:
        time_step = time_step + self.dt_proj.bias.float().to(time_step.dtype)[..., None]
    delta = F.softplus(time_step)
    u = hidden_states_B_C.transpose(1, 2)  # (B, D, T)
    cfg = getattr(self, "_fast_scan_cfg", {})
    y, last_state = selective_scan_chunked(u, delta, A, B, C, chunk=cfg.get("chunk", 32),
                                           mode=cfg.get("mode", "recurrent"), return_last_state=True)
    with torch.autocast(device_type=u.device.type, enabled=False):
        y = y + u.float() * self.D.float()[None, :, None]
        y = y * F.silu(gate.float())
    if cache_params is not None:
        cache_params.update_recurrent_state(last_state, self.layer_idx)
    # 4. Final linear projection
    return self.out_proj(y.transpose(1, 2).to(dtype))


def patch_mamba(model, chunk=32, mode="recurrent"):
    """Replace the forward of every MambaMixer inside `model` with the fast path (instance attribute only: the
    class, the parameters and the state dict are untouched). Returns the number of mixers patched."""
    count = 0
    for module in model.modules():
        if isinstance(module, _mm.MambaMixer):
            module._fast_scan_cfg = {"chunk": chunk, "mode": mode}
            module.forward = types.MethodType(fast_mixer_forward, module)
            count += 1
    return count


def unpatch_mamba(model):
    for module in model.modules():
        if isinstance(module, _mm.MambaMixer) and "forward" in module.__dict__:
            del module.forward
