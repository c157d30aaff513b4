#include "metrics_bench.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "actor_bench.h"
#include "comparison.h"
#include "orrery/api.h"
#include "orrery/metrics.h"
#include "rate.h"
#include "scratch_cluster.h"

namespace orrery::bench {

namespace {

constexpr int kRounds = 5;
constexpr int kScrapedWorkers = 50;
constexpr int kScrapes = 200;

// An actor in a worker process of its own that has recorded a metric of its own.
class Reporting {
 public:
  static Reporting* Create(int index) { return new Reporting(index); }
  explicit Reporting(int index) {
    orrery::metrics::Counter("bench_calls", "Calls of the metrics benchmark's actors", {"actor"})
        .Inc(1, {{"actor", std::to_string(index)}});
  }
  int Ping() { return 1; }
};
ORRERY_REMOTE(Reporting::Create, &Reporting::Ping);

struct Figures {
  std::vector<double> tasks_async;
  std::vector<double> actor_calls_sync;
};

void MeasureOnCluster(bool metrics, Figures& figures) {
  // The daemons the CLI starts read their settings from ORRERY_ variables too.
  setenv("ORRERY_METRICS", metrics ? "true" : "false", 1);
  ScratchCluster cluster("metrics figures", "--num-cpus 2 --node-ip-address 127.0.0.1");
  unsetenv("ORRERY_METRICS");
  if (!cluster.Connect()) return;
  figures.tasks_async.push_back(AsyncTaskRate());
  figures.actor_calls_sync.push_back(SyncActorCallRate());
  orrery::Shutdown();
}

// One scrape of the raylet, as Prometheus makes it: HTTPS (TLS is on, by default) on a new
// connection, trusting the cluster CA. The body, empty when it failed.
std::string Scrape(const ScratchCluster& cluster, const std::string& target) {
  auto reply = cluster.Fetch(target, http::HttpCall{"GET", "/metrics"});
  if (!reply.ok() || reply->status != 200) {
    std::fprintf(stderr, "metrics figures: scraping %s: %s\n", target.c_str(),
                 reply.ok() ? std::to_string(reply->status).c_str() : reply.status().ToString().c_str());
    return "";
  }
  return reply->body;
}

void MeasureScrape(const Reporter& report) {
  // Each worker reports every 200 ms, so that all 50 have before the scrapes.
  setenv("ORRERY_METRICS_REPORT_INTERVAL_MS", "200", 1);
  ScratchCluster cluster("metrics figures", "--num-cpus 2 --node-ip-address 127.0.0.1");
  unsetenv("ORRERY_METRICS_REPORT_INTERVAL_MS");
  if (!cluster.Connect()) return;
  std::string target = cluster.RayletTarget();
  std::vector<orrery::ActorHandle<Reporting>> actors;
  for (int i = 0; i < kScrapedWorkers; ++i) actors.push_back(orrery::Actor(Reporting::Create).Remote(i));
  for (const auto& actor : actors) orrery::Get(actor.Task(&Reporting::Ping).Remote());
  // Every actor's own metric is served once its report has arrived.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body = Scrape(cluster, target);
    size_t reported = 0;
    for (size_t at = 0; (at = body.find("\nbench_calls_total{", at)) != std::string::npos; ++at) ++reported;
    if (reported >= kScrapedWorkers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<double> millis;
  for (int i = 0; i < kScrapes && !body.empty(); ++i) {
    auto start = Clock::now();
    body = Scrape(cluster, target);
    millis.push_back(Seconds(Clock::now() - start) * 1e3);
  }
  for (const auto& actor : actors) actor.Kill();
  orrery::Shutdown();
  if (millis.empty()) return;
  std::sort(millis.begin(), millis.end());
  report("metrics_scrape_50_workers_p50_ms", millis[millis.size() / 2], "ms");
  report("metrics_scrape_50_workers_p99_ms", millis[millis.size() * 99 / 100], "ms");
  report("metrics_scrape_bytes", static_cast<double>(body.size()), "bytes");
}

}  // namespace

void MeasureMetricsCost(const Reporter& report) {
  Figures off, on;
  MeasureAlternately(kRounds, [&](bool metrics) { MeasureOnCluster(metrics, metrics ? on : off); });
  if (!off.tasks_async.empty() && !on.tasks_async.empty()) {
    ReportComparison(report, "single_client_tasks_async", "metrics_on_over_off_tasks_async", "metrics_off",
                     off.tasks_async, "metrics_on", on.tasks_async, "ops/s");
    ReportComparison(report, "1_1_actor_calls_sync", "metrics_on_over_off_actor_calls_sync", "metrics_off",
                     off.actor_calls_sync, "metrics_on", on.actor_calls_sync, "calls/s");
  }
  MeasureScrape(report);
}

}  // namespace orrery::bench
