// Pieces of RocksDbStoreClient that need no storage thread: RocksDB's statuses as absl ones,
// table names as column family names, the database options, prefix ranges, and the lock file
// that tells a second opener the storage is taken. Private to src/gcs/storage/.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace orrery::gcs::internal {

// The absl code for a RocksDB status: IOError is Unavailable (ResourceExhausted when the disk
// is full), Corruption DataLoss, and so on. The message is "<context>: <RocksDB's message>".
absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context);

// Table names are any bytes, but RocksDB asserts on an empty column family name and writes the
// names into its OPTIONS file, which quotes them badly. So a column family is named by the
// table's bytes where they are [A-Za-z0-9_.:-], others as %XX, and the empty table as "%".
// "default" stays itself: RocksDB's default column family is the table named "default".
std::string ColumnFamilyName(absl::string_view table);
// The table a column family holds; nullopt for a name ColumnFamilyName never makes.
std::optional<std::string> TableOfColumnFamily(absl::string_view name);

// The first key after every key that starts with `prefix`; "" when there is none (the prefix
// is empty or all 0xFF bytes).
std::string PrefixEnd(absl::string_view prefix);

// Options for a small control-plane database: see the .cc for why each one.
rocksdb::DBOptions DatabaseOptions();
// Every table (column family) shares `block_cache`.
rocksdb::ColumnFamilyOptions TableOptions(std::shared_ptr<rocksdb::Cache> block_cache);
inline constexpr size_t kBlockCacheBytes = 16 << 20;

// flock(LOCK_EX) on "<dir>/ORRERY_LOCK" while alive. RocksDB reports its own LOCK being held
// as a bare IOError (the code of a failed disk), so this lock is taken first: its EWOULDBLOCK
// says exactly that someone else has the storage open, in another process or in this one
// (flock locks belong to the open file, not the process, unlike RocksDB's fcntl lock).
class StorageLock {
 public:
  // FailedPrecondition naming `dir` when another opener holds it; Unavailable when the file
  // cannot be opened or locked.
  static absl::StatusOr<StorageLock> Acquire(const std::string& dir);

  StorageLock(StorageLock&& other) noexcept;
  StorageLock& operator=(StorageLock&&) = delete;
  ~StorageLock();

 private:
  explicit StorageLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace orrery::gcs::internal
