// The RpcOptions keys every daemon's ConfigTable carries, written once.
#pragma once

#include <functional>

#include "src/common/config_table.h"
#include "src/rpc/rpc_options.h"

namespace orrery::rpc {

template <typename Config>
void AddRpcConfig(ConfigTable<Config>& table, RpcOptions Config::*member) {
  auto field = [member](auto RpcOptions::*inner) {
    return [member, inner](Config& c) -> auto& { return (c.*member).*inner; };
  };
  table
      .template AddAccessor<int64_t>("max_message_bytes", field(&RpcOptions::max_message_bytes),
                                     "Largest gRPC message sent or accepted, in bytes")
      .template AddAccessor<int64_t>("keepalive_time_ms", field(&RpcOptions::keepalive_time_ms),
                                     "Ping an idle connection this often")
      .template AddAccessor<int64_t>("keepalive_timeout_ms", field(&RpcOptions::keepalive_timeout_ms),
                                     "A connection whose ping goes unanswered this long is dead")
      .template AddAccessor<int64_t>("handshake_timeout_ms", field(&RpcOptions::handshake_timeout_ms),
                                     "A connection that has not finished its handshake this long after it is accepted "
                                     "is closed")
      .template AddAccessor<int64_t>("rpc_deadline_ms", field(&RpcOptions::default_deadline_ms),
                                     "Deadline of a call that names none")
      .template AddAccessor<int64_t>("rpc_retry_budget_ms", field(&RpcOptions::retry_budget_ms),
                                     "Total time an idempotent call is retried");
}

}  // namespace orrery::rpc
