// `orrery status`: the nodes of a cluster, their resources, and what is waiting for resources
// (tasks and actors by shape, placement groups with why).
#include <cstdio>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/placement_group.grpc.pb.h"
#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/common/id.h"
#include "src/common/placement_group.h"
#include "src/common/resource_set.h"

namespace orrery::cli {

namespace {

// "1.5 GiB", "12 MiB", "0 B": bytes for a person.
std::string Bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 || value >= 10 ? absl::StrCat(static_cast<uint64_t>(value + 0.5), " ", kUnits[unit])
                                  : absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

// "used/total" for each resource the node has, e.g. "CPU 1/2  GPU 0/1".
std::string Usage(const ResourceSet& total, const ResourceSet& available) {
  std::string out;
  for (const auto& [name, amount] : total.quantities()) {
    FixedPoint used = amount - available.Get(name);
    if (used < FixedPoint()) used = FixedPoint();
    absl::StrAppend(&out, out.empty() ? "" : "  ", name, " ", used.ToString(), "/", amount.ToString());
  }
  return out.empty() ? "-" : out;
}

// The placement groups not placed (yet, or again), each with why; and how many are placed.
void PrintPlacementGroups(const std::shared_ptr<grpc::Channel>& gcs, const rpc::ClientOptions& options) {
  rpc::GrpcClient<rpc::PlacementGroupService> groups(gcs, options);
  rpc::CallOptions call;
  call.timeout_ms = 5000;
  auto all = groups.CallSync(&rpc::PlacementGroupService::Stub::async::GetAllPlacementGroups,
                             rpc::GetAllPlacementGroupsRequest(), call);
  if (!all.ok()) {
    printf("\nPlacement groups: cannot list them: %s\n", std::string(all.status().message()).c_str());
    return;
  }
  int created = 0;
  std::vector<const rpc::PlacementGroupInfo*> waiting;
  for (const auto& group : all->groups()) {
    if (group.state() == rpc::PlacementGroupInfo::CREATED) ++created;
    if (group.state() != rpc::PlacementGroupInfo::CREATED && group.state() != rpc::PlacementGroupInfo::REMOVED) {
      waiting.push_back(&group);
    }
  }
  printf("\nPlacement groups: %d created, %zu waiting\n", created, waiting.size());
  for (const rpc::PlacementGroupInfo* group : waiting) {
    std::string id = PlacementGroupId::FromBinary(group->placement_group_id()).value_or(PlacementGroupId()).Hex();
    printf("  %s%s %s %s: %s\n", id.c_str(), group->name().empty() ? "" : (" '" + group->name() + "'").c_str(),
           rpc::PlacementStrategy_Name(group->strategy()).c_str(),
           rpc::PlacementGroupInfo::State_Name(group->state()).c_str(),
           group->pending_reason().empty() ? "being placed" : group->pending_reason().c_str());
  }
}

int RunStatus(const ClusterFlags& flags) {
  auto cluster = ConnectToCluster(flags);
  if (!cluster.ok()) return Fail("status", std::string(cluster.status().message()));
  rpc::CallOptions options;
  options.timeout_ms = 5000;
  auto status = cluster->gcs->client().CallSync(&rpc::GcsService::Stub::async::GetClusterStatus,
                                                rpc::GetClusterStatusRequest(), options);
  if (!status.ok()) return Fail("status", DescribeCallError(status.status(), cluster->address));

  absl::flat_hash_map<std::string, const rpc::NodeResourceUsage*> usage;
  for (const auto& u : status->usage()) usage[u.node_id()] = &u;
  int alive = 0, dead = 0;
  for (const auto& node : status->nodes()) (node.state() == rpc::NodeInfo::ALIVE ? alive : dead)++;

  printf("Orrery cluster at %s (version %s, up %s)\n", cluster->address.c_str(), status->version().c_str(),
         HumanDuration(status->now_ms() - status->start_time_ms()).c_str());
  printf("Nodes: %d alive, %d dead\n\n", alive, dead);
  printf("%-34s %-22s %-6s %s\n", "NODE", "ADDRESS", "STATE", "RESOURCES (used/total)");
  std::map<ResourceSet, std::pair<int64_t, bool>> demand;
  for (const auto& node : status->nodes()) {
    std::string id = NodeId::FromBinary(node.node_id()).ok() ? NodeId::FromBinary(node.node_id())->Hex() : "?";
    std::string address = absl::StrCat(node.node_ip(), ":", node.node_manager_port());
    ResourceSet total = ResourceSet::FromProto(node.total_resources()).value_or(ResourceSet());
    std::string resources = "-";
    if (node.state() == rpc::NodeInfo::ALIVE) {
      auto it = usage.find(node.node_id());
      ResourceSet available =
          it == usage.end() ? total : ResourceSet::FromProto(it->second->available()).value_or(ResourceSet());
      resources = Usage(total, available);
      if (it != usage.end()) {
        resources += absl::StrCat("  workers ", it->second->num_workers(), ", leases ", it->second->num_leases(),
                                  "  store ", Bytes(it->second->object_store_used_bytes()), "/",
                                  Bytes(node.object_store_memory()), " in ", it->second->object_store_objects(),
                                  " objects");
        for (const auto& d : it->second->demands()) {
          auto shape = ResourceSet::FromProto(d.shape());
          if (!shape.ok()) continue;
          auto& [count, infeasible] = demand[*shape];
          count += d.count();
          infeasible = infeasible || d.infeasible();
        }
      }
    } else {
      resources = "died: " + node.death_reason();
    }
    printf("%-34s %-22s %-6s %s\n", id.c_str(), address.c_str(),
           node.state() == rpc::NodeInfo::ALIVE ? "ALIVE" : "DEAD", resources.c_str());
  }
  printf("\nPending demand:\n");
  if (demand.empty()) printf("  (none)\n");
  for (const auto& [shape, entry] : demand) {
    printf("  %s: %lld pending%s\n", shape.ToString().c_str(), static_cast<long long>(entry.first),
           entry.second ? " (infeasible: no node has these resources)" : "");
  }
  PrintPlacementGroups(cluster->gcs->client().channel(), cluster->options);
  return 0;
}

}  // namespace

std::string HumanDuration(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m ", s % 60, "s");
  return absl::StrCat(s / 3600, "h ", (s % 3600) / 60, "m");
}

void AddStatusCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ClusterFlags>();
  CLI::App* status = app.add_subcommand("status", "Show the nodes, their resources and the pending demand");
  AddClusterFlags(*status, *flags);
  status->callback([flags, &exit_code] { exit_code = RunStatus(*flags); });
}

}  // namespace orrery::cli
