#include "src/common/directory_package.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>  // renameat2
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/common/file_util.h"
#include "src/common/log.h"
#include "src/common/openssl_lifetime.h"
#include "src/common/random.h"
#include "src/common/status.h"

namespace orrery {
namespace {

constexpr std::string_view kMagic("ORRPKG1\n", 8);
constexpr size_t kReadChunk = 1 << 20;

// Debian's Abseil has its own string_view, not an alias of std::string_view.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

void PutLittleEndian(uint64_t value, int width, std::string* out) {
  for (int i = 0; i < width; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

void PatchU64(uint64_t value, size_t offset, std::string* out) {
  for (int i = 0; i < 8; ++i) (*out)[offset + i] = static_cast<char>(value >> (8 * i));
}

// Writes all of `data` to `fd`.
absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// ---- Packing ----

// Builds one package; each entry's payload length is written as 0 and patched once the payload is
// in, since a file may not hold what lstat said by the time it is read.
class Packer {
 public:
  Packer(const std::string& dir, int64_t max_bytes) : dir_(dir), max_bytes_(max_bytes) {
    out_.append(kMagic);
    PutLittleEndian(0, 8, &out_);  // entry count, patched by Finish()
  }

  // Packs the entries below directory `rel` ("" is the folder itself), sorted by name.
  absl::Status PackChildren(const std::string& rel) {
    std::string path = FullPath(rel);
    DIR* dir = opendir(path.c_str());
    if (dir == nullptr) return ErrnoStatus("open " + path, errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    closedir(dir);
    if (err != 0) return ErrnoStatus("read directory " + path, err);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      ORRERY_RETURN_IF_ERROR(PackEntry(rel.empty() ? name : rel + "/" + name));
    }
    return absl::OkStatus();
  }

  DirectoryPackage Finish() && {
    PatchU64(count_, kMagic.size(), &out_);
    DirectoryPackage package;
    package.sha256_hex = Sha256Hex(out_);
    package.bytes = std::move(out_);
    return package;
  }

 private:
  std::string FullPath(const std::string& rel) const { return rel.empty() ? dir_ : dir_ + "/" + rel; }

  absl::Status PackEntry(const std::string& rel) {
    std::string path = FullPath(rel);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    uint32_t mode = st.st_mode & 0777;
    if (S_ISDIR(st.st_mode)) {
      EndEntry(BeginEntry('d', mode, rel));
      ORRERY_RETURN_IF_ERROR(CheckLimit());
      return PackChildren(rel);
    }
    if (S_ISREG(st.st_mode)) {
      size_t length_at = BeginEntry('f', mode, rel);
      // A file that cannot fit is refused before a byte of it is read.
      if (static_cast<int64_t>(out_.size()) + st.st_size > max_bytes_) return LimitError();
      ORRERY_RETURN_IF_ERROR(AppendFile(path));
      EndEntry(length_at);
      return CheckLimit();
    }
    if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];  // Linux symlink targets are shorter than PATH_MAX
      ssize_t n = readlink(path.c_str(), target, sizeof(target));
      if (n < 0) return ErrnoStatus("readlink " + path, errno);
      size_t length_at = BeginEntry('l', 0, rel);
      out_.append(target, static_cast<size_t>(n));
      EndEntry(length_at);
      return CheckLimit();
    }
    const char* kind = S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "socket" : "device";
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is a ", kind, ": a working directory may hold only files, directories and symlinks"));
  }

  // Appends the entry's header up to its payload; returns where the payload length goes.
  size_t BeginEntry(char type, uint32_t mode, const std::string& rel) {
    ++count_;
    out_.push_back(type);
    PutLittleEndian(mode, 4, &out_);
    PutLittleEndian(rel.size(), 4, &out_);
    out_.append(rel);
    size_t length_at = out_.size();
    PutLittleEndian(0, 8, &out_);
    return length_at;
  }

  void EndEntry(size_t length_at) { PatchU64(out_.size() - length_at - 8, length_at, &out_); }

  // Reads the file in chunks, checking the limit after each, so a file that grows after lstat
  // still costs at most one chunk past the limit.
  absl::Status AppendFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return ErrnoStatus("read " + path, errno);
    absl::Status status;
    while (status.ok()) {
      size_t old_size = out_.size();
      out_.resize(old_size + kReadChunk);
      ssize_t n = read(fd, out_.data() + old_size, kReadChunk);
      int err = errno;
      out_.resize(old_size + std::max<ssize_t>(n, 0));
      if (n == 0) break;
      if (n < 0) {
        if (err != EINTR) status = ErrnoStatus("read " + path, err);
        continue;
      }
      status = CheckLimit();
    }
    close(fd);
    return status;
  }

  absl::Status CheckLimit() const {
    return static_cast<int64_t>(out_.size()) > max_bytes_ ? LimitError() : absl::OkStatus();
  }

  absl::Status LimitError() const {
    return absl::OutOfRangeError(absl::StrFormat("working directory %s is over the limit of %d bytes (%.1f MiB)",
                                                 dir_, max_bytes_, max_bytes_ / 1048576.0));
  }

  const std::string dir_;
  const int64_t max_bytes_;
  std::string out_;
  uint64_t count_ = 0;
};

// ---- Parsing ----

struct Entry {
  char type;
  uint32_t mode;
  std::string_view path;
  std::string_view payload;
};

// Reads fixed-width little-endian fields; each call returns false, consuming nothing, past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > bytes_.size() - offset_) return false;
    *out = bytes_.substr(offset_, n);
    offset_ += n;
    return true;
  }

  bool Int(int width, uint64_t* out) {
    std::string_view raw;
    if (!Bytes(width, &raw)) return false;
    *out = 0;
    for (int i = width - 1; i >= 0; --i) *out = (*out << 8) | static_cast<uint8_t>(raw[i]);
    return true;
  }

  size_t offset() const { return offset_; }
  bool AtEnd() const { return offset_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t offset_ = 0;
};

// Why `path` may not be written below the destination, or "" when it may.
std::string_view BadPathReason(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return "holds a NUL byte";
  size_t start = 0;
  while (true) {
    size_t end = std::min(path.find('/', start), path.size());
    std::string_view component = path.substr(start, end - start);
    // An empty first component is an absolute path; one at the end a trailing '/'.
    if (component.empty()) return start == 0 ? "is empty or absolute" : "has an empty component";
    if (component == "." || component == "..") return "has a '.' or '..' component";
    if (end == path.size()) return "";
    start = end + 1;
  }
}

absl::StatusOr<std::vector<Entry>> ParsePackage(std::string_view bytes) {
  Reader reader(bytes);
  std::string_view magic;
  uint64_t count = 0;
  if (!reader.Bytes(kMagic.size(), &magic) || magic != kMagic || !reader.Int(8, &count)) {
    return absl::DataLossError("not a directory package: bad magic or version, or shorter than its header");
  }
  std::vector<Entry> entries;
  std::unordered_map<std::string_view, char> type_of;  // every path so far
  for (uint64_t i = 0; i < count; ++i) {
    size_t entry_offset = reader.offset();
    auto malformed = [&](std::string_view what) {
      return absl::DataLossError(absl::StrCat("malformed directory package: entry ", i, " at offset ", entry_offset,
                                              ": ", Absl(what), " (at offset ", reader.offset(), ")"));
    };
    Entry entry;
    std::string_view type;
    uint64_t mode = 0, path_length = 0, payload_length = 0;
    if (!reader.Bytes(1, &type) || !reader.Int(4, &mode) || !reader.Int(4, &path_length) ||
        !reader.Bytes(path_length, &entry.path) || !reader.Int(8, &payload_length) ||
        !reader.Bytes(payload_length, &entry.payload)) {
      return malformed("truncated");
    }
    entry.type = type[0];
    entry.mode = static_cast<uint32_t>(mode) & 0777;
    if (entry.type != 'd' && entry.type != 'f' && entry.type != 'l') return malformed("unknown entry type");
    if (entry.type == 'd' && !entry.payload.empty()) return malformed("directory entry with a payload");

    auto refused = [&](std::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("directory package entry ", i, " \"",
                                                     absl::CHexEscape(Absl(entry.path)), "\" ", Absl(why)));
    };
    if (std::string_view why = BadPathReason(entry.path); !why.empty()) return refused(why);
    if (entry.type == 'l' && entry.payload.find('\0') != std::string_view::npos) {
      return refused("has a symlink target holding a NUL byte");
    }
    // No folder holds one (symlink() refuses it), so no packer made this package.
    if (entry.type == 'l' && entry.payload.empty()) return refused("has an empty symlink target");
    if (!type_of.emplace(entry.path, entry.type).second) return refused("repeats an earlier path");
    // Every parent must be a directory this package made: nothing is written through a symlink.
    if (size_t slash = entry.path.rfind('/'); slash != std::string_view::npos) {
      std::string_view parent = entry.path.substr(0, slash);
      auto it = type_of.find(parent);
      if (it == type_of.end()) return refused("comes before (or without) an entry for its parent directory");
      if (it->second == 'l') return refused("lies below a symlink entry");
      if (it->second == 'f') return refused("lies below a file entry");
    }
    entries.push_back(entry);
  }
  if (!reader.AtEnd()) {
    return absl::DataLossError(absl::StrCat("malformed directory package: ", bytes.size() - reader.offset(),
                                            " bytes after the last entry, at offset ", reader.offset()));
  }
  return entries;
}

// ---- Unpacking ----

// Creates the entries below `root`; directories are 0700 while filling (so a read-only one still
// gets its children) and get their recorded modes, deepest first, at the end. `made_dirs` lists
// the directories created, for Discard.
absl::Status WriteEntries(const std::vector<Entry>& entries, const std::string& root,
                          std::vector<std::string>* made_dirs) {
  std::vector<std::pair<std::string, mode_t>> dir_modes;
  for (const Entry& entry : entries) {
    std::string path = absl::StrCat(root, "/", Absl(entry.path));
    if (entry.type == 'd') {
      if (mkdir(path.c_str(), 0700) != 0) return ErrnoStatus("mkdir " + path, errno);
      made_dirs->push_back(path);
      dir_modes.emplace_back(path, entry.mode);
    } else if (entry.type == 'l') {
      if (symlink(std::string(entry.payload).c_str(), path.c_str()) != 0) return ErrnoStatus("symlink " + path, errno);
    } else {
      int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, entry.mode);
      if (fd < 0) return ErrnoStatus("create " + path, errno);
      absl::Status status = WriteAll(fd, entry.payload, path);
      // open() applied the umask; the recorded mode must be exact (an executable stays one).
      if (status.ok() && fchmod(fd, entry.mode) != 0) status = ErrnoStatus("chmod " + path, errno);
      if (close(fd) != 0 && status.ok()) status = ErrnoStatus("close " + path, errno);
      ORRERY_RETURN_IF_ERROR(status);
    }
  }
  for (auto it = dir_modes.rbegin(); it != dir_modes.rend(); ++it) {
    if (chmod(it->first.c_str(), it->second) != 0) return ErrnoStatus("chmod " + it->first, errno);
  }
  return absl::OkStatus();
}

// Removes a temporary copy, first making its directories writable again (a non-root user cannot
// empty a read-only directory).
void Discard(const std::string& root, const std::vector<std::string>& made_dirs) {
  for (const std::string& dir : made_dirs) chmod(dir.c_str(), 0700);
  absl::Status status = RemoveAll(root);
  if (!status.ok()) spdlog::warn("could not remove the temporary directory {}: {}", root, status);
}

// Renames without replacing: an existing `to`, even an empty directory, is kept (EEXIST).
int RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL) return errno;
  // The filesystem lacks RENAME_NOREPLACE; rename() still refuses a non-empty directory.
  if (rename(from.c_str(), to.c_str()) == 0) return 0;
  return errno == ENOTEMPTY ? EEXIST : errno;
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    // Only an allocation failure inside OpenSSL gets here; no caller could act on it.
    spdlog::critical("EVP_Digest(SHA-256) failed");
    std::abort();
  }
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::StatusOr<DirectoryPackage> PackDirectory(const std::string& dir, int64_t max_bytes) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("working directory ", dir, " is missing or not a directory"));
  }
  Packer packer(dir, max_bytes);
  ORRERY_RETURN_IF_ERROR(packer.PackChildren(""));
  return std::move(packer).Finish();
}

absl::Status UnpackDirectory(std::string_view bytes, const std::string& dest_in) {
  // A trailing '/' would put the temporary copy inside dest instead of beside it.
  std::string dest = dest_in;
  if (dest.empty()) return absl::InvalidArgumentError("no destination to unpack a directory package into");
  while (dest.size() > 1 && dest.back() == '/') dest.pop_back();

  ORRERY_ASSIGN_OR_RETURN(std::vector<Entry> entries, ParsePackage(bytes));
  if (PathExists(dest)) return absl::OkStatus();
  std::filesystem::path parent = std::filesystem::path(dest).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return ErrnoStatus("mkdir " + parent.string(), ec.value());
  }
  std::string tmp = dest + ".tmp-XXXXXX";
  if (mkdtemp(tmp.data()) == nullptr) return ErrnoStatus("mkdtemp " + tmp, errno);

  std::vector<std::string> made_dirs;
  absl::Status status = WriteEntries(entries, tmp, &made_dirs);
  if (status.ok() && chmod(tmp.c_str(), 0755) != 0) status = ErrnoStatus("chmod " + tmp, errno);
  if (status.ok()) {
    int err = RenameNoReplace(tmp, dest);
    if (err == 0) return absl::OkStatus();
    // EEXIST: another unpacker got there first with the same content; keep theirs.
    if (err != EEXIST) status = ErrnoStatus("rename to " + dest, err);
  }
  Discard(tmp, made_dirs);
  return status;
}

}  // namespace orrery
