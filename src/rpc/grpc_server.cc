#include "src/rpc/grpc_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_posix.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/rpc/auth.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/tls_credentials.h"
#include "src/rpc/token_gate.h"

namespace orrery::rpc {

GrpcServer::GrpcServer(ServerOptions options) : options_(std::move(options)) {}

GrpcServer::~GrpcServer() { Shutdown(0); }

void GrpcServer::AddService(grpc::Service* service) { services_.push_back(service); }

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcServer::TcpCredentials() const {
  std::shared_ptr<const TlsConfig> tls = TlsOr(options_.rpc.tls);
  if (tls == nullptr) return grpc::InsecureServerCredentials();
  if (tls->ca_cert_pem.empty() || tls->cert_pem.empty() || tls->key_pem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options_.name, ": TLS needs the CA certificate, this node's certificate and its key"));
  }
  const bool serves_joins = !options_.join_methods.empty();
  if (serves_joins && options_.token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(options_.name, ": serving joins needs the cluster token"));
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      MutualTlsServerCredentials(*tls, /*require_client_certificate=*/!serves_joins);
  // Only on TLS credentials: gRPC 1.51 aborts when insecure ones get a processor (auth.h).
  if (!options_.token.empty()) {
    credentials->SetAuthMetadataProcessor(
        MakeTokenMetadataProcessor(options_.name, options_.token, options_.join_methods));
  }
  return credentials;
}

bool GrpcServer::GatesTcp() const { return TlsOr(options_.rpc.tls) == nullptr && !options_.token.empty(); }

absl::Status GrpcServer::ListenError(const std::string& address) const {
  if (options_.port != 0 && !TcpPortFree(options_.host, options_.port)) {
    return absl::AlreadyExistsError(
        absl::StrCat(options_.name, " cannot listen on port ", options_.port, ": the port is already in use"));
  }
  const char* tls_hint = TlsOr(options_.rpc.tls) ? " (are its TLS certificate and key valid?)" : "";
  return absl::UnavailableError(absl::StrCat(options_.name, " cannot listen on ", address, tls_hint));
}

absl::Status GrpcServer::Start() {
  ORRERY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, TcpCredentials());
  std::string address = absl::StrCat(options_.host, ":", options_.port);
  // A gated port is listened on first, so that a busy one fails the start before gRPC's.
  if (GatesTcp()) ORRERY_RETURN_IF_ERROR(ListenGated(address));
  grpc::ServerBuilder builder;
  ApplyServerOptions(builder, options_.rpc);
  if (!GatesTcp()) builder.AddListeningPort(address, credentials, &port_);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  absl::Status status = server_ != nullptr && port_ != 0 ? absl::OkStatus() : ListenError(address);
  if (status.ok() && !options_.unix_socket_path.empty()) status = StartUnixSocket();
  if (!status.ok()) {
    Shutdown(0);
    return status;
  }
  if (tcp_listen_fd_ >= 0 || unix_listen_fd_ >= 0) {
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  return absl::OkStatus();
}

absl::Status GrpcServer::ListenGated(const std::string& address) {
  absl::StatusOr<TcpListener> listener = ListenTcp(options_.host, options_.port);
  if (!listener.ok()) {
    if (absl::IsInvalidArgument(listener.status())) return Annotate(listener.status(), options_.name);
    return ListenError(address);
  }
  tcp_listen_fd_ = listener->fd;
  port_ = listener->port;
  gate_ = std::make_unique<TokenGate>(options_.name, options_.token, options_.rpc.handshake_timeout_ms);
  return absl::OkStatus();
}

namespace {

bool IsAbstract(const std::string& socket) { return !socket.empty() && socket[0] == '@'; }

}  // namespace

absl::Status GrpcServer::StartUnixSocket() {
  const std::string& path = options_.unix_socket_path;
  const bool abstract = IsAbstract(path);
  if (!abstract) {
    std::string dir = path.substr(0, path.rfind('/'));
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) return ErrnoStatus("socket directory " + dir, errno);
    if ((st.st_mode & 077) != 0) {
      return absl::PermissionDeniedError("socket directory " + dir + " must be private (0700)");
    }
  }
  ORRERY_ASSIGN_OR_RETURN(UnixAddress address, MakeUnixAddress(path));
  if (!abstract) unlink(path.c_str());
  unix_listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (unix_listen_fd_ < 0) return ErrnoStatus("socket", errno);
  if (bind(unix_listen_fd_, address.get(), address.length) != 0 ||
      listen(unix_listen_fd_, 128) != 0) {
    return ErrnoStatus("listen on " + path, errno);
  }
  return absl::OkStatus();
}

bool PeerIsSameUser(int fd) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  return cred.uid == geteuid();
}

void GrpcServer::AcceptLoop() {
  // Slots of `fds` before the gate's connections.
  enum { kStop, kUnix, kTcp, kGate };
  std::vector<pollfd> fds;
  auto admit = [this](int fd) { grpc::AddInsecureChannelFromFd(server_.get(), fd); };
  while (true) {
    fds.clear();
    // poll() ignores the negative descriptor of a listener this server does not have.
    fds.push_back({stop_fd_, POLLIN, 0});
    fds.push_back({unix_listen_fd_, POLLIN, 0});
    fds.push_back({tcp_listen_fd_, POLLIN, 0});
    if (gate_ != nullptr) gate_->AppendPollFds(fds);
    int rc = poll(fds.data(), fds.size(), gate_ != nullptr ? gate_->NextTimeoutMs() : -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[kStop].revents & POLLIN) != 0) return;
    if (gate_ != nullptr) gate_->Service(fds.data() + kGate, admit);
    if ((fds[kUnix].revents & POLLIN) != 0) AcceptLocal();
    if ((fds[kTcp].revents & POLLIN) != 0) AcceptGated();
  }
}

void GrpcServer::AcceptLocal() {
  // gRPC expects a non-blocking descriptor; a blocking one stalls its poller threads.
  int fd = accept4(unix_listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  if (!PeerIsSameUser(fd)) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    spdlog::warn("{}: refused a local connection from uid {} pid {} (not this user)", options_.name, cred.uid,
                 cred.pid);
    close(fd);
    return;
  }
  // gRPC takes the descriptor over: the connection is served like any TCP one.
  grpc::AddInsecureChannelFromFd(server_.get(), fd);
}

void GrpcServer::AcceptGated() {
  // Everything waiting, so that a burst of connections costs one pass of the loop.
  while (true) {
    sockaddr_in address{};
    socklen_t length = sizeof(address);
    int fd = accept4(tcp_listen_fd_, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Out of descriptors, the listener stays readable: leave the backlog to the kernel for a
      // moment rather than spin (the gate's deadlines free some soon).
      if (errno == EMFILE || errno == ENFILE) {
        spdlog::warn("{}: out of file descriptors; accepting again in 100 ms", options_.name);
        poll(nullptr, 0, 100);
      }
      return;
    }
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &address.sin_addr, ip, sizeof(ip));
    // Named as gRPC names its peers, so that the logs of both say the same.
    gate_->Add(fd, absl::StrCat("ipv4:", ip, ":", ntohs(address.sin_port)));
  }
}

void GrpcServer::Shutdown(int64_t grace_ms) {
  if (accept_thread_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = write(stop_fd_, &one, sizeof(one));
    (void)ignored;
    accept_thread_.join();
  }
  if (unix_listen_fd_ >= 0) {
    close(unix_listen_fd_);
    if (!IsAbstract(options_.unix_socket_path)) unlink(options_.unix_socket_path.c_str());
    unix_listen_fd_ = -1;
  }
  gate_.reset();
  if (tcp_listen_fd_ >= 0) {
    close(tcp_listen_fd_);
    tcp_listen_fd_ = -1;
  }
  if (stop_fd_ >= 0) {
    close(stop_fd_);
    stop_fd_ = -1;
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
    server_->Wait();
    server_.reset();
  }
}

}  // namespace orrery::rpc
