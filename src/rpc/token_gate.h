// The token gate of a plain TCP port (--tls=off): the cluster token is checked before a single
// byte of HTTP/2 is read from a peer, as TLS checks a certificate before it.
//
// gRPC 1.51 offers no hook between accepting a plain connection and reading a request off it
// (its AuthMetadataProcessor aborts on insecure credentials, and a unary request is read before
// any handler or interceptor sees the call), so a peer without the token could make a daemon
// read one whole request, up to the message limit (260 MiB). Instead every plain connection
// opens with an HTTP CONNECT request carrying the token, which gRPC's own client sends when a
// channel names an HTTP CONNECT server (AddTokenGateArguments: MakeChannel does it). The server
// accepts its TCP connections itself, reads that request (at most kMaxRequestBytes, within the
// handshake timeout), answers 200 and hands the connection to gRPC only when the token is right,
// and answers 401 (no token) or 403 (wrong token) and closes otherwise; anything else (a gRPC
// client that did not open with the request, a TLS hello) is closed unanswered, as a TLS port
// closes a plain client. docs/design/tls.md, "The token before the message".
#pragma once

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/channel_arguments.h"
#include "src/rpc/auth.h"

namespace orrery::rpc {

// Arms a plain TCP channel to open each connection with the gate's request carrying `token`.
void AddTokenGateArguments(grpc::ChannelArguments& args, absl::string_view token);

// The Unauthenticated status a client reports when a gate refused its connection; nullopt when
// `grpc_message`, the error of a failed call, is not such a refusal.
std::optional<absl::Status> TokenGateRefusal(absl::string_view grpc_message, absl::string_view peer);

// What the gate makes of the bytes a peer has sent so far.
struct GateVerdict {
  enum Kind {
    kIncomplete,  // the request may still be coming
    kAdmit,       // the token is right: answer `reply` and hand the connection over
    kRefuse,      // answer `reply` (empty: nothing) and close
  };
  Kind kind = kIncomplete;
  std::string reply;
};

// The request a gate accepts is at most this long: gRPC's is about 120 bytes.
inline constexpr size_t kMaxGateRequestBytes = 4096;

// Judges `received`, every byte a peer sent on a new connection so far.
GateVerdict JudgeGateRequest(absl::string_view received, const TokenAuthenticator& auth, absl::string_view peer);

// The connections accepted on a plain port and not yet through the gate. Single-threaded: the
// server's accept loop polls them with its listeners.
class TokenGate {
 public:
  TokenGate(std::string server_name, std::string token, int64_t deadline_ms);
  ~TokenGate();  // closes the connections still waiting
  TokenGate(const TokenGate&) = delete;
  TokenGate& operator=(const TokenGate&) = delete;

  // Takes a connection just accepted (non-blocking); `peer` names it in the log.
  void Add(int fd, std::string peer);

  // Appends a pollfd for each waiting connection, in order, for Service().
  void AppendPollFds(std::vector<pollfd>& fds) const;

  // After poll(): `ready` is the slice AppendPollFds appended. Reads from the connections that
  // have input, calls `admit(fd)` for each whose token is right (it owns the descriptor then),
  // and closes those refused, closed by their peer, or past their deadline.
  void Service(const pollfd* ready, const std::function<void(int)>& admit);

  // Milliseconds until the earliest deadline, for poll()'s timeout; -1 when none waits.
  int NextTimeoutMs() const;

 private:
  struct Waiting {
    int fd;
    std::string peer;
    int64_t deadline_ms;
    std::string received;
  };
  // Reads what `w` has sent; the verdict on it so far (kRefuse when its peer closed or erred).
  GateVerdict Read(Waiting& w) const;

  TokenAuthenticator auth_;
  int64_t deadline_ms_;
  // In the order accepted, and so of deadlines (each is the accept time plus deadline_ms_).
  std::vector<Waiting> waiting_;
};

}  // namespace orrery::rpc
