#include "tls_bench.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "actor_bench.h"
#include "cli.h"
#include "comparison.h"
#include "orrery/api.h"

namespace orrery::bench {

namespace {

constexpr int kRounds = 3;

struct SyncFigures {
  std::vector<double> tasks;
  std::vector<double> actor_calls;
  std::vector<double> cross_node_actor_calls;
};

// The figures on a new cluster with TLS on or off: a head whose raylet the driver uses, and a
// raylet of one CPU joined under another temp root, as from another host (with the printed join
// line: on a TLS cluster it has a certificate of its own). The tasks, one at a time, stay on the
// driver's node (its utilization stays below the spread threshold); each actor is pinned.
void MeasureOnCluster(bool tls, SyncFigures& figures) {
  char root[] = "/tmp/ob-tls-XXXXXX";
  char far_root[] = "/tmp/ob-far-XXXXXX";
  if (mkdtemp(root) == nullptr || mkdtemp(far_root) == nullptr) return;
  std::string common = " --num-cpus 2 --node-ip-address 127.0.0.1 --tls=" + std::string(tls ? "on" : "off");
  CliHead head = StartHead(common + " --temp-dir " + root);
  std::string ca_hash = Match(head.output, "--ca-hash (sha256:[0-9a-f]{64})");
  std::string joined = Cli(head.Join("--num-cpus 1 --node-ip-address 127.0.0.1 --temp-dir " + std::string(far_root) +
                                     (tls ? " --ca-hash " + ca_hash : "")));
  std::string far_node = Match(joined, "node ([0-9a-f]{32})");
  if (head.started() && !far_node.empty()) {
    orrery::Config config;
    config.address = head.address;
    config.token = head.token;
    config.temp_dir = root;
    config.tls = tls;
    orrery::Init(config);
    figures.tasks.push_back(SyncTaskRate());
    figures.actor_calls.push_back(SyncActorCallRate(orrery::GetNodeId()));
    figures.cross_node_actor_calls.push_back(SyncActorCallRate(far_node));
    orrery::Shutdown();
  } else {
    std::fprintf(stderr, "tls figures: the cluster did not start:\n%s\n%s\n", head.output.c_str(), joined.c_str());
  }
  Cli(std::string("stop --temp-dir ") + far_root);
  Cli(std::string("stop --temp-dir ") + root);
  std::filesystem::remove_all(far_root);
  std::filesystem::remove_all(root);
}

}  // namespace

void MeasureTlsCost(const Reporter& report) {
  SyncFigures plain, tls;
  MeasureAlternately(kRounds, [&](bool on) { MeasureOnCluster(on, on ? tls : plain); });
  if (plain.tasks.empty() || tls.tasks.empty()) return;
  ReportComparison(report, "single_client_tasks_sync", "tls_over_plain_tasks_sync", "plain", plain.tasks, "tls",
                   tls.tasks, "ops/s");
  ReportComparison(report, "1_1_actor_calls_sync", "tls_over_plain_actor_calls_sync", "plain", plain.actor_calls, "tls",
                   tls.actor_calls, "calls/s");
  ReportComparison(report, "1_1_actor_calls_sync_cross_node", "tls_over_plain_actor_calls_sync_cross_node", "plain",
                   plain.cross_node_actor_calls, "tls", tls.cross_node_actor_calls, "calls/s");
}

}  // namespace orrery::bench
