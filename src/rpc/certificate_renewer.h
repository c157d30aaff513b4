// Keeps a TLS directory's certificate fresh (docs/security.md, "Renewal"): at two thirds of its
// life (RenewAt) the holder gets a new one, for a new key, and writes it into the directory,
// where every process using the directory picks it up (tls_credentials.h, tls_files.h). A
// renewal that fails is tried again, at shorter intervals as the expiry nears, and every second
// past it; one refused for good (PermissionDenied: the holder's node was declared dead) is not.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "src/rpc/tls_certificates.h"
#include "src/rpc/tls_config.h"

namespace orrery::rpc {

class CertificateRenewer {
 public:
  // Returns the new identity (the CA, a certificate and its key) that replaces `current`, whose
  // certificate `held` describes. PermissionDenied: never again (the renewer stops).
  using Renew = std::function<absl::StatusOr<TlsConfig>(const TlsConfig& current, const CertificateInfo& held)>;

  // Starts watching `dir` on a thread of its own; `what` names the holder in logs ("node X").
  // `dir_writes`, when set, is held from reading the directory to writing the renewal: another
  // writer of the same directory (the head's CA rotation) takes it too, so neither undoes the
  // other's files.
  CertificateRenewer(std::string dir, std::string what, Renew renew, absl::Mutex* dir_writes = nullptr);
  // Stops the thread; a renewal in progress finishes first.
  ~CertificateRenewer();

  CertificateRenewer(const CertificateRenewer&) = delete;
  CertificateRenewer& operator=(const CertificateRenewer&) = delete;

  // Renews at once, whatever the certificate's age: the cluster's CA rotates (the renewal's
  // reply carries the CAs to trust). Called again while one is in progress, it renews once more.
  void RenewNow();

  // Renewals written so far; waits up to `timeout` for `count` of them.
  int renewals() const;
  bool AwaitRenewals(int count, absl::Duration timeout) const;
  // Waits up to `timeout` for the renewer to stop on its own (a renewal refused for good, or a
  // directory it cannot read); true once it has.
  bool AwaitGivenUp(absl::Duration timeout) const;

 private:
  void Run();
  // One renewal when it is due; returns when to look again (unix seconds), or nothing to stop.
  absl::StatusOr<int64_t> RenewWhenDue();
  // Waits until `unix_seconds` or the destructor; false when stopping.
  bool WaitUntil(int64_t unix_seconds);

  const std::string dir_;
  const std::string what_;
  const Renew renew_;
  absl::Mutex* const dir_writes_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool renew_now_ ABSL_GUARDED_BY(mu_) = false;
  int renewals_ ABSL_GUARDED_BY(mu_) = 0;
  bool given_up_ ABSL_GUARDED_BY(mu_) = false;
  // Past the expiry: when the last warning was logged, and the failures since (renewal thread only).
  int64_t expired_warned_at_ = 0;
  int failures_unlogged_ = 0;
  std::thread thread_;
};

}  // namespace orrery::rpc
