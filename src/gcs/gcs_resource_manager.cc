#include "src/gcs/gcs_resource_manager.h"

#include "src/common/clock.h"
#include "src/common/resource_set.h"
#include "src/common/status.h"
#include "orrery/version.h"

namespace orrery::gcs {

GcsResourceManager::GcsResourceManager(GcsNodeManager& nodes, ClusterId cluster_id, int64_t start_time_ms)
    : nodes_(nodes), cluster_id_(cluster_id), start_time_ms_(start_time_ms) {}

void GcsResourceManager::HandleReportResourceUsage(const rpc::ReportResourceUsageRequest& request,
                                                   rpc::ReportResourceUsageReply* reply, ReplyCallback done) {
  const rpc::NodeResourceUsage& usage = request.usage();
  auto node_id = NodeId::FromBinary(usage.node_id());
  if (!node_id.ok()) return done(Annotate(node_id.status(), "ReportResourceUsage"));
  if (nodes_.GetAliveNode(*node_id) == nullptr) {
    return done(absl::NotFoundError("node " + node_id->Hex() + " is not registered as alive"));
  }
  for (const auto& demand : usage.demands()) {
    if (auto shape = ResourceSet::FromProto(demand.shape()); !shape.ok()) return done(shape.status());
    if (demand.count() < 0) return done(absl::InvalidArgumentError("a demand count is negative"));
  }
  if (auto total = ResourceSet::FromProto(usage.total()); !total.ok()) return done(total.status());
  rpc::NodeResourceUsage& stored = usage_[*node_id];
  stored = usage;
  stored.set_report_time_ms(NowMs());
  done(absl::OkStatus());
}

void GcsResourceManager::HandleGetClusterStatus(const rpc::GetClusterStatusRequest& request,
                                                rpc::GetClusterStatusReply* reply, ReplyCallback done) {
  reply->set_cluster_id(cluster_id_.Binary());
  reply->set_version(ORRERY_VERSION_STRING);
  reply->set_start_time_ms(start_time_ms_);
  reply->set_now_ms(NowMs());
  for (const rpc::NodeInfo& node : nodes_.AllNodes()) *reply->add_nodes() = node;
  for (const auto& [id, usage] : usage_) *reply->add_usage() = usage;
  done(absl::OkStatus());
}

}  // namespace orrery::gcs
