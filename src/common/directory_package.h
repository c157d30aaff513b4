// Packs a folder into one deterministic byte string and unpacks it: how a job's `working_dir`
// travels between hosts through the GCS key-value store, content-addressed by its SHA-256.
//
// Format (version 1), all integers little-endian and fixed-width:
//   magic    8 bytes  "ORRPKG1\n" (the '1' is the format version)
//   count    uint64   number of entries that follow (so a package cut at an entry boundary is
//                     still seen as truncated); nothing may follow the last entry
//   entry    type     1 byte: 'd' directory, 'f' regular file, 'l' symlink
//            mode     uint32: permission bits (mode & 0777); 0 for a symlink
//            path     uint32 length + bytes: relative to the packed folder, '/'-separated
//            payload  uint64 length + bytes: file content, symlink target (verbatim), empty for 'd'
// Entries come depth-first with the names of each directory sorted bytewise, so a directory's
// entry precedes everything below it ("a", "a/b", "a.txt"). The folder itself has no entry. No
// times, owners or inode numbers are stored: folders with equal contents pack to equal bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace orrery {

// A folder packed into one byte string.
struct DirectoryPackage {
  std::string bytes;
  std::string sha256_hex;  // of `bytes`, lowercase hex, 64 chars
};

// Lowercase hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// Packs `dir` (a symlink to a directory is followed for `dir` itself, never below it): regular
// files with content and permission bits, directories (empty ones too) with permission bits, and
// symlinks as their target text, not followed.
// Errors: InvalidArgument when `dir` is missing or not a directory, or holds a socket, fifo or
// device (naming that path); the errno text and path when something cannot be read; OutOfRange
// once the package passes `max_bytes` (reading stops there, so a huge folder costs ~max_bytes).
absl::StatusOr<DirectoryPackage> PackDirectory(const std::string& dir, int64_t max_bytes);

// Unpacks `bytes` into `dest`, creating dest's missing parents. The folder is built as a
// uniquely named temporary sibling and renamed into place, so no reader sees half of it; `dest`
// itself gets mode 0755. If `dest` already exists (callers name it by the package hash, so
// another unpacker won the race or it was unpacked before), it is left untouched and OK returned.
// Errors, after which nothing is left behind: DataLoss for a malformed or truncated package (bad
// magic or version, unknown type, lengths past the end, trailing bytes), naming the entry and
// offset; InvalidArgument for an entry path that is absolute, empty, has empty, "." or ".."
// components or a NUL, repeats an earlier path, or whose parent is not a directory entry of the
// package (e.g. lies below a symlink entry), so a crafted package cannot write outside `dest`.
absl::Status UnpackDirectory(std::string_view bytes, const std::string& dest);

}  // namespace orrery
