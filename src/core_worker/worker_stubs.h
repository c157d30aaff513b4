// WorkerStubs: one channel and stub per worker target (worker_target.h: the Unix socket of a
// worker on this node, HOST:PORT of any other), made on first use and kept, for the submitters
// that open task streams to workers. A new worker on the port of a dead one
// gets a new channel (the old one may be backing off after its peer vanished); streams opened
// on the old stub keep their own reference to its channel. Not thread-safe: the owner guards it.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/core_worker/worker_target.h"
#include "src/rpc/grpc_client.h"

namespace orrery::core {

class WorkerStubs {
 public:
  // `local_node`: the node this process runs on.
  WorkerStubs(rpc::RpcOptions options, std::string token, NodeId local_node)
      : options_(std::move(options)), token_(std::move(token)), local_node_(local_node) {}

  rpc::CoreWorkerService::Stub* For(const rpc::WorkerAddress& address) {
    std::string target = WorkerTarget(address, local_node_);
    Entry& entry = stubs_[target];
    if (entry.stub == nullptr || entry.worker_id != address.worker_id()) {
      entry.worker_id = address.worker_id();
      entry.channel = rpc::MakeChannel(target, options_, token_);
      entry.stub = rpc::CoreWorkerService::NewStub(entry.channel);
    }
    return entry.stub.get();
  }

 private:
  struct Entry {
    std::string worker_id;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rpc::CoreWorkerService::Stub> stub;
  };
  const rpc::RpcOptions options_;
  const std::string token_;
  const NodeId local_node_;
  absl::flat_hash_map<std::string, Entry> stubs_;
};

}  // namespace orrery::core
