#include "src/gcs/storage/rocksdb_store_client.h"

#include <filesystem>
#include <functional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/utilities/write_batch_with_index.h"
#include "spdlog/spdlog.h"

#include "src/gcs/storage/rocksdb_util.h"

namespace orrery::gcs {

namespace {

using internal::ColumnFamilyName;
using internal::FromRocksDb;
using internal::StorageLock;

// Table names and keys are arbitrary bytes; messages show them escaped.
std::string Quoted(absl::string_view bytes) { return absl::StrCat("'", absl::CHexEscape(bytes), "'"); }

// One call, queued for the storage thread.
class Op {
 public:
  explicit Op(std::string table) : table_(std::move(table)) {}
  virtual ~Op() = default;
  const std::string& table() const { return table_; }
  // Runs the call against the current group's batch (storage thread).
  virtual void Apply() = 0;
  // What to post to the dispatcher: the call's own result, or `error` when that is not OK.
  virtual std::function<void()> Answer(absl::Status error) = 0;

 private:
  std::string table_;
};

template <typename T>
class CallOp final : public Op {
 public:
  using Fn = std::function<absl::StatusOr<T>(const std::string& table)>;
  CallOp(std::string table, Fn fn, StoreClient::Callback<T> done)
      : Op(std::move(table)), fn_(std::move(fn)), done_(std::move(done)) {}

  void Apply() override { result_ = fn_(table()); }
  std::function<void()> Answer(absl::Status error) override {
    absl::StatusOr<T> result = error.ok() ? std::move(result_) : absl::StatusOr<T>(std::move(error));
    // Owns nothing of the client: it may run on the loop after the client is gone.
    return [done = std::move(done_), result = std::move(result)]() mutable { done(std::move(result)); };
  }

 private:
  Fn fn_;
  StoreClient::Callback<T> done_;
  absl::StatusOr<T> result_ = absl::UnknownError("not applied");
};

template <typename T>
std::unique_ptr<Op> MakeOp(const std::string& table, StoreClient::Callback<T> done, typename CallOp<T>::Fn fn) {
  return std::make_unique<CallOp<T>>(table, std::move(fn), std::move(done));
}

}  // namespace

// Owns the DB, its column family handles and the storage thread. Calls enqueue from any thread
// (the GCS loop in practice); the storage thread applies them in groups and posts the answers
// through the dispatcher, which must accept posts from that thread. Checkpoint() may run on any
// thread at the same time (RocksDB's own locking covers it).
class RocksDbStoreClient::Impl {
 public:
  Impl(RocksDbStoreOptions options, Dispatcher dispatcher, StorageLock lock, rocksdb::ColumnFamilyOptions table_options,
       rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles)
      : options_(std::move(options)),
        dispatcher_(std::move(dispatcher)),
        lock_(std::move(lock)),
        table_options_(std::move(table_options)),
        db_(db),
        // overwrite_key: one index entry per key, which NewIteratorWithBase requires.
        batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      std::optional<std::string> table = internal::TableOfColumnFamily(handle->GetName());
      if (table.has_value()) {
        tables_[*table] = handle;
      } else {
        // Not a name we make: opened because RocksDB opens all or none, never read.
        spdlog::warn("RocksDB storage {}: ignoring column family {}", options_.path, Quoted(handle->GetName()));
        foreign_.push_back(handle);
      }
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~Impl() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      work_cv_.Signal();
    }
    thread_.join();  // The thread finishes the queue and syncs the WAL before it returns.
    for (auto& [name, handle] : tables_) {
      rocksdb::Status s = db_->DestroyColumnFamilyHandle(handle);
      if (!s.ok()) spdlog::warn("RocksDB storage {}: closing table {}: {}", options_.path, Quoted(name), s.ToString());
    }
    tables_.clear();
    for (rocksdb::ColumnFamilyHandle* handle : foreign_) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    foreign_.clear();
    rocksdb::Status s = db_->Close();
    if (!s.ok()) spdlog::warn("RocksDB storage {}: close: {}", options_.path, s.ToString());
    delete db_;
  }

  void Enqueue(std::unique_ptr<Op> op) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        queue_.push_back(std::move(op));
        work_cv_.Signal();
        return;
      }
    }
    dispatcher_(op->Answer(absl::FailedPreconditionError(
        absl::StrCat("table ", Quoted(op->table()), ": the storage at ", options_.path, " is closing"))));
  }

  absl::Status Checkpoint(std::string dir) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    if (dir.empty()) return absl::InvalidArgumentError("checkpoint: no directory given");
    std::error_code ec;
    // RocksDB wants an absolute path (it builds "<dir>.tmp" beside it, then renames).
    std::filesystem::path target = std::filesystem::absolute(dir, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("checkpoint into ", dir, ": ", ec.message()));
    if (std::filesystem::exists(target, ec)) {
      return absl::AlreadyExistsError(absl::StrCat("checkpoint into ", dir, ": it exists already"));
    }
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) return absl::UnavailableError(absl::StrCat("checkpoint into ", dir, ": ", ec.message()));
    rocksdb::Checkpoint* raw = nullptr;
    std::string context = absl::StrCat("checkpoint of ", options_.path, " into ", dir);
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_, &raw);
    if (!s.ok()) return FromRocksDb(s, context);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // Default log_size_for_flush (0): memtables are flushed first, so the copy holds every
    // write committed before the call, synced or not.
    return FromRocksDb(checkpoint->CreateCheckpoint(target.string()), context);
  }

  // The operations, on the storage thread, against batch_ (so each sees the group's earlier
  // writes). None writes into the batch unless it succeeds.

  absl::StatusOr<bool> Put(const std::string& table, const std::string& key, const std::string& value, bool overwrite) {
    absl::StatusOr<rocksdb::ColumnFamilyHandle*> cf = FindOrCreate(table);
    if (!cf.ok()) return cf.status();
    absl::StatusOr<bool> exists = Exists(*cf, table, key);
    if (!exists.ok()) return exists.status();
    if (*exists && !overwrite) return false;
    rocksdb::Status s = batch_.Put(*cf, key, value);
    if (!s.ok()) return Error(s, "writing", table);
    return !*exists;
  }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& table, const std::string& key) {
    rocksdb::ColumnFamilyHandle* cf = Find(table);
    if (cf == nullptr) return std::nullopt;
    std::string value;
    rocksdb::Status s = batch_.GetFromBatchAndDB(db_, rocksdb::ReadOptions(), cf, key, &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) return Error(s, "reading", table);
    return value;
  }

  absl::StatusOr<absl::flat_hash_map<std::string, std::string>> GetAll(const std::string& table) {
    absl::flat_hash_map<std::string, std::string> rows;
    rocksdb::ColumnFamilyHandle* cf = Find(table);
    if (cf == nullptr) return rows;
    absl::Status status = Scan(cf, table, "", [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
      rows.emplace(key.ToString(), value.ToString());
    });
    if (!status.ok()) return status;
    return rows;
  }

  absl::StatusOr<int64_t> Delete(const std::string& table, const std::string& key) {
    rocksdb::ColumnFamilyHandle* cf = Find(table);
    if (cf == nullptr) return 0;
    absl::StatusOr<bool> exists = Exists(cf, table, key);
    if (!exists.ok()) return exists.status();
    if (!*exists) return 0;
    rocksdb::Status s = batch_.Delete(cf, key);
    if (!s.ok()) return Error(s, "deleting from", table);
    return 1;
  }

  absl::StatusOr<int64_t> DeleteByPrefix(const std::string& table, const std::string& prefix) {
    rocksdb::ColumnFamilyHandle* cf = Find(table);
    if (cf == nullptr) return 0;
    absl::StatusOr<std::vector<std::string>> keys = Keys(table, prefix);
    if (!keys.ok()) return keys.status();
    // Deleted after the scan: changing the batch under its iterator is not safe.
    for (const std::string& key : *keys) {
      rocksdb::Status s = batch_.Delete(cf, key);
      if (!s.ok()) return Error(s, "deleting from", table);
    }
    return static_cast<int64_t>(keys->size());
  }

  absl::StatusOr<std::vector<std::string>> Keys(const std::string& table, const std::string& prefix) {
    std::vector<std::string> keys;
    rocksdb::ColumnFamilyHandle* cf = Find(table);
    if (cf == nullptr) return keys;
    absl::Status status = Scan(
        cf, table, prefix, [&](const rocksdb::Slice& key, const rocksdb::Slice&) { keys.push_back(key.ToString()); });
    if (!status.ok()) return status;
    return keys;
  }

  absl::StatusOr<bool> Exists(const std::string& table, const std::string& key) {
    rocksdb::ColumnFamilyHandle* cf = Find(table);
    if (cf == nullptr) return false;
    return Exists(cf, table, key);
  }

 private:
  absl::Status Error(const rocksdb::Status& s, absl::string_view what, const std::string& table) const {
    return FromRocksDb(s, absl::StrCat(what, " table ", Quoted(table), " in ", options_.path));
  }

  rocksdb::ColumnFamilyHandle* Find(const std::string& table) const {
    auto it = tables_.find(table);
    return it == tables_.end() ? nullptr : it->second;
  }

  absl::StatusOr<rocksdb::ColumnFamilyHandle*> FindOrCreate(const std::string& table) {
    if (rocksdb::ColumnFamilyHandle* cf = Find(table)) return cf;
    // Durable at once (RocksDB syncs its MANIFEST), whatever becomes of the group's commit:
    // an empty table reads the same as a missing one.
    rocksdb::ColumnFamilyHandle* cf = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(table_options_, ColumnFamilyName(table), &cf);
    if (!s.ok()) return Error(s, "creating", table);
    tables_[table] = cf;
    return cf;
  }

  absl::StatusOr<bool> Exists(rocksdb::ColumnFamilyHandle* cf, const std::string& table, const std::string& key) {
    rocksdb::PinnableSlice value;
    rocksdb::Status s = batch_.GetFromBatchAndDB(db_, rocksdb::ReadOptions(), cf, key, &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return Error(s, "reading", table);
    return true;
  }

  // Calls fn(key, value) for each row whose key starts with `prefix`, in key order.
  template <typename Fn>
  absl::Status Scan(rocksdb::ColumnFamilyHandle* cf, const std::string& table, const std::string& prefix, Fn fn) {
    // The upper bound lets RocksDB stop at the range's end instead of walking past it through
    // deleted rows; the starts_with check below is what decides.
    std::string end = internal::PrefixEnd(prefix);
    rocksdb::Slice end_slice(end);
    rocksdb::ReadOptions read;
    if (!end.empty()) read.iterate_upper_bound = &end_slice;
    std::unique_ptr<rocksdb::Iterator> it(batch_.NewIteratorWithBase(cf, db_->NewIterator(read, cf), &read));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) fn(it->key(), it->value());
    if (!it->status().ok()) return Error(it->status(), "scanning", table);
    return absl::OkStatus();
  }

  void Run() {
    while (true) {
      std::vector<std::unique_ptr<Op>> group;
      bool stop = false;
      {
        absl::MutexLock lock(&mu_);
        while (queue_.empty() && !stopping_) {
          if (!unsynced_) {
            work_cv_.Wait(&mu_);
          } else if (work_cv_.WaitWithDeadline(&mu_, sync_due_)) {
            break;  // time to sync the WAL
          }
        }
        group.swap(queue_);
        stop = stopping_ && group.empty();
      }
      if (!group.empty()) RunGroup(group);
      SyncWalIfDue(/*now=*/stop);
      if (stop) return;
    }
  }

  // Applies the group in call order, commits its writes at once, then answers in call order.
  void RunGroup(std::vector<std::unique_ptr<Op>>& group) {
    batch_.Clear();
    // Calls before the group's first write read only committed data: a failed commit does not
    // change their answers. Every call from the first write on answers the commit's error.
    size_t first_write = group.size();
    for (size_t i = 0; i < group.size(); ++i) {
      uint32_t before = batch_.GetWriteBatch()->Count();
      group[i]->Apply();
      if (first_write == group.size() && batch_.GetWriteBatch()->Count() != before) first_write = i;
    }
    rocksdb::Status commit;
    if (batch_.GetWriteBatch()->Count() > 0) {
      rocksdb::WriteOptions write;
      write.sync = options_.sync == StorageSync::kAlways;
      commit = db_->Write(write, batch_.GetWriteBatch());
      if (commit.ok() && !write.sync && !unsynced_) {
        unsynced_ = true;
        sync_due_ = absl::Now() + absl::Milliseconds(kBatchSyncIntervalMs);
      }
    }
    batch_.Clear();
    for (size_t i = 0; i < group.size(); ++i) {
      absl::Status error = i >= first_write ? Error(commit, "writing", group[i]->table()) : absl::OkStatus();
      dispatcher_(group[i]->Answer(std::move(error)));
    }
  }

  // kBatch: the WAL is on disk at most kBatchSyncIntervalMs after a write was acknowledged.
  void SyncWalIfDue(bool now) {
    if (!unsynced_ || (!now && absl::Now() < sync_due_)) return;
    unsynced_ = false;
    rocksdb::Status s = db_->SyncWAL();
    // Nobody is waiting to be told (the writes were acknowledged): log it. A failed sync puts
    // RocksDB in a background-error state, and the next writes answer the error themselves.
    if (!s.ok()) spdlog::error("RocksDB storage {}: syncing the WAL: {}", options_.path, s.ToString());
  }

  const RocksDbStoreOptions options_;
  const Dispatcher dispatcher_;
  StorageLock lock_;                                  // Released after db_ is closed (member order).
  const rocksdb::ColumnFamilyOptions table_options_;  // For each table created later.
  rocksdb::DB* const db_;

  // Storage thread only (and the constructor and destructor, while it does not run).
  absl::flat_hash_map<std::string, rocksdb::ColumnFamilyHandle*> tables_;
  std::vector<rocksdb::ColumnFamilyHandle*> foreign_;  // Column families that are no table of ours.
  rocksdb::WriteBatchWithIndex batch_;
  bool unsynced_ = false;  // kBatch: written since the last SyncWAL
  absl::Time sync_due_;

  absl::Mutex mu_;
  absl::CondVar work_cv_;
  std::vector<std::unique_ptr<Op>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;  // Last: started once everything above is built.
};

absl::StatusOr<std::unique_ptr<RocksDbStoreClient>> RocksDbStoreClient::Open(const RocksDbStoreOptions& options,
                                                                             Dispatcher dispatcher) {
  const std::string& path = options.path;
  if (path.empty()) return absl::InvalidArgumentError("RocksDB storage: no path given");
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    std::error_code ignored;
    if (std::filesystem::exists(path, ignored) && !std::filesystem::is_directory(path, ignored)) {
      return absl::DataLossError(absl::StrCat(path, " is not a RocksDB database: it is not a directory"));
    }
    return absl::UnavailableError(absl::StrCat("cannot create the storage directory ", path, ": ", ec.message()));
  }
  absl::StatusOr<StorageLock> lock = StorageLock::Acquire(path);
  if (!lock.ok()) return lock.status();

  auto open_error = [&](const rocksdb::Status& s) {
    if (s.IsCorruption()) {
      return absl::DataLossError(
          absl::StrCat("the storage at ", path, " is corrupt or not a RocksDB database: ", s.ToString()));
    }
    return absl::UnavailableError(absl::StrCat("cannot open the storage at ", path, ": ", s.ToString()));
  };
  rocksdb::DBOptions db_options = internal::DatabaseOptions();
  // Every table (column family) there is must be opened.
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
  if (s.IsPathNotFound()) {
    names = {rocksdb::kDefaultColumnFamilyName};  // No CURRENT: a new database.
  } else if (!s.ok()) {
    return open_error(s);
  }
  rocksdb::ColumnFamilyOptions table_options = internal::TableOptions(rocksdb::NewLRUCache(internal::kBlockCacheBytes));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, table_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(db_options, path, descriptors, &handles, &db);
  if (!s.ok()) return open_error(s);
  auto impl = std::make_unique<Impl>(options, std::move(dispatcher), std::move(*lock), table_options, db, handles);
  return std::unique_ptr<RocksDbStoreClient>(new RocksDbStoreClient(std::move(impl)));
}

RocksDbStoreClient::RocksDbStoreClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbStoreClient::~RocksDbStoreClient() = default;

void RocksDbStoreClient::Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
                             Callback<bool> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(
      MakeOp<bool>(table, std::move(done), [impl, key, value = std::move(value), overwrite](const std::string& t) {
        return impl->Put(t, key, value, overwrite);
      }));
}

void RocksDbStoreClient::Get(const std::string& table, const std::string& key,
                             Callback<std::optional<std::string>> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(MakeOp<std::optional<std::string>>(table, std::move(done),
                                                   [impl, key](const std::string& t) { return impl->Get(t, key); }));
}

void RocksDbStoreClient::GetAll(const std::string& table,
                                Callback<absl::flat_hash_map<std::string, std::string>> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(MakeOp<absl::flat_hash_map<std::string, std::string>>(
      table, std::move(done), [impl](const std::string& t) { return impl->GetAll(t); }));
}

void RocksDbStoreClient::Delete(const std::string& table, const std::string& key, Callback<int64_t> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(
      MakeOp<int64_t>(table, std::move(done), [impl, key](const std::string& t) { return impl->Delete(t, key); }));
}

void RocksDbStoreClient::DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(MakeOp<int64_t>(table, std::move(done),
                                [impl, prefix](const std::string& t) { return impl->DeleteByPrefix(t, prefix); }));
}

void RocksDbStoreClient::Keys(const std::string& table, const std::string& prefix,
                              Callback<std::vector<std::string>> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(MakeOp<std::vector<std::string>>(
      table, std::move(done), [impl, prefix](const std::string& t) { return impl->Keys(t, prefix); }));
}

void RocksDbStoreClient::Exists(const std::string& table, const std::string& key, Callback<bool> done) {
  Impl* impl = impl_.get();
  impl->Enqueue(
      MakeOp<bool>(table, std::move(done), [impl, key](const std::string& t) { return impl->Exists(t, key); }));
}

absl::Status RocksDbStoreClient::Checkpoint(const std::string& dir) { return impl_->Checkpoint(dir); }

}  // namespace orrery::gcs
