#include "src/raylet/raylet_metrics.h"

#include <map>

#include "src/raylet/gpu_detection.h"
#include "src/raylet/memory_monitor.h"
#include "src/rpc/rpc_metrics.h"

namespace orrery::raylet {

namespace {

constexpr std::chrono::seconds kGpuSamplePeriod{5};

metrics::Family Gauge(std::string name, std::string help, double value,
                      metrics::MetricType type = metrics::MetricType::kGauge) {
  return metrics::Family{std::move(name), std::move(help), type, {{{}, value}}, {}};
}

metrics::Family ByResource(std::string name, std::string help, const rpc::ResourceSet& resources) {
  metrics::Family family{std::move(name), std::move(help), metrics::MetricType::kGauge, {}, {}};
  auto parsed = ResourceSet::FromProto(resources);
  if (!parsed.ok()) return family;
  for (const auto& [resource, amount] : parsed->ToDoubles()) family.samples.push_back({{{"resource", resource}}, amount});
  return family;
}

}  // namespace

RayletMetrics::RayletMetrics(Sources sources) : sources_(sources) {
  registry_.AddCollector([this](std::vector<metrics::Family>& out) { Collect(out); });
  if (sources_.sample_gpus) gpus_ = std::make_unique<GpuUsageSampler>(RunCommand, kGpuSamplePeriod);
}

absl::StatusOr<std::unique_ptr<RayletMetrics>> RayletMetrics::Start(Sources sources, const std::string& host, int port,
                                                                     std::shared_ptr<const rpc::TlsConfig> tls) {
  std::unique_ptr<RayletMetrics> metrics(new RayletMetrics(sources));
  RayletMetrics* raw = metrics.get();
  auto server = metrics::MetricsServer::Start(host, port, std::move(tls), [raw] { return raw->registry_.Render(); });
  if (!server.ok()) return server.status();
  metrics->server_ = std::move(*server);
  return metrics;
}

void RayletMetrics::AppendHostUsage(std::vector<metrics::Family>& out) const {
  if (auto cpu = ReadCpuSeconds(); cpu.ok()) {
    out.push_back(metrics::Family{"orrery_node_cpu_seconds_total",
                                  "CPU time of the node's host, all cores together, busy or idle",
                                  metrics::MetricType::kCounter,
                                  {{{{"mode", "busy"}}, cpu->busy}, {{{"mode", "idle"}}, cpu->idle}},
                                  {}});
  }
  std::vector<GpuUsage> gpus = gpus_ == nullptr ? std::vector<GpuUsage>() : gpus_->Latest();
  if (gpus.empty()) return;
  metrics::Family utilization{"orrery_node_gpu_utilization_ratio", "Share of the last sample period a GPU was busy",
                              metrics::MetricType::kGauge, {}, {}};
  metrics::Family used{"orrery_node_gpu_memory_used_bytes", "Memory in use on a GPU", metrics::MetricType::kGauge,
                       {}, {}};
  metrics::Family total{"orrery_node_gpu_memory_total_bytes", "Memory of a GPU", metrics::MetricType::kGauge, {}, {}};
  for (const GpuUsage& gpu : gpus) {
    const metrics::Labels labels{{"gpu", gpu.index}};
    utilization.samples.push_back({labels, gpu.utilization_ratio});
    used.samples.push_back({labels, gpu.memory_used_bytes});
    total.samples.push_back({labels, gpu.memory_total_bytes});
  }
  out.push_back(std::move(utilization));
  out.push_back(std::move(used));
  out.push_back(std::move(total));
}

void RayletMetrics::Collect(std::vector<metrics::Family>& out) {
  const size_t first = out.size();
  rpc::GetNodeStatsReply stats;
  uint64_t workers_started = 0, worker_start_failures = 0;
  metrics::HistogramSample worker_start_seconds;
  sources_.loop.RunAndWait([&] {
    sources_.node_manager.HandleGetNodeStats(rpc::GetNodeStatsRequest(), &stats, [](absl::Status) {});
    const WorkerPool& pool = sources_.node_manager.pool();
    workers_started = pool.workers_started();
    worker_start_failures = pool.worker_start_failures();
    worker_start_seconds = pool.worker_start_seconds();
  });
  std::map<int, int64_t> workers;
  for (int i = 0; i < rpc::WorkerStats::State_descriptor()->value_count(); ++i) {
    workers[rpc::WorkerStats::State_descriptor()->value(i)->number()] = 0;
  }
  for (const rpc::WorkerStats& worker : stats.workers()) ++workers[worker.state()];
  metrics::Family by_state{"orrery_raylet_workers", "Worker processes of the node, by state",
                           metrics::MetricType::kGauge, {}, {}};
  for (const auto& [state, count] : workers) {
    by_state.samples.push_back(
        {{{"state", rpc::WorkerStats::State_Name(static_cast<rpc::WorkerStats::State>(state))}}, double(count)});
  }
  out.push_back(std::move(by_state));
  out.push_back(Gauge("orrery_raylet_worker_starts_total", "Worker processes the node started",
                      static_cast<double>(workers_started), metrics::MetricType::kCounter));
  out.push_back(Gauge("orrery_raylet_worker_start_failures_total",
                      "Workers that did not start, or ended before they registered",
                      static_cast<double>(worker_start_failures), metrics::MetricType::kCounter));
  out.push_back(metrics::Family{"orrery_raylet_worker_start_seconds",
                                "From a worker's start to its registration with the node",
                                metrics::MetricType::kHistogram,
                                {},
                                {std::move(worker_start_seconds)}});
  out.push_back(Gauge("orrery_raylet_zygotes", "Zygote processes workers are forked from", stats.num_zygotes()));
  out.push_back(Gauge("orrery_raylet_lease_queue_length", "Lease requests waiting at the node", stats.pending_leases()));
  out.push_back(Gauge("orrery_raylet_leases_granted_total", "Worker leases the node granted",
                      static_cast<double>(stats.leases_granted()), metrics::MetricType::kCounter));
  out.push_back(ByResource("orrery_node_resources_capacity", "The node's resources, in all", stats.total()));
  out.push_back(ByResource("orrery_node_resources_available", "The node's resources not leased", stats.available()));

  object_store::StoreCounters store = sources_.store.Counters();
  out.push_back(Gauge("orrery_object_store_capacity_bytes", "Size of the node's object store", store.capacity));
  out.push_back(Gauge("orrery_object_store_used_bytes", "Bytes of the object store held by objects", store.used_bytes));
  out.push_back(Gauge("orrery_object_store_objects", "Objects in the store, spilled ones included", store.num_objects));
  out.push_back(Gauge("orrery_object_store_primary_objects", "Primary copies in the store (pinned until freed)",
                      store.num_primary));
  out.push_back(Gauge("orrery_object_store_spilled_objects", "Objects spilled to disk", store.num_spilled));
  out.push_back(Gauge("orrery_object_store_spilled_bytes", "Bytes spilled to disk", store.spilled_bytes));
  out.push_back(Gauge("orrery_object_store_evictions_total", "Secondary copies evicted to make room",
                      static_cast<double>(store.num_evicted), metrics::MetricType::kCounter));
  out.push_back(Gauge("orrery_object_store_clients", "Processes connected to the store", store.num_clients));
  out.push_back(Gauge("orrery_object_store_restored_bytes_total", "Bytes of spilled objects read back into memory",
                      static_cast<double>(store.restored_bytes), metrics::MetricType::kCounter));
  out.push_back(Gauge("orrery_object_store_restored_objects_total", "Spilled objects read back into memory",
                      static_cast<double>(store.num_restored), metrics::MetricType::kCounter));
  out.push_back(Gauge("orrery_object_transfer_received_bytes_total", "Bytes of objects copied in from other nodes",
                      static_cast<double>(store.received_bytes), metrics::MetricType::kCounter));
  out.push_back(Gauge("orrery_object_transfer_received_objects_total", "Objects copied in from other nodes",
                      static_cast<double>(store.num_received), metrics::MetricType::kCounter));
  out.push_back(Gauge("orrery_object_transfer_sent_bytes_total", "Bytes of objects other nodes copied from this one",
                      static_cast<double>(sources_.object_server.bytes_sent()), metrics::MetricType::kCounter));

  if (auto memory = ReadMemoryUsage(MemorySource::ForThisProcess()); memory.ok()) {
    out.push_back(Gauge("orrery_node_memory_used_bytes", "Memory in use on the node's host (or its cgroup)",
                        static_cast<double>(memory->used_bytes)));
    out.push_back(Gauge("orrery_node_memory_total_bytes", "Memory of the node's host (or its cgroup's limit)",
                        static_cast<double>(memory->total_bytes)));
  }
  AppendHostUsage(out);
  for (metrics::Family& family : rpc::RpcMetricFamilies()) out.push_back(std::move(family));
  // Every sample names its node, so that a scrape read without the targets file's labels does.
  const metrics::Labels::value_type node_label{"node_id", sources_.node.Hex()};
  for (size_t i = first; i < out.size(); ++i) {
    for (metrics::Sample& sample : out[i].samples) sample.labels.insert(sample.labels.begin(), node_label);
    for (metrics::HistogramSample& sample : out[i].histograms) sample.labels.insert(sample.labels.begin(), node_label);
  }
  // The node's processes' own metrics, labelled with the node (and job) already.
  for (metrics::Family& family : sources_.user_metrics.Families(sources_.node.Hex())) out.push_back(std::move(family));
}

}  // namespace orrery::raylet
