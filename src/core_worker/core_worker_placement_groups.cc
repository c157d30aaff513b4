// CoreWorker's placement groups: thin calls to the GCS's PlacementGroupService, which places
// the groups (see src/gcs/gcs_placement_group_manager.h).
#include <algorithm>

#include "src/common/clock.h"
#include "src/rpc/retried_call.h"
#include "src/common/status.h"
#include "src/core_worker/core_worker.h"

namespace orrery::core {

namespace {
using Stub = rpc::PlacementGroupService::Stub;

// The GCS holds a wait at most this long; a longer one asks again.
constexpr int64_t kWaitSliceMs = 10'000;
}  // namespace

absl::StatusOr<ResourceSet> DemandInGroup(ResourceSet demand, const std::string& group, int bundle_index) {
  if (group.empty()) return demand;
  ORRERY_ASSIGN_OR_RETURN(PlacementGroupId id, PlacementGroupId::FromHex(group));
  return GroupDemand(demand, id, bundle_index);
}

absl::Status CoreWorker::CreatePlacementGroup(rpc::PlacementGroupInfo group) {
  group.set_job_id(options_.job_id.Binary());
  group.set_name_space(Namespace());
  rpc::CreatePlacementGroupRequest request;
  *request.mutable_group() = std::move(group);
  ORRERY_ASSIGN_OR_RETURN(PlacementGroupId id, PlacementGroupId::FromBinary(request.group().placement_group_id()));
  if (!request.group().name().empty()) {
    // Only the GCS can tell whether the name is free: the caller waits for its answer, after
    // the removals it made (one may free the name).
    AwaitAllRegistrations();
    ORRERY_RETURN_IF_ERROR(
        placement_groups_->CallSync(&Stub::async::CreatePlacementGroup, request, rpc::RetriedCall()).status());
  } else {
    // A group created after removals must find the room they free; the calls, sent apart,
    // could reach the GCS in either order. (A failed removal stays for its group's next call.)
    AwaitAllRegistrations(absl::InfiniteDuration(), /*removals_only=*/true);
    CallOnGroupInBackground<rpc::CreatePlacementGroupRequest, rpc::CreatePlacementGroupReply>(
        id, &Stub::async::CreatePlacementGroup, request);
  }
  absl::MutexLock lock(&registrations_mu_);
  created_groups_.insert(id);
  return absl::OkStatus();
}

template <typename Request, typename Reply>
void CoreWorker::CallOnGroupInBackground(const PlacementGroupId& id,
                                         rpc::GrpcClient<rpc::PlacementGroupService>::AsyncMethod<Request, Reply> method,
                                         const Request& request, bool removal) {
  auto registration = std::make_shared<GroupRegistration>();
  registration->removal = removal;
  {
    absl::MutexLock lock(&registrations_mu_);
    registrations_[id] = registration;
  }
  placement_groups_->Call(method, request, rpc::RetriedCall(), [this, id, registration](absl::StatusOr<Reply> reply) {
    registration->status = reply.status();
    // Only a failure is kept, for the next call on the group to report.
    if (reply.ok()) {
      absl::MutexLock lock(&registrations_mu_);
      if (auto it = registrations_.find(id); it != registrations_.end() && it->second == registration) {
        registrations_.erase(it);
      }
    }
    registration->done.Notify();
  });
}

absl::Status CoreWorker::AwaitRegistration(const PlacementGroupId& id) {
  std::shared_ptr<GroupRegistration> registration;
  {
    absl::MutexLock lock(&registrations_mu_);
    auto it = registrations_.find(id);
    if (it == registrations_.end()) return absl::OkStatus();
    registration = it->second;
  }
  registration->done.WaitForNotification();
  absl::MutexLock lock(&registrations_mu_);
  if (auto it = registrations_.find(id); it != registrations_.end() && it->second == registration) {
    registrations_.erase(it);  // reported once
  }
  return registration->status;
}

void CoreWorker::AwaitAllRegistrations(absl::Duration limit, bool removals_only) {
  absl::Time deadline = absl::Now() + limit;
  std::vector<std::shared_ptr<GroupRegistration>> in_flight;
  {
    absl::MutexLock lock(&registrations_mu_);
    for (const auto& [id, registration] : registrations_) {
      if (!removals_only || registration->removal) in_flight.push_back(registration);
    }
  }
  for (const auto& registration : in_flight) registration->done.WaitForNotificationWithDeadline(deadline);
}

absl::Status CoreWorker::RemovePlacementGroup(const PlacementGroupId& id) {
  bool created_here = false;
  {
    absl::MutexLock lock(&registrations_mu_);
    created_here = created_groups_.erase(id) > 0;
  }
  // After its registration: a removal that overtook it would leave the group behind.
  ORRERY_RETURN_IF_ERROR(AwaitRegistration(id));
  rpc::RemovePlacementGroupRequest request;
  request.set_placement_group_id(id.Binary());
  if (created_here) {
    // The GCS knows the group, so it cannot refuse: a loop of removals need not wait for
    // one another's round trips. The next call on the group (and Shutdown) waits for it.
    CallOnGroupInBackground<rpc::RemovePlacementGroupRequest, rpc::RemovePlacementGroupReply>(
        id, &Stub::async::RemovePlacementGroup, request, /*removal=*/true);
  } else {
    ORRERY_RETURN_IF_ERROR(
        placement_groups_->CallSync(&Stub::async::RemovePlacementGroup, request, rpc::RetriedCall()).status());
  }
  submitter_->OnPlacementGroupRemoved(id);
  return absl::OkStatus();
}

void CoreWorker::CheckGroupRemoved(const PlacementGroupId& id) {
  {
    absl::MutexLock lock(&registrations_mu_);
    const int64_t now_ms = MonotonicMs();
    // A check older than the period holds nothing back, so it is forgotten: the map holds the
    // groups checked in the last second, not every group this process ever waited on.
    absl::erase_if(group_checked_ms_,
                   [now_ms](const auto& checked) { return now_ms - checked.second >= kGroupCheckPeriodMs; });
    if (!group_checked_ms_.emplace(id, now_ms).second) return;  // checked within the period
  }
  rpc::GetPlacementGroupRequest request;
  request.set_placement_group_id(id.Binary());
  placement_groups_->Call(&Stub::async::GetPlacementGroup, request, rpc::RetriedCall(),
                          [this, id](absl::StatusOr<rpc::GetPlacementGroupReply> reply) {
                            if (reply.ok() && reply->found() &&
                                reply->group().state() == rpc::PlacementGroupInfo::REMOVED) {
                              submitter_->OnPlacementGroupRemoved(id);
                            }
                          });
}

absl::StatusOr<bool> CoreWorker::WaitPlacementGroupReady(const PlacementGroupId& id, int64_t timeout_ms) {
  ORRERY_RETURN_IF_ERROR(AwaitRegistration(id));
  int64_t deadline = MonotonicMs() + std::max<int64_t>(timeout_ms, 0);
  while (true) {
    rpc::WaitPlacementGroupReadyRequest request;
    request.set_placement_group_id(id.Binary());
    request.set_wait_ms(std::min(kWaitSliceMs, std::max<int64_t>(deadline - MonotonicMs(), 0)));
    rpc::CallOptions call = rpc::RetriedCall();
    call.timeout_ms = request.wait_ms() + options_.rpc.default_deadline_ms;
    ORRERY_ASSIGN_OR_RETURN(rpc::WaitPlacementGroupReadyReply reply,
                            placement_groups_->CallSync(&Stub::async::WaitPlacementGroupReady, request, call));
    if (reply.ready()) return true;
    if (MonotonicMs() >= deadline) return false;
  }
}

absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> CoreWorker::GetPlacementGroup(const PlacementGroupId& id) {
  ORRERY_RETURN_IF_ERROR(AwaitRegistration(id));
  rpc::GetPlacementGroupRequest request;
  request.set_placement_group_id(id.Binary());
  ORRERY_ASSIGN_OR_RETURN(rpc::GetPlacementGroupReply reply,
                          placement_groups_->CallSync(&Stub::async::GetPlacementGroup, request, rpc::RetriedCall()));
  if (!reply.found()) return std::nullopt;
  return reply.group();
}

absl::StatusOr<std::optional<rpc::PlacementGroupInfo>> CoreWorker::GetNamedPlacementGroup(const std::string& name) {
  AwaitAllRegistrations();  // a group this process removed is gone by name too
  rpc::GetNamedPlacementGroupRequest request;
  request.set_name(name);
  request.set_name_space(Namespace());
  ORRERY_ASSIGN_OR_RETURN(rpc::GetNamedPlacementGroupReply reply,
                          placement_groups_->CallSync(&Stub::async::GetNamedPlacementGroup, request, rpc::RetriedCall()));
  if (!reply.found()) return std::nullopt;
  return reply.group();
}

absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> CoreWorker::GetAllPlacementGroups() {
  // Every group this process created is listed, in the state its last call left it.
  AwaitAllRegistrations();
  ORRERY_ASSIGN_OR_RETURN(
      rpc::GetAllPlacementGroupsReply reply,
      placement_groups_->CallSync(&Stub::async::GetAllPlacementGroups, rpc::GetAllPlacementGroupsRequest(), rpc::RetriedCall()));
  return std::vector<rpc::PlacementGroupInfo>(reply.groups().begin(), reply.groups().end());
}

}  // namespace orrery::core
