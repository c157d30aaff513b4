#include "metrics_bench.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "actor_bench.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "cli.h"
#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "orrery/metrics.h"
#include "rate.h"

namespace orrery::bench {

namespace {

constexpr int kRounds = 3;
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

// A cluster of its own under a new temp root, stopped and removed when it goes.
class ScratchCluster {
 public:
  explicit ScratchCluster(const std::string& flags) {
    char root[] = "/tmp/ob-metrics-XXXXXX";
    if (mkdtemp(root) == nullptr) return;
    root_ = root;
    head_ = StartHead(flags + " --temp-dir " + root_);
  }
  ~ScratchCluster() {
    if (root_.empty()) return;
    Cli("stop --temp-dir " + root_);
    std::filesystem::remove_all(root_);
  }
  bool Connect() {
    if (!head_.started()) {
      std::fprintf(stderr, "metrics figures: the cluster did not start:\n%s\n", head_.output.c_str());
      return false;
    }
    orrery::Config config;
    config.address = head_.address;
    config.token = head_.token;
    config.temp_dir = root_;
    orrery::Init(config);
    return true;
  }
  // The raylet's /metrics address, from the targets the head keeps.
  std::string RayletTarget() const {
    nlohmann::json groups = nlohmann::json::parse(Cli("metrics targets --temp-dir " + root_), nullptr, false);
    if (!groups.is_array()) return "";
    for (const auto& group : groups) {
      if (group["labels"].value("component", "gcs") != "gcs") return group["targets"][0].get<std::string>();
    }
    return "";
  }

 private:
  std::string root_;
  CliHead head_;
};

// One GET of `path` from `target` ("HOST:PORT") on a new connection, as a scraper makes it:
// the body, empty on any failure.
std::string HttpGet(const std::string& target, const std::string& path) {
  namespace http = boost::beast::http;
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    const size_t colon = target.rfind(':');
    stream.connect(resolver.resolve(target.substr(0, colon), target.substr(colon + 1)));
    http::request<http::empty_body> request(http::verb::get, path, 11);
    request.set(http::field::host, target);
    http::write(stream, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return response.result() == http::status::ok ? response.body() : "";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metrics figures: GET %s%s: %s\n", target.c_str(), path.c_str(), e.what());
    return "";
  }
}

struct Figures {
  std::vector<double> tasks_async;
  std::vector<double> actor_calls_sync;
};

void MeasureOnCluster(bool metrics, Figures& figures) {
  // The daemons the CLI starts read their settings from ORRERY_ variables too.
  setenv("ORRERY_METRICS", metrics ? "true" : "false", 1);
  ScratchCluster cluster("--num-cpus 2 --node-ip-address 127.0.0.1");
  unsetenv("ORRERY_METRICS");
  if (!cluster.Connect()) return;
  figures.tasks_async.push_back(AsyncTaskRate());
  figures.actor_calls_sync.push_back(SyncActorCallRate());
  orrery::Shutdown();
}

void MeasureScrape(const Reporter& report) {
  // Each worker reports every 200 ms, so that all 50 have before the scrapes.
  setenv("ORRERY_METRICS_REPORT_INTERVAL_MS", "200", 1);
  ScratchCluster cluster("--num-cpus 2 --node-ip-address 127.0.0.1");
  unsetenv("ORRERY_METRICS_REPORT_INTERVAL_MS");
  if (!cluster.Connect()) return;
  std::string target = cluster.RayletTarget();
  std::vector<orrery::ActorHandle<Reporting>> actors;
  for (int i = 0; i < kScrapedWorkers; ++i) actors.push_back(orrery::Actor(Reporting::Create).Remote(i));
  for (const auto& actor : actors) orrery::Get(actor.Task(&Reporting::Ping).Remote());
  // Every actor's own metric is served once its report has arrived.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body = HttpGet(target, "/metrics");
    size_t reported = 0;
    for (size_t at = 0; (at = body.find("\nbench_calls_total{", at)) != std::string::npos; ++at) ++reported;
    if (reported >= kScrapedWorkers) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<double> millis;
  for (int i = 0; i < kScrapes && !body.empty(); ++i) {
    auto start = Clock::now();
    body = HttpGet(target, "/metrics");
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
  // Alternating, so that a slow spell of the machine falls on both.
  for (int round = 0; round < kRounds; ++round) {
    MeasureOnCluster(false, off);
    MeasureOnCluster(true, on);
  }
  if (!off.tasks_async.empty() && !on.tasks_async.empty()) {
    auto report_pair = [&](const std::string& name, const std::string& ratio, const std::vector<double>& off_rates,
                           const std::vector<double>& on_rates, const char* unit) {
      double off_median = Median(off_rates), on_median = Median(on_rates);
      report(name + "_metrics_off", off_median, unit);
      report(name + "_metrics_on", on_median, unit);
      report(ratio, on_median / off_median, "ratio");
    };
    report_pair("single_client_tasks_async", "metrics_on_over_off_tasks_async", off.tasks_async, on.tasks_async,
                "ops/s");
    report_pair("1_1_actor_calls_sync", "metrics_on_over_off_actor_calls_sync", off.actor_calls_sync,
                on.actor_calls_sync, "calls/s");
  }
  MeasureScrape(report);
}

}  // namespace orrery::bench
