#include "src/gcs/gcs_resource_manager.h"

#include "src/common/clock.h"
#include "src/common/status.h"
#include "orrery/version.h"

namespace orrery::gcs {

namespace {

// The part of a report other raylets schedule by (demand and counts change far more often).
rpc::PubsubMessage ViewMessage(const rpc::NodeResourceUsage& usage) {
  rpc::PubsubMessage message;
  message.set_key(usage.node_id());
  rpc::NodeResourceUsage* view = message.mutable_resource_usage();
  view->set_node_id(usage.node_id());
  *view->mutable_total() = usage.total();
  *view->mutable_available() = usage.available();
  view->set_report_time_ms(usage.report_time_ms());
  return message;
}

}  // namespace

GcsResourceManager::GcsResourceManager(GcsNodeManager& nodes, Publisher& publisher, ClusterId cluster_id,
                                       int64_t start_time_ms)
    : nodes_(nodes), publisher_(publisher), cluster_id_(cluster_id), start_time_ms_(start_time_ms) {}

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
  auto total = ResourceSet::FromProto(usage.total());
  if (!total.ok()) return done(total.status());
  auto available = ResourceSet::FromProto(usage.available());
  if (!available.ok()) return done(available.status());
  reply->set_gcs_instance_id(nodes_.instance_id());
  if (trust_hook_) trust_hook_(*node_id, usage.trust(), reply);
  // Reports travel as separate calls: one overtaken by a newer report says nothing new.
  if (auto last = parsed_.find(*node_id); last != parsed_.end() && usage.report_seq() != 0 &&
                                          usage.report_seq() <= last->second.report_seq) {
    return done(absl::OkStatus());
  }
  auto [it, first] = usage_.try_emplace(*node_id);
  rpc::NodeResourceUsage& stored = it->second;
  NodeResources& parsed = parsed_[*node_id];
  bool changed = first || !(parsed.total == *total) || !(parsed.available == *available);
  if (changed) {
    parsed.total = std::move(*total);
    parsed.available = std::move(*available);
  }
  parsed.report_seq = usage.report_seq();
  stored = usage;
  stored.set_report_time_ms(NowMs());
  done(absl::OkStatus());
  if (changed) publisher_.Publish(rpc::RESOURCE_VIEW, stored.node_id(), ViewMessage(stored));
  for (const auto& listener : listeners_) listener(*node_id, changed);
}

std::vector<rpc::PubsubMessage> GcsResourceManager::Snapshot() const {
  std::vector<rpc::PubsubMessage> messages;
  for (const auto& [id, usage] : usage_) messages.push_back(ViewMessage(usage));
  return messages;
}

void GcsResourceManager::HandleGetClusterStatus(const rpc::GetClusterStatusRequest& request,
                                                rpc::GetClusterStatusReply* reply, ReplyCallback done) {
  reply->set_cluster_id(cluster_id_.Binary());
  reply->set_version(ORRERY_VERSION_STRING);
  reply->set_start_time_ms(start_time_ms_);
  reply->set_metrics_port(metrics_port_);
  reply->set_dashboard_port(dashboard_port_);
  reply->set_https(https_);
  reply->set_now_ms(NowMs());
  for (const rpc::NodeInfo& node : nodes_.AllNodes()) *reply->add_nodes() = node;
  for (const auto& [id, usage] : usage_) *reply->add_usage() = usage;
  done(absl::OkStatus());
}

}  // namespace orrery::gcs
