// Which OpenBLAS kernel family ("core") runs the CPU GEMMs, and the one this CPU should use when OpenBLAS guessed
// too low (Note [OpenBLAS core] in blas_core.cpp).
#pragma once
#include <optional>
#include <string>

namespace tessera::backends {

std::string openblas_core();  // e.g. "SkylakeX", "Haswell", "Prescott"
// The core to force through OPENBLAS_CORETYPE when OpenBLAS picked a weaker one than this CPU's instruction set
// supports, or nullopt when its choice is fine.
std::optional<std::string> better_openblas_core();

}  // namespace tessera::backends
