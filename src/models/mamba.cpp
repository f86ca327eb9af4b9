// Mamba as transformers computes it (modeling_mamba.py: MambaMixer, MambaBlock, MambaModel, MambaForCausalLM),
// plus the mamba_ssm checkpoint layout and its mean-pooled classification head.
#include "models/mamba.h"

#include <algorithm>
#include <cmath>

#include "models/layers/labels.h"
#include "tessera/io.h"
#include "tessera/ops.h"

namespace tessera::models {

namespace {
// time_step_rank / dt_rank: "auto" = ceil(hidden_size / 16), else an integer.
int64_t resolve_rank(const nlohmann::json& j, std::string_view key, int64_t hidden, const std::string& source) {
  if (!j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key] == "auto")) return (hidden + 15) / 16;
  TESSERA_CHECK(j[key].is_number_integer() && j[key].get<int64_t>() > 0, "{}: field '{}' must be \"auto\" or a positive integer, got {}",
                source, key, j[key].dump());
  return j[key].get<int64_t>();
}

std::vector<int64_t> token_ids(const io::JsonFields& f, std::string_view key, std::vector<int64_t> fallback) {
  if (!f.has(key)) return f.json().contains(key) ? std::vector<int64_t>{} : fallback;  // explicit null: none
  if (f.json()[key].is_array()) return f.get<std::vector<int64_t>>(key, {});
  return {f.require<int64_t>(key)};
}

void validate(const MambaConfig& c) {
  auto positive = [&](int64_t v, const char* key) { TESSERA_CHECK(v > 0, "{}: field '{}' must be positive, got {}", c.source, key, v); };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, c.layout == MambaLayout::hf ? "hidden_size" : "d_model");
  positive(c.state_size, c.layout == MambaLayout::hf ? "state_size" : "ssm_cfg.d_state");
  positive(c.num_hidden_layers, c.layout == MambaLayout::hf ? "num_hidden_layers" : "n_layer");
  positive(c.expand, "expand");
  positive(c.conv_kernel, c.layout == MambaLayout::hf ? "conv_kernel" : "ssm_cfg.d_conv");
  TESSERA_CHECK(ops::is_known_activation(c.hidden_act), "{}: hidden_act '{}' is not supported", c.source, c.hidden_act);
}
}  // namespace

bool MambaConfig::is_mamba_ssm_config(const nlohmann::json& j) {
  return j.is_object() && j.contains("d_model") && j.contains("n_layer");
}

MambaConfig MambaConfig::from_json(const nlohmann::json& j, std::string source) {
  io::JsonFields f(j, source);
  MambaConfig c;
  c.source = source;
  if (is_mamba_ssm_config(j)) {  // mamba_ssm's MambaConfig (mamba_ssm/models/config_mamba.py) + MixerModel defaults
    c.layout = MambaLayout::mamba_ssm;
    c.hidden_size = f.require<int64_t>("d_model");
    c.num_hidden_layers = f.require<int64_t>("n_layer");
    c.vocab_size = f.get<int64_t>("vocab_size", 50277);
    c.rms_norm = f.get<bool>("rms_norm", true);
    c.residual_in_fp32 = f.get<bool>("residual_in_fp32", true);
    c.tie_word_embeddings = f.get<bool>("tie_embeddings", true);
    int64_t multiple = f.get<int64_t>("pad_vocab_size_multiple", 8);
    TESSERA_CHECK(multiple > 0, "{}: field 'pad_vocab_size_multiple' must be positive, got {}", source, multiple);
    if (c.vocab_size % multiple != 0) c.vocab_size += multiple - c.vocab_size % multiple;  // as MambaLMHeadModel
    TESSERA_CHECK(f.get<int64_t>("d_intermediate", 0) == 0 && f.get<std::vector<int64_t>>("attn_layer_idx", {}).empty(),
                  "{}: hybrid mamba_ssm models (d_intermediate, attn_layer_idx) are not supported", source);
    nlohmann::json ssm = j.contains("ssm_cfg") && j["ssm_cfg"].is_object() ? j["ssm_cfg"] : nlohmann::json::object();
    io::JsonFields s(ssm, source + " ssm_cfg");
    std::string layer = s.get<std::string>("layer", "Mamba1");
    TESSERA_CHECK(layer == "Mamba1", "{}: ssm_cfg.layer '{}' is not supported (only Mamba1)", source, layer);
    c.state_size = s.get<int64_t>("d_state", 16);
    c.conv_kernel = s.get<int64_t>("d_conv", 4);
    c.expand = s.get<int64_t>("expand", 2);
    c.use_conv_bias = s.get<bool>("conv_bias", true);
    c.use_bias = s.get<bool>("bias", false);
    c.time_step_rank = resolve_rank(ssm, "dt_rank", c.hidden_size, source + " ssm_cfg");
    c.pad_token_id = f.get_optional<int64_t>("pad_token_id");
    c.eos_token_ids = token_ids(f, "eos_token_id", {0});  // GPT-NeoX <|endoftext|>
  } else {  // transformers' MambaConfig
    c.vocab_size = f.get<int64_t>("vocab_size", c.vocab_size);
    c.hidden_size = f.get<int64_t>("hidden_size", c.hidden_size);
    c.state_size = f.get<int64_t>("state_size", c.state_size);
    c.num_hidden_layers = f.get<int64_t>("num_hidden_layers", c.num_hidden_layers);
    c.layer_norm_epsilon = f.get<double>("layer_norm_epsilon", c.layer_norm_epsilon);
    c.expand = f.get<int64_t>("expand", c.expand);
    c.conv_kernel = f.get<int64_t>("conv_kernel", c.conv_kernel);
    c.use_bias = f.get<bool>("use_bias", c.use_bias);
    c.use_conv_bias = f.get<bool>("use_conv_bias", c.use_conv_bias);
    c.hidden_act = f.get<std::string>("hidden_act", c.hidden_act);
    c.initializer_range = f.get<double>("initializer_range", c.initializer_range);
    c.residual_in_fp32 = f.get<bool>("residual_in_fp32", c.residual_in_fp32);
    c.tie_word_embeddings = f.get<bool>("tie_word_embeddings", c.tie_word_embeddings);
    c.time_step_rank = resolve_rank(j, "time_step_rank", c.hidden_size, source);
    c.pad_token_id = j.contains("pad_token_id") ? f.get_optional<int64_t>("pad_token_id") : c.pad_token_id;
    c.bos_token_id = j.contains("bos_token_id") ? f.get_optional<int64_t>("bos_token_id") : c.bos_token_id;
    c.eos_token_ids = token_ids(f, "eos_token_id", c.eos_token_ids);
  }
  c.id2label = read_id2label(j, f, c.source, /*default_num_labels=*/0);
  validate(c);
  return c;
}

MambaConfig MambaConfig::mamba_130m() {
  MambaConfig c;
  c.hidden_size = 768;
  c.num_hidden_layers = 24;
  c.vocab_size = 50280;
  c.time_step_rank = 48;
  c.source = "mamba_130m preset";
  return c;
}

MambaMixer::MambaMixer(const Weights& w, const MambaConfig& c)
    : intermediate_(c.intermediate_size()),
      state_(c.state_size),
      rank_(c.time_step_rank),
      kernel_(c.conv_kernel),
      in_proj_(w.scope("in_proj."), c.hidden_size, 2 * c.intermediate_size(), c.use_bias),
      x_proj_(w.scope("x_proj."), c.intermediate_size(), c.time_step_rank + 2 * c.state_size, /*bias=*/false),
      dt_proj_(w.scope("dt_proj."), c.time_step_rank, c.intermediate_size(), /*bias=*/true),
      out_proj_(w.scope("out_proj."), c.intermediate_size(), c.hidden_size, c.use_bias) {
  int64_t I = intermediate_;
  conv_weight_ = ops::squeeze(w.get("conv1d.weight", {I, 1, kernel_}), 1);     // (I, K)
  if (c.use_conv_bias) conv_bias_ = w.get("conv1d.bias", {I}, Init::zeros);   // (I)
  A_ = ops::neg(ops::exp(ops::cast(w.get("A_log", {I, state_}), DType::f32)));  // A = -exp(A_log.float())
  D_ = ops::cast(w.get("D", {I}, Init::ones), DType::f32);
  dt_bias_ = ops::cast(dt_proj_.bias, DType::f32);
  act_ = c.hidden_act;
}

// Note [mamba layouts]
// No activation is copied to change layout; every GEMM reads its operands as BLAS (transposed) views:
// - in_proj writes xz (B, T, 2I); the conv and the scan read its halves as strided (B, I, T) views (x, z). On the
//   CPU it writes xz^T = W_in @ x^T (2I, B·T) instead (the same GEMM, operands swapped): the (B, I, T) views then
//   have tokens contiguous, which the CPU conv and scan stage with 16 × 16 register transposes from sequential
//   rows rather than one 64-byte line per token from rows kilobytes apart (4 x 1024 tokens, 2 threads: the 24
//   convs took 73 ms instead of 205, the GEMM the same time). The CUDA kernels were tuned and measured with the
//   (B, T, 2I) layout, so it stays there.
// - the conv writes u (B, I, T); x_proj reads it transposed: dbc = u^T @ W_x^T (B, T, R + 2N), so B_t and C_t
//   are contiguous rows. Δ = dbc[..., :R] @ W_dt^T (B, T, I) gives the scan 16 contiguous channels per step, one
//   32-byte piece per token from rows 3 KiB apart; on the CPU Δ = W_dt @ dbc[..., :R]^T (B, I, T) instead, tokens
//   contiguous like u and z, which the scan stages from sequential rows (4 x 1024 tokens, f16, 2 threads: the 24
//   scans took 342 ms instead of 391).
// - the scan writes y (B, I, T); out_proj reads it transposed: y^T @ W_out^T (B, T, C).
Tensor MambaMixer::forward(const Tensor& x, MambaLayerCache* cache) const {
  int64_t B = x.size(0), T = x.size(1), I = intermediate_, N = state_, R = rank_;
  Tensor u_in, z;
  if (x.device().type == DeviceType::cpu) {
    Tensor xzt = ops::matmul(in_proj_.weight, ops::transpose(ops::reshape(x, {B * T, x.size(2)}), 0, 1));  // (2I, B·T)
    if (in_proj_.bias.defined()) xzt = ops::add(xzt, ops::unsqueeze(in_proj_.bias, 1));
    Tensor xz = ops::permute(ops::reshape(xzt, {2 * I, B, T}), {1, 0, 2});  // (B, 2I, T) view, tokens contiguous
    u_in = ops::slice(xz, 1, 0, I);                                         // (B, I, T) view
    z = ops::slice(xz, 1, I, 2 * I);                                        // (B, I, T) view
  } else {
    Tensor xz = in_proj_(x);                                                // (B, T, 2I)
    u_in = ops::transpose(ops::slice(xz, 2, 0, I), 1, 2);                   // (B, I, T) view
    z = ops::transpose(ops::slice(xz, 2, I, 2 * I), 1, 2);                  // (B, I, T) view
  }
  if (cache) {  // the last K conv inputs, zeros before the prompt (transformers' update_conv_state)
    cache->conv_state = T >= kernel_ ? ops::contiguous(ops::slice(u_in, 2, T - kernel_, T))
                                     : ops::concat(std::vector<Tensor>{Tensor::zeros({B, I, kernel_ - T}, x.dtype(), x.device()),
                                                                       ops::contiguous(u_in)}, 2);  // (B, I, K)
  }
  // SiLU (every Mamba checkpoint's hidden_act) as one op with the conv, which a backend may fuse.
  Tensor u = act_ == "silu" ? ops::causal_conv1d_silu(u_in, conv_weight_, conv_bias_)
                            : ops::activation(ops::causal_conv1d(u_in, conv_weight_, conv_bias_), act_);  // (B, I, T)
  Tensor dbc = ops::matmul(ops::transpose(u, 1, 2), ops::transpose(x_proj_.weight, 0, 1));  // (B, T, R + 2N)
  Tensor delta;  // (B, I, T), the bias added in the scan
  if (x.device().type == DeviceType::cpu)  // W_dt @ dbc[..., :R]^T: (B, I, T) with tokens contiguous, like u and z
    delta = ops::matmul(dt_proj_.weight, ops::transpose(ops::slice(dbc, 2, 0, R), 1, 2));
  else  // dbc[..., :R] @ W_dt^T (B, T, I), read as a (B, I, T) view
    delta = ops::transpose(ops::matmul(ops::slice(dbc, 2, 0, R), ops::transpose(dt_proj_.weight, 0, 1)), 1, 2);
  Tensor Bm = ops::transpose(ops::slice(dbc, 2, R, R + N), 1, 2);        // (B, N, T) view
  Tensor Cm = ops::transpose(ops::slice(dbc, 2, R + N, R + 2 * N), 1, 2);  // (B, N, T) view
  Tensor y = ops::selective_scan(u, delta, A_, Bm, Cm, D_, {.z = z, .delta_bias = dt_bias_});  // (B, I, T)
  if (cache) cache->ssm_state = ops::selective_scan_state(u, delta, A_, Bm, {.delta_bias = dt_bias_});  // (B, I, N)
  Tensor out = ops::matmul(ops::transpose(y, 1, 2), ops::transpose(out_proj_.weight, 0, 1));  // (B, T, C)
  return out_proj_.bias.defined() ? ops::add(out, out_proj_.bias) : out;
}

Tensor MambaMixer::step(const Tensor& x, MambaLayerCache& cache) const {
  int64_t B = x.size(0), I = intermediate_, N = state_, R = rank_;
  TESSERA_ASSERT(x.size(1) == 1 && cache.conv_state.defined(), "mamba step: one token after a prefill");
  Tensor xz = in_proj_(x);                                                          // (B, 1, 2I)
  Tensor u_in = ops::reshape(ops::slice(xz, 2, 0, I), {B, I, 1});
  Tensor z = ops::reshape(ops::slice(xz, 2, I, 2 * I), {B, I, 1});
  // Conv: shift the window by one token (transformers' causal_conv1d_update).
  cache.conv_state = ops::concat(std::vector<Tensor>{ops::slice(cache.conv_state, 2, 1, kernel_), u_in}, 2);  // (B, I, K)
  Tensor u = ops::sum(ops::mul(cache.conv_state, ops::cast(conv_weight_, x.dtype())), -1);  // (B, I)
  if (conv_bias_.defined()) u = ops::add(u, ops::cast(conv_bias_, x.dtype()));
  u = ops::activation(u, act_);
  Tensor dbc = x_proj_(u);                                                          // (B, R + 2N)
  Tensor delta = ops::reshape(ops::linear(ops::slice(dbc, 1, 0, R), dt_proj_.weight, {}), {B, I, 1});
  Tensor Bm = ops::reshape(ops::slice(dbc, 1, R, R + N), {B, N, 1});
  Tensor Cm = ops::reshape(ops::slice(dbc, 1, R + N, R + 2 * N), {B, N, 1});
  Tensor u3 = ops::reshape(u, {B, I, 1});
  ops::SelectiveScanOptions o{.z = z, .delta_bias = dt_bias_, .initial_state = cache.ssm_state};
  Tensor y = ops::selective_scan(u3, delta, A_, Bm, Cm, D_, o);                   // (B, I, 1)
  cache.ssm_state = ops::selective_scan_state(u3, delta, A_, Bm, o);               // (B, I, N)
  return out_proj_(ops::reshape(y, {B, 1, I}));                                    // (B, 1, C)
}

MambaBlock::MambaBlock(const Weights& w, const MambaConfig& c)
    : eps_(c.layer_norm_epsilon), rms_norm_(c.rms_norm), residual_in_fp32_(c.residual_in_fp32), mixer_(w.scope("mixer."), c) {
  norm_weight_ = w.get("norm.weight", {c.hidden_size}, Init::ones);
  if (!rms_norm_) norm_bias_ = w.get("norm.bias", {c.hidden_size}, Init::zeros);
}

Tensor MambaBlock::forward(const Tensor& h, MambaLayerCache* cache, bool step) const {
  Tensor x = ops::cast(h, norm_weight_.dtype());
  x = rms_norm_ ? ops::rms_norm(x, norm_weight_, eps_) : ops::layer_norm(x, norm_weight_, norm_bias_, eps_);
  Tensor residual = residual_in_fp32_ ? ops::cast(h, DType::f32) : h;
  Tensor m = step ? mixer_.step(x, *cache) : mixer_.forward(x, cache);
  // The f32 residual plus the mixer's f16/bf16 output: one mixed-dtype add (Note [Float promotion]), which equals
  // transformers' `residual + hidden_states` (torch promotes the same way) without a cast kernel.
  if (residual.dtype() == DType::f32) return ops::add(residual, m);  // (B, T, C) f32
  return ops::add(residual, ops::cast(m, residual.dtype()));         // (B, T, C)
}

MambaModel::MambaModel(const Weights& w, const MambaConfig& c) : config_(c) {
  // transformers' load hook accepts mamba_ssm's "embedding." too; each layout's own name is reported when missing.
  Shape shape{c.vocab_size, c.hidden_size};
  embeddings_.weight = c.layout == MambaLayout::hf ? w.get_any({"embeddings.weight", "embedding.weight"}, shape)
                                                   : w.get_any({"embedding.weight", "embeddings.weight"}, shape);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers_.emplace_back(w.scope(fmt::format("layers.{}.", i)), c);
  norm_f_weight_ = w.get("norm_f.weight", {c.hidden_size}, Init::ones);
  if (!c.rms_norm) norm_f_bias_ = w.get("norm_f.bias", {c.hidden_size}, Init::zeros);
}

MambaOutputs MambaModel::forward(const Tensor& ids, MambaCache* cache, bool keep_hidden_states, bool step) const {
  TESSERA_CHECK(ids.defined() && ids.dim() == 2 && ids.size(0) > 0 && ids.size(1) > 0,
                "mamba: input_ids must be a non-empty (batch, tokens) tensor, got {}", ids.defined() ? shape_str(ids.shape()) : "nothing");
  std::vector<int64_t> v = ids.to_int_vector();
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  TESSERA_CHECK(*lo >= 0 && *hi < config_.vocab_size, "mamba: token id {} is outside the vocabulary [0, {}) ({} field '{}')",
                *lo < 0 ? *lo : *hi, config_.vocab_size, config_.source, "vocab_size");
  if (cache && !step) cache->layers.assign(layers_.size(), {});
  Tensor h = embeddings_(ids.to(device()));  // (B, T, C); tokenizers produce host ids
  MambaOutputs out;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i].forward(h, cache ? &cache->layers[i] : nullptr, step);
    if (keep_hidden_states) out.hidden_states.push_back(h);
  }
  if (cache) cache->tokens += ids.size(1);
  Tensor x = ops::cast(h, norm_f_weight_.dtype());
  out.last_hidden_state = config_.rms_norm ? ops::rms_norm(x, norm_f_weight_, config_.layer_norm_epsilon)
                                           : ops::layer_norm(x, norm_f_weight_, norm_f_bias_, config_.layer_norm_epsilon);
  if (keep_hidden_states) out.hidden_states.push_back(out.last_hidden_state);
  return out;
}

namespace {
// Checkpoints of a full model prefix the backbone with "backbone."; a bare MambaModel checkpoint has none.
Weights backbone_scope(const Weights& w) {
  if (w.is_random() || w.contains("backbone.embeddings.weight") || w.contains("backbone.embedding.weight")) return w.scope("backbone.");
  return w;
}
MambaConfig read_config(const std::filesystem::path& dir) {
  std::filesystem::path cfg = dir / "config.json";
  return MambaConfig::from_json(io::read_json_file(cfg), cfg.string());
}
}  // namespace

MambaForCausalLM::MambaForCausalLM(const Weights& w, const MambaConfig& c) : backbone_(backbone_scope(w), c) {
  // transformers ties lm_head to the embeddings (tie_word_embeddings, default true); untied heads need lm_head.weight.
  bool tied = c.tie_word_embeddings || w.is_random() || !w.contains("lm_head.weight");
  lm_head_ = tied ? backbone_.embeddings() : w.get("lm_head.weight", {c.vocab_size, c.hidden_size});
  parameter_bytes_ = w.bytes_loaded();
}

std::unique_ptr<MambaForCausalLM> MambaForCausalLM::from_dir(const std::filesystem::path& dir, const LoadOptions& o) {
  return std::make_unique<MambaForCausalLM>(Weights::from_store(io::open_weights(dir), o.dtype, o.device), read_config(dir));
}

std::unique_ptr<MambaForCausalLM> MambaForCausalLM::from_config(const MambaConfig& c, uint64_t seed, DType dtype,
                                                                Device device) {
  return std::make_unique<MambaForCausalLM>(Weights::random(seed, c.initializer_range, dtype, device), c);
}

Tensor MambaForCausalLM::logits(const Tensor& hidden) const {
  return ops::cast(ops::linear(ops::cast(hidden, lm_head_.dtype()), lm_head_, {}), DType::f32);
}

Tensor MambaForCausalLM::forward(const Tensor& input_ids, MambaOutputs* outputs) const {
  MambaOutputs o = backbone_.forward(input_ids, nullptr, outputs != nullptr);
  Tensor l = logits(o.last_hidden_state);  // (B, T, V)
  if (outputs) *outputs = std::move(o);
  return l;
}

std::unique_ptr<GenerationCache> MambaForCausalLM::prefill(const Tensor& input_ids, Tensor* last_logits) const {
  auto cache = std::make_unique<MambaCache>();
  MambaOutputs o = backbone_.forward(input_ids, cache.get());
  int64_t T = input_ids.size(1);
  if (last_logits) *last_logits = ops::squeeze(logits(ops::slice(o.last_hidden_state, 1, T - 1, T)), 1);  // (B, V)
  return cache;
}

Tensor MambaForCausalLM::decode(const Tensor& ids, GenerationCache& cache) const {
  auto* c = dynamic_cast<MambaCache*>(&cache);
  TESSERA_CHECK(c && !c->layers.empty(), "mamba decode: the cache must come from this model's prefill");
  TESSERA_CHECK(ids.dim() == 1 && ids.size(0) == c->layers[0].ssm_state.size(0),
                "mamba decode: ids must be (batch) = ({}), got {}", c->layers[0].ssm_state.size(0), shape_str(ids.shape()));
  MambaOutputs o = backbone_.forward(ops::unsqueeze(ids, 1), c, /*keep_hidden_states=*/false, /*step=*/true);
  return ops::squeeze(logits(o.last_hidden_state), 1);  // (B, V)
}

MambaForSequenceClassification::MambaForSequenceClassification(const Weights& w, const MambaConfig& c, MambaPooling pooling)
    : config_(c), backbone_(backbone_scope(w), c), pooling_(pooling) {
  if (config_.id2label.empty()) config_.id2label = {"LABEL_0", "LABEL_1"};
  head_ = Linear(w.scope("classification_head."), c.hidden_size, (int64_t)config_.id2label.size());
  parameter_bytes_ = w.bytes_loaded();
}

std::unique_ptr<MambaForSequenceClassification> MambaForSequenceClassification::from_dir(const std::filesystem::path& dir,
                                                                                       const LoadOptions& o, MambaPooling pooling) {
  MambaConfig c = read_config(dir);
  io::WeightStore store = io::open_weights(dir);
  TESSERA_CHECK(store.contains("classification_head.weight"),
                "{}: no tensor 'classification_head.weight': this Mamba checkpoint has no classification head (a causal LM "
                "runs with `tessera generate`)", store.source());
  if (c.id2label.empty()) {  // mamba_ssm configs carry no labels: the head's rows give their number
    Tensor head = store.get("classification_head.weight");
    TESSERA_CHECK(head.dim() == 2 && head.size(1) == c.hidden_size, "{}: tensor 'classification_head.weight' has shape {}, expected (num_labels, {})",
                  store.file_of("classification_head.weight"), shape_str(head.shape()), c.hidden_size);
    for (int64_t i = 0; i < head.size(0); ++i) c.id2label.push_back(fmt::format("LABEL_{}", i));
  }
  return std::make_unique<MambaForSequenceClassification>(Weights::from_store(std::move(store), o.dtype, o.device), c, pooling);
}

Tensor MambaForSequenceClassification::classify(const Batch& batch) const {
  const Tensor& ids = batch.input_ids;
  TESSERA_CHECK(ids.defined() && ids.dim() == 2, "mamba: input_ids must be (batch, tokens)");
  int64_t B = ids.size(0), T = ids.size(1);
  std::vector<int64_t> mask = batch.attention_mask.defined() ? batch.attention_mask.to_int_vector() : std::vector<int64_t>(B * T, 1);
  TESSERA_CHECK((int64_t)mask.size() == B * T, "mamba: attention_mask {} must match input_ids {}",
                shape_str(batch.attention_mask.shape()), shape_str(ids.shape()));
  bool padded = std::any_of(mask.begin(), mask.end(), [](int64_t m) { return m == 0; });
  Tensor pooled;
  if (pooling_ == MambaPooling::mean || !padded) {
    pooled = ops::mean(ops::cast(backbone_.forward(ids).last_hidden_state, DType::f32), 1);  // (B, C)
  } else {
    // Realign each row's real tokens to the left (right padding), run, and average over the real positions only.
    std::vector<int64_t> v = ids.to_int_vector(), counts(B, 0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) counts[b] += mask[b * T + t] != 0;
    int64_t L = std::max<int64_t>(1, *std::max_element(counts.begin(), counts.end()));
    std::vector<int64_t> packed(B * L, 0);
    std::vector<float> keep(B * L, 0.0f), inv(B);
    for (int64_t b = 0; b < B; ++b) {
      int64_t j = 0;
      for (int64_t t = 0; t < T; ++t)
        if (mask[b * T + t] != 0) {
          keep[b * L + j] = 1.0f;
          packed[b * L + j++] = v[b * T + t];
        }
      for (; j < L; ++j) packed[b * L + j] = j > 0 ? packed[b * L + j - 1] : 0;  // any valid id: never averaged
      inv[b] = counts[b] > 0 ? 1.0f / (float)counts[b] : 0.0f;
    }
    Device dev = backbone_.device();
    Tensor h = ops::cast(backbone_.forward(Tensor::from_values({B, L}, packed)).last_hidden_state, DType::f32);  // (B, L, C)
    Tensor sum = ops::sum(ops::mul(h, Tensor::from_values({B, L, 1}, keep).to(dev)), 1);                      // (B, C)
    pooled = ops::mul(sum, Tensor::from_values({B, 1}, inv).to(dev));
  }
  return ops::cast(head_(ops::cast(pooled, head_.weight.dtype())), DType::f32);  // (B, num_labels)
}

}  // namespace tessera::models
