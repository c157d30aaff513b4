#include "src/gcs/storage/rocksdb_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace orrery::gcs::internal {

namespace {

absl::StatusCode CodeOf(const rocksdb::Status& s) {
  switch (s.code()) {
    case rocksdb::Status::kOk:
      return absl::StatusCode::kOk;
    case rocksdb::Status::kNotFound:
      return absl::StatusCode::kNotFound;
    case rocksdb::Status::kCorruption:
      return absl::StatusCode::kDataLoss;
    case rocksdb::Status::kNotSupported:
      return absl::StatusCode::kUnimplemented;
    case rocksdb::Status::kInvalidArgument:
      return absl::StatusCode::kInvalidArgument;
    case rocksdb::Status::kIOError:
      return s.IsNoSpace() ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kUnavailable;
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kExpired:
      return absl::StatusCode::kDeadlineExceeded;
    case rocksdb::Status::kAborted:
      return absl::StatusCode::kAborted;
    case rocksdb::Status::kCompactionTooLarge:
      return absl::StatusCode::kResourceExhausted;
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
      return absl::StatusCode::kUnavailable;
    default:  // kMergeInProgress, kColumnFamilyDropped: nothing we ever ask for.
      return absl::StatusCode::kInternal;
  }
}

bool KeptAsIs(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
}

constexpr char kHexDigits[] = "0123456789ABCDEF";
constexpr char kEmptyTable[] = "%";

int UpperHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // Lower case is not what ColumnFamilyName writes.
}

}  // namespace

absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(CodeOf(s), absl::StrCat(context, ": ", s.ToString()));
}

std::string ColumnFamilyName(absl::string_view table) {
  if (table.empty()) return kEmptyTable;
  std::string name;
  name.reserve(table.size());
  for (char c : table) {
    if (KeptAsIs(c)) {
      name.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      name.push_back('%');
      name.push_back(kHexDigits[byte >> 4]);
      name.push_back(kHexDigits[byte & 0xF]);
    }
  }
  return name;
}

std::optional<std::string> TableOfColumnFamily(absl::string_view name) {
  if (name == kEmptyTable) return std::string();
  if (name.empty()) return std::nullopt;
  std::string table;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '%') {
      if (!KeptAsIs(name[i])) return std::nullopt;
      table.push_back(name[i]);
      continue;
    }
    if (i + 2 >= name.size()) return std::nullopt;
    int high = UpperHexValue(name[i + 1]);
    int low = UpperHexValue(name[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    char c = static_cast<char>((high << 4) | low);
    if (KeptAsIs(c)) return std::nullopt;  // Not how ColumnFamilyName spells it: not ours.
    table.push_back(c);
    i += 2;
  }
  return table;
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// A control-plane database: tens of tables, megabytes to a few gigabytes, on a head that may
// have two cores shared with the GCS, a raylet and workers. It must not stall the GCS on its
// own housekeeping, nor hold memory or threads the workers need.
rocksdb::DBOptions DatabaseOptions() {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  // Two background threads in all (flushes and compactions share them); the write rate is small.
  db.max_background_jobs = 2;
  // All memtables together; past it the largest is flushed.
  db.db_write_buffer_size = 32 << 20;
  // A table written once an hour must not pin every WAL file since: past 64 MiB of WAL the
  // oldest memtables are flushed so their logs can go.
  db.max_total_wal_size = 64 << 20;
  // RocksDB's info LOG: a few files of bounded size, not the default thousand of any size.
  db.keep_log_file_num = 3;
  db.max_log_file_size = 8 << 20;
  // false, as by default: kBatch's promise that a process crash loses nothing acknowledged
  // rests on Write() handing the WAL record to the OS before it returns.
  db.manual_wal_flush = false;
  // A torn last WAL record after a power loss is dropped, not fatal (the default, on purpose).
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  return db;
}

rocksdb::ColumnFamilyOptions TableOptions(std::shared_ptr<rocksdb::Cache> block_cache) {
  rocksdb::ColumnFamilyOptions cf;
  // Memtables are per table; 4 MiB each keeps a rarely written table cheap, while
  // db_write_buffer_size bounds their sum.
  cf.write_buffer_size = 4 << 20;
  cf.target_file_size_base = 8 << 20;
  cf.max_bytes_for_level_base = 32 << 20;
  // Level sizes follow the data, so a small database does not keep an empty ladder of levels.
  cf.level_compaction_dynamic_level_bytes = true;
  rocksdb::BlockBasedTableOptions table;
  // One small cache for every table, where the default would give each its own 32 MiB.
  table.block_cache = std::move(block_cache);
  // A Put or Exists of a missing key (the common Put) skips files without reading them.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

absl::StatusOr<StorageLock> StorageLock::Acquire(const std::string& dir) {
  std::string file = dir + "/ORRERY_LOCK";
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", file, ": ", std::strerror(errno)));
  StorageLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("another process uses the storage at ", dir, " (", file, " is locked)"));
    }
    return absl::UnavailableError(absl::StrCat("cannot lock ", file, ": ", std::strerror(err)));
  }
  return lock;
}

StorageLock::StorageLock(StorageLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

StorageLock::~StorageLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace orrery::gcs::internal
