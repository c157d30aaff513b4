// Mutual TLS over a connected TCP socket, for the channel between nodes that is not gRPC: the
// object data socket (docs/design/object-transfer.md). OpenSSL stays behind this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

#include "src/rpc/tls_config.h"

struct bio_st;
struct ssl_ctx_st;
struct ssl_st;

namespace orrery::rpc {

using TlsDeadline = std::chrono::steady_clock::time_point;

// One side's parsed certificates and settings, made once and shared by its connections: TLS 1.3
// with AES-GCM, the cluster CA the only trusted root, a certificate required from both sides,
// and a client that expects kClusterServerName in the server's certificate. Immutable.
class TlsContext {
 public:
  enum class Side { kServer, kClient };
  // InvalidArgument when the PEM texts do not parse or the key does not match the certificate.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> Create(const TlsConfig& config, Side side);
  // A client that presents no certificate and trusts every server: only for reading what a
  // server presents (the CA a joining node pins by its fingerprint, cluster_tls.h), never for
  // sending anything that needs the server to be who it says.
  static absl::StatusOr<std::shared_ptr<const TlsContext>> CreateUnverifiedClient();
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  friend class TlsSocket;
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* const ctx_;
};

// The context of a process identity that its holder renews (certificate_renewer.h): Get makes
// the context again once the identity's directory holds a renewed certificate (ReloadedTls), so
// each new connection presents the current one. Safe from any thread.
class RenewableTlsContext {
 public:
  RenewableTlsContext(std::shared_ptr<const TlsConfig> tls, TlsContext::Side side);
  // InvalidArgument as TlsContext::Create says, for the identity as it is now.
  absl::StatusOr<std::shared_ptr<const TlsContext>> Get();

 private:
  const std::shared_ptr<const TlsConfig> tls_;
  const TlsContext::Side side_;
  absl::Mutex mu_;
  std::shared_ptr<const TlsConfig> made_from_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const TlsContext> context_ ABSL_GUARDED_BY(mu_);
};

// "the peer at HOST:PORT" of a connected socket (what TLS errors name on a server).
std::string PeerAt(int fd);

// Whether the first byte the peer sends opens a TLS handshake record (0x16): waits for it until
// `deadline` without consuming it. A plain reader's first byte is its request's length instead.
// DeadlineExceeded when nothing arrives, Unavailable when the peer closes first.
absl::StatusOr<bool> PeerStartsTls(int fd, TlsDeadline deadline, const std::string& peer);

// A TLS session on a socket it does not own (the caller closes the fd after destroying it). The
// socket is made non-blocking; every call waits with poll(), at most `io_timeout_ms` without
// progress and never past the deadline while one is set. Errors name `peer` and say why:
// Unauthenticated for a certificate refused either way, FailedPrecondition for a peer that
// speaks plain TCP, DeadlineExceeded, Unavailable for a broken connection. One thread at a time.
class TlsSocket {
 public:
  // The server's handshake: the client must present a certificate of the cluster's CA. Until
  // Trusted(), the deadline bounds every wait and the peer may send at most
  // kMaxUntrustedBytes (with one TLS record more in the buffer being read).
  static absl::StatusOr<std::unique_ptr<TlsSocket>> Accept(int fd, const TlsContext& context, std::string peer,
                                                           int64_t io_timeout_ms, std::optional<TlsDeadline> deadline);
  // The client's handshake. In TLS 1.3 the server checks the client's certificate after this
  // returns: a refusal then surfaces at the first Read.
  static absl::StatusOr<std::unique_ptr<TlsSocket>> Connect(int fd, const TlsContext& context, std::string peer,
                                                            int64_t io_timeout_ms);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  // What a peer not yet trusted may send: its handshake and its request with room to spare.
  static constexpr uint64_t kMaxUntrustedBytes = 16 << 10;

  // The peer has authenticated (shown the token inside): later calls are bounded by the I/O
  // timeout alone, and it may send any amount.
  void Trusted() {
    deadline_.reset();
    untrusted_ = false;
  }

  absl::Status Write(const void* data, size_t size);
  // Exactly `size` bytes; `received` (when given) counts those that arrived, also on failure.
  absl::Status Read(void* out, size_t size, size_t* received = nullptr);
  // One frame of the object data socket's framing (object_store/wire.h: a 4-byte little-endian
  // length, then the body), refused (DataLoss) before its body is read when longer than `max_bytes`.
  absl::Status ReadFrame(std::string* body, uint32_t max_bytes);
  // `size` bytes of the file `file_fd` from `offset`, whose pages are also mapped at `mapped`.
  // With kernel TLS the kernel encrypts the file's pages as sendfile() sends them; without it
  // they are encrypted from the mapping in large writes, never copied out first.
  absl::Status SendFile(int file_fd, uint64_t offset, const uint8_t* mapped, size_t size);

  // Whether the kernel encrypts what this side sends (kTLS; needs the `tls` kernel module).
  bool kernel_tls_send() const;

  // On a client: the certificates the server presented, its own first, as PEM texts.
  std::vector<std::string> PeerCertificateChain() const;
  // The common name of the peer's certificate (a node id, for node certificates); empty
  // without one.
  std::string PeerCommonName() const;

 private:
  TlsSocket(ssl_st* ssl, int fd, std::string peer, int64_t io_timeout_ms, std::optional<TlsDeadline> deadline,
            bool server);
  static absl::StatusOr<std::unique_ptr<TlsSocket>> Handshake(int fd, const TlsContext& context, std::string peer,
                                                              int64_t io_timeout_ms,
                                                              std::optional<TlsDeadline> deadline, bool server);
  // Runs `op` (an SSL call returning > 0 on success) until it succeeds, waiting for the socket
  // whenever OpenSSL asks to.
  template <typename Op>
  absl::Status Drive(const Op& op, const char* doing);
  absl::Status Wait(bool for_read, const char* doing);
  absl::Status Failure(int ret, const char* doing);
  // The peer's own reason (an alert it sent) for `status`, a failed write, when it gave one.
  absl::Status ExplainedByPeer(const absl::Status& status);

  ssl_st* const ssl_;
  const int fd_;
  const std::string peer_;
  const int64_t io_timeout_ms_;
  const bool server_;
  std::optional<TlsDeadline> deadline_;
  bool untrusted_;
  bool over_limit_ = false;  // a read was refused: the untrusted peer sent too much
  // Refuses, before it happens, a read that would take an untrusted peer past kMaxUntrustedBytes.
  static long LimitReads(bio_st* bio, int oper, const char* argp, size_t len, int argi, long argl, int ret,
                         size_t* processed);
};

}  // namespace orrery::rpc
