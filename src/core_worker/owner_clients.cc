#include "src/core_worker/owner_clients.h"

#include "absl/strings/str_cat.h"

namespace orrery::core {

std::shared_ptr<CoreWorkerClient> OwnerClients::Get(const rpc::WorkerAddress& address) {
  std::string target = absl::StrCat(address.ip(), ":", address.port());
  absl::MutexLock lock(&mu_);
  auto& client = clients_[target];
  if (client == nullptr) {
    rpc::ClientOptions options = options_;
    options.peer_name = "worker at " + target;
    client = std::make_shared<CoreWorkerClient>(rpc::MakeChannel(target, options.rpc), options);
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
