#include "src/gcs/gcs_server.h"

#include <filesystem>
#include <future>

#include "absl/strings/str_cat.h"
#include "src/common/log.h"
#include "src/common/clock.h"
#include "src/common/net.h"
#include "src/common/runtime_env.h"
#include "src/common/status.h"
#include "src/common/session.h"
#include "src/gcs/gcs_table_storage.h"
#include "src/gcs/storage/store_factory.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/rpc_metrics.h"
#include "src/state/cluster_connection.h"

namespace orrery::gcs {

namespace {
// `config` with its host detected when none was given.
GcsConfig WithHost(GcsConfig config) {
  if (config.host.empty()) config.host = DefaultNodeIp();
  return config;
}

// Runs `start(answer)` on the loop and waits for its answer.
template <typename T>
T AwaitOnLoop(EventLoop& loop, const std::function<void(std::function<void(T)>)>& start) {
  std::promise<T> answered;
  loop.Post([&] { start([&answered](T value) { answered.set_value(std::move(value)); }); });
  return answered.get_future().get();
}
// Runs `steps` one after another (each starts when the previous answered OK); `done` gets the
// first error, or OK.
void RunInOrder(const std::vector<std::function<void(std::function<void(absl::Status)>)>>& steps,
                std::function<void(absl::Status)> done, size_t next = 0) {
  if (next == steps.size()) return done(absl::OkStatus());
  steps[next]([&steps, done = std::move(done), next](absl::Status status) mutable {
    if (!status.ok()) return done(status);
    RunInOrder(steps, std::move(done), next + 1);
  });
}
}  // namespace

GcsServer::GcsServer(GcsConfig config, std::string token)
    : config_(WithHost(std::move(config))), token_(std::move(token)) {}

GcsServer::~GcsServer() { Stop(); }

absl::Status GcsServer::Start() {
  ORRERY_ASSIGN_OR_RETURN(StorageSpec storage, StorageSpec::Parse(config_.gcs_storage));
  ORRERY_ASSIGN_OR_RETURN(StorageSync sync, ParseStorageSync(config_.gcs_storage_sync));
  ORRERY_ASSIGN_OR_RETURN(TokenOrigin origin, ParseTokenOrigin(config_.token_origin));
  loop_ = EventLoop::Create("gcs");
  auto dispatcher = loop_->Dispatcher();
  ORRERY_ASSIGN_OR_RETURN(
      store_, OpenStore(storage, OpenStoreOptions{sync, config_.gcs_storage_prefix, config_.gcs_storage_reset, AllTables()},
                        dispatcher));
  if (!storage.durable()) {
    spdlog::warn("GCS storage: memory. Nothing survives this process: a restarted GCS starts an empty cluster");
  }
  if (storage.kind != StorageSpec::Kind::kRocksDb && sync == StorageSync::kAlways) {
    spdlog::info("--gcs-storage-sync=always applies to RocksDB only; Redis syncs as its appendfsync says");
  }
  loop_->StartThread();

  // The storage's cluster record decides the cluster id and the token, before anyone is served.
  auto claimed = AwaitOnLoop<absl::StatusOr<ClaimedStorage>>(*loop_, [&](auto answer) {
    ClaimStorage(*store_, storage.ToString(), token_, origin, holder_id_, std::move(answer));
  });
  if (!claimed.ok()) return claimed.status();
  cluster_id_ = ClusterId::FromBinary(claimed->meta.cluster_id()).value_or(ClusterId::FromRandom());
  if (claimed->token != token_) {
    token_ = claimed->token;
    // The CLI and the daemons it starts read the token from this file: it now names the
    // stored cluster's token.
    if (!config_.token_file.empty()) ORRERY_RETURN_IF_ERROR(WriteToken(config_.token_file, token_));
  }
  for (int i = 0; i + 1 < claimed->meta.actor_lease_holders_size(); ++i) {
    if (auto holder = WorkerId::FromBinary(claimed->meta.actor_lease_holders(i)); holder.ok()) {
      earlier_holders_.push_back(*holder);
    }
  }
  meta_ = claimed->meta;
  restored_ = claimed->restored;
  loop_->RunAndWait([&] { Build(dispatcher); });
  backup_ = std::make_unique<GcsStorageBackup>(*store_, storage.ToString(), dispatcher);
  return Serve(storage);
}

void GcsServer::Build(const StoreClient::Dispatcher& dispatcher) {
  publisher_ = std::make_unique<Publisher>(
      Publisher::Options{static_cast<size_t>(config_.pubsub_history)}, ClusterId::FromRandom().Binary());
  // The lease holder id is new at every start: it is also what tells raylets this is a new GCS.
  nodes_ = std::make_unique<GcsNodeManager>(*store_, *publisher_, cluster_id_, holder_id_.Binary());
  jobs_ = std::make_unique<GcsJobManager>(*store_, *publisher_,
                                          static_cast<size_t>(std::max<int64_t>(1, config_.finished_job_history)));
  kv_ = std::make_unique<GcsKvManager>(*store_);
  workers_ = std::make_unique<GcsWorkerManager>(
      *store_, *publisher_, static_cast<size_t>(config_.worker_failure_history),
      [this](const JobId& job, const std::string& detail) { jobs_->FinishJob(job, "its driver died: " + detail); });
  resources_ = std::make_unique<GcsResourceManager>(*nodes_, *publisher_, cluster_id_, NowMs());
  certificates_ = std::make_unique<GcsCertificateAuthority>(GcsCertificateAuthority::Options{
      config_.tls_dir, config_.node_certificate_seconds, [this] {
        std::vector<NodeId> alive;
        for (const auto& [id, node] : nodes_->alive_nodes()) alive.push_back(id);
        return alive;
      }});
  certificate_renewer_ = certificates_->RenewOwnCertificate();
  resources_->SetTrustHook(
      [this](const NodeId& node, const rpc::NodeTrust& trust, rpc::ReportResourceUsageReply* reply) {
        certificates_->OnNodeReport(node, trust, reply);
      });

  rpc::ClientOptions raylet_client_options{"", token_, config_.rpc, dispatcher};
  auto raylet_client = [raylet_client_options](const std::string& address) mutable {
    raylet_client_options.peer_name = "raylet at " + address;
    return std::make_shared<raylet::GrpcRayletClient>(address, raylet_client_options);
  };
  health_ = std::make_unique<GcsHealthChecker>(
      loop_->io(),
      GcsHealthChecker::Options{config_.health_check_period_ms, config_.health_check_timeout_ms,
                                config_.health_check_failure_threshold},
      raylet_client, [this](const NodeId& node, const std::string& reason) { nodes_->MarkNodeDead(node, reason); });
  // Actor leases go to a raylet many times over: one client per raylet.
  actors_ = std::make_unique<GcsActorManager>(
      loop_->io(), *store_, *nodes_,
      [this, raylet_client](const std::string& address) mutable {
        auto& client = actor_raylets_[address];
        if (client == nullptr) client = raylet_client(address);
        return client;
      },
      GcsActorManager::Options{token_, config_.rpc, 10'000, 30'000, holder_id_,
                               static_cast<size_t>(std::max<int64_t>(1, config_.dead_actor_history))});
  placement_groups_ = std::make_unique<GcsPlacementGroupManager>(
      loop_->io(), *store_, *nodes_, *resources_,
      [raylet_client_options](const rpc::NodeInfo& node) mutable {
        std::string address = absl::StrCat(node.node_ip(), ":", node.node_manager_port());
        raylet_client_options.peer_name = "raylet at " + address;
        return std::make_shared<raylet::GrpcBundleClient>(address, raylet_client_options);
      },
      GcsPlacementGroupManager::Options{});
  placement_groups_->AddRemovedListener([this](const PlacementGroupId& id) { actors_->OnPlacementGroupRemoved(id); });
  actors_->SetRemovedGroupCheck([this](const PlacementGroupId& id) { return placement_groups_->IsRemoved(id); });
  resources_->AddReportListener(
      [this](const NodeId& node, bool changed) { placement_groups_->OnResourcesReported(node, changed); });
  workers_->AddDeathListener([this](const rpc::WorkerDeath& death) { actors_->OnWorkerDeath(death); });
  tasks_ = std::make_unique<GcsTaskManager>(static_cast<size_t>(std::max<int64_t>(1, config_.task_events_per_job)));
  JobSupervisor::Options supervisor{config_.session_dir,
                                    [this] {
                                      bool any = config_.host == "0.0.0.0" || config_.host == "::";
                                      return absl::StrCat(any ? "127.0.0.1" : config_.host, ":", port());
                                    },
                                    token_, std::filesystem::path(config_.session_dir).parent_path().string()};
  supervisor_ = std::make_unique<JobSupervisor>(
      loop_->io(), *store_, std::move(supervisor),
      [this](const std::string& package, std::function<void(absl::StatusOr<std::string>)> done) {
        FetchPackage(package, std::move(done));
      },
      [this](const JobId& job, const std::string& why) { jobs_->FinishJob(job, why); });
  packages_ = std::make_unique<WorkingDirPackages>(loop_->io(), *store_, config_.working_dir_hold_ms, [this] {
    absl::flat_hash_set<std::string> in_use;
    jobs_->ForEachJob([&in_use](const rpc::JobInfo& job) {
      if (job.state() == rpc::JobInfo::RUNNING && !job.config().working_dir_package().empty()) {
        in_use.insert(job.config().working_dir_package());
      }
    });
    supervisor_->ForEachPackageInUse([&in_use](const std::string& package) { in_use.insert(package); });
    return in_use;
  });
  kv_->AddAccessListener([this](const std::string& ns, const std::string& key) {
    if (ns == kWorkingDirKvNamespace) packages_->Hold(key, MonotonicMs());
  });
  jobs_->AddJobFinishedListener([this](const JobId& job) {
    actors_->OnJobFinished(job);
    placement_groups_->OnJobFinished(job);
    packages_->SweepSoon();
  });

  nodes_->AddNodeAddedListener([this](const rpc::NodeInfo& node) {
    NodeId id = NodeId::FromBinary(node.node_id()).value();
    health_->AddNode(id, absl::StrCat(node.node_ip(), ":", node.node_manager_port()));
    placement_groups_->OnResourcesReported(id, /*changed=*/true);  // waiting groups may fit on the new node
  });
  nodes_->AddNodeReportListener([this](const NodeId& node, const rpc::HostedState& hosted) {
    actors_->OnNodeReported(node, hosted);
    placement_groups_->OnNodeReported(node, hosted);
  });
  nodes_->AddNodeRemovedListener([this](const rpc::NodeInfo& node) {
    NodeId id = NodeId::FromBinary(node.node_id()).value();
    certificates_->OnNodeDead(id);
    health_->RemoveNode(id);
    resources_->OnNodeDead(id);
    jobs_->OnNodeDead(id);
    actors_->OnNodeDead(id);
    placement_groups_->OnNodeDead(id);
  });

  publisher_->RegisterChannel(rpc::NODE, /*is_state=*/true, [this] { return nodes_->Snapshot(); });
  publisher_->RegisterChannel(rpc::JOB, /*is_state=*/true, [this] { return jobs_->Snapshot(); });
  publisher_->RegisterChannel(rpc::RESOURCE_VIEW, /*is_state=*/true, [this] { return resources_->Snapshot(); });
  publisher_->RegisterChannel(rpc::WORKER_DEATH, /*is_state=*/false, [this] { return workers_->Snapshot(); });

}

absl::Status GcsServer::Serve(const StorageSpec& storage) {
  // Restore the tables before serving anyone.
  using Step = std::function<void(std::function<void(absl::Status)>)>;
  std::vector<Step> steps = {
      [this](auto done) { nodes_->Load(std::move(done)); },
      [this](auto done) {
        // A restored node table names nodes that died under an earlier GCS: still refused.
        for (const rpc::NodeInfo& node : nodes_->AllNodes()) {
          if (node.state() != rpc::NodeInfo::DEAD) continue;
          certificates_->OnNodeDead(NodeId::FromBinary(node.node_id()).value());
        }
        done(absl::OkStatus());
      },
      [this](auto done) { jobs_->Load(std::move(done)); },
      [this](auto done) { actors_->Load(std::move(done)); },
      [this](auto done) { placement_groups_->Load(std::move(done)); },
      [this](auto done) { workers_->Load(std::move(done)); },
      [this](auto done) { supervisor_->Load(std::move(done)); },
  };
  absl::Status loaded = AwaitOnLoop<absl::Status>(*loop_, [&steps](auto answer) { RunInOrder(steps, answer); });
  if (!loaded.ok()) return Annotate(loaded, "restoring the GCS tables from " + storage.ToString());
  if (restored_) {
    restored_summary_ = absl::StrCat("nodes alive ", nodes_->alive_nodes().size(), ", jobs ", jobs_->num_jobs(),
                                     ", actors ", actors_->num_actors(), ", placement groups ",
                                     placement_groups_->num_groups(), ", submitted jobs ",
                                     supervisor_->num_submissions());
    spdlog::info("restored cluster {} from {}: {}", cluster_id_.Hex(), storage.ToString(), restored_summary_);
  }
  // What earlier GCS instances leased for actors they had not finished creating is freed, then
  // those actors are scheduled again; meanwhile this GCS serves.
  loop_->Post([this] {
    packages_->Start();
    placement_groups_->Reconcile();
    actors_->Reconcile(earlier_holders_, [this](bool all_released) {
      // Holders whose leases a raylet may still have are kept for the next restart.
      if (earlier_holders_.empty() || !all_released) return;
      ForgetEarlierHolders(*store_, meta_, holder_id_, [](absl::Status status) {
        if (!status.ok()) spdlog::warn("storing the GCS lease holders: {}", status.message());
      });
    });
  });

  // Every call is counted from the first (its /metrics serves them: rpc_metrics.h).
  if (config_.metrics) rpc::EnableRpcMetrics();
  calls_ = std::make_unique<rpc::ServerCalls>("GCS", token_, loop_->Dispatcher());
  service_ = std::make_unique<GcsGrpcService>(
      *calls_, GcsGrpcService::Handlers{*nodes_, *resources_, *jobs_, *kv_, *workers_, *actors_, *backup_,
                                          *certificates_, *publisher_},
      static_cast<size_t>(config_.pubsub_max_queued));
  rpc::ServerOptions server_options{"GCS", ListenHost(config_.host, config_.bind_all), config_.port, "", config_.rpc,
                                    token_};
  server_options.join_methods = {absl::StrCat("/", rpc::GcsService::service_full_name(), "/SignNodeCertificate")};
  server_ = std::make_unique<rpc::GrpcServer>(std::move(server_options));
  server_->AddService(service_.get());
  placement_group_service_ = std::make_unique<PlacementGroupGrpcService>(*calls_, *placement_groups_);
  server_->AddService(placement_group_service_.get());
  job_submission_service_ = std::make_unique<JobSubmissionGrpcService>(*calls_, *supervisor_);
  server_->AddService(job_submission_service_.get());
  task_event_service_ = std::make_unique<TaskEventGrpcService>(*calls_, *tasks_);
  server_->AddService(task_event_service_.get());
  if (absl::Status status = server_->Start(); !status.ok()) {
    server_.reset();
    return status;
  }
  if (absl::Status status = ServeMetrics(); !status.ok()) return status;
  if (absl::Status status = ServeDashboard(); !status.ok()) return status;
  spdlog::info("GCS serving on {}:{}, cluster {}, metrics on port {}", server_->options().host, server_->port(),
               cluster_id_.Hex(), metrics_port());
  loop_->Post([this] { supervisor_->StartRestoredPending(); });
  return absl::OkStatus();
}

absl::Status GcsServer::ServeMetrics() {
  if (!config_.metrics) return absl::OkStatus();
  metrics_ = std::make_unique<GcsMetrics>(
      GcsMetrics::Sources{*loop_, *nodes_, *jobs_, *actors_, *placement_groups_, *tasks_, *publisher_});
  const int port = config_.metrics_port >= 0 ? config_.metrics_port : config_.port == 0 ? 0 : kDefaultGcsMetricsPort;
  const std::string targets = config_.session_dir.empty() ? "" : SessionDir(config_.session_dir).MetricsTargetsFile();
  if (absl::Status status =
          metrics_->Serve(config_.bind_all ? kAllInterfaces : config_.host, port, rpc::TlsOr(config_.rpc.tls), targets);
      !status.ok()) {
    return status;
  }
  loop_->RunAndWait([this] { resources_->set_metrics_port(metrics_->port()); });
  return absl::OkStatus();
}

absl::Status GcsServer::ServeDashboard() {
  if (!config_.dashboard) return absl::OkStatus();
  // config_.host is the node IP (detected at construction when none was given).
  const std::string address = absl::StrCat(config_.host, ":", server_->port());
  dashboard::DashboardApi::ClusterInfo info{
      config_.session_dir.empty() ? "" : std::filesystem::path(config_.session_dir).filename().string(), address};
  auto api = std::make_unique<dashboard::DashboardApi>(state::ConnectTo(address, token_, config_.rpc), std::move(info));
  dashboard::DashboardOptions options;
  options.host = config_.bind_all ? kAllInterfaces : config_.host;
  options.port = config_.dashboard_port >= 0 ? config_.dashboard_port : config_.port == 0 ? 0 : kDefaultDashboardPort;
  options.tls = rpc::TlsOr(config_.rpc.tls);
  options.token = token_;
  auto server = dashboard::DashboardServer::Start(std::move(options), std::move(api));
  if (!server.ok()) return server.status();
  dashboard_ = std::move(*server);
  loop_->RunAndWait([this] { resources_->set_dashboard(dashboard_->port(), dashboard_->https()); });
  return absl::OkStatus();
}

void GcsServer::FetchPackage(const std::string& package, std::function<void(absl::StatusOr<std::string>)> done) {
  rpc::KvGetRequest request;
  request.set_namespace_(kWorkingDirKvNamespace);
  request.set_key(package);
  auto reply = std::make_shared<rpc::KvGetReply>();
  kv_->HandleKvGet(request, reply.get(), [reply, package, done = std::move(done)](absl::Status status) {
    if (!status.ok()) return done(status);
    if (!reply->found()) return done(absl::NotFoundError("no working_dir package " + package + " in the GCS"));
    done(std::move(*reply->mutable_value()));
  });
}

void GcsServer::Stop() {
  if (stopped_ || loop_ == nullptr) return;
  stopped_ = true;
  // 0. No more scrapes (one waits on the loop), no more dashboard requests (one waits on a
  // call to this server, which still answers).
  if (metrics_) metrics_->Stop();
  dashboard_.reset();
  // 1. Answer every open call and stream, so the server's shutdown waits on nothing.
  if (calls_) calls_->Stop();
  std::promise<void> streams_closed;
  loop_->Post([this, &streams_closed] {
    // A start that failed half-way built only some of these.
    if (publisher_) publisher_->Stop();
    if (health_) health_->Stop();
    if (actors_) actors_->Stop();
    if (placement_groups_) placement_groups_->Stop();
    if (supervisor_) supervisor_->Stop();
    if (packages_) packages_->Stop();
    streams_closed.set_value();
  });
  streams_closed.get_future().wait();
  // 2. Stop serving.
  if (server_) server_->Shutdown(500);
  // 3. Stop the loop; nothing runs on it any more. Then close the storage, which finishes
  // (and syncs) what was written.
  loop_->Stop();
  backup_.reset();
  store_.reset();
  spdlog::info("GCS stopped");
}

}  // namespace orrery::gcs
