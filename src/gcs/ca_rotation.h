// A rotation of the cluster CA as the head's TLS directory records it (docs/security.md,
// "Rotating the CA"). Three phases, each of which the GCS ends only once every alive node has
// reached the trust it asks for (gcs_certificate_authority.h):
//   trust-new  every node trusts the old CA and the new one; the old one still signs;
//   sign-new   the new CA signs: every node holds a certificate of it, and still trusts both;
//   drop-old   every node trusts the new CA only.
// No node ever meets a peer whose certificate it does not trust. The record (the phase, both
// CAs and their keys, in <tls_dir>/ca-rotation/) lets a GCS that restarts mid-way go on.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/rpc/tls_certificates.h"

namespace orrery::gcs {

enum class CaRotationPhase { kIdle, kTrustNew, kSignNew, kDropOld };

// "idle", "trust-new", "sign-new", "drop-old".
const char* CaRotationPhaseName(CaRotationPhase phase);

// The phase after `phase` (kIdle after kDropOld: the rotation is over).
CaRotationPhase NextCaRotationPhase(CaRotationPhase phase);

struct CaRotation {
  CaRotationPhase phase = CaRotationPhase::kIdle;
  rpc::CertificateAuthority old_ca;  // both set unless idle
  rpc::CertificateAuthority new_ca;

  // What the head's directory holds in this phase: the CAs trusted, the signing one first ...
  std::string TrustBundle() const;
  // ... and the one that signs.
  const rpc::CertificateAuthority& Signer() const;
};

// The rotation recorded in `tls_dir`; idle when none is.
absl::StatusOr<CaRotation> ReadCaRotation(const std::string& tls_dir);

// Makes a new CA to replace the one that signs in `tls_dir` now, records both, and enters
// trust-new (as EnterCaRotationPhase).
absl::StatusOr<CaRotation> BeginCaRotation(const std::string& tls_dir, int64_t head_certificate_seconds);

// Records `phase` and writes the head's TLS files for it: the trust bundle, the signing CA's key,
// and a fresh head certificate of the signing CA, valid `head_certificate_seconds`. Entering
// a phase again (a GCS that restarted) writes the same trust. kIdle ends the rotation: the record,
// with the old CA's key, is deleted.
absl::Status EnterCaRotationPhase(const std::string& tls_dir, CaRotation& rotation, CaRotationPhase phase,
                                  int64_t head_certificate_seconds);

}  // namespace orrery::gcs
