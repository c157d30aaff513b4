#include "src/metrics/targets.h"

#include "nlohmann/json.hpp"
#include "src/common/id.h"

namespace orrery::metrics {

std::string TargetsJson(const std::string& gcs_host, int gcs_metrics_port, const std::vector<rpc::NodeInfo>& nodes,
                        bool https) {
  nlohmann::json groups = nlohmann::json::array();
  auto add = [&](const std::string& target, nlohmann::json labels) {
    if (https) labels["__scheme__"] = "https";
    groups.push_back({{"targets", {target}}, {"labels", std::move(labels)}});
  };
  if (gcs_metrics_port > 0) add(gcs_host + ":" + std::to_string(gcs_metrics_port), {{"component", "gcs"}});
  for (const rpc::NodeInfo& node : nodes) {
    if (node.state() != rpc::NodeInfo::ALIVE || node.metrics_port() <= 0) continue;
    auto id = NodeId::FromBinary(node.node_id());
    add(node.node_ip() + ":" + std::to_string(node.metrics_port()),
        {{"component", "raylet"}, {"node_id", id.ok() ? id->Hex() : ""}});
  }
  return groups.dump(2) + "\n";
}

}  // namespace orrery::metrics
