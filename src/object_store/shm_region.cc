#include "src/object_store/shm_region.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/common/memory.h"
#include "src/common/status.h"

namespace orrery::object_store {

namespace {

absl::StatusOr<uint8_t*> MapShared(int fd, size_t size) {
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return ErrnoStatus("mmap of the object store", errno);
  return static_cast<uint8_t*>(base);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShmRegion>> ShmRegion::Create(size_t size, bool prefault) {
  if (size == 0) return absl::InvalidArgumentError("the object store's size must be positive");
  int fd = ::memfd_create("orrery-object-store", MFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("memfd_create", errno);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status status = ErrnoStatus("sizing the object store to " + std::to_string(size) + " bytes", errno);
    ::close(fd);
    return status;
  }
  absl::StatusOr<uint8_t*> base = MapShared(fd, size);
  if (!base.ok()) {
    ::close(fd);
    return base.status();
  }
  // Nobody else maps it yet, so an old kernel's fallback may simply write zeros.
  if (prefault && !PopulateForWrite(*base, size)) std::memset(*base, 0, size);
  return std::unique_ptr<ShmRegion>(new ShmRegion(fd, *base, size));
}

absl::StatusOr<std::unique_ptr<ShmRegion>> ShmRegion::Map(int fd, size_t size, bool populate) {
  absl::StatusOr<uint8_t*> base = MapShared(fd, size);
  if (!base.ok()) {
    ::close(fd);
    return base.status();
  }
  if (populate) PopulateForWrite(*base, size);  // the pages exist: this only maps them here
  return std::unique_ptr<ShmRegion>(new ShmRegion(fd, *base, size));
}

ShmRegion::~ShmRegion() {
  ::munmap(base_, size_);
  ::close(fd_);
}

}  // namespace orrery::object_store
