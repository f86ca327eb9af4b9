// The benchmark's environment record: git SHA, build, compiler, CPU, threads, BLAS, the device (and a GPU as
// nvidia-smi reports it) and the environment variables that change BLAS/OpenMP/CUDA behaviour; plus thread setup,
// the process's peak RSS and the device part of report names.
#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "backends/backend.h"
#include "bench/harness.h"

namespace tessera::bench {

namespace {
// Environment variables that change BLAS/OpenMP behaviour, recorded with every report.
constexpr const char* kTrackedVariables[] = {"OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                             "OMP_WAIT_POLICY",   "GOMP_SPINCOUNT",       "OMP_PROC_BIND",
                                             "GOTO_NUM_THREADS",  "MKL_NUM_THREADS",      "CUDA_VISIBLE_DEVICES",
                                             "CUDA_LAUNCH_BLOCKING"};

// stdout of a shell command, trailing whitespace trimmed; "" when it fails.
std::string command_output(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 256> buf{};
  while (fgets(buf.data(), (int)buf.size(), p)) out += buf.data();
  if (pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string git_sha() {
  // At run time from the source checkout (the binary may be older than HEAD: "-dirty" marks local edits).
  std::string dir = TESSERA_SOURCE_DIR;
  std::string sha = command_output("git -C '" + dir + "' rev-parse HEAD 2>/dev/null");
  if (!sha.empty()) {
    std::string dirty = command_output("git -C '" + dir + "' status --porcelain --untracked-files=no 2>/dev/null");
    return dirty.empty() ? sha : sha + "-dirty";
  }
#ifdef TESSERA_GIT_SHA
  return std::string(TESSERA_GIT_SHA) + " (compile time)";
#else
  return "unknown (no git checkout at run time)";
#endif
}

std::string compiler() {
#if defined(__clang__)
  return fmt::format("clang {}", __clang_version__);
#elif defined(__GNUC__)
  return fmt::format("gcc {}", __VERSION__);
#else
  return "unknown";
#endif
}

std::string build_type() {
  std::string s;
#ifdef NDEBUG
  s = "release (NDEBUG";
#else
  s = "debug (asserts on";
#endif
#ifdef __OPTIMIZE__
  s += ", optimised";
#else
  s += ", not optimised";
#endif
#if defined(__SANITIZE_ADDRESS__)
  s += ", ASan";
#endif
#ifdef __AVX512F__
  s += ", -march with AVX-512";
#elif defined(__AVX2__)
  s += ", -march with AVX2";
#endif
  return s + ")";
}

// "model name" and the SIMD flags of the first CPU in /proc/cpuinfo.
void cpu_info(Environment& e) {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  bool have_model = false, have_flags = false;
  while (std::getline(f, line) && !(have_model && have_flags)) {
    auto value = [&] { auto c = line.find(':'); return c == std::string::npos ? std::string() : line.substr(c + 2); };
    if (!have_model && line.rfind("model name", 0) == 0) {
      e.cpu_model = value();
      have_model = true;
    } else if (!have_flags && line.rfind("flags", 0) == 0) {
      std::istringstream in(value());
      std::string flag;
      while (in >> flag)
        if (flag == "avx2" || flag == "fma" || flag == "avx512f" || flag == "avx512_bf16" || flag == "avx512_vnni" ||
            flag == "amx_bf16" || flag == "avx512_fp16")
          e.cpu_flags.push_back(flag);
      have_flags = true;
    }
  }
  if (e.cpu_model.empty()) e.cpu_model = "unknown";
  cpu_set_t set;
  e.cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : (int)std::thread::hardware_concurrency();
}

// nvidia-smi's index of CUDA device `index`: CUDA_VISIBLE_DEVICES renumbers the devices a process sees.
int physical_gpu_index(int index) {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!visible || !*visible) return index;
  std::stringstream in(visible);
  std::string item;
  for (int i = 0; std::getline(in, item, ','); ++i)
    if (i == index) return item.find_first_not_of("0123456789") == std::string::npos && !item.empty() ? std::stoi(item) : -1;
  return -1;  // a UUID list or too short: nvidia-smi cannot be asked by index
}

// The GPU as nvidia-smi sees it (no CUDA headers here): name, driver, SM clock at start and its maximum, memory.
void gpu_info(Environment& e, Device d) {
  int index = physical_gpu_index(d.index);
  if (index < 0) return;
  std::string line = command_output(fmt::format("nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,"
                                                "memory.total --format=csv,noheader -i {} 2>/dev/null", index));
  if (line.empty()) return;
  e.gpu_smi = line;
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string f; std::getline(in, f, ',');) fields.push_back(f.substr(f.find_first_not_of(' ')));
  if (fields.size() >= 2) {
    e.gpu_name = fields[0];
    e.gpu_driver = fields[1];
  }
  // "CUDA Version : 13.0" (the newest CUDA the driver supports) from `nvidia-smi --version`, when it has that line.
  std::stringstream v(command_output("nvidia-smi --version 2>/dev/null"));
  for (std::string l; std::getline(v, l);)
    if (l.rfind("CUDA Version", 0) == 0 && l.find(':') != std::string::npos)
      e.cuda_driver_version = l.substr(l.find_first_not_of(" :", l.find(':')));
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

void set_threads(int n) {
  if (n <= 0) return;
  backends::set_cpu_threads(n);
  openblas_set_num_threads(n);
}

Environment capture_environment(Device device) {
  Environment e;
  e.device = to_string(device);
  e.device_description = describe_device(device);
  if (device.type == DeviceType::cuda) gpu_info(e, device);
  e.git_sha = git_sha();
  e.build_type = build_type();
  e.compiler = compiler();
  cpu_info(e);
  e.threads = backends::cpu_threads();
  e.blas_threads = openblas_get_num_threads();
  const char* parallel[] = {"sequential", "pthreads", "OpenMP"};
  int p = openblas_get_parallel();
  e.blas = fmt::format("OpenBLAS {} (core {}, {} threading)", openblas_get_config(), openblas_get_corename(),
                       p >= 0 && p <= 2 ? parallel[p] : "unknown");
  for (const char* k : kTrackedVariables)
    if (const char* v = std::getenv(k)) e.env[k] = v;
  e.date = utc_now();
  std::ifstream load("/proc/loadavg");
  std::getline(load, e.host_load);
  return e;
}

Json to_json(const Environment& e) {
  Json env = Json::object();
  for (const auto& [k, v] : e.env) env[k] = v;
  return Json{{"git_sha", e.git_sha},     {"date", e.date},     {"build_type", e.build_type},
              {"compiler", e.compiler},   {"cpu_model", e.cpu_model}, {"cpu_flags", e.cpu_flags},
              {"cores", e.cores},         {"threads", e.threads}, {"blas_threads", e.blas_threads},
              {"blas", e.blas},           {"env", env},         {"host_load", e.host_load},
              {"device", e.device},       {"device_description", e.device_description},
              {"gpu_name", e.gpu_name},   {"gpu_driver", e.gpu_driver}, {"gpu_nvidia_smi", e.gpu_smi},
              {"cuda_driver_version", e.cuda_driver_version}};
}

std::string device_slug(const Environment& e) {
  if (e.device == "cpu") return fmt::format("cpu-{}core", e.cores);
  // "NVIDIA H200" -> "cuda-nvidia-h200"; describe_device's "NVIDIA H200 (sm_90, ...)" when nvidia-smi is absent.
  std::string name = !e.gpu_name.empty() ? e.gpu_name : e.device_description.substr(0, e.device_description.find(" ("));
  std::string slug = "cuda-";
  for (char c : name) {
    if (std::isalnum((unsigned char)c)) slug += (char)std::tolower((unsigned char)c);
    else if (slug.back() != '-') slug += '-';
  }
  while (slug.back() == '-') slug.pop_back();
  return slug == "cuda" ? "cuda-gpu" : slug;
}

std::string device_line(const Environment& e) {
  if (e.device == "cpu")
    return fmt::format("cpu — {} ({} cores usable; flags: {})", e.cpu_model, e.cores, fmt::join(e.cpu_flags, " "));
  std::string s = fmt::format("{} — {}", e.device, e.device_description);
  if (!e.gpu_smi.empty()) s += fmt::format("; nvidia-smi at start: {}", e.gpu_smi);
  if (!e.cuda_driver_version.empty()) s += fmt::format("; driver supports CUDA {}", e.cuda_driver_version);
  return s + fmt::format("; host CPU {} ({} cores usable)", e.cpu_model, e.cores);
}

std::vector<std::string> environment_warnings(const Environment& e) {
  std::vector<std::string> w;
  bool avx512 = std::find(e.cpu_flags.begin(), e.cpu_flags.end(), "avx512f") != e.cpu_flags.end();
  auto it = e.env.find("OPENBLAS_CORETYPE");
  // OpenBLAS picks its GEMM kernel from this variable instead of the CPU: Haswell kernels (AVX2) run at about
  // half the AVX-512 speed, so the setting skews any comparison with engines that detect the CPU (MKL, oneDNN).
  if (avx512 && it != e.env.end() && it->second != "SkylakeX" && it->second != "Cooperlake" && it->second != "SapphireRapids")
    w.push_back(fmt::format("OPENBLAS_CORETYPE={} forces a non-AVX-512 OpenBLAS kernel on this AVX-512 CPU; "
                            "`unset OPENBLAS_CORETYPE` (or set SkylakeX) for representative numbers",
                            it->second));
  if (e.build_type.rfind("release", 0) != 0) w.push_back("not a release build: timings are not representative");
  auto blocking = e.env.find("CUDA_LAUNCH_BLOCKING");
  if (e.device != "cpu" && blocking != e.env.end() && blocking->second != "0")
    w.push_back("CUDA_LAUNCH_BLOCKING is set: every kernel launch waits for the GPU, so GPU timings are not representative");
  return w;
}

std::string command_line() {
  std::string prefix;
  for (const char* k : kTrackedVariables)
    if (const char* v = std::getenv(k)) prefix += fmt::format("{}={} ", k, v);
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string arg, cmd;
  while (std::getline(f, arg, '\0')) {
    bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+") ==
                                     std::string::npos;
    if (!cmd.empty()) cmd += " ";
    cmd += plain ? arg : "'" + arg + "'";
  }
  return prefix + (cmd.empty() ? std::string("tessera") : cmd);
}

int64_t process_peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;  // "VmHWM:  123456 kB"
  return -1;
}

}  // namespace tessera::bench
