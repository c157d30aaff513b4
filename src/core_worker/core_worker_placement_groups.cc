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
  if (!request.group().name().empty()) {
    // Only the GCS can tell whether the name is free: the caller waits for its answer.
    return placement_groups_->CallSync(&Stub::async::CreatePlacementGroup, request, rpc::RetriedCall()).status();
  }
  ORRERY_ASSIGN_OR_RETURN(PlacementGroupId id, PlacementGroupId::FromBinary(request.group().placement_group_id()));
  auto registration = std::make_shared<GroupRegistration>();
  {
    absl::MutexLock lock(&registrations_mu_);
    registrations_[id] = registration;
  }
  placement_groups_->Call(&Stub::async::CreatePlacementGroup, request, rpc::RetriedCall(),
                          [this, id, registration](absl::StatusOr<rpc::CreatePlacementGroupReply> reply) {
                            registration->status = reply.status();
                            // Only a failure is kept, for the next call on the group to report.
                            if (reply.ok()) {
                              absl::MutexLock lock(&registrations_mu_);
                              registrations_.erase(id);
                            }
                            registration->done.Notify();
                          });
  return absl::OkStatus();
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
  registrations_.erase(id);  // reported once
  return registration->status;
}

absl::Status CoreWorker::RemovePlacementGroup(const PlacementGroupId& id) {
  ORRERY_RETURN_IF_ERROR(AwaitRegistration(id));
  rpc::RemovePlacementGroupRequest request;
  request.set_placement_group_id(id.Binary());
  ORRERY_RETURN_IF_ERROR(placement_groups_->CallSync(&Stub::async::RemovePlacementGroup, request, rpc::RetriedCall()).status());
  submitter_->OnPlacementGroupRemoved(id);
  return absl::OkStatus();
}

void CoreWorker::CheckGroupRemoved(const PlacementGroupId& id) {
  {
    absl::MutexLock lock(&registrations_mu_);
    int64_t& checked_ms = group_checked_ms_[id];
    if (checked_ms != 0 && MonotonicMs() - checked_ms < kGroupCheckPeriodMs) return;
    checked_ms = MonotonicMs();
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
  rpc::GetNamedPlacementGroupRequest request;
  request.set_name(name);
  request.set_name_space(Namespace());
  ORRERY_ASSIGN_OR_RETURN(rpc::GetNamedPlacementGroupReply reply,
                          placement_groups_->CallSync(&Stub::async::GetNamedPlacementGroup, request, rpc::RetriedCall()));
  if (!reply.found()) return std::nullopt;
  return reply.group();
}

absl::StatusOr<std::vector<rpc::PlacementGroupInfo>> CoreWorker::GetAllPlacementGroups() {
  // Every group this process created is listed.
  std::vector<PlacementGroupId> registering;
  {
    absl::MutexLock lock(&registrations_mu_);
    for (const auto& [id, registration] : registrations_) registering.push_back(id);
  }
  for (const PlacementGroupId& id : registering) AwaitRegistration(id).IgnoreError();
  ORRERY_ASSIGN_OR_RETURN(
      rpc::GetAllPlacementGroupsReply reply,
      placement_groups_->CallSync(&Stub::async::GetAllPlacementGroups, rpc::GetAllPlacementGroupsRequest(), rpc::RetriedCall()));
  return std::vector<rpc::PlacementGroupInfo>(reply.groups().begin(), reply.groups().end());
}

}  // namespace orrery::core
