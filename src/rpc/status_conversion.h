// The one place grpc::Status and absl::Status are converted. Both use the canonical codes.
#pragma once

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace orrery::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);

// `peer` names the far side in transport errors ("GCS at 10.0.0.1:6391").
// `max_message_bytes` is named when the peer refused a message as too large.
absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view peer = {}, int64_t max_message_bytes = 0);

}  // namespace orrery::rpc
