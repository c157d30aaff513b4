// `orrery logs`: the log files of any node, read through its raylet's LogService. Without a
// selector it lists them; with a file name, or a worker, actor, task or job, it prints the
// files that belong to it, from wherever they are in the cluster.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "orrery/gcs.grpc.pb.h"
#include "orrery/log_service.grpc.pb.h"
#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/common/id.h"
#include "src/state/format.h"
#include "src/state/state_sources.h"
#include "src/state/table.h"

namespace orrery::cli {

using state::AliveRaylets;
using state::FetchTaskEvents;
using state::HumanBytes;
using state::LocalTime;
using state::PrintTable;
using state::RayletAddress;
using state::RayletClient;
using state::SelectRaylets;

namespace {

constexpr int64_t kRayletTimeoutMs = 5'000;
// How often a followed file is asked for more (as `tail -f` checks once a second).
constexpr auto kFollowPeriod = std::chrono::milliseconds(500);

struct LogsFlags {
  ClusterFlags cluster;
  std::string node;
  std::string job, actor, task, worker;
  std::string file;
  bool follow = false;
  int64_t tail = -1;
};

// One alive node and a client of its raylet's LogService.
struct Node {
  std::string id_hex;
  std::string address;
  std::shared_ptr<rpc::GrpcClient<rpc::LogService>> logs;
};

// The files to print: on which node, and which names (a name is a prefix to list by, or a file).
struct Target {
  std::string node_hex;
  std::string prefix;
};

absl::StatusOr<std::vector<Node>> AliveNodes(const ClusterConnection& cluster, const std::string& node_prefix) {
  auto raylets = AliveRaylets(cluster);
  if (!raylets.ok()) return raylets.status();
  if (raylets->empty()) return absl::NotFoundError("the cluster has no alive node");
  auto selected = SelectRaylets(std::move(*raylets), node_prefix);
  if (!selected.ok()) return selected.status();
  std::vector<Node> alive;
  for (const RayletAddress& raylet : *selected) {
    alive.push_back(Node{NodeId::FromBinary(raylet.node_id).value_or(NodeId()).Hex(), raylet.address,
                         RayletClient<rpc::LogService>(cluster, raylet.address)});
  }
  return alive;
}

// The files of a worker are named after it: worker-<id>.log, .out and .err.
Target WorkerFiles(const std::string& node_binary, const std::string& worker_binary) {
  return {NodeId::FromBinary(node_binary).value_or(NodeId()).Hex(),
          "worker-" + WorkerId::FromBinary(worker_binary).value_or(WorkerId()).Hex()};
}

absl::StatusOr<std::vector<Target>> ActorTargets(const ClusterConnection& cluster, const std::string& actor_hex) {
  auto id = ActorId::FromHex(actor_hex);
  if (!id.ok()) return absl::InvalidArgumentError("'" + actor_hex + "' is not an actor id (`orrery list actors`)");
  rpc::GetActorInfoRequest request;
  request.set_actor_id(id->Binary());
  auto actor = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetActorInfo, request);
  if (!actor.ok()) {
    if (absl::IsNotFound(actor.status())) return absl::NotFoundError("no actor '" + actor_hex + "'");
    return actor.status();
  }
  const rpc::WorkerAddress& address = actor->actor().address();
  if (address.worker_id().empty()) {
    return absl::NotFoundError("actor '" + actor_hex + "' has no worker yet (it is " +
                               rpc::ActorInfo::State_Name(actor->actor().state()) + ")");
  }
  return std::vector<Target>{WorkerFiles(address.node_id(), address.worker_id())};
}

// The workers that ran the attempts of the task (or of every task of the job), from the
// GCS's task events.
absl::StatusOr<std::vector<Target>> TaskTargets(const ClusterConnection& cluster, const std::string& task_hex,
                                                const std::string& job_binary) {
  auto events = FetchTaskEvents(cluster, job_binary);
  if (!events.ok()) return events.status();
  std::set<std::pair<std::string, std::string>> workers;
  for (const rpc::TaskAttempt& attempt : events->tasks()) {
    if (!task_hex.empty() && !absl::StartsWith(TaskId::FromBinary(attempt.task_id()).value_or(TaskId()).Hex(), task_hex)) {
      continue;
    }
    if (!attempt.worker_id().empty()) workers.emplace(attempt.node_id(), attempt.worker_id());
  }
  std::vector<Target> targets;
  for (const auto& [node, worker] : workers) targets.push_back(WorkerFiles(node, worker));
  if (targets.empty() && !task_hex.empty()) {
    return absl::NotFoundError("no task '" + task_hex + "' that ran on a worker (`orrery list tasks`)");
  }
  return targets;
}

absl::StatusOr<std::vector<Target>> JobTargets(const ClusterConnection& cluster, const std::string& job_hex) {
  auto id = JobId::FromHex(job_hex);
  if (!id.ok()) return absl::InvalidArgumentError("'" + job_hex + "' is not a job id (`orrery list jobs`)");
  rpc::GetJobRequest request;
  request.set_job_id(id->Binary());
  auto job = CallGcs<rpc::GcsService>(cluster, &rpc::GcsService::Stub::async::GetJob, request);
  if (!job.ok()) {
    if (absl::IsNotFound(job.status())) return absl::NotFoundError("no job '" + job_hex + "'");
    return job.status();
  }
  // The driver's own log, then its workers'.
  std::vector<Target> targets = {
      {NodeId::FromBinary(job->job().driver_node_id()).value_or(NodeId()).Hex(), "driver-" + job_hex}};
  auto workers = TaskTargets(cluster, "", id->Binary());
  if (!workers.ok()) return workers.status();
  targets.insert(targets.end(), workers->begin(), workers->end());
  return targets;
}

// A file being printed: where it is and how far it has been read.
struct OpenFile {
  const Node* node;
  std::string name;
  int64_t offset = 0;
};

// Prints what is new in `file` (from its offset, or its last `tail` lines the first time);
// false when the raylet did not answer.
bool PrintNew(OpenFile& file, int64_t tail, bool with_header, std::string& error) {
  bool first = true;
  while (true) {
    rpc::ReadLogRequest request;
    request.set_name(file.name);
    request.set_offset(file.offset);
    if (first && tail >= 0 && file.offset == 0) request.set_tail_lines(tail);
    rpc::CallOptions call;
    call.timeout_ms = kRayletTimeoutMs;
    auto piece = file.node->logs->CallSync(&rpc::LogService::Stub::async::ReadLog, request, call);
    if (!piece.ok()) {
      error = "reading " + file.name + " on node " + file.node->id_hex + ": " +
              DescribeCallError(piece.status(), file.node->address);
      return false;
    }
    if (tail == 0 && first && file.offset == 0) piece->set_data("");  // --tail 0: from the end on
    if (!piece->data().empty()) {
      if (with_header) printf("\n==> node %s: %s <==\n", file.node->id_hex.substr(0, 8).c_str(), file.name.c_str());
      with_header = false;
      fwrite(piece->data().data(), 1, piece->data().size(), stdout);
    }
    file.offset = tail == 0 && first && file.offset == 0 ? piece->size() : piece->next_offset();
    first = false;
    if (piece->next_offset() >= piece->size() || piece->data().empty()) break;
  }
  fflush(stdout);
  return true;
}

int ListFiles(const std::vector<Node>& nodes) {
  std::vector<std::vector<std::string>> rows = {{"NODE", "FILE", "SIZE", "MODIFIED"}};
  int failed = 0;
  for (const Node& node : nodes) {
    rpc::CallOptions call;
    call.timeout_ms = kRayletTimeoutMs;
    auto files = node.logs->CallSync(&rpc::LogService::Stub::async::ListLogs, rpc::ListLogsRequest(), call);
    if (!files.ok()) {
      fprintf(stderr, "orrery logs: skipped node %s: %s\n", node.id_hex.c_str(),
              DescribeCallError(files.status(), node.address).c_str());
      ++failed;
      continue;
    }
    for (const rpc::LogFile& file : files->files()) {
      rows.push_back({node.id_hex, file.name(), HumanBytes(file.size()), LocalTime(file.modified_ms())});
    }
  }
  PrintTable(rows);
  return failed == static_cast<int>(nodes.size()) ? 1 : 0;
}

int RunLogs(const LogsFlags& flags) {
  int selectors = !flags.job.empty() + !flags.actor.empty() + !flags.task.empty() + !flags.worker.empty();
  if (selectors > 1) return Fail("logs", "give at most one of --job, --actor, --task and --worker");
  if (selectors == 1 && !flags.file.empty()) return Fail("logs", "give a file name or a selector, not both");
  auto cluster = ConnectToCluster(flags.cluster);
  if (!cluster.ok()) return Fail("logs", std::string(cluster.status().message()));
  auto nodes = AliveNodes(*cluster, flags.node);
  if (!nodes.ok()) return Fail("logs", std::string(nodes.status().message()));
  if (selectors == 0 && flags.file.empty()) return ListFiles(*nodes);

  absl::StatusOr<std::vector<Target>> targets = std::vector<Target>{};
  if (!flags.actor.empty()) {
    targets = ActorTargets(*cluster, flags.actor);
  } else if (!flags.task.empty()) {
    targets = TaskTargets(*cluster, flags.task, "");
  } else if (!flags.job.empty()) {
    targets = JobTargets(*cluster, flags.job);
  } else {
    // A file or a worker: wherever it is (on --node, or on any node).
    for (const Node& node : *nodes) {
      targets->push_back({node.id_hex, flags.file.empty() ? "worker-" + flags.worker : flags.file});
    }
  }
  if (!targets.ok()) return Fail("logs", std::string(targets.status().message()));

  std::vector<OpenFile> files;
  for (const Target& target : *targets) {
    for (const Node& node : *nodes) {
      if (node.id_hex != target.node_hex) continue;
      rpc::ListLogsRequest request;
      request.set_prefix(target.prefix);
      rpc::CallOptions call;
      call.timeout_ms = kRayletTimeoutMs;
      auto listed = node.logs->CallSync(&rpc::LogService::Stub::async::ListLogs, request, call);
      if (!listed.ok()) {
        return Fail("logs", "listing the logs of node " + node.id_hex + ": " +
                                DescribeCallError(listed.status(), node.address));
      }
      for (const rpc::LogFile& file : listed->files()) {
        if (!flags.file.empty() && file.name() != flags.file) continue;
        files.push_back({&node, file.name(), 0});
      }
    }
  }
  if (files.empty()) {
    std::string what = !flags.file.empty()     ? "file '" + flags.file + "'"
                       : !flags.worker.empty() ? "worker '" + flags.worker + "'"
                       : !flags.actor.empty()  ? "actor '" + flags.actor + "'"
                       : !flags.task.empty()   ? "task '" + flags.task + "'"
                                               : "job '" + flags.job + "'";
    return Fail("logs", "no log files of " + what + (flags.node.empty() ? " on any node" : " on that node") +
                            " (`orrery logs` lists them)");
  }
  bool headers = files.size() > 1;
  while (true) {
    for (OpenFile& file : files) {
      std::string error;
      if (!PrintNew(file, flags.tail, headers && file.offset == 0, error)) return Fail("logs", error);
    }
    if (!flags.follow) return 0;
    std::this_thread::sleep_for(kFollowPeriod);
  }
}

}  // namespace

void AddLogsCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<LogsFlags>();
  CLI::App* logs = app.add_subcommand(
      "logs", "List the log files of the cluster's nodes, or print those of a file, job, actor, task or worker");
  AddClusterFlags(*logs, flags->cluster);
  logs->add_option("file", flags->file, "A log file's name, as the listing shows it");
  logs->add_option("--node", flags->node, "Only this node (its id, or a prefix of it)");
  logs->add_option("--job", flags->job, "The job's driver log and its workers' logs (job id in hex)");
  logs->add_option("--actor", flags->actor, "The logs of the actor's worker (actor id in hex)");
  logs->add_option("--task", flags->task, "The logs of the workers that ran the task (its id, or a prefix)");
  logs->add_option("--worker", flags->worker, "The worker's .log, .out and .err (worker id, or a prefix)");
  logs->add_flag("-f,--follow", flags->follow, "Keep printing what is written (until Ctrl-C)");
  logs->add_option("--tail", flags->tail, "Start at the last N lines of each file");
  logs->callback([flags, &exit_code] { exit_code = RunLogs(*flags); });
}

}  // namespace orrery::cli
