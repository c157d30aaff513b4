#include "tests/integration/test_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "orrery/version.h"
#include "src/common/clock.h"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "src/common/status.h"

#ifndef ORRERY_TEST_BIN_DIR
#error "ORRERY_TEST_BIN_DIR must name the build's bin directory"
#endif

namespace orrery::testing {

std::string BinDir() { return ORRERY_TEST_BIN_DIR; }

namespace {

// Asks a daemon to stop (so its shutdown runs, under the sanitizers too), then kills what is
// left of its process group.
void Stop(pid_t pid, int pidfd) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  if (pidfd >= 0) WaitForExit(pidfd, 10'000);
  kill(-pid, SIGKILL);
  if (pidfd >= 0) {
    TryReap(pidfd);
    close(pidfd);
  }
}

void Kill(pid_t pid, int pidfd) {
  if (pid <= 0) return;
  kill(-pid, SIGKILL);
  if (pidfd >= 0) {
    WaitForExit(pidfd, 5000);
    TryReap(pidfd);
    close(pidfd);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestCluster>> TestCluster::Start(ClusterOptions options) {
  std::unique_ptr<TestCluster> cluster(new TestCluster());
  char root[] = "/tmp/ot-XXXXXX";
  if (mkdtemp(root) == nullptr) return absl::InternalError("mkdtemp failed");
  cluster->root_ = root;
  ORRERY_ASSIGN_OR_RETURN(cluster->session_, CreateSession(cluster->root_));
  cluster->token_ = GenerateToken();
  ORRERY_RETURN_IF_ERROR(WriteToken(cluster->session_.TokenFile(), cluster->token_));
  std::vector<std::string> args = {"--port=0", "--host=127.0.0.1", "--session-dir=" + cluster->session_.path(),
                                   "--token-file=" + cluster->session_.TokenFile(),
                                   absl::StrCat("--health-check-period-ms=", options.health_check_period_ms),
                                   absl::StrCat("--health-check-failure-threshold=",
                                                options.health_check_failure_threshold)};
  args.insert(args.end(), options.gcs_flags.begin(), options.gcs_flags.end());
  ORRERY_ASSIGN_OR_RETURN(cluster->gcs_daemon_,
                          launcher::StartDaemon(BinDir() + "/orrery-gcs", args,
                                                cluster->session_.LogsDir() + "/gcs.out", 20'000,
                                                /*die_with_caller=*/true));
  cluster->gcs_port_ = cluster->gcs_daemon_.ready.value("port", 0);
  cluster->gcs_address_ = absl::StrCat("127.0.0.1:", cluster->gcs_port_);
  ORRERY_RETURN_IF_ERROR(
      WriteClusterRecord(cluster->session_, {cluster->gcs_address_, "", ORRERY_VERSION_STRING, NowMs(), true}));
  cluster->gcs_ = std::make_unique<gcs::GrpcGcsClient>(
      cluster->gcs_address_, rpc::ClientOptions{"GCS", cluster->token_, rpc::RpcOptions()});
  if (options.start_raylet) ORRERY_RETURN_IF_ERROR(cluster->AddRaylet(options.head).status());
  return cluster;
}

TestCluster::~TestCluster() {
  for (auto& driver : drivers_) Kill(driver.pid, driver.pidfd);
  for (auto& raylet : raylets_) {
    raylet->client.reset();
    Stop(raylet->pid, raylet->pidfd);
  }
  gcs_.reset();
  Stop(gcs_daemon_.pid, gcs_daemon_.pidfd);
  // ORRERY_TEST_KEEP_DIR=1 keeps the logs of a failed run for reading.
  if (getenv("ORRERY_TEST_KEEP_DIR") == nullptr) RemoveAll(root_).IgnoreError();
}

absl::StatusOr<RayletProcess*> TestCluster::AddRaylet(const RayletOptions& options) {
  std::vector<std::string> args = {"--gcs-address=" + gcs_address_,
                                   "--node-ip-address=127.0.0.1",
                                   "--session-dir=" + session_.path(),
                                   "--temp-dir=" + root_,
                                   "--token-file=" + session_.TokenFile(),
                                   absl::StrCat("--num-cpus=", options.num_cpus),
                                   absl::StrCat("--num-gpus=", options.num_gpus),
                                   "--gcs-connect-timeout-ms=10000"};
  if (!options.resources.empty()) args.push_back("--resources=" + options.resources);
  args.insert(args.end(), options.extra_flags.begin(), options.extra_flags.end());
  // The raylet and its workers inherit these (a fake CUDA_VISIBLE_DEVICES, say).
  std::map<std::string, std::string> saved;
  for (const auto& [name, value] : options.env) {
    if (const char* old = getenv(name.c_str())) saved[name] = old;
    setenv(name.c_str(), value.c_str(), 1);
  }
  auto daemon = launcher::StartDaemon(BinDir() + "/orrery-raylet", args,
                                      absl::StrCat(session_.LogsDir(), "/raylet-", raylets_.size(), ".out"), 20'000,
                                      /*die_with_caller=*/true);
  for (const auto& [name, value] : options.env) {
    if (saved.contains(name)) {
      setenv(name.c_str(), saved[name].c_str(), 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  if (!daemon.ok()) return daemon.status();
  auto raylet = std::make_unique<RayletProcess>();
  raylet->pid = daemon->pid;
  raylet->pidfd = daemon->pidfd;
  raylet->port = daemon->ready.value("port", 0);
  ORRERY_ASSIGN_OR_RETURN(raylet->node_id, NodeId::FromHex(daemon->ready.value("node_id", "")));
  raylet->socket = "unix:" + daemon->ready.value("socket", "");
  raylet->client = std::make_unique<raylet::GrpcRayletClient>(
      absl::StrCat("127.0.0.1:", raylet->port), rpc::ClientOptions{"raylet", token_, rpc::RpcOptions()});
  raylets_.push_back(std::move(raylet));
  return raylets_.back().get();
}

absl::StatusOr<JobId> TestCluster::CreateJob(const std::map<std::string, std::string>& env,
                                             std::vector<std::string> command) {
  ORRERY_ASSIGN_OR_RETURN(auto next, Gcs(&rpc::GcsService::Stub::async::GetNextJobId, rpc::GetNextJobIdRequest()));
  rpc::AddJobRequest add;
  rpc::JobInfo* job = add.mutable_job();
  job->set_job_id(next.job_id());
  job->set_version(ORRERY_VERSION_STRING);
  job->set_driver_pid(getpid());
  if (command.empty()) command.push_back(BinDir() + "/orrery-test-worker");
  for (const auto& arg : command) job->mutable_config()->add_worker_command(arg);
  for (const auto& [name, value] : env) (*job->mutable_config()->mutable_env())[name] = value;
  ORRERY_RETURN_IF_ERROR(Gcs(&rpc::GcsService::Stub::async::AddJob, add).status());
  return JobId::FromBinary(next.job_id());
}

absl::StatusOr<TestCluster::Driver> TestCluster::StartDriver(size_t raylet_index) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  SpawnOptions spawn;
  spawn.argv = {BinDir() + "/orrery-test-worker", "--driver", gcs_address_, raylets_.at(raylet_index)->socket};
  spawn.env["ORRERY_TOKEN"] = token_;
  spawn.die_with_parent = true;
  spawn.new_session = true;
  spawn.stdout_path = absl::StrCat("/proc/self/fd/", out[1]);
  spawn.inherit_fds = {out[1]};
  auto child = Spawn(spawn);
  close(out[1]);
  if (!child.ok()) {
    close(out[0]);
    return child.status();
  }
  // The driver prints "JOB <hex> WORKER <hex>" once registered.
  FILE* stream = fdopen(out[0], "r");
  char line[256] = {0};
  bool got = fgets(line, sizeof(line), stream) != nullptr;
  fclose(stream);
  char job_hex[64] = {0}, worker_hex[64] = {0};
  if (!got || sscanf(line, "JOB %63s WORKER %63s", job_hex, worker_hex) != 2) {
    Kill(child->pid, child->pidfd);
    return absl::InternalError(std::string("the test driver did not register: ") + line);
  }
  Driver driver;
  driver.pid = child->pid;
  driver.pidfd = child->pidfd;
  ORRERY_ASSIGN_OR_RETURN(driver.job_id, JobId::FromHex(job_hex));
  ORRERY_ASSIGN_OR_RETURN(driver.worker_id, WorkerId::FromHex(worker_hex));
  drivers_.push_back(driver);
  return driver;
}

void TestCluster::KillRaylet(size_t index, int sig) {
  RayletProcess& raylet = *raylets_.at(index);
  kill(raylet.pid, sig);
  if (raylet.pidfd >= 0) WaitForExit(raylet.pidfd, 10'000);
}

rpc::RequestWorkerLeaseRequest LeaseRequest(const JobId& job, const std::map<std::string, double>& resources,
                                            const WorkerId& holder, int64_t wait_ms, LeaseId lease_id) {
  rpc::RequestWorkerLeaseRequest request;
  rpc::LeaseSpec* lease = request.mutable_lease();
  lease->set_lease_id(lease_id.Binary());
  lease->set_job_id(job.Binary());
  for (const auto& [name, value] : resources) {
    (*lease->mutable_resources()->mutable_quantities())[name] = FixedPoint::FromDouble(value).raw();
  }
  lease->mutable_holder()->set_worker_id(holder.Binary());
  request.set_wait_ms(wait_ms);
  return request;
}

bool Eventually(const std::function<bool()>& condition, int64_t timeout_ms) {
  int64_t deadline = MonotonicMs() + timeout_ms;
  while (true) {
    if (condition()) return true;
    if (MonotonicMs() > deadline) return false;
    // Re-check the condition every 20 ms until the deadline.
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace orrery::testing
