#include "src/rpc/fault_injection.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace orrery::rpc {

namespace {

constexpr char kFailureVariable[] = "ORRERY_TESTING_RPC_FAILURE";
constexpr char kDelayVariable[] = "ORRERY_TESTING_RPC_DELAY_MS";

// Splits "Service.Method=a:b:c,..." into (method, fields) pairs, checking each has `fields`.
absl::StatusOr<std::vector<std::pair<std::string, std::vector<std::string>>>> SplitEntries(
    absl::string_view value, const char* variable, size_t fields, const char* shape) {
  std::vector<std::pair<std::string, std::vector<std::string>>> entries;
  for (absl::string_view entry : absl::StrSplit(value, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::vector<absl::string_view> sides = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    std::vector<std::string> parts;
    if (sides.size() == 2) parts = absl::StrSplit(sides[1], ':');
    bool named = sides.size() == 2 && (sides[0] == "*" || absl::StrContains(sides[0], '.'));
    if (!named || parts.size() != fields) {
      return absl::InvalidArgumentError(
          absl::StrCat(variable, ": '", entry, "' is not ", shape, " (Service.Method is e.g. GcsService.KvPut, or *)"));
    }
    entries.emplace_back(std::string(sides[0]), std::move(parts));
  }
  return entries;
}

absl::Status Number(const std::string& text, double min, double max, const char* variable, double* out) {
  if (!absl::SimpleAtod(text, out) || *out < min || *out > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(variable, ": '", text, "' is not a number from ", min, " to ", max));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<FaultInjector>> FaultInjector::Parse(absl::string_view failures,
                                                                    absl::string_view delays, uint64_t seed) {
  std::unique_ptr<FaultInjector> injector(new FaultInjector(seed));
  auto failure_entries = SplitEntries(failures, kFailureVariable, 3, "Service.Method=N:req_pct:reply_pct");
  if (!failure_entries.ok()) return failure_entries.status();
  absl::MutexLock lock(&injector->mu_);
  for (const auto& [method, parts] : *failure_entries) {
    double limit = 0;
    Failure failure;
    if (absl::Status s = Number(parts[0], -1, 1e15, kFailureVariable, &limit); !s.ok()) return s;
    if (absl::Status s = Number(parts[1], 0, 100, kFailureVariable, &failure.request_pct); !s.ok()) return s;
    if (absl::Status s = Number(parts[2], 0, 100, kFailureVariable, &failure.reply_pct); !s.ok()) return s;
    failure.remaining = static_cast<int64_t>(limit);
    injector->failures_[method] = failure;
  }
  auto delay_entries = SplitEntries(delays, kDelayVariable, 2, "Service.Method=min:max");
  if (!delay_entries.ok()) return delay_entries.status();
  for (const auto& [method, parts] : *delay_entries) {
    double min = 0, max = 0;
    if (absl::Status s = Number(parts[0], 0, 3.6e6, kDelayVariable, &min); !s.ok()) return s;
    if (absl::Status s = Number(parts[1], min, 3.6e6, kDelayVariable, &max); !s.ok()) return s;
    injector->delays_[method] = Delay{static_cast<int64_t>(min), static_cast<int64_t>(max)};
  }
  return injector;
}

FaultInjector* FaultInjector::FromEnvironment() {
  static FaultInjector* injector = [] () -> FaultInjector* {
    const char* failures = std::getenv(kFailureVariable);
    const char* delays = std::getenv(kDelayVariable);
    if ((failures == nullptr || *failures == '\0') && (delays == nullptr || *delays == '\0')) return nullptr;
    auto parsed = Parse(failures == nullptr ? "" : failures, delays == nullptr ? "" : delays);
    if (!parsed.ok()) {
      std::fprintf(stderr, "orrery: %s\n", std::string(parsed.status().message()).c_str());
      std::abort();
    }
    return parsed->release();  // for the life of the process
  }();
  return injector;
}

template <typename Entry>
Entry* FaultInjector::Find(absl::flat_hash_map<std::string, Entry>& entries, const std::string& method) {
  if (auto it = entries.find(method); it != entries.end()) return &it->second;
  if (auto it = entries.find("*"); it != entries.end()) return &it->second;
  return nullptr;
}

InjectedFault FaultInjector::Decide(const std::string& method) {
  absl::MutexLock lock(&mu_);
  InjectedFault fault;
  if (Delay* delay = Find(delays_, method); delay != nullptr) {
    fault.delay_ms = std::uniform_int_distribution<int64_t>(delay->min_ms, delay->max_ms)(random_);
  }
  Failure* failure = Find(failures_, method);
  if (failure == nullptr || failure->remaining == 0) return fault;
  double roll = std::uniform_real_distribution<double>(0, 100)(random_);
  if (roll < failure->request_pct) {
    fault.kind = InjectedFault::kDropRequest;
  } else if (roll < failure->request_pct + failure->reply_pct) {
    fault.kind = InjectedFault::kDropReply;
  }
  if (fault.kind != InjectedFault::kNone && failure->remaining > 0) --failure->remaining;
  return fault;
}

std::string MethodName(absl::string_view service_full_name, absl::string_view request_name) {
  size_t dot = service_full_name.rfind('.');
  absl::string_view service = dot == absl::string_view::npos ? service_full_name : service_full_name.substr(dot + 1);
  return absl::StrCat(service, ".", absl::StripSuffix(request_name, "Request"));
}

}  // namespace orrery::rpc
