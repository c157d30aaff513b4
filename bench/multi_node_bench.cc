#include "multi_node_bench.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli.h"
#include "orrery/api.h"
#include "orrery/object_view.h"
#include "rate.h"
#include "tcp_floor.h"

namespace {

int ClusterNoOp() { return 0; }
std::vector<uint8_t> MakeBytes(int64_t size) { return std::vector<uint8_t>(size, 7); }
// Reads the object behind the (nested, so not resolved before the call) ref in place: the
// transfer to this node and no copy beyond it.
int64_t ViewSize(std::vector<orrery::ObjectRef<std::vector<uint8_t>>> refs) {
  return static_cast<int64_t>(orrery::GetView(refs[0]).size());
}
ORRERY_REMOTE(ClusterNoOp, MakeBytes, ViewSize);

constexpr int64_t kGiB = 1LL << 30;

using orrery::bench::Cli;
using orrery::bench::SubmitAndGet;

// Node `n` of the cluster has the custom resource "n<n>": work is pinned to it by asking for it.
std::string NodeResources(int n) { return " --resources '{\"n" + std::to_string(n) + "\": 1}'"; }
std::string OnNode(int n) { return "n" + std::to_string(n); }

// A fresh 1 GiB object made on node 1 (so no other node has a copy yet).
orrery::ObjectRef<std::vector<uint8_t>> FreshObjectOnNode1() {
  auto made = orrery::Task(MakeBytes).SetResource(OnNode(1), 1).Remote(kGiB);
  orrery::Wait(std::vector<orrery::ObjectRef<std::vector<uint8_t>>>{made}, 1, -1);
  return made;
}

// Seconds until every node in `readers` has read a fresh object from node 1.
double SecondsToReach(const std::vector<int>& readers) {
  auto object = FreshObjectOnNode1();
  auto start = orrery::bench::Clock::now();
  std::vector<orrery::ObjectRef<int64_t>> reads;
  for (int node : readers) {
    reads.push_back(orrery::Task(ViewSize).SetResource(OnNode(node), 1).Remote(std::vector{object}));
  }
  orrery::Get(reads);
  return orrery::bench::Seconds(orrery::bench::Clock::now() - start);
}

void MeasureTransfers(const std::string& join, const orrery::bench::Reporter& report) {
  Cli(join + NodeResources(3));
  Cli(join + NodeResources(4));
  SecondsToReach({0, 2, 3, 4});  // workers start on every node
  double single = 1e9;
  for (int r = 0; r < 3; ++r) single = std::min(single, SecondsToReach({2}));
  double broadcast = 1e9;
  for (int r = 0; r < 2; ++r) broadcast = std::min(broadcast, SecondsToReach({0, 2, 3, 4}));
  report("tcp_loopback_gigabytes", orrery::bench::TcpLoopbackGigabytes(kGiB, 3), "GB/s");
  report("object_transfer_gigabytes", static_cast<double>(kGiB) / 1e9 / single, "GB/s");
  report("object_transfer_1gib_s", single, "s");
  report("broadcast_1gib_4_nodes_s", broadcast, "s");
}

}  // namespace

namespace orrery::bench {

void SubmitAndGet(int count) {
  std::vector<orrery::ObjectRef<int>> refs;
  refs.reserve(count);
  for (int i = 0; i < count; ++i) refs.push_back(orrery::Task(ClusterNoOp).Remote());
  orrery::Get(refs);
}

void MeasureMultiNode(const Reporter& report) {
  char root[] = "/tmp/ob-XXXXXX";
  if (mkdtemp(root) == nullptr) return;
  // Stores sized so that five of them hold a 1 GiB object each with room to spare.
  std::string common = std::string(" --temp-dir ") + root +
                       " --num-cpus 1 --node-ip-address 127.0.0.1 --object-store-memory " +
                       std::to_string(3 * kGiB / 2);
  orrery::bench::CliHead head = orrery::bench::StartHead(common + NodeResources(0));
  if (head.started()) {
    std::string join = head.Join(common);
    Cli(join + NodeResources(1));
    Cli(join + NodeResources(2));
    orrery::Config config;
    config.address = head.address;
    config.token = head.token;
    config.temp_dir = root;
    orrery::Init(config);
    if (Wanted({"multi_node_tasks_async"})) {
      SubmitAndGet(1000);  // workers start on every node
      report("multi_node_tasks_async", BestRate(1000, 5, [] { SubmitAndGet(1000); }), "tasks/s");
    }
    if (Wanted({"tcp_loopback_gigabytes", "object_transfer_gigabytes", "object_transfer_1gib_s",
                "broadcast_1gib_4_nodes_s"})) {
      MeasureTransfers(join, report);
    }
    orrery::Shutdown();
  } else {
    std::fprintf(stderr, "multi_node_tasks_async: could not start a head:\n%s\n", head.output.c_str());
  }
  Cli(std::string("stop --temp-dir ") + root);
  std::filesystem::remove_all(root);
}

}  // namespace orrery::bench
