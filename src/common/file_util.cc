#include "src/common/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "src/common/random.h"
#include "src/common/status.h"

namespace orrery {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("read " + path, errno ? errno : ENOENT);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::Status WriteFileAtomic(const std::string& path, const std::string& content, mode_t mode) {
  std::string tmp = absl::StrCat(path, ".tmp-", HexEncode(RandomBytes(4)));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("create " + tmp, errno);
  // open() applies the umask; the mode must be exact (a token file is 0600, never wider).
  fchmod(fd, mode);
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return ErrnoStatus("write " + tmp, err);
    }
    written += static_cast<size_t>(n);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("rename to " + path, err);
  }
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return ErrnoStatus("mkdir " + path, ec.value());
  if (chmod(path.c_str(), mode) != 0) return ErrnoStatus("chmod " + path, errno);
  return absl::OkStatus();
}

absl::Status MakePrivateDir(const std::string& path) {
  // Refuse another user's directory before touching it (root could chmod it otherwise).
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, " belongs to uid ", st.st_uid, ", not to this user (uid ", geteuid(), ")"));
  }
  return MakeDirs(path, 0700);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

absl::Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return ErrnoStatus("remove " + path, ec.value());
  return absl::OkStatus();
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace orrery
