// GrpcServer: builds, starts and stops one gRPC server with Orrery's options, on a TCP port
// and optionally on a Unix socket for local peers (checked with SO_PEERCRED).
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "src/rpc/rpc_options.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace orrery::rpc {

class TokenGate;

struct ServerOptions {
  std::string name;           // for logs and errors: "GCS", "raylet"
  std::string host = "0.0.0.0";
  int port = 0;               // 0: any free port
  // A Unix socket to serve local peers on as well: a path, whose directory must be private
  // (0700), or "@NAME", NAME in Linux's abstract namespace (no file; gone with the process).
  // Only processes of this user may connect (SO_PEERCRED), and calls still need the token.
  std::string unix_socket_path;
  // rpc.tls set: the TCP port is mutual TLS, requiring a client certificate of the cluster CA.
  // Unset (plain TCP) with a token: the port's token gate reads each connection's token before
  // gRPC reads a byte of it (token_gate.h).
  RpcOptions rpc;
  // The cluster token. With rpc.tls, gRPC checks it from the metadata before the request is read
  // (and the handlers check it again, as on every transport). Empty: no such early check.
  std::string token;
  // The GCS's: methods (full gRPC paths) a TLS peer without a client certificate may call, with
  // the token, to get one (docs/security.md, "Joining"). The TCP port then asks for a client
  // certificate instead of requiring one (the token and the method are checked before the
  // message is read), and presents the CA's certificate after its own (as OpenSSL does anyway
  // when it builds the chain from the trusted CA), for the joining node to check against the
  // fingerprint it was given.
  std::vector<std::string> join_methods;
};

class GrpcServer {
 public:
  explicit GrpcServer(ServerOptions options);
  ~GrpcServer();

  // Before Start(). The service must outlive the server.
  void AddService(grpc::Service* service);

  // Binds and starts serving. A busy port fails with AlreadyExists naming the port; an
  // incomplete rpc.tls with InvalidArgument.
  absl::Status Start();

  // The TCP port it listens on (the chosen one when options.port was 0).
  int port() const { return port_; }
  const ServerOptions& options() const { return options_; }

  // Stops accepting, gives calls in flight `grace_ms` to finish, then cancels them.
  // Callers finish their own long-lived calls first (ServerCalls::Stop).
  void Shutdown(int64_t grace_ms = 1000);

 private:
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TcpCredentials() const;
  // Plain TCP with a token: this server accepts the TCP port's connections itself, through its
  // token gate, rather than gRPC.
  bool GatesTcp() const;
  absl::Status ListenError(const std::string& address) const;
  absl::Status ListenGated(const std::string& address);
  absl::Status StartUnixSocket();
  // Accepts on the Unix socket and the gated TCP port, and runs the gate, until Shutdown().
  void AcceptLoop();
  void AcceptLocal();
  void AcceptGated();

  ServerOptions options_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  int unix_listen_fd_ = -1;
  int tcp_listen_fd_ = -1;  // the gated TCP port's
  std::unique_ptr<TokenGate> gate_;
  int stop_fd_ = -1;
  std::thread accept_thread_;
};

// True when the peer on the connected Unix socket `fd` runs as this process's user.
bool PeerIsSameUser(int fd);

}  // namespace orrery::rpc
