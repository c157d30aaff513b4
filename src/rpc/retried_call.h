// The call options of a call that is safe to retry (idempotent, or deduplicated by request id
// on the server): retried with back-off within the client's retry budget.
#pragma once

#include "src/rpc/grpc_client.h"

namespace orrery::rpc {

inline CallOptions RetriedCall() {
  CallOptions options;
  options.retry = true;
  return options;
}

}  // namespace orrery::rpc
