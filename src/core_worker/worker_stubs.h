// WorkerStubs: one channel and stub per worker address (HOST:PORT), made on first use and kept,
// for the submitters that open task streams to workers. Not thread-safe: the owner guards it.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/rpc/grpc_client.h"

namespace orrery::core {

class WorkerStubs {
 public:
  explicit WorkerStubs(rpc::RpcOptions options) : options_(std::move(options)) {}

  rpc::CoreWorkerService::Stub* For(const rpc::WorkerAddress& address) {
    std::string target = absl::StrCat(address.ip(), ":", address.port());
    auto& entry = stubs_[target];
    if (entry.second == nullptr) {
      entry.first = rpc::MakeChannel(target, options_);
      entry.second = rpc::CoreWorkerService::NewStub(entry.first);
    }
    return entry.second.get();
  }

 private:
  const rpc::RpcOptions options_;
  absl::flat_hash_map<std::string, std::pair<std::shared_ptr<grpc::Channel>,
                                             std::unique_ptr<rpc::CoreWorkerService::Stub>>>
      stubs_;
};

}  // namespace orrery::core
