// The cells of state tables (`orrery list`, `orrery memory`): how an id, a count or a flag the
// cluster sent is written, with kNoValue for what it does not know.
#pragma once

#include <cstdint>
#include <string>

#include "src/state/state_table.h"

namespace orrery::state {

// The id in hex; kNoValue when the field is unset, "?" when it is not an id of that type.
template <typename Id>
std::string IdCell(const std::string& binary) {
  if (binary.empty()) return kNoValue;
  auto id = Id::FromBinary(binary);
  return id.ok() ? id->Hex() : "?";
}

inline std::string TextCell(const std::string& text) { return text.empty() ? kNoValue : text; }

// A pid, a count: kNoValue when the cluster does not know it (0 or less).
inline std::string PositiveCell(int64_t value) { return value > 0 ? std::to_string(value) : kNoValue; }

inline std::string BoolCell(bool value) { return value ? "true" : "false"; }

}  // namespace orrery::state
