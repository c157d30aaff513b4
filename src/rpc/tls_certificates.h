// The cluster's certificates: a CA made on the head, a key and CSR made by each joining node,
// the certificate the CA issues for it, and the files they live in. ECDSA P-256 throughout.
// Every function returns a Status naming what was wrong with its input; none aborts, because
// the input (a CSR, a fetched CA) may come from a peer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include "src/rpc/tls_config.h"
#include "src/rpc/tls_files.h"

namespace orrery::rpc {

struct CertificateAuthority {
  std::string cert_pem;
  std::string key_pem;
};

struct KeyAndCsr {
  std::string key_pem;
  std::string csr_pem;
};

struct CertificateInfo {
  std::string common_name;
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;   // unix seconds
  std::string serial_hex;  // lowercase, no leading zeros
};

// A new self-signed cluster CA, CN "Orrery cluster CA <8 random hex digits>" (two CAs of a
// rotation are told apart by name too), valid 10 years.
absl::StatusOr<CertificateAuthority> CreateClusterCa();

// The certificates of a PEM text, each as PEM, in order: a trust bundle (ca.crt) holds one CA,
// or two while the CA rotates, the signing one first.
std::vector<std::string> SplitCertificates(absl::string_view bundle_pem);

// What a TLS identity trusts (the fingerprints of its bundle's CAs, in order) and which of them
// issued its certificate (empty when none did, or it is no longer valid).
struct TrustState {
  std::vector<std::string> trusted_cas;
  std::string issuer;
};
absl::StatusOr<TrustState> DescribeTrust(const TlsConfig& tls);

// "sha256:<64 lowercase hex>" of the certificate's DER encoding: what a join line carries.
absl::StatusOr<std::string> CaFingerprint(absl::string_view ca_cert_pem);

// Checks the form of a fingerprint typed by a user and returns it lowercased; InvalidArgument
// naming the expected form otherwise.
absl::StatusOr<std::string> ParseCaFingerprint(absl::string_view text);

// OK when `ca_cert_pem` has the fingerprint `expected` (in the form above); Unauthenticated
// when it has another, which is what a man in the middle would serve.
absl::Status MatchCaFingerprint(absl::string_view ca_cert_pem, absl::string_view expected);

// A fresh private key and a CSR for it, self-signed, with subject CN `common_name`.
absl::StatusOr<KeyAndCsr> MakeKeyAndCsr(absl::string_view common_name);

// Signs the CSR's public key, once its self-signature verifies. Nothing else of the CSR is
// used: the subject is `node_name` (also a SAN beside kClusterServerName), the usage is TLS
// server and client. `node_name` must be a DNS label sequence ([A-Za-z0-9.-], at most 64).
// The issuer is the first certificate of ca.cert_pem (a trust bundle names the signer first).
absl::StatusOr<std::string> IssueCertificate(const CertificateAuthority& ca, absl::string_view csr_pem,
                                             absl::string_view node_name, int64_t validity_seconds);

absl::StatusOr<CertificateInfo> ReadCertificateInfo(absl::string_view cert_pem);

// OK when `cert_pem` was issued by a CA of the bundle `ca_cert_pem` and is valid now;
// Unauthenticated saying why not (another CA, expired, not yet valid); InvalidArgument when
// either PEM does not parse.
absl::Status VerifyCertificate(absl::string_view ca_cert_pem, absl::string_view cert_pem);

// When the holder renews (unix seconds): at two thirds of the life the certificate was issued
// for (not counting the backdating of its start), so a failed renewal has a third of the life
// left for retries before anything stops working.
int64_t RenewAt(const CertificateInfo& info);

namespace internal {
// IssueCertificate with explicit validity bounds (unix seconds), for tests of expired
// certificates that must not sleep.
absl::StatusOr<std::string> IssueCertificateValidBetween(const CertificateAuthority& ca, absl::string_view csr_pem,
                                                         absl::string_view node_name, int64_t not_before,
                                                         int64_t not_after);
}  // namespace internal

}  // namespace orrery::rpc
