// Init() and Shutdown(): a driver starts or joins a cluster, registers its job and runs a
// CoreWorker; a worker process (started by a raylet, running this same program) serves tasks
// and never returns from Init().
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/api.h"
#include "orrery/job_submission.grpc.pb.h"
#include "src/api/cluster_runtime.h"
#include "src/api/flags.h"
#include "src/api/local_runtime.h"
#include "src/api/runtime_env.h"
#include "src/common/clock.h"
#include "src/common/config_value.h"
#include "src/common/file_util.h"
#include "src/common/termination.h"
#include "src/common/log.h"
#include "src/common/logging.h"
#include "src/common/process.h"
#include "src/common/random.h"
#include "src/common/resource_set.h"
#include "src/common/runtime_env.h"
#include "src/core_worker/core_worker.h"
#include "src/core_worker/log_forwarder.h"
#include "src/core_worker/worker_process.h"
#include "src/launcher/daemon_launcher.h"
#include "src/launcher/local_cluster.h"
#include "src/rpc/cluster_tls.h"
#include "src/rpc/retried_call.h"
#include "src/raylet/gpu_detection.h"

namespace orrery {

namespace {

// What Init() built; Shutdown() takes it apart.
struct Session {
  std::optional<launcher::StartedNode> head;  // when Init() started the cluster
  std::unique_ptr<gcs::GrpcGcsClient> gcs;
  std::unique_ptr<core::CoreWorker> core;
  std::unique_ptr<api::ClusterRuntime> runtime;
  JobId job_id;
  // Local mode: all of the above stays empty.
  std::unique_ptr<api::LocalRuntime> local;

  internal::Runtime* CurrentRuntime() const {
    return local != nullptr ? static_cast<internal::Runtime*>(local.get()) : runtime.get();
  }
};

std::mutex g_mu;
std::unique_ptr<Session> g_session;
std::atomic<internal::Runtime*> g_runtime{nullptr};

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

[[noreturn]] void Fail(const std::string& what, const absl::Status& status) {
  throw OrreryException(what + ": " + std::string(status.message()));
}

// Stops daemons Init() started: politely, then by force, within about 5 s in all.
void StopHead(launcher::StartedNode& head) {
  for (launcher::DaemonProcess* daemon : {&head.raylet, &head.gcs}) {
    if (daemon->pid <= 0) continue;
    kill(daemon->pid, SIGTERM);
    if (daemon->pidfd < 0 || !WaitForExit(daemon->pidfd, 2500)) kill(-daemon->pid, SIGKILL);
    if (daemon->pidfd >= 0) {
      WaitForExit(daemon->pidfd, 1000);
      TryReap(daemon->pidfd);
      close(daemon->pidfd);
      daemon->pidfd = -1;
    }
  }
}

// Config::tls; ORRERY_TLS=false turns it off too (an operator's word that the network is trusted,
// without changing the program).
bool DriverSpeaksTls(const Config& config) {
  std::string variable = Env("ORRERY_TLS");
  bool from_environment = true;
  if (!variable.empty()) {
    if (absl::Status status = ParseConfigValue(variable, &from_environment); !status.ok()) Fail("ORRERY_TLS", status);
  }
  return config.tls && from_environment;
}

// A driver with TLS off joins only a cluster whose daemons run with --tls=off, and the reverse:
// a silent fallback would send the token in clear text where its owner asked for TLS.
absl::Status CheckSameTransport(const launcher::ClusterTarget& target, bool driver_tls) {
  if (driver_tls && target.known_plain) {
    return absl::FailedPreconditionError(
        "the cluster at " + target.address +
        " speaks plain TCP (its daemons run with --tls=off) and this driver requires TLS: to join it on a network "
        "you trust, set Config.tls = false (or --orrery_tls=false, or ORRERY_TLS=false)");
  }
  if (!driver_tls && !target.tls_dir.empty()) {
    return absl::FailedPreconditionError(
        "the cluster at " + target.address +
        " requires mutual TLS and this driver speaks plain TCP (Config.tls = false, --orrery_tls=false or "
        "ORRERY_TLS=false): remove that to join it with this host's cluster certificate");
  }
  return absl::OkStatus();
}

// Flags of `orrery start` a local head honours, from Config::head_args.
launcher::HeadOptions HeadOptionsFrom(const Config& config) {
  launcher::HeadOptions options;
  options.port = 0;
  options.tls = DriverSpeaksTls(config);
  // A driver's own cluster ends with Shutdown(): nothing of it is worth keeping.
  options.gcs_storage = "memory";
  options.node.die_with_caller = true;
  options.node.temp_dir = config.temp_dir.empty() ? Env("ORRERY_TEMP_DIR") : config.temp_dir;
  const auto& args = config.head_args;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    }
    try {
      if (name == "--num-cpus") {
        options.node.num_cpus = std::stod(value);
      } else if (name == "--num-gpus") {
        options.node.num_gpus = std::stoi(value);
      } else if (name == "--resources") {
        options.node.resources = value;
      } else if (name == "--node-ip-address") {
        options.node.node_ip_address = value;
      } else if (name == "--bind-all") {
        options.node.bind_all = true;
        if (!value.empty() && value != "true") --i;  // a bare flag: the next word is not its value
      } else if (name == "--object-store-memory") {
        options.node.object_store_memory = std::stoll(value);
      } else if (name == "--memory") {
        options.node.memory = std::stoll(value);
      } else if (name == "--object-store-prefault") {
        options.node.object_store_prefault = true;
        if (!value.empty() && value != "true") --i;  // a bare flag: the next word is not its value
      } else if (name == "--spill-dir") {
        options.node.spill_dir = value;
      } else if (name == "--gcs-storage") {
        options.gcs_storage = value;  // e.g. to measure a durable GCS (it then runs under orrery-head)
      } else if (name == "--gcs-storage-sync") {
        options.gcs_storage_sync = value;
      } else if (name == "--tls") {
        if (value != "on" && value != "off") {
          throw OrreryException("Config.head_args: --tls must be 'on' or 'off', got '" + value + "'");
        }
        if (value == "on" && !options.tls) {
          throw OrreryException("Config.head_args: --tls=on contradicts Config.tls = false (or ORRERY_TLS=false)");
        }
        options.tls = value == "on";
      } else if (name == "--tls-dir") {
        options.tls_dir = value;
      } else {
        throw OrreryException("Config.head_args: unknown flag " + name +
                              " (known: --num-cpus, --num-gpus, --memory, --resources, --node-ip-address, --bind-all, "
                              "--object-store-memory, --object-store-prefault, --spill-dir, --gcs-storage, "
                              "--gcs-storage-sync, --tls, --tls-dir)");
      }
    } catch (const std::logic_error&) {
      throw OrreryException("Config.head_args: " + name + " needs a number, got '" + value + "'");
    }
  }
  return options;
}

// argv of this process, as the job's workers must run it.
std::vector<std::string> SelfCommand() {
  std::vector<std::string> argv = {SelfExePath()};
  auto cmdline = ReadFileToString("/proc/self/cmdline");
  if (cmdline.ok()) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t i = 0; i < cmdline->size(); ++i) {
      if ((*cmdline)[i] == '\0') {
        parts.push_back(cmdline->substr(start, i - start));
        start = i + 1;
      }
    }
    for (size_t i = 1; i < parts.size(); ++i) argv.push_back(parts[i]);
  }
  return argv;
}

// How a job's workers learn Config::max_inline_object_bytes (through the job's environment).
constexpr char kInlineLimitVariable[] = "ORRERY_MAX_INLINE_OBJECT_BYTES";
// And Config::default_actor_lifetime ("1": detached).
constexpr char kDetachedActorsVariable[] = "ORRERY_DETACHED_ACTORS_BY_DEFAULT";
// And Config::task_events ("0": off).
constexpr char kTaskEventsVariable[] = "ORRERY_TASK_EVENTS";
// And Config::max_lineage_bytes.
constexpr char kMaxLineageVariable[] = "ORRERY_MAX_LINEAGE_BYTES";

rpc::JobConfig JobConfigFor(const Config& config, const std::optional<DirectoryPackage>& working_dir) {
  rpc::JobConfig job;
  if (config.code_search_path.empty()) {
    for (const std::string& arg : SelfCommand()) job.add_worker_command(arg);
  } else {
    auto bin_dir = launcher::FindBinDir();
    if (!bin_dir.ok()) Fail("library mode needs orrery-worker", bin_dir.status());
    job.add_worker_command(*bin_dir + "/orrery-worker");
    std::vector<std::string> search_path = api::CodeSearchPath(config);
    for (const std::string& path : search_path) job.add_code_search_path(path);
    (*job.mutable_env())["ORRERY_CODE_SEARCH_PATH"] = absl::StrJoin(search_path, ":");
  }
  job.set_namespace_(config.job_namespace);
  // The job's workers put their large results in the store by the driver's threshold.
  (*job.mutable_env())[kInlineLimitVariable] = std::to_string(config.max_inline_object_bytes);
  (*job.mutable_env())[kDetachedActorsVariable] =
      config.default_actor_lifetime == ActorLifetime::DETACHED ? "1" : "0";
  (*job.mutable_env())[kTaskEventsVariable] = config.task_events ? "1" : "0";
  (*job.mutable_env())[kMaxLineageVariable] = std::to_string(config.max_lineage_bytes);
  api::ApplyRuntimeEnv(config, working_dir, job);
  return job;
}

// The raylet's local socket, without the "unix:" of a gRPC target.
std::string SocketPath(const rpc::NodeInfo& node) {
  const std::string& socket = node.raylet_socket();
  return socket.rfind("unix:", 0) == 0 ? socket.substr(5) : socket;
}

// Whether the node's raylet listens on every interface (--bind-all), as the settings it writes for
// this host's drivers say: a driver listens where the node's workers do.
bool NodeBindsAll(const rpc::NodeInfo& node) {
  auto id = NodeId::FromBinary(node.node_id());
  if (!id.ok() || node.session_dir().empty()) return false;
  auto settings = ReadNodeSettings(SessionDir(node.session_dir()), *id);
  return settings.ok() && settings->bind_all;
}

// The raylet this driver uses: the one Init() started, else one whose socket is on this host.
// The raylet this driver registers with: the node `node_id_hex` names, else a raylet of this
// host (its socket is here), preferring one that keeps its sessions under `temp_dir` (hosts
// that share a filesystem, as network namespaces on one machine do, tell theirs apart so).
rpc::NodeInfo LocalNode(gcs::GrpcGcsClient& gcs, const std::string& node_id_hex, const std::string& address,
                        const std::string& temp_dir) {
  auto nodes = gcs.client().CallSync(&rpc::GcsService::Stub::async::GetAllNodes, rpc::GetAllNodesRequest{},
                                     rpc::RetriedCall());
  if (!nodes.ok()) Fail("listing the nodes of the cluster at " + address, nodes.status());
  auto same_root = [&temp_dir](const rpc::NodeInfo& node) {
    std::error_code error;
    return !temp_dir.empty() && std::filesystem::weakly_canonical(node.temp_dir(), error) ==
                                    std::filesystem::weakly_canonical(temp_dir, error);
  };
  std::optional<rpc::NodeInfo> found;
  for (const rpc::NodeInfo& node : nodes->nodes()) {
    if (node.state() != rpc::NodeInfo::ALIVE) continue;
    if (!node_id_hex.empty()) {
      if (NodeId::FromBinary(node.node_id())->Hex() == node_id_hex) return node;
      continue;
    }
    if (!PathExists(SocketPath(node))) continue;
    if (same_root(node)) return node;
    if (!found.has_value()) found = node;
  }
  if (found.has_value()) return *found;
  throw OrreryException("no raylet of the cluster at " + address +
                        " runs on this host: start one with `orrery start --address " + address + "`");
}

// A driver `orrery job submit` started tells the job supervisor which job it registered, so that
// stopping the submission ends the job's workers and actors at once.
void ReportToJobSupervisor(gcs::GrpcGcsClient& gcs, const JobId& job_id) {
  std::string submission_id = Env(kSubmissionIdVariable);
  if (submission_id.empty()) return;
  rpc::GrpcClient<rpc::JobSubmissionService> supervisor(gcs.client().channel(), gcs.client().options());
  rpc::ReportJobDriverRequest report;
  report.set_submission_id(submission_id);
  report.set_job_id(job_id.Binary());
  auto reported = supervisor.CallSync(&rpc::JobSubmissionService::Stub::async::ReportJobDriver, report, rpc::RetriedCall());
  if (!reported.ok()) spdlog::warn("cannot tell the job supervisor about job {}: {}", job_id.Hex(), reported.status().message());
}

// Local mode: one node in this process, with the machine's resources or what head_args says.
std::unique_ptr<Session> StartLocal(const Config& config) {
  launcher::NodeOptions node = HeadOptionsFrom(config).node;  // also checks head_args
  double cpus = node.num_cpus >= 0 ? node.num_cpus : std::max(1u, std::thread::hardware_concurrency());
  int gpus = node.num_gpus >= 0 ? node.num_gpus : static_cast<int>(raylet::DetectGpus().size());
  ResourceSet resources;
  if (!node.resources.empty()) {
    auto custom = ResourceSet::FromJson(node.resources);
    if (!custom.ok()) Fail("Config.head_args: --resources", custom.status());
    resources = std::move(*custom);
  }
  if (cpus > 0) resources.Set(kCpu, FixedPoint::FromDouble(cpus));
  if (gpus > 0) resources.Set(kGpu, FixedPoint::FromInt(gpus));
  // Ray's byte resources, as a node offers them: values live in this process, so "memory" is
  // what the host has available and "object_store_memory" what a node's store would have.
  const int64_t page = sysconf(_SC_PAGE_SIZE);
  const int64_t store = node.object_store_memory >= 0 ? node.object_store_memory
                                                      : static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * page / 10 * 3;
  const int64_t memory = node.memory >= 0 ? node.memory : static_cast<int64_t>(sysconf(_SC_AVPHYS_PAGES)) * page;
  const auto max_bytes = static_cast<int64_t>(ResourceSet::kMaxQuantity);
  if (memory > 0) resources.Set(kMemory, FixedPoint::FromInt(std::min(memory, max_bytes)));
  if (store > 0) resources.Set(kObjectStoreMemory, FixedPoint::FromInt(std::min(store, max_bytes)));
  api::LocalRuntimeOptions options;
  options.job_namespace = config.job_namespace;
  options.node_resources = std::move(resources);
  options.task_threads = std::max(2, static_cast<int>(std::ceil(cpus)));
  options.detached_actors_by_default = config.default_actor_lifetime == ActorLifetime::DETACHED;
  auto session = std::make_unique<Session>();
  session->local = std::make_unique<api::LocalRuntime>(std::move(options));
  return session;
}

std::unique_ptr<Session> StartDriver(Config config) {
  if (config.local_mode) return StartLocal(config);
  auto session = std::make_unique<Session>();
  // A job without a namespace gets one of its own.
  if (config.job_namespace.empty()) config.job_namespace = HexEncode(RandomBytes(8));
  std::string address = config.address.empty() ? Env("ORRERY_ADDRESS") : config.address;
  std::string token;
  std::string node_id_hex;
  std::string temp_dir = config.temp_dir.empty() ? Env("ORRERY_TEMP_DIR") : config.temp_dir;
  // Bad input fails here, before a local cluster starts.
  std::optional<std::string> submitted_package = api::AdoptJobSubmission(config);
  std::optional<DirectoryPackage> working_dir = api::PrepareRuntimeEnv(config, submitted_package);
  if (address.empty()) {
    launcher::HeadOptions head_options = HeadOptionsFrom(config);
    if (!head_options.tls) spdlog::warn("this driver's own cluster runs with TLS off: {}", rpc::kPlainTcpWarning);
    auto head = launcher::StartHead(head_options);
    if (!head.ok()) Fail("starting a local cluster", head.status());
    session->head = std::move(*head);
    address = session->head->gcs_address;
    token = session->head->token;
    node_id_hex = session->head->node_id;
  } else {
    auto target = launcher::ResolveCluster(address, config.token, temp_dir);
    if (!target.ok()) Fail("joining the cluster at " + address, target.status());
    token = target->token;
    const bool tls = DriverSpeaksTls(config);
    if (absl::Status status = CheckSameTransport(*target, tls); !status.ok()) Fail("joining the cluster at " + address, status);
    if (!tls) spdlog::warn("this driver speaks plain TCP (Config.tls = false or ORRERY_TLS=false): {}", rpc::kPlainTcpWarning);
    if (target->tls_dir.empty()) {
      rpc::UsePlainTcp();
    } else if (absl::Status status = rpc::UseTlsDir(target->tls_dir); !status.ok()) {
      Fail("joining the cluster at " + address, status);
    }
    // A GCS that is away while this host's raylet of the cluster waits for it: wait too.
    if (absl::Status status = launcher::WaitForCluster(address, token, temp_dir); !status.ok()) {
      Fail("joining the cluster at " + address, status);
    }
  }

  try {
    rpc::RpcOptions rpc_options;
    rpc_options.retry_budget_ms = gcs::kDefaultGcsLostTimeoutMs;
    session->gcs = std::make_unique<gcs::GrpcGcsClient>(
        address, rpc::ClientOptions{"GCS at " + address, token, rpc_options, nullptr});
    rpc::NodeInfo node = LocalNode(*session->gcs, node_id_hex, address, temp_dir);
    // The node's budget for an unreachable GCS is this driver's too.
    if (node.gcs_lost_timeout_ms() > 0 && node.gcs_lost_timeout_ms() != rpc_options.retry_budget_ms) {
      rpc_options.retry_budget_ms = node.gcs_lost_timeout_ms();
      session->gcs = std::make_unique<gcs::GrpcGcsClient>(
          address, rpc::ClientOptions{"GCS at " + address, token, rpc_options, nullptr});
    }
    if (working_dir.has_value() && !submitted_package.has_value()) {
      api::UploadWorkingDir(*session->gcs, *working_dir, address);
    }
    auto job_id = session->gcs->client().CallSync(&rpc::GcsService::Stub::async::GetNextJobId,
                                                  rpc::GetNextJobIdRequest{}, rpc::RetriedCall());
    if (!job_id.ok()) Fail("getting a job id from the GCS at " + address, job_id.status());
    session->job_id = JobId::FromBinary(job_id->job_id()).value();

    if (!node.session_dir().empty()) {
      LoggingOptions logging{"driver", absl::StrCat(session->job_id.Hex(), "-", getpid()),
                             SessionDir(node.session_dir()).LogsDir(), config.log_level, /*also_stderr=*/false};
      (void)InitLogging(logging);
    }

    core::CoreWorkerOptions options;
    options.is_driver = true;
    options.job_id = session->job_id;
    options.node_id = NodeId::FromBinary(node.node_id()).value();
    options.node_ip = node.node_ip();
    options.bind_all = NodeBindsAll(node);
    options.raylet_socket = "unix:" + SocketPath(node);
    options.gcs_address = address;
    options.token = token;
    options.rpc = rpc::RpcOptions();
    options.gcs_lost_timeout_ms = rpc_options.retry_budget_ms;
    options.max_inline_object_bytes = config.max_inline_object_bytes;
    options.object_store_full_wait_ms = config.object_store_full_wait_ms;
    options.max_lineage_bytes = config.max_lineage_bytes;
    options.job_namespace = config.job_namespace;
    options.detached_actors_by_default = config.default_actor_lifetime == ActorLifetime::DETACHED;
    options.task_events.enabled = config.task_events;
    session->core = std::make_unique<core::CoreWorker>(options);
    if (absl::Status status = session->core->Start(); !status.ok()) Fail("starting the driver", status);

    rpc::AddJobRequest add;
    rpc::JobInfo* job = add.mutable_job();
    job->set_job_id(session->job_id.Binary());
    *job->mutable_config() = JobConfigFor(config, working_dir);
    job->set_state(rpc::JobInfo::RUNNING);
    job->set_driver_pid(getpid());
    job->set_driver_node_id(node.node_id());
    job->set_driver_ip(node.node_ip());
    job->set_driver_worker_id(session->core->options().worker_id.Binary());
    job->set_driver_port(session->core->address().port());
    job->set_start_time_ms(NowMs());
    job->set_version(ORRERY_VERSION_STRING);
    auto added = session->gcs->client().CallSync(&rpc::GcsService::Stub::async::AddJob, add, rpc::RetriedCall());
    if (!added.ok()) Fail("registering the job with the GCS at " + address, added.status());
    ReportToJobSupervisor(*session->gcs, session->job_id);
  } catch (...) {
    session->core.reset();
    if (session->head) StopHead(*session->head);
    throw;
  }
  session->runtime = std::make_unique<api::ClusterRuntime>(*session->core);
  return session;
}

// A worker's output, on its driver's terminal.
void ForwardOutput(core::CoreWorker& core, gcs::GrpcGcsClient& gcs) {
  rpc::GetJobRequest request;
  request.set_job_id(core.options().job_id.Binary());
  auto job = gcs.client().CallSync(&rpc::GcsService::Stub::async::GetJob, request, rpc::RetriedCall());
  if (!job.ok() || job->job().driver_port() == 0) return;
  rpc::WorkerAddress driver;
  driver.set_ip(job->job().driver_ip());
  driver.set_port(job->job().driver_port());
  static core::OwnerClients* clients = new core::OwnerClients(rpc::ClientOptions{"", core.options().token, {}, nullptr});
  static core::LogForwarder* forwarder = new core::LogForwarder(core.options().worker_id, clients->Get(driver));
  if (absl::Status status = forwarder->Start(); !status.ok()) {
    spdlog::warn("worker output stays in its log files: {}", status.message());
  }
}

}  // namespace

namespace internal {

Runtime* CurrentRuntime() { return g_runtime.load(std::memory_order_acquire); }

Runtime& RequireRuntime() {
  Runtime* runtime = CurrentRuntime();
  if (runtime == nullptr) throw OrreryException("Orrery is not initialized: call orrery::Init() first");
  return *runtime;
}

void ServeIfWorker() {
  if (!internal::LaunchedByRaylet()) return;
  // What main() printed before Init() goes to this process's own output file now, before its
  // output is forwarded to the driver, and before a zygote forks: otherwise the lines left in
  // stdio's buffer would be copied into every worker and reach the driver's terminal from
  // each (Ray's workers never run main at all).
  std::fflush(stdout);
  std::fflush(stderr);
  auto startup = internal::EnterWorkerProcess();  // a zygote returns here only in a forked child
  if (!startup.ok()) {
    std::fprintf(stderr, "orrery worker: %s\n", std::string(startup.status().message()).c_str());
    std::_Exit(1);
  }
  LoggingOptions logging{"worker", startup->worker_id.Hex(), "", "info", /*also_stderr=*/false};
  if (!startup->session_dir.empty()) logging.log_dir = SessionDir(startup->session_dir).LogsDir();
  (void)InitLogging(logging);

  core::CoreWorkerOptions options;
  options.is_driver = false;
  options.job_id = startup->job_id;
  options.worker_id = startup->worker_id;
  options.node_id = startup->node_id;
  options.node_ip = startup->node_ip;
  options.bind_all = startup->bind_all;
  options.raylet_socket = startup->raylet_socket;
  options.gcs_address = startup->gcs_address;
  options.token = startup->token;
  options.gcs_lost_timeout_ms = startup->gcs_lost_timeout_ms;
  if (const char* limit = std::getenv(kInlineLimitVariable); limit != nullptr) {
    options.max_inline_object_bytes = std::strtoll(limit, nullptr, 10);
  }
  if (const char* detached = std::getenv(kDetachedActorsVariable); detached != nullptr) {
    options.detached_actors_by_default = detached[0] == '1';
  }
  if (const char* events = std::getenv(kTaskEventsVariable); events != nullptr) {
    options.task_events.enabled = events[0] != '0';
  }
  if (const char* lineage = std::getenv(kMaxLineageVariable); lineage != nullptr) {
    options.max_lineage_bytes = std::strtoll(lineage, nullptr, 10);
  }
  // Never destroyed: the process ends with _Exit once asked to, tasks may still hold refs.
  auto* core = new core::CoreWorker(options);
  auto* runtime = new api::ClusterRuntime(*core);
  g_runtime.store(runtime, std::memory_order_release);
  {
    // Before the first task can arrive.
    gcs::GrpcGcsClient gcs(options.gcs_address, rpc::ClientOptions{"GCS", options.token, {}, nullptr});
    ForwardOutput(*core, gcs);
  }
  // A worker its raylet ends (the job ended) first sends what it ran, after its output: the
  // events of its last second would be lost otherwise, and its tasks left RUNNING in
  // `orrery list tasks` and uncounted in the metrics; and what it recorded of its own metrics.
  if (absl::Status status = RunOnTermination([core] { core->FlushReports(); }); !status.ok()) {
    spdlog::warn("task events of this worker's last second may be lost when it is ended: {}", status.message());
  }
  if (absl::Status status = core->Start(); !status.ok()) {
    spdlog::error("worker failed to start: {}", status.message());
    std::_Exit(1);
  }
  core->WaitForExit();
  // Asked to exit (an idle worker of an ended job): what it ran reaches the GCS first.
  core->FlushReports();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
}

void InitWithFlags(Config& config, int argc, char** argv, bool accept_ray_flags) {
  if (argv != nullptr) api::ApplyFlags(config, argc, argv, accept_ray_flags);
  ServeIfWorker();
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_session != nullptr) return;
  if (accept_ray_flags && config.address.empty()) config.address = Env("RAY_ADDRESS");
  g_session = StartDriver(config);
  g_runtime.store(g_session->CurrentRuntime(), std::memory_order_release);
}

}  // namespace internal

void Init() {
  Config config;
  internal::InitWithFlags(config, 0, nullptr, false);
}

void Init(Config& config) { internal::InitWithFlags(config, 0, nullptr, false); }

void Init(Config& config, int argc, char** argv) { internal::InitWithFlags(config, argc, argv, false); }

bool IsInitialized() { return internal::CurrentRuntime() != nullptr; }

void Shutdown() {
  std::unique_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    // Local mode's tasks and actors still running may call the runtime until they return.
    if (g_session != nullptr && g_session->local != nullptr) g_session->local->Stop();
    session = std::move(g_session);
    g_runtime.store(nullptr, std::memory_order_release);
  }
  if (session == nullptr || session->local != nullptr) return;
  // The job ends: raylets end its workers.
  rpc::MarkJobFinishedRequest finished;
  finished.set_job_id(session->job_id.Binary());
  rpc::CallOptions call;
  call.timeout_ms = 2000;
  call.retry = true;  // idempotent; a shutdown waits for it 5 s at most
  call.retry_budget_ms = 5000;
  (void)session->gcs->client().CallSync(&rpc::GcsService::Stub::async::MarkJobFinished, finished, call);
  session->core->Stop();
  session->runtime.reset();
  session->core.reset();
  session->gcs.reset();
  if (session->head) StopHead(*session->head);
  rpc::UsePlainTcp();
}

}  // namespace orrery
