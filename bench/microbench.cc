// orrery-microbench: starts its own local cluster and prints one JSON object per line,
// {"name", "value", "unit"}, with Ray's metric names where the definition matches (see
// README.md here). Measured, never asserted.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "actor_bench.h"
#include "dashboard_api_bench.h"
#include "floor_bench.h"
#include "gcs_restart_bench.h"
#include "multi_node_bench.h"
#include "grpc_floor.h"
#include "metrics_bench.h"
#include "object_store_bench.h"
#include "orrery/api.h"
#include "placement_group_bench.h"
#include "reconstruction_bench.h"
#include "task_events_bench.h"
#include "tls_bench.h"
#include "rate.h"

namespace {

int NoOp() { return 0; }
ORRERY_REMOTE(NoOp);

using orrery::bench::Wanted;

// One decimal, or three below 100 (seconds, GB/s and ratios near 1 need them).
void Report(const std::string& name, double value, const std::string& unit) {
  std::printf("{\"name\": \"%s\", \"value\": %.*f, \"unit\": \"%s\"}\n", name.c_str(), std::abs(value) < 100 ? 3 : 1,
              value, unit.c_str());
  std::fflush(stdout);
}

// Runs `body` (which does `ops` operations) `repeats` times; reports the best rate.
template <typename Body>
void Rate(const std::string& name, int ops, int repeats, Body body) {
  if (!Wanted({name})) return;
  Report(name, orrery::bench::BestRate(ops, repeats, body), "ops/s");
}

// Every value through the store, on a store whose pages are touched at start.
void MeasureOnPrefaultedStore() {
  orrery::Config store_config;
  store_config.head_args = {"--num-cpus", "2", "--object-store-memory", std::to_string(2LL << 30),
                            "--object-store-prefault"};
  store_config.max_inline_object_bytes = 0;
  orrery::Init(store_config);
  orrery::bench::MeasureStoreCalls(Report);
  orrery::Shutdown();
}

}  // namespace

int main(int argc, char** argv) {
  // Before Init(): the echo server is forked while this process has no threads. (In a worker
  // process Init() never returns, so workers never get here.)
  orrery::internal::ServeIfWorker();
  orrery::bench::EchoServer echo = orrery::bench::StartEchoServer();
  orrery::bench::ForkFloor fork_floor = orrery::bench::StartForkFloor();
  orrery::Config config;
  // "custom" as Ray's placement-group benchmark has it (ray.init(resources={"custom": 100})).
  config.head_args = {"--num-cpus", "2", "--object-store-memory", std::to_string(4LL << 30),
                      "--resources", "{\"custom\": 100}"};
  orrery::Init(config, argc, argv);

  // Warm up: the first tasks start workers.
  for (int i = 0; i < 200; ++i) orrery::Get(orrery::Task(NoOp).Remote());

  orrery::bench::MeasureAgainstFloors(echo.port, fork_floor, Report);
  Rate("single_client_put_calls", 100'000, 3, [] {
    for (int i = 0; i < 100'000; ++i) orrery::Put(i);
  });
  {
    auto ref = orrery::Put(7);
    Rate("single_client_get_calls", 100'000, 3, [&] {
      for (int i = 0; i < 100'000; ++i) orrery::Get(ref);
    });
  }
  {
    std::vector<orrery::ObjectRef<int>> refs;
    for (int i = 0; i < 1000; ++i) refs.push_back(orrery::Put(i));
    Rate("single_client_wait_1k_refs", 1, 5, [&] { orrery::Wait(refs, 1000, -1); });
  }
  orrery::bench::MeasureActors(Report);
  // Ray's definition: 100 groups of one {custom: 0.001} bundle created, awaited, removed.
  if (Wanted({"placement_group_create_removal"})) {
    Report("placement_group_create_removal", orrery::bench::PlacementGroupCreateRemovalRate(), "ops/s");
  }
  if (Wanted({"single_client_put_gigabytes_cold", "single_client_put_gigabytes", "single_client_get_gigabytes",
              "single_client_get_view_1gib_us", "multi_client_put_gigabytes"})) {
    orrery::bench::MeasureLargeObjects(Report);
  }
  orrery::Shutdown();

  if (Wanted({"single_client_put_gigabytes_prefault", "single_client_put_calls_Plasma_Store",
              "single_client_get_calls_Plasma_Store"})) {
    MeasureOnPrefaultedStore();
  }
  if (Wanted({"_tls", "_plain", "tls_over_plain"})) orrery::bench::MeasureTlsCost(Report);
  if (Wanted({"metrics_"})) orrery::bench::MeasureMetricsCost(Report);
  if (Wanted({"events_o", "task_events_"})) orrery::bench::MeasureTaskEventsCost(Report);
  if (Wanted({"dashboard_api_"})) orrery::bench::MeasureDashboardApi(Report);
  if (Wanted({"multi_node_tasks_async", "tcp_loopback_gigabytes", "object_transfer_gigabytes",
              "object_transfer_1gib_s", "broadcast_1gib_4_nodes_s"})) {
    orrery::bench::MeasureMultiNode(Report);
  }
  orrery::bench::MeasureReconstruction(Report);
  orrery::bench::MeasureGcsRestart(Report);
  orrery::bench::MeasureGcsStorageCost(Report);
  if (Wanted({"memcpy_fresh_gigabytes", "memcpy_touched_gigabytes"})) orrery::bench::MeasureMemcpy(Report);
  if (echo.port != 0 && Wanted({"grpc_stream_pingpong", "grpc_stream_pipelined"})) {
    orrery::bench::MeasureGrpcStreams(echo.port, Report);
  }
  orrery::bench::StopForkFloor(fork_floor);
  orrery::bench::StopEchoServer(echo);
  return 0;
}
