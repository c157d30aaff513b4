// InFlight: counts objects still alive on gRPC's threads, so their owner can wait for them.
//
// Why: a ClientContext holds a reference to its channel. If the last reference to a channel is
// dropped on a gRPC callback thread, gRPC 1.51 shuts its callback queue down from that same
// thread and aborts (grpc/grpc#32584). So every client waits, before it releases its channel,
// until each call's state (and context) has been destroyed.
#pragma once

#include <utility>

#include "absl/synchronization/mutex.h"

namespace orrery::rpc {

class InFlight {
 public:
  // Held by an in-flight object; its destruction (last, when it is the object's first member)
  // is what the owner waits for.
  class Token {
   public:
    Token() = default;
    explicit Token(InFlight* owner) : owner_(owner) {}
    Token(Token&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Token& operator=(Token&& other) noexcept {
      Release();
      owner_ = std::exchange(other.owner_, nullptr);
      return *this;
    }
    ~Token() { Release(); }

   private:
    void Release() {
      if (owner_ != nullptr) owner_->Done();
      owner_ = nullptr;
    }
    InFlight* owner_ = nullptr;
  };

  Token Acquire() {
    absl::MutexLock lock(&mu_);
    ++count_;
    return Token(this);
  }

  // Blocks until every token has been released.
  void WaitForNone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(+[](int* count) { return *count == 0; }, &count_));
  }

  int count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  void Done() {
    absl::MutexLock lock(&mu_);
    --count_;
  }

  mutable absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace orrery::rpc
