// error_of(fn): the message of the tessera::Error that fn throws, or "<no error>" when it throws none — how the
// tests check that bad input gives a clear error naming the file/field/op.
#pragma once
#include <functional>
#include <string>

#include "tessera/error.h"

namespace tessera::testing {

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace tessera::testing
