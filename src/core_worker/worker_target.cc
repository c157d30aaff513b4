#include "src/core_worker/worker_target.h"

#include "absl/strings/str_cat.h"

namespace orrery::core {
namespace {

std::string AbstractName(const WorkerId& worker) { return "orrery-worker-" + worker.Hex(); }

}  // namespace

std::string LocalWorkerSocket(const WorkerId& worker) { return "@" + AbstractName(worker); }

std::string WorkerTarget(const rpc::WorkerAddress& address, const NodeId& local_node) {
  if (!local_node.IsNil() && address.node_id() == local_node.Binary()) {
    if (auto worker = WorkerId::FromBinary(address.worker_id()); worker.ok()) {
      return "unix-abstract:" + AbstractName(*worker);
    }
  }
  return absl::StrCat(address.ip(), ":", address.port());
}

}  // namespace orrery::core
