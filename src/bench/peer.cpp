// Runs peer benchmark scripts (bench/peers/*.py) as subprocesses and parses their JSON rows.
#include "bench/peer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <sys/wait.h>

#include <fmt/format.h>

namespace tessera::bench {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string resolve_python_peer(const std::string& choice, std::string& why) {
  why.clear();
  if (choice == "none") {
    why = "absent: --peer none";
    return "";
  }
  std::string python = choice == "auto" ? "python3" : choice;
  std::string probe = shell_quote(python) + " -c 'import torch, transformers' >/dev/null 2>&1";
  if (std::system(probe.c_str()) != 0) {
    why = fmt::format("absent: `{} -c \"import torch, transformers\"` failed (install the peer with scripts/setup --with-peer)",
                      python);
    return "";
  }
  return python;
}

std::filesystem::path peer_script(const std::string& name) {
  std::filesystem::path in_source = std::filesystem::path(TESSERA_SOURCE_DIR) / "bench" / "peers" / name;
  if (std::filesystem::exists(in_source)) return in_source;
  return std::filesystem::path("bench") / "peers" / name;
}

Peer run_python_peer(const std::string& python, const std::filesystem::path& script, const std::vector<std::string>& args,
                     const std::string& name, double timeout_s) {
  Peer p{.name = name};
  std::string cmd = shell_quote(python) + " " + shell_quote(script.string());
  // --foreground keeps the peer in our process group, so a kill of the whole run (a script's own timeout) reaches it.
  if (timeout_s > 0) cmd = fmt::format("timeout --foreground -k 10 {:.0f} {}", std::max(1.0, timeout_s), cmd);
  for (const std::string& a : args) cmd.append(" ").append(shell_quote(a));  // append: GCC 12 -Wrestrict false positive on " " + s
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    p.status = "failed: cannot start " + cmd;
    return p;
  }
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), (int)buf.size(), f)) out += buf.data();
  int rc = pclose(f);
  if (rc != 0) {
    int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : rc;
    p.status = fmt::format("failed: `{}` exited with status {}{}", cmd, status,
                           timeout_s > 0 && (status == 124 || status == 137) ? fmt::format(" (killed after {:.0f} s)", timeout_s) : "");
    return p;
  }
  try {
    // The last non-empty line is the report (libraries may print warnings to stdout before it).
    std::size_t end = out.find_last_not_of("\n ");
    std::size_t begin = end == std::string::npos ? 0 : out.rfind('\n', end);
    Json j = Json::parse(out.substr(begin == std::string::npos ? 0 : begin + 1));
    p.environment = j.value("environment", Json::object());
    for (const Json& r : j.at("rows")) p.rows.push_back(row_from_json(r));
  } catch (const std::exception& e) {
    p.status = fmt::format("failed: could not parse the output of `{}`: {}", cmd, e.what());
    p.rows.clear();
  }
  return p;
}

void merge_peer(Peer& into, const Peer& other) {
  if (other.status != "ok") {
    into.status = other.status;
    return;
  }
  if (into.environment.empty()) into.environment = other.environment;
  into.rows.insert(into.rows.end(), other.rows.begin(), other.rows.end());
}

}  // namespace tessera::bench
