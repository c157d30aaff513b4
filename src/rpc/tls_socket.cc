#include "src/rpc/tls_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include <openssl/x509v3.h>

#include "src/common/openssl_lifetime.h"
#include "src/common/status.h"
#include "src/rpc/tls_files.h"

namespace orrery::rpc {

namespace {

// The first byte of a TLS handshake record (a ClientHello).
constexpr uint8_t kTlsHandshakeRecord = 0x16;
// The client certificate message a peer may make a server buffer before it is verified: far
// more than one ECDSA certificate with its CA needs, far less than OpenSSL's 100 KiB default.
constexpr long kMaxCertificateListBytes = 16 << 10;
// The fallback encrypts the mapping in writes this large (OpenSSL cuts them into 16 KiB records).
constexpr size_t kWriteChunkBytes = 8 << 20;

// OpenSSL's reason for the last error on this thread, as text; empty when there is none.
std::string OpenSslReason() {
  unsigned long error = ERR_peek_last_error();
  if (error == 0) return "";
  char text[256];
  ERR_error_string_n(error, text, sizeof(text));
  return text;
}

absl::Status InvalidPem(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat("TLS for the object data socket: ", what, ": ", OpenSslReason()));
}

// Every certificate in `pem`, in order.
std::vector<X509*> ReadCertificates(const std::string& pem) {
  std::vector<X509*> certs;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.push_back(cert);
  ERR_clear_error();  // the end of the text reads as an error
  BIO_free(bio);
  return certs;
}

absl::Status Configure(SSL_CTX* ctx, const TlsConfig& config, TlsContext::Side side) {
  // Both ends are this code: nothing older than TLS 1.3 need be spoken, and AES-GCM is what
  // the CPU accelerates and the kernel's TLS can take over.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384") != 1) {
    return InvalidPem("setting the protocol");
  }
  std::vector<X509*> ca = ReadCertificates(config.ca_cert_pem);
  if (ca.empty()) return InvalidPem("the cluster CA certificate does not parse");
  // Only the cluster CA is trusted: never the system's roots.
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (X509* cert : ca) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
  }
  std::vector<X509*> chain = ReadCertificates(config.cert_pem);
  if (chain.empty()) return InvalidPem("this node's certificate does not parse");
  int used = SSL_CTX_use_certificate(ctx, chain[0]);
  X509_free(chain[0]);
  for (size_t i = 1; i < chain.size(); ++i) SSL_CTX_add0_chain_cert(ctx, chain[i]);
  if (used != 1) return InvalidPem("this node's certificate is unusable");
  BIO* key_bio = BIO_new_mem_buf(config.key_pem.data(), static_cast<int>(config.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (key == nullptr) return InvalidPem("this node's key does not parse");
  used = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) return InvalidPem("the key does not match the certificate");

  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_max_cert_list(ctx, kMaxCertificateListBytes);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // kTLS: after the handshake OpenSSL hands the keys to the kernel when it can, and then
  // SSL_sendfile encrypts the file's pages in the kernel; without the `tls` module it quietly
  // stays in user space.
  SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (side == TlsContext::Side::kServer) {
    SSL_CTX_set_num_tickets(ctx, 0);  // one transfer per connection: no session to resume
  } else {
    // A peer is trusted because the cluster CA signed it, whatever address it was reached at.
    X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), kClusterServerName, 0);
  }
  return absl::OkStatus();
}

// OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): a peer that closed would
// raise SIGPIPE, which kills a process that does not ignore it (a user's driver). While one of
// these lives, SIGPIPE is blocked on this thread, and one raised meanwhile is taken off again.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlocked() {
    if (!was_pending_) {
      timespec now{};
      while (sigtimedwait(&pipe_, nullptr, &now) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

bool IsAlertReceived(int reason) { return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256; }

bool IsNotTls(int reason) {
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST || reason == SSL_R_RECORD_LENGTH_MISMATCH;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::Create(const TlsConfig& config, Side side) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return absl::InternalError("TLS for the object data socket: " + OpenSslReason());
  if (absl::Status status = Configure(ctx, config, side); !status.ok()) {
    SSL_CTX_free(ctx);
    return status;
  }
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx));
}

absl::StatusOr<std::shared_ptr<const TlsContext>> TlsContext::CreateUnverifiedClient() {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  // gRPC's servers speak TLS 1.2 or 1.3; the handshake still proves the server holds the key of
  // the certificate it presents, whose issuer the caller then checks against the pinned CA.
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    SSL_CTX_free(ctx);
    return absl::InternalError("TLS: cannot make a client context: " + OpenSslReason());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_max_cert_list(ctx, kMaxCertificateListBytes);
  // gRPC servers refuse a client that does not offer HTTP/2.
  static const unsigned char kAlpnH2[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof(kAlpnH2));
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx));
}

RenewableTlsContext::RenewableTlsContext(std::shared_ptr<const TlsConfig> tls, TlsContext::Side side)
    : tls_(std::move(tls)), side_(side) {}

absl::StatusOr<std::shared_ptr<const TlsContext>> RenewableTlsContext::Get() {
  std::shared_ptr<const TlsConfig> now = ReloadedTls(tls_);
  absl::MutexLock lock(&mu_);
  if (now != made_from_) {
    ORRERY_ASSIGN_OR_RETURN(context_, TlsContext::Create(*now, side_));
    made_from_ = std::move(now);
  }
  return context_;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::string PeerAt(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  char host[INET_ADDRSTRLEN] = "?";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    inet_ntop(AF_INET, &address.sin_addr, host, sizeof(host));
  }
  return absl::StrCat("the peer at ", host, ":", ntohs(address.sin_port));
}

absl::StatusOr<bool> PeerStartsTls(int fd, TlsDeadline deadline, const std::string& peer) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd readable{fd, POLLIN, 0};
    int ready = left.count() > 0 ? poll(&readable, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoStatus(peer + ": waiting for its first bytes", errno);
    if (ready == 0) return absl::DeadlineExceededError(peer + ": sent nothing before the request deadline");
    uint8_t first = 0;
    ssize_t n = recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return ErrnoStatus(peer + ": receiving", errno);
    if (n == 0) return absl::UnavailableError(peer + ": closed the connection before sending anything");
    return first == kTlsHandshakeRecord;
  }
}

TlsSocket::TlsSocket(SSL* ssl, int fd, std::string peer, int64_t io_timeout_ms, std::optional<TlsDeadline> deadline,
                     bool server)
    : ssl_(ssl),
      fd_(fd),
      peer_(std::move(peer)),
      io_timeout_ms_(io_timeout_ms),
      server_(server),
      deadline_(deadline),
      untrusted_(server) {}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

absl::StatusOr<std::unique_ptr<TlsSocket>> TlsSocket::Accept(int fd, const TlsContext& context, std::string peer,
                                                             int64_t io_timeout_ms,
                                                             std::optional<TlsDeadline> deadline) {
  return Handshake(fd, context, std::move(peer), io_timeout_ms, deadline, /*server=*/true);
}

absl::StatusOr<std::unique_ptr<TlsSocket>> TlsSocket::Connect(int fd, const TlsContext& context, std::string peer,
                                                              int64_t io_timeout_ms) {
  return Handshake(fd, context, std::move(peer), io_timeout_ms, std::nullopt, /*server=*/false);
}

absl::StatusOr<std::unique_ptr<TlsSocket>> TlsSocket::Handshake(int fd, const TlsContext& context, std::string peer,
                                                                int64_t io_timeout_ms,
                                                                std::optional<TlsDeadline> deadline, bool server) {
  ERR_clear_error();
  SSL* ssl = SSL_new(context.ctx_);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return absl::InternalError(absl::StrCat(peer, ": starting TLS: ", OpenSslReason()));
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    int error = errno;
    SSL_free(ssl);
    return ErrnoStatus(peer + ": making the socket non-blocking", error);
  }
  std::unique_ptr<TlsSocket> socket(new TlsSocket(ssl, fd, std::move(peer), io_timeout_ms, deadline, server));
  if (server) {
    BIO_set_callback_arg(SSL_get_rbio(ssl), reinterpret_cast<char*>(socket.get()));
    BIO_set_callback_ex(SSL_get_rbio(ssl), &TlsSocket::LimitReads);
  }
  SigpipeBlocked no_sigpipe;
  ORRERY_RETURN_IF_ERROR(
      socket->Drive([ssl, server] { return server ? SSL_accept(ssl) : SSL_connect(ssl); }, "in the TLS handshake"));
  return socket;
}

long TlsSocket::LimitReads(BIO* bio, int oper, const char* /*argp*/, size_t len, int /*argi*/, long /*argl*/, int ret,
                           size_t* /*processed*/) {
  auto* socket = reinterpret_cast<TlsSocket*>(BIO_get_callback_arg(bio));
  // Called before each read (and after, with BIO_CB_RETURN); OpenSSL reads a record's header,
  // then its body, so a refusal comes before the bytes are buffered.
  if (oper == BIO_CB_READ && socket->untrusted_ && BIO_number_read(bio) + len > kMaxUntrustedBytes) {
    socket->over_limit_ = true;
    return 0;
  }
  return ret;
}

template <typename Op>
absl::Status TlsSocket::Drive(const Op& op, const char* doing) {
  while (true) {
    ERR_clear_error();
    int ret = op();
    if (ret > 0) return absl::OkStatus();
    int error = SSL_get_error(ssl_, ret);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return Failure(error, doing);
    ORRERY_RETURN_IF_ERROR(Wait(error == SSL_ERROR_WANT_READ, doing));
  }
}

absl::Status TlsSocket::Wait(bool for_read, const char* doing) {
  while (true) {
    int64_t wait_ms = io_timeout_ms_;
    if (deadline_.has_value()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return absl::DeadlineExceededError(absl::StrCat(peer_, ": did not authenticate in time (", doing, ")"));
      }
      wait_ms = std::min<int64_t>(wait_ms, left.count());
    }
    pollfd ready{fd_, static_cast<short>(for_read ? POLLIN : POLLOUT), 0};
    int n = poll(&ready, 1, static_cast<int>(wait_ms));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(absl::StrCat(peer_, ": waiting ", doing), errno);
    if (!deadline_.has_value() || std::chrono::steady_clock::now() < *deadline_) {
      return absl::DeadlineExceededError(absl::StrCat(peer_, ": timed out ", doing));
    }
  }
}

absl::Status TlsSocket::Failure(int error, const char* doing) {
  const int saved_errno = errno;
  if (over_limit_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(peer_, ": sent more than ", kMaxUntrustedBytes, " bytes before authenticating"));
  }
  const unsigned long code = ERR_peek_last_error();
  const int reason = ERR_GET_REASON(code);
  // Nothing at all came back to a client's hello: a plain server read it as a bad request.
  const bool nothing_read = !server_ && BIO_number_read(SSL_get_rbio(ssl_)) == 0;
  const bool closed = error == SSL_ERROR_ZERO_RETURN || (error == SSL_ERROR_SYSCALL && code == 0) ||
                      reason == SSL_R_UNEXPECTED_EOF_WHILE_READING;
  if (nothing_read && (closed || (error == SSL_ERROR_SYSCALL && saved_errno == ECONNRESET))) {
    return absl::FailedPreconditionError(absl::StrCat(
        peer_,
        " closed the connection without answering the TLS handshake: it speaks plain TCP, this node requires "
        "TLS (or it is not an object data socket)"));
  }
  if (error == SSL_ERROR_SSL && IsNotTls(reason)) {
    return absl::FailedPreconditionError(
        server_ ? absl::StrCat(peer_, " speaks plain TCP, this node requires TLS")
                : absl::StrCat(peer_, " answered in plain TCP: it does not use TLS, this node requires it"));
  }
  if (error == SSL_ERROR_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    long result = SSL_get_verify_result(ssl_);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
      return absl::UnauthenticatedError(
          absl::StrCat(peer_, " presented a certificate without the cluster name ", kClusterServerName));
    }
    return absl::UnauthenticatedError(absl::StrCat(peer_, " presented no certificate of this cluster's CA (",
                                                   X509_verify_cert_error_string(result), ")"));
  }
  if (error == SSL_ERROR_SSL && reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    return absl::UnauthenticatedError(absl::StrCat(peer_, " presented no certificate; this node requires one"));
  }
  if (error == SSL_ERROR_SSL && IsAlertReceived(reason)) {
    return absl::UnauthenticatedError(absl::StrCat(
        peer_, " refused this node's certificate (", SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET),
        "): it is not of the peer's cluster CA, or the peer refused the handshake"));
  }
  if (closed) return absl::UnavailableError(absl::StrCat(peer_, ": the connection closed ", doing));
  if (error == SSL_ERROR_SYSCALL && code == 0) {
    return absl::UnavailableError(absl::StrCat(peer_, ": ", doing, ": ", std::strerror(saved_errno)));
  }
  return absl::UnavailableError(absl::StrCat(peer_, ": TLS failed ", doing, ": ", OpenSslReason()));
}

absl::Status TlsSocket::Write(const void* data, size_t size) {
  SigpipeBlocked no_sigpipe;
  const auto* at = static_cast<const uint8_t*>(data);
  while (size > 0) {
    size_t chunk = std::min(size, kWriteChunkBytes);
    size_t written = 0;
    absl::Status status = Drive([&] { return SSL_write_ex(ssl_, at, chunk, &written); }, "sending");
    if (!status.ok()) return ExplainedByPeer(status);
    at += written;
    size -= written;
  }
  return absl::OkStatus();
}

absl::Status TlsSocket::ExplainedByPeer(const absl::Status& status) {
  // In TLS 1.3 a server checks the client's certificate after the client's handshake is done:
  // a refused client learns of it from the alert the server sent before closing, which waits
  // unread behind the failed write. Read, without waiting, to give that reason instead.
  ERR_clear_error();
  uint8_t byte;
  size_t n = 0;
  int ret = SSL_read_ex(ssl_, &byte, 1, &n);
  if (ret <= 0 && SSL_get_error(ssl_, ret) == SSL_ERROR_SSL && IsAlertReceived(ERR_GET_REASON(ERR_peek_last_error()))) {
    return Failure(SSL_ERROR_SSL, "sending");
  }
  return status;
}

absl::Status TlsSocket::Read(void* out, size_t size, size_t* received) {
  SigpipeBlocked no_sigpipe;
  auto* at = static_cast<uint8_t*>(out);
  while (size > 0) {
    size_t n = 0;
    ORRERY_RETURN_IF_ERROR(Drive([&] { return SSL_read_ex(ssl_, at, size, &n); }, "receiving"));
    at += n;
    size -= n;
    if (received != nullptr) *received += n;
  }
  return absl::OkStatus();
}

absl::Status TlsSocket::ReadFrame(std::string* body, uint32_t max_bytes) {
  uint8_t header[4];
  ORRERY_RETURN_IF_ERROR(Read(header, sizeof(header)));
  uint32_t length = 0;
  for (size_t i = 0; i < sizeof(header); ++i) length |= static_cast<uint32_t>(header[i]) << (8 * i);
  if (length > max_bytes) {
    return absl::DataLossError(absl::StrCat(peer_, ": a frame of ", length, " bytes is not a message"));
  }
  body->resize(length);
  return Read(body->data(), length);
}

bool TlsSocket::kernel_tls_send() const { return BIO_get_ktls_send(SSL_get_wbio(ssl_)) > 0; }

std::vector<std::string> TlsSocket::PeerCertificateChain() const {
  std::vector<std::string> pems;
  // On a client the chain starts with the server's own certificate.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio != nullptr && PEM_write_bio_X509(bio, sk_X509_value(chain, i)) == 1) {
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      pems.emplace_back(data, static_cast<size_t>(size));
    }
    BIO_free(bio);
  }
  return pems;
}

std::string TlsSocket::PeerCommonName() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  char name[256] = {};
  int length = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  return length > 0 ? std::string(name, static_cast<size_t>(length)) : "";
}

absl::Status TlsSocket::SendFile(int file_fd, uint64_t offset, const uint8_t* mapped, size_t size) {
  SigpipeBlocked no_sigpipe;
  if (!kernel_tls_send()) return Write(mapped, size);
  while (size > 0) {
    ossl_ssize_t sent = 0;
    ORRERY_RETURN_IF_ERROR(Drive(
        [&] {
          sent = SSL_sendfile(ssl_, file_fd, static_cast<off_t>(offset), size, 0);
          return sent > 0 ? 1 : static_cast<int>(sent);
        },
        "sending"));
    offset += static_cast<uint64_t>(sent);
    size -= static_cast<size_t>(sent);
  }
  return absl::OkStatus();
}

}  // namespace orrery::rpc
