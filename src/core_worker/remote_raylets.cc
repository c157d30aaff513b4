#include "src/core_worker/remote_raylets.h"

#include <algorithm>

namespace orrery::core {

RemoteRaylets::RemoteRaylets(rpc::ClientOptions options, int64_t retry_budget_ms) : options_(std::move(options)) {
  options_.rpc.retry_budget_ms = std::min(options_.rpc.retry_budget_ms, retry_budget_ms);
}

std::shared_ptr<raylet::GrpcRayletClient> RemoteRaylets::At(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto& client = clients_[address];
  if (client == nullptr) {
    rpc::ClientOptions options = options_;
    options.peer_name = "raylet at " + address;
    client = std::make_shared<raylet::GrpcRayletClient>(address, std::move(options));
  }
  return client;
}

void RemoteRaylets::Stop() {
  absl::flat_hash_map<std::string, std::shared_ptr<raylet::GrpcRayletClient>> clients;
  {
    absl::MutexLock lock(&mu_);
    clients.swap(clients_);
  }
  clients.clear();
}

}  // namespace orrery::core
