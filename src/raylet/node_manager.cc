#include "src/raylet/node_manager.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/common/clock.h"
#include "src/common/log.h"
#include "src/common/runtime_env.h"
#include "src/common/status.h"
#include "src/gcs/node_trust.h"
#include "src/rpc/auth.h"

namespace orrery::raylet {

NodeManager::NodeManager(boost::asio::io_context& io, Options options, ResourceSet total, gcs::GcsClient& gcs,
                         FatalCallback on_fatal)
    : io_(io),
      options_(std::move(options)),
      gcs_(gcs),
      on_fatal_(std::move(on_fatal)),
      resources_(std::move(total)),
      pool_(io, options_.pool, [this](const JobId& job) { return FindJob(job); },
            [this](const std::shared_ptr<Worker>& worker, rpc::ExitType type, const std::string& detail) {
              OnProcessDeath(worker, type, detail);
            }),
      leases_(io, options_.leases, resources_, pool_, cluster_,
              [this](const JobId& job, std::function<void(absl::Status)> done) { CheckJob(job, std::move(done)); },
              [this](const JobId& job, std::function<void(absl::Status)> done) {
                PrepareWorkingDir(job, std::move(done));
              }),
      bundles_(resources_, [this](const PlacementGroupId& group) { leases_.EndLeasesOfGroup(group); }),
      working_dirs_(io, options_.working_dir_root,
                    [this](const std::string& package, auto done) { FetchPackage(package, std::move(done)); }),
      memory_monitor_(io, options_.memory, [this](const MemoryUsage& usage) { OnMemoryPressure(usage); }),
      report_timer_(io) {}

void NodeManager::Start() {
  pool_.Start();
  leases_.Start();
  // Demand and availability reach `orrery status` promptly, not only on the period.
  leases_.set_on_change([this] { ScheduleReport(kChangeReportMs); });
  last_report_ok_ms_ = MonotonicMs();
  ScheduleReport(0);
  memory_monitor_.Start();
}

void NodeManager::Stop() {
  if (stopped_) return;
  stopped_ = true;
  report_timer_.cancel();
  memory_monitor_.Stop();
  leases_.Stop();
  pool_.Stop();
}

// ---- jobs ----

std::optional<JobLaunch> NodeManager::FindJob(const JobId& job_id) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.state() != rpc::JobInfo::RUNNING) return std::nullopt;
  JobLaunch job{&it->second.config(), ""};
  if (const std::string& package = it->second.config().working_dir_package(); !package.empty()) {
    job.working_dir = working_dirs_.Find(package);
    if (job.working_dir.empty()) return std::nullopt;  // not unpacked here yet (PrepareWorkingDir)
  }
  return job;
}

void NodeManager::CheckJob(const JobId& job_id, std::function<void(absl::Status)> done) {
  auto answer = [job_id](const rpc::JobInfo& job) {
    if (job.state() == rpc::JobInfo::FINISHED) {
      return absl::FailedPreconditionError("job " + job_id.Hex() + " has finished");
    }
    if (job.config().worker_command().empty()) {
      return absl::FailedPreconditionError("job " + job_id.Hex() + " registered no worker command");
    }
    return absl::OkStatus();
  };
  if (auto it = jobs_.find(job_id); it != jobs_.end()) return done(answer(it->second));
  // Not heard of yet (the JOB channel may lag a new driver): ask the GCS, once per job.
  auto& waiting = job_fetches_[job_id];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;
  rpc::GetJobRequest request;
  request.set_job_id(job_id.Binary());
  gcs_.GetJob(request, [this, job_id, answer](absl::StatusOr<rpc::GetJobReply> reply) {
    auto callbacks = std::move(job_fetches_[job_id]);
    job_fetches_.erase(job_id);
    absl::Status status;
    if (reply.ok()) {
      jobs_.try_emplace(job_id, reply->job());
      status = answer(jobs_[job_id]);
    } else if (absl::IsNotFound(reply.status())) {
      status = absl::NotFoundError("unknown job " + job_id.Hex());
    } else {
      status = Annotate(reply.status(), "looking up job " + job_id.Hex());
    }
    for (auto& callback : callbacks) callback(status);
  });
}

void NodeManager::PrepareWorkingDir(const JobId& job_id, std::function<void(absl::Status)> done) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.config().working_dir_package().empty()) return done(absl::OkStatus());
  working_dirs_.Ensure(it->second.config().working_dir_package(),
                       [this, job_id, done = std::move(done)](absl::StatusOr<std::string> folder) {
                         if (folder.ok()) return done(absl::OkStatus());
                         done(RuntimeEnvSetupError(absl::StrCat(
                             "node ", options_.node_id.Hex(), " (", options_.node_ip,
                             ") cannot set up the working_dir of job ", job_id.Hex(), ": ", folder.status().message())));
                       });
}

void NodeManager::FetchPackage(const std::string& package, std::function<void(absl::StatusOr<std::string>)> done) {
  rpc::KvGetRequest request;
  request.set_namespace_(kWorkingDirKvNamespace);
  request.set_key(package);
  gcs_.KvGet(request, [package, done = std::move(done)](absl::StatusOr<rpc::KvGetReply> reply) {
    if (!reply.ok()) return done(reply.status());
    if (!reply->found()) return done(absl::NotFoundError("the GCS has no package " + package));
    done(std::move(*reply->mutable_value()));
  });
}

// ---- the change feed ----

void NodeManager::OnNodeMessage(const rpc::PubsubMessage& message) {
  // After Stop() the node unregisters, and hears of its own "death": that is no failure.
  if (stopped_) return;
  if (message.snapshot_end()) {
    cluster_.Retain(snapshot_nodes_);
    snapshot_nodes_.clear();
    leases_.OnClusterChanged();
    return;
  }
  if (!message.has_node()) return;
  const rpc::NodeInfo& node = message.node();
  auto node_id = NodeId::FromBinary(node.node_id());
  if (!node_id.ok()) return;
  if (message.snapshot() && node.state() == rpc::NodeInfo::ALIVE) snapshot_nodes_[*node_id] = true;
  cluster_.Update(node);
  if (node.state() == rpc::NodeInfo::DEAD) {
    if (*node_id == options_.node_id) {
      on_fatal_("the GCS declared this node dead: " + node.death_reason());
      return;
    }
    // Its key may be in anyone's hands now: its certificate opens nothing here any more.
    rpc::RefuseCertificatesNamed(node_id->Hex());
    leases_.OnHolderNodeDied(*node_id);
  }
  leases_.OnClusterChanged();
}

void NodeManager::OnResourceViewMessage(const rpc::PubsubMessage& message) {
  if (stopped_ || !message.has_resource_usage()) return;
  if (message.resource_usage().node_id() == options_.node_id.Binary()) return;  // known first-hand
  cluster_.UpdateUsage(message.resource_usage());
  leases_.OnClusterChanged();
}

void NodeManager::OnJobMessage(const rpc::PubsubMessage& message) {
  if (!message.has_job()) return;
  auto job_id = JobId::FromBinary(message.job().job_id());
  if (!job_id.ok()) return;
  bool was_running = jobs_.contains(*job_id) && jobs_[*job_id].state() == rpc::JobInfo::RUNNING;
  jobs_[*job_id] = message.job();
  if (message.job().state() == rpc::JobInfo::FINISHED && (was_running || !message.snapshot())) {
    leases_.OnJobFinished(*job_id);
    pool_.OnJobFinished(*job_id);
    ReleaseWorkingDir(message.job().config().working_dir_package());
  }
}

void NodeManager::ReleaseWorkingDir(const std::string& package) {
  if (package.empty()) return;
  for (const auto& [id, job] : jobs_) {
    if (job.state() == rpc::JobInfo::RUNNING && job.config().working_dir_package() == package) return;
  }
  working_dirs_.Release(package);
}

void NodeManager::OnWorkerDeathMessage(const rpc::PubsubMessage& message) {
  if (!message.has_worker_death()) return;
  // Whoever died may have held leases here.
  if (auto worker_id = WorkerId::FromBinary(message.worker_death().worker_id()); worker_id.ok()) {
    leases_.OnHolderDied(*worker_id);
    if (options_.on_owner_died) options_.on_owner_died(*worker_id);
  }
}

// ---- processes ----

void NodeManager::OnProcessDeath(const std::shared_ptr<Worker>& worker, rpc::ExitType exit_type,
                                 const std::string& detail) {
  leases_.OnWorkerDied(worker);
  // Drivers and workers (an actor submitting tasks) hold leases; a death the raylet caused
  // itself is never reported back through the GCS, so its leases end here.
  leases_.OnHolderDied(worker->id);
  // Every exit, intended or not: an owner's objects cannot outlive it.
  if (options_.on_owner_died) options_.on_owner_died(worker->id);
  if (exit_type == rpc::INTENDED_EXIT && worker->type == rpc::WORKER) return;
  if (worker->type == rpc::WORKER) {
    spdlog::warn("worker {} (pid {}) of job {} died: {}", worker->id.ShortHex(), worker->pid,
                 worker->key.job_id.Hex(), detail);
  }
  rpc::ReportWorkerFailureRequest request;
  rpc::WorkerDeath* death = request.mutable_death();
  death->set_worker_id(worker->id.Binary());
  death->set_node_id(options_.node_id.Binary());
  death->set_job_id(worker->key.job_id.Binary());
  death->set_pid(worker->pid);
  death->set_worker_type(worker->type);
  death->set_exit_type(exit_type);
  death->set_detail(detail);
  if (!worker->lease_id.IsNil()) {
    death->set_lease_id(worker->lease_id.Binary());
    death->set_lease_holder_id(worker->lease_holder.Binary());
  }
  death->set_time_ms(NowMs());
  gcs_.ReportWorkerFailure(request, [](absl::StatusOr<rpc::ReportWorkerFailureReply> reply) {
    if (!reply.ok()) spdlog::error("reporting a worker failure to the GCS: {}", reply.status().message());
  });
}

void NodeManager::OnMemoryPressure(const MemoryUsage& usage) {
  if (auto last = last_killed_for_memory_.lock(); last != nullptr && !last->exited) return;
  std::shared_ptr<Worker> victim = leases_.PickWorkerToKillForMemory();
  if (victim == nullptr) {
    if (!warned_nothing_to_kill_) {
      spdlog::warn("memory monitor: the host's memory use {:.2f} is over the threshold {:.2f}, and no worker "
                   "runs here to kill", usage.fraction(), options_.memory.threshold);
    }
    warned_nothing_to_kill_ = true;
    return;
  }
  warned_nothing_to_kill_ = false;
  std::string reason = absl::StrFormat(
      "worker process %d was killed by the memory monitor of node %s: the host's memory use %.2f (%d of %d "
      "bytes) was over the threshold %.2f",
      victim->pid, options_.node_id.Hex(), usage.fraction(), usage.used_bytes, usage.total_bytes,
      options_.memory.threshold);
  spdlog::warn("{}", reason);
  ++oom_kills_;
  last_killed_for_memory_ = victim;
  pool_.KillForMemory(victim, reason);
  ScheduleReport(kChangeReportMs);  // `orrery status` shows the kill soon
}

// ---- NodeManagerService ----

void NodeManager::HandleRequestWorkerLease(const rpc::RequestWorkerLeaseRequest& request,
                                           rpc::RequestWorkerLeaseReply* reply, ReplyCallback done) {
  leases_.RequestLease(request, reply, std::move(done));
}

void NodeManager::HandleCancelWorkerLease(const rpc::CancelWorkerLeaseRequest& request,
                                          rpc::CancelWorkerLeaseReply* reply, ReplyCallback done) {
  leases_.CancelLease(request, reply, std::move(done));
}

void NodeManager::HandleReturnWorker(const rpc::ReturnWorkerRequest& request, rpc::ReturnWorkerReply* reply,
                                     ReplyCallback done) {
  leases_.ReturnWorker(request, reply, std::move(done));
}

void NodeManager::HandleReleaseLeasesOfHolder(const rpc::ReleaseLeasesOfHolderRequest& request,
                                              rpc::ReleaseLeasesOfHolderReply* reply, ReplyCallback done) {
  auto holder = WorkerId::FromBinary(request.holder_id());
  if (!holder.ok()) return done(Annotate(holder.status(), "ReleaseLeasesOfHolder holder_id"));
  absl::flat_hash_set<LeaseId> keep;
  for (const std::string& binary : request.keep_lease_ids()) {
    auto id = LeaseId::FromBinary(binary);
    if (!id.ok()) return done(Annotate(id.status(), "ReleaseLeasesOfHolder keep_lease_ids"));
    keep.insert(*id);
  }
  std::string reason = request.reason().empty() ? "its lease holder is gone" : request.reason();
  reply->set_released(leases_.EndLeasesOfHolder(*holder, keep, reason));
  done(absl::OkStatus());
}

void NodeManager::HandleRegisterWorker(const rpc::RegisterWorkerRequest& request, rpc::RegisterWorkerReply* reply,
                                       ReplyCallback done) {
  absl::Status status = pool_.RegisterWorker(request);
  if (status.ok()) {
    reply->set_node_id(options_.node_id.Binary());
    reply->set_node_ip(options_.node_ip);
    reply->set_object_store_socket(options_.object_store_socket);
  }
  done(status);
}

void NodeManager::HandleNotifyWorkerBlocked(const rpc::NotifyWorkerBlockedRequest& request,
                                            rpc::NotifyWorkerBlockedReply* reply, ReplyCallback done) {
  auto worker_id = WorkerId::FromBinary(request.worker_id());
  if (!worker_id.ok()) return done(Annotate(worker_id.status(), "NotifyWorkerBlocked"));
  done(leases_.SetBlocked(*worker_id, request.blocked()));
}

void NodeManager::HandleHealthCheck(const rpc::HealthCheckRequest& request, rpc::HealthCheckReply* reply,
                                    ReplyCallback done) {
  done(absl::OkStatus());
}

void NodeManager::HandleGetNodeStats(const rpc::GetNodeStatsRequest& request, rpc::GetNodeStatsReply* reply,
                                     ReplyCallback done) {
  reply->set_node_id(options_.node_id.Binary());
  resources_.total().ToProto(reply->mutable_total());
  resources_.available().ToProto(reply->mutable_available());
  pool_.FillStats(reply);
  reply->set_pending_leases(leases_.num_pending());
  reply->set_leases_granted(leases_.total_granted());
  reply->set_pid(getpid());
  done(absl::OkStatus());
}

// ---- placement-group bundles ----

absl::StatusOr<rpc::PrepareBundlesReply> NodeManager::PrepareBundles(const rpc::PrepareBundlesRequest& request) {
  auto reply = bundles_.Prepare(request);
  if (reply.ok()) {
    reply->set_in_report_seq(report_seq_ + 1);
    ScheduleReport(kChangeReportMs);
  }
  return reply;
}

absl::Status NodeManager::CommitBundles(const rpc::CommitBundlesRequest& request) {
  absl::Status status = bundles_.Commit(request);
  if (status.ok()) OnResourcesChanged(/*report_soon=*/true);
  return status;
}

rpc::CancelBundlesReply NodeManager::CancelBundles(const rpc::CancelBundlesRequest& request) {
  bundles_.Cancel(request);
  OnResourcesChanged(/*report_soon=*/false);
  rpc::CancelBundlesReply reply;
  reply.set_in_report_seq(report_seq_ + 1);
  return reply;
}

void NodeManager::OnResourcesChanged(bool report_soon) {
  leases_.OnClusterChanged();
  // Other raylets route work to a new bundle from this report: that one goes within
  // kPromptReportMs (commits in a burst share it).
  ScheduleReport(report_soon ? kPromptReportMs : kChangeReportMs);
}

// ---- reporting to the GCS ----

void NodeManager::ScheduleReport(int64_t delay_ms) {
  if (stopped_) return;
  // A report already due as soon covers this one too: changes in a burst share one report.
  int64_t due_ms = MonotonicMs() + delay_ms;
  if (report_due_ms_ != 0 && report_due_ms_ <= due_ms) return;
  report_due_ms_ = due_ms;
  report_timer_.expires_after(std::chrono::milliseconds(delay_ms));
  report_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    report_due_ms_ = 0;
    ReportUsage();
    ScheduleReport(options_.report_period_ms);
  });
}

void NodeManager::SetRegistration(rpc::RegisterNodeRequest registration, std::string cluster_id,
                                  std::string gcs_instance_id) {
  registration_ = std::move(registration);
  registration_.set_cluster_id(cluster_id);
  cluster_id_ = std::move(cluster_id);
  gcs_instance_id_ = std::move(gcs_instance_id);
}

void NodeManager::Reregister(const char* why) {
  if (reregistering_ || cluster_id_.empty()) return;
  reregistering_ = true;
  spdlog::warn("the GCS at {} {}: registering again", options_.gcs_address, why);
  // What this node hosts now, for the GCS to reconcile its restored tables against.
  rpc::RegisterNodeRequest request = registration_;
  leases_.ReportGranted(request.mutable_hosted());
  bundles_.ReportCommitted(request.mutable_hosted());
  gcs_.RegisterNode(request, [this](absl::StatusOr<rpc::RegisterNodeReply> reply) {
    reregistering_ = false;
    if (stopped_) return;
    if (absl::IsFailedPrecondition(reply.status())) return on_fatal_(std::string(reply.status().message()));
    if (!reply.ok()) {
      spdlog::warn("registering again with the GCS: {} (trying again with the next report)", reply.status().message());
      return;
    }
    if (reply->cluster_id() != cluster_id_) {
      return on_fatal_(absl::StrCat("the GCS at ", options_.gcs_address,
                                    " restarted without its storage and now serves another cluster: this node's "
                                    "workers and objects belonged to the old one"));
    }
    spdlog::info("registered again with the GCS at {}", options_.gcs_address);
    gcs_instance_id_ = reply->gcs_instance_id();
    last_report_ok_ms_ = MonotonicMs();
  });
}

void NodeManager::ReportUsage() {
  rpc::ReportResourceUsageRequest request;
  rpc::NodeResourceUsage* usage = request.mutable_usage();
  usage->set_node_id(options_.node_id.Binary());
  usage->set_report_seq(++report_seq_);
  resources_.total().ToProto(usage->mutable_total());
  // A blocked worker's lent CPUs may drive "available" below zero for a while; report 0.
  ResourceSet available;
  for (const auto& [name, value] : resources_.available().quantities()) {
    if (value > FixedPoint()) available.Set(name, value);
  }
  available.ToProto(usage->mutable_available());
  for (auto& demand : leases_.Demands()) *usage->add_demands() = std::move(demand);
  usage->set_num_workers(pool_.num_workers());
  usage->set_num_leases(leases_.num_granted());
  usage->set_memory_used_bytes(memory_monitor_.last().used_bytes);
  usage->set_memory_total_bytes(memory_monitor_.last().total_bytes);
  usage->set_oom_kills(oom_kills_);
  if (options_.store_counters) {
    object_store::StoreCounters store = options_.store_counters();
    usage->set_object_store_used_bytes(store.used_bytes);
    usage->set_object_store_objects(store.num_objects);
  }
  if (options_.trust) {
    if (std::optional<rpc::NodeTrust> trust = options_.trust()) *usage->mutable_trust() = *std::move(trust);
  }
  gcs_.ReportResourceUsage(request, [this, sent = usage->trust()](absl::StatusOr<rpc::ReportResourceUsageReply> reply) {
    if (stopped_) return;
    if (reply.ok()) {
      last_report_ok_ms_ = MonotonicMs();
      // The cluster CA rotates, and this node is not yet where the phase wants it.
      if (reply->has_wanted_trust() && options_.renew_certificate_now && !gcs::SameTrust(sent, reply->wanted_trust())) {
        options_.renew_certificate_now();
      }
      // A GCS restored from storage knows this node, but not what it does now.
      if (!gcs_instance_id_.empty() && reply->gcs_instance_id() != gcs_instance_id_) Reregister("restarted");
      return;
    }
    if (absl::IsNotFound(reply.status())) return Reregister("restarted and does not know this node");
    if (absl::IsUnauthenticated(reply.status())) {
      // It accepted this token when the node registered: the GCS there serves another cluster now.
      return on_fatal_(absl::StrCat("the GCS at ", options_.gcs_address,
                                    " no longer accepts this cluster's token: it serves another cluster now"));
    }
    int64_t silent = MonotonicMs() - last_report_ok_ms_;
    spdlog::warn("resource report to the GCS failed ({} ms without contact): {}", silent, reply.status().message());
    if (silent > options_.gcs_lost_timeout_ms) {
      on_fatal_(absl::StrCat("cannot reach the GCS at ", options_.gcs_address, " for ", silent, " ms"));
    }
  });
}

}  // namespace orrery::raylet
