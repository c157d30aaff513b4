// The struct the msgpack_args target passes to a remote function, and make_seeds encodes for
// its seeds: one definition, so the seeds are what the target reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "msgpack.hpp"

namespace orrery::fuzz {

struct Point {
  double x = 0;
  double y = 0;
  std::string label;
  std::vector<int32_t> tags;
  MSGPACK_DEFINE(x, y, label, tags);
};

}  // namespace orrery::fuzz
