// `orrery status`: the nodes of a cluster, their resources, and what is waiting for resources
// (tasks and actors by shape, placement groups with why); once, or again and again (--watch).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/placement_group.grpc.pb.h"
#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/common/id.h"
#include "src/common/placement_group.h"
#include "src/common/resource_set.h"
#include "src/rpc/process_tls.h"
#include "src/state/format.h"

namespace orrery::cli {

using state::HumanBytes;
using state::HumanDuration;
using state::ResourceUsage;

namespace {

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

// "[#######.............]  35%": a share as a bar of fixed width.
std::string Bar(double used, double total) {
  constexpr int kWidth = 20;
  double share = total > 0 ? std::clamp(used / total, 0.0, 1.0) : 0.0;
  int filled = static_cast<int>(share * kWidth + 0.5);
  return absl::StrFormat("[%s%s] %3d%%", std::string(filled, '#'), std::string(kWidth - filled, '.'),
                         static_cast<int>(share * 100 + 0.5));
}

// Under a node's row: a bar for each of its resources in use, and one for its object store.
void PrintBars(const ResourceSet& total, const rpc::NodeResourceUsage* usage, int64_t store_bytes) {
  ResourceSet available = usage == nullptr ? total : ResourceSet::FromProto(usage->available()).value_or(total);
  for (const auto& [name, amount] : total.quantities()) {
    double used = (amount - available.Get(name)).ToDouble();
    std::string bytes;  // Ray's byte resources ("memory", "object_store_memory"), readable
    if (IsByteResource(name)) {
      bytes = "  " + HumanBytes(static_cast<uint64_t>(std::max(0.0, used))) + "/" +
              HumanBytes(static_cast<uint64_t>(amount.ToDouble()));
    }
    printf("    %-12s %s%s\n", name.c_str(), Bar(used, amount.ToDouble()).c_str(), bytes.c_str());
  }
  double store_used = usage == nullptr ? 0 : static_cast<double>(usage->object_store_used_bytes());
  printf("    %-12s %s\n", "object store", Bar(store_used, static_cast<double>(store_bytes)).c_str());
  // The host's memory as the node's memory monitor reads it (none when it is off).
  if (usage != nullptr && usage->memory_total_bytes() > 0) {
    std::string bar =
        Bar(static_cast<double>(usage->memory_used_bytes()), static_cast<double>(usage->memory_total_bytes()));
    printf("    %-12s %s  %s/%s, %lld OOM kill%s\n", "host memory", bar.c_str(),
           HumanBytes(usage->memory_used_bytes()).c_str(), HumanBytes(usage->memory_total_bytes()).c_str(),
           static_cast<long long>(usage->oom_kills()), usage->oom_kills() == 1 ? "" : "s");
  }
}

// How `orrery status` repeats itself: every `every_s` seconds (0: once), `count` times (0: until
// interrupted).
struct WatchFlags {
  double every_s = 0;
  int count = 0;
};

int PrintStatus(const ClusterConnection& cluster);

int RunStatus(const ClusterFlags& flags, const WatchFlags& watch) {
  auto cluster = ConnectToCluster(flags);
  if (!cluster.ok()) return Fail("status", std::string(cluster.status().message()));
  if (watch.every_s <= 0) return PrintStatus(*cluster);
  // On a terminal each report replaces the last; otherwise they follow one another, each under
  // the time it was taken. A report that fails (the head restarting) says why, and the watch goes on.
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  int exit_code = 0;
  for (int shown = 0; watch.count == 0 || shown < watch.count; ++shown) {
    if (shown > 0) std::this_thread::sleep_for(std::chrono::duration<double>(watch.every_s));
    if (terminal) printf("\033[H\033[2J");
    printf("%s(every %gs: %s)\n", terminal ? "" : (shown > 0 ? "\n" : ""), watch.every_s,
           absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::Now(), absl::LocalTimeZone()).c_str());
    exit_code = PrintStatus(*cluster);
    fflush(stdout);
  }
  return exit_code;
}

int PrintStatus(const ClusterConnection& cluster) {
  rpc::CallOptions options;
  options.timeout_ms = 5000;
  auto status = cluster.gcs->client().CallSync(&rpc::GcsService::Stub::async::GetClusterStatus,
                                                rpc::GetClusterStatusRequest(), options);
  if (!status.ok()) return Fail("status", DescribeCallError(status.status(), cluster.address));

  absl::flat_hash_map<std::string, const rpc::NodeResourceUsage*> usage;
  for (const auto& u : status->usage()) usage[u.node_id()] = &u;
  int alive = 0, dead = 0;
  for (const auto& node : status->nodes()) (node.state() == rpc::NodeInfo::ALIVE ? alive : dead)++;

  printf("Orrery cluster at %s (version %s, up %s)\n", cluster.address.c_str(), status->version().c_str(),
         HumanDuration(status->now_ms() - status->start_time_ms()).c_str());
  printf("Nodes: %d alive, %d dead\n", alive, dead);
  // A cluster with TLS on serves /metrics over HTTPS only.
  const char* scheme = rpc::ProcessTls() != nullptr ? "https" : "http";
  if (status->metrics_port() > 0) {
    printf("Metrics: %s://%s:%d/metrics (GCS); each node's below; Prometheus targets: orrery metrics targets\n",
           scheme, cluster.address.substr(0, cluster.address.rfind(':')).c_str(), status->metrics_port());
  }
  if (status->dashboard_port() > 0) {
    printf("Dashboard: %s://%s:%d/ (a login link: orrery dashboard)\n", status->https() ? "https" : "http",
           cluster.address.substr(0, cluster.address.rfind(':')).c_str(), status->dashboard_port());
  }
  printf("\n");
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
      resources = ResourceUsage(total, available, "  ");
      if (it != usage.end()) {
        resources +=
            absl::StrCat("  workers ", it->second->num_workers(), ", leases ", it->second->num_leases(), "  store ",
                         HumanBytes(it->second->object_store_used_bytes()), "/", HumanBytes(node.object_store_memory()),
                         " in ", it->second->object_store_objects(), " objects");
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
    if (node.state() == rpc::NodeInfo::ALIVE) {
      auto it = usage.find(node.node_id());
      PrintBars(total, it == usage.end() ? nullptr : it->second, node.object_store_memory());
      if (node.metrics_port() > 0) {
        printf("    %-12s %s://%s:%d/metrics\n", "metrics", scheme, node.node_ip().c_str(), node.metrics_port());
      }
    }
  }
  printf("\nPending demand:\n");
  if (demand.empty()) printf("  (none)\n");
  for (const auto& [shape, entry] : demand) {
    printf("  %s: %lld pending%s\n", shape.ToString().c_str(), static_cast<long long>(entry.first),
           entry.second ? " (infeasible: no node has these resources)" : "");
  }
  PrintPlacementGroups(cluster.gcs->client().channel(), cluster.options);
  return 0;
}

}  // namespace

void AddStatusCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<ClusterFlags>();
  CLI::App* status = app.add_subcommand("status", "Show the nodes, their resources and the pending demand");
  AddClusterFlags(*status, *flags);
  auto watch = std::make_shared<WatchFlags>();
  status->add_option("--watch", watch->every_s, "Show it again every SECONDS, until interrupted (or --count times)")
      ->check(CLI::PositiveNumber);
  status->add_option("--count", watch->count, "With --watch: stop after showing it this many times")
      ->check(CLI::PositiveNumber);
  status->callback([flags, watch, &exit_code] { exit_code = RunStatus(*flags, *watch); });
}

}  // namespace orrery::cli
