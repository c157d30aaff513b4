#include "src/rpc/certificate_renewer.h"

#include <algorithm>
#include <ctime>
#include <optional>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/common/log.h"
#include "src/common/status.h"

namespace orrery::rpc {
namespace {

int64_t UnixNow() { return static_cast<int64_t>(std::time(nullptr)); }

// After a failed renewal: a tenth of what is left before the certificate expires, between one
// second and a minute, so that a GCS down for a while is asked again well before the expiry.
// Past the expiry, every second: the holder's connections fail until it has a new one, and the
// GCS, once back, declares a node dead after a few failed health checks.
int64_t RetryAt(int64_t not_after) {
  int64_t now = UnixNow();
  return now + std::clamp<int64_t>((not_after - now) / 10, 1, 60);
}

// Past the expiry a failure is logged once a minute, not at every try.
constexpr int64_t kExpiredWarningSeconds = 60;

}  // namespace

CertificateRenewer::CertificateRenewer(std::string dir, std::string what, Renew renew, absl::Mutex* dir_writes)
    : dir_(std::move(dir)),
      what_(std::move(what)),
      renew_(std::move(renew)),
      dir_writes_(dir_writes),
      thread_([this] { Run(); }) {}

CertificateRenewer::~CertificateRenewer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

int CertificateRenewer::renewals() const {
  absl::MutexLock lock(&mu_);
  return renewals_;
}

bool CertificateRenewer::AwaitRenewals(int count, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return renewals_ >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

bool CertificateRenewer::AwaitGivenUp(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&given_up_), timeout);
}

void CertificateRenewer::RenewNow() {
  absl::MutexLock lock(&mu_);
  renew_now_ = true;
}

bool CertificateRenewer::WaitUntil(int64_t unix_seconds) {
  absl::MutexLock lock(&mu_);
  auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || renew_now_; };
  mu_.AwaitWithDeadline(absl::Condition(&wake), absl::FromUnixSeconds(unix_seconds));
  return !stopping_;
}

void CertificateRenewer::Run() {
  int64_t next = 0;
  while (WaitUntil(next)) {
    absl::StatusOr<int64_t> again = RenewWhenDue();
    if (!again.ok()) {
      spdlog::error("the certificate of {} in {} cannot be renewed: {}", what_, dir_, again.status().message());
      absl::MutexLock lock(&mu_);
      given_up_ = true;
      return;
    }
    next = *again;
  }
}

absl::StatusOr<int64_t> CertificateRenewer::RenewWhenDue() {
  bool now_asked = false;
  {
    absl::MutexLock lock(&mu_);
    std::swap(now_asked, renew_now_);
  }
  std::optional<absl::MutexLock> exclusive;
  if (dir_writes_ != nullptr) exclusive.emplace(dir_writes_);
  ORRERY_ASSIGN_OR_RETURN(TlsMaterial material, ReadTlsFiles(dir_));
  ORRERY_ASSIGN_OR_RETURN(CertificateInfo info, ReadCertificateInfo(material.config.cert_pem));
  int64_t due = RenewAt(info);
  if (UnixNow() < due && !now_asked) return due;
  if (now_asked) spdlog::info("renewing the certificate of {} now: the cluster CA rotates", what_);
  absl::StatusOr<TlsConfig> renewed = renew_(material.config, info);
  // Refused for good: asking every second until the process ends would only fill the log.
  if (absl::IsPermissionDenied(renewed.status())) return renewed.status();
  if (renewed.ok()) {
    std::string cert = renewed->cert_pem;
    absl::Status written = WriteTlsFiles(dir_, TlsMaterial{*std::move(renewed), material.ca_key_pem});
    if (written.ok()) {
      auto fresh = ReadCertificateInfo(cert);
      spdlog::info("renewed the certificate of {}: serial {} replaces {}, valid until {}", what_,
                   fresh.ok() ? fresh->serial_hex : "?", info.serial_hex,
                   fresh.ok() ? absl::FormatTime(absl::FromUnixSeconds(fresh->not_after), absl::UTCTimeZone()) : "?");
      absl::MutexLock lock(&mu_);
      ++renewals_;
      return UnixNow();  // the next look reads the new certificate's due time
    }
    renewed = written;
  }
  int64_t now = UnixNow();
  int64_t retry = RetryAt(info.not_after);
  if (now < info.not_after) {
    spdlog::warn("renewing the certificate of {} failed ({}); trying again in {} s (it expires in {} s)", what_,
                 renewed.status().message(), retry - now, info.not_after - now);
  } else {
    ++failures_unlogged_;
    if (now - expired_warned_at_ >= kExpiredWarningSeconds) {
      spdlog::warn("the certificate of {} expired {} s ago; {} tries to renew it failed, the last: {}; "
                   "trying again every second",
                   what_, now - info.not_after, failures_unlogged_, renewed.status().message());
      expired_warned_at_ = now;
      failures_unlogged_ = 0;
    }
  }
  return retry;
}

}  // namespace orrery::rpc
