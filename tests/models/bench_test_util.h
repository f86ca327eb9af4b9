// Helpers for the `tessera bench` smoke tests (tests/models, and tests/cuda on a GPU): run the CLI, and the tiny
// fixture classifiers with a tokenizer each.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "models/model_test_util.h"

namespace tessera::testing {

// Runs `tessera ARGS` (stderr merged into `out`); returns its exit status.
inline int run_cli(const std::string& args, std::string& out) {
  FILE* p = popen((std::string(TESSERA_CLI_PATH) + " " + args + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The fixtures plus a tokenizer each: bert-base-uncased's vocab.txt for BERT; a 76-entry character WordPiece
// vocabulary for the tiny Mamba classifier (its embedding has 96 rows).
struct BenchModels : TempDir {
  std::filesystem::path bert = path / "bert", mamba = path / "mamba";
  BenchModels() {
    std::filesystem::copy(fixture("models/bert-pipeline-tiny"), bert);
    std::filesystem::copy_file(shared("tokenizers/bert-base-uncased/vocab.txt"), bert / "vocab.txt");
    std::filesystem::copy(fixture("models/mamba-ssm-classifier-tiny"), mamba);
    std::ofstream v(mamba / "vocab.txt");
    v << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (char c = 'a'; c <= 'z'; ++c) v << c << "\n##" << c << "\n";
    for (char c : std::string("0123456789.,!?'\"-()")) v << c << "\n";
  }
  // `bench bert-vs-mamba` on both, a few samples, lengths 16 and 32, no peer.
  std::string bert_vs_mamba_args(const std::filesystem::path& out) const {
    return "bench bert-vs-mamba --bert '" + bert.string() + "' --mamba '" + mamba.string() +
           "' --samples 6 --batch-size 4 --max-length 32,16 --peer none --threads 1 --out '" + out.string() + "'";
  }
};

}  // namespace tessera::testing
