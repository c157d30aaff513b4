#include "src/raylet/raylet.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/file_util.h"
#include "src/common/log.h"
#include "src/common/net.h"
#include "src/common/status.h"
#include "src/raylet/gpu_detection.h"
#include "src/raylet/memory_monitor.h"
#include "src/rpc/process_tls.h"
#include "src/rpc/rpc_metrics.h"

namespace orrery::raylet {

Raylet::Raylet(RayletConfig config, std::string token, std::function<void(const std::string&)> on_fatal)
    : config_(std::move(config)), token_(std::move(token)), on_fatal_(std::move(on_fatal)) {}

Raylet::~Raylet() { Stop("destroyed"); }

absl::Status Raylet::ResolveResources() {
  ORRERY_ASSIGN_OR_RETURN(total_, ResourceSet::FromJson(config_.resources));
  const std::pair<const char*, const char*> reserved[] = {
      {kCpu, "--num-cpus"}, {kGpu, "--num-gpus"}, {kMemory, "--memory"}, {kObjectStoreMemory, "--object-store-memory"}};
  for (const auto& [name, flag] : reserved) {
    if (total_.Get(name) != FixedPoint()) {
      return absl::InvalidArgumentError(absl::StrCat("--resources may not set ", name, "; use ", flag));
    }
  }
  double cpus = config_.num_cpus >= 0 ? config_.num_cpus : std::thread::hardware_concurrency();
  if (!std::isfinite(cpus) || cpus > ResourceSet::kMaxQuantity) {
    return absl::InvalidArgumentError(absl::StrCat("--num-cpus ", cpus, " is not a usable CPU count"));
  }
  total_.Set(kCpu, FixedPoint::FromDouble(cpus));
  std::vector<std::string> detected = DetectGpus();
  if (config_.num_gpus >= 0) {
    // An explicit count wins; ids come from detection where there are enough, else 0..n-1.
    gpu_names_.clear();
    for (int i = 0; i < config_.num_gpus; ++i) {
      gpu_names_.push_back(static_cast<size_t>(i) < detected.size() ? detected[i] : std::to_string(i));
    }
  } else {
    gpu_names_ = detected;
  }
  total_.Set(kGpu, FixedPoint::FromInt(static_cast<int64_t>(gpu_names_.size())));
  return absl::OkStatus();
}

absl::Status Raylet::Start() {
  if (config_.gcs_address.empty()) return absl::InvalidArgumentError("--gcs-address is required");
  ORRERY_RETURN_IF_ERROR(ParseHostPort(config_.gcs_address).status());
  if (config_.session_dir.empty()) return absl::InvalidArgumentError("--session-dir is required");
  if (!(config_.memory_usage_threshold > 0 && config_.memory_usage_threshold <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("--memory-usage-threshold ", config_.memory_usage_threshold,
                                                   " is not a fraction of the host's memory (above 0, at most 1)"));
  }
  ORRERY_RETURN_IF_ERROR(ResolveResources());
  if (config_.node_ip_address.empty()) config_.node_ip_address = DefaultNodeIp();
  session_ = SessionDir(config_.session_dir);
  ORRERY_RETURN_IF_ERROR(session_.EnsureLayout());
  ORRERY_RETURN_IF_ERROR(MakePrivateDir(session_.NodeDir(node_id_)));
  // A driver started on this node while the GCS is away waits for it as long as this raylet does,
  // and listens where this node's workers do.
  ORRERY_RETURN_IF_ERROR(
      WriteNodeSettings(session_, node_id_, NodeSettings{config_.gcs_lost_timeout_ms, config_.bind_all}));
  socket_path_ = session_.RayletSocket(node_id_);

  loop_ = EventLoop::Create("raylet");
  auto dispatcher = loop_->Dispatcher();
  // Calls to the GCS retry for as long as the node waits for a GCS that went away (the calls
  // made while starting have their own, shorter budget: StartupCallOptions).
  rpc::RpcOptions gcs_rpc = config_.rpc;
  gcs_rpc.retry_budget_ms = config_.gcs_lost_timeout_ms;
  gcs_ = std::make_unique<gcs::GrpcGcsClient>(
      config_.gcs_address, rpc::ClientOptions{"GCS at " + config_.gcs_address, token_, gcs_rpc, dispatcher});

  // Before the node manager: it hands the store's socket to workers and tells it of deaths.
  ORRERY_RETURN_IF_ERROR(StartObjectStore());
  auto store_client = object_store::StoreClient::Connect(store_->socket_path());
  if (!store_client.ok()) return Annotate(store_client.status(), "connecting to this node's object store");
  ObjectServer::Options object_server;
  object_server.node = node_id_;
  object_server.host = ListenHost(config_.node_ip_address, config_.bind_all);
  object_server.port = config_.object_data_port;
  object_server.token = token_;
  object_server.tls = rpc::TlsOr(config_.rpc.tls);
  auto objects = ObjectServer::Start(*store_client, object_server);
  if (!objects.ok()) return Annotate(objects.status(), "starting the object data socket");
  objects_ = std::move(*objects);

  // The server must be up before registering: the GCS health-checks the port we announce.
  // Every call is counted from the first (its /metrics serves them: rpc_metrics.h).
  if (config_.metrics) rpc::EnableRpcMetrics();
  calls_ = std::make_unique<rpc::ServerCalls>("raylet", token_, dispatcher);
  server_ = std::make_unique<rpc::GrpcServer>(
      rpc::ServerOptions{"raylet", ListenHost(config_.node_ip_address, config_.bind_all), config_.node_manager_port,
                         socket_path_, config_.rpc, token_});

  NodeManager::Options options;
  options.node_id = node_id_;
  options.node_ip = config_.node_ip_address;
  options.gcs_address = config_.gcs_address;
  options.report_period_ms = config_.resource_report_period_ms;
  options.gcs_lost_timeout_ms = config_.gcs_lost_timeout_ms;
  options.memory = {config_.memory_usage_threshold, config_.memory_monitor_refresh_ms,
                    MemorySource::ForThisProcess()};
  options.object_store_socket = store_->socket_path();
  options.working_dir_root = session_.NodeDir(node_id_) + "/runtime_resources/working_dir";
  lease_holders_ = std::make_unique<LeaseHolders>(rpc::ClientOptions{"", token_, config_.rpc, dispatcher});
  options.on_owner_died = [store = store_.get(), holders = lease_holders_.get()](const WorkerId& owner) {
    store->DeleteOwnedBy(owner);
    holders->Forget(owner);
  };
  options.leases.ask_to_yield = [holders = lease_holders_.get()](const rpc::WorkerAddress& holder,
                                                                  std::vector<LeaseId> leases) {
    holders->AskToYield(holder, leases);
  };
  options.leases.check_holder = [holders = lease_holders_.get()](const rpc::WorkerAddress& holder,
                                                                   std::vector<LeaseId> leases,
                                                                   LeaseManager::Options::NotHeld done) {
    holders->CheckLeases(holder, leases, std::move(done));
  };
  options.store_counters = [store = store_.get()] { return store->Counters(); };
  options.trust = trust_;
  options.renew_certificate_now = renew_certificate_now_;
  options.leases.node_id = node_id_;
  options.leases.node_ip = config_.node_ip_address;
  options.leases.max_wait_ms = config_.max_lease_wait_ms;
  options.leases.spread_threshold = config_.scheduler_spread_threshold;
  options.leases.gpu_names = gpu_names_;
  WorkerPool::Options& pool = options.pool;
  pool.launch = WorkerLauncher::Options{node_id_,  config_.node_ip_address, "unix:" + socket_path_, config_.gcs_address,
                                        token_,    session_.path(),         session_.LogsDir(),
                                        config_.gcs_lost_timeout_ms, config_.bind_all};
  pool.task_worker_cap = std::max<int>(1, static_cast<int>(total_.Get(kCpu).Ceil()));
  pool.max_actor_workers = config_.max_actor_workers;
  pool.prestart = config_.prestart_workers;
  pool.idle_timeout_ms = config_.worker_idle_timeout_ms;
  pool.start_timeout_ms = config_.worker_start_timeout_ms;
  pool.kill_grace_ms = config_.worker_kill_grace_ms;

  // The node manager lives on the loop: build it there (it starts processes from that thread).
  loop_->StartThread();
  loop_->RunAndWait([&] {
    node_manager_ = std::make_unique<NodeManager>(loop_->io(), options, total_, *gcs_,
                                                  [this](const std::string& why) { on_fatal_(why); });
  });
  service_ = std::make_unique<NodeManagerGrpcService>(*calls_, *node_manager_, *objects_, user_metrics_);
  server_->AddService(service_.get());
  bundle_service_ = std::make_unique<BundleGrpcService>(*calls_, *node_manager_);
  server_->AddService(bundle_service_.get());
  log_service_ = std::make_unique<LogGrpcService>(*calls_, node_id_, session_.LogsDir());
  server_->AddService(log_service_.get());
  memory_service_ = std::make_unique<MemoryGrpcService>(
      *calls_, *node_manager_, *store_,
      MemoryGrpcService::Options{node_id_, config_.node_ip_address, token_, config_.rpc});
  server_->AddService(memory_service_.get());
  ORRERY_RETURN_IF_ERROR(server_->Start());
  if (config_.metrics) {
    // GPUs found by nvidia-smi have their use sampled with it.
    const bool sample_gpus = !gpu_names_.empty() && !RunCommand("command -v nvidia-smi").empty();
    auto metrics = RayletMetrics::Start(
        RayletMetrics::Sources{node_id_, *loop_, *node_manager_, *store_, *objects_, user_metrics_, sample_gpus},
        ListenHost(config_.node_ip_address, config_.bind_all), config_.metrics_port, rpc::TlsOr(config_.rpc.tls));
    if (!metrics.ok()) return metrics.status();
    metrics_ = std::move(*metrics);
  }
  spdlog::info("raylet {} serving on {}:{} and {}, metrics on port {}; resources {}", node_id_.Hex(),
               config_.node_ip_address, server_->port(), socket_path_, metrics_port(), total_.ToString());
  ORRERY_RETURN_IF_ERROR(RegisterWithGcs());

  subscriber_ = std::make_unique<gcs::GcsSubscriber>(*gcs_, WorkerId::FromRandom());
  subscriber_->Subscribe(rpc::NODE, "", [this](const rpc::PubsubMessage& m) { node_manager_->OnNodeMessage(m); });
  subscriber_->Subscribe(rpc::JOB, "", [this](const rpc::PubsubMessage& m) { node_manager_->OnJobMessage(m); });
  subscriber_->Subscribe(rpc::RESOURCE_VIEW, "",
                         [this](const rpc::PubsubMessage& m) { node_manager_->OnResourceViewMessage(m); });
  subscriber_->Subscribe(rpc::WORKER_DEATH, "",
                         [this](const rpc::PubsubMessage& m) { node_manager_->OnWorkerDeathMessage(m); });
  subscriber_->Start();
  loop_->RunAndWait([&] { node_manager_->Start(); });
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Raylet::ObjectStoreSize() {
  if (config_.object_store_memory >= 0) {
    if (config_.object_store_memory < kMinObjectStoreBytes) {
      return absl::InvalidArgumentError(absl::StrCat("--object-store-memory ", config_.object_store_memory,
                                                     " is below the minimum of ", kMinObjectStoreBytes, " bytes"));
    }
    return config_.object_store_memory;
  }
  const int64_t ram = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  // What the stores of other raylets on this IP already hold counts against the host's half.
  auto nodes = gcs_->client().CallSync(&rpc::GcsService::Stub::async::GetAllNodes, rpc::GetAllNodesRequest{},
                                       StartupCallOptions());
  ORRERY_RETURN_IF_ERROR(StartupCallStatus(nodes.status(), "listing the nodes of"));
  int64_t others = 0;
  for (const rpc::NodeInfo& node : nodes->nodes()) {
    if (node.state() == rpc::NodeInfo::ALIVE && node.node_ip() == config_.node_ip_address) {
      others += node.object_store_memory();
    }
  }
  const int64_t room = ram / 2 - others;
  // 30% of RAM when that fits; else half of what is left, so that a later raylet still fits.
  const int64_t share = ram / 10 * 3;
  const int64_t size = room >= share ? share : room / 2;
  if (size < kMinObjectStoreBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the object stores of the other raylets on ", config_.node_ip_address, " hold ", others,
                     " bytes, and all stores on a host stay under half its memory (", ram / 2,
                     " bytes): pass --object-store-memory to size this one"));
  }
  return size;
}

absl::Status Raylet::AddMemoryResources(int64_t object_store_bytes) {
  int64_t memory = config_.memory;
  if (memory < 0) {
    // Ray's default: what the host (or this process's cgroup) has available, less the store;
    // the real host's, whatever a test tells the memory monitor.
    MemorySource source = MemorySource::ForThisProcess();
    source.testing_usage_file.clear();
    ORRERY_ASSIGN_OR_RETURN(MemoryUsage usage, ReadMemoryUsage(source));
    memory = std::max<int64_t>(0, usage.total_bytes - usage.used_bytes - object_store_bytes);
  }
  const auto max_bytes = static_cast<int64_t>(ResourceSet::kMaxQuantity);
  total_.Set(kMemory, FixedPoint::FromInt(std::min(memory, max_bytes)));
  total_.Set(kObjectStoreMemory, FixedPoint::FromInt(std::min(object_store_bytes, max_bytes)));
  return absl::OkStatus();
}

absl::Status Raylet::StartObjectStore() {
  ORRERY_ASSIGN_OR_RETURN(int64_t size, ObjectStoreSize());
  object_store::StoreServerOptions options;
  options.socket_path = session_.StoreSocket(node_id_);  // announced to workers by the node manager
  options.capacity = static_cast<size_t>(size);
  options.prefault = config_.object_store_prefault;
  options.spill_dir = config_.spill_dir.empty() ? session_.SpillDir(node_id_) : config_.spill_dir;
  options.spill_high_water = config_.object_store_high_water;
  ORRERY_RETURN_IF_ERROR(MakePrivateDir(options.spill_dir));
  ORRERY_ASSIGN_OR_RETURN(store_, object_store::StoreServer::Start(options));
  ORRERY_RETURN_IF_ERROR(AddMemoryResources(size));
  spdlog::info("object store: {} bytes{} at {}, spilling to {}", size, config_.object_store_prefault ? " (prefaulted)" : "",
               options.socket_path, options.spill_dir);
  return absl::OkStatus();
}

absl::Status Raylet::RegisterWithGcs() {
  rpc::RegisterNodeRequest request;
  rpc::NodeInfo* node = request.mutable_node();
  node->set_node_id(node_id_.Binary());
  node->set_node_ip(config_.node_ip_address);
  node->set_node_manager_port(server_->port());
  char hostname[256] = {0};
  gethostname(hostname, sizeof(hostname) - 1);
  node->set_hostname(hostname);
  total_.ToProto(node->mutable_total_resources());
  node->set_version(ORRERY_VERSION_STRING);
  node->set_temp_dir(config_.temp_dir);
  node->set_session_dir(session_.path());
  node->set_raylet_socket(socket_path_);
  node->set_object_store_socket(store_->socket_path());
  node->set_object_store_memory(static_cast<int64_t>(store_->capacity()));
  node->set_object_data_port(objects_->port());
  node->set_metrics_port(metrics_port());
  node->set_pid(getpid());
  node->set_start_time_ms(NowMs());
  node->set_gcs_lost_timeout_ms(config_.gcs_lost_timeout_ms);
  auto reply = gcs_->client().CallSync(&rpc::GcsService::Stub::async::RegisterNode, request, StartupCallOptions());
  ORRERY_RETURN_IF_ERROR(StartupCallStatus(reply.status(), "registering with"));
  loop_->RunAndWait([&] { node_manager_->SetRegistration(request, reply->cluster_id(), reply->gcs_instance_id()); });
  return absl::OkStatus();
}

rpc::CallOptions Raylet::StartupCallOptions() const {
  rpc::CallOptions options;
  options.retry = true;
  options.timeout_ms = std::min<int64_t>(2000, config_.gcs_connect_timeout_ms);
  options.retry_budget_ms = config_.gcs_connect_timeout_ms;
  return options;
}

absl::Status Raylet::StartupCallStatus(const absl::Status& status, const std::string& doing) const {
  if (status.ok()) return status;
  if (status.code() == absl::StatusCode::kUnavailable || status.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::UnavailableError(absl::StrCat("cannot reach the GCS at ", config_.gcs_address, " within ",
                                               config_.gcs_connect_timeout_ms, " ms: ", status.message()));
  }
  return Annotate(status, doing + " the GCS at " + config_.gcs_address);
}

void Raylet::Stop(const std::string& reason) {
  if (stopped_.exchange(true) || loop_ == nullptr) return;
  spdlog::info("raylet {} stopping: {}", node_id_.Hex(), reason);
  // 1. Answer open calls; nothing new is accepted. No more scrapes (one waits on the loop).
  if (calls_) calls_->Stop();
  metrics_.reset();
  // 2. End the workers and leases (on the loop: the pool lives there).
  if (node_manager_) loop_->RunAndWait([&] { node_manager_->Stop(); });
  // 3. Say goodbye to the GCS, briefly: a dead GCS must not hold up the stop.
  if (gcs_ && server_ && server_->port() > 0) {
    rpc::UnregisterNodeRequest request;
    request.set_node_id(node_id_.Binary());
    request.set_reason(reason);
    rpc::CallOptions options;
    options.timeout_ms = 1000;
    gcs_->client().CallSync(&rpc::GcsService::Stub::async::UnregisterNode, request, options).IgnoreError();
  }
  if (subscriber_) subscriber_->Stop();
  // 4. Stop serving (object transfers still open are cut), then the object store, once no
  // worker maps it, then the loop.
  if (server_) server_->Shutdown(500);
  if (objects_) objects_->Stop();
  if (store_) store_->Stop();
  loop_->Stop();
}

}  // namespace orrery::raylet
