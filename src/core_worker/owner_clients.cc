#include "src/core_worker/owner_clients.h"

#include "src/core_worker/worker_target.h"

namespace orrery::core {

std::shared_ptr<CoreWorkerClient> OwnerClients::Get(const rpc::WorkerAddress& address) {
  std::string target = WorkerTarget(address, local_node_);
  absl::MutexLock lock(&mu_);
  auto& client = clients_[target];
  if (client == nullptr) {
    rpc::ClientOptions options = options_;
    options.peer_name = "worker at " + target;
    client = std::make_shared<CoreWorkerClient>(rpc::MakeChannel(target, options), options);
  }
  return client;
}

void OwnerClients::Stop() {
  absl::flat_hash_map<std::string, std::shared_ptr<CoreWorkerClient>> clients;
  {
    absl::MutexLock lock(&mu_);
    clients.swap(clients_);
  }
  clients.clear();
}

}  // namespace orrery::core
