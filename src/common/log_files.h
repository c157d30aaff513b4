// Reading a node's log folder for `orrery logs`: which files it holds, and a bounded piece of
// one (from an offset, or its last lines). Only plain names inside the folder are served: a
// name with '/' or one starting with '.' is refused, so nothing outside the folder can be read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orrery/log_service.pb.h"

namespace orrery {

// The plain files in `dir` whose names start with `prefix`, by name.
absl::StatusOr<std::vector<rpc::LogFile>> ListLogFiles(const std::string& dir, const std::string& prefix);

// Up to `max_bytes` of `dir`/`name` (0: 1 MiB; at most 4 MiB), from `offset` or, when
// tail_lines > 0, from the start of its last `tail_lines` lines. NotFound names the file.
absl::StatusOr<rpc::ReadLogReply> ReadLogFile(const std::string& dir, const rpc::ReadLogRequest& request);

}  // namespace orrery
