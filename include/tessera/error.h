// Errors: TESSERA_CHECK for user-facing failures (a clear message naming the op/file/field and the fix),
// TESSERA_ASSERT for internal invariants. Both throw tessera::Error; kernels never throw.
#pragma once
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdexcept>
#include <string>

namespace tessera {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_error(const char* file, int line, std::string message);
[[noreturn]] void throw_internal(const char* file, int line, const char* condition, std::string message);

}  // namespace tessera

#define TESSERA_CHECK(cond, ...)                                                   \
  do {                                                                             \
    if (!(cond)) ::tessera::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
  } while (0)

#define TESSERA_FAIL(...) ::tessera::throw_error(__FILE__, __LINE__, fmt::format(__VA_ARGS__))

#define TESSERA_ASSERT(cond, ...)                                                          \
  do {                                                                                     \
    if (!(cond)) ::tessera::throw_internal(__FILE__, __LINE__, #cond, fmt::format("" __VA_ARGS__)); \
  } while (0)
