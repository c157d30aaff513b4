#include "src/rpc/tls_credentials.h"

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "src/common/file_util.h"
#include "src/common/openssl_lifetime.h"
#include "src/rpc/tls_files.h"

namespace orrery::rpc {
namespace {

using grpc::experimental::CertificateProviderInterface;

// One watcher per directory while credentials use it: each has a thread that reads the files.
std::shared_ptr<CertificateProviderInterface> WatcherOf(const std::string& dir) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* watchers = new std::map<std::string, std::weak_ptr<CertificateProviderInterface>>();
  absl::MutexLock lock(&mu);
  std::shared_ptr<CertificateProviderInterface> watcher = (*watchers)[dir].lock();
  if (watcher == nullptr) {
    // The identity file holds the key and the chain: both are read from it in one go, so a
    // renewal can never be seen half done.
    std::string identity = TlsFilePath(dir, kIdentityFile);
    watcher = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        identity, identity, TlsFilePath(dir, kCaCertFile), kTlsWatchSeconds);
    (*watchers)[dir] = watcher;
  }
  return watcher;
}

bool HasIdentity(const TlsConfig& tls) { return !tls.cert_pem.empty() && !tls.key_pem.empty(); }

std::shared_ptr<CertificateProviderInterface> ProviderOf(const TlsConfig& tls) {
  // A directory of an older Orrery, without the identity file, is used as it was read.
  if (!tls.dir.empty() && PathExists(TlsFilePath(tls.dir, kIdentityFile))) return WatcherOf(tls.dir);
  // A client without a certificate (a joining node's) presents none: gRPC aborts on an empty one.
  if (!HasIdentity(tls)) return std::make_shared<grpc::experimental::StaticDataCertificateProvider>(tls.ca_cert_pem);
  grpc::experimental::IdentityKeyCertPair identity{tls.key_pem, CertificateChainPem(tls)};
  return std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      tls.ca_cert_pem, std::vector<grpc::experimental::IdentityKeyCertPair>{identity});
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsConfig& tls) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(ProviderOf(tls));
  options.watch_root_certs();
  if (HasIdentity(tls)) options.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsConfig& tls,
                                                                   bool require_client_certificate) {
  grpc::experimental::TlsServerCredentialsOptions options(ProviderOf(tls));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(require_client_certificate
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace orrery::rpc
