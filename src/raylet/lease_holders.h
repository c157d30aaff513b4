// LeaseHolders: the raylet's calls to the processes holding its leases (drivers and workers,
// on this node or others): asking them to give back idle leases another request waits for
// (LeaseManager::Options::ask_to_yield), and which leases they hold (check_holder). One client
// per holder, dropped when the holder dies. Owned and called by the raylet event loop only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/common/id.h"
#include "src/rpc/grpc_client.h"

namespace orrery::raylet {

class LeaseHolders {
 public:
  // `options.peer_name` is unused: each client names its holder.
  explicit LeaseHolders(rpc::ClientOptions options) : options_(std::move(options)) {}

  // Asks `holder` to return `leases` once idle. A holder that cannot be reached keeps them
  // until its idle timeout, as before: nothing else is lost.
  void AskToYield(const rpc::WorkerAddress& holder, const std::vector<LeaseId>& leases);
  // Asks `holder` which of `leases` it does not hold (CoreWorkerService.CheckLeases); `done`
  // runs on the raylet's loop.
  void CheckLeases(const rpc::WorkerAddress& holder, const std::vector<LeaseId>& leases,
                   std::function<void(absl::StatusOr<std::vector<LeaseId>>)> done);
  void Forget(const WorkerId& holder) { clients_.erase(holder); }

 private:
  using Client = rpc::GrpcClient<rpc::CoreWorkerService>;
  // The client for `holder` (made on first use); null for an address no call can reach.
  Client* ClientFor(const rpc::WorkerAddress& holder);
  rpc::ClientOptions options_;
  absl::flat_hash_map<WorkerId, std::unique_ptr<Client>> clients_;
};

}  // namespace orrery::raylet
