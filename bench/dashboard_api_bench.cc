#include "dashboard_api_bench.h"

#include <stdio.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"
#include "orrery/api.h"
#include "rate.h"
#include "scratch_cluster.h"

namespace orrery::bench {

namespace {

constexpr int kTasks = 10'000;
constexpr int kFailEvery = 10;  // 1,000 failures, the tasks page's limit
constexpr int kBatch = 1'000;
constexpr int kReads = 5;
constexpr int kEventWaitSeconds = 30;

int DashboardBenchTask(int index) {
  if (index % kFailEvery == 0) throw std::runtime_error("failure " + std::to_string(index) + " of the dashboard bench");
  return index;
}
ORRERY_REMOTE(DashboardBenchTask);

struct Read {
  const char* figure;  // dashboard_api_<figure>_...
  const char* path;
};

constexpr Read kReadsOfPages[] = {
    {"floor", "/api/v0/cluster"},
    {"tasks_failed", "/api/v0/tasks?state=FAILED&limit=1000"},
    {"task_summary", "/api/v0/tasks/summary"},
    {"timeline", "/api/v0/timeline"},
    {"actors", "/api/v0/actors"},
    {"nodes", "/api/v0/nodes"},
    {"objects", "/api/v0/objects?limit=1000"},
};

class DashboardClient {
 public:
  explicit DashboardClient(const ScratchCluster& cluster) : cluster_(cluster) {}

  // The answer's body, empty (and why, on stderr) when there is none or it is not a 200.
  std::string Get(const std::string& path) const {
    http::HttpCall call{"GET", path, {{"Authorization", "Bearer " + cluster_.head().token}}};
    auto reply = cluster_.Fetch(cluster_.head().dashboard, call);
    if (!reply.ok() || reply->status != 200) {
      fprintf(stderr, "dashboard figures: GET %s: %s\n", path.c_str(),
              reply.ok() ? (std::to_string(reply->status) + " " + reply->body).c_str()
                         : reply.status().ToString().c_str());
      return "";
    }
    return reply->body;
  }

 private:
  const ScratchCluster& cluster_;
};

// How many tasks the GCS has the last event of (FINISHED or FAILED), or -1 when the API did not
// answer.
int64_t TasksDone(const DashboardClient& dashboard) {
  nlohmann::json summary = nlohmann::json::parse(dashboard.Get("/api/v0/tasks/summary"), nullptr, false);
  if (!summary.is_array()) return -1;
  int64_t done = 0;
  for (const auto& row : summary) done += row.value("finished", 0) + row.value("failed", 0);
  return done;
}

// Runs the tasks, failures included, a batch at a time: each batch's events are in the GCS
// before the next starts. (A process buffers 10,000 events a second and drops the rest, counted;
// 10,000 tasks at once would leave the GCS without some of them.)
bool RunTasks(const DashboardClient& dashboard) {
  for (int first = 0; first < kTasks; first += kBatch) {
    std::vector<orrery::ObjectRef<int>> results;
    for (int i = first; i < first + kBatch; ++i) results.push_back(orrery::Task(DashboardBenchTask).Remote(i));
    for (const auto& result : results) {
      try {
        orrery::Get(result);
      } catch (const std::exception&) {
        // the failures the tasks page lists
      }
    }
    int64_t done = 0;
    for (int waited = 0; (done = TasksDone(dashboard)) < first + kBatch; ++waited) {
      if (waited == kEventWaitSeconds * 10) {
        fprintf(stderr, "dashboard figures: after %d tasks the GCS has the events of %lld done within %d s\n",
                first + kBatch, static_cast<long long>(done), kEventWaitSeconds);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return true;
}

}  // namespace

void MeasureDashboardApi(const Reporter& report) {
  ScratchCluster cluster("dashboard figures", "--num-cpus 2 --node-ip-address 127.0.0.1");
  if (!cluster.Connect()) return;
  DashboardClient dashboard(cluster);
  if (cluster.head().dashboard.empty()) {
    fprintf(stderr, "dashboard figures: the head printed no dashboard address:\n%s\n", cluster.head().output.c_str());
  } else {
    if (RunTasks(dashboard)) {
      constexpr size_t kCount = std::size(kReadsOfPages);
      std::vector<std::vector<double>> millis(kCount);
      std::vector<size_t> bytes(kCount);
      // In turn, so that a slow spell of the machine falls on every read alike.
      for (int round = 0; round < kReads; ++round) {
        for (size_t i = 0; i < kCount; ++i) {
          auto start = Clock::now();
          bytes[i] = dashboard.Get(kReadsOfPages[i].path).size();
          millis[i].push_back(Seconds(Clock::now() - start) * 1e3);
        }
      }
      for (size_t i = 0; i < kCount; ++i) {
        const std::string name = std::string("dashboard_api_") + kReadsOfPages[i].figure;
        report(name + "_p50_ms", Median(millis[i]), "ms");
        report(name + "_max_ms", *std::max_element(millis[i].begin(), millis[i].end()), "ms");
        report(name + "_bytes", static_cast<double>(bytes[i]), "bytes");
      }
    }
  }
  orrery::Shutdown();
}

}  // namespace orrery::bench
