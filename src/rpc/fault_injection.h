// Fault injection for tests, off unless set. Every GrpcClient call consults it, in every
// process, so a test can make any call of any component fail or be slow through the
// environment alone:
//
//   ORRERY_TESTING_RPC_FAILURE="Service.Method=N:req_pct:reply_pct,..."
//     Of the calls of Service.Method (e.g. GcsService.RegisterActor; "*" for every method),
//     req_pct % have their request dropped before it is sent, and reply_pct % their reply
//     dropped after the server applied the call, at most N times in all (-1: no limit). Either way the caller sees UNAVAILABLE, as after a lost connection, and a
//     retried call tries again under the same request id: the second kind is what tests that
//     the server's replay cache answers a repeat instead of applying it twice.
//   ORRERY_TESTING_RPC_DELAY_MS="Service.Method=min:max,..."
//     Each call is sent after a random delay in [min, max] ms.
//
// A malformed value ends the process with a message naming it: a typo must not silently
// test nothing.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace orrery::rpc {

struct InjectedFault {
  enum Kind { kNone, kDropRequest, kDropReply };
  Kind kind = kNone;
  int64_t delay_ms = 0;
};

class FaultInjector {
 public:
  // From the two variables' values (either may be empty). InvalidArgument names what is wrong.
  static absl::StatusOr<std::unique_ptr<FaultInjector>> Parse(absl::string_view failures, absl::string_view delays,
                                                                uint64_t seed = std::random_device{}());
  // This process's, read once from the environment; nullptr when neither variable is set.
  static FaultInjector* FromEnvironment();

  // What happens to one call of `method` ("Service.Method"). Thread-safe.
  InjectedFault Decide(const std::string& method);

 private:
  struct Failure {
    int64_t remaining = -1;  // -1: no limit
    double request_pct = 0;
    double reply_pct = 0;
  };
  struct Delay {
    int64_t min_ms = 0;
    int64_t max_ms = 0;
  };
  explicit FaultInjector(uint64_t seed) : random_(seed) {}
  // The entry for `method`, else the "*" one, else nullptr.
  template <typename Entry>
  static Entry* Find(absl::flat_hash_map<std::string, Entry>& entries, const std::string& method);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Failure> failures_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Delay> delays_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
};

// "GcsService.RegisterNode": the name a call of `Service` with request `Request` goes by in the
// variables above (Orrery's request messages are named after their method).
std::string MethodName(absl::string_view service_full_name, absl::string_view request_name);

}  // namespace orrery::rpc
