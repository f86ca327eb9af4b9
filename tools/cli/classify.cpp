// `tessera classify`: text classification with a Hugging Face model directory; one JSON object per input.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "cli/commands.h"
#include "cli/default_models.h"
#include "cli/text_input.h"
#include "tessera/pipeline.h"

namespace tessera::cli {

namespace {
struct ClassifyArgs {
  std::string model;
  int64_t max_length = 0;
  int64_t batch_size = 8;
  std::string input;
  std::string output = "-";
  std::string dtype = "f32";
  std::string device = "cpu";
  std::string function = "default";
  int threads = 0;
  bool no_sort = false;
  bool verbose = false;
  std::vector<std::string> texts;
};

void run_classify(const ClassifyArgs& a) {
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < a.texts.size(); ++i) {
    check_utf8(a.texts[i], fmt::format("TEXT argument {}", i + 1));
    texts.push_back(a.texts[i]);
  }
  if (!a.input.empty()) {
    std::vector<std::string> more = read_texts(a.input);
    texts.insert(texts.end(), more.begin(), more.end());
  }
  TESSERA_CHECK(!texts.empty(), "classify: no input texts (give TEXT arguments or --input FILE)");
  if (a.threads > 0) backends::set_cpu_threads(a.threads);
  auto dt = dtype_from_name(a.dtype);
  TESSERA_CHECK(dt && (*dt == DType::f32 || *dt == DType::f16 || *dt == DType::bf16),
                "classify: --dtype must be f32, f16 or bf16, got '{}'", a.dtype);
  PipelineOptions o{.model = resolve_model(a.model, default_bert_model(), "classify"), .batch_size = a.batch_size, .dtype = *dt, .device = a.device, .function_to_apply = a.function,
                    .sort_by_length = !a.no_sort};
  if (a.max_length > 0) o.max_length = a.max_length;
  auto pipe = pipeline("sentiment-analysis", o);
  if (a.verbose) std::fprintf(stderr, "tessera: %s, %d CPU threads\n", pipe->describe().c_str(), backends::cpu_threads());
  ProgressBar bar("classify", texts.size());
  std::vector<Classification> results = (*pipe)(texts, [&](std::size_t done, std::size_t) { bar.update(done); });
  Output out(a.output);
  for (const Classification& c : results) {
    nlohmann::ordered_json j{{"label", c.label}, {"score", c.score}, {"logits", c.logits}};
    out.line(j.dump());
  }
}
}  // namespace

void register_classify(CLI::App& app) {
  auto a = std::make_shared<ClassifyArgs>();
  auto* cmd = app.add_subcommand("classify", "Classify texts (sentiment analysis) with a Hugging Face model directory");
  cmd->add_option("--model", a->model,
                  "Model directory (config.json, weights, tokenizer); default: the embedded models/imdb-bert-small");
  cmd->add_option("--max-length", a->max_length, "Truncate inputs to N tokens (default: the model's limit, 512 for BERT)");
  cmd->add_option("--batch-size", a->batch_size, "Texts per forward pass (default 8)")->check(CLI::PositiveNumber);
  cmd->add_option("--input", a->input, "Read texts from FILE ('-' = stdin): JSON lines, strings or {\"text\": ...}; .gz ok");
  cmd->add_option("--output", a->output, "Write JSON lines to FILE (default '-' = stdout)");
  cmd->add_option("--dtype", a->dtype, "Compute dtype: f32 (default), f16, bf16");
  cmd->add_option("--device", a->device, "Where the model runs: cpu (default), cuda or cuda:N (a CUDA build with a GPU)");
  cmd->add_option("--function", a->function, "Score function: default (softmax, or sigmoid for 1 label), softmax, sigmoid, none");
  cmd->add_option("--threads", a->threads, "CPU threads (default: all cores)");
  cmd->add_flag("--no-sort", a->no_sort, "Keep input order inside batches (default sorts by length to cut padding)");
  cmd->add_flag("-v,--verbose", a->verbose, "Log the model, dtype and kernels used to stderr");
  cmd->add_option("TEXT", a->texts, "Texts to classify");
  cmd->footer("Output: one JSON object per input, in input order: {\"label\": ..., \"score\": ..., \"logits\": [...]}");
  cmd->callback([a] { run_classify(*a); });
}

}  // namespace tessera::cli
