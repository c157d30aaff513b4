// OwnerClients: clients for the CoreWorkerService of other processes (owners of objects this
// process uses, borrowers it answers), one per address, kept until Stop(). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/common/id.h"
#include "src/rpc/grpc_client.h"

namespace orrery::core {

using CoreWorkerClient = rpc::GrpcClient<rpc::CoreWorkerService>;

class OwnerClients {
 public:
  // `local_node`: the node this process runs on (nil: reach every worker over TCP).
  explicit OwnerClients(rpc::ClientOptions options, NodeId local_node = NodeId())
      : options_(std::move(options)), local_node_(local_node) {}

  // The client for `address` (created on first use).
  std::shared_ptr<CoreWorkerClient> Get(const rpc::WorkerAddress& address);
  // Drops every client (each waits for its calls first, see rpc/in_flight.h).
  void Stop();

 private:
  const rpc::ClientOptions options_;
  const NodeId local_node_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<CoreWorkerClient>> clients_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
