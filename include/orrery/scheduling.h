/// Where tasks and actors run (Orrery's extension: Ray's C++ API has no scheduling
/// strategies; these are Ray Python's "SPREAD" and NodeAffinitySchedulingStrategy).
///   auto ref = orrery::Task(Work).SetSchedulingStrategy(orrery::SchedulingStrategy::Spread()).Remote();
///   auto pinned = orrery::Actor(Shard::Create)
///                     .SetSchedulingStrategy(orrery::SchedulingStrategy::NodeAffinity(orrery::GetNodeId()))
///                     .Remote();
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "orrery/export.h"

namespace orrery {

struct SchedulingStrategy {
  enum class Kind { kDefault, kSpread, kNodeAffinity };

  /// The hybrid policy: on the caller's node while it is less than half used, else on the
  /// least-used node with room.
  static SchedulingStrategy Default() { return {}; }
  /// Each call to the least-used node with room now, round-robin among equally used ones.
  static SchedulingStrategy Spread() { return {Kind::kSpread, "", false}; }
  /// On the node with this id (hex, as GetNodeId() gives it). Hard (soft = false): the call
  /// waits while that node is busy and fails at once when it is dead or unknown. Soft: when
  /// the node is dead, unknown or can never hold it, the call runs elsewhere as by default.
  static SchedulingStrategy NodeAffinity(std::string node_id, bool soft = false) {
    return {Kind::kNodeAffinity, std::move(node_id), soft};
  }

  Kind kind = Kind::kDefault;
  std::string node_id;
  bool soft = false;
};

/// The id (hex) of the node this process runs on: the driver's node, or the node of the
/// worker running the current task or actor.
ORRERY_EXPORT std::string GetNodeId();

/// Orrery extension: the ids (hex) of the cluster's alive nodes, sorted. Throws
/// OrreryException when the GCS cannot be asked.
ORRERY_EXPORT std::vector<std::string> GetAliveNodeIds();

}  // namespace orrery
