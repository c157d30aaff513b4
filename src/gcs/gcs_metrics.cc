#include "src/gcs/gcs_metrics.h"

#include <algorithm>
#include <map>

#include "google/protobuf/descriptor.h"
#include "spdlog/spdlog.h"
#include "src/common/file_util.h"
#include "src/metrics/targets.h"
#include "src/rpc/rpc_metrics.h"

namespace orrery::gcs {

namespace {

// Most functions named in the tasks gauge; the rest are summed under "other".
constexpr size_t kMaxTaskFunctions = 100;

// One sample per state of the enum (zeros included, so that a dashboard's series exist from the
// start), counting the states `each` visits.
template <typename ForEach>
metrics::Family CountByState(std::string name, std::string help, const google::protobuf::EnumDescriptor* states,
                             ForEach&& each) {
  std::map<int, int64_t> counts;
  for (int i = 0; i < states->value_count(); ++i) counts[states->value(i)->number()] = 0;
  each([&](int state) { ++counts[state]; });
  metrics::Family family{std::move(name), std::move(help), metrics::MetricType::kGauge, {}, {}};
  for (const auto& [state, count] : counts) {
    const google::protobuf::EnumValueDescriptor* value = states->FindValueByNumber(state);
    family.samples.push_back({{{"state", value != nullptr ? value->name() : std::to_string(state)}},
                              static_cast<double>(count)});
  }
  return family;
}

metrics::Family Gauge(std::string name, std::string help, double value) {
  return metrics::Family{std::move(name), std::move(help), metrics::MetricType::kGauge, {{{}, value}}, {}};
}

}  // namespace

GcsMetrics::GcsMetrics(Sources sources) : sources_(sources) {
  task_metrics_.ended = &registry_.AddCounter("orrery_tasks_ended_total",
                                              "Task attempts that ended, by function and final state (FINISHED or "
                                              "FAILED), as their events reach the GCS",
                                              {"function", "state"});
  task_metrics_.run_seconds = &registry_.AddHistogram(
      "orrery_task_run_seconds", "Time task attempts ran, from running to ended, by function", {"function"},
      metrics::LatencyBounds());
  task_metrics_.scheduling_seconds = &registry_.AddHistogram(
      "orrery_task_scheduling_latency_seconds",
      "Time from a task's submission to its attempt running (waiting for arguments, a lease and a worker)",
      {"function"}, metrics::LatencyBounds());
  sources_.loop.RunAndWait([this] { sources_.tasks.set_metrics(&task_metrics_); });
  registry_.AddCollector([this](std::vector<metrics::Family>& out) { Collect(out); });
}

absl::Status GcsMetrics::Serve(const std::string& host, int port, std::shared_ptr<const rpc::TlsConfig> tls,
                               const std::string& targets_file) {
  https_ = tls != nullptr;
  auto server = metrics::MetricsServer::Start(host, port, std::move(tls), [this] { return registry_.Render(); });
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  host_ = host;
  targets_file_ = targets_file;
  if (!targets_file_.empty()) {
    sources_.loop.RunAndWait([this] {
      sources_.nodes.AddNodeAddedListener([this](const rpc::NodeInfo&) { WriteTargets(); });
      sources_.nodes.AddNodeRemovedListener([this](const rpc::NodeInfo&) { WriteTargets(); });
      WriteTargets();
    });
  }
  return absl::OkStatus();
}

void GcsMetrics::WriteTargets() {
  std::string json = metrics::TargetsJson(host_, port(), sources_.nodes.AllNodes(), https_);
  absl::Status status = MakeDirs(targets_file_.substr(0, targets_file_.rfind('/')));
  if (status.ok()) status = WriteFileAtomic(targets_file_, json);
  if (!status.ok()) spdlog::warn("writing the Prometheus targets file: {}", status.message());
}

void GcsMetrics::Collect(std::vector<metrics::Family>& out) {
  // The tables belong to the loop: read them there.
  sources_.loop.RunAndWait([&] {
    const std::vector<rpc::NodeInfo> nodes = sources_.nodes.AllNodes();
    out.push_back(CountByState("orrery_gcs_nodes", "Nodes the GCS knows, by state", rpc::NodeInfo::State_descriptor(),
                               [&](auto count) {
                                 for (const rpc::NodeInfo& node : nodes) count(node.state());
                               }));
    out.push_back(CountByState("orrery_gcs_jobs", "Jobs the GCS keeps, by state", rpc::JobInfo::State_descriptor(),
                               [&](auto count) {
                                 sources_.jobs.ForEachJob([&](const rpc::JobInfo& job) { count(job.state()); });
                               }));
    out.push_back(CountByState(
        "orrery_gcs_actors", "Actors the GCS keeps, by state", rpc::ActorInfo::State_descriptor(), [&](auto count) {
          sources_.actors.ForEachActor([&](const rpc::ActorInfo& actor) { count(actor.state()); });
        }));
    out.push_back(CountByState("orrery_gcs_placement_groups", "Placement groups the GCS keeps, by state",
                               rpc::PlacementGroupInfo::State_descriptor(), [&](auto count) {
                                 sources_.groups.ForEachGroup(
                                     [&](const rpc::PlacementGroupInfo& group) { count(group.state()); });
                               }));
    // Tasks by state and function, from the attempts the GCS keeps (task_events_per_job a job).
    std::map<std::string, std::map<int, int64_t>> by_function;
    sources_.tasks.ForEachAttempt(
        [&](const rpc::TaskAttempt& attempt) { ++by_function[attempt.function_name()][attempt.state()]; });
    std::vector<std::pair<int64_t, std::string>> totals;
    for (const auto& [function, states] : by_function) {
      int64_t total = 0;
      for (const auto& [state, count] : states) total += count;
      totals.emplace_back(-total, function);
    }
    std::sort(totals.begin(), totals.end());
    std::map<std::pair<std::string, int>, int64_t> folded;
    for (size_t i = 0; i < totals.size(); ++i) {
      const std::string& function = totals[i].second;
      std::string label = i < kMaxTaskFunctions ? (function.empty() ? "unknown" : function) : metrics::kOverflowLabel;
      for (const auto& [state, count] : by_function[function]) folded[{label, state}] += count;
    }
    metrics::Family tasks{"orrery_tasks", "Task attempts the GCS keeps, by state and function",
                          metrics::MetricType::kGauge, {}, {}};
    for (const auto& [key, count] : folded) {
      tasks.samples.push_back(
          {{{"function", key.first}, {"state", rpc::TaskState_Name(static_cast<rpc::TaskState>(key.second))}},
           static_cast<double>(count)});
    }
    out.push_back(std::move(tasks));
    out.push_back(Gauge("orrery_gcs_pubsub_subscribers", "Subscribers of the GCS's pub/sub channels",
                        static_cast<double>(sources_.publisher.num_subscribers())));
    metrics::Family sizes{"orrery_gcs_table_entries", "Entries of the GCS's tables", metrics::MetricType::kGauge,
                          {}, {}};
    sizes.samples.push_back({{{"table", "nodes"}}, static_cast<double>(nodes.size())});
    sizes.samples.push_back({{{"table", "jobs"}}, static_cast<double>(sources_.jobs.num_jobs())});
    sizes.samples.push_back({{{"table", "actors"}}, static_cast<double>(sources_.actors.num_actors())});
    sizes.samples.push_back({{{"table", "placement_groups"}}, static_cast<double>(sources_.groups.num_groups())});
    out.push_back(std::move(sizes));
  });
  for (metrics::Family& family : rpc::RpcMetricFamilies()) out.push_back(std::move(family));
}

}  // namespace orrery::gcs
