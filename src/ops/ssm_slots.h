// Input positions of the selective-scan ops, shared by their definition and every kernel.
// Note [selective scan inputs]
// selective_scan:       u, delta, A, B, C, D, then z, delta_bias, initial_state when present.
// selective_scan_state: u, delta, A, B,       then delta_bias, initial_state when present.
// attrs.ints = {has_z, has_delta_bias, has_initial_state, delta_softplus}.
#pragma once
#include "ops/op.h"

namespace tessera::ops {

struct ScanSlots {
  int z = -1, bias = -1, h0 = -1;  // input index of each optional input, -1 when absent
  bool softplus = true;
};

inline ScanSlots scan_slots(const Attrs& a, bool with_y) {
  ScanSlots s;
  int next = with_y ? 6 : 4;
  if (with_y && a.ints[0]) s.z = next++;
  if (a.ints[1]) s.bias = next++;
  if (a.ints[2]) s.h0 = next++;
  s.softplus = a.ints[3] != 0;
  return s;
}

}  // namespace tessera::ops
