// RedisStoreClient over hiredis 0.14's synchronous API on a storage thread of its own. Each table
// is one Redis hash, key_prefix + "table:" + table. The thread takes every queued call, sends
// their commands together (pipelining), reads the replies in order and posts each answer
// through the dispatcher in call order. When Redis goes away it reconnects with back-off and
// resends what was not answered: calls wait through an outage instead of failing.
#include "src/gcs/storage/redis_store_client.h"

#include <hiredis/hiredis.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

#include "src/common/log.h"
#include "src/common/status.h"

namespace orrery::gcs {

namespace {

constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);
// No reply for this long means a hung server or network: reconnect and resend.
constexpr absl::Duration kIoTimeout = absl::Seconds(10);
// One reconnect attempt waits at most this long, so that a stopping client is not held up.
constexpr absl::Duration kReconnectAttemptTimeout = absl::Seconds(1);
// The destructor gives up on Redis after this long without progress.
constexpr absl::Duration kStopGrace = absl::Seconds(1);
// Commands pipelined in one round, which bounds the memory a burst of calls takes.
constexpr size_t kMaxOpsPerRound = 1024;

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

absl::string_view ErrorText(const redisReply& reply) { return absl::string_view(reply.str, reply.len); }

// Error replies that mean "this server cannot answer now" rather than "this command is wrong":
// the call is resent after reconnecting instead of failing.
bool IsTransientError(absl::string_view message) {
  for (absl::string_view code : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "NOAUTH", "READONLY", "CLUSTERDOWN"}) {
    if (absl::StartsWith(message, code) && (message.size() == code.size() || message[code.size()] == ' ')) return true;
  }
  return false;
}

bool AppendCommand(redisContext* context, const std::vector<std::string>& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const std::string& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()) == REDIS_OK;
}

// One command and its reply, for the handshake. Unavailable when the connection fails.
absl::StatusOr<ReplyPtr> RunCommand(redisContext* context, const std::vector<std::string>& command) {
  void* raw = nullptr;
  if (!AppendCommand(context, command) || redisGetReply(context, &raw) != REDIS_OK) {
    return absl::UnavailableError(absl::StrCat(command[0], ": ", context->errstr));
  }
  return ReplyPtr(static_cast<redisReply*>(raw));
}

// Connects, AUTHs, SELECTs and PINGs. Unavailable when Redis cannot be reached or is not ready
// (LOADING); PermissionDenied when it refuses AUTH or needs it; InvalidArgument when it refuses
// the db.
absl::StatusOr<ContextPtr> Connect(const RedisAddress& address, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(timeout);
  ContextPtr context(address.unix_socket.empty() ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                                                 : redisConnectUnixWithTimeout(address.unix_socket.c_str(), tv));
  if (context == nullptr) return absl::UnavailableError("out of memory for a Redis connection");
  if (context->err != 0) return absl::UnavailableError(absl::StrCat("connect: ", context->errstr));
  redisSetTimeout(context.get(), tv);
  if (!address.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!address.user.empty()) auth.push_back(address.user);
    auth.push_back(address.password);
    ORRERY_ASSIGN_OR_RETURN(ReplyPtr reply, RunCommand(context.get(), auth));
    if (reply->type == REDIS_REPLY_ERROR) {
      if (absl::StartsWith(ErrorText(*reply), "LOADING")) return absl::UnavailableError(ErrorText(*reply));
      return absl::PermissionDeniedError(absl::StrCat("AUTH refused: ", ErrorText(*reply)));
    }
  }
  if (address.db != 0) {
    ORRERY_ASSIGN_OR_RETURN(ReplyPtr reply, RunCommand(context.get(), {"SELECT", absl::StrCat(address.db)}));
    if (reply->type == REDIS_REPLY_ERROR) {
      if (absl::StartsWith(ErrorText(*reply), "NOAUTH")) {
        return absl::PermissionDeniedError(absl::StrCat("Redis needs a password: ", ErrorText(*reply)));
      }
      if (IsTransientError(ErrorText(*reply))) return absl::UnavailableError(ErrorText(*reply));
      return absl::InvalidArgumentError(absl::StrCat("SELECT ", address.db, " refused: ", ErrorText(*reply)));
    }
  }
  ORRERY_ASSIGN_OR_RETURN(ReplyPtr reply, RunCommand(context.get(), {"PING"}));
  if (reply->type == REDIS_REPLY_ERROR) {
    if (absl::StartsWith(ErrorText(*reply), "NOAUTH")) {
      return absl::PermissionDeniedError(absl::StrCat("Redis needs a password: ", ErrorText(*reply)));
    }
    return absl::UnavailableError(absl::StrCat("PING: ", ErrorText(*reply)));
  }
  redisSetTimeout(context.get(), absl::ToTimeval(kIoTimeout));
  if (address.unix_socket.empty()) redisEnableKeepAlive(context.get());
  return context;
}

absl::Status Unexpected(const redisReply& reply, absl::string_view expected) {
  return absl::InternalError(absl::StrCat("Redis answered a reply of type ", reply.type, ", not ", expected));
}

absl::StatusOr<int64_t> ParseInteger(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_INTEGER) return Unexpected(reply, "an integer");
  return static_cast<int64_t>(reply.integer);
}

absl::StatusOr<std::optional<std::string>> ParseOptionalString(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_NIL) return std::optional<std::string>();
  if (reply.type != REDIS_REPLY_STRING) return Unexpected(reply, "a string");
  return std::optional<std::string>(std::string(reply.str, reply.len));
}

absl::StatusOr<absl::flat_hash_map<std::string, std::string>> ParsePairs(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements % 2 != 0) return Unexpected(reply, "field-value pairs");
  absl::flat_hash_map<std::string, std::string> pairs;
  pairs.reserve(reply.elements / 2);
  for (size_t i = 0; i < reply.elements; i += 2) {
    const redisReply& key = *reply.element[i];
    const redisReply& value = *reply.element[i + 1];
    if (key.type != REDIS_REPLY_STRING || value.type != REDIS_REPLY_STRING) return Unexpected(reply, "strings");
    pairs.insert_or_assign(std::string(key.str, key.len), std::string(value.str, value.len));
  }
  return pairs;
}

// The fields of a hash (HKEYS) that start with `prefix`, byte for byte.
absl::StatusOr<std::vector<std::string>> ParseKeys(const redisReply& reply, const std::string& prefix) {
  if (reply.type != REDIS_REPLY_ARRAY) return Unexpected(reply, "an array");
  std::vector<std::string> keys;
  for (size_t i = 0; i < reply.elements; ++i) {
    const redisReply& key = *reply.element[i];
    if (key.type != REDIS_REPLY_STRING) return Unexpected(reply, "strings");
    absl::string_view text(key.str, key.len);
    if (absl::StartsWith(text, prefix)) keys.emplace_back(text);
  }
  return keys;
}

}  // namespace

// Calls enqueue under mu_ from any thread; the storage thread alone owns the context and
// `pending`, and answers through the dispatcher without holding mu_ (a dispatcher may run the
// callback right there, and the callback may call again).
//
// Resending after a lost connection may repeat a command Redis had already run. HSET, HSETNX
// and HDEL leave the same rows when repeated, but an answer can then be less exact: a Put
// repeated answers "not new" and a Delete repeated answers 0 for a row the first try created or
// deleted.
class RedisStoreClient::Impl {
 public:
  Impl(RedisStoreOptions options, Dispatcher dispatcher)
      : options_(std::move(options)), dispatcher_(std::move(dispatcher)), address_text_(options_.address.ToString()) {}
  ~Impl();

  // Connects within connect_timeout_ms, then starts the thread.
  absl::Status Start();

  std::string HashKey(const std::string& table) const { return absl::StrCat(options_.key_prefix, "table:", table); }

  // A call of one command whose reply `parse` turns into the answer.
  template <typename T, typename Parse>
  void Submit(std::vector<std::string> command, Callback<T> done, Parse parse) {
    auto answer = std::make_shared<Callback<T>>(std::move(done));
    Op op;
    op.command = std::move(command);
    op.on_reply = [this, answer, parse](Op&, const redisReply& reply) {
      Post(std::move(*answer), parse(reply));
      return true;
    };
    op.fail = [this, answer](absl::Status status) { Post(std::move(*answer), absl::StatusOr<T>(std::move(status))); };
    Enqueue(std::move(op));
  }

  void DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done);

 private:
  struct Op {
    std::vector<std::string> command;  // the next to send
    // True while the reply may call for another command (DeleteByPrefix's HKEYS, then HDEL):
    // the round ends with this op, so that the calls after it see all of its effect.
    bool more = false;
    // Takes the reply to `command`: answers and returns true, or sets the next command and
    // returns false.
    std::function<bool(Op&, const redisReply&)> on_reply;
    std::function<void(absl::Status)> fail;
  };

  template <typename T>
  void Post(Callback<T> done, absl::StatusOr<T> result) {
    dispatcher_([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  }

  void Enqueue(Op op);
  void Run();
  void RunRound(std::deque<Op>& pending);
  bool Reconnect();
  void SetContext(ContextPtr context);
  void DropContext(absl::string_view why);
  void MarkProgress();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || stopping_; }

  const RedisStoreOptions options_;
  const Dispatcher dispatcher_;
  const std::string address_text_;  // masked
  std::thread thread_;

  // The storage thread's (and Start's, before the thread).
  ContextPtr context_;
  bool outage_ = false;
  absl::Time outage_since_;
  absl::StatusCode outage_logged_code_ = absl::StatusCode::kOk;

  absl::Mutex mu_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The destructor gave up on Redis: everything left is answered Unavailable.
  bool abandon_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_);
  // The context's socket, which the destructor shuts down to end a read from a silent Redis. The
  // thread clears it before closing the socket.
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
};

absl::Status RedisStoreClient::Impl::Start() {
  if (options_.key_prefix.empty()) return absl::InvalidArgumentError("the Redis key prefix must not be empty");
  absl::Duration timeout = absl::Milliseconds(std::max<int64_t>(options_.connect_timeout_ms, 1));
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = kFirstBackoff;
  for (;;) {
    absl::StatusOr<ContextPtr> context =
        Connect(options_.address, std::max(deadline - absl::Now(), absl::Milliseconds(10)));
    if (context.ok()) {
      SetContext(std::move(*context));
      break;
    }
    // A refused password or db stays refused: only an unreachable Redis is worth the wait.
    if (!absl::IsUnavailable(context.status())) {
      return absl::Status(context.status().code(),
                          absl::StrCat("Redis at ", address_text_, ": ", context.status().message()));
    }
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::UnavailableError(absl::StrCat("cannot reach Redis at ", address_text_, " within ",
                                                 options_.connect_timeout_ms, " ms: ", context.status().message()));
    }
    absl::SleepFor(std::min(backoff, left));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  MarkProgress();
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

RedisStoreClient::Impl::~Impl() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    absl::Time stop_since = absl::Now();
    while (!mu_.AwaitWithTimeout(absl::Condition(&finished_), absl::Milliseconds(100))) {
      if (abandon_ || absl::Now() - std::max(stop_since, last_progress_) < kStopGrace) continue;
      abandon_ = true;
      if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
    }
  }
  thread_.join();
}

void RedisStoreClient::Impl::Enqueue(Op op) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(std::move(op));
      return;
    }
  }
  op.fail(absl::UnavailableError(absl::StrCat("the store on Redis at ", address_text_, " is closing")));
}

void RedisStoreClient::Impl::Run() {
  std::deque<Op> pending;  // in call order; the first may be half done (DeleteByPrefix)
  for (;;) {
    bool abandon = false;
    {
      absl::MutexLock lock(&mu_);
      if (pending.empty()) mu_.Await(absl::Condition(this, &Impl::HasWork));
      while (!queue_.empty()) {
        pending.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (pending.empty()) break;  // stopping, and all answered
      abandon = abandon_;
    }
    if (abandon) {
      for (Op& op : pending) op.fail(absl::UnavailableError(absl::StrCat("gave up on Redis at ", address_text_)));
      pending.clear();
      continue;
    }
    if (context_ == nullptr && !Reconnect()) continue;
    RunRound(pending);
  }
  DropContext("");
  absl::MutexLock lock(&mu_);
  finished_ = true;
}

// Sends the first ops of `pending` (up to one that may need another command), reads the
// replies in order and answers the ops they finish. When the connection fails, the ops whose
// replies were not read stay at the front of `pending`, to be resent.
void RedisStoreClient::Impl::RunRound(std::deque<Op>& pending) {
  size_t sent = 0;
  while (sent < pending.size() && sent < kMaxOpsPerRound) {
    const Op& op = pending[sent++];
    if (!AppendCommand(context_.get(), op.command)) {
      DropContext("out of memory for a command");
      return;
    }
    if (op.more) break;
  }
  // Only the last op sent can be left unfinished, so the finished ones are always a prefix.
  size_t finished = 0;
  for (size_t i = 0; i < sent; ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK) {
      std::string why = context_->errstr;
      pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(finished));
      DropContext(why);
      return;
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    Op& op = pending[i];
    if (reply->type == REDIS_REPLY_ERROR) {
      if (IsTransientError(ErrorText(*reply))) {
        // The replies after it may have run or not: drop them all and resend from here.
        pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(finished));
        DropContext(ErrorText(*reply));
        return;
      }
      std::string message =
          absl::StrCat("Redis ", op.command[0], " ", absl::CHexEscape(op.command[1]), ": ", ErrorText(*reply));
      bool full = absl::StartsWith(ErrorText(*reply), "OOM");  // maxmemory reached
      op.fail(full ? absl::ResourceExhaustedError(message) : absl::InternalError(message));
      ++finished;
    } else if (op.on_reply(op, *reply)) {
      ++finished;
    }
  }
  pending.erase(pending.begin(), pending.begin() + static_cast<ptrdiff_t>(finished));
  MarkProgress();
}

// Connects again after an outage, backing off; false when the destructor gave up first.
bool RedisStoreClient::Impl::Reconnect() {
  absl::Duration backoff = kFirstBackoff;
  for (;;) {
    absl::StatusOr<ContextPtr> context = Connect(
        options_.address,
        std::clamp(absl::Milliseconds(options_.connect_timeout_ms), absl::Milliseconds(10), kReconnectAttemptTimeout));
    if (context.ok()) {
      SetContext(std::move(*context));
      spdlog::info("Redis at {} is back after {}", address_text_, absl::FormatDuration(absl::Now() - outage_since_));
      outage_ = false;
      outage_logged_code_ = absl::StatusCode::kOk;
      MarkProgress();
      return true;
    }
    // Once per outage, and again only if the reason changes (say, the password is now refused).
    if (context.status().code() != outage_logged_code_) {
      spdlog::warn("cannot reconnect to Redis at {} (calls wait; retrying): {}", address_text_,
                   context.status().message());
      outage_logged_code_ = context.status().code();
    }
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&abandon_), backoff)) return false;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

void RedisStoreClient::Impl::SetContext(ContextPtr context) {
  absl::MutexLock lock(&mu_);
  fd_ = context->fd;
  context_ = std::move(context);
}

// Closes the connection; `why` not empty: an outage starts, logged unless one is under way.
void RedisStoreClient::Impl::DropContext(absl::string_view why) {
  bool abandoned = false;
  {
    absl::MutexLock lock(&mu_);
    fd_ = -1;
    abandoned = abandon_;
  }
  if (context_ == nullptr) return;
  context_.reset();
  if (!why.empty() && !abandoned && !outage_) {
    spdlog::warn("lost Redis at {}: {}; reconnecting (calls wait)", address_text_, why);
    outage_ = true;
    outage_since_ = absl::Now();
    outage_logged_code_ = absl::StatusCode::kUnavailable;
  }
}

void RedisStoreClient::Impl::MarkProgress() {
  absl::MutexLock lock(&mu_);
  last_progress_ = absl::Now();
}

void RedisStoreClient::Impl::DeleteByPrefix(const std::string& table, const std::string& prefix,
                                            Callback<int64_t> done) {
  auto answer = std::make_shared<Callback<int64_t>>(std::move(done));
  Op op;
  op.command = {"HKEYS", HashKey(table)};
  op.more = true;
  op.on_reply = [this, answer, prefix](Op& self, const redisReply& reply) {
    if (self.command[0] == "HDEL") {
      Post(std::move(*answer), ParseInteger(reply));
      return true;
    }
    absl::StatusOr<std::vector<std::string>> keys = ParseKeys(reply, prefix);
    if (!keys.ok() || keys->empty()) {
      Post(std::move(*answer), keys.ok() ? absl::StatusOr<int64_t>(0) : absl::StatusOr<int64_t>(keys.status()));
      return true;
    }
    std::vector<std::string> hdel = {"HDEL", std::move(self.command[1])};
    hdel.insert(hdel.end(), std::make_move_iterator(keys->begin()), std::make_move_iterator(keys->end()));
    self.command = std::move(hdel);
    self.more = false;
    return false;
  };
  op.fail = [this, answer](absl::Status status) {
    Post(std::move(*answer), absl::StatusOr<int64_t>(std::move(status)));
  };
  Enqueue(std::move(op));
}

absl::StatusOr<std::unique_ptr<RedisStoreClient>> RedisStoreClient::Open(const RedisStoreOptions& options,
                                                                         Dispatcher dispatcher) {
  auto impl = std::make_unique<Impl>(options, std::move(dispatcher));
  ORRERY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<RedisStoreClient>(new RedisStoreClient(std::move(impl)));
}

RedisStoreClient::RedisStoreClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisStoreClient::~RedisStoreClient() = default;

void RedisStoreClient::Put(const std::string& table, const std::string& key, std::string value, bool overwrite,
                           Callback<bool> done) {
  impl_->Submit({overwrite ? "HSET" : "HSETNX", impl_->HashKey(table), key, std::move(value)}, std::move(done),
                [](const redisReply& reply) -> absl::StatusOr<bool> {
                  absl::StatusOr<int64_t> added = ParseInteger(reply);
                  if (!added.ok()) return added.status();
                  return *added == 1;
                });
}

void RedisStoreClient::Get(const std::string& table, const std::string& key,
                           Callback<std::optional<std::string>> done) {
  impl_->Submit({"HGET", impl_->HashKey(table), key}, std::move(done), ParseOptionalString);
}

void RedisStoreClient::GetAll(const std::string& table, Callback<absl::flat_hash_map<std::string, std::string>> done) {
  impl_->Submit({"HGETALL", impl_->HashKey(table)}, std::move(done), ParsePairs);
}

void RedisStoreClient::Delete(const std::string& table, const std::string& key, Callback<int64_t> done) {
  impl_->Submit({"HDEL", impl_->HashKey(table), key}, std::move(done), ParseInteger);
}

void RedisStoreClient::DeleteByPrefix(const std::string& table, const std::string& prefix, Callback<int64_t> done) {
  impl_->DeleteByPrefix(table, prefix, std::move(done));
}

void RedisStoreClient::Keys(const std::string& table, const std::string& prefix,
                            Callback<std::vector<std::string>> done) {
  impl_->Submit({"HKEYS", impl_->HashKey(table)}, std::move(done),
                [prefix](const redisReply& reply) { return ParseKeys(reply, prefix); });
}

void RedisStoreClient::Exists(const std::string& table, const std::string& key, Callback<bool> done) {
  impl_->Submit({"HEXISTS", impl_->HashKey(table), key}, std::move(done),
                [](const redisReply& reply) -> absl::StatusOr<bool> {
                  absl::StatusOr<int64_t> exists = ParseInteger(reply);
                  if (!exists.ok()) return exists.status();
                  return *exists == 1;
                });
}

}  // namespace orrery::gcs
