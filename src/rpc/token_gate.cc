#include "src/rpc/token_gate.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/rpc/rpc_options.h"

namespace orrery::rpc {

namespace {

// gRPC's HTTP CONNECT handshaker runs when a channel names the server to CONNECT to; the
// gate ignores the name, so it is a fixed word rather than the address dialled.
constexpr char kConnectServerArg[] = "grpc.http_connect_server";
constexpr char kConnectHeadersArg[] = "grpc.http_connect_headers";
constexpr char kConnectTarget[] = "orrery";

constexpr absl::string_view kMethod = "CONNECT ";
constexpr absl::string_view kEndOfRequest = "\r\n\r\n";

constexpr char kAdmitted[] = "HTTP/1.1 200 OK\r\n\r\n";
constexpr char kNoToken[] = "HTTP/1.1 401 Unauthorized\r\n\r\n";
constexpr char kWrongToken[] = "HTTP/1.1 403 Forbidden\r\n\r\n";
// How gRPC's handshaker reports a refusal, ending with the code (http_connect_handshaker.cc).
constexpr absl::string_view kRefusedPrefix = "HTTP proxy returned response code ";

// The value of the token header of the request's header block, if it has one.
std::optional<absl::string_view> TokenHeader(absl::string_view header_block) {
  for (absl::string_view line : absl::StrSplit(header_block, "\r\n")) {
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(line.substr(0, colon)), kTokenMetadataKey)) {
      return absl::StripAsciiWhitespace(line.substr(colon + 1));
    }
  }
  return std::nullopt;
}

}  // namespace

void AddTokenGateArguments(grpc::ChannelArguments& args, absl::string_view token) {
  args.SetString(kConnectServerArg, kConnectTarget);
  args.SetString(kConnectHeadersArg, absl::StrCat(kTokenMetadataKey, ":", token));
}

std::optional<absl::Status> TokenGateRefusal(absl::string_view grpc_message, absl::string_view peer) {
  size_t at = grpc_message.find(kRefusedPrefix);
  if (at == absl::string_view::npos) return std::nullopt;
  absl::string_view code = grpc_message.substr(at + kRefusedPrefix.size(), 3);
  const char* why = code == "401"   ? "the connection carried no cluster token; pass --token or set ORRERY_TOKEN"
                    : code == "403" ? "wrong cluster token"
                                    : nullptr;
  if (why == nullptr) return std::nullopt;
  return absl::UnauthenticatedError(absl::StrCat(peer.empty() ? "the server" : peer, " refused the connection: ", why));
}

GateVerdict JudgeGateRequest(absl::string_view received, const TokenAuthenticator& auth, absl::string_view peer) {
  // Not the gate's request: a gRPC client that did not open with it, a TLS hello, a scanner.
  size_t prefix = std::min(received.size(), kMethod.size());
  if (received.substr(0, prefix) != kMethod.substr(0, prefix)) return {GateVerdict::kRefuse, ""};
  size_t end = received.find(kEndOfRequest);
  if (end == absl::string_view::npos) {
    if (received.size() >= kMaxGateRequestBytes) return {GateVerdict::kRefuse, ""};
    return {GateVerdict::kIncomplete, ""};
  }
  // A client waits for the answer before it sends anything more.
  if (end + kEndOfRequest.size() != received.size()) return {GateVerdict::kRefuse, ""};
  std::optional<absl::string_view> token = TokenHeader(received.substr(0, end));
  if (auth.CheckToken(token, peer).ok()) return {GateVerdict::kAdmit, kAdmitted};
  return {GateVerdict::kRefuse, token.has_value() && !token->empty() ? kWrongToken : kNoToken};
}

TokenGate::TokenGate(std::string server_name, std::string token, int64_t deadline_ms)
    : auth_(std::move(server_name), std::move(token)), deadline_ms_(deadline_ms) {}

TokenGate::~TokenGate() {
  for (const Waiting& w : waiting_) close(w.fd);
}

void TokenGate::Add(int fd, std::string peer) {
  waiting_.push_back(Waiting{fd, std::move(peer), MonotonicMs() + deadline_ms_, {}});
}

void TokenGate::AppendPollFds(std::vector<pollfd>& fds) const {
  for (const Waiting& w : waiting_) fds.push_back({w.fd, POLLIN, 0});
}

GateVerdict TokenGate::Read(Waiting& w) const {
  char buffer[kMaxGateRequestBytes];
  // JudgeGateRequest refuses a request that reached the bound, so there is always room.
  ssize_t got = recv(w.fd, buffer, kMaxGateRequestBytes - w.received.size(), 0);
  if (got == 0) return {GateVerdict::kRefuse, ""};  // the peer gave up
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {};
    return {GateVerdict::kRefuse, ""};
  }
  w.received.append(buffer, static_cast<size_t>(got));
  return JudgeGateRequest(w.received, auth_, w.peer);
}

void TokenGate::Service(const pollfd* ready, const std::function<void(int)>& admit) {
  int64_t now = MonotonicMs();
  std::vector<Waiting> still_waiting;
  for (size_t i = 0; i < waiting_.size(); ++i) {
    Waiting& w = waiting_[i];
    GateVerdict verdict;
    if (ready[i].revents != 0) verdict = Read(w);
    if (verdict.kind == GateVerdict::kIncomplete) {
      if (now < w.deadline_ms) {
        still_waiting.push_back(std::move(w));
        continue;
      }
      spdlog::debug("closed a connection from {} that sent no complete request in {} ms", w.peer, deadline_ms_);
      verdict.kind = GateVerdict::kRefuse;
    }
    // The answer is a few bytes on a socket that has sent nothing yet: it fits its buffer.
    bool answered = verdict.reply.empty() ||
                    send(w.fd, verdict.reply.data(), verdict.reply.size(), MSG_NOSIGNAL) ==
                        static_cast<ssize_t>(verdict.reply.size());
    if (verdict.kind == GateVerdict::kAdmit && answered) {
      // gRPC sets this on the connections it accepts itself; these it is handed.
      int one = 1;
      setsockopt(w.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      admit(w.fd);
      continue;
    }
    close(w.fd);
  }
  waiting_ = std::move(still_waiting);
}

int TokenGate::NextTimeoutMs() const {
  if (waiting_.empty()) return -1;
  return static_cast<int>(std::max<int64_t>(0, waiting_.front().deadline_ms - MonotonicMs()));
}

}  // namespace orrery::rpc
