// Peer engines for benchmarks: scripts in bench/peers/ run as subprocesses in the same invocation and print
// one JSON object {"engine", "environment", "rows": [...]} in the harness's row schema.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "bench/harness.h"

namespace tessera::bench {

// Resolves --peer: "auto" -> "python3" when `import torch, transformers` works, else "" (absent);
// "none" -> ""; anything else is the Python interpreter to use. `why` says why the peer is absent.
std::string resolve_python_peer(const std::string& choice, std::string& why);

// bench/peers/<name> in the source tree (or ./bench/peers/<name> when run from a checkout).
std::filesystem::path peer_script(const std::string& name);

// Runs `python script args...` and parses its stdout. Stderr passes through. Never throws: a failing peer
// yields a Peer whose status starts with "failed:". timeout_s > 0 kills the peer (and its children) after that many
// seconds through coreutils `timeout`, so that a slow peer (a long torch.compile, say) cannot stall the run.
Peer run_python_peer(const std::string& python, const std::filesystem::path& script, const std::vector<std::string>& args,
                     const std::string& name, double timeout_s = 0);

// Appends other's rows to into (same engine, several runs: one per attention variant, say).
void merge_peer(Peer& into, const Peer& other);

std::string shell_quote(const std::string& s);

}  // namespace tessera::bench
