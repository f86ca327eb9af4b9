// Error construction for TESSERA_CHECK / TESSERA_ASSERT.
#include "tessera/error.h"

namespace tessera {

void throw_error(const char*, int, std::string message) { throw Error(std::move(message)); }

void throw_internal(const char* file, int line, const char* condition, std::string message) {
  throw Error(fmt::format("internal error at {}:{}: {} failed{}{} (please report this)", file, line, condition,
                          message.empty() ? "" : ": ", message));
}

}  // namespace tessera
