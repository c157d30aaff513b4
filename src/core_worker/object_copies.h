// ObjectCopies: for the objects this process owns, the nodes beyond the first that hold a copy
// in their store (copies pulled by readers there). The owner frees them all with the object.
// Thread-safe.
#pragma once

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "src/common/id.h"

namespace orrery::core {

class ObjectCopies {
 public:
  void Add(const ObjectId& id, const NodeId& node) {
    absl::MutexLock lock(&mu_);
    std::vector<NodeId>& nodes = copies_[id];
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
  }
  std::vector<NodeId> Of(const ObjectId& id) {
    absl::MutexLock lock(&mu_);
    auto it = copies_.find(id);
    return it == copies_.end() ? std::vector<NodeId>{} : it->second;
  }
  // Forgets the object, returning where its copies were.
  std::vector<NodeId> Take(const ObjectId& id) {
    absl::MutexLock lock(&mu_);
    auto it = copies_.find(id);
    if (it == copies_.end()) return {};
    std::vector<NodeId> nodes = std::move(it->second);
    copies_.erase(it);
    return nodes;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<ObjectId, std::vector<NodeId>> copies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace orrery::core
