// BundleManager: this node's share of placement groups, reserved by the GCS in two phases.
// Prepare sets a bundle's resources aside (nothing else can take them, nothing can use them
// yet); commit makes them usable as the group's renamed resources (see
// src/common/placement_group.h); cancel gives them back, ending the leases that use them.
// Every step is idempotent, since the GCS retries.
#pragma once

#include <functional>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "orrery/gcs.pb.h"
#include "orrery/placement_group.pb.h"
#include "src/common/placement_group.h"
#include "src/raylet/node_resources.h"

namespace orrery::raylet {

// Owned and called by the raylet event loop only.
class BundleManager {
 public:
  // Ends every lease that holds or waits for resources of `group`, as its bundles go.
  using EndLeases = std::function<void(const PlacementGroupId& group)>;

  BundleManager(NodeResources& resources, EndLeases end_leases) : resources_(resources), end_leases_(std::move(end_leases)) {}

  // All of a group's bundles or none: a group that does not fit keeps nothing set aside, and
  // its result says what was missing. INVALID_ARGUMENT (nothing prepared) for a malformed spec.
  absl::StatusOr<rpc::PrepareBundlesReply> Prepare(const rpc::PrepareBundlesRequest& request);
  absl::Status Commit(const rpc::CommitBundlesRequest& request);
  void Cancel(const rpc::CancelBundlesRequest& request);

  size_t num_prepared() const;
  size_t num_committed() const;
  // Adds the committed bundles to `state`: what this node reports when it registers again with
  // a restarted GCS.
  void ReportCommitted(rpc::HostedState* state) const;

 private:
  struct Bundle {
    ResourceSet resources;
    Allocation reserved;
    bool committed = false;
  };
  using Key = std::pair<PlacementGroupId, int>;

  static absl::StatusOr<std::pair<Key, ResourceSet>> Parse(const rpc::BundleSpec& spec);
  // The devices behind a committed bundle's renamed unit resources (its GPUs).
  static std::map<std::string, DeviceShares> RenamedDevices(const Key& key, const Bundle& bundle);
  // Sets aside every bundle in `wanted` (one group's) or none of them.
  absl::Status PrepareGroup(const std::vector<std::pair<Key, ResourceSet>>& wanted);

  NodeResources& resources_;
  EndLeases end_leases_;
  std::map<Key, Bundle> bundles_;
};

}  // namespace orrery::raylet
