// Small file helpers with Status errors that name the path.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace orrery {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes to a temporary file beside `path` and renames it over: readers never see half a file.
absl::Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode = 0644);

// mkdir -p; the last component gets `mode`.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

// A directory only its owner may enter (0700), owned by this user; created if missing, and
// its mode corrected if it exists. Refuses a directory another user owns.
absl::Status MakePrivateDir(const std::string& path);

bool PathExists(const std::string& path);

// rm -rf; missing is fine.
absl::Status RemoveAll(const std::string& path);

// Writes all of `data` to `fd` (retrying short writes and EINTR); false on an error, when part
// of it may be lost (a full disk loses output, not the writer).
bool WriteAll(int fd, const char* data, size_t size);

}  // namespace orrery
