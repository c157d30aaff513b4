#include "src/object_store/spill_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "src/common/status.h"

namespace orrery::object_store {

namespace {

// Large objects go in pieces so that one call never asks the kernel for gigabytes at once.
constexpr uint64_t kIoChunk = 64 << 20;

}  // namespace

absl::Status WriteSpillFile(const std::string& path, const uint8_t* data, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create spill file " + path, errno);
  uint64_t done = 0;
  absl::Status status;
  while (done < size) {
    ssize_t n = ::pwrite(fd, data + done, std::min(kIoChunk, size - done), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = ErrnoStatus("write spill file " + path, n < 0 ? errno : ENOSPC);
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  if (::close(fd) != 0 && status.ok()) status = ErrnoStatus("close spill file " + path, errno);
  if (!status.ok()) ::unlink(path.c_str());
  return status;
}

absl::Status ReadSpillFile(const std::string& path, uint8_t* out, uint64_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open spill file " + path, errno);
  uint64_t done = 0;
  absl::Status status;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, std::min(kIoChunk, size - done), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = n < 0 ? ErrnoStatus("read spill file " + path, errno)
                     : absl::DataLossError("spill file " + path + " is shorter than its object");
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return status;
}

}  // namespace orrery::object_store
