#include "absl/strings/string_view.h"
#include "src/rpc/status_conversion.h"

#include "absl/strings/str_cat.h"
#include "src/rpc/token_gate.h"

namespace orrery::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view peer, int64_t max_message_bytes) {
  if (status.ok()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(status.error_code());
  std::string message = status.error_message();
  if (code == absl::StatusCode::kUnavailable) {
    // A plain port's token gate refused the connection: no retry will change that.
    if (std::optional<absl::Status> refused = TokenGateRefusal(message, peer)) return *refused;
  }
  if (code == absl::StatusCode::kUnavailable && !peer.empty()) {
    message = absl::StrCat(peer, " is unreachable: ", message);
  } else if (code == absl::StatusCode::kDeadlineExceeded && !peer.empty()) {
    message = absl::StrCat(peer, " did not answer in time: ", message);
  } else if (code == absl::StatusCode::kResourceExhausted && max_message_bytes > 0 &&
             message.find("message larger than max") != std::string::npos) {
    message = absl::StrCat(message, " (the message limit is ", max_message_bytes, " bytes)");
  }
  return absl::Status(code, message);
}

}  // namespace orrery::rpc
