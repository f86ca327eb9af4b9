// Input texts, outputs and the progress bar for CLI commands.
#include "cli/text_input.h"

#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tessera/error.h"

namespace tessera::cli {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::size_t invalid_utf8_at(const std::string& s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k)
      if (((unsigned char)s[i + k] >> 6) != 2) return i;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3f);
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += len;
  }
  return std::string::npos;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  if (path == "-") {
    std::string l;
    while (std::getline(std::cin, l)) lines.push_back(l);
    return lines;
  }
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files too
  TESSERA_CHECK(f != nullptr, "{}: cannot open input file", path);
  std::string cur;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) {
    for (int i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        lines.push_back(std::move(cur));
        cur.clear();
      } else {
        cur.push_back(buf[i]);
      }
    }
  }
  int err = 0;
  const char* msg = gzerror(f, &err);
  std::string emsg = msg ? msg : "";
  gzclose(f);
  TESSERA_CHECK(n >= 0 && err >= 0, "{}: read error: {} (corrupt or truncated .gz?)", path, emsg);
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}
}  // namespace

void check_utf8(const std::string& text, const std::string& what) {
  std::size_t at = invalid_utf8_at(text);
  TESSERA_CHECK(at == std::string::npos, "{}: invalid UTF-8 at byte {}; re-encode the input as UTF-8", what, at);
}

std::vector<std::string> read_texts(const std::string& path) {
  std::vector<std::string> lines = read_lines(path);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string& l = lines[i];
    if (!l.empty() && l.back() == '\r') l.pop_back();
    if (l.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = fmt::format("{}:{}", path == "-" ? "<stdin>" : path, i + 1);
    check_utf8(l, where);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(l);
    } catch (const nlohmann::json::exception& e) {
      TESSERA_FAIL("{}: not JSON ({}); each line must be a JSON string or an object with a \"text\" field", where, e.what());
    }
    if (j.is_string()) {
      texts.push_back(j.get<std::string>());
    } else {
      TESSERA_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(),
                    "{}: each line must be a JSON string or an object with a string \"text\" field", where);
      texts.push_back(j["text"].get<std::string>());
    }
  }
  return texts;
}

Output::Output(const std::string& path) : f_(stdout), owned_(false) {
  if (path != "-") {
    f_ = std::fopen(path.c_str(), "w");
    TESSERA_CHECK(f_ != nullptr, "{}: cannot open output file for writing", path);
    owned_ = true;
  }
}
Output::~Output() {
  if (owned_) std::fclose(f_);
  else std::fflush(f_);
}
void Output::line(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), f_);
  std::fputc('\n', f_);
}

ProgressBar::ProgressBar(std::string label, std::size_t total, std::size_t min_total)
    : label_(std::move(label)), total_(total), enabled_(total >= min_total && isatty(2)), start_(now()) {}

ProgressBar::~ProgressBar() {
  if (enabled_) std::fprintf(stderr, "\n");
}

void ProgressBar::update(std::size_t done) {
  if (!enabled_) return;
  double frac = total_ ? (double)done / (double)total_ : 1.0, el = now() - start_;
  int width = 30, fill = (int)(frac * width);
  double rate = el > 0 ? (double)done / el : 0, eta = rate > 0 ? (double)(total_ - done) / rate : 0;
  std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %.1f/s eta %.0fs ", label_.c_str(), fill, "==============================",
               width - fill, "", done, total_, rate, eta);
  std::fflush(stderr);
}

}  // namespace tessera::cli
