// Shared CLI helpers: reading input texts (JSON lines, .jsonl.gz, stdin), output files, a progress bar.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace tessera::cli {

// Texts from `path` ("-" = stdin): one per line, each a JSON string or an object with a "text" field;
// a .gz file is decompressed. Blank lines are skipped. Errors name the file and line.
std::vector<std::string> read_texts(const std::string& path);

// Checks that a command-line text is valid UTF-8 (error names the argument and byte offset).
void check_utf8(const std::string& text, const std::string& what);

// An output stream: a file or stdout ("-").
class Output {
 public:
  explicit Output(const std::string& path);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  void line(const std::string& s);

 private:
  std::FILE* f_;
  bool owned_;
};

// A progress bar on stderr, drawn only when stderr is a terminal and the work is long enough to matter.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, std::size_t min_total = 64);
  ~ProgressBar();
  void update(std::size_t done);

 private:
  std::string label_;
  std::size_t total_;
  bool enabled_;
  double start_;
};

}  // namespace tessera::cli
