#include "src/gcs/ca_rotation.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/common/file_util.h"
#include "src/common/status.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/tls_files.h"

namespace orrery::gcs {
namespace {

constexpr char kRotationDir[] = "ca-rotation";
constexpr char kPhaseFile[] = "phase";
constexpr char kOldCertFile[] = "old.crt";
constexpr char kOldKeyFile[] = "old.key";
constexpr char kNewCertFile[] = "new.crt";
constexpr char kNewKeyFile[] = "new.key";

std::string RotationPath(const std::string& tls_dir, const char* file = nullptr) {
  std::string dir = absl::StrCat(tls_dir, "/", kRotationDir);
  return file == nullptr ? dir : absl::StrCat(dir, "/", file);
}

absl::StatusOr<CaRotationPhase> ParsePhase(absl::string_view text, const std::string& path) {
  for (CaRotationPhase phase : {CaRotationPhase::kTrustNew, CaRotationPhase::kSignNew, CaRotationPhase::kDropOld}) {
    if (text == CaRotationPhaseName(phase)) return phase;
  }
  return absl::DataLossError(absl::StrCat(path, " names no phase of a CA rotation: \"", text.substr(0, 40), "\""));
}

}  // namespace

const char* CaRotationPhaseName(CaRotationPhase phase) {
  switch (phase) {
    case CaRotationPhase::kIdle:
      return "idle";
    case CaRotationPhase::kTrustNew:
      return "trust-new";
    case CaRotationPhase::kSignNew:
      return "sign-new";
    case CaRotationPhase::kDropOld:
      return "drop-old";
  }
  return "?";
}

CaRotationPhase NextCaRotationPhase(CaRotationPhase phase) {
  switch (phase) {
    case CaRotationPhase::kTrustNew:
      return CaRotationPhase::kSignNew;
    case CaRotationPhase::kSignNew:
      return CaRotationPhase::kDropOld;
    default:
      return CaRotationPhase::kIdle;
  }
}

std::string CaRotation::TrustBundle() const {
  switch (phase) {
    case CaRotationPhase::kTrustNew:
      return old_ca.cert_pem + new_ca.cert_pem;
    case CaRotationPhase::kSignNew:
      return new_ca.cert_pem + old_ca.cert_pem;
    default:
      return new_ca.cert_pem;
  }
}

const rpc::CertificateAuthority& CaRotation::Signer() const {
  return phase == CaRotationPhase::kTrustNew ? old_ca : new_ca;
}

absl::StatusOr<CaRotation> ReadCaRotation(const std::string& tls_dir) {
  CaRotation rotation;
  std::string phase_path = RotationPath(tls_dir, kPhaseFile);
  // A rotation that crashed before it recorded its first phase never began: its new CA is unused.
  if (!PathExists(phase_path)) return rotation;
  ORRERY_ASSIGN_OR_RETURN(std::string phase, ReadFileToString(phase_path));
  ORRERY_ASSIGN_OR_RETURN(rotation.phase, ParsePhase(absl::StripAsciiWhitespace(phase), phase_path));
  ORRERY_ASSIGN_OR_RETURN(rotation.old_ca.cert_pem, ReadFileToString(RotationPath(tls_dir, kOldCertFile)));
  ORRERY_ASSIGN_OR_RETURN(rotation.old_ca.key_pem, ReadFileToString(RotationPath(tls_dir, kOldKeyFile)));
  ORRERY_ASSIGN_OR_RETURN(rotation.new_ca.cert_pem, ReadFileToString(RotationPath(tls_dir, kNewCertFile)));
  ORRERY_ASSIGN_OR_RETURN(rotation.new_ca.key_pem, ReadFileToString(RotationPath(tls_dir, kNewKeyFile)));
  return rotation;
}

absl::StatusOr<CaRotation> BeginCaRotation(const std::string& tls_dir, int64_t head_certificate_seconds) {
  ORRERY_ASSIGN_OR_RETURN(rpc::TlsMaterial material, rpc::ReadTlsFiles(tls_dir));
  std::vector<std::string> trusted = rpc::SplitCertificates(material.config.ca_cert_pem);
  if (material.ca_key_pem.empty() || trusted.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the TLS directory ", tls_dir, " holds no CA key: only the head's GCS can rotate the CA"));
  }
  CaRotation rotation;
  rotation.old_ca = {trusted.front(), material.ca_key_pem};
  ORRERY_ASSIGN_OR_RETURN(rotation.new_ca, rpc::CreateClusterCa());
  ORRERY_RETURN_IF_ERROR(MakePrivateDir(RotationPath(tls_dir)));
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(RotationPath(tls_dir, kOldCertFile), rotation.old_ca.cert_pem, 0644));
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(RotationPath(tls_dir, kOldKeyFile), rotation.old_ca.key_pem, 0600));
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(RotationPath(tls_dir, kNewCertFile), rotation.new_ca.cert_pem, 0644));
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(RotationPath(tls_dir, kNewKeyFile), rotation.new_ca.key_pem, 0600));
  ORRERY_RETURN_IF_ERROR(
      EnterCaRotationPhase(tls_dir, rotation, CaRotationPhase::kTrustNew, head_certificate_seconds));
  return rotation;
}

absl::Status EnterCaRotationPhase(const std::string& tls_dir, CaRotation& rotation, CaRotationPhase phase,
                                  int64_t head_certificate_seconds) {
  if (phase == CaRotationPhase::kIdle) {
    rotation = CaRotation{};
    return RemoveAll(RotationPath(tls_dir));
  }
  // The record first: a GCS that dies between the two writes enters the phase again on start.
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(RotationPath(tls_dir, kPhaseFile), CaRotationPhaseName(phase), 0644));
  rotation.phase = phase;
  return rpc::IssueHeadIdentity(tls_dir, rotation.Signer(), rotation.TrustBundle(), head_certificate_seconds);
}

}  // namespace orrery::gcs
