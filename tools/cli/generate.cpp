// `tessera generate`: greedy text generation with a causal LM directory (Mamba); a prompt or token ids (--ids).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "cli/commands.h"
#include "cli/text_input.h"
#include "tessera/pipeline.h"

namespace tessera::cli {

namespace {
struct GenerateArgs {
  std::string model;
  int64_t max_new_tokens = 20;
  std::string ids;
  std::string dtype = "f32";
  std::string device = "cpu";
  int threads = 0;
  bool json = false;
  bool no_eos = false;
  bool verbose = false;
  std::string prompt;
};

// "1, 2,3" -> {1, 2, 3}; errors name the bad entry.
std::vector<int64_t> parse_ids(const std::string& s) {
  std::vector<int64_t> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    std::size_t used = 0;
    int64_t v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TESSERA_CHECK(!item.empty() && used == item.size() && v >= 0, "generate: --ids entry '{}' is not a non-negative integer (expected e.g. --ids 1,2,3)", item);
    out.push_back(v);
    pos = end + 1;
  }
  return out;
}

void run_generate(const GenerateArgs& a) {
  TESSERA_CHECK(a.ids.empty() != a.prompt.empty(), "generate: give either a PROMPT or --ids (exactly one)");
  if (a.threads > 0) backends::set_cpu_threads(a.threads);
  auto dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "generate: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  auto pipe = text_generation_pipeline({.model = a.model, .dtype = *dt, .device = a.device});
  if (a.verbose) std::fprintf(stderr, "tessera: %s, %d CPU threads\n", pipe->describe().c_str(), backends::cpu_threads());
  GenerationOptions o{.max_new_tokens = a.max_new_tokens, .stop_at_eos = !a.no_eos};
  Generation g;
  if (!a.ids.empty()) {
    g = pipe->generate_ids(parse_ids(a.ids), o);
  } else {
    check_utf8(a.prompt, "PROMPT");
    g = (*pipe)(a.prompt, o);
  }
  if (a.json) {
    nlohmann::ordered_json j{{"prompt_ids", g.prompt_ids}, {"generated_ids", g.generated_ids}, {"text", g.text},
                             {"stopped_at_eos", g.stopped_at_eos}, {"prefill_seconds", g.prefill_seconds},
                             {"decode_seconds", g.decode_seconds}};
    std::printf("%s\n", j.dump().c_str());
  } else if (pipe->has_tokenizer()) {
    std::printf("%s%s\n", a.prompt.c_str(), g.text.c_str());
  } else {
    std::string s;
    for (int64_t id : g.generated_ids) s += fmt::format("{}{}", s.empty() ? "" : ",", id);
    std::printf("%s\n", s.c_str());
  }
}
}  // namespace

void register_generate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate text greedily with a causal LM directory (Mamba)");
  cmd->add_option("--model", a->model, "Model directory (config.json, weights, tokenizer.json)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--max-new-tokens", a->max_new_tokens, "Tokens to generate at most (default 20)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--ids", a->ids, "Prompt as token ids, e.g. 1,2,3 (no tokenizer needed)");
  cmd->add_option("--dtype", a->dtype, "Compute dtype: f32 (default), f16, bf16");
  cmd->add_option("--device", a->device, "Where the model runs: cpu (default), cuda or cuda:N (a CUDA build with a GPU)");
  cmd->add_option("--threads", a->threads, "CPU threads (default: all cores)");
  cmd->add_flag("--json", a->json, "Print one JSON object: prompt_ids, generated_ids, text, stopped_at_eos, timings");
  cmd->add_flag("--no-eos", a->no_eos, "Don't stop at eos_token_id");
  cmd->add_flag("-v,--verbose", a->verbose, "Log the model, dtype and tokenizer to stderr");
  cmd->add_option("PROMPT", a->prompt, "The prompt text");
  cmd->footer("Output: the prompt followed by the generated text; with --ids and no tokenizer, the generated ids.");
  cmd->callback([a] { run_generate(*a); });
}

}  // namespace tessera::cli
