// `orrery memory`: what holds memory in the cluster, node by node: each object store's usage
// and objects, and the references each driver and worker holds (why, and where the value
// lies), from every alive raylet (memory_rows.h formats it).
#include <cstdio>
#include <memory>

#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/state/memory_rows.h"
#include "src/state/state_sources.h"

namespace orrery::cli {

using state::AliveRaylets;
using state::FetchNodeMemory;
using state::FormatMemoryReport;
using state::MemoryReportJson;
using state::NodeMemory;
using state::SelectRaylets;

namespace {

// Enough to read on a terminal; a process or store that holds more says how many it left out.
constexpr int64_t kDefaultMemoryRows = 100;

struct MemoryFlags {
  ClusterFlags cluster;
  std::string node;
  std::string format = "table";
  int64_t limit = kDefaultMemoryRows;
};

int RunMemory(const MemoryFlags& flags) {
  const std::string verb = "memory";
  auto cluster = ConnectToCluster(flags.cluster);
  if (!cluster.ok()) return Fail(verb, std::string(cluster.status().message()));
  auto raylets = AliveRaylets(*cluster);
  if (!raylets.ok()) return Fail(verb, std::string(raylets.status().message()));
  auto selected = SelectRaylets(std::move(*raylets), flags.node);
  if (!selected.ok()) return Fail(verb, "--node: " + std::string(selected.status().message()));

  std::vector<std::string> warnings;
  std::vector<NodeMemory> nodes = FetchNodeMemory(*cluster, *selected, flags.limit, warnings);
  for (const std::string& warning : warnings) fprintf(stderr, "%s\n", warning.c_str());
  if (flags.format == "json") {
    printf("%s\n", MemoryReportJson(nodes).dump(2).c_str());
  } else {
    fputs(FormatMemoryReport(nodes).c_str(), stdout);
  }
  return 0;
}

}  // namespace

void AddMemoryCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<MemoryFlags>();
  CLI::App* memory = app.add_subcommand(
      "memory", "Show each node's object store and the object references each driver and worker holds");
  memory->add_option("--node", flags->node, "Only this node (its id, or the start of it)");
  memory->add_option("--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  memory
      ->add_option("--limit", flags->limit, "At most this many references per process and objects per store (0: 10000)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  AddClusterFlags(*memory, flags->cluster);
  memory->footer("Example: orrery memory --node 6fb4 --limit 20");
  memory->callback([flags, &exit_code] { exit_code = RunMemory(*flags); });
}

}  // namespace orrery::cli
