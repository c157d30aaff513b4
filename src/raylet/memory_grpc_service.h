// MemoryGrpcService: the raylet's NodeMemoryService, what `orrery memory` and `orrery list
// objects` read from each node: the object store's usage and objects, and the references each
// driver and worker of the node holds, which it asks each of them for (ObjectReferenceService)
// and gathers into one reply. A process that does not answer within kProcessTimeoutMs is named
// in the reply with the reason, so one stuck worker cannot hide the rest of the node.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "orrery/memory.grpc.pb.h"

#include "src/common/id.h"
#include "src/object_store/store_server.h"
#include "src/raylet/node_manager.h"
#include "src/rpc/grpc_client.h"
#include "src/rpc/server_calls.h"

namespace orrery::raylet {

class MemoryGrpcService final : public rpc::NodeMemoryService::CallbackService {
 public:
  struct Options {
    NodeId node_id;
    // Where this node's processes serve (they listen on every interface).
    std::string node_ip;
    std::string token;
    rpc::RpcOptions rpc;
  };
  // Every handler runs on the raylet loop (the ServerCalls' dispatcher), as do the replies of
  // the processes asked.
  MemoryGrpcService(rpc::ServerCalls& calls, const NodeManager& node_manager, object_store::StoreServer& store,
                    Options options);

  grpc::ServerUnaryReactor* GetNodeMemory(grpc::CallbackServerContext* context,
                                          const rpc::GetNodeMemoryRequest* request,
                                          rpc::GetNodeMemoryReply* reply) override;

  static constexpr int64_t kProcessTimeoutMs = 2'000;

 private:
  using ProcessClient = rpc::GrpcClient<rpc::ObjectReferenceService>;

  void FillStore(int64_t limit, rpc::GetNodeMemoryReply& reply);
  // A client for each process asked; those of processes gone are dropped.
  ProcessClient& ClientOf(const Worker& process);
  void ForgetOtherClients(const std::vector<std::shared_ptr<const Worker>>& processes);

  rpc::ServerCalls& calls_;
  const NodeManager& node_manager_;
  object_store::StoreServer& store_;
  const Options options_;
  absl::flat_hash_map<WorkerId, std::unique_ptr<ProcessClient>> clients_;
};

}  // namespace orrery::raylet
