#include "src/rpc/tls_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "src/common/file_util.h"
#include "src/common/status.h"

namespace orrery::rpc {
namespace {

// Refuses a key file others may read: a leaked node key lets its reader pose as the node.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus("read " + path, errno);
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrFormat("the private key %s may be read by others than its owner (mode %04o); run `chmod 600 %s`", path,
                        st.st_mode & 07777, path));
  }
  return ReadFileToString(path);
}

std::string EndingInNewline(std::string pem) {
  if (!pem.empty() && pem.back() != '\n') pem += '\n';
  return pem;
}

// The first PEM block whose label ends in `label_suffix` ("CERTIFICATE", "PRIVATE KEY").
absl::StatusOr<std::string> PemBlock(const std::string& text, absl::string_view label_suffix, const std::string& path) {
  size_t at = 0;
  while ((at = text.find("-----BEGIN ", at)) != std::string::npos) {
    size_t label_end = text.find("-----", at + 11);
    if (label_end == std::string::npos) break;
    std::string label = text.substr(at + 11, label_end - at - 11);
    std::string end_marker = absl::StrCat("-----END ", label, "-----");
    size_t end = text.find(end_marker, label_end);
    if (end == std::string::npos) break;
    if (absl::EndsWith(label, label_suffix)) return text.substr(at, end + end_marker.size() - at) + "\n";
    at = end + end_marker.size();
  }
  return absl::InvalidArgumentError(absl::StrCat(path, " holds no ", label_suffix));
}

}  // namespace

std::string TlsFilePath(const std::string& dir, const char* file) { return absl::StrCat(dir, "/", file); }

std::string CertificateChainPem(const TlsConfig& tls) {
  return EndingInNewline(tls.cert_pem) + EndingInNewline(tls.ca_cert_pem);
}

absl::Status WriteTlsFiles(const std::string& dir, const TlsMaterial& material) {
  const TlsConfig& config = material.config;
  if (config.ca_cert_pem.empty() || config.cert_pem.empty() || config.key_pem.empty()) {
    return absl::InvalidArgumentError("TLS files need the CA certificate, the node certificate and its key");
  }
  ORRERY_RETURN_IF_ERROR(MakePrivateDir(dir));
  if (!material.ca_key_pem.empty()) {
    ORRERY_RETURN_IF_ERROR(WriteFileAtomic(TlsFilePath(dir, kCaKeyFile), material.ca_key_pem, 0600));
  }
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(TlsFilePath(dir, kCaCertFile), config.ca_cert_pem, 0644));
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(TlsFilePath(dir, kNodeKeyFile), config.key_pem, 0600));
  ORRERY_RETURN_IF_ERROR(WriteFileAtomic(TlsFilePath(dir, kNodeCertFile), config.cert_pem, 0644));
  return WriteFileAtomic(TlsFilePath(dir, kIdentityFile), CertificateChainPem(config) + config.key_pem, 0600);
}

absl::StatusOr<TlsMaterial> ReadTlsFiles(const std::string& dir) {
  TlsMaterial material;
  material.config.dir = dir;
  ORRERY_ASSIGN_OR_RETURN(material.config.ca_cert_pem, ReadFileToString(TlsFilePath(dir, kCaCertFile)));
  std::string identity_path = TlsFilePath(dir, kIdentityFile);
  if (PathExists(identity_path)) {
    ORRERY_ASSIGN_OR_RETURN(std::string identity, ReadKeyFile(identity_path));
    ORRERY_ASSIGN_OR_RETURN(material.config.cert_pem, PemBlock(identity, "CERTIFICATE", identity_path));
    ORRERY_ASSIGN_OR_RETURN(material.config.key_pem, PemBlock(identity, "PRIVATE KEY", identity_path));
  } else {
    ORRERY_ASSIGN_OR_RETURN(material.config.cert_pem, ReadFileToString(TlsFilePath(dir, kNodeCertFile)));
    ORRERY_ASSIGN_OR_RETURN(material.config.key_pem, ReadKeyFile(TlsFilePath(dir, kNodeKeyFile)));
  }
  std::string ca_key = TlsFilePath(dir, kCaKeyFile);
  if (PathExists(ca_key)) {
    ORRERY_ASSIGN_OR_RETURN(material.ca_key_pem, ReadKeyFile(ca_key));
  }
  return material;
}

std::shared_ptr<const TlsConfig> ReloadedTls(std::shared_ptr<const TlsConfig> tls) {
  if (tls == nullptr || tls->dir.empty()) return tls;
  struct Seen {
    std::string identity;  // the identity file's text the set was read with
    std::shared_ptr<const TlsConfig> tls;
  };
  static absl::Mutex mu(absl::kConstInit);
  static auto* seen = new std::map<std::string, Seen>();
  // Its text, not its time stamp, tells a renewal: two writes may share a clock tick. A read of
  // a small file per call, and callers ask once per connection they make or accept.
  absl::StatusOr<std::string> identity = ReadFileToString(TlsFilePath(tls->dir, kIdentityFile));
  if (!identity.ok()) return tls;
  absl::MutexLock lock(&mu);
  Seen& entry = (*seen)[tls->dir];
  if (entry.tls == nullptr || *identity != entry.identity) {
    auto material = ReadTlsFiles(tls->dir);
    if (!material.ok()) return entry.tls != nullptr ? entry.tls : tls;
    entry = Seen{*std::move(identity), std::make_shared<const TlsConfig>(std::move(material->config))};
  }
  return entry.tls;
}

}  // namespace orrery::rpc
